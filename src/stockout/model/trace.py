"""The story of individual orders, in plain words, for teaching.

``trace(scenario, policy)`` runs one replication with a stock point that narrates what happens to
every order and shipment: the offer, the customer's choice, the wait, the shipment, the reorder.
Tracing lives in a subclass, so the ordinary runs pay nothing for it.

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

from ..policies.availability import PREORDER, Offer, Shortage
from ..scenario.schema import Scenario
from .run import Model
from .stockpoint import Order, StockPoint


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


class _RecordingPolicy:
    """Passes every decision through to the real policy and remembers the last offer."""

    def __init__(self, policy: Any) -> None:
        self._policy = policy
        self.partial_shipments = policy.partial_shipments
        self.payment = policy.payment
        self.notify_me_share = getattr(policy, "notify_me_share", 0.0)
        self.last: tuple[Shortage, Offer] | None = None

    def on_shortage(self, s: Shortage) -> Offer:
        offer = self._policy.on_shortage(s)
        self.last = (s, offer)
        return offer


class TracingStockPoint(StockPoint):
    """A stock point that narrates. Same decisions, same random numbers, same results."""

    log: list[TraceEvent]

    def setup_trace(self, log: list[TraceEvent]) -> None:
        self.log = log
        self.policy = _RecordingPolicy(self.policy)
        self._current = 0

    def _say(
        self, day: float, order: int | None, event: str, qty: int, text: str, at: int | None = None
    ) -> None:
        e = TraceEvent(day, self.id, order, event, qty, f"{_day(day)} — {text}")
        if at is None:
            self.log.append(e)
        else:
            self.log.insert(at, e)

    def new_order_id(self) -> int:
        return self._current

    def arrive(
        self, t: float, qty: int, patience: float, u_churn: float, u_notify: float
    ) -> None:
        self.model.flush(t)
        oid = self.model.next_order_id()
        self._current = oid
        free = max(self.on_hand - self.reserved, 0) if self.released else 0
        queued, lost, shipped = len(self.queue), self.lost_total, self.shipped_total
        self.policy.last = None
        head = f"order #{oid}, {qty} × {self.id}"
        at = len(self.log)  # the order's own line comes before what it set in motion
        super().arrive(t, qty, patience, u_churn, u_notify)
        if len(self.queue) > queued and self.queue[-1].id == oid:
            order = self.queue[-1]
            kind = "pre-order" if order.kind == PREORDER else "backorder"
            pay = "paid now" if order.prepaid else "pays at shipment"
            part = ""
            if order.remaining < qty:
                part = f" ({qty - order.remaining} shipped now)"
            stock = self._stock_words(free)
            self._say(t, oid, "preorder" if order.kind == PREORDER else "backorder", qty,
                      f"{head}: {stock} → offered {kind}, ships by {_day(order.quote)}; "
                      f"patience {_days(patience)} → accepted, {pay}{part}", at)
        elif self.lost_total > lost:
            last = self.policy.last
            stock = self._stock_words(free) if self.released else "not released yet"
            if last is not None and last[1].kind != 0:
                quote = last[1].quote_day
                self._say(t, oid, "declined", qty,
                          f"{head}: {stock} → offered to ship by {_day(quote)} "
                          f"(a wait of {_days(quote - t)}); patience {_days(patience)} → "
                          f"declined, sale lost", at)
            else:
                note = ""
                if self.notify and self.notify[-1][0] == t:
                    note = "; asks to be notified when it is back"
                self._say(t, oid, "refused", qty,
                          f"{head}: {stock} → shown out of stock, sale lost{note}", at)
        elif self.shipped_total - shipped >= qty:
            self._say(t, oid, "filled", qty,
                      f"{head}: {free} on hand → shipped from stock", at)

    def _stock_words(self, free: int) -> str:
        if free <= 0:
            return "none on hand"
        return f"only {free} on hand"

    def receive(self, t: float, qty: int, shipment: int | None) -> None:
        source = (
            f"from {self.route.supplier.id}" if (self.route and shipment is not None)
            else "as scheduled"
        )
        self._say(t, None, "receipt", qty, f"{_units(qty)} of {self.id} arrive {source}")
        super().receive(t, qty, shipment)

    def _complete(self, order: Order, t: float) -> None:
        late = t > order.quote + 1e-9
        super()._complete(order, t)
        when = f"late: promised {_day(order.quote)}" if late else "on time"
        self._say(t, order.id, "shipped", order.qty,
                  f"order #{order.id} shipped (waited {t - order.day:.2f} days, {when})")

    def cancel(self, order: Order, t: float) -> None:
        remaining = order.remaining
        super().cancel(order, t)
        self._say(t, order.id, "cancelled", remaining,
                  f"order #{order.id} cancelled by the customer after waiting "
                  f"{t - order.day:.2f} days (promised {_day(order.quote)}); refunded")

    def place_order(self, t: float, qty: int) -> None:
        position = self.on_hand + self.on_order - self.backlog
        before, on_order = self.model.shipment_id, self.on_order
        super().place_order(t, qty)
        if self.model.shipment_id == before or self.route is None:
            return
        expected = min(e for sid, (e, _) in self.pipeline.items() if sid > before)
        ordered = self.on_order - on_order
        self._say(t, None, "reorder", ordered,
                  f"inventory position {position} → orders {_units(ordered)} of {self.id} from "
                  f"{self.route.supplier.id}, expected {_day(expected)}")

    def recovered_sale(self, t: float, day: float, qty: int) -> None:
        self._say(t, None, "recovered", qty,
                  f"a customer notified of the restock (turned away on {_day(day)}) comes back: "
                  f"{qty} × {self.id} shipped from stock")

    def lose_in_transit(self, t: float, qty: int, shipment: int) -> None:
        super().lose_in_transit(t, qty, shipment)
        self._say(t, None, "lost_in_transit", qty, f"{_units(qty)} of {self.id} lost in transit")

    def cancel_shipment(self, t: float, qty: int, shipment: int) -> None:
        super().cancel_shipment(t, qty, shipment)
        self._say(t, None, "never_shipped", qty,
                  f"the supplier ships {_units(qty)} of {self.id} short; they will never come")

    def release(self, t: float) -> None:
        self._say(t, None, "release", 0, f"{self.id} is released: waiting orders can ship")
        super().release(t)


class TracingModel(Model):
    stockpoint_class = TracingStockPoint

    def churn(self, sp: StockPoint, t: float) -> None:
        before = self.population.n
        super().churn(sp, t)
        if self.population.n < before:
            sp._say(t, getattr(sp, "_current", None), "churn", 0,  # type: ignore[attr-defined]
                    f"a customer leaves for good after a bad experience with {sp.id} "
                    f"({self.population.n} active customers left)")


def run_traced(
    scenario: Scenario,
    policy: str,
    log: Any,
    *,
    replication: int = 0,
    days: float | None = None,
    search_dir: Path | None = None,
) -> None:
    """Run the replication, every narrated event going to ``log`` (a list, or any object with
    ``append``, ``insert`` and ``len`` that keeps them in that order: e.g. one that streams them
    to disk), in the order they happened, which is day order but for a few same-run reorderings.
    """
    if days is not None:
        data = scenario.model_dump(by_alias=True, exclude_unset=True)
        meta = data["scenario"]
        meta["horizon_days"] = min(float(days), scenario.scenario.horizon_days)
        meta["warmup_days"] = min(scenario.scenario.warmup_days, meta["horizon_days"] / 2)
        scenario = Scenario.model_validate(data)
    model = TracingModel(scenario, policy, replication, search_dir)
    for sp in model.products:
        sp.setup_trace(log)  # type: ignore[attr-defined]
    model.run()


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
