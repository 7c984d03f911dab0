"""Extreme but legal inputs simulate correctly or are rejected with a reason (issue 8).

Each case states what must come out, computed by hand where the answer is exact. ``simulate()``
checks the conservation laws of docs/glossary.md itself (InvariantError); ``check_run`` from
``test_properties`` adds the outside checks (levels never negative, every order in one state,
nothing waits under out-of-stock, revenue identities).

The property test at the end extends ``test_properties.py`` to what it does not generate: the
extremes below mixed in (patience 0 and infinite, churn probability 1, population 1, a product
released after the horizon, an outage over the whole horizon, tiny capacity, huge MOQ), scripted
orders, demand profiles and trends, and custom policies (one honest, one that scribbles on the
Shortage it is shown).

Memory: a run's memory must not grow with the horizon (streaming statistics, bounded series);
the 10-million-customer run is ``benchmarks/bench_long_run.py``.
"""

from __future__ import annotations

import copy
import gc
import math
import shutil
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from conftest import make_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import check_run, scenarios

from stockout.model import simulate
from stockout.scenario.errors import ScenarioError
from stockout.scenario.load import scenario_from_dict

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
INF = math.inf


def run(data: dict[str, Any], policy: str = "p", rep: int = 0) -> dict[str, dict[str, float]]:
    sc = scenario_from_dict(data)
    data = copy.deepcopy(data)
    for product in data["products"]:
        product.setdefault("unit_cost", 0.0)  # check_run reads it
    check_run(sc, data, policy, rep)  # simulate() + invariants + outside checks
    return simulate(sc, policy, rep).metrics


def bo_and_oos(**kw: Any) -> dict[str, Any]:
    return make_scenario(policies=[{"name": "bo", "availability": "backorder"},
                                   {"name": "oos", "availability": "out_of_stock"},
                                   {"name": "pre", "availability": "preorder"}], **kw)


def nan(x: float) -> bool:
    return isinstance(x, float) and math.isnan(x)


# ---------------------------------------------------------------------------------------------
# Demand and stock at zero
# ---------------------------------------------------------------------------------------------


def test_zero_demand() -> None:
    data = bo_and_oos(orders_per_day=0.0, horizon_days=50)
    for policy in ("bo", "oos", "pre"):
        m = run(data, policy)["w"]
        assert m["orders"] == 0 and m["potential_revenue"] == 0 and m["revenue_kept"] == 0
        assert nan(m["fill_rate"]) and nan(m["mean_wait_days"])
        assert m["avg_on_hand"] == pytest.approx(10.0)  # initial stock sits there
        assert m["units_received"] == 0


def test_zero_initial_stock_and_no_replenishment() -> None:
    """Nothing can ever ship: under backorder every order waits to the horizon (pending), under
    out-of-stock every order is lost."""
    data = bo_and_oos(initial_stock=0, replenishment={"rule": "none"}, horizon_days=30)
    bo = run(data, "bo")["w"]
    assert bo["orders"] > 0 and bo["revenue_kept"] == 0 and bo["fill_rate"] == 0
    assert bo["backorders"] == bo["orders"]
    assert bo["revenue_pending"] == pytest.approx(bo["potential_revenue"])
    oos = run(data, "oos")["w"]
    assert oos["lost_orders"] == oos["orders"] and oos["revenue_kept"] == 0


def test_zero_lead_time_refills_instantly() -> None:
    """Continuous-review base stock with lead time 0: every unit sold is replaced at once, so
    every order of one unit is filled from stock and on hand stays at S."""
    data = bo_and_oos(lead_time_days={"dist": "constant", "value": 0.0}, order_up_to=3,
                      orders_per_day=20.0, horizon_days=30)
    for policy in ("bo", "oos"):
        m = run(data, policy)["w"]
        assert m["fill_rate"] == 1.0 and m["lost_orders"] == 0 and m["backorders"] == 0
        assert m["avg_on_hand"] == pytest.approx(3.0)


# ---------------------------------------------------------------------------------------------
# Patience and customers
# ---------------------------------------------------------------------------------------------


def test_patience_zero_nobody_waits() -> None:
    """A customer with patience 0 accepts only a quote of now: with a 5-day lead time no
    shortage order is ever taken, so nothing is cancelled or pending."""
    data = bo_and_oos(extra={"customers": {"patience_days": {"dist": "constant", "value": 0}}},
                      lead_time_days={"dist": "constant", "value": 5.0}, horizon_days=60)
    m = run(data, "bo")["w"]
    assert m["backorders"] == 0 and m["cancellations"] == 0 and m["revenue_pending"] == 0
    assert m["lost_orders"] > 0 and 0 < m["fill_rate"] < 1


def test_infinite_patience_nobody_cancels() -> None:
    data = bo_and_oos(extra={"customers": {"patience_days": {"dist": "constant", "value": INF}}},
                      lead_time_days={"dist": "constant", "value": 5.0}, horizon_days=60)
    m = run(data, "bo")["w"]
    assert m["cancellations"] == 0 and m["backorders"] > 0 and m["lost_orders"] == 0
    pre = run(data, "pre")["w"]
    assert pre["cancellations"] == 0


def test_population_one_with_certain_churn() -> None:
    """One customer who leaves on the first stock-out: after that there is no demand at all."""
    data = bo_and_oos(initial_stock=0, replenishment={"rule": "none"}, orders_per_day=5.0,
                      horizon_days=40,
                      extra={"customers": {"population": 1, "churn": {"on_stockout": 1.0}}})
    sc = scenario_from_dict(data)
    res = simulate(sc, "oos", 0)
    m = res.metrics["all"]
    assert m["orders"] == 1 and m["lost_orders"] == 1
    assert m["churned_customers"] == 1 and m["churn_rate"] == 1.0
    assert m["active_customers_end"] == 0
    run(data, "oos")


def test_certain_churn_empties_a_large_population_without_going_negative() -> None:
    data = bo_and_oos(initial_stock=0, replenishment={"rule": "none"}, orders_per_day=50.0,
                      horizon_days=60,
                      extra={"customers": {"population": 200, "churn": {
                          "on_stockout": 1.0, "on_declined_quote": 1.0, "on_cancel": 1.0,
                          "on_late": 1.0, "background_per_year": 1000.0}}})
    for policy in ("oos", "bo", "pre"):
        m = run(data, policy)["all"]
        assert m["active_customers_end"] >= 0
        assert m["churned_customers"] <= 200


# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------


def test_horizon_of_one_day() -> None:
    data = bo_and_oos(horizon_days=1.0, orders_per_day=30.0)
    sc = scenario_from_dict(data)
    for policy in ("bo", "oos", "pre"):
        res = simulate(sc, policy, 0)
        assert len(res.days) == 1 and res.days[0] == 1.0
        run(data, policy)


def test_tiny_horizon_below_one_day() -> None:
    data = bo_and_oos(horizon_days=0.01, orders_per_day=30.0)
    for policy in ("bo", "oos", "pre"):
        run(data, policy)


@pytest.mark.parametrize("warmup", [10.0, 11.0])
def test_warmup_at_or_after_the_horizon_is_rejected_with_a_reason(warmup: float) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(bo_and_oos(horizon_days=10.0, warmup_days=warmup))
    text = str(info.value)
    assert "scenario.warmup_days" in text and "must be less than horizon_days" in text
    assert "statistics cover" in text  # why: the statistics window would be empty


def test_warmup_just_below_the_horizon() -> None:
    data = bo_and_oos(horizon_days=10.0, warmup_days=9.999, orders_per_day=5.0)
    for policy in ("bo", "oos", "pre"):
        run(data, policy)


def test_product_never_released_within_the_horizon() -> None:
    """release_day after the horizon: under backorder and out-of-stock every order is refused
    (the product does not exist yet: no churn); under pre-order every order waits, pending at
    the horizon; nothing ships."""
    data = bo_and_oos(horizon_days=30.0, initial_stock=5, product={"release_day": 100.0},
                      extra={"customers": {"churn": {"on_stockout": 1.0}}})
    for policy in ("bo", "oos"):
        m = run(data, policy)["w"]
        assert m["orders"] > 0 and m["lost_orders"] == m["orders"]
        assert m["revenue_kept"] == 0 and m["churned_customers"] == 0
    pre = run(data, "pre")["w"]
    assert pre["preorders"] == pre["orders"] > 0 and pre["revenue_kept"] == 0
    assert pre["revenue_pending"] == pytest.approx(pre["potential_revenue"])


# ---------------------------------------------------------------------------------------------
# Supply
# ---------------------------------------------------------------------------------------------


def test_supplier_always_out() -> None:
    """An outage over the whole horizon (and beyond): nothing is ever received."""
    data = bo_and_oos(horizon_days=40.0, initial_stock=3,
                      supplier={"outages": [{"start_day": 0.0, "end_day": 1e6}]})
    for policy in ("bo", "oos", "pre"):
        m = run(data, policy)["w"]
        assert m["units_received"] == 0 and m["units_shipped"] <= 3


def test_tiny_capacity() -> None:
    data = bo_and_oos(horizon_days=40.0, initial_stock=2,
                      supplier={"capacity_per_day": 1e-6})
    for policy in ("bo", "oos", "pre"):
        m = run(data, policy)["w"]
        assert m["units_received"] == 0  # one unit takes a million days


def test_huge_minimum_order_quantity() -> None:
    """MOQ 10**12: the first order brings a trillion units; counts stay exact integers and the
    storage cost is a finite float."""
    data = bo_and_oos(horizon_days=20.0, initial_stock=0,
                      supplier={"min_order_qty": 10**12},
                      product={"holding_cost_per_day": 0.01})
    for policy in ("bo", "oos"):
        m = run(data, policy)["w"]
        assert m["units_received"] == 10**12
        assert math.isfinite(m["storage_cost"]) and m["storage_cost"] > 0


def test_huge_but_feasible_demand() -> None:
    """20,000 orders a day for two days (out of stock), 2,000 a day under backorder."""
    data = bo_and_oos(horizon_days=2.0, orders_per_day=20_000.0, order_up_to=50,
                      extra={"customers": {"population": 10**9}})
    m = run(data, "oos")["w"]
    assert 38_000 < m["orders"] < 42_000
    data["products"][0]["demand"]["orders_per_day"] = 2_000.0
    m = run(data, "bo")["w"]
    assert 3_600 < m["orders"] < 4_400 and m["backorders"] > 3_000


@pytest.mark.slow
def test_backorder_quotes_with_a_large_backlog_are_not_quadratic() -> None:
    """20,000 orders/day for 2 days, base stock 50, lead time 1: the backlog soon exceeds what
    is on order, and the quote must not rescan the whole pipeline for every order."""
    from test_fuzz import time_limit

    data = bo_and_oos(horizon_days=2.0, orders_per_day=20_000.0, order_up_to=50)
    sc = scenario_from_dict(data)
    with time_limit(8, "backorder run with a 40k-order backlog"):
        simulate(sc, "bo", 0)


def test_huge_quantities_and_stock() -> None:
    data = bo_and_oos(horizon_days=10.0, initial_stock=10**12, order_up_to=10**12,
                      product={"demand": {"quantity": {"dist": "constant", "value": 10**6}}})
    for policy in ("bo", "oos"):
        m = run(data, policy)["w"]
        assert m["fill_rate"] == 1.0


def test_out_of_range_extremes_are_rejected_with_a_reason() -> None:
    for bad, where in [
        ({"scenario": {"horizon_days": 0.0}}, "scenario.horizon_days"),
        ({"scenario": {"horizon_days": INF}}, "scenario.horizon_days"),
        ({"products": [{"demand": {"orders_per_day": 1e8}}]}, "orders_per_day"),
        ({"customers": {"population": 0}}, "customers.population"),
        ({"customers": {"churn": {"on_stockout": 1.5}}}, "customers.churn.on_stockout"),
    ]:
        data = make_scenario()
        for key, value in bad.items():
            if key == "products":
                data["products"][0]["demand"].update(value[0]["demand"])
            else:
                data.setdefault(key, {})
                for k, v in value.items():
                    if isinstance(v, dict):
                        data[key].setdefault(k, {}).update(v)
                    else:
                        data[key][k] = v
        with pytest.raises(ScenarioError, match=where.replace(".", r"\.").split(r"\.")[-1]):
            scenario_from_dict(data)


# ---------------------------------------------------------------------------------------------
# Properties: every feature on, extremes and custom policies mixed in
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("policies")
    shutil.copy(HOSTILE / "hostile_policies.py", folder / "hostile_policies.py")
    return folder


@st.composite
def extreme_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(draw(scenarios()))
    horizon = data["scenario"]["horizon_days"]
    customers = data["customers"]
    if draw(st.booleans()):
        customers["patience_days"] = draw(st.sampled_from([
            {"dist": "constant", "value": 0}, {"dist": "constant", "value": INF}]))
    if draw(st.booleans()):
        customers["population"] = draw(st.sampled_from([1, 2]))
    if draw(st.booleans()):
        customers["churn"][draw(st.sampled_from(
            ["on_stockout", "on_declined_quote", "on_cancel", "on_late"]))] = 1.0
    for product in data["products"]:
        demand = product["demand"]
        if draw(st.booleans()):
            demand["scripted_orders"] = [
                {"day": draw(st.floats(0, horizon)), "quantity": draw(st.integers(1, 20)),
                 **({"patience_days": draw(st.sampled_from([0.0, 2.5, INF]))}
                    if draw(st.booleans()) else {})}
                for _ in range(draw(st.integers(1, 4)))]
        if draw(st.booleans()):
            demand["trend_per_year"] = draw(st.floats(-50, 50))
        if draw(st.booleans()):
            season = demand.setdefault("seasonality", {})
            if draw(st.booleans()):
                season["weekday"] = draw(st.lists(st.floats(0, 3), min_size=7, max_size=7))
            else:
                season["monthly"] = draw(st.lists(st.floats(0, 3), min_size=12, max_size=12))
        if draw(st.integers(0, 5)) == 0:
            product["release_day"] = horizon + 1
    for sup in data["suppliers"]:
        extreme = draw(st.integers(0, 7))
        if extreme == 0:
            sup["outages"] = [{"start_day": 0.0, "end_day": horizon + 10}]
        elif extreme == 1:  # a line far too slow (whichever way the scenario gave it)
            sup.pop("production_time_days", None)
            sup["capacity_per_day"] = 1e-3
        elif extreme == 2:
            sup["min_order_qty"] = 10**9
        elif extreme == 3:
            sup["lead_time_days"] = {"dist": "constant", "value": 0.0}
    data["policies"].append({
        "name": "custom", "availability": "custom",
        "class": draw(st.sampled_from(["hostile_policies:Good",
                                       "hostile_policies:MutatesShortage"])),
        "options": {},
    })
    return data


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=extreme_scenarios(), rep=st.integers(0, 2))
def test_invariants_hold_with_extremes_and_custom_policies(
    data: dict[str, Any], rep: int, policy_dir: Path
) -> None:
    sc = scenario_from_dict(data)
    for policy in ("bo", "oos", "pre"):
        check_run(sc, data, policy, rep)
    sys.modules.pop("hostile_policies", None)
    res = simulate(sc, "custom", rep, policy_dir)  # invariants checked inside
    for pid, m in res.metrics.items():
        assert m["lost_in_transit"] >= 0 and m["units_shipped"] >= 0, pid
        s = res.series[pid]
        assert not (s[:, 0] < 0).any(), f"{pid}: on hand negative"


# ---------------------------------------------------------------------------------------------
# Memory does not grow with the horizon
# ---------------------------------------------------------------------------------------------


def peak_bytes(horizon: float, availability: str) -> int:
    data = make_scenario(orders_per_day=1.0, horizon_days=horizon, order_up_to=3,
                         availability=availability,
                         extra={"customers": {"patience_days": {
                             "dist": "exponential", "mean": 3.0}}},
                         lead_time_days={"dist": "exponential", "mean": 2.0})
    sc = scenario_from_dict(data)
    gc.collect()
    tracemalloc.start()
    try:
        simulate(sc, "p", 0)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("availability", ["out_of_stock", "backorder"])
def test_memory_does_not_grow_with_the_horizon(availability: str) -> None:
    """Streaming statistics and a bounded time series: a run 10 times longer (1,000 → 10,000
    days at one order a day) peaks at no more than 1.2 × the memory plus 256 kB. (Under
    backorder the waits are kept exactly up to 100,000 per product, then in a fixed
    histogram: 8 bytes an order at most, within the constant here.)"""
    peak_bytes(100.0, availability)  # warm caches and imports outside the measurement
    short, long = peak_bytes(1_000.0, availability), peak_bytes(10_000.0, availability)
    assert long <= 1.2 * short + 256_000, (
        f"peak traced memory {short / 1e6:.3f} MB at 1k days, {long / 1e6:.3f} MB at 10k days"
    )
