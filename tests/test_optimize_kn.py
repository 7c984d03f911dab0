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
