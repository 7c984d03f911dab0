"""Common random numbers, reproducibility and metamorphic relations (docs/background.md).

- In replication k every policy sees the same customers: with no churn feedback, ``orders``,
  ``units_demanded`` and ``potential_revenue`` are identical across policies, per replication.
- Same seed -> identical results; one worker = two workers, exactly; another seed differs.
- More stock never lowers the fill rate (pathwise under CRN for base stock with backorders, and in
  expectation by the paired 95% interval); longer patience never raises cancellations (paired).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from conftest import ci, make_scenario, scenario

from stockout.experiment import run_replications
from stockout.model import simulate
from stockout.scenario.schema import Scenario


def same_metrics(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]) -> list[str]:
    """The (product, metric) pairs where two runs differ (NaN equals NaN)."""
    diff = []
    assert a.keys() == b.keys()
    for pid in a:
        assert a[pid].keys() == b[pid].keys()
        for k, v in a[pid].items():
            w = b[pid][k]
            if not (v == w or (math.isnan(v) and math.isnan(w))):
                diff.append(f"{pid}.{k}: {v!r} != {w!r}")
    return diff


def same_result(a, b) -> None:  # noqa: ANN001
    assert (a.policy, a.replication) == (b.policy, b.replication)
    assert same_metrics(a.metrics, b.metrics) == []
    assert np.array_equal(a.days, b.days)
    for pid in a.series:
        assert np.array_equal(a.series[pid], b.series[pid], equal_nan=True), pid
        assert np.array_equal(a.waits[pid], b.waits[pid]), pid
    assert a.windows == b.windows


def rich(seed: int = 11, replications: int = 4, notify: float = 0.0) -> dict:
    """Two products, seasonality, scheduled and random spikes, random lead times, a lane with
    random closures, supplier outages, patience, and three policies (backorder with lean stock,
    out of stock with deep stock, pre-order) — but no churn, acquisition or background churn, so
    demand cannot depend on the policy."""
    data = make_scenario(
        orders_per_day=4.0, order_up_to=8, horizon_days=150, warmup_days=10,
        replications=replications, seed=seed,
        lead_time_days={"dist": "gamma", "mean": 3.0, "cv": 0.5},
        replenishment={"lane": "road"},
        supplier={"outages": [{"start_day": 40, "end_day": 50},
                              {"every_days": {"dist": "exponential", "mean": 30},
                               "duration_days": {"dist": "uniform", "low": 1, "high": 4}}]},
        product={"demand": {
            "quantity": {"dist": "geometric", "mean": 1.5},
            "seasonality": {"amplitude": 0.5, "period_days": 60, "peak_day": 20},
            "spikes": [{"start_day": 70, "end_day": 75, "multiplier": 3.0},
                       {"every_days": {"dist": "exponential", "mean": 25},
                        "duration_days": {"dist": "constant", "value": 2}, "multiplier": 2.5}]},
            "patience_days": {"dist": "exponential", "mean": 6}},
        policies=[
            {"name": "bo-lean", "availability": "backorder",
             "replenishment": {"w": {"order_up_to": 4}}},
            {"name": "oos-deep", "availability": "out_of_stock", "notify_me_share": notify,
             "replenishment": {"w": {"order_up_to": 14}}},
            {"name": "pre", "availability": "preorder", "partial_shipments": True},
        ],
        extra={"lanes": [{"id": "road", "transit_days": {"dist": "uniform", "low": 1, "high": 2},
                          "disruptions": [{"every_days": {"dist": "exponential", "mean": 40},
                                           "duration_days": {"dist": "constant", "value": 5}}]}]},
    )
    second = dict(data["products"][0], id="v", price=3.0)
    second["demand"] = dict(second["demand"], orders_per_day=2.0)
    second["release_day"] = 30.0
    data["products"].append(second)
    return data


def test_every_policy_sees_the_same_customers() -> None:
    """CRN (docs/background.md): without churn feedback, per replication and per product, the
    customers arriving after the warm-up are the same under every policy: identical orders, units
    demanded and potential revenue. Includes a pre-order policy before product v's release."""
    check_same_customers(rich())


def test_notify_me_returns_do_not_inflate_demand() -> None:
    """Same as above with notify-me on: a returning customer is the same customer and the same
    demand, so potential revenue must not depend on the policy."""
    check_same_customers(rich(notify=0.5))


def check_same_customers(data: dict) -> None:
    sc = Scenario.model_validate(data)
    runs = run_replications(sc, jobs=2)
    by_rep: dict[int, list] = {}
    for r in runs:
        by_rep.setdefault(r.replication, []).append(r)
    assert len(by_rep) == 4
    for k, rs in by_rep.items():
        assert len(rs) == 3
        for pid in ("w", "v", "all"):
            for metric in ("orders", "units_demanded", "potential_revenue"):
                values = {r.policy: r.metrics[pid][metric] for r in rs}
                assert len(set(values.values())) == 1, f"rep {k}, {pid}.{metric}: {values}"
        # and the policies did behave differently (the test is not vacuous)
        fills = {r.policy: r.metrics["w"]["fill_rate"] for r in rs}
        assert len(set(fills.values())) > 1, fills
    orders = [rs[0].metrics["all"]["orders"] for rs in by_rep.values()]
    assert len(set(orders)) == len(orders), "replications should differ from each other"


def test_same_seed_identical_results() -> None:
    """Same scenario, seed, policy and replication -> the same RunResult, field by field."""
    sc = Scenario.model_validate(rich())
    for policy in ("bo-lean", "oos-deep", "pre"):
        same_result(simulate(sc, policy, 2), simulate(sc, policy, 2))


def test_one_worker_equals_two_workers() -> None:
    """run_replications(jobs=1) and (jobs=2) give exactly the same results in the same order."""
    sc = Scenario.model_validate(rich(replications=3))
    one = run_replications(sc, jobs=1)
    two = run_replications(sc, jobs=2)
    assert [(r.policy, r.replication) for r in one] == [(r.policy, r.replication) for r in two]
    for a, b in zip(one, two, strict=True):
        same_result(a, b)


def test_different_seed_differs() -> None:
    """Another seed gives other customers (and another replication index other customers too)."""
    a = simulate(Scenario.model_validate(rich(seed=11)), "bo-lean", 0).metrics["all"]
    b = simulate(Scenario.model_validate(rich(seed=12)), "bo-lean", 0).metrics["all"]
    c = simulate(Scenario.model_validate(rich(seed=11)), "bo-lean", 1).metrics["all"]
    assert a["orders"] != b["orders"] or a["units_demanded"] != b["units_demanded"]
    assert len(same_metrics({"all": a}, {"all": b})) > 5
    assert len(same_metrics({"all": a}, {"all": c})) > 5


def test_an_unrelated_product_does_not_change_a_products_draws() -> None:
    """Named streams (docs/background.md, "Common random numbers"): adding a second product leaves
    the first product's customers unchanged (no churn, so no coupling through the population)."""
    one = make_scenario(orders_per_day=3.0, horizon_days=60, seed=4,
                        lead_time_days={"dist": "exponential", "mean": 2.0},
                        extra={"customers": {"patience_days": {"dist": "exponential",
                                                               "mean": 1.0}}})
    two = copy.deepcopy(one)
    two["products"].append({
        "id": "other", "price": 2.0, "initial_stock": 1,
        "demand": {"orders_per_day": 7.0, "quantity": {"dist": "poisson", "mean": 2}},
        "replenishment": {"rule": "base_stock", "order_up_to": 3, "supplier": "s2"}})
    two["suppliers"].append({"id": "s2", "lead_time_days": {"dist": "exponential", "mean": 1}})
    a = simulate(Scenario.model_validate(one), "p", 0).metrics["w"]
    b = simulate(Scenario.model_validate(two), "p", 0).metrics["w"]
    assert same_metrics({"w": a}, {"w": b}) == []


# ---------------------------------------------------------------------------------------------
# Metamorphic relations
# ---------------------------------------------------------------------------------------------


def stock_levels(availability: str, initial: int) -> Scenario:
    """Base stock S = 6, 9, 12 (per-policy overrides), λ = 5, exponential lead time mean 2,
    20 replications × 300 days after a 20-day warm-up."""
    return scenario(
        orders_per_day=5.0, order_up_to=6, initial_stock=initial,
        lead_time_days={"dist": "exponential", "mean": 2.0},
        horizon_days=320, warmup_days=20, replications=20, seed=31,
        policies=[{"name": f"S{s}", "availability": availability,
                   "replenishment": {"w": {"order_up_to": s}}} for s in (6, 9, 12)],
    )


def fill_by_policy(sc: Scenario) -> dict[str, np.ndarray]:
    out: dict[str, list[float]] = {}
    for r in run_replications(sc, jobs=2):
        out.setdefault(r.policy, []).append(r.metrics["w"]["fill_rate"])
    return {k: np.array(v) for k, v in out.items()}


def test_more_stock_never_lowers_fill_pathwise_backorders() -> None:
    """Backorders, base stock, unit demand, starting from nothing on hand: every policy orders S
    at day 0 and then one unit per demand, so under CRN the k-th lead-time draw goes to the k-th
    demand for every S and the net inventory of S' > S is exactly S' − S higher at all times.
    Hence fill(S = 12) ≥ fill(S = 9) ≥ fill(S = 6) in every single replication."""
    fills = fill_by_policy(stock_levels("backorder", initial=0))
    assert (fills["S9"] >= fills["S6"]).all(), (fills["S6"], fills["S9"])
    assert (fills["S12"] >= fills["S9"]).all(), (fills["S9"], fills["S12"])
    assert (fills["S12"] > fills["S6"]).any()


@pytest.mark.parametrize("availability", ["backorder", "out_of_stock"])
def test_more_stock_never_lowers_fill_in_expectation(availability: str) -> None:
    """More stock never lowers the fill rate in expectation (metamorphic). Paired
    differences d_k = fill(S') − fill(S) over 20 common-random-number replications: the mean of d
    must not be significantly negative (mean + 2h ≥ 0, h the paired 95% half-width). With a = 10
    the theory (Palm / Erlang B) puts the S = 6 → 12 gain at +0.57 / +0.39, so the test also
    asserts the gain is significantly positive (mean − 2h > 0): a model that ignored S fails."""
    fills = fill_by_policy(stock_levels(availability, initial=12))
    for lo, hi in (("S6", "S9"), ("S9", "S12"), ("S6", "S12")):
        mean, half = ci(fills[hi] - fills[lo])
        assert mean + 2 * half >= 0, f"{availability}: fill({hi}) − fill({lo}) = {mean} ± {half}"
        assert mean - 2 * half > 0, f"{availability}: no significant gain {lo} -> {hi}"


def test_longer_patience_never_raises_cancellations() -> None:
    """Longer patience never leaves more customers unserved (metamorphic). Patience
    exponential with mean 1, 2 and 4 days drawn from the same stream (so each customer's
    patience scales pathwise), base stock S = 8, λ = 5, exponential lead time mean 2 (so some
    waits outrun their quotes), 20 paired replications × 300 days.

    Cancellations alone are not monotone: a more patient customer accepts a quote that a less
    patient one declined, and may then cancel; what cannot rise is the count of customers who
    end unserved, declined or refused (``lost_orders``) plus cancelled. The paired mean
    difference unserved(longer) − unserved(shorter) must not be significantly positive
    (mean − 2h ≤ 0, h the paired 95% half-width)."""
    cancels: dict[float, np.ndarray] = {}
    for mean_patience in (1.0, 2.0, 4.0):
        sc = scenario(
            orders_per_day=5.0, order_up_to=8, horizon_days=320, warmup_days=20,
            replications=20, seed=5, lead_time_days={"dist": "exponential", "mean": 2.0},
            extra={"customers": {"patience_days": {"dist": "exponential",
                                                   "mean": mean_patience}}},
        )
        runs = run_replications(sc, jobs=2)
        cancels[mean_patience] = np.array(
            [r.metrics["w"]["cancellations"] + r.metrics["w"]["lost_orders"] for r in runs])
    for short, long in ((1.0, 2.0), (2.0, 4.0), (1.0, 4.0)):
        mean, half = ci(cancels[long] - cancels[short])
        assert mean - 2 * half <= 0, (
            f"patience {short} -> {long}: unserved customers rose by {mean} ± {half}")
    assert cancels[1.0].sum() > 0  # not vacuous
