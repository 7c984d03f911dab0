"""Properties over generated scenarios (hypothesis): every feature on at once, small horizons.

``simulate()`` checks the conservation laws of docs/glossary.md itself and raises ``InvariantError``
when one fails (units in = units out; every order ends in exactly one state; potential revenue =
kept + lost + cancelled + pending). On top of that, each test here asserts from the outside, on the
metrics and time series every user sees:

- on hand, backlog and on order are never negative at any sampled day;
- potential_revenue = revenue_kept + revenue_lost_stockout + revenue_lost_cancelled +
  revenue_pending, and potential_revenue = units_demanded × price;
- orders = filled + backorders + preorders + lost_orders (every order in exactly one state);
- under out_of_stock nothing ever waits: no backorders, pre-orders or cancellations, backlog 0;
- rates are in [0, 1] (NaN only when their denominator is 0); averages and costs are >= 0;
- gross_profit = kept − unit cost of units shipped − storage − ordering − handling − backlog cost
  − (unit cost − salvage value) × units left on hand at the horizon;
- the "all" row adds up the products.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockout.model import simulate
from stockout.policies.replenishment import MinMax, Never, OrderUpTo, ReorderPointQuantity
from stockout.records import SERIES
from stockout.scenario.schema import Scenario

ON_HAND, BACKLOG, ON_ORDER = (SERIES.index(s) for s in ("on_hand", "backlog_units", "on_order"))

# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------

small = st.floats(min_value=0.1, max_value=6.0, allow_nan=False, allow_infinity=False)


@st.composite
def positive_dist(draw: st.DrawFn, lo: float = 0.0, hi: float = 6.0) -> dict[str, Any]:
    """A distribution of non-negative times (every kind the format has)."""
    mean = draw(st.floats(min_value=max(lo, 0.1), max_value=hi))
    kind = draw(st.sampled_from([
        "constant", "uniform", "triangular", "exponential", "normal", "lognormal", "gamma",
        "poisson", "geometric", "empirical",
    ]))
    if kind == "constant":
        return {"dist": "constant", "value": mean}
    if kind == "uniform":
        return {"dist": "uniform", "low": mean / 2, "high": mean * 1.5}
    if kind == "triangular":
        return {"dist": "triangular", "low": 0.0, "mode": mean, "high": 2 * mean}
    if kind == "exponential":
        return {"dist": "exponential", "mean": mean}
    if kind == "normal":
        return {"dist": "normal", "mean": mean, "sd": mean / 2}
    if kind in ("lognormal", "gamma"):
        return {"dist": kind, "mean": mean, "cv": draw(st.floats(min_value=0.1, max_value=2.0))}
    if kind == "poisson":
        return {"dist": "poisson", "mean": mean}
    if kind == "geometric":
        return {"dist": "geometric", "mean": max(1.0, mean)}
    values = draw(st.lists(st.floats(min_value=lo, max_value=hi), min_size=1, max_size=4))
    return {"dist": "empirical", "values": values}


@st.composite
def quantity_dist(draw: st.DrawFn) -> dict[str, Any]:
    return draw(st.sampled_from([
        {"dist": "constant", "value": 1},
        {"dist": "constant", "value": 3},
        {"dist": "poisson", "mean": 2.0},
        {"dist": "geometric", "mean": 2.5},
        {"dist": "empirical", "values": [1, 2, 5], "weights": [5, 2, 1]},
    ]))


@st.composite
def windows(draw: st.DrawFn, horizon: float, spike: bool = False) -> list[dict[str, Any]]:
    """Scheduled and random windows (closures, outages or spikes)."""
    out: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.floats(min_value=0.0, max_value=horizon))
        w: dict[str, Any] = {"start_day": start,
                             "end_day": start + draw(st.floats(min_value=0.5, max_value=15.0))}
        if spike:
            w["multiplier"] = draw(st.floats(min_value=0.0, max_value=4.0))
        out.append(w)
    if draw(st.booleans()):
        w = {"every_days": draw(positive_dist(3.0, 20.0)),
             "duration_days": draw(positive_dist(0.5, 6.0)),
             "start_day": draw(st.floats(min_value=0.0, max_value=10.0))}
        if spike:
            w["multiplier"] = draw(st.floats(min_value=0.0, max_value=4.0))
        out.append(w)
    return out


@st.composite
def replenishment(draw: st.DrawFn, suppliers: list[str], lanes: list[str],
                  horizon: float) -> dict[str, Any]:
    kind = draw(st.sampled_from(
        ["base_stock", "s_S", "r_Q", "periodic", "make_to_order", "scheduled", "none"]))
    if kind == "none":
        return {"rule": "none"}
    if kind == "scheduled":
        n = draw(st.integers(0, 4))
        return {"rule": "scheduled", "order_cost": draw(st.floats(0, 20)), "deliveries": [
            {"day": draw(st.floats(0, horizon)), "quantity": draw(st.integers(0, 15))}
            for _ in range(n)]}
    rule: dict[str, Any] = {
        "rule": kind, "supplier": draw(st.sampled_from(suppliers)),
        "order_cost": draw(st.floats(0, 20)),
    }
    if lanes and draw(st.booleans()):
        rule["lane"] = draw(st.sampled_from(lanes))
    if kind in ("base_stock", "periodic"):
        rule["order_up_to"] = draw(st.integers(0, 25))
    if kind == "s_S":
        s = draw(st.integers(-3, 15))
        rule.update(reorder_point=s, order_up_to=max(s + 1, 0) + draw(st.integers(0, 14)))
    if kind == "r_Q":
        rule.update(reorder_point=draw(st.integers(-3, 15)),
                    order_quantity=draw(st.integers(1, 12)))
    if kind == "periodic" or (kind != "make_to_order" and draw(st.booleans())):
        rule["review_period_days"] = draw(st.sampled_from([0.5, 1.0, 2.5, 7.0]))
        if kind != "periodic" and draw(st.booleans()):
            rule["review_period_days"] = 0.0
    return rule


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    horizon = draw(st.floats(min_value=10.0, max_value=60.0))
    warmup = draw(st.sampled_from([0.0, 0.0, 3.0, 7.5]))
    supplier_ids = ["s1", "s2"][: draw(st.integers(1, 2))]
    lane_ids = ["l1"] if draw(st.booleans()) else []
    suppliers = []
    for sid in supplier_ids:
        sup: dict[str, Any] = {"id": sid, "lead_time_days": draw(positive_dist(0.0, 6.0)),
                               "outages": draw(windows(horizon))}
        line = draw(st.sampled_from(["none", "capacity", "random"]))
        if line == "capacity":
            sup["capacity_per_day"] = draw(st.floats(min_value=0.5, max_value=30.0))
        elif line == "random":  # a random time to make each unit
            sup["production_time_days"] = draw(positive_dist(0.0, 0.5))
        if draw(st.booleans()):
            sup["min_order_qty"] = draw(st.integers(1, 10))
        if draw(st.booleans()):
            sup["short_shipment_probability"] = draw(st.floats(0, 1))
            sup["short_shipment_share"] = draw(st.floats(0, 1))
            sup["short_shipment_remainder"] = draw(st.sampled_from(["later", "never"]))
        suppliers.append(sup)
    lanes = [{"id": lid, "transit_days": draw(positive_dist(0.0, 4.0)),
              "disruptions": draw(windows(horizon)),
              "loss_probability": draw(st.sampled_from([0.0, 0.0, 0.1, 0.5]))}
             for lid in lane_ids]
    products = []
    for i in range(draw(st.integers(1, 3))):
        demand: dict[str, Any] = {
            "orders_per_day": draw(st.floats(min_value=0.0, max_value=12.0)),
            "quantity": draw(quantity_dist()),
            "spikes": draw(windows(horizon, spike=True)),
        }
        if draw(st.booleans()):
            demand["seasonality"] = {"amplitude": draw(st.floats(0, 1)),
                                     "period_days": draw(st.floats(5, 60)),
                                     "peak_day": draw(st.floats(0, 60))}
        product: dict[str, Any] = {
            "id": f"p{i}",
            "price": draw(st.floats(min_value=0.0, max_value=50.0)),
            "unit_cost": draw(st.floats(min_value=0.0, max_value=20.0)),
            "holding_cost_per_day": draw(st.floats(0, 1)),
            "backorder_cost_per_day": draw(st.floats(0, 2)),
            "initial_stock": draw(st.integers(0, 30)),
            "release_day": draw(st.sampled_from([0.0, 0.0, 4.0, horizon / 2])),
            "demand": demand,
            "replenishment": draw(replenishment(supplier_ids, lane_ids, horizon)),
        }
        if draw(st.booleans()):
            product["salvage_value"] = draw(st.floats(min_value=0.0, max_value=30.0))
        if draw(st.booleans()):
            product["patience_days"] = draw(positive_dist(0.0, 10.0))
        products.append(product)
    customers: dict[str, Any] = {
        "population": draw(st.integers(1, 500)),
        "acquisition_per_day": draw(st.sampled_from([0.0, 0.5, 3.0])),
        "churn": {
            "on_stockout": draw(st.floats(0, 1)),
            "on_declined_quote": draw(st.floats(0, 1)),
            "on_cancel": draw(st.floats(0, 1)),
            "on_late": draw(st.floats(0, 1)),
            "background_per_year": draw(st.sampled_from([0.0, 0.5, 5.0])),
        },
    }
    if draw(st.booleans()):
        customers["patience_days"] = draw(st.one_of(
            positive_dist(0.0, 10.0), st.just({"dist": "constant", "value": math.inf})))
    backorder: dict[str, Any] = {
        "name": "bo", "availability": "backorder",
        "partial_shipments": draw(st.booleans()),
        "payment": draw(st.sampled_from(["at_order", "at_shipment"])),
        "quote_buffer_days": draw(st.sampled_from([0.0, 1.5])),
    }
    if draw(st.booleans()):
        backorder["max_quoted_wait_days"] = draw(st.floats(0, 10))
    if draw(st.booleans()):
        backorder["max_backlog_units"] = draw(st.integers(0, 20))
    if draw(st.booleans()):
        backorder["quote_percentile"] = draw(st.floats(min_value=0.05, max_value=0.95))
    override_target = products[0]
    if draw(st.booleans()):
        backorder["replenishment"] = {override_target["id"]: {
            "rule": "base_stock", "order_up_to": draw(st.integers(0, 20)),
            "supplier": supplier_ids[0]}}
    oos = {"name": "oos", "availability": "out_of_stock",
           "notify_me_share": draw(st.sampled_from([0.0, 0.3, 1.0]))}
    pre: dict[str, Any] = {
        "name": "pre", "availability": "preorder",
        "after_release": draw(st.sampled_from(["backorder", "out_of_stock"])),
        "partial_shipments": draw(st.booleans()),
        "notify_me_share": draw(st.sampled_from([0.0, 0.5])),
    }
    if draw(st.booleans()):
        pre["max_preorders"] = draw(st.integers(0, 10))
    if draw(st.booleans()):
        pre["max_quoted_wait_days"] = draw(st.floats(0, 10))
    return {
        "scenario": {"name": "prop", "horizon_days": horizon, "warmup_days": warmup,
                     "seed": draw(st.integers(0, 2**32))},
        "customers": customers,
        "products": products,
        "suppliers": suppliers,
        "lanes": lanes,
        "costs": {"backorder_handling": draw(st.floats(0, 3)),
                  "cancellation_handling": draw(st.floats(0, 3))},
        "policies": [backorder, oos, pre],
    }


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def check_run(sc: Scenario, data: dict[str, Any], policy: str, rep: int) -> None:
    res = simulate(sc, policy, rep)  # raises InvariantError if a conservation law fails
    availability = next(p["availability"] for p in data["policies"] if p["name"] == policy)
    prices = {p["id"]: p["price"] for p in data["products"]}
    costs = {p["id"]: p["unit_cost"] for p in data["products"]}
    salvage = {p["id"]: p.get("salvage_value", p["unit_cost"]) for p in data["products"]}
    purchase = ("purchase_cost",)
    for pid in [*prices, "all"]:
        m = res.metrics[pid]
        where = f"policy {policy}, product {pid}"
        # every level is non-negative at every sampled day
        s = res.series[pid]
        for col, name in ((ON_HAND, "on hand"), (BACKLOG, "backlog"), (ON_ORDER, "on order")):
            v = s[:, col]
            v = v[~(v != v)]
            assert (v >= 0).all(), f"{where}: {name} negative in the time series"
        # revenue identity
        parts = (m["revenue_kept"] + m["revenue_lost_stockout"] + m["revenue_lost_cancelled"]
                 + m["revenue_pending"])
        assert close(m["potential_revenue"], parts), f"{where}: potential != sum of parts"
        for k in ("revenue_kept", "revenue_lost_stockout", "revenue_lost_cancelled",
                  "revenue_pending", "storage_cost", "ordering_cost", *purchase,
                  "handling_cost", "backlog_cost", "avg_on_hand", "avg_backlog_units",
                  "max_backlog_units", "customer_cash_held", "units_shipped", "units_received",
                  "lost_in_transit", "churned_customers", "backorders", "preorders",
                  "cancellations", "lost_orders", "orders", "units_demanded", "recovered_orders"):
            assert m[k] >= -1e-9, f"{where}: {k} = {m[k]} < 0"
        assert m["avg_backlog_units"] <= m["max_backlog_units"] + 1e-9
        # every order in exactly one state
        n = m["orders"]
        if n:
            filled = m["fill_rate"] * n
            assert close(filled, round(filled))
            states = (round(filled) + m["backorders"] + m["preorders"] + m["lost_orders"]
                      + m["recovered_orders"])
            assert states == n, (
                f"{where}: orders {n} != filled {filled} + backorders {m['backorders']} + "
                f"preorders {m['preorders']} + lost {m['lost_orders']} + recovered "
                f"{m['recovered_orders']}"
            )
            assert m["cancellations"] <= m["backorders"] + m["preorders"]
            assert m["units_demanded"] >= n
        else:
            assert math.isnan(m["fill_rate"]) and math.isnan(m["unit_fill_rate"])
        # rates
        for k in ("fill_rate", "unit_fill_rate", "quote_on_time_rate"):
            if not math.isnan(m[k]):
                assert 0.0 <= m[k] <= 1.0 + 1e-12, f"{where}: {k} = {m[k]}"
        if n:
            assert m["unit_fill_rate"] >= 0 and not math.isnan(m["unit_fill_rate"])
        if not math.isnan(m["churn_rate"]):
            assert m["churn_rate"] >= 0
        if not math.isnan(m["mean_wait_days"]):
            assert m["mean_wait_days"] >= 0 and m["p95_wait_days"] >= 0
        # under out_of_stock nothing waits
        if availability == "out_of_stock":
            assert m["backorders"] == 0 and m["preorders"] == 0 and m["cancellations"] == 0
            assert m["avg_backlog_units"] == 0 and m["max_backlog_units"] == 0
            assert m["revenue_pending"] == 0 and m["revenue_lost_cancelled"] == 0
            assert math.isnan(m["mean_wait_days"])
            if n:
                assert close(m["fill_rate"] * n + m["lost_orders"] + m["recovered_orders"], n)
        if pid == "all":
            continue
        price = prices[pid]
        assert close(m["potential_revenue"], m["units_demanded"] * price)
        assert close(m["revenue_kept"], m["units_shipped"] * price)
        profit = (m["revenue_kept"] - costs[pid] * m["units_shipped"] - m["storage_cost"]
                  - m["ordering_cost"] - m["handling_cost"] - m["backlog_cost"]
                  - (costs[pid] - salvage[pid]) * m["leftover_units"])
        assert close(m["gross_profit"], profit), f"{where}: gross profit identity"
        assert m["leftover_units"] >= 0
    total = res.metrics["all"]
    for k in ("orders", "units_demanded", "potential_revenue", "revenue_kept", "backorders",
              "lost_orders", "cancellations", "storage_cost", "avg_on_hand"):
        assert close(total[k], sum(res.metrics[p][k] for p in prices)), f"all.{k}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenarios(), rep=st.integers(0, 3))
def test_invariants_hold_on_generated_scenarios(data: dict[str, Any], rep: int) -> None:
    sc = Scenario.model_validate(data)
    for policy in ("bo", "oos", "pre"):
        check_run(sc, data, policy, rep)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenarios())
def test_same_inputs_same_outputs(data: dict[str, Any]) -> None:
    """Determinism on arbitrary scenarios: running a replication twice gives identical metrics
    (NaN in the same places), series and windows."""
    sc = Scenario.model_validate(data)
    for policy in ("bo", "pre"):
        a, b = simulate(sc, policy, 1), simulate(sc, policy, 1)
        for pid, ma in a.metrics.items():
            for k, v in ma.items():
                w = b.metrics[pid][k]
                assert (v == w) or (math.isnan(v) and math.isnan(w)), f"{policy}/{pid}/{k}"
        assert a.windows == b.windows


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["base_stock", "s_S", "r_Q", "make_to_order", "none"]),
    a=st.integers(0, 50), b=st.integers(1, 50), position=st.integers(-200, 200),
)
def test_a_rule_orders_only_at_or_below_its_trigger(
    kind: str, a: int, b: int, position: int
) -> None:
    """The model asks a replenishment rule only when the position is at or below its
    ``trigger``: a rule that would order above it would be silently skipped."""
    rule = {"base_stock": OrderUpTo(a), "s_S": MinMax(a, a + b),
            "r_Q": ReorderPointQuantity(a, b), "make_to_order": OrderUpTo(0),
            "none": Never()}[kind]  # fmt: skip
    qty = rule.order_quantity(SimpleNamespace(position=position))
    assert (qty > 0) == (position <= rule.trigger)
    if isinstance(rule, OrderUpTo) and qty > 0:
        assert qty == rule.S - position
