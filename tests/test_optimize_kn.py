"""The selection procedure on synthetic systems: the guarantee is tested by its definition.

Kim & Nelson (2001), ACM TOMACS 11(3): KN selects, with probability at least 1 - α, a system
whose mean is within δ of the best, for normal outputs, under common random numbers. The
least favourable configuration for such procedures is the slippage configuration (the best is
exactly δ better than all others, which are equal): there the share of correct selections over
many independent seeds must be at least the confidence, up to binomial sampling error (a
one-sided exact binomial test at level 0.001 must not reject P(correct) >= 1 - α).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import pytest
from scipy import stats

from stockout.optimizer.kn import eta, half_width, select


class Normal:
    """k systems, outputs ``[objective, constraint slack...]``; common random numbers make
    every system share a component ``rho`` of its noise in each replication."""

    workers = 1

    def __init__(self, means: np.ndarray, sd: float, rho: float, seed: int) -> None:
        self.means = np.asarray(means, dtype=float)  # shape (k, 1 + m)
        self.sd, self.rho = sd, rho
        self.rng = np.random.default_rng(seed)
        self.shared: list[np.ndarray] = []
        self.data: dict[Hashable, list[np.ndarray]] = {i: [] for i in range(len(means))}
        self.noise: dict[Hashable, list[np.ndarray]] = {i: [] for i in range(len(means))}

    def ensure(self, wants: Mapping[Hashable, int]) -> None:
        top = max(wants.values())
        while len(self.shared) < top:
            self.shared.append(self.rng.standard_normal(self.means.shape[1]))
        for s, n in wants.items():
            rows = self.data[s]
            while len(rows) < n:
                j = len(rows)
                own = self.rng.standard_normal(self.means.shape[1])
                z = np.sqrt(self.rho) * self.shared[j] + np.sqrt(1 - self.rho) * own
                rows.append(self.means[s] + self.sd * z)  # type: ignore[index]

    def rows(self, system: Hashable) -> np.ndarray:
        return np.array(self.data[system])


def _binomial_ok(correct: int, trials: int, confidence: float) -> bool:
    """P(X <= correct) under Binomial(trials, confidence) is not below 0.001."""
    return float(stats.binom.cdf(correct, trials, confidence)) >= 0.001


def test_eta_is_kim_and_nelsons_closed_form() -> None:
    # c = 1: η = ½[(2α/(k−1))^(−2/(n0−1)) − 1] (Kim & Nelson 2001, procedure KN, step Setup)
    assert eta(0.05, 1, 10) == pytest.approx(0.5 * ((0.1) ** (-2 / 9) - 1))
    assert half_width(10.0, 4.0, 2.0, 3) == pytest.approx(10 * 4 / 4 - 3)
    assert half_width(10.0, 4.0, 2.0, 100) == 0.0


@pytest.mark.parametrize("rho", [0.0, 0.8])
def test_share_of_correct_selections_in_the_slippage_configuration(rho: float) -> None:
    k, delta, sd, seeds, confidence = 5, 1.0, 2.0, 300, 0.95
    means = np.zeros((k, 1))
    means[2, 0] = delta  # system 2 is best, by exactly δ
    correct = 0
    for seed in range(seeds):
        out = select(Normal(means, sd, rho, seed), list(range(k)), delta=delta,
                     alpha_select=1 - confidence, alpha_feasible=0.0, tolerances=[], n0=10)
        correct += out.selected == 2
        assert not out.capped
    assert _binomial_ok(correct, seeds, confidence), f"{correct}/{seeds} correct"


def test_crn_saves_replications() -> None:
    """Positive correlation shrinks the variance of the differences, hence the sample sizes."""
    means = np.array([[0.0], [0.5], [1.0]])
    used = {}
    for rho in (0.0, 0.9):
        total = 0
        for seed in range(40):
            out = select(Normal(means, 2.0, rho, seed), [0, 1, 2], delta=0.5,
                         alpha_select=0.05, alpha_feasible=0.0, tolerances=[], n0=10)
            total += sum(out.used.values())
        used[rho] = total
    assert used[0.9] < 0.5 * used[0.0]


def test_constrained_selection_skips_an_infeasible_best() -> None:
    """Andradóttir & Kim (2010): correct = not unacceptable and within δ of the best desirable.
    System 0 has the best objective but violates the constraint by its tolerance ε (so it is
    unacceptable); system 1 is desirable and δ better than the rest."""
    eps, delta, seeds, confidence = 0.5, 1.0, 200, 0.95
    means = np.array([[3.0, eps], [1.0, -eps], [0.0, -eps], [0.0, -eps], [0.0, -2 * eps]])
    correct = 0
    for seed in range(seeds):
        out = select(Normal(means, 2.0, 0.5, seed), list(range(5)), delta=delta,
                     alpha_select=(1 - confidence) / 2, alpha_feasible=(1 - confidence) / 2,
                     tolerances=[eps], n0=10)
        correct += out.selected == 1
    assert _binomial_ok(correct, seeds, confidence), f"{correct}/{seeds} correct"


def test_nothing_feasible_is_reported() -> None:
    means = np.array([[1.0, 2.0], [0.0, 3.0]])
    out = select(Normal(means, 0.5, 0.5, 1), [0, 1], delta=0.5, alpha_select=0.025,
                 alpha_feasible=0.025, tolerances=[0.1], n0=10)
    assert out.selected is None
    assert out.feasible == {0: False, 1: False}


def test_a_cap_on_replications_is_reported() -> None:
    means = np.array([[0.0], [0.001]])
    out = select(Normal(means, 5.0, 0.0, 3), [0, 1], delta=0.01, alpha_select=0.05,
                 alpha_feasible=0.0, tolerances=[], n0=10, max_reps=50)
    assert out.capped and out.selected in (0, 1)


# ---------------------------------------------------------------------------------------------
# The whole search (bisection, neighbourhood search, final selection) on a synthetic grid
# ---------------------------------------------------------------------------------------------

from stockout.optimizer.evaluate import BLOCK, Evaluator, Tally  # noqa: E402
from stockout.optimizer.search import Grid, Settings, search_policy  # noqa: E402
from stockout.optimizer.space import (  # noqa: E402
    Constraint,
    Objective,
    SearchSpec,
    Target,
)


class Synthetic(Evaluator):
    """An evaluator whose replications come from a formula, not the simulator: replication j of
    a candidate is ``mean(c) + noise_j`` with a noise shared by all candidates (CRN) plus an own
    part, so the search logic runs exactly as on the simulator, in milliseconds."""

    def __init__(self, targets: list[Target], mean, objective: Objective,  # noqa: ANN001
                 constraints: list[Constraint], sd: np.ndarray, seed: int) -> None:
        self.targets, self.objective, self.constraints = targets, objective, constraints
        self.mean, self.sd, self.seed = mean, sd, seed
        self.workers, self.tally, self.on_progress = 1, Tally(), None
        self._raw, self._used, self._variants = {}, {}, {}

    def valid(self, candidate) -> bool:  # noqa: ANN001
        return True

    def _run(self, missing) -> None:  # noqa: ANN001
        for (cand, block), reps in missing:
            for j in reps:
                rng = np.random.default_rng([self.seed, block * BLOCK + j])
                shared = rng.standard_normal(len(self.sd))
                own = np.random.default_rng([self.seed, block * BLOCK + j, *cand]
                                            ).standard_normal(len(self.sd))
                value = self.mean(cand) + self.sd * (0.8 * shared + 0.6 * own)
                self._raw.setdefault((cand, block), {})[j] = value
                self.tally.runs += 1


def _target(path: str, lo: int, hi: int) -> Target:
    return Target(SearchSpec(path, lo, hi), "w", path.rsplit(".", 1)[-1])


def test_share_of_correct_selections_of_the_neighbourhood_search() -> None:
    """A concave objective on a 15 × 15 grid (unimodal: the local search's assumption), best
    at (9, 5), its neighbours δ worse at least: the whole search must select a point within δ of
    the best in at least 95% of seeds (binomial margin)."""
    targets = [_target("a.reorder_point", 0, 14), _target("a.order_quantity", 0, 14)]
    delta, seeds = 1.0, 60

    def mean(c: tuple[int, ...]) -> np.ndarray:
        return np.array([-1.0 * ((c[0] - 9) ** 2 + (c[1] - 5) ** 2)])

    correct = 0
    for seed in range(seeds):
        ev = Synthetic(targets, mean, Objective("gross_profit", True), [], np.array([3.0]),
                       seed)
        found = search_policy(ev, Grid(targets), Settings(delta, exhaustive=0), (2, 12))
        assert "neighbourhood" in found.method
        correct += float(mean(found.selected)[0]) >= -delta
    assert _binomial_ok(correct, seeds, 0.95), f"{correct}/{seeds} correct"


def test_share_of_correct_selections_with_bisection() -> None:
    """A fill rate rising with the level (threshold 12 for 0.9 within ε) and a cost rising with
    it: the best is the smallest level that is not unacceptable and within δ of the cheapest
    desirable one."""
    targets = [_target("a.order_up_to", 0, 40)]
    eps, delta, seeds = 0.02, 1.0, 60

    def fill(s: int) -> float:
        return min(1.0, 0.5 + 0.035 * s)

    def mean(c: tuple[int, ...]) -> np.ndarray:
        return np.array([2.0 * c[0], fill(c[0])])

    con = Constraint("fill_rate", ">=", 0.9, eps)
    desirable = [s for s in range(41) if fill(s) >= 0.9 + eps]
    correct = 0
    for seed in range(seeds):
        ev = Synthetic(targets, mean, Objective("storage_cost", False), [con],
                       np.array([2.0, 0.03]), seed)
        found = search_policy(ev, Grid(targets), Settings(delta, exhaustive=50), (30,))
        assert "bisection" in found.method
        (s,) = found.selected
        correct += fill(s) >= 0.9 - eps and 2.0 * s <= 2.0 * min(desirable) + delta
    assert _binomial_ok(correct, seeds, 0.95), f"{correct}/{seeds} correct"
