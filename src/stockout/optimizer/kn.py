"""Fully sequential selection of the best system under common random numbers, with constraints.

The selection is Kim & Nelson's procedure KN (Kim & Nelson 2001, ACM TOMACS 11(3), 251-273): a
first stage of ``n0`` replications of every system estimates the variance of each *paired
difference* (so the positive correlation that common random numbers create shrinks it); then one
replication per surviving system at a time, and system i is eliminated as soon as, for some
surviving l, the sum of the differences ``sum_j (X_ij - X_lj)`` drops below ``-R(r)``::

    R(r) = max(0, h² S²_il / (2 δ) - δ r / 2),   h² = 2 η (n0 - 1),
    η = ½ [(2 α / (k - 1))^(-2 / (n0 - 1)) - 1]

Feasibility of each constraint ``E[Y] <= q`` is decided by the sequential check of Batur & Kim
(2010, ACM TOMACS 20(3)) as used inside Andradóttir & Kim's procedure for constrained selection
(2010, Naval Research Logistics 57(5), 403-421): the sum ``sum_j (Y_ij - q)`` is compared with
``±R(r)`` built the same way from the tolerance ε and the variance of Y. A system is eliminated
only by a system already shown feasible; an infeasible system leaves. With probability at least
``1 - α_select - α_feasible`` the chosen system is not unacceptable (no constraint violated by
more than its tolerance) and its mean is within δ of the best desirable system (each constraint
met with room ε), assuming normal (or nearly normal: means of long runs) outputs, independent
across replications. The procedure never needs more than ``max(h² S²/δ²) + 1`` replications
(and ``h² S²/ε²`` for a check); a cap below that is reported (the guarantee is then void).

Everything here is pure: data come from a :class:`Sampler`, which the caller backs with the
simulator on any executor. Decisions at stage r use the first r replications only, so they are
the same whatever the sampler does ahead (parallel work) - hence on one worker or many.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class Sampler(Protocol):
    """Replications of systems, each a row ``[objective, constraint_1 - q_1, ...]`` where the
    objective is to be maximised and each constraint is met when its mean is at most 0."""

    workers: int

    def ensure(self, wants: Mapping[Hashable, int]) -> None:
        """Have at least ``wants[s]`` replications of each system ``s``."""

    def rows(self, system: Hashable) -> np.ndarray:
        """All replications of ``system`` so far, shape (n, 1 + constraints)."""


def eta(alpha: float, pairs: int, n0: int) -> float:
    """Kim & Nelson's η for an error ``alpha`` shared by ``pairs`` comparisons (k - 1 systems
    against the best, or 1 for a check against a standard).

    >>> round(eta(0.05, 9, 10), 4)
    0.8591
    """
    return 0.5 * ((2.0 * alpha / pairs) ** (-2.0 / (n0 - 1)) - 1.0)


def half_width(h2: float, s2: float, zone: float, r: int) -> float:
    """The continuation region's half-width in sums: max(0, h² S² / (2 zone) - zone r / 2)."""
    return max(0.0, h2 * s2 / (2.0 * zone) - zone * r / 2.0)


@dataclass
class Outcome:
    """What the procedure decided.

    ``selected`` is None when every system was shown infeasible. ``used[s]`` is the stage at
    which system s left (or the last stage), ``feasible[s]`` True/False once decided (None when
    it left before), ``status[s]`` selected, eliminated or infeasible. ``capped``: the cap on
    replications was hit before the procedure ended, so the best sample mean was taken.
    """

    selected: Hashable | None
    used: dict[Hashable, int] = field(default_factory=dict)
    feasible: dict[Hashable, bool | None] = field(default_factory=dict)
    status: dict[Hashable, str] = field(default_factory=dict)
    capped: bool = False


@dataclass
class _State:
    alive: list[Hashable]
    sums: dict[Hashable, np.ndarray]
    s2_pair: dict[tuple[Hashable, Hashable], float]
    s2_con: dict[Hashable, np.ndarray]
    decided: dict[Hashable, list[bool | None]]


def select(
    sampler: Sampler,
    systems: Sequence[Hashable],
    *,
    delta: float,
    alpha_select: float,
    alpha_feasible: float,
    tolerances: Sequence[float],
    n0: int = 10,
    max_reps: int = 2000,
    skip: Sequence[int] = (),
) -> Outcome:
    """Run KN with feasibility checks on ``systems``; constraints listed in ``skip`` are taken as
    met (shown elsewhere, e.g. by bisection) and not checked."""
    if n0 < 2:
        raise ValueError("the first stage needs at least 2 replications")
    k, m = len(systems), len(tolerances)
    checked = [c for c in range(m) if c not in skip]
    h2_sel = 2 * eta(alpha_select, k - 1, n0) * (n0 - 1) if k > 1 else 0.0
    h2_feas = (2 * eta(alpha_feasible / (k * len(checked)), 1, n0) * (n0 - 1)
               if checked else 0.0)
    sampler.ensure({s: n0 for s in systems})
    state = _first_stage(sampler, systems, n0, checked, m)
    out = Outcome(selected=None)
    r = n0
    while True:
        _check_feasibility(state, out, r, h2_feas, tolerances, checked)
        _eliminate(state, out, r, h2_sel, delta)
        done = _finished(state, out, r, h2_sel, h2_feas, delta, tolerances, checked)
        if done or r >= max_reps:
            out.capped = not done
            return _conclude(state, out, r)
        r += 1
        ahead = max(1, math.ceil(2 * sampler.workers / len(state.alive)))
        sampler.ensure({s: min(r + ahead - 1, max_reps) for s in state.alive})
        for s in state.alive:
            state.sums[s] += sampler.rows(s)[r - 1]


def _first_stage(
    sampler: Sampler, systems: Sequence[Hashable], n0: int, checked: list[int], m: int
) -> _State:
    data = {s: np.asarray(sampler.rows(s)[:n0], dtype=float) for s in systems}
    s2_pair: dict[tuple[Hashable, Hashable], float] = {}
    for i in systems:
        for j in systems:
            if i != j:
                s2_pair[(i, j)] = float(np.var(data[i][:, 0] - data[j][:, 0], ddof=1))
    return _State(
        alive=list(systems),
        sums={s: data[s].sum(axis=0) for s in systems},
        s2_pair=s2_pair,
        s2_con={s: np.var(data[s][:, 1:], axis=0, ddof=1) for s in systems},
        decided={s: [True if c not in checked else None for c in range(m)] for s in systems},
    )


def _check_feasibility(
    state: _State, out: Outcome, r: int, h2: float, tolerances: Sequence[float],
    checked: list[int],
) -> None:
    for s in list(state.alive):
        for c in checked:
            if state.decided[s][c] is not None:
                continue
            total = float(state.sums[s][1 + c])
            bound = half_width(h2, float(state.s2_con[s][c]), tolerances[c], r)
            if total <= -bound and (bound > 0 or total <= 0):
                state.decided[s][c] = True
            elif total >= bound:
                state.decided[s][c] = False
        if False in state.decided[s]:
            state.alive.remove(s)
            out.used[s], out.feasible[s], out.status[s] = r, False, "infeasible"


def _feasible(state: _State, s: Hashable) -> bool:
    return all(d is True for d in state.decided[s])


def _eliminate(state: _State, out: Outcome, r: int, h2: float, delta: float) -> None:
    """KN's screening at stage r (against the survivors at the start of the stage)."""
    judges = [s for s in state.alive if _feasible(state, s)]
    gone = []
    for i in state.alive:
        for j in judges:
            if j == i:
                continue
            diff = float(state.sums[i][0] - state.sums[j][0])
            if diff < -half_width(h2, state.s2_pair[(i, j)], delta, r):
                gone.append(i)
                break
    for i in gone:
        state.alive.remove(i)
        out.used[i], out.status[i] = r, "eliminated"
        out.feasible[i] = True if _feasible(state, i) else None


def _finished(
    state: _State, out: Outcome, r: int, h2_sel: float, h2_feas: float, delta: float,
    tolerances: Sequence[float], checked: list[int],
) -> bool:
    """One feasible survivor left, none left, or every region closed (ties: best mean)."""
    if not state.alive:
        return True
    if len(state.alive) == 1 and _feasible(state, state.alive[0]):
        return True
    open_pairs = any(
        half_width(h2_sel, state.s2_pair[(i, j)], delta, r) > 0
        for i in state.alive for j in state.alive if i != j
    )
    undecided = any(d is None for s in state.alive for d in state.decided[s])
    return not open_pairs and not undecided


def _conclude(state: _State, out: Outcome, r: int) -> Outcome:
    """The survivor with the best mean among those shown (or, if capped, estimated) feasible."""
    def mean_slack_ok(s: Hashable) -> bool:
        return all(d is True or (d is None and state.sums[s][1 + c] <= 0)
                   for c, d in enumerate(state.decided[s]))

    pool = [s for s in state.alive if (_feasible(state, s) or (out.capped and mean_slack_ok(s)))]
    best = max(pool, key=lambda s: float(state.sums[s][0])) if pool else None
    for s in state.alive:
        out.used[s] = r
        out.feasible[s] = True if _feasible(state, s) else (
            None if all(d is not False for d in state.decided[s]) else False)
        out.status[s] = "selected" if s == best else "eliminated"
    out.selected = best
    return out
