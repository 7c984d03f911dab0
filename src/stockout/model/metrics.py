"""From a finished run to the glossary's metrics (docs/glossary.md), and the invariants they
must keep.

The statistics window is (warm-up, horizon] ((0, horizon] without a warm-up). Order-based
statistics belong to the orders *arriving* in it (a cohort: ``WaitingOrder.counted``; without a
warm-up, every order), wherever their outcome happens; levels and costs in time are integrated
over it; replenishment orders and receipts count when they happen in it (a periodic review on
the window's first instant belongs before it, one at the horizon in it: n review periods hold n
reviews). The counts come from :class:`~stockout.model.tally.Tally`, the recorder every stock point
reports to.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..records import METRICS, WaitLog

if TYPE_CHECKING:
    from .stockpoint import StockPoint
    from .tally import Tally


class InvariantError(AssertionError):
    """A conservation law of docs/glossary.md ("Invariants") failed: a bug in stockout, never
    the user's input."""


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def product_metrics(sp: StockPoint, t: Tally, span: float, n_start: int) -> dict[str, float]:
    """The glossary's metrics of one stock point (``active_customers_end`` is the total's)."""
    pending_units = sum(o.remaining for o in sp.queue if not o.done and o.counted)
    orders = t.filled_orders + t.backorders + t.preorders + t.lost_orders + t.recovered_orders
    units = t.filled_units + t.other_units
    shipped = t.filled_units + t.partial_on_arrival + t.late_units + t.recovered_units
    price = sp.price
    storage = sp.holding_cost * sp.a_on_hand
    ordering = sp.order_cost * t.replenishment_orders
    handling = sp.backorder_handling * (t.backorders + t.preorders) + (
        sp.cancellation_handling * t.cancelled_orders
    )
    backlog_cost = sp.backorder_cost * sp.a_backlog
    return {
        "orders": orders,
        "units_demanded": units,
        "potential_revenue": units * price,
        "revenue_kept": shipped * price,
        "revenue_lost_stockout": t.lost_units * price,
        "revenue_lost_cancelled": t.cancelled_units * price,
        "revenue_pending": pending_units * price,
        "fill_rate": _ratio(t.filled_orders, orders),
        "unit_fill_rate": _ratio(t.filled_units + t.partial_on_arrival, units),
        "backorders": t.backorders,
        "preorders": t.preorders,
        "cancellations": t.cancelled_orders,
        "lost_orders": t.lost_orders,
        "mean_wait_days": _ratio(t.wait_sum, t.shipped_late),
        "p95_wait_days": t.waits.quantile(0.95),
        "avg_backlog_units": sp.a_backlog / span,
        "max_backlog_units": sp.max_backlog,
        "quote_on_time_rate": _ratio(t.on_time, t.shipped_late),
        "avg_on_hand": sp.a_on_hand / span,
        "storage_cost": storage,
        "ordering_cost": ordering,
        "purchase_cost": (t.units_ordered - t.never_shipped) * sp.unit_cost,
        "handling_cost": handling,
        "backlog_cost": backlog_cost,
        "gross_profit": shipped * (price - sp.unit_cost) - storage - ordering - handling
        - backlog_cost - leftover_write_down(sp),
        "churned_customers": t.churned_customers,
        "churn_rate": _ratio(t.churned_customers, n_start),
        "active_customers_end": math.nan,
        "customer_cash_held": sp.a_cash / span,
        "units_shipped": shipped,
        "units_received": t.supplied - t.lost_in_transit_units,
        "lost_in_transit": t.lost_in_transit_units,
        "recovered_orders": t.recovered_orders,
        "leftover_units": sp.on_hand,
    }


def leftover_write_down(sp: StockPoint) -> float:
    """What the stock left on hand at the horizon loses against its cost: (unit cost − salvage
    value) × units on hand (0 by default, when the salvage value is the unit cost; negative
    when leftovers sell above cost)."""
    return (sp.unit_cost - sp.salvage_value) * sp.on_hand


_SUMMED = (
    "orders", "units_demanded", "potential_revenue", "revenue_kept", "revenue_lost_stockout",
    "revenue_lost_cancelled", "revenue_pending", "backorders", "preorders", "cancellations",
    "lost_orders", "avg_backlog_units", "avg_on_hand", "storage_cost", "ordering_cost",
    "purchase_cost", "handling_cost", "backlog_cost", "gross_profit", "churned_customers",
    "customer_cash_held", "units_shipped", "units_received", "lost_in_transit",
    "recovered_orders", "leftover_units",
)


def total_metrics(
    tallies: list[Tally], per: dict[str, dict[str, float]], ids: list[str],
    max_backlog: int, population: Any, extra: dict[str, float] | None = None,
) -> dict[str, float]:
    """The metrics of all stock points together (``extra``: totals computed elsewhere)."""
    total = {m: float(sum(per[i][m] for i in ids)) for m in _SUMMED}
    shipped_late = sum(t.shipped_late for t in tallies)
    total["churned_customers"] += population.background_churned
    filled_units = sum(t.filled_units + t.partial_on_arrival for t in tallies)
    total.update({
        "fill_rate": _ratio(sum(t.filled_orders for t in tallies), total["orders"]),
        "unit_fill_rate": _ratio(filled_units, total["units_demanded"]),
        "mean_wait_days": _ratio(sum(t.wait_sum for t in tallies), shipped_late),
        "p95_wait_days": WaitLog.merged([t.waits for t in tallies]).quantile(0.95),
        "max_backlog_units": max_backlog,
        "quote_on_time_rate": _ratio(sum(t.on_time for t in tallies), shipped_late),
        "churn_rate": _ratio(total["churned_customers"], population.at_warmup),
        "active_customers_end": population.n,
    })
    total.update(extra or {})
    return {m: float(total[m]) for m in METRICS}


def check_invariants(sps: list[StockPoint], tallies: list[Tally],
                     per: dict[str, dict[str, float]]) -> None:
    """The conservation laws of docs/glossary.md ("Invariants"); a failure is a bug and stops
    the run loudly."""
    problems = []
    for sp, t in zip(sps, tallies, strict=True):
        waiting = [o for o in sp.queue if not o.done]
        if sp.initial_stock + sp.supplied_total != (
            sp.shipped_total + sp.on_hand + sp.lost_in_transit_total
        ):
            problems.append(f"{sp.name}: units in != units out")
        if sp.on_hand < 0 or not (0 <= sp.reserved <= sp.on_hand):
            problems.append(f"{sp.name}: on hand {sp.on_hand}, reserved {sp.reserved}")
        if sp.backlog != sum(o.remaining for o in waiting) or sp.backlog_orders != len(waiting):
            problems.append(f"{sp.name}: backlog counters disagree with the queue")
        if sp.waiting_total != sp.completed_total + sp.cancelled_total + len(waiting):
            problems.append(f"{sp.name}: a waiting order ended in no state or in two")
        pending = sum(1 for o in waiting if o.counted)
        if t.backorders + t.preorders != t.shipped_late + t.cancelled_orders + pending:
            problems.append(f"{sp.name}: cohort waiting orders do not add up")
        m = per[sp.name]
        parts = (m["revenue_kept"] + m["revenue_lost_stockout"] + m["revenue_lost_cancelled"]
                 + m["revenue_pending"])
        if not math.isclose(m["potential_revenue"], parts, rel_tol=1e-9, abs_tol=1e-6):
            problems.append(f"{sp.name}: potential revenue {m['potential_revenue']} != {parts}")
    if problems:
        raise InvariantError("invariant violated: " + "; ".join(problems))
