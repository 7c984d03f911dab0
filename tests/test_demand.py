"""Demand candidates: the thinned Poisson process has the rate the scenario asks for.

Candidates are drawn day by day at an upper bound of the rate and thinned to it
(``model/demand.py``). A bound that fell below the rate anywhere would lose demand there, so the
orders kept are compared with the rate's integral, computed in closed form: over day d the
seasonal factor 1 + A·cos(2π(t − peak)/P) integrates to
1 + A·P/(2π)·[sin(2π(d + 1 − peak)/P) − sin(2π(d − peak)/P)]. The count of orders in a set of
days is Poisson with that mean; each check allows 4.5 standard deviations (a false alarm about
once in 150,000 checks).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario

from stockout.model import Model
from stockout.scenario.schema import Scenario

DAYS = 100_000
BASE = 6.0
WEEKDAY = [1.0, 1.0, 1.2, 1.0, 0.8, 1.5, 0.5]


def expected_per_day(amplitude: float, period: float, peak: float) -> np.ndarray:
    d = np.arange(DAYS, dtype=float)
    k = 2 * np.pi / period
    season = 1 + amplitude / k * (np.sin(k * (d + 1 - peak)) - np.sin(k * (d - peak)))
    return BASE * season * np.asarray(WEEKDAY)[np.arange(DAYS) % 7]


@pytest.mark.parametrize(("amplitude", "period", "peak"), [
    (0.9, 365.0, 40.0),  # a yearly season, nearly switched off at its trough
    (0.6, 9.5, 3.3),  # a short period: peaks fall at every fraction of a day
    (1.0, 0.7, 0.2),  # a period shorter than a day: every day holds a peak
])
def test_orders_follow_the_seasonal_rate(amplitude: float, period: float, peak: float) -> None:
    data = make_scenario(orders_per_day=BASE, horizon_days=DAYS, product={"demand": {
        "seasonality": {"amplitude": amplitude, "period_days": period, "peak_day": peak,
                        "weekday": WEEKDAY}}})
    model = Model(Scenario.model_validate(data), "p", 0)
    (_, candidates), = model.demand
    times = np.concatenate([c[1] for c in candidates.chunk_arrays(prethin=True)])
    counts = np.bincount(times.astype(np.int64), minlength=DAYS)
    mean = expected_per_day(amplitude, period, peak)
    # in all, and in eight parts of the season's cycle (where a bound too low would show)
    phase = ((np.arange(DAYS) + 0.5 - peak) / period) % 1.0
    groups = [np.ones(DAYS, dtype=bool)] + [
        (phase >= i / 8) & (phase < (i + 1) / 8) for i in range(8)
    ]
    for group in groups:
        got, want = counts[group].sum(), mean[group].sum()
        assert abs(got - want) <= 4.5 * math.sqrt(want), (got, want)


def test_pieces_hold_at_most_the_limit_and_cover_the_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockout.model import demand

    monkeypatch.setattr(demand, "MAX_CANDIDATES", 100)
    rng = np.random.default_rng(3)
    for _ in range(200):
        counts = rng.poisson(rng.choice([0.5, 20.0, 90.0, 250.0]), size=int(rng.integers(1, 60)))
        got = demand.pieces(counts)
        assert got[0][0] == 0 and got[-1][1] == len(counts)
        assert all(b1 == a2 for (_, b1), (a2, _) in zip(got, got[1:], strict=False))
        for a, b in got:
            assert b > a
            assert counts[a:b].sum() <= 100 or b == a + 1  # a day with more is a piece alone
        if counts.sum() <= 100:
            assert got == [(0, len(counts))]  # within the limit: the chunk whole, as before


@pytest.mark.parametrize("products", [1, 3])
def test_a_high_rate_is_drawn_in_bounded_pieces_at_the_right_rate(
    monkeypatch: pytest.MonkeyPatch, products: int,
) -> None:
    """A rate of thousands of orders a day held hundreds of days of candidates in memory at
    once (gigabytes at 10^5 a day). With the limit lowered to 2,000 candidates, every piece
    holds at most that many (plus one day's), across all products together, and the orders
    are still Poisson with the scenario's rate, in time order."""
    from stockout.model import demand

    monkeypatch.setattr(demand, "MAX_CANDIDATES", 2_000)
    rate, days = 300.0, 200
    data = make_scenario(orders_per_day=rate, horizon_days=days)
    data["products"] += [
        {"id": f"x{i}", "price": 1, "initial_stock": 10, "demand": {"orders_per_day": rate}}
        for i in range(products - 1)
    ]
    model = Model(Scenario.model_validate(data), "p", 0)
    assert len(model.demand) == products
    for _, candidates in model.demand:  # each product at its own rate, in time order
        pieces = list(candidates.chunk_arrays(prethin=True))
        sizes = [len(p[1]) for p in pieces]
        assert len(pieces) > 10 and max(sizes) <= 2_000 + rate + 6 * math.sqrt(rate)
        times = np.concatenate([p[1] for p in pieces])
        assert np.all(np.diff(times) >= 0) and times[0] >= 0 and times[-1] < days
        want = rate * days
        assert abs(len(times) - want) <= 4.5 * math.sqrt(want), (len(times), want)


def brute_multiplier(windows: list[tuple[float, float, float]], t: float) -> float:
    m = 1.0
    for start, end, value in windows:
        if start <= t < end:
            m *= max(value, 1.0)
    return m


@pytest.mark.parametrize("seed", range(6))
def test_spike_bound_is_the_largest_product_in_force_each_day(seed: int) -> None:
    """Against brute force at the day's start and at every window edge in the day (the product
    changes only there): the bound of a day is the largest product of the multipliers (above 1)
    in force in it, never the product of every window touching it."""
    from stockout.model.windows import SpikeBound

    rng = np.random.default_rng(seed)
    windows = []
    for _ in range(int(rng.integers(1, 40))):
        start = float(rng.uniform(0, 30))
        length = float(rng.choice([1e-6, 0.05, 0.7, 3.0, 12.0]))
        windows.append((start, start + length, float(rng.choice([0.0, 0.5, 2.0, 3.5, 50.0]))))
    windows.sort()
    got = SpikeBound(windows).bound(0, 45)
    for d in range(45):
        points = [d] + [x for a, b, _ in windows for x in (a, b) if d <= x < d + 1]
        want = max([1.0] + [brute_multiplier(windows, x) for x in points])
        assert got[d] == pytest.approx(want, rel=1e-12), (d, got[d], want)


def test_many_short_spikes_in_a_day_do_not_multiply_the_bound() -> None:
    """Seven ×50 spikes of a second each, one after another, in one day: the rate is at most
    50 times the base at any moment, so is the bound (it was 50^7, and drawing that many
    candidates asked for 466 GiB)."""
    from stockout.model.windows import SpikeBound

    windows = [(3.1 + 0.01 * i, 3.1 + 0.01 * i + 1e-5, 50.0) for i in range(7)]
    bound = SpikeBound(windows).bound(0, 10)
    assert bound[3] == 50.0 and np.all(np.delete(bound, 3) == 1.0)


def test_orders_follow_the_spikes() -> None:
    """Orders inside scheduled spikes (one ×3, one ×0.5, two overlapping ×2 and ×4 = ×8) and
    outside them, against the rate's integral; 4.5 standard deviations."""
    days = 4_000
    spikes = [{"start_day": 100.25, "end_day": 900.75, "multiplier": 3.0},
              {"start_day": 1000.0, "end_day": 1800.0, "multiplier": 0.5},
              {"start_day": 2000.5, "end_day": 2600.5, "multiplier": 2.0},
              {"start_day": 2300.5, "end_day": 2900.5, "multiplier": 4.0}]
    data = make_scenario(orders_per_day=BASE, horizon_days=days,
                         product={"demand": {"spikes": spikes}})
    model = Model(Scenario.model_validate(data), "p", 0)
    (_, candidates), = model.demand
    times = np.concatenate([c[1] for c in candidates.chunk_arrays(prethin=True)])
    for a, b, m in [(100.25, 900.75, 3.0), (1000.0, 1800.0, 0.5), (2000.5, 2300.5, 2.0),
                    (2300.5, 2600.5, 8.0), (2600.5, 2900.5, 4.0), (3000.0, 4000.0, 1.0)]:
        got, want = np.count_nonzero((times >= a) & (times < b)), BASE * m * (b - a)
        assert abs(got - want) <= 4.5 * math.sqrt(want), (a, b, got, want)


@pytest.mark.parametrize("products", [1, 2])
def test_candidates_dropped_in_numpy_are_never_orders(
    products: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Candidates whose threshold reaches the untouched population are dropped before the run
    (``DemandCandidates._population_bound``): no policy's population can make them orders, so a
    run that keeps every candidate gives exactly the same result. The population here moves a
    lot (acquisition, background churn, churn on every stock-out), so the real population lies
    well below the untouched one and the live test rejects many candidates too."""
    from stockout.model import demand, simulate

    data = make_scenario(
        orders_per_day=8.0, order_up_to=6, horizon_days=120.0, availability="out_of_stock",
        lead_time_days={"dist": "exponential", "mean": 2.0},
        product={"demand": {"seasonality": {"amplitude": 0.5, "period_days": 30}}},
        extra={"customers": {"population": 400, "acquisition_per_day": 2.0,
                             "churn": {"on_stockout": 0.5, "background_per_year": 3.0}}},
    )
    data["products"] += [{**data["products"][0], "id": f"x{i}"} for i in range(products - 1)]
    scenario = Scenario.model_validate(data)

    def candidates() -> int:
        model = Model(scenario, "p", 0)
        return sum(len(piece[1]) for _, c in model.demand for piece in c.chunk_arrays())

    filtered, filtered_count = simulate(scenario, "p", 0), candidates()
    monkeypatch.setattr(demand.DemandCandidates, "_population_bound", lambda self, d: np.inf)
    kept, kept_count = simulate(scenario, "p", 0), candidates()
    assert filtered_count < 0.98 * kept_count  # the filter has work to do
    assert kept.metrics["all"]["orders"] < 0.8 * kept_count  # and so has the live test
    for pid, metrics in filtered.metrics.items():
        np.testing.assert_array_equal(list(metrics.values()), list(kept.metrics[pid].values()))
    for pid, series in filtered.series.items():
        np.testing.assert_array_equal(series, kept.series[pid])


def test_a_vanishing_rate_within_a_day_is_never_an_order() -> None:
    """A monthly factor of 1e-320 (subnormal) for January next to 1 for February: on the day
    the month changes, January's candidates have a ratio of rate to bound near 1e-320, and the
    population they need overflows to infinity: never an order, and no floating-point error."""
    from stockout.model import simulate

    monthly = [1e-320] + [1.0] * 11
    data = make_scenario(
        orders_per_day=50.0, horizon_days=40.0,
        product={"demand": {"seasonality": {"monthly": monthly}}},
        extra={"customers": {"population": 1000, "churn": {"on_stockout": 0.2}}},
    )
    result = simulate(Scenario.model_validate(data), "p", 0)
    # January (30.4 days) sells nothing; February's 9.6 days sell about 480
    assert 480 - 5 * math.sqrt(480) < result.metrics["all"]["orders"] < 480 + 5 * math.sqrt(480)
