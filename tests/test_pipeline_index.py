"""The pipeline index (``model/pipeline_index.py``) against plain walks of the pipeline.

The index must find exactly the shipment a walk over every entry finds, whatever the sequence of
shipments joining (at the end) and leaving (anywhere), and a whole simulation must give the same
results bit for bit whether its quotes go through the index or walk the pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import make_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from stockout.model import pipeline
from stockout.model import pipeline_index as pi
from stockout.model.pipeline_index import PipelineIndex
from stockout.model.run import simulate
from stockout.scenario.schema import Scenario

Entry = tuple[float, int]


def plain_from_end(pipeline: dict[int, Entry], excess: int) -> int:
    after, sid = 0, None
    for sid, (_, q) in reversed(pipeline.items()):  # noqa: B007 - the answer
        after += q
        if after > excess:
            break
    return sid  # type: ignore[return-value]


def plain_from_start(pipeline: dict[int, Entry], need: int) -> int:
    cum, sid = 0, None
    for sid, (_, q) in pipeline.items():  # noqa: B007 - the answer
        cum += q
        if cum >= need:
            break
    return sid  # type: ignore[return-value]


# an operation: ("add", units) or ("leave", which of the shipments in the pipeline)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 5)),
        st.tuples(st.just("leave"), st.floats(0, 1, exclude_max=True)),
    ),
    max_size=600,
)


@settings(max_examples=60, deadline=None)
@given(ops=operations, start=st.integers(0, 300), block=st.sampled_from([1, 2, 3, 64]))
def test_index_finds_what_the_plain_walk_finds(ops: list[tuple[str, Any]], start: int,
                                               block: int) -> None:  # fmt: skip
    """After every operation: the index describes the pipeline, and for every level the walks
    through it stop at the plain walks' shipment (levels past the pipeline's units included:
    then the plain walks end at the first or the last shipment)."""
    pi.BLOCK, saved = block, pi.BLOCK
    try:
        pipeline: dict[int, Entry] = {}
        sid = 0
        for _ in range(start):  # the index may be built over a pipeline already there
            sid += 1
            pipeline[sid] = (float(sid), 1 + sid % 3)
        index = PipelineIndex(pipeline)
        for op, arg in ops:
            if op == "add":
                sid += 1
                pipeline[sid] = (float(sid), arg)
                index.add(sid, arg)
            elif pipeline:
                leaving = list(pipeline)[int(arg**3 * len(pipeline))]  # mostly the oldest
                index.remove(leaving, pipeline.pop(leaving)[1])
            index.check(pipeline)
            if not pipeline:
                continue
            units = sum(q for _, q in pipeline.values())
            for level in {0, 1, units // 3, units // 2, units - 1, units, units + 1}:
                assert index.from_end(pipeline, level)[0] == plain_from_end(pipeline, level)
                if level >= 1:
                    found, entry = index.from_start(pipeline, level)
                    assert found == plain_from_start(pipeline, level)
                    assert entry == pipeline[found]
    finally:
        pi.BLOCK = saved


def deep(**kwargs: Any) -> Scenario:
    """Under-stocked: the backlog outgrows S, so quotes look S units from the end of a pipeline
    of a lead time's worth of orders (100 a day)."""
    data = make_scenario(orders_per_day=100.0, order_up_to=300, horizon_days=120,
                         warmup_days=10, **kwargs)  # fmt: skip
    return Scenario.model_validate(data)


CASES = {
    # one product, constant lead time
    "constant": deep(lead_time_days={"dist": "constant", "value": 8.0}),
    # random lead times, quantities, patience: shipments leave out of order, orders cancel
    "general": deep(
        lead_time_days={"dist": "gamma", "mean": 8.0, "cv": 0.3},
        product={"demand": {"quantity": {"dist": "empirical", "values": [1, 2, 3]}},
                 "patience_days": {"dist": "lognormal", "mean": 6.0, "cv": 0.5}},
        policies=[{"name": "p", "availability": "backorder", "quote_percentile": 0.8}],
    ),
    # capacity, short shipments whose rest never comes, a lane with closures (re-estimated
    # arrivals) and losses
    "supply risk": deep(
        lead_time_days={"dist": "lognormal", "mean": 6.0, "cv": 0.4},
        supplier={"capacity_per_day": 120, "short_shipment_probability": 0.1,
                  "short_shipment_remainder": "never"},
        replenishment={"lane": "sea"},
        extra={"lanes": [{"id": "sea", "transit_days": {"dist": "gamma", "mean": 3, "cv": 0.3},
                          "loss_probability": 0.01,
                          "disruptions": [{"every_days": {"dist": "exponential", "mean": 20},
                                           "duration_days": {"dist": "uniform", "low": 1,
                                                             "high": 4}}]}]},
    ),  # fmt: skip
}


def run_with(
    monkeypatch: pytest.MonkeyPatch, scenario: Scenario, long_walk: int
) -> tuple[Any, int]:
    """Simulate with walks longer than ``long_walk`` shipments going through the index (with 0,
    every walk, and the index is never dropped); the result and how many indexes were built."""
    built = []
    original = PipelineIndex.__init__

    def counting(self: PipelineIndex, pipeline: dict[int, Entry]) -> None:
        built.append(len(pipeline))
        original(self, pipeline)

    with monkeypatch.context() as m:
        m.setattr(pipeline, "LONG_WALK", long_walk)
        if long_walk == 0:  # every walk through the index, never dropped
            m.setattr(pipeline, "BLOCK", 0)
            m.setattr(pipeline, "SHORT", 0)
        m.setattr(PipelineIndex, "__init__", counting)
        return simulate(scenario, "p", 0), len(built)


@pytest.mark.parametrize("case", CASES)
def test_a_run_through_the_index_equals_one_that_walks(monkeypatch: pytest.MonkeyPatch,
                                                       case: str) -> None:  # fmt: skip
    scenario = CASES[case]
    walked, built = run_with(monkeypatch, scenario, 10**9)
    assert built == 0
    indexed, built = run_with(monkeypatch, scenario, 0)
    assert built >= 1
    assert indexed.metrics == walked.metrics
    for ours, theirs in ((indexed.waits, walked.waits), (indexed.series, walked.series)):
        assert ours.keys() == theirs.keys()
        for name, values in theirs.items():
            np.testing.assert_array_equal(ours[name], values)
    assert walked.metrics["all"]["backorders"] > 1000  # quotes were asked, deep in the pipeline


def test_an_under_stocked_run_builds_its_index_and_a_well_stocked_one_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the default threshold: S = 600 against a lead-time demand of 1,600 walks 600
    shipments a quote; S = 2,000 never walks far (and pays nothing for the index)."""
    for order_up_to, builds in ((600, True), (2000, False)):
        data = make_scenario(orders_per_day=100.0, order_up_to=order_up_to, horizon_days=60,
                             lead_time_days={"dist": "constant", "value": 16.0})  # fmt: skip
        _, built = run_with(monkeypatch, Scenario.model_validate(data), pi.LONG_WALK)
        assert (built > 0) == builds, order_up_to
