"""Replications, common random numbers and executors.

Every (policy, replication) pair is one task. Replication k of every policy draws from the same
named random streams (see :mod:`stockout.streams`), which gives common random numbers across
policies; tasks share nothing, so results are identical whatever the number of workers and the
order in which they finish.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from .model import simulate
from .records import RunResult
from .scenario.schema import Scenario

Progress = Callable[[int, int], None]


def tasks(scenario: Scenario) -> list[tuple[str, int]]:
    """Every (policy, replication) of the scenario, in output order."""
    reps = scenario.scenario.replications
    return [(p.name, k) for p in scenario.policies for k in range(reps)]


def run_batch(
    scenario: Scenario, batch: Iterable[tuple[str, int]], search_dir: Path | None = None
) -> list[RunResult]:
    """Run a batch of (policy, replication) tasks in this process (also the unit of remote work)."""
    return [simulate(scenario, policy, rep, search_dir) for policy, rep in batch]


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def run_replications(
    scenario: Scenario,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    search_dir: Path | None = None,
) -> list[RunResult]:
    """Run every policy of ``scenario`` for ``scenario.scenario.replications`` replications.

    Returns the runs ordered by (policy order in the scenario, replication). ``progress(done,
    total)`` is called after each finished run. ``search_dir`` is where custom policy modules are
    looked for first (the scenario file's folder).
    """
    todo = tasks(scenario)
    total = len(todo)
    if jobs <= 1 or total <= 1:
        results = []
        for i, task in enumerate(todo):
            results.extend(run_batch(scenario, [task], search_dir))
            if progress:
                progress(i + 1, total)
        return results
    # Several tasks per submission amortise pickling the scenario; small enough to balance load.
    size = max(1, min(8, total // (jobs * 4)))
    batches = [todo[i : i + size] for i in range(0, total, size)]
    by_task: dict[tuple[str, int], RunResult] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending = {pool.submit(run_batch, scenario, b, search_dir) for b in batches}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    for r in fut.result():
                        by_task[(r.policy, r.replication)] = r
                if progress:
                    progress(len(by_task), total)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
    return [by_task[t] for t in todo]
