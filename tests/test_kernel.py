"""The fast path of model/kernel.py gives exactly the results of the ordinary arrival loop.

Each scenario is simulated twice, with the kernel and without (``Model.use_kernel``), and every
metric, time-series value, wait histogram and window must be equal — not close: the kernel
performs the same floating-point operations in the same order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from stockout.model import kernel
from stockout.model.run import Model, simulate
from stockout.model.stockpoint import StockPoint
from stockout.records import WaitLog
from stockout.scenario.load import scenario_from_dict


def scenario(**change: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "scenario": {"name": "k", "horizon_days": 400, "warmup_days": 30, "seed": 3},
        "products": [{
            "id": "w", "price": 10, "unit_cost": 4, "holding_cost_per_day": 0.1,
            "initial_stock": 30,
            "demand": {"orders_per_day": 6, "quantity": {"dist": "poisson", "mean": 1.5}},
            "replenishment": {"rule": "base_stock", "order_up_to": 30, "supplier": "s"},
        }],
        "suppliers": [{"id": "s", "lead_time_days": {"dist": "gamma", "mean": 4, "cv": 0.5}}],
        "policies": [
            {"name": "bo", "availability": "backorder", "quote_buffer_days": 1},
            {"name": "oos", "availability": "out_of_stock", "notify_me_share": 0.3},
            {"name": "bo-partial", "availability": "backorder", "partial_shipments": True,
             "max_quoted_wait_days": 6},
            {"name": "bo-capped", "availability": "backorder", "max_backlog_units": 8,
             "payment": "at_shipment", "quote_buffer_days": 0.5},
        ],
    }
    for key, value in change.items():
        node = data
        *parents, leaf = key.split(".")
        for k in parents:
            node = node[k][0] if isinstance(node[k], list) else node[k]
        node[leaf] = value
    return data


CASES = {
    "base-stock": {},
    "churn-and-patience": {
        "customers": {"population": 500, "acquisition_per_day": 0.5,
                      "patience_days": {"dist": "exponential", "mean": 5},
                      "churn": {"on_stockout": 0.3, "on_cancel": 0.5, "on_late": 0.2,
                                "background_per_year": 0.1}}},
    "s-S-with-moq-and-lane": {
        "products.replenishment": {"rule": "s_S", "reorder_point": 10, "order_up_to": 40,
                                   "supplier": "s", "lane": "road", "order_cost": 5},
        "suppliers.min_order_qty": 12,
        "lanes": [{"id": "road", "transit_days": {"dist": "uniform", "low": 1, "high": 2}}]},
    "periodic-and-release": {
        "products.replenishment": {"rule": "periodic", "order_up_to": 60,
                                   "review_period_days": 7, "supplier": "s"},
        "products.release_day": 20},
    # no warm-up (the review of day 0 leaves the window) and leftovers sold off at a loss
    "periodic-no-warmup-salvage": {
        "scenario.warmup_days": 0,
        "products.salvage_value": 1.5,
        "products.replenishment": {"rule": "periodic", "order_up_to": 60,
                                   "review_period_days": 7, "supplier": "s"}},
    # constant lead and transit times: receipts wait in the kernel's FIFO, not the heap
    "constant-lead": {
        "suppliers.lead_time_days": {"dist": "constant", "value": 4},
        "products.demand": {"orders_per_day": 8}},
    "constant-lead-transit-patience-churn": {
        "suppliers.lead_time_days": {"dist": "constant", "value": 3},
        "products.replenishment": {"rule": "base_stock", "order_up_to": 25, "supplier": "s",
                                   "lane": "road"},
        "lanes": [{"id": "road", "transit_days": {"dist": "constant", "value": 1.5}}],
        "customers": {"population": 300,
                      "patience_days": {"dist": "exponential", "mean": 3},
                      "churn": {"on_stockout": 0.2, "on_declined_quote": 0.3, "on_cancel": 0.4,
                                "on_late": 0.3}}},
    # deadlines due within hours, often before the next receipt (random lead times: quotes are
    # estimates), set by the kernel itself and by the slow path (whole orders that free stock
    # only partly covers): the kernel must apply them in day order
    "short-patience": {
        "suppliers.lead_time_days": {"dist": "gamma", "mean": 2, "cv": 0.6},
        "products.replenishment": {"rule": "base_stock", "order_up_to": 12, "supplier": "s"},
        "products.demand": {"orders_per_day": 8, "quantity": {"dist": "poisson", "mean": 1.5}},
        "customers": {"patience_days": {"dist": "exponential", "mean": 0.4}}},
    # erratic lead times: a receipt ordered by the slow path can be due before everything
    # the model had scheduled
    "erratic-lead": {
        "suppliers.lead_time_days": {"dist": "gamma", "mean": 2, "cv": 1.5},
        "products.replenishment": {"rule": "base_stock", "order_up_to": 8, "supplier": "s"},
        "products.demand": {"orders_per_day": 8, "quantity": {"dist": "poisson", "mean": 1.5}}},
    # other events applying receipts while the kernel holds some in its FIFO: scripted orders,
    # the release day, a warm-up end
    "constant-lead-scripted-release": {
        "suppliers.lead_time_days": {"dist": "constant", "value": 2},
        "products.release_day": 12,
        "products.demand": {"orders_per_day": 7,
                            "scripted_orders": [{"day": 40.5, "quantity": 25},
                                                {"day": 41.25, "quantity": 3},
                                                {"day": 200, "quantity": 40}]}},
    # the FIFO empties between orders ((r, Q) with a short constant lead time) and SimPy's next
    # event is days away (time-series buckets of 3 days, nothing else scheduled): a receipt
    # ordered into an empty FIFO must be seen by the customers before that event
    "constant-lead-rQ-long-buckets": {
        "scenario.horizon_days": 6000,
        "suppliers.lead_time_days": {"dist": "constant", "value": 0.7},
        "products.replenishment": {"rule": "r_Q", "reorder_point": 3, "order_quantity": 20,
                                   "supplier": "s"},
        "products.initial_stock": 23},
    "seasonal-spikes-scripted": {
        "products.demand": {"orders_per_day": 5,
                            "seasonality": {"amplitude": 0.5, "weekday": [1, 1, 1, 1, 1, 2, 0]},
                            "spikes": [{"start_day": 100, "end_day": 110, "multiplier": 4}],
                            "scripted_orders": [{"day": 50, "quantity": 20}]}},
}


@pytest.mark.parametrize("case", CASES)
def test_kernel_equals_the_ordinary_loop(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = scenario_from_dict(scenario(**CASES[case]))
    assert kernel.applies(Model(sc, "bo", 0), Model(sc, "bo", 0).products[0])
    for policy in ("bo", "oos", "bo-partial", "bo-capped"):
        for rep in range(2):
            fast = simulate(sc, policy, rep)
            # the reference: the ordinary loop, waiting for SimPy at every event due before a
            # customer (never moving the clock ahead by itself)
            with monkeypatch.context() as m:
                m.setattr(Model, "use_kernel", False)
                m.setattr(Model, "_must_wait", lambda self, t: True)
                slow = simulate(sc, policy, rep)
            assert_same(fast, slow, f"{case}/{policy}/{rep}")


def assert_same(fast: Any, slow: Any, label: str) -> None:
    for product, metrics in slow.metrics.items():
        for name, value in metrics.items():
            got = fast.metrics[product][name]
            assert got == value or (math.isnan(got) and math.isnan(value)), (
                f"{label}: {product}.{name} {got} != {value}")
    for product in slow.series:
        np.testing.assert_array_equal(fast.series[product], slow.series[product])
        np.testing.assert_array_equal(fast.waits[product], slow.waits[product])
    assert fast.windows == slow.windows


class CalledStockPoint(StockPoint):
    """``arrive``, ``receive`` and ``add_shipment`` of its own (as a trace's ``arrive`` and
    ``receive``): the arrival loop, ``Model.flush`` and ``Route.place``, which write them out
    for a plain stock point, call them."""

    def arrive(self, t: float, qty: int, patience: float, u_churn: float, u_notify: float) -> None:
        super().arrive(t, qty, patience, u_churn, u_notify)

    def receive(self, t: float, qty: int, shipment: int | None) -> None:
        super().receive(t, qty, shipment)

    def add_shipment(self, arrival: float, expected: float, qty: int, kind: int) -> int:
        return super().add_shipment(arrival, expected, qty, kind)


@pytest.mark.parametrize("case", CASES)
def test_the_loop_inlines_arrive_exactly(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ordinary arrival loop writes ``StockPoint.arrive`` out; it must do exactly what a
    call does (every metric, series value and wait)."""
    sc = scenario_from_dict(scenario(**CASES[case]))
    monkeypatch.setattr(Model, "use_kernel", False)
    for policy in ("bo", "oos", "bo-partial", "bo-capped"):
        inlined = simulate(sc, policy, 0)
        with monkeypatch.context() as m:
            m.setattr(Model, "stockpoint_class", CalledStockPoint)
            called = simulate(sc, policy, 0)
        assert_same(inlined, called, f"{case}/{policy}")


# Routes that are not simple (``Route.place`` with its add_shipment written out): a production
# line with outages, short shipments (their rest later, or never), a lane with closures and
# losses; with churn and patience, so that deadlines and cancellations mix with receipts.
SUPPLY_RISK = {
    "customers": {"population": 400, "acquisition_per_day": 0.5,
                  "patience_days": {"dist": "lognormal", "mean": 6, "cv": 0.6},
                  "churn": {"on_stockout": 0.2, "on_cancel": 0.4, "on_late": 0.2}},
    "products.replenishment": {"rule": "base_stock", "order_up_to": 30, "supplier": "s",
                               "lane": "sea"},
    "suppliers": [{"id": "s", "lead_time_days": {"dist": "lognormal", "mean": 4, "cv": 0.4},
                   "capacity_per_day": 8, "short_shipment_probability": 0.15,
                   "short_shipment_share": 0.5, "short_shipment_remainder": "later",
                   "outages": [{"every_days": {"dist": "exponential", "mean": 60},
                                "duration_days": {"dist": "uniform", "low": 1, "high": 4}}]}],
    "lanes": [{"id": "sea", "transit_days": {"dist": "gamma", "mean": 2, "cv": 0.3},
               "loss_probability": 0.02,
               "disruptions": [{"every_days": {"dist": "exponential", "mean": 40},
                                "duration_days": {"dist": "uniform", "low": 1, "high": 5}}]}],
}
RICH = {
    "supply-risk": SUPPLY_RISK,
    "supply-risk-rest-never": {**SUPPLY_RISK, "suppliers": [
        {**SUPPLY_RISK["suppliers"][0], "short_shipment_remainder": "never"}]},
    "supply-risk-s-S": {**SUPPLY_RISK, "products.replenishment": {
        "rule": "s_S", "reorder_point": 12, "order_up_to": 40, "supplier": "s", "lane": "sea"}},
}


@pytest.mark.parametrize("case", RICH)
def test_written_out_steps_equal_the_calls_on_rich_routes(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Model.flush`` writes out ``StockPoint.receive`` and ``Route.place`` writes out
    ``StockPoint.add_shipment``; with a stock point that has its own of each (calling the
    originals), every metric, series value and wait must be the same."""
    sc = scenario_from_dict(scenario(**RICH[case]))
    assert not Model(sc, "bo", 0).products[0].route.simple
    for policy in ("bo", "oos", "bo-partial", "bo-capped"):
        for rep in range(2):
            inlined = simulate(sc, policy, rep)
            with monkeypatch.context() as m:
                m.setattr(Model, "stockpoint_class", CalledStockPoint)
                called = simulate(sc, policy, rep)
            assert_same(inlined, called, f"{case}/{policy}/{rep}")


def test_kernel_folds_waits_like_the_ordinary_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past WaitLog.CAP waits are folded into the histogram; the kernel appends them itself."""
    monkeypatch.setattr(WaitLog, "CAP", 40)
    sc = scenario_from_dict(scenario(**CASES["constant-lead"]))
    logs = []
    for use_kernel in (True, False):
        monkeypatch.setattr(Model, "use_kernel", use_kernel)
        model = Model(sc, "bo", 0)
        model.run()
        logs.append(model.products[0].tally.waits)
    fast, slow = logs
    assert fast.fine is not None and len(fast.values) < 40  # folded, more than once
    assert int(fast.fine.sum()) > 200
    np.testing.assert_array_equal(fast.fine, slow.fine)
    assert list(fast.values) == list(slow.values)
