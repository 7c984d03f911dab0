"""The model's agenda (``model/agenda.py``) takes entries in exactly the order a heap would.

Random interleavings of scheduling and taking are run against ``heapq`` with the same entries;
the agenda's part sizes are shrunk so that refills, inserts before the bound and spills of
``near`` back to ``far`` all happen often. Days are drawn from a coarse grid, so many entries
share a day (ordered by their rank), as they do with constant lead times; ranks are not in the
order entries are scheduled (a deadline's rank is above every shipment's, whenever it is set).
"""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockout.model.agenda import REFILL, Agenda
from stockout.model.run import simulate
from stockout.scenario.load import scenario_from_dict


def take(agenda: Agenda, t: float) -> list[tuple]:
    """Everything due by ``t``, as ``Model.flush`` takes it (the marker refills)."""
    out = []
    near = agenda.near
    while near[-1][0] <= t:
        entry = near.pop()
        if entry[4] == REFILL:
            agenda.refill()
        else:
            out.append(entry)
    return out


def heap_take(heap: list[tuple], t: float) -> list[tuple]:
    out = []
    while heap and heap[0][0] <= t:
        out.append(heapq.heappop(heap))
    return out


steps = st.lists(
    st.one_of(
        # schedule some entries, d days ahead (quarter days, up to 15), a shipment's rank or
        # a deadline's (above every shipment's, and here falling as they are scheduled)
        st.tuples(st.just("push"), st.lists(st.tuples(st.integers(0, 60), st.booleans()),
                                            min_size=1, max_size=12)),
        st.tuples(st.just("advance"), st.integers(0, 20)),  # the clock moves, due entries taken
    ),
    max_size=120,
)


# (MIN_PART, MAX_PART, HEAP_FROM, HEAP_PART): the entries beyond ``near`` sorted at every
# refill, or kept in a heap once more than HEAP_FROM of them are pending (and sorted again
# below a quarter of that)
@pytest.mark.parametrize("sizes", [(1, 2, 10**9, 1), (2, 5, 10**9, 1), (4, 16, 10**9, 1),
                                   (1, 2, 4, 1), (2, 5, 12, 3), (4, 16, 40, 8)])
@settings(max_examples=150, deadline=None)
@given(script=steps)
def test_agenda_takes_entries_in_heap_order(script: list, sizes: tuple[int, ...]) -> None:
    cls = type("Small", (Agenda,), {"__slots__": ()})
    cls.MIN_PART, cls.MAX_PART, cls.HEAP_FROM, cls.HEAP_PART = sizes
    cls.NEAR_LIMIT = 2 * sizes[1] + 1
    agenda, heap = cls(), []
    now, rank = 0.0, 0
    for kind, arg in script:
        if kind == "push":
            for quarter_days, deadline in arg:
                rank += 1
                entry = (now + quarter_days / 4, 10**9 - rank if deadline else rank, None, rank, 0)
                agenda.push(entry)
                heapq.heappush(heap, entry)
        else:
            now += arg / 4
            assert take(agenda, now) == heap_take(heap, now)
        agenda.check()
        assert len(agenda) == len(heap)
        # the next entry is near[-1] (or the marker, when the entries before the bound are used)
        head = agenda.near[-1]
        assert (head[4] == REFILL) or (head == heap[0])
    assert take(agenda, now + 100) == heap_take(heap, now + 100)
    assert len(agenda) == 0


def test_an_empty_agenda_holds_the_marker_at_infinity() -> None:
    agenda = Agenda()
    assert agenda.near == [(float("inf"), -1, None, None, REFILL)]
    assert take(agenda, 1e300) == []
    agenda.push((5.0, 1, None, 1, 0))
    assert agenda.near[-1][0] == 5.0  # the marker moved to the first entry's day
    assert take(agenda, 5.0) == [(5.0, 1, None, 1, 0)]
    assert len(agenda) == 0


def test_an_entry_on_the_day_of_the_latest_near_one_goes_into_near() -> None:
    """``far`` empty, ``near`` holding entries of day 3: another entry of day 3 must be
    taken after them (its rank is larger), so it cannot start ``far`` with the marker at day 3,
    which would come before them."""
    agenda, heap = Agenda(), []
    for rank, day in enumerate([1.0, 3.0, 3.0], start=1):
        agenda.push((day, rank, None, rank, 0))
        heapq.heappush(heap, (day, rank, None, rank, 0))
    assert take(agenda, 1.0) == heap_take(heap, 1.0)  # the refill moved all three to near
    agenda.push((3.0, 4, None, 4, 0))
    heapq.heappush(heap, (3.0, 4, None, 4, 0))
    agenda.check()
    assert take(agenda, 3.0) == heap_take(heap, 3.0)


def test_entries_of_one_day_are_never_split_between_near_and_far() -> None:
    """Inserts piling up in ``near`` past its limit, all due the same day: there is nothing to
    split, and they still come out in rank order; with a later day among them, the split falls
    where the day changes."""
    cls = type("Tiny", (Agenda,), {"__slots__": ()})
    cls.MIN_PART, cls.MAX_PART, cls.NEAR_LIMIT = 1, 2, 5
    for days in ([5.0] * 12, [5.0] * 9 + [6.0] * 3, [6.0] * 3 + [5.0] * 9):
        agenda, heap = cls(), []
        agenda.push((10.0, 0, None, 0, 0))  # sets the bound: everything below is inserted
        heapq.heappush(heap, (10.0, 0, None, 0, 0))
        for rank, day in enumerate(days, start=1):
            agenda.push((day, rank, None, rank, 0))
            heapq.heappush(heap, (day, rank, None, rank, 0))
            agenda.check()
        assert take(agenda, 20.0) == heap_take(heap, 20.0)


def test_a_model_run_is_the_same_with_the_heap_engaged_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A whole run (random lead times, short patience: shipments and deadlines in the agenda,
    the kernel and the ordinary loop) gives the same results, to the last bit, whether the
    entries beyond ``near`` are sorted at every refill or kept in a heap from the start."""
    sc = scenario_from_dict({
        "scenario": {"name": "h", "horizon_days": 300, "warmup_days": 20, "seed": 5},
        "customers": {"patience_days": {"dist": "exponential", "mean": 2}},
        "products": [{
            "id": "w", "price": 10, "initial_stock": 40,
            "demand": {"orders_per_day": 30, "quantity": {"dist": "poisson", "mean": 1.5}},
            "replenishment": {"rule": "base_stock", "order_up_to": 40, "supplier": "s"},
        }],
        "suppliers": [{"id": "s", "lead_time_days": {"dist": "lognormal", "mean": 3,
                                                     "cv": 1.5}}],
        "policies": [{"name": "bo", "availability": "backorder"}],
    })
    runs = []
    for heap_from, heap_part in ((10**9, 256), (8, 4)):
        monkeypatch.setattr(Agenda, "HEAP_FROM", heap_from)
        monkeypatch.setattr(Agenda, "HEAP_PART", heap_part)
        runs.append(simulate(sc, "bo", 0))
    sorted_, heaped = runs
    assert sorted_.metrics == heaped.metrics
    for product in sorted_.series:
        np.testing.assert_array_equal(sorted_.series[product], heaped.series[product])
        np.testing.assert_array_equal(sorted_.waits[product], heaped.waits[product])
