"""The story of individual orders, in plain words, for teaching.

``trace(scenario, policy)`` runs one replication with a :class:`TraceRecorder` beside the metrics'
tally: it hears what the stock points do (``recorder.py``) and narrates every order and shipment:
the offer, the customer's choice, the wait, the shipment, the reorder.

Each :class:`TraceEvent` has the day, the product, the order number (if any), a machine-readable
``event`` and the sentence a student reads::

    day 3.20 — order #17, 2 × widget: only 1 on hand → offered backorder, ships by day 9.50;
               patience 12.0 days → accepted, paid now
    day 9.10 — 40 units of widget arrive from acme → order #17 shipped (waited 5.90 days, on time)

Events: ``filled``, ``backorder``, ``preorder``, ``refused``, ``declined``, ``shipped``,
``cancelled``, ``receipt``, ``reorder``, ``lost_in_transit``, ``never_shipped``, ``release``,
``recovered`` (a notified customer came back and bought), ``churn``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..policies.availability import PREORDER, REFUSE, Offer
from ..scenario.schema import Scenario
from .build import Model
from .orders import WaitingOrder
from .recorder import Recorder
from .run import result_of
from .stockpoint import StockPoint


@dataclass(frozen=True)
class TraceEvent:
    day: float
    product: str
    order: int | None
    event: str
    quantity: int
    text: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _days(x: float) -> str:
    return "unlimited" if math.isinf(x) else f"{x:.1f} days"


def _units(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"


def _day(x: float) -> str:
    return "never" if math.isinf(x) else f"day {x:.2f}"


def _stock_words(free: int) -> str:
    return "none on hand" if free <= 0 else f"only {free} on hand"


class TraceRecorder(Recorder):
    """Narrates what the stock points do: appends a :class:`TraceEvent` to ``log`` (a list, or
    anything with ``append``: e.g. a spool that streams them to disk) for each."""

    def __init__(self, log: Any = None) -> None:
        self.log: Any = [] if log is None else log
        self.arrivals = 0  # orders are numbered as they arrive, whatever becomes of them
        self.numbers: dict[int, int] = {}  # a waiting order's id -> its number here

    def _say(self, sp: StockPoint, t: float, order: int | None, event: str, qty: int,
             text: str) -> None:
        self.log.append(TraceEvent(t, sp.id, order, event, qty, f"{_day(t)} — {text}"))

    def _arrival(self, sp: StockPoint, qty: int) -> tuple[int, str]:
        self.arrivals += 1
        return self.arrivals, f"order #{self.arrivals}, {qty} × {sp.id}"

    def filled(self, sp: StockPoint, t: float, qty: int) -> None:
        oid, head = self._arrival(sp, qty)
        free = sp.on_hand - sp.reserved + qty
        self._say(sp, t, oid, "filled", qty, f"{head}: {free} on hand → shipped from stock")

    def queued(self, sp: StockPoint, t: float, order: WaitingOrder, patience: float,
               free: int, shipped_now: int) -> None:
        oid, head = self._arrival(sp, order.qty)
        self.numbers[order.id] = oid
        kind = "pre-order" if order.kind == PREORDER else "backorder"
        pay = "paid now" if order.prepaid else "pays at shipment"
        part = f" ({shipped_now} shipped now)" if shipped_now else ""
        self._say(sp, t, oid, "preorder" if order.kind == PREORDER else "backorder", order.qty,
                  f"{head}: {_stock_words(free)} → offered {kind}, ships by {_day(order.quote)}; "
                  f"patience {_days(patience)} → accepted, {pay}{part}")

    def lost(self, sp: StockPoint, t: float, qty: int, offer: Offer, patience: float,
             free: int, notify: bool) -> None:
        oid, head = self._arrival(sp, qty)
        stock = _stock_words(free) if sp.released else "not released yet"
        if offer.kind != REFUSE:
            quote = offer.quote_day
            self._say(sp, t, oid, "declined", qty,
                      f"{head}: {stock} → offered to ship by {_day(quote)} (a wait of "
                      f"{_days(quote - t)}); patience {_days(patience)} → declined, sale lost")
            return
        note = "; asks to be notified when it is back" if notify else ""
        self._say(sp, t, oid, "refused", qty,
                  f"{head}: {stock} → shown out of stock, sale lost{note}")

    def completed(self, sp: StockPoint, t: float, order: WaitingOrder) -> None:
        late = t > order.quote + 1e-9
        when = f"late: promised {_day(order.quote)}" if late else "on time"
        oid = self.numbers.pop(order.id, None)
        self._say(sp, t, oid, "shipped", order.qty,
                  f"order #{oid} shipped (waited {t - order.day:.2f} days, {when})")

    def cancelled(self, sp: StockPoint, t: float, order: WaitingOrder, qty: int) -> None:
        oid = self.numbers.pop(order.id, None)
        self._say(sp, t, oid, "cancelled", qty,
                  f"order #{oid} cancelled by the customer after waiting "
                  f"{t - order.day:.2f} days (promised {_day(order.quote)}); refunded")

    def received(self, sp: StockPoint, t: float, qty: int, source: str) -> None:
        self._say(sp, t, None, "receipt", qty, f"{_units(qty)} of {sp.id} arrive from {source}")

    def delivered(self, sp: StockPoint, t: float, qty: int) -> None:
        self._say(sp, t, None, "receipt", qty, f"{_units(qty)} of {sp.id} arrive as scheduled")

    def reordered(self, sp: StockPoint, t: float, qty: int, position: int,
                  expected: float) -> None:
        self._say(sp, t, None, "reorder", qty,
                  f"inventory position {position} → orders {_units(qty)} of {sp.id} from "
                  f"{sp.route.source}, expected {_day(expected)}")  # type: ignore[union-attr]

    def recovered(self, sp: StockPoint, t: float, day: float, qty: int, counted: bool) -> None:
        self._say(sp, t, None, "recovered", qty,
                  f"a customer notified of the restock (turned away on {_day(day)}) comes back: "
                  f"{qty} × {sp.id} shipped from stock")

    def lost_in_transit(self, sp: StockPoint, t: float, qty: int) -> None:
        self._say(sp, t, None, "lost_in_transit", qty, f"{_units(qty)} of {sp.id} lost in transit")

    def short_shipped(self, sp: StockPoint, t: float, qty: int) -> None:
        self._say(sp, t, None, "never_shipped", qty,
                  f"the supplier ships {_units(qty)} of {sp.id} short; they will never come")

    def released(self, sp: StockPoint, t: float) -> None:
        self._say(sp, t, None, "release", 0, f"{sp.id} is released: waiting orders can ship")

    def churned(self, sp: StockPoint, t: float, active: int) -> None:
        self._say(sp, t, self.arrivals or None, "churn", 0,
                  f"a customer leaves for good after a bad experience with {sp.id} "
                  f"({active} active customers left)")


def run_traced(
    scenario: Scenario,
    policy: str,
    log: Any,
    *,
    replication: int = 0,
    days: float | None = None,
    search_dir: Path | None = None,
) -> None:
    """Run the replication, every narrated event appended to ``log`` (a list, or any object
    with ``append``: e.g. one that streams them to disk), in the order they happened, which is
    day order but for a few same-instant reorderings."""
    if days is not None:
        data = scenario.model_dump(by_alias=True, exclude_unset=True)
        meta = data["scenario"]
        meta["horizon_days"] = min(float(days), scenario.scenario.horizon_days)
        meta["warmup_days"] = min(scenario.scenario.warmup_days, meta["horizon_days"] / 2)
        scenario = Scenario.model_validate(data)
    model = Model(scenario, policy, replication, search_dir, TraceRecorder(log))
    model.run()
    result_of(model, policy, replication)  # the run's own checks


def trace(
    scenario: Scenario,
    policy: str,
    *,
    replication: int = 0,
    days: float | None = None,
    orders: int | None = None,
    search_dir: Path | None = None,
) -> list[TraceEvent]:
    """The story of replication ``replication`` under ``policy``, in day order.

    ``days`` stops the story at that day; ``orders`` keeps the first N orders' stories (and the
    shipments and reorders up to the day the last of them is settled or the horizon).
    """
    log: list[TraceEvent] = []
    run_traced(scenario, policy, log, replication=replication, days=days, search_dir=search_dir)
    log.sort(key=lambda e: e.day)  # stable: same-day events keep the order they happened in
    if orders is not None:
        keep = {e.order for e in log if e.order is not None and e.order <= orders}
        settled = [e.day for e in log if e.order in keep]
        last = max(settled) if settled else 0.0
        log = [e for e in log if (e.order in keep) or (e.order is None and e.day <= last)]
    return log
