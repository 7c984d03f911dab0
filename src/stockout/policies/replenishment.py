"""Replenishment rules: given the inventory position, how much to order.

Conventions (docs/glossary.md, "Replenishment decisions"), used everywhere: the inventory position
is on hand + on order − backordered; a reorder point triggers when the position is **at or below**
it; (s, S) orders up to S; (r, Q) orders the smallest number of Qs that lifts the position above r;
base stock orders up to S whenever the position is below S; make-to-order is base stock with S = 0
(every unit owed to a waiting customer is ordered). Periodic review evaluates the same rule at days
0, R, 2R, ...
"""

from __future__ import annotations

from typing import Any, Protocol

from ..scenario.schema import (
    BaseStockRule,
    MakeToOrderRule,
    NoRule,
    PeriodicRule,
    RQRule,
    ScheduledRule,
    SSRule,
)


class ReplenishmentRule(Protocol):
    # the largest inventory position at which the rule may order (the model asks it only at or
    # below this, on its hot path)
    trigger: int

    def order_quantity(self, position: int) -> int: ...


NEVER = -(1 << 62)  # a trigger no position reaches


class OrderUpTo:
    """Base stock / periodic (R, S): order S − position when the position is below S."""

    __slots__ = ("S", "trigger")

    def __init__(self, S: int) -> None:
        self.S = S
        self.trigger = S - 1

    def order_quantity(self, position: int) -> int:
        return self.S - position if position < self.S else 0


class MinMax:
    """(s, S): when the position is at or below s, order up to S."""

    __slots__ = ("s", "S", "trigger")

    def __init__(self, s: int, S: int) -> None:
        self.s, self.S = s, S
        self.trigger = s

    def order_quantity(self, position: int) -> int:
        return self.S - position if position <= self.s else 0


class ReorderPointQuantity:
    """(r, Q): at or below r, order n·Q with n the smallest that lifts the position above r."""

    __slots__ = ("r", "Q", "trigger")

    def __init__(self, r: int, Q: int) -> None:
        self.r, self.Q = r, Q
        self.trigger = r

    def order_quantity(self, position: int) -> int:
        if position > self.r:
            return 0
        return ((self.r - position) // self.Q + 1) * self.Q


class Never:
    """No replenishment decisions (rules 'none' and 'scheduled')."""

    __slots__ = ()
    trigger = NEVER

    def order_quantity(self, position: int) -> int:
        return 0


def make_rule(spec: Any) -> ReplenishmentRule:
    match spec:
        case BaseStockRule(order_up_to=S) | PeriodicRule(order_up_to=S):
            return OrderUpTo(S)
        case SSRule(reorder_point=s, order_up_to=S):
            return MinMax(s, S)
        case RQRule(reorder_point=r, order_quantity=Q):
            return ReorderPointQuantity(r, Q)
        case MakeToOrderRule():
            return OrderUpTo(0)
        case ScheduledRule() | NoRule():
            return Never()
    raise TypeError(f"unknown replenishment spec {spec!r}")
