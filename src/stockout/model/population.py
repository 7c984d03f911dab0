"""The active customers: bad experiences remove one at a time, a daily step adds and removes more.

The population no bad experience has touched, P(d) at the start of day d, gains the day's
acquisitions and loses Binomial(P, p) to background churn. It is drawn ahead, the same for every
policy (common random numbers), and the real population N never exceeds it (N loses the same
share of background churn, rounded): P(d) / N0 bounds the demand rate, so demand candidates can
be drawn ahead too (``demand.py``) and thinned by N(t) as they arrive.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class Population:
    """The active customers of one run."""

    __slots__ = ("n", "n0", "at_warmup", "background_churned", "varies", "acquisitions",
                 "background", "untouched")

    def __init__(self, customers: Any, n_days: int, rng_for: Any) -> None:
        self.n = self.n0 = self.at_warmup = customers.population
        self.background_churned = 0
        p_background = -math.expm1(-customers.churn.background_per_year / 365.0)
        churn = customers.churn
        self.varies = bool(
            customers.acquisition_per_day > 0 or p_background > 0 or churn.on_stockout
            or churn.on_declined_quote or churn.on_cancel or churn.on_late
        )
        # None: nobody joins or leaves by itself
        self.acquisitions: list[int] | None = None
        self.background: list[int] | None = None
        self.untouched: np.ndarray | None = None
        if customers.acquisition_per_day > 0 or p_background > 0:
            self._draw(customers, n_days, p_background, rng_for("population"))

    def _draw(self, customers: Any, n_days: int, p: float, rng: np.random.Generator) -> None:
        joins = (rng.poisson(customers.acquisition_per_day, n_days)
                 if customers.acquisition_per_day > 0 else np.zeros(n_days, dtype=np.int64))
        untouched = np.empty(n_days + 1, dtype=np.int64)
        leaves = np.zeros(n_days, dtype=np.int64)
        untouched[0] = customers.population
        for d in range(n_days):
            size = int(untouched[d])
            if p > 0 and size > 0:
                leaves[d] = rng.binomial(size, p)
            untouched[d + 1] = size + joins[d] - leaves[d]
        self.acquisitions, self.background = joins.tolist(), leaves.tolist()
        self.untouched = untouched

    def day_step(self, d: int, counting: bool) -> None:
        """The end of day ``d``: acquisitions join; the real population loses its share of the
        untouched one's background churn."""
        if self.acquisitions is None or d >= len(self.acquisitions):
            return
        untouched = int(self.untouched[d])  # type: ignore[index]
        share = self.n / untouched if untouched else 0.0
        gone = min(self.n, round(self.background[d] * share))  # type: ignore[index]
        self.n += self.acquisitions[d] - gone
        if counting:
            self.background_churned += gone
