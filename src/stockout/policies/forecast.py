"""Forecast-driven replenishment (``rule = "forecast"``): periodic review up to a forecast.

At each review (days 0, R, 2R, ...) the rule first learns the period just ended, then orders::

    level = f × (ℓ + R) + z × σ × √(ℓ + R)
    order = max(0, ⌈level⌉ − inventory position)        (never negative)

with f the forecast demand per day, ℓ the mean lead time of the product's route (the supplier's
mean lead time plus the lane's mean transit time), R the review period, z ``safety_z`` and σ² the
forecast error's variance per day (errors of different days taken as independent, so the variance
over ℓ + R days is σ²·(ℓ + R)).

What each period teaches: a numerator n (units) and a denominator d (days). With
``estimator = "recorded"``, n is the units the business recorded in the period and d = R; with
``"in_stock_corrected"``, n is the units recorded while the product was in stock and d the days
it was in stock (recorded demand per day ÷ share of time in stock: unbiased for Poisson arrivals,
because arrivals see time averages). The forecast is f = S(n) / S(d), where S is the smoother:
``moving_average``, the sum over the last p = window_days / R periods; ``exponential_smoothing``,
S ← α·x + (1 − α)·S. The error of a period is e = n − f·d (f as it was before the period), and
σ² = S(e²) / S(d). A period without time in stock (d = 0) teaches nothing and changes nothing.

Before it has data, the forecast starts from the scenario's planning model: the window (or the
smoothed state) holds periods of the planned demand, f₀ = orders_per_day × E[quantity] per day
(at the full population, before seasonality, spikes and trend) and σ₀² = orders_per_day ×
E[quantity²] per day (compound Poisson). Each period learnt replaces one planned period (moving
average) or weighs α against them (smoothing).

With the recorded estimator and z = 0, the level is L·μ̂ with μ̂ the smoothed demand per period
and L = (ℓ + R)/R: the order-up-to rule of Chen, Drezner, Ryan & Simchi-Levi (2000), whose
bullwhip ratio Var(order)/Var(demand) per period is exactly 1 + 2L/p + 2L²/p² (moving average)
and (1 + Lα)² + L²α³/(2 − α) (exponential smoothing) under backorders, as long as no order is
clipped at zero (tests/test_demand_insight.py).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

ALWAYS = 1 << 62  # a trigger every position is at or below: asked at every review


class DemandView(Protocol):
    """What the rule reads of the business's own demand records (``model/tally.py``)."""

    @property
    def recorded_units(self) -> int: ...
    @property
    def recorded_in_stock_units(self) -> int: ...
    def in_stock_days(self, t: float) -> float: ...


@dataclass(frozen=True)
class Plan:
    """What the business plans with: the route's mean lead time and the planned demand."""

    mean_lead_days: float
    demand_per_day: float  # f₀
    variance_per_day: float  # σ₀²


class _MovingSums:
    """S over the last p periods: running sums of (n, d, e²) over a window of p entries."""

    def __init__(self, p: int, first: tuple[float, float, float]) -> None:
        self.window: deque[tuple[float, float, float]] = deque([first] * p)
        self.n, self.d, self.e2 = (p * x for x in first)

    def add(self, n: float, d: float, e2: float) -> None:
        on, od, oe = self.window.popleft()
        self.window.append((n, d, e2))
        self.n += n - on
        self.d += d - od
        self.e2 += e2 - oe


class _Smoothed:
    """S ← α·x + (1 − α)·S for each of (n, d, e²)."""

    def __init__(self, alpha: float, first: tuple[float, float, float]) -> None:
        self.alpha = alpha
        self.n, self.d, self.e2 = first

    def add(self, n: float, d: float, e2: float) -> None:
        a = self.alpha
        self.n += a * (n - self.n)
        self.d += a * (d - self.d)
        self.e2 += a * (e2 - self.e2)


class ForecastOrderUpTo:
    """The forecast rule (see the module docstring); one instance per stock point and run."""

    trigger = ALWAYS

    def __init__(self, spec: Any) -> None:
        self.period = float(spec.review_period_days)
        self.method = spec.method
        self.periods = max(1, round(spec.window / self.period))  # p (moving average)
        self.alpha = spec.smoothing
        self.corrected = spec.estimator == "in_stock_corrected"
        self.z = float(spec.safety_z)
        self.plan: Plan | None = None
        self.smoother: _MovingSums | _Smoothed | None = None
        self.forecast = math.nan  # f, per day, as of the last review
        self.level = math.nan
        self._seen: tuple[float, float, float] | None = None  # (time, n, d) at the last review

    def start(self, plan: Plan) -> None:
        """Start from the planning model (before any data)."""
        self.plan = plan
        first = (plan.demand_per_day * self.period, self.period,
                 plan.variance_per_day * self.period)
        self.smoother = (_MovingSums(self.periods, first) if self.method == "moving_average"
                         else _Smoothed(self.alpha, first))  # fmt: skip
        self.forecast = plan.demand_per_day

    def _learn(self, t: float, demand: DemandView) -> None:
        """Take in what was recorded since the last review."""
        assert self.smoother is not None
        if self.corrected:
            n, d = float(demand.recorded_in_stock_units), demand.in_stock_days(t)
        else:
            n, d = float(demand.recorded_units), t
        if self._seen is not None:
            t0, n0, d0 = self._seen
            dn, dd = n - n0, (d - d0 if self.corrected else t - t0)
            if dd > 1e-12:
                error = dn - self.forecast * dd
                self.smoother.add(dn, dd, error * error)
        self._seen = (t, n, d)
        s = self.smoother
        if s.d > 1e-12:
            self.forecast = s.n / s.d

    def order_quantity(self, ctx: Any) -> int:
        if self.plan is None:
            raise RuntimeError("forecast rule used before its plan was set (build.py)")
        self._learn(ctx.time, ctx.demand)
        s = self.smoother
        assert s is not None
        horizon = self.plan.mean_lead_days + self.period
        level = self.forecast * horizon
        if self.z:
            level += self.z * math.sqrt(max(s.e2 / s.d, 0.0) * horizon)
        self.level = level
        return max(0, math.ceil(level - 1e-9) - ctx.position)
