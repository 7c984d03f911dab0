"""Replenishment rules: given what the stock point knows, how much to order.

Conventions (docs/glossary.md, "Replenishment decisions"), used everywhere: the inventory position
is on hand + on order − backordered; a reorder point triggers when the position is **at or below**
it; (s, S) orders up to S; (r, Q) orders the smallest number of Qs that lifts the position above r;
base stock orders up to S whenever the position is below S; make-to-order is base stock with S = 0
(every unit owed to a waiting customer is ordered). Periodic review evaluates the same rule at days
0, R, 2R, ...

A rule is a small object with ``trigger`` (the largest position at which it may order: the stock
point asks it only at or below) and ``order_quantity(ctx)``, where ``ctx`` is the stock point's
:class:`RuleContext` (time, position, on hand, on order, backlog, recent demand). Rules are built
from the scenario's tag (``rule = "s_S"``) through :data:`RULES`: a new rule is a class here, one
entry in ``RULES`` and its schema entry in ``scenario/schema.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .forecast import ForecastOrderUpTo


class RuleContext(Protocol):
    """What a rule may read (the stock point's :class:`~stockout.model.context.StockView`)."""

    @property
    def time(self) -> float: ...
    @property
    def position(self) -> int: ...
    @property
    def on_hand(self) -> int: ...
    @property
    def on_order(self) -> int: ...
    @property
    def backlog(self) -> int: ...
    def recent_demand(self, days: int) -> int: ...


class ReplenishmentRule(Protocol):
    # the largest inventory position at which the rule may order
    trigger: int

    def order_quantity(self, ctx: RuleContext) -> int: ...


NEVER = -(1 << 62)  # a trigger no position reaches


class OrderUpTo:
    """Base stock / periodic (R, S): order S − position when the position is below S."""

    __slots__ = ("S", "trigger")

    def __init__(self, S: int) -> None:
        self.S = S
        self.trigger = S - 1

    def order_quantity(self, ctx: RuleContext) -> int:
        position = ctx.position
        return self.S - position if position < self.S else 0


class MinMax:
    """(s, S): when the position is at or below s, order up to S."""

    __slots__ = ("s", "S", "trigger")

    def __init__(self, s: int, S: int) -> None:
        self.s, self.S = s, S
        self.trigger = s

    def order_quantity(self, ctx: RuleContext) -> int:
        position = ctx.position
        return self.S - position if position <= self.s else 0


class ReorderPointQuantity:
    """(r, Q): at or below r, order n·Q with n the smallest that lifts the position above r."""

    __slots__ = ("r", "Q", "trigger")

    def __init__(self, r: int, Q: int) -> None:
        self.r, self.Q = r, Q
        self.trigger = r

    def order_quantity(self, ctx: RuleContext) -> int:
        position = ctx.position
        if position > self.r:
            return 0
        return ((self.r - position) // self.Q + 1) * self.Q


class Never:
    """No replenishment decisions (rules 'none' and 'scheduled')."""

    __slots__ = ()
    trigger = NEVER

    def order_quantity(self, ctx: RuleContext) -> int:
        return 0


# The rules by the scenario's tag (``rule = "..."``).
RULES: dict[str, Callable[[Any], ReplenishmentRule]] = {
    "base_stock": lambda spec: OrderUpTo(spec.order_up_to),
    "periodic": lambda spec: OrderUpTo(spec.order_up_to),
    "s_S": lambda spec: MinMax(spec.reorder_point, spec.order_up_to),
    "r_Q": lambda spec: ReorderPointQuantity(spec.reorder_point, spec.order_quantity),
    "make_to_order": lambda spec: OrderUpTo(0),
    "forecast": ForecastOrderUpTo,  # policies/forecast.py
    "scheduled": lambda spec: Never(),
    "none": lambda spec: Never(),
}


def make_rule(spec: Any) -> ReplenishmentRule:
    """Build the runtime rule from its scenario entry, by its tag."""
    build = RULES.get(getattr(spec, "rule", None))
    if build is None:
        raise TypeError(f"unknown replenishment spec {spec!r}")
    return build(spec)
