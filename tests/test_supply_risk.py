"""Supply risk: lane closures, supplier outages, losses, short shipments and honest quotes.

Hand-computed timelines first (constant times, scripted orders), then the quote-accuracy claims
of issue 3, then metamorphic checks under common random numbers, then bad input.
"""

from __future__ import annotations

import copy
import functools
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from stockout import api
from stockout.model.run import simulate
from stockout.records import SERIES
from stockout.results_io import to_toml
from stockout.scenario.errors import ScenarioError
from stockout.scenario.load import scenario_from_dict


def mto(**lane: Any) -> dict[str, Any]:
    """Make-to-order through a lane: supplier lead 2 days, transit 4 days, scripted orders."""
    return {
        "scenario": {"name": "risk", "horizon_days": 40, "seed": 1},
        "products": [{
            "id": "widget", "price": 10,
            "demand": {"orders_per_day": 0, "scripted_orders": [
                {"day": 1}, {"day": 5}, {"day": 11},
            ]},
            "replenishment": {"rule": "make_to_order", "supplier": "acme", "lane": "sea"},
        }],
        "suppliers": [{"id": "acme", "lead_time_days": {"dist": "constant", "value": 2}}],
        "lanes": [{"id": "sea", "transit_days": {"dist": "constant", "value": 4}, **lane}],
        "policies": [{"name": "backorder", "availability": "backorder"}],
    }


def shipped(data: dict[str, Any]) -> dict[int, float]:
    events = api.trace(scenario_from_dict(data), "backorder", days=data["scenario"]["horizon_days"])
    return {e.order: e.day for e in events if e.event == "shipped"}


def test_no_closure_every_order_takes_lead_plus_transit() -> None:
    assert shipped(mto()) == {1: 7.0, 2: 11.0, 3: 17.0}


def test_a_closure_holds_goods_in_transit_and_departures() -> None:
    """Closure [4, 10). Order 1: ready day 3, 1 day of transit done when the lane closes, the
    other 3 after it reopens → day 13. Order 2: ready day 7, waits for the lane → departs day 10,
    arrives 14. Order 3: ready day 13, unaffected → 17."""
    data = mto(disruptions=[{"start_day": 4, "end_day": 10}])
    assert shipped(data) == {1: 13.0, 2: 14.0, 3: 17.0}


def test_overlapping_closures_hold_goods_until_the_last_one_ends() -> None:
    """[4, 8) and [6, 10) close the lane as [4, 10) does: the same timeline."""
    data = mto(disruptions=[{"start_day": 4, "end_day": 8}, {"start_day": 6, "end_day": 10}])
    assert shipped(data) == {1: 13.0, 2: 14.0, 3: 17.0}


def test_a_closure_beginning_as_goods_arrive_or_leave() -> None:
    """Closure [7, 9). Order 1 arrives on day 7 as it begins: not held. Order 2 is ready on day
    7 and cannot leave: it departs day 9 and arrives 13. Order 3 (ready 13) → 17."""
    data = mto(disruptions=[{"start_day": 7, "end_day": 9}])
    assert shipped(data) == {1: 7.0, 2: 13.0, 3: 17.0}


def test_quotes_know_a_closure_only_once_it_has_begun() -> None:
    """Order 1 was quoted day 7 before the closure began (late); order 2 was quoted after it
    began (day 14, on time); order 3 after it ended (on time)."""
    data = mto(disruptions=[{"start_day": 4, "end_day": 10}])
    events = api.trace(scenario_from_dict(data), "backorder", days=40)
    late = {e.order: "late" in e.text for e in events if e.event == "shipped"}
    assert late == {1: True, 2: False, 3: False}
    m = simulate(scenario_from_dict(data), "backorder", 0).metrics["widget"]
    assert m["quote_on_time_rate"] == pytest.approx(2 / 3)


def test_an_outage_stops_production() -> None:
    """One line at 1 unit/day, outage [2, 5): 3 units ordered at day 1 are made in 3 working
    days: day 1→2, pause, 5→7; no lead time, no lane → shipped day 7."""
    data = {
        "scenario": {"name": "outage", "horizon_days": 20, "seed": 1},
        "products": [{
            "id": "widget", "price": 10,
            "demand": {"orders_per_day": 0, "scripted_orders": [{"day": 1, "quantity": 3}]},
            "replenishment": {"rule": "make_to_order", "supplier": "acme"},
        }],
        "suppliers": [{
            "id": "acme", "capacity_per_day": 1,
            "outages": [{"start_day": 2, "end_day": 5}],
        }],
        "policies": [{"name": "backorder", "availability": "backorder"}],
    }
    assert shipped(data) == {1: 7.0}


def base_stock(**extra: Any) -> dict[str, Any]:
    data = {
        "scenario": {"name": "risk-bs", "horizon_days": 300, "warmup_days": 20, "seed": 5,
                     "replications": 10},
        "products": [{
            "id": "widget", "price": 10, "initial_stock": 40,
            "demand": {"orders_per_day": 4},
            "replenishment": {"rule": "base_stock", "order_up_to": 40, "supplier": "acme",
                              "lane": "sea"},
        }],
        "suppliers": [{"id": "acme", "lead_time_days": {"dist": "constant", "value": 3}}],
        "lanes": [{"id": "sea", "transit_days": {"dist": "constant", "value": 5}}],
        "policies": [
            {"name": "backorder", "availability": "backorder"},
            {"name": "out-of-stock", "availability": "out_of_stock"},
        ],
    }
    for path, value in extra.items():
        node = data
        *parents, leaf = path.split(".")
        for key in parents:
            node = node[key][0] if isinstance(node[key], list) else node[key]
        if leaf == "order_up_to":
            data["products"][0]["initial_stock"] = value
        node[leaf] = value
    return data


@pytest.mark.parametrize(
    "extra",
    [
        {"lanes.loss_probability": 0.2},
        {"suppliers.short_shipment_probability": 0.4},
        {"suppliers.short_shipment_probability": 0.4,
         "suppliers.short_shipment_remainder": "never"},
    ],
    ids=["loss", "short-later", "short-never"],
)
def test_losses_and_short_shipments_conserve_units(extra: dict[str, Any]) -> None:
    """simulate() checks initial + supplied = shipped + on hand + lost in transit exactly."""
    scenario = scenario_from_dict(base_stock(**extra))
    for policy in ("backorder", "out-of-stock"):
        m = simulate(scenario, policy, 0).metrics["all"]
        if "lanes.loss_probability" in extra:
            assert m["lost_in_transit"] > 0
        assert m["units_shipped"] > 0


def test_never_shipped_units_are_not_paid_for() -> None:
    """Every order (of Q = 10) arrives with half its units and the rest never comes. With
    no warm-up, what is paid for is exactly what arrived plus what is still on its way at the
    horizon (only the shipped halves are ever on order after the shortfall shows), never the
    units the supplier kept back; with full shipments it is everything ordered."""
    data = base_stock(**{
        "suppliers.short_shipment_probability": 1.0, "suppliers.short_shipment_share": 0.5,
        "suppliers.short_shipment_remainder": "never", "products.unit_cost": 2.0,
        "products.replenishment": {"rule": "r_Q", "reorder_point": 30, "order_quantity": 10,
                                   "supplier": "acme", "lane": "sea"},
    })
    data["scenario"]["warmup_days"] = 0
    res = simulate(scenario_from_dict(data), "out-of-stock", 0)
    m = res.metrics["all"]
    on_order_end = res.series["all"][-1, SERIES.index("on_order")]
    assert m["units_received"] > 0
    assert m["purchase_cost"] >= 2.0 * m["units_received"] - 1e-9
    assert m["purchase_cost"] <= 2.0 * (m["units_received"] + on_order_end) + 1e-9
    full = base_stock(**{"products.unit_cost": 2.0})
    full["scenario"]["warmup_days"] = 0
    mf = simulate(scenario_from_dict(full), "out-of-stock", 0).metrics["all"]
    assert mf["purchase_cost"] > 2.0 * mf["units_received"]  # what is on order is paid for too


def test_constant_times_no_disruption_no_buffer_quotes_are_exact() -> None:
    scenario = scenario_from_dict(base_stock())
    for k in range(4):
        m = simulate(scenario, "backorder", k).metrics["all"]
        assert m["backorders"] > 20
        assert m["quote_on_time_rate"] == 1.0


@functools.cache
def _runs(text: str, policy: str) -> tuple[dict[str, float], ...]:
    scenario = scenario_from_dict(tomllib.loads(text))
    return tuple(
        simulate(scenario, policy, k).metrics["all"] for k in range(scenario.scenario.replications)
    )


def paired(data_a: dict, data_b: dict, policy: str, metric: str) -> tuple[float, float]:
    """Mean and 95% half-width of metric(b) − metric(a) over paired replications (CRN)."""
    a, b = _runs(to_toml(data_a), policy), _runs(to_toml(data_b), policy)
    d = np.array([y[metric] - x[metric] for x, y in zip(a, b, strict=True)])
    return float(d.mean()), float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))


def test_a_closure_breaks_quotes_grows_waits_and_lowers_the_fill_rate() -> None:
    """Orders waiting when the lane closes were promised dates the closure breaks; with S = 32
    and a = λ(L + T) = 32, about half the time someone is waiting at the onset."""
    plain = base_stock(**{"products.replenishment.order_up_to": 32})
    closed = base_stock(**{"products.replenishment.order_up_to": 32,
                           "lanes.disruptions": [{"start_day": 100, "end_day": 130}]})
    on_time = [m["quote_on_time_rate"] for m in _runs(to_toml(closed), "backorder")]
    assert max(on_time) <= 1.0 and np.mean(on_time) < 1.0
    assert all(m["quote_on_time_rate"] == 1.0 for m in _runs(to_toml(plain), "backorder"))
    diff_wait, h_wait = paired(plain, closed, "backorder", "mean_wait_days")
    assert diff_wait - h_wait > 0
    diff_fill, h_fill = paired(plain, closed, "backorder", "fill_rate")
    assert diff_fill + h_fill < 0


@pytest.mark.parametrize("policy", ["backorder", "out-of-stock"])
@pytest.mark.parametrize("metric", ["fill_rate", "revenue_kept"])
def test_longer_or_more_frequent_disruptions_never_help(policy: str, metric: str) -> None:
    """Metamorphic, under common random numbers: a longer scheduled closure, or random closures
    twice as frequent, cannot raise the fill rate or revenue kept in expectation: the paired
    difference must not be significantly positive."""
    short = base_stock(**{"lanes.disruptions": [{"start_day": 100, "end_day": 115}]})
    long = base_stock(**{"lanes.disruptions": [{"start_day": 100, "end_day": 140}]})
    diff, h = paired(short, long, policy, metric)
    assert diff <= h
    rare = base_stock(**{"lanes.disruptions": [{
        "every_days": {"dist": "exponential", "mean": 120},
        "duration_days": {"dist": "constant", "value": 10}}]})
    often = copy.deepcopy(rare)
    often["lanes"][0]["disruptions"][0]["every_days"]["mean"] = 60
    diff, h = paired(rare, often, policy, metric)
    assert diff <= h


def test_pessimistic_quotes_trade_conversion_for_punctuality() -> None:
    """Quoting the 90th percentile of a variable lead time instead of its mean: fewer orders
    accept (more declined quotes) but more are shipped on time."""
    data = base_stock(**{"suppliers.lead_time_days": {"dist": "gamma", "mean": 3, "cv": 0.8}})
    data["customers"] = {"patience_days": {"dist": "exponential", "mean": 8}}
    data["products"][0]["replenishment"]["order_up_to"] = 30
    data["products"][0]["initial_stock"] = 30
    honest = copy.deepcopy(data)
    honest["policies"][0]["quote_percentile"] = 0.9
    diff_on_time, h = paired(data, honest, "backorder", "quote_on_time_rate")
    assert diff_on_time - h > 0
    diff_lost, h = paired(data, honest, "backorder", "lost_orders")
    assert diff_lost - h > 0


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"lanes.disruptions": [{"start_day": 20, "end_day": 10}]}, "lanes[sea].disruptions[0]"),
        ({"lanes.disruptions": [{"every_days": {"dist": "exponential", "mean": 30},
                                 "duration_days": {"dist": "uniform", "low": -3, "high": 2}}]},
         "lanes[sea].disruptions[0].duration_days"),
        ({"suppliers.outages": [{"start_day": -1, "end_day": 10}]},
         "suppliers[acme].outages[0].start_day"),
        ({"products.replenishment": {"rule": "base_stock", "order_up_to": 40, "supplier": "acme",
                                     "lane": "air"}},
         "products[widget].replenishment.lane"),
        ({"lanes.loss_probability": 1.5}, "lanes[sea].loss_probability"),
        ({"suppliers.capacity_per_day": 5,
          "suppliers.production_time_days": {"dist": "exponential", "mean": 0.1}},
         "suppliers[acme]"),
        ({"suppliers.production_time_days": {"dist": "exponential", "mean": -1}},
         "suppliers[acme].production_time_days.mean"),
    ],
    ids=["end-before-start", "negative-duration", "negative-start", "unknown-lane", "loss>1",
         "two-lines", "negative-unit-time"],
)
def test_bad_disruption_input_names_the_key_path(change: dict, path: str, tmp_path: Path) -> None:
    data = base_stock(**change)
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data, "risk.toml")
    assert path in str(caught.value)
    file = tmp_path / "risk.toml"
    file.write_text(to_toml(data), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "stockout", "validate", str(file)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 2
    assert path in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
