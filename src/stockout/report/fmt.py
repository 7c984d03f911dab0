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

#: What each metric means, in a planner's words (docs/glossary.md has the full conventions):
#: shown on hover where a metric is shown and in the report's glossary.
DEFINITIONS: dict[str, str] = {
    "orders": "Customer orders that arrived after the warm-up.",
    "units_demanded": "Units those orders asked for.",
    "potential_revenue": "Units demanded × price: the revenue if every order were filled.",
    "revenue_kept": "Revenue of the units shipped to customers (counted at shipment).",
    "revenue_lost_stockout": "Revenue of orders refused: out of stock, or a quote declined.",
    "revenue_lost_cancelled": "Revenue of backorders and pre-orders the customer cancelled.",
    "revenue_pending": "Revenue of orders still waiting at the horizon (neither kept nor lost).",
    "fill_rate": "Share of orders filled completely from stock when they arrived.",
    "unit_fill_rate": "Share of units shipped from stock when their order arrived.",
    "backorders": "Orders accepted to wait for stock that was out.",
    "preorders": "Orders accepted before a product's release.",
    "cancellations": "Waiting orders the customer cancelled.",
    "lost_orders": "Orders refused or whose quote was declined.",
    "mean_wait_days": "Mean days from order to shipment, over orders that waited and shipped.",
    "p95_wait_days": "95% of the orders that waited shipped within this many days.",
    "avg_backlog_units": "Time-average units owed to waiting customers.",
    "max_backlog_units": "Peak units owed to waiting customers.",
    "quote_on_time_rate": "Share of waiting orders shipped by the date quoted to the customer.",
    "avg_on_hand": "Time-average units on the shelf.",
    "storage_cost": "Holding cost: units on hand × holding cost per unit and day, over time.",
    "ordering_cost": "Fixed cost per replenishment order placed.",
    "purchase_cost": "Units bought × unit cost.",
    "handling_cost": "Per-backorder and per-cancellation handling costs.",
    "backlog_cost": "Goodwill cost: units waiting × backorder cost per unit and day, over time.",
    "gross_profit": "Revenue kept − cost of the units shipped − leftover stock at cost less "
    "salvage − storage, ordering, handling and backlog costs.",
    "churned_customers": "Customers lost after a bad experience (and background churn).",
    "churn_rate": "Churned customers as a share of the population at the end of the warm-up "
    "(over a long horizon with new customers it can exceed 100%).",
    "active_customers_end": "Customers still active at the horizon.",
    "customer_cash_held": "Time-average prepayments held for orders not yet shipped.",
    "units_shipped": "Units shipped to customers.",
    "units_received": "Units received from suppliers.",
    "lost_in_transit": "Units lost on a transport lane.",
    "recovered_orders": "Refused orders whose customer asked to be notified and came back to "
    "buy when the product was restocked.",
    "leftover_units": "Units still on hand at the horizon (charged to gross profit at unit "
    "cost − salvage value).",
    # what the business's data shows of demand (report/demand.py)
    "true_demand_per_day": "Units demanded per day after the warm-up: the demand that arrived.",
    "recorded_demand_units": "Units the business's own records show: sales, backorders, "
    "pre-orders, declined quotes and the captured share of out-of-stock visits.",
    "demand_capture_rate": "Recorded demand ÷ units demanded: how much of demand the data shows.",
    "corrected_demand_per_day": "Units recorded while in stock ÷ days in stock: an estimate of "
    "the demand rate that out-of-stock periods do not bias.",
    "bullwhip_ratio": "Variance of units ordered per review period ÷ variance of units "
    "demanded per review period (periodic review only).",
}

DASH = "–"  # en dash for ranges
MINUS = "−"  # typographic minus


def label(metric: str) -> str:
    return LABELS.get(metric, metric.replace("_", " ").capitalize())


def define(metric: str) -> str:
    """The metric's definition, or "" for a metric without one."""
    return DEFINITIONS.get(metric, "")


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


def compact(x: float | None) -> str:
    """Three significant figures with k, M or B: 21,504,000 -> "21.5M", 472,093 -> "472k"."""
    if x is None or not math.isfinite(x):
        return DASH
    size = abs(x)
    for bound, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= bound:
            scaled = size / bound
            text = f"{scaled:.3g}" if scaled < 1000 else f"{scaled:,.0f}"
            return (MINUS if x < 0 else "") + text + suffix
    return (MINUS if x < 0 else "") + f"{size:.3g}"


def percent(x: float, decimals: int = 1, signed: bool = False) -> str:
    text = f"{x * 100:{'+' if signed else ''}.{decimals}f}%"
    return text.replace("-", MINUS)
