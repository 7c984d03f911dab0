"""What the business's own data shows of demand (docs/glossary.md): a recorder per stock point.

Recorded demand is what the shop's systems hold: sales from stock, backorders and pre-orders,
declined quotes (the shop made the quote, so it holds it), and of the customers refused because
the item shows "out of stock", only those it captures: notify-me sign-ups and the share
``lost_demand_recorded`` of the others (a logged visit). The stock point counts recorded units as
orders arrive (``StockPoint.demand_recorded``); this recorder adds what a forecast or an analyst
needs beside it:

- the **time in stock**: a product is in stock while it is released, nobody waits for it and at
  least one unit is free (an order for one unit would be filled on arrival); kept exactly, as
  the integral of that indicator, from the stock point's state after each event;
- the units recorded **while in stock** (orders that arrived to find it in stock), for the
  in-stock-corrected estimate: units recorded while in stock ÷ days in stock, which for Poisson
  arrivals is an unbiased estimate of the demand rate (arrivals see time averages, PASTA), under
  any availability policy;
- under periodic review, the units demanded (true) and ordered per review period, for the
  bullwhip ratio (:class:`PeriodVariance`).

The metrics (glossary names) come from :func:`demand_metrics` and :func:`demand_totals`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .metrics import Tally

if TYPE_CHECKING:
    from .orders import WaitingOrder
    from .stockpoint import StockPoint

EPS = 1e-9


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


class PeriodVariance:
    """Units demanded and units ordered per review period (jR, (j + 1)R] (the review at its end
    belongs to it, as in the metrics' window), and their variances over the periods that lie
    wholly in (warm-up, horizon] (Welford's streaming update)."""

    def __init__(self, period: float, warmup: float, horizon: float) -> None:
        self.period = period
        self.first = math.ceil(warmup / period - EPS)  # first period wholly after the warm-up
        self.last = math.floor(horizon / period + EPS) - 1  # last period wholly in the horizon
        self.current = -1  # the review at day 0 ends period −1
        self.demanded = self.ordered = 0.0  # in the current period
        self.n = 0
        self.mean_d = self.mean_o = self.m2_d = self.m2_o = 0.0

    def _advance(self, t: float) -> None:
        j = math.ceil(t / self.period - EPS) - 1
        while self.current < j:
            self._close()

    def _close(self) -> None:
        j = self.current
        if self.first <= j <= self.last:
            self.n += 1
            dd, do = self.demanded - self.mean_d, self.ordered - self.mean_o
            self.mean_d += dd / self.n
            self.mean_o += do / self.n
            self.m2_d += dd * (self.demanded - self.mean_d)
            self.m2_o += do * (self.ordered - self.mean_o)
        self.current += 1
        self.demanded = self.ordered = 0.0

    def demand(self, t: float, qty: int) -> None:
        self._advance(t)
        self.demanded += qty

    def order(self, t: float, qty: int) -> None:
        self._advance(t)
        self.ordered += qty

    def finish(self) -> None:
        """Close every period that ended by the horizon."""
        while self.current <= self.last:
            self._close()

    def ratio(self) -> float:
        """Var(units ordered per period) ÷ Var(units demanded per period); NaN if undefined."""
        if self.n < 2 or self.m2_d <= 0:
            return math.nan
        return self.m2_o / self.m2_d


class DemandRecord(Tally):
    """One stock point's metrics' tally with its demand records (see the module docstring):
    each hook does the tally's part, then its own (one recorder, not two: it is the hot path).
    """

    __slots__ = ("_seen", "area", "in_stock", "in_stock_at_start", "periods", "recorded_out",
                 "since", "sp", "units", "window_recorded_other", "window_recorded_out")

    sp: StockPoint

    def __init__(self, warmup: float) -> None:
        super().__init__(warmup)
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
        self.in_stock = self._state()

    # ------------------------------------------------------------------ what the rule reads

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

    def _state(self) -> bool:
        sp = self.sp
        return sp.released and not sp.backlog_orders and sp.on_hand - sp.reserved >= 1

    def _mark(self, t: float, in_stock: bool) -> None:
        if in_stock != self.in_stock:
            if self.in_stock:
                self.area += t - self.since
            self.since = t
            self.in_stock = in_stock

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

    # ------------------------------------------------------------------ hooks

    def filled(self, sp: StockPoint, t: float, qty: int) -> None:
        # (the hot path: recorded, in stock, counted by the tally)
        Tally.filled(self, sp, t, qty)
        self.units += qty
        self._seen += qty
        if self.periods:
            for p in self.periods:
                p.demand(t, qty)
        if sp.on_hand - sp.reserved < 1:
            self._mark(t, False)

    def queued(self, sp: StockPoint, t: float, order: WaitingOrder, patience: float,
               free: int, shipped_now: int) -> None:
        Tally.queued(self, sp, t, order, patience, free, shipped_now)
        self._arrived(t, order.qty)
        self._mark(t, False)

    def lost(self, sp: StockPoint, t: float, qty: int, offer: Any, patience: float,
             free: int, notify: bool) -> None:
        Tally.lost(self, sp, t, qty, offer, patience, free, notify)
        self._arrived(t, qty)

    def shipped(self, sp: StockPoint, t: float, order: WaitingOrder, qty: int) -> None:
        Tally.shipped(self, sp, t, order, qty)
        self._mark(t, self._state())

    def completed(self, sp: StockPoint, t: float, order: WaitingOrder) -> None:
        Tally.completed(self, sp, t, order)
        self._mark(t, self._state())

    def cancelled(self, sp: StockPoint, t: float, order: WaitingOrder, qty: int) -> None:
        Tally.cancelled(self, sp, t, order, qty)
        self._mark(t, self._state())

    def recovered(self, sp: StockPoint, t: float, day: float, qty: int, counted: bool) -> None:
        Tally.recovered(self, sp, t, day, qty, counted)
        self._mark(t, self._state())

    def released(self, sp: StockPoint, t: float) -> None:
        self._mark(t, self._state())

    def received(self, sp: StockPoint, t: float, qty: int, source: str) -> None:
        Tally.received(self, sp, t, qty, source)
        self._arriving(t, qty)

    def delivered(self, sp: StockPoint, t: float, qty: int) -> None:
        Tally.delivered(self, sp, t, qty)
        self._arriving(t, qty)

    def _arriving(self, t: float, qty: int) -> None:
        """Goods about to be put on hand (the hook comes first): in stock after, unless orders
        wait (then their shipments' hooks say what follows)."""
        sp = self.sp
        self._mark(t, sp.released and not sp.backlog_orders and sp.on_hand + qty - sp.reserved >= 1)

    def reordered(self, sp: StockPoint, t: float, qty: int, position: int,
                  expected: float) -> None:
        Tally.reordered(self, sp, t, qty, position, expected)
        for p in self.periods:
            p.order(t, qty)


def demand_metrics(record: DemandRecord, units_demanded: float, horizon: float,
                   span: float) -> dict[str, float]:
    """The demand-insight metrics of one stock point over (warm-up, horizon]."""
    recorded = record.window_recorded
    in_stock_days = record.in_stock_days(horizon) - record.in_stock_at_start
    own = record.periods[0].ratio() if record.periods else math.nan
    return {
        "true_demand_per_day": units_demanded / span,
        "recorded_demand_units": recorded,
        "demand_capture_rate": _ratio(recorded, units_demanded),
        "corrected_demand_per_day": _ratio(record.window_recorded_in_stock, in_stock_days),
        "bullwhip_ratio": own,
    }


def demand_totals(per: dict[str, dict[str, float]], ids: list[str],
                  total_periods: PeriodVariance | None) -> dict[str, float]:
    """The same metrics for all products together: sums of units and rates; the bullwhip ratio
    of the summed orders and demand when every product is reviewed on one period (else NaN)."""
    recorded = sum(per[i]["recorded_demand_units"] for i in ids)
    units = sum(per[i]["units_demanded"] for i in ids)
    corrected = [per[i]["corrected_demand_per_day"] for i in ids]
    return {
        "true_demand_per_day": sum(per[i]["true_demand_per_day"] for i in ids),
        "recorded_demand_units": recorded,
        "demand_capture_rate": _ratio(recorded, units),
        # (undefined if a product was never in stock; math.nan itself, so runs compare equal)
        "corrected_demand_per_day": (math.nan if any(map(math.isnan, corrected))
                                     else sum(corrected)),
        "bullwhip_ratio": total_periods.ratio() if total_periods is not None else math.nan,
    }
