"""What one run emits: the metric names of the glossary and the per-run result record.

This module imports nothing of stockout's, so that summaries, results IO and reports can use it
without importing the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The metrics of docs/glossary.md, in output order, then supporting counts.
METRICS: tuple[str, ...] = (
    "orders",
    "units_demanded",
    "potential_revenue",
    "revenue_kept",
    "revenue_lost_stockout",
    "revenue_lost_cancelled",
    "revenue_pending",
    "fill_rate",
    "unit_fill_rate",
    "backorders",
    "preorders",
    "cancellations",
    "lost_orders",
    "mean_wait_days",
    "p95_wait_days",
    "avg_backlog_units",
    "max_backlog_units",
    "quote_on_time_rate",
    "avg_on_hand",
    "storage_cost",
    "ordering_cost",
    "purchase_cost",
    "handling_cost",
    "backlog_cost",
    "gross_profit",
    "churned_customers",
    "churn_rate",
    "active_customers_end",
    "customer_cash_held",
    "true_demand_per_day",
    "recorded_demand_units",
    "demand_capture_rate",
    "corrected_demand_per_day",
    "bullwhip_ratio",
    "units_shipped",
    "units_received",
    "lost_in_transit",
    "recovered_orders",
    "leftover_units",
)

#: Metrics where more is better (used to say which policy "wins"); the rest are costs or losses.
HIGHER_IS_BETTER: frozenset[str] = frozenset(
    {
        "revenue_kept",
        "fill_rate",
        "unit_fill_rate",
        "quote_on_time_rate",
        "gross_profit",
        "active_customers_end",
        "orders",
        "units_demanded",
        "potential_revenue",
        "units_shipped",
    }
)

#: The metrics a comparison leads with.
KEY_METRICS: tuple[str, ...] = (
    "revenue_kept",
    "gross_profit",
    "fill_rate",
    "churn_rate",
    "storage_cost",
    "mean_wait_days",
    "cancellations",
    "lost_orders",
)

#: Series in the time series, levels first (sampled at the bucket end), then flows (bucket sums).
LEVEL_SERIES: tuple[str, ...] = ("on_hand", "backlog_units", "on_order", "active_customers")
FLOW_SERIES: tuple[str, ...] = ("revenue_kept", "lost_orders")
#: What the business's data shows (model/demand_record.py): units demanded and recorded per day
#: over the bucket (flows ÷ bucket length), and the forecast per day at the bucket's end.
DEMAND_SERIES: tuple[str, ...] = ("true_demand_per_day", "recorded_demand_per_day",
                                  "forecast_per_day")
SERIES: tuple[str, ...] = LEVEL_SERIES + FLOW_SERIES + DEMAND_SERIES

#: Upper edges of the wait histogram bins (days): fine near zero, log-spaced beyond; last is inf.
WAIT_EDGES: np.ndarray = np.concatenate(
    [np.arange(0.0, 1.0, 0.05)[1:], np.geomspace(1.0, 10_000.0, 481), [np.inf]]
)


@dataclass
class RunResult:
    """One replication of one policy.

    ``metrics[product][metric]`` holds every name of :data:`METRICS` for each product id and for
    ``"all"`` (NaN where a metric is undefined, e.g. a mean wait when no order waited).
    ``series[product]`` is an array of shape (len(days), len(SERIES)); ``waits[product]`` counts
    waited-and-shipped orders per bin of :data:`WAIT_EDGES` (bin i covers
    (WAIT_EDGES[i-1], WAIT_EDGES[i]], bin 0 covers [0, WAIT_EDGES[0]]).
    """

    policy: str
    replication: int
    metrics: dict[str, dict[str, float]]
    days: np.ndarray
    series: dict[str, np.ndarray]
    waits: dict[str, np.ndarray]
    windows: list[tuple[str, str, float, float]] = field(default_factory=list)


class WaitLog:
    """The waits of orders that waited and were shipped, in bounded memory.

    Exact values are kept up to :attr:`CAP`; beyond that they are folded into a fine logarithmic
    histogram (bins 0.1% wide from 1e-4 days to about 1e5 days, one bin below), so a run of any
    length uses a fixed amount of memory. Quantiles are exact while every wait is kept and within
    0.1% (relative) after folding.
    """

    CAP = 100_000
    LOW = 1e-4
    RATIO = 1.001
    N_FINE = 20_800

    __slots__ = ("values", "fine")

    def __init__(self) -> None:
        from array import array

        self.values = array("d")
        self.fine: np.ndarray | None = None

    def add(self, wait: float) -> None:
        self.values.append(wait)
        if len(self.values) >= self.CAP:
            self._fold()

    def __len__(self) -> int:
        return len(self.values) + (int(self.fine.sum()) if self.fine is not None else 0)

    @classmethod
    def _index(cls, w: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            idx = np.floor(np.log(np.maximum(w, cls.LOW) / cls.LOW) / np.log(cls.RATIO)) + 1
        idx[w <= cls.LOW] = 0
        return np.minimum(idx, cls.N_FINE - 1).astype(np.int64)

    @classmethod
    def _centres(cls) -> np.ndarray:
        k = np.arange(cls.N_FINE, dtype=float)
        centres = cls.LOW * cls.RATIO ** (k - 0.5)
        centres[0] = 0.0
        return centres

    def _fold(self) -> None:
        if self.fine is None:
            self.fine = np.zeros(self.N_FINE, dtype=np.int64)
        if len(self.values):
            w = np.frombuffer(self.values, dtype=float)
            self.fine += np.bincount(self._index(w), minlength=self.N_FINE)
        from array import array

        self.values = array("d")

    @classmethod
    def merged(cls, logs: list[WaitLog]) -> WaitLog:
        out = cls()
        if any(log.fine is not None for log in logs) or sum(len(x.values) for x in logs) >= cls.CAP:
            out.fine = np.zeros(cls.N_FINE, dtype=np.int64)
            for log in logs:
                if log.fine is not None:
                    out.fine += log.fine
                if len(log.values):
                    out.fine += np.bincount(
                        cls._index(np.frombuffer(log.values, dtype=float)), minlength=cls.N_FINE
                    )
        else:
            for log in logs:
                out.values.extend(log.values)
        return out

    def quantile(self, q: float) -> float:
        if self.fine is None:
            if not len(self.values):
                return float("nan")
            return float(np.percentile(np.frombuffer(self.values, dtype=float), 100 * q))
        counts = self.fine.copy()
        if len(self.values):
            counts += np.bincount(
                self._index(np.frombuffer(self.values, dtype=float)), minlength=self.N_FINE
            )
        cum = np.cumsum(counts)
        k = int(np.searchsorted(cum, q * cum[-1], side="left"))
        return float(self._centres()[k])

    def histogram(self, edges: np.ndarray) -> np.ndarray:
        """Counts per bin of ``edges`` (bin i covers (edges[i-1], edges[i]])."""
        counts = np.zeros(len(edges), dtype=np.int64)
        if len(self.values):
            idx = np.searchsorted(edges, np.frombuffer(self.values, dtype=float), side="left")
            np.add.at(counts, idx, 1)
        if self.fine is not None:
            idx = np.searchsorted(edges, self._centres(), side="left")
            np.add.at(counts, idx, self.fine)
        return counts
