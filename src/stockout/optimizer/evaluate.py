"""Replications of candidates on an executor: the :class:`~stockout.optimize.kn.Sampler` that the
procedures read.

A system is ``(candidate, block)``: replication j of it is the scenario's replication
``block * BLOCK + j`` of the policy at the candidate's values. Every candidate of a block uses the
same replication numbers, hence the same random streams (common random numbers); blocks keep the
data of one phase of a search independent of another's (the final selection never reuses the
replications that chose its neighbourhood).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..executors import Executor, InlineExecutor, Job
from ..records import RunResult
from ..scenario.errors import ScenarioError
from ..scenario.schema import Scenario
from .space import Constraint, Objective, Target, policy_variant

#: Replication numbers per block.
BLOCK = 1_000_000
#: First block of each phase. Block 0 (replications 0, 1, ...) is left to the final run of the
#: policies at their optima, so that comparison is not biased by the data that chose them.
SELECT, SEARCH, BISECT, PILOT = 1, 10, 20, 30

Candidate = tuple[int, ...]  # values of the searched parameters
System = tuple[Candidate, int]  # (candidate, block)


@dataclass
class Tally:
    """Work done so far, for progress lines and the search cost."""

    runs: int = 0
    candidates: set[Candidate] = field(default_factory=set)
    best: tuple[Candidate, float] | None = None


class Evaluator:
    """Runs the replications that a procedure asks for, on ``executor``, and keeps per
    replication the objective and constraint metrics (product ``all``) of each system."""

    def __init__(
        self,
        scenario: Scenario,
        policy: str,
        targets: Sequence[Target],
        objective: Objective,
        constraints: Sequence[Constraint],
        executor: Executor,
        *,
        search_dir: Path | None = None,
        source: str = "<optimize>",
        on_progress: Callable[[Tally], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.policy = policy
        self.targets = list(targets)
        self.objective = objective
        self.constraints = list(constraints)
        self.executor = executor
        self.workers = executor.workers
        self.search_dir = search_dir
        self.source = source
        self.on_progress = on_progress
        self.tally = Tally()
        self._raw: dict[System, dict[int, np.ndarray]] = {}
        # replications a procedure decided on; runs made ahead for parallelism are not counted,
        # so what is reported does not depend on the number of workers
        self._used: dict[System, int] = {}
        self._variants: dict[Candidate, Scenario | None] = {}

    # ---- candidates ----

    def valid(self, candidate: Candidate) -> bool:
        """Whether the scenario accepts the values (e.g. an (s, S) rule needs s < S)."""
        return self.variant(candidate) is not None

    def variant(self, candidate: Candidate) -> Scenario | None:
        if candidate not in self._variants:
            values = dict(zip(self.targets, candidate, strict=True))
            try:
                self._variants[candidate] = policy_variant(
                    self.scenario, self.policy, values, self.source)
            except ScenarioError:
                self._variants[candidate] = None
        return self._variants[candidate]

    # ---- the Sampler protocol ----

    def ensure(self, wants: Mapping[Hashable, int]) -> None:
        missing: list[tuple[System, list[int]]] = []
        for system, n in wants.items():
            have = self._raw.setdefault(system, {})  # type: ignore[arg-type]
            reps = [j for j in range(n) if j not in have]
            if reps:
                missing.append((system, reps))  # type: ignore[arg-type]
        if missing:
            self._run(missing)

    def rows(self, system: Hashable) -> np.ndarray:
        raw = self.raw(system)  # type: ignore[arg-type]
        return self.transform(raw)

    def raw(self, system: System) -> np.ndarray:
        """Metric values (objective, then each constraint's metric), one row a replication."""
        have = self._raw.get(system, {})
        n = 0
        while n in have:
            n += 1
        return np.array([have[j] for j in range(n)]).reshape(n, 1 + len(self.constraints))

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Raw values as the procedures read them: objective to maximise, ``slack <= 0`` met.
        An undefined value (a mean wait when nothing waited) counts as 0 for the objective and
        as exactly at the threshold for a constraint."""
        out = np.empty_like(raw, dtype=float)
        out[:, 0] = np.nan_to_num(raw[:, 0] * self.objective.sign, nan=0.0)
        for c, con in enumerate(self.constraints):
            col = raw[:, 1 + c]
            slack = con.value - col if con.sense == ">=" else col - con.value
            out[:, 1 + c] = np.nan_to_num(slack, nan=0.0)
        return out

    def mark_used(self, used: Mapping[Hashable, int]) -> None:
        """Record the replications a sequential procedure decided on (the rest ran ahead)."""
        for system, n in used.items():
            self._used[system] = max(n, self._used.get(system, 0))  # type: ignore[index]

    def systems(self) -> dict[System, np.ndarray]:
        """The replications the procedures used, per system."""
        return {s: self.raw(s)[: self._used.get(s)] for s in self._raw}

    # ---- running ----

    def _run(self, missing: list[tuple[System, list[int]]]) -> None:
        total = sum(len(reps) for _, reps in missing)
        size = 1 if isinstance(self.executor, InlineExecutor) else max(
            1, min(self.executor.max_batch, math.ceil(total / (self.workers * 2))))
        for (candidate, block), reps in missing:
            scenario = self.variant(candidate)
            assert scenario is not None, "an invalid candidate is never sampled"
            tasks = [(self.policy, block * BLOCK + j) for j in reps]
            for i in range(0, len(tasks), size):
                self.executor.submit(Job(scenario, tasks[i:i + size], self.search_dir,
                                         tag=(candidate, block)))
        try:
            while self.executor.pending:
                for job, runs in self.executor.next_done():
                    self._store(job.tag, runs)  # type: ignore[arg-type]
        except BaseException:
            self.executor.cancel()
            raise

    def _store(self, system: System, runs: list[RunResult]) -> None:
        names = [self.objective.metric, *(c.metric for c in self.constraints)]
        candidate, block = system
        have = self._raw.setdefault(system, {})
        for run in runs:
            values = run.metrics["all"]
            have[run.replication - block * BLOCK] = np.array(
                [float(values.get(n, math.nan)) for n in names])
        self.tally.runs += len(runs)
        self.tally.candidates.add(candidate)
        if self.on_progress is not None:
            self.tally.best = self._best_so_far() or self.tally.best
            self.on_progress(self.tally)

    def _best_so_far(self) -> tuple[Candidate, float] | None:
        """The candidate whose mean is best among those meeting the constraints by their
        means, in the latest phase with data (for the progress line only)."""
        blocks = [b for (_, b), have in self._raw.items() if len(have) >= 2]
        if not blocks:
            return None
        block = max(blocks)
        best: tuple[float, Candidate, float] | None = None
        for (cand, b), have in self._raw.items():
            if b != block or len(have) < 2:
                continue
            means = self.transform(np.array(list(have.values()))).mean(axis=0)
            if (means[1:] <= 0).all() and (best is None or means[0] > best[0]):
                best = (float(means[0]), cand, float(means[0]) * self.objective.sign)
        return None if best is None else (best[1], best[2])
