"""What one run emits: the metric names of the glossary and the per-run result record.

This module imports nothing of stockout's, so that summaries, results IO and reports can use it
without importing the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The glossary of DESIGN §3, in output order, then supporting counts.
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
    "units_shipped",
    "units_received",
    "lost_in_transit",
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
SERIES: tuple[str, ...] = LEVEL_SERIES + FLOW_SERIES

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
