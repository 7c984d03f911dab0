"""What the business's own data shows of demand (docs/glossary.md), and its metrics.

Recorded demand is what the shop's systems hold: sales from stock, backorders and pre-orders,
declined quotes (the shop made the quote, so it holds it), and of the customers refused because
the item shows "out of stock", only those it captures: notify-me sign-ups and the share
``lost_demand_recorded`` of the others (a logged visit). The stock point counts recorded units as
orders arrive (``StockPoint.demand_recorded``); the stock point's recorder (``tally.Tally``)
keeps what a forecast or an analyst needs beside it:

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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tally import Tally

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


def demand_metrics(record: Tally, units_demanded: float, horizon: float,
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
