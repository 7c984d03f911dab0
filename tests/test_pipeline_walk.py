"""The quote's pipeline walk (``Pipeline.day_for``) against a plain walk.

The walk from the start of the pipeline resumes where the last one stopped, with the units of
the walked prefix kept up to date as shipments leave it. Whatever sequence of shipments joining,
leaving (from anywhere: random lead times make them arrive out of order) and quotes, the answer
must be the plain one: the expected day of the first shipment, in the pipeline's order, by which
``need`` units have come.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import make_scenario

from stockout.model import Model, pipeline
from stockout.model.pipeline import Pipeline
from stockout.model.supply import ShipmentEnd
from stockout.scenario.schema import Scenario


def plain_day(pipeline: dict[int, tuple[float, int]], need: int) -> float:
    cum = 0
    for expected, q in pipeline.values():
        cum += q
        if cum >= need:
            return expected
    raise AssertionError("need beyond the pipeline")


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("through_index", [False, True])
def test_resumed_walk_equals_the_plain_walk(
    seed: int, through_index: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long random sequences (quotes ask for any number of units, shipments leave from
    anywhere, by arriving or otherwise), every quote checked; walking the pipeline, or with
    every walk going through the pipeline index (``model/pipeline_index.py``)."""
    monkeypatch.setattr(pipeline, "LONG_WALK", 0 if through_index else 10**9)
    monkeypatch.setattr(pipeline, "BLOCK", 0)  # once built, every walk goes through it
    monkeypatch.setattr(pipeline, "SHORT", 0)  # and it is never dropped
    rng = np.random.default_rng(seed)
    data = make_scenario(lead_time_days={"dist": "constant", "value": 3.0}, horizon_days=50)
    sp = Model(Scenario.model_validate(data), "p", 0).products[0]
    expected, checked = 0.0, 0
    for _ in range(3000):
        op = rng.choice(["add", "add", "leave", "quote", "quote"])
        if op == "add":  # a shipment joins, expected no earlier than the last (in order)
            expected += float(rng.exponential(0.5))
            sp.add_shipment(math.inf, expected, int(rng.integers(1, 6)), ShipmentEnd.RECEIVED)
        elif op == "leave" and sp.pipeline.entries:
            sid = list(sp.pipeline.entries)[int(rng.integers(len(sp.pipeline.entries)))]
            sp.pipeline.remove(sid)  # arrived, lost or never shipped
        elif op == "quote" and sp.pipeline.units:
            need = int(rng.integers(1, sp.pipeline.units + 1))
            assert sp.pipeline.day_for(0.0, need) == plain_day(sp.pipeline.entries, need)
            checked += 1
    assert checked > 500
    assert sp.pipeline.units == sum(q for _, q in sp.pipeline.entries.values())
    assert (sp.pipeline.index is not None) == through_index
    if through_index:
        sp.pipeline.index.check(sp.pipeline.entries)


def sorted_day(pipeline: dict[int, tuple[float, int]], need: int) -> float:
    return plain_day(dict(enumerate(sorted(pipeline.values()))), need)


@pytest.mark.parametrize("seed", range(8))
def test_a_pipeline_out_of_order_is_walked_in_order_again_once_the_disorder_has_left(
    seed: int,
) -> None:
    """Shipments sometimes expected before the one added last (an outage known at one order
    and over by the next, a short shipment's rest): every quote is the walk of the pipeline
    sorted by expected day, and the pipeline is taken as in order (walked without sorting)
    only when it is; once every shipment added before the last one out of order has left,
    it is again."""
    rng = np.random.default_rng(100 + seed)
    data = make_scenario(lead_time_days={"dist": "constant", "value": 3.0}, horizon_days=50)
    sp = Model(Scenario.model_validate(data), "p", 0).products[0]
    expected, checked, regained = 0.0, 0, 0
    for _ in range(3000):
        op = rng.choice(["add", "add", "leave", "leave", "quote", "quote"])
        if op == "add":
            expected += float(rng.exponential(0.5))
            early = rng.random() < 0.05  # this one is expected before the last
            day = expected - float(rng.uniform(0.5, 3.0)) if early else expected
            sp.add_shipment(math.inf, day, int(rng.integers(1, 6)), ShipmentEnd.RECEIVED)
        elif op == "leave" and sp.pipeline.entries:
            entries = sp.pipeline.entries
            sid = list(entries)[int(rng.integers(min(3, len(entries))))]  # mostly old
            sp.pipeline.remove(sid)
        elif op == "quote" and sp.pipeline.units:
            need = int(rng.integers(1, sp.pipeline.units + 1))
            was = sp.pipeline.in_order
            assert sp.pipeline.day_for(0.0, need) == sorted_day(sp.pipeline.entries, need)
            regained += sp.pipeline.in_order and not was
            checked += 1
        days = [e for e, _ in sp.pipeline.entries.values()]
        if sp.pipeline.in_order:
            assert days == sorted(days)
    assert checked > 500 and regained > 3


def overdue_sorted_day(sp: Any, t: float, need: int) -> float:
    """The plain computation for a pipeline out of order: every shipment past its expected day
    re-estimated (``route.overdue``), all sorted by day, walked from the start."""
    entries = sp.pipeline.entries.values()
    shipments = [(sp.route.overdue(t, e) if e < t else e, q) for e, q in entries]
    return plain_day(dict(enumerate(sorted(shipments))), need)


@pytest.mark.parametrize("seed", range(6))
def test_quotes_on_a_pipeline_out_of_order_with_overdue_shipments(seed: int) -> None:
    """Random lead times: shipments past their expected day are re-estimated before the sort.
    Every quote, at times that leave some, many or all of them overdue, equals the plain
    computation (only the overdue prefix is re-estimated, and the walk may start at the end)."""
    rng = np.random.default_rng(200 + seed)
    data = make_scenario(lead_time_days={"dist": "gamma", "mean": 3.0, "cv": 0.5},
                         horizon_days=50)  # fmt: skip
    sp = Model(Scenario.model_validate(data), "p", 0).products[0]
    assert sp.route.uncertain
    expected, checked = 0.0, 0
    for _ in range(2000):
        op = rng.choice(["add", "add", "leave", "quote", "quote"])
        if op == "add":
            expected += float(rng.exponential(0.3))
            late = rng.random() < 0.1  # a short shipment's rest: expected after later orders
            day = expected + float(rng.uniform(1.0, 4.0)) if late else expected
            sp.add_shipment(math.inf, day, int(rng.integers(1, 6)), ShipmentEnd.RECEIVED)
        elif op == "leave" and sp.pipeline.entries:
            entries = sp.pipeline.entries
            sid = list(entries)[int(rng.integers(min(4, len(entries))))]
            sp.pipeline.remove(sid)
        elif (op == "quote" and sp.pipeline.units
              and next(iter(sp.pipeline.entries)) < sp.pipeline.disorder):
            # (out of order, and stays so for this quote: a shipment added before the disorder
            # is still there)
            need = int(rng.integers(1, sp.pipeline.units + 1))
            t = expected + float(rng.uniform(-4.0, 2.0))
            assert sp.pipeline.day_for(t, need) == overdue_sorted_day(sp, t, need)
            checked += 1
    assert checked > 200


def closing_lane(horizon_days: float, closures_every: float, **kwargs: Any) -> dict[str, Any]:
    """Base stock with random lead times, shipped over a lane closed every ``closures_every``
    days on average for 1-6 days."""
    return make_scenario(
        orders_per_day=6.0, order_up_to=30, horizon_days=horizon_days,
        lead_time_days={"dist": "gamma", "mean": 4.0, "cv": 0.5},
        replenishment={"lane": "sea"},
        extra={"lanes": [{"id": "sea", "transit_days": {"dist": "uniform", "low": 2, "high": 5},
                          "disruptions": [{"every_days": {"dist": "exponential",
                                                          "mean": closures_every},
                                           "duration_days": {"dist": "uniform", "low": 1,
                                                             "high": 6}}]}]},
        **kwargs,
    )


def test_cached_reestimates_equal_fresh_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quotes on a lane with frequent random closures: every quote equals the one computed
    with the caches (re-estimated arrivals, the closures known) emptied first."""
    from stockout.model import simulate

    data = closing_lane(horizon_days=400, closures_every=12)
    original = Pipeline.day_for
    calls = {"quotes": 0, "cached": 0}

    def checked(self: Pipeline, t: float, need: int) -> float:
        calls["cached"] += bool(self.revised)
        got = original(self, t, need)
        kept = dict(self.revised), (self.known_from, self.known_until, self.known_end)
        self.revised.clear()
        self.known_from, self.known_until = math.inf, -math.inf  # the known closures afresh
        fresh = original(self, t, need)
        self.revised.update(kept[0])
        self.known_from, self.known_until, self.known_end = kept[1]
        assert got == fresh
        # the kept answer of which closures are known is the search's
        assert self._known_closures(t) == self.route.lane.closures.known(t)[1]
        calls["quotes"] += 1
        return got

    monkeypatch.setattr(Pipeline, "day_for", checked)
    simulate(Scenario.model_validate(data), "p", 0)
    assert calls["quotes"] > 200 and calls["cached"] > 50, calls


def held_prefix_day(pl: Pipeline, t: float, need: int) -> float:
    """The quote of an in-order pipeline on a lane with closures, the plain way: the first
    shipments, each revisable and leaving before the last closure known at ``t`` ends, are
    re-estimated (``route.revise``), the rest keep their expected day; then the plain walk, and
    the residual-time estimate if the shipment found is overdue."""
    route = pl.route
    lane_end = route.lane.closures.known(t)[1]
    days, holding = {}, True
    for sid, (e, _) in pl.entries.items():
        departs = pl.revisable.get(sid)
        holding = holding and departs is not None and departs < lane_end
        days[sid] = route.revise(t, e, departs) if holding else e
    cum = 0
    for sid, (_, q) in pl.entries.items():
        cum += q
        if cum >= need:
            found = days[sid]
            return route.overdue(t, found) if found < t and route.uncertain else found
    raise AssertionError("need beyond the pipeline")


@pytest.mark.parametrize("short", [0.0, 0.3])
def test_only_the_shipment_found_is_reestimated_and_it_is_the_held_prefixs(
    monkeypatch: pytest.MonkeyPatch, short: float,
) -> None:
    """Quotes on a lane with frequent closures, with or without short shipments whose rest
    never comes (a part of the pipeline that is not revisable and ends the held prefix): every
    in-order quote equals the plain computation over the whole pipeline."""
    from stockout.model import simulate

    data = closing_lane(horizon_days=300, closures_every=10, supplier={
        "short_shipment_probability": short, "short_shipment_share": 0.5,
        "short_shipment_remainder": "never"})
    original = Pipeline.day_for
    calls = {"checked": 0, "held": 0, "mixed": 0}

    def checked(self: Pipeline, t: float, need: int) -> float:
        got = original(self, t, need)
        if self.in_order:
            assert got == held_prefix_day(self, t, need)
            calls["checked"] += 1
            calls["held"] += bool(self.revised)
            calls["mixed"] += len(self.revisable) < len(self.entries)
        return got

    monkeypatch.setattr(Pipeline, "day_for", checked)
    simulate(Scenario.model_validate(data), "p", 0)
    assert calls["checked"] > 200 and calls["held"] > 50, calls
    assert (calls["mixed"] > 50) == (short > 0), calls
