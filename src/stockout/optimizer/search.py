"""How the candidates of one policy are searched: KN over all of them when they are few; else a
local search over the integer neighbourhood ending in a KN selection among the best
neighbourhood; and, for one stock level under a fill-rate constraint, bisection first.

* **Bisection** (one stock level, a constraint ``fill_rate >= q`` or ``unit_fill_rate >= q``):
  more stock never lowers the fill rate of a replication under common random numbers (the same
  customers meet at least as much stock), so the feasible levels are those at or above a
  threshold. Each probe is a sequential feasibility check; below the threshold nothing is run.
* **Neighbourhood search** (in the spirit of R-SPLINE, Wang, Pasupathy & Schmeiser 2013, and
  COMPASS, Hong & Nelson 2006): from the best of the current level and a coarse grid, move to
  the best of the point and its neighbours
  (one step along each axis) by the sample mean of a common set of replications; when no
  neighbour is better, double the replications and look again (retrospective rounds). Then KN
  (with fresh replications) picks the best of the final point and its whole box of neighbours;
  if that is not the centre, the box moves there and is selected from again.

The guarantee covers the final KN selection: the set it chose from contains the optimum when the
objective is unimodal on the grid (true of the classic cost functions: base stock, (r, Q),
newsvendor); otherwise the result is a local optimum, as with any local search.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .evaluate import BISECT, SEARCH, SELECT, Candidate, Evaluator, System
from .kn import Outcome, select
from .space import MONOTONE_METRICS, Constraint, Target

#: Retrospective rounds of the neighbourhood search (replications n0, 2 n0, 4 n0).
ROUNDS = 3
#: Moves per round at most (a bound on a walk across the grid).
MAX_MOVES = 200
#: Times the final box may move to a better neighbour before the search stops.
MAX_RECENTRE = 4
#: Values per axis of the coarse grid the neighbourhood search starts from.
COARSE = 5


@dataclass(frozen=True)
class Settings:
    delta: float
    confidence: float = 0.95
    n0: int = 10
    max_reps: int = 2000
    exhaustive: int = 30

    @property
    def alpha(self) -> float:
        return 1.0 - self.confidence


@dataclass
class PolicySearch:
    """What the search of one policy found."""

    selected: Candidate | None
    closest: Candidate | None  # when nothing is feasible: the least violating candidate
    runner_up: Candidate | None
    method: str
    guaranteed: bool
    final: list[Candidate] = field(default_factory=list)
    status: dict[Candidate, str] = field(default_factory=dict)
    feasible: dict[Candidate, bool | None] = field(default_factory=dict)


class Grid:
    """The searched values: a candidate is a tuple of values, one per parameter."""

    def __init__(self, targets: Sequence[Target]) -> None:
        self.targets = list(targets)
        self.axes = [t.spec.values for t in targets]

    def all(self) -> list[Candidate]:
        return [tuple(c) for c in itertools.product(*self.axes)]

    def size(self) -> int:
        return math.prod(len(a) for a in self.axes)

    def nearest(self, values: Sequence[int]) -> Candidate:
        return tuple(min(axis, key=lambda v, x=x: (abs(v - x), v))
                     for axis, x in zip(self.axes, values, strict=True))

    def neighbours(self, c: Candidate, box: bool = False) -> list[Candidate]:
        """One step along each axis (box: every combination of -1, 0, +1 steps)."""
        index = [axis.index(v) for axis, v in zip(self.axes, c, strict=True)]
        moves = (itertools.product((-1, 0, 1), repeat=len(c)) if box else
                 (tuple(s if a == b else 0 for a in range(len(c)))
                  for b in range(len(c)) for s in (-1, 1)))
        out = []
        for move in moves:
            new = [i + d for i, d in zip(index, move, strict=True)]
            if any(m != 0 for m in move) and all(0 <= n < len(a) for n, a in
                                                 zip(new, self.axes, strict=True)):
                out.append(tuple(a[n] for a, n in zip(self.axes, new, strict=True)))
        return out


def search_policy(
    ev: Evaluator, grid: Grid, settings: Settings, start: Candidate
) -> PolicySearch:
    """Search one policy's candidates (see the module's docstring)."""
    alpha = settings.alpha
    cons = ev.constraints
    alpha_sel, alpha_feas = (alpha / 2, alpha / 2) if cons else (alpha, 0.0)
    skip: list[int] = []
    status: dict[Candidate, str] = {}
    method = []
    mono = _monotone_constraint(grid, cons)
    if mono is not None:
        steps = math.ceil(math.log2(len(grid.axes[0]) + 1)) + 1
        others = len(cons) > 1
        beta = alpha_feas / 2 if others else alpha_feas
        threshold = _bisect(ev, grid, settings, mono, beta / steps, status)
        method.append(f"bisection on {cons[mono].label}")
        if threshold is None:
            return _nothing_feasible(ev, status, " + ".join(method))
        grid = _restricted(grid, threshold)
        skip = [mono]
        alpha_feas = alpha_feas / 2 if others else 0.0
        start = grid.nearest([max(start[0], threshold)])
    valid = [c for c in grid.all() if ev.valid(c)] if grid.size() <= settings.exhaustive else []
    if valid or grid.size() <= settings.exhaustive:
        if not valid:
            return _nothing_feasible(ev, status, "no valid candidate")
        method.append(f"KN over all {len(valid)} candidates")
        outcome = _kn(ev, valid, SELECT, settings, alpha_sel, alpha_feas, skip)
        return _result(ev, outcome, valid, SELECT, status, " + ".join(method), settings)
    start = _coarse_start(ev, grid, settings, _valid_start(ev, grid, start), status)
    centre = _walk(ev, grid, settings, start, status)
    method.append("neighbourhood search + KN over the best neighbourhood")
    for round_ in range(MAX_RECENTRE + 1):
        box = [centre] + [c for c in grid.neighbours(centre, box=True) if ev.valid(c)]
        outcome = _kn(ev, box, SELECT + round_, settings, alpha_sel, alpha_feas, skip)
        winner = outcome.selected[0] if outcome.selected is not None else None  # type: ignore[index]
        if winner is None or winner == centre or round_ == MAX_RECENTRE:
            return _result(ev, outcome, box, SELECT + round_, status, " + ".join(method),
                           settings)
        for c in box:
            status.setdefault(c, "searched")
        centre = winner
    raise AssertionError("unreachable")


def _monotone_constraint(grid: Grid, cons: Sequence[Constraint]) -> int | None:
    if len(grid.targets) != 1 or not grid.targets[0].monotone:
        return None
    for i, c in enumerate(cons):
        if c.metric in MONOTONE_METRICS and c.sense == ">=":
            return i
    return None


def _restricted(grid: Grid, threshold: int) -> Grid:
    narrowed = Grid(grid.targets)
    narrowed.axes = [[v for v in grid.axes[0] if v >= threshold]]
    return narrowed


def _kn(ev: Evaluator, systems: list[Candidate], block: int, settings: Settings,
        alpha_sel: float, alpha_feas: float, skip: Sequence[int]) -> Outcome:
    keyed: list[System] = [(c, block) for c in systems]
    outcome = select(
        ev, keyed, delta=settings.delta, alpha_select=alpha_sel, alpha_feasible=alpha_feas,
        tolerances=[c.tolerance for c in ev.constraints], n0=settings.n0,
        max_reps=settings.max_reps, skip=skip,
    )
    ev.mark_used(outcome.used)
    return outcome


def _bisect(ev: Evaluator, grid: Grid, settings: Settings, con: int, beta: float,
            status: dict[Candidate, str]) -> int | None:
    """The smallest value whose check says feasible (None: even the largest is not)."""
    axis = grid.axes[0]
    skip = [c for c in range(len(ev.constraints)) if c != con]
    lo, hi = 0, len(axis) - 1

    def feasible(i: int) -> bool:
        cand = (axis[i],)
        if not ev.valid(cand):
            return False
        outcome = select(ev, [(cand, BISECT)], delta=settings.delta, alpha_select=0.0,
                         alpha_feasible=beta, tolerances=[c.tolerance for c in ev.constraints],
                         n0=settings.n0, max_reps=settings.max_reps, skip=skip)
        ev.mark_used(outcome.used)
        ok = outcome.selected is not None
        status[cand] = "bisection: feasible" if ok else "bisection: infeasible"
        return ok

    if not feasible(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if feasible(mid):
            hi = mid
        else:
            lo = mid + 1
    return axis[hi]


def _valid_start(ev: Evaluator, grid: Grid, start: Candidate) -> Candidate:
    if ev.valid(start):
        return start
    ranked = sorted(grid.all(), key=lambda c: sum(abs(a - b) for a, b in zip(c, start,
                                                                               strict=True)))
    for c in ranked:
        if ev.valid(c):
            return c
    raise ValueError("no valid candidate")


def _score(ev: Evaluator, c: Candidate, n: int) -> tuple[float, float]:
    """(violation of the constraints by sample mean, -objective mean): smaller is better."""
    rows = ev.rows((c, SEARCH))[:n]
    means = rows.mean(axis=0)
    violation = sum(max(0.0, float(means[1 + i])) / con.tolerance
                    for i, con in enumerate(ev.constraints))
    return violation, -float(means[0])


def _coarse_start(ev: Evaluator, grid: Grid, settings: Settings, start: Candidate,
                  status: dict[Candidate, str]) -> Candidate:
    """The best of the current level and a coarse grid (up to COARSE values an axis, ends
    included) by the sample means of n0 common replications: where the walk begins, so it need
    not crawl across a wide range and is less likely to stop on a far local optimum."""
    axes = [sorted({axis[round(i * (len(axis) - 1) / (COARSE - 1))] for i in range(COARSE)})
            for axis in grid.axes]
    points = [start] + [c for c in itertools.product(*axes) if c != start and ev.valid(c)]
    ev.ensure({(c, SEARCH): settings.n0 for c in points})
    for c in points:
        status.setdefault(c, "searched")
    return min(points, key=lambda c: _score(ev, c, settings.n0))


def _walk(ev: Evaluator, grid: Grid, settings: Settings, start: Candidate,
          status: dict[Candidate, str]) -> Candidate:
    """Retrospective neighbourhood moves on common replications (block SEARCH)."""
    x, n = start, settings.n0
    for _ in range(ROUNDS):
        for _ in range(MAX_MOVES):
            around = [x] + [c for c in grid.neighbours(x) if ev.valid(c)]
            ev.ensure({(c, SEARCH): n for c in around})
            for c in around:
                status.setdefault(c, "searched")
            best = min(around, key=lambda c: _score(ev, c, n))
            ev.tally.best = (best, -_score(ev, best, n)[1] * ev.objective.sign)
            if best == x:
                break
            x = best
        n *= 2
    return x


def _nothing_feasible(ev: Evaluator, status: dict[Candidate, str], method: str) -> PolicySearch:
    """No candidate passed: the one closest to feasible by its sample means, for the record."""
    seen = {}
    for (cand, _), raw in ev.systems().items():
        if len(raw):
            seen.setdefault(cand, []).append(ev.transform(raw))
    def violation(c: Candidate) -> float:
        means = np.concatenate(seen[c]).mean(axis=0)
        return sum(max(0.0, float(means[1 + i])) / con.tolerance
                   for i, con in enumerate(ev.constraints))
    closest = min(seen, key=violation) if seen else None
    return PolicySearch(None, closest, None, method, True, [], status,
                        {c: False for c in seen})


def _result(ev: Evaluator, outcome: Outcome, final: list[Candidate], block: int,
            status: dict[Candidate, str], method: str, settings: Settings) -> PolicySearch:
    for (cand, _), st in outcome.status.items():  # type: ignore[misc]
        status[cand] = st
    feasible = {c: f for (c, _), f in outcome.feasible.items()}  # type: ignore[misc]
    if outcome.selected is None:
        result = _nothing_feasible(ev, status, method)
        result.final = final
        return result
    chosen = outcome.selected[0]  # type: ignore[index]
    used = ev.systems()
    # the runner-up by the final selection's own replications (fresh, comparable)
    means = {c: float(ev.transform(used[(c, block)])[:, 0].mean()) for c in final
             if feasible.get(c) is not False and c != chosen}
    runner = max(means, key=lambda c: means[c]) if means else None
    ev.tally.best = (chosen, float(used[(chosen, block)][:, 0].mean()))
    return PolicySearch(chosen, None, runner, method, not outcome.capped, final, status, feasible)
