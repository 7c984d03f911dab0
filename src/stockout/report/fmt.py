"""How numbers read in the report: one formatter per kind of metric."""

from __future__ import annotations

import math
from collections.abc import Iterable

MONEY = frozenset({
    "potential_revenue", "revenue_kept", "revenue_lost_stockout", "revenue_lost_cancelled",
    "revenue_pending", "storage_cost", "ordering_cost", "purchase_cost", "handling_cost",
    "backlog_cost", "gross_profit", "customer_cash_held",
})  # fmt: skip
SHARES = frozenset({"fill_rate", "unit_fill_rate", "quote_on_time_rate", "churn_rate"})
DAYS = frozenset({"mean_wait_days", "p95_wait_days"})

LABELS: dict[str, str] = {
    "orders": "Orders", "units_demanded": "Units demanded",
    "potential_revenue": "Potential revenue", "revenue_kept": "Revenue kept",
    "revenue_lost_stockout": "Revenue lost to stockouts",
    "revenue_lost_cancelled": "Revenue lost to cancellations",
    "revenue_pending": "Revenue pending at horizon", "fill_rate": "Fill rate",
    "unit_fill_rate": "Unit fill rate", "backorders": "Backorders", "preorders": "Pre-orders",
    "cancellations": "Cancellations", "lost_orders": "Lost orders",
    "mean_wait_days": "Mean wait (days)", "p95_wait_days": "95th pct wait (days)",
    "avg_backlog_units": "Avg backlog (units)", "max_backlog_units": "Max backlog (units)",
    "quote_on_time_rate": "Shipped by quoted date", "avg_on_hand": "Avg on hand (units)",
    "storage_cost": "Storage cost", "ordering_cost": "Ordering cost",
    "purchase_cost": "Purchase cost", "handling_cost": "Handling cost",
    "backlog_cost": "Backlog (goodwill) cost", "gross_profit": "Gross profit",
    "churned_customers": "Churned customers", "churn_rate": "Churn rate",
    "active_customers_end": "Active customers at end",
    "customer_cash_held": "Customer cash held", "units_shipped": "Units shipped",
    "units_received": "Units received", "lost_in_transit": "Units lost in transit",
    "recovered_orders": "Recovered orders", "leftover_units": "Units left at horizon",
}  # fmt: skip
# what the business's data shows of demand (report/demand.py)
SHARES = SHARES | {"demand_capture_rate"}
LABELS.update({
    "true_demand_per_day": "True demand / day", "recorded_demand_units": "Recorded demand (units)",
    "demand_capture_rate": "Demand capture rate",
    "corrected_demand_per_day": "In-stock-corrected demand / day",
    "bullwhip_ratio": "Bullwhip ratio",
})  # fmt: skip

DASH = "–"  # en dash for ranges
MINUS = "−"  # typographic minus


def label(metric: str) -> str:
    return LABELS.get(metric, metric.replace("_", " ").capitalize())


def decimals_for(metric: str, values: Iterable[float | None]) -> int:
    """Decimals that keep a column consistent: fewer for large magnitudes."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    largest = max(finite, default=0.0)
    if metric in SHARES:
        return 1
    if metric in DAYS:
        return 1
    if metric in MONEY:
        return 0 if largest >= 1000 else 2
    return 0 if largest >= 1000 else 1


def number(metric: str, x: float | None, decimals: int, signed: bool = False) -> str:
    """Format one value of a metric: money with thousands separators, shares in percent."""
    if x is None or not math.isfinite(x):
        return DASH
    if metric in SHARES:
        x, suffix = x * 100, ("pp" if signed else "%")
    else:
        suffix = ""
    text = f"{x:{'+' if signed else ''},.{decimals}f}"
    if text.lstrip("+-").strip("0.,") == "":  # avoid "-0" and "+0"
        text = f"{0:.{decimals}f}"
    return text.replace("-", MINUS) + suffix


def interval(metric: str, low: float | None, high: float | None, decimals: int,
             signed: bool = False) -> str:  # fmt: skip
    if low is None or high is None:
        return ""
    return f"{number(metric, low, decimals, signed)} to {number(metric, high, decimals, signed)}"


def percent(x: float, decimals: int = 1, signed: bool = False) -> str:
    text = f"{x * 100:{'+' if signed else ''}.{decimals}f}%"
    return text.replace("-", MINUS)
