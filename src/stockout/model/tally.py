"""The metrics' recorder: what one stock point's run adds up to.

A :class:`Tally` listens to one stock point (``recorder.py``) and keeps two things, one hook per
event (it is the hot path: a hook does all of its work itself):

- the **counts** the glossary's metrics come from (``metrics.py``): the orders of the cohort
  (arriving after ``cohort_from``, the warm-up's end), wherever their outcome happens, and the
  flows (replenishment orders, receipts) that happen after ``flows_from``;
- what the **business's own data shows of demand** (``demand_record.py``): true demand, the time
  in stock (released, nobody waiting, a unit free), the units recorded while out of stock, and
  under periodic review the units demanded and ordered per review period.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..records import WaitLog
from .recorder import Recorder

if TYPE_CHECKING:
    from .demand_record import PeriodVariance
    from .orders import WaitingOrder
    from .stockpoint import StockPoint


class Tally(Recorder):
    """One stock point's counts over the window and its demand records (module docstring)."""

    __slots__ = (
        "_seen", "area", "backorders", "cancelled_orders", "cancelled_units", "churned_customers",
        "cohort_from", "filled_orders", "filled_units", "flows_from", "in_stock",
        "in_stock_at_start", "late_units", "lost_in_transit_units", "lost_orders", "lost_units",
        "never_shipped", "on_time", "other_units", "partial_on_arrival", "periods", "preorders",
        "recorded_out", "recovered_orders", "recovered_units", "replenishment_orders",
        "shipped_late", "since", "sp", "supplied", "units", "units_ordered", "wait_sum", "waits",
        "window_recorded_other", "window_recorded_out",
    )

    sp: StockPoint

    def __init__(self, warmup: float) -> None:
        self.cohort_from = warmup if warmup > 0 else -math.inf
        self.flows_from = max(warmup, 0.0)
        # the cohort's orders
        self.filled_orders = self.filled_units = 0  # orders filled from stock on arrival
        self.other_units = 0  # units of orders not filled from stock on arrival
        self.backorders = self.preorders = self.lost_orders = self.cancelled_orders = 0
        self.shipped_late = 0
        self.partial_on_arrival = 0  # units shipped on arrival from orders that then waited
        self.late_units = 0  # units shipped to orders after they waited
        self.lost_units = self.cancelled_units = 0
        self.recovered_orders = self.recovered_units = 0  # refused, notified, came back and bought
        self.on_time = 0
        self.wait_sum = 0.0
        self.waits = WaitLog()
        self.churned_customers = 0
        # the flows
        self.replenishment_orders = self.units_ordered = self.never_shipped = 0
        self.supplied = self.lost_in_transit_units = 0
        # demand records
        self.periods: list[PeriodVariance] = []
        self.units = 0  # true demand, units, whole run
        # units recorded from the cohort's orders not filled on arrival, and the units recorded
        # from orders that arrived while out of stock (whole run, and of the cohort): an order
        # filled on arrival is recorded and found stock, so the hot path counts nothing more
        self.window_recorded_other = 0
        self.recorded_out = self.window_recorded_out = 0
        self._seen = 0
        self.in_stock = False
        self.since = 0.0
        self.area = 0.0  # days in stock up to ``since``
        self.in_stock_at_start = 0.0  # days in stock before the window (``start_window``)

    def attach(self, sp: StockPoint, periods: list[PeriodVariance]) -> None:
        """Listen to ``sp`` from its start; ``periods``: the product's own, then the total's
        (periodic review only)."""
        self.sp = sp
        self.periods = periods
        self._seen = sp.demand_recorded
        self.in_stock = sp.released and not sp.backlog_orders and sp.on_hand - sp.reserved >= 1

    # ------------------------------------------------------------------ what a rule reads

    @property
    def recorded_units(self) -> int:
        return self.sp.demand_recorded

    @property
    def recorded_in_stock_units(self) -> int:
        """Units recorded from orders that arrived while in stock (whole run)."""
        return self.sp.demand_recorded - self.recorded_out

    @property
    def window_recorded(self) -> int:
        """Units recorded from the orders of the cohort."""
        return self.filled_units + self.window_recorded_other

    @property
    def window_recorded_in_stock(self) -> int:
        return self.window_recorded - self.window_recorded_out

    @property
    def forecast(self) -> float:
        """The replenishment rule's forecast per day (NaN for a rule without one)."""
        return float(getattr(self.sp.rule, "forecast", math.nan))

    def in_stock_days(self, t: float) -> float:
        return self.area + (t - self.since if self.in_stock else 0.0)

    def start_window(self, t: float) -> None:
        """The warm-up ends (without one, the window starts at 0 with nothing before it)."""
        self.in_stock_at_start = self.in_stock_days(t)

    # ------------------------------------------------------------------ in stock or not

    def _mark(self, t: float, in_stock: bool) -> None:
        if in_stock != self.in_stock:
            if self.in_stock:
                self.area += t - self.since
            self.since = t
            self.in_stock = in_stock

    def _recheck(self, sp: StockPoint, t: float) -> None:
        """In stock or not, from the stock point's state after a change."""
        self._mark(t, sp.released and not sp.backlog_orders and sp.on_hand - sp.reserved >= 1)

    def _arrived(self, t: float, qty: int) -> None:
        """An order not filled on arrival (before ``_mark``: ``in_stock`` is still what it
        found): how much of it is recorded is what the stock point's count moved by."""
        self.units += qty
        recorded = self.sp.demand_recorded
        new, self._seen = recorded - self._seen, recorded
        cohort = t > self.cohort_from
        if cohort:
            self.window_recorded_other += new
        if not self.in_stock:
            self.recorded_out += new
            if cohort:
                self.window_recorded_out += new
        for p in self.periods:
            p.demand(t, qty)

    # ------------------------------------------------------------------ customers

    def filled(self, sp: StockPoint, t: float, qty: int) -> None:
        if t > self.cohort_from:
            self.filled_orders += 1
            self.filled_units += qty
        self.units += qty  # recorded, and it found stock: nothing more to count
        self._seen += qty
        if self.periods:
            for p in self.periods:
                p.demand(t, qty)
        if sp.on_hand - sp.reserved < 1:
            self._mark(t, False)

    def queued(self, sp: StockPoint, t: float, order: WaitingOrder, patience: float,
               free: int, shipped_now: int) -> None:
        if order.counted:
            self.other_units += order.qty
            if order.kind == 2:  # PREORDER
                self.preorders += 1
            else:
                self.backorders += 1
            self.partial_on_arrival += shipped_now
        self._arrived(t, order.qty)
        self._mark(t, False)

    def lost(self, sp: StockPoint, t: float, qty: int, offer: Any, patience: float,
             free: int, notify: bool) -> None:
        if t > self.cohort_from:
            self.other_units += qty
            self.lost_orders += 1
            self.lost_units += qty
        self._arrived(t, qty)

    def shipped(self, sp: StockPoint, t: float, order: WaitingOrder, qty: int) -> None:
        if order.counted:
            self.late_units += qty
        self._recheck(sp, t)

    def completed(self, sp: StockPoint, t: float, order: WaitingOrder) -> None:
        if order.counted:
            self.shipped_late += 1
            wait = t - order.day
            self.wait_sum += wait
            self.waits.add(wait)
            if t <= order.quote + 1e-9:
                self.on_time += 1
        self._recheck(sp, t)

    def cancelled(self, sp: StockPoint, t: float, order: WaitingOrder, qty: int) -> None:
        if order.counted:
            self.cancelled_orders += 1
            self.cancelled_units += qty
        self._recheck(sp, t)

    def recovered(self, sp: StockPoint, t: float, day: float, qty: int, counted: bool) -> None:
        if counted:
            self.lost_orders -= 1
            self.lost_units -= qty
            self.recovered_orders += 1
            self.recovered_units += qty
        self._recheck(sp, t)

    def churned(self, sp: StockPoint, t: float, active: int) -> None:
        if t > self.cohort_from:
            self.churned_customers += 1

    def released(self, sp: StockPoint, t: float) -> None:
        self._recheck(sp, t)

    # ------------------------------------------------------------------ supply

    def received(self, sp: StockPoint, t: float, qty: int, source: str | None) -> None:
        """(The hook comes before the goods are put on hand: in stock after, unless orders
        wait; then their shipments' hooks say what follows.)"""
        if t > self.flows_from:
            self.supplied += qty
        in_stock = sp.released and not sp.backlog_orders and sp.on_hand + qty - sp.reserved >= 1
        if in_stock != self.in_stock:
            self._mark(t, in_stock)

    def delivered(self, sp: StockPoint, t: float, qty: int) -> None:
        if t > self.flows_from:  # a replenishment order, received as it is placed
            self.replenishment_orders += 1
            self.units_ordered += qty
        self.received(sp, t, qty, None)

    def lost_in_transit(self, sp: StockPoint, t: float, qty: int) -> None:
        if t > self.flows_from:
            self.supplied += qty
            self.lost_in_transit_units += qty

    def reordered(self, sp: StockPoint, t: float, qty: int, position: int,
                  expected: float) -> None:
        if t > self.flows_from:
            self.replenishment_orders += 1
            self.units_ordered += qty
        if self.periods:
            for p in self.periods:
                p.order(t, qty)

    def short_shipped(self, sp: StockPoint, t: float, qty: int) -> None:
        if t > self.flows_from:
            self.never_shipped += qty
