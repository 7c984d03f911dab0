"""Replications, common random numbers and executors.

Every (policy, replication) pair is one task. Replication k of every policy draws from the same
named random streams (see :mod:`stockout.streams`), which gives common random numbers across
policies; tasks share nothing, so results are identical whatever the number of workers and the
order in which they finish.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .executors import Executor, InlineExecutor, Job, batch_size, make_executor
from .executors import default_jobs as default_jobs
from .records import RunResult
from .scenario.schema import Scenario

Progress = Callable[[int, int], None]


def tasks(scenario: Scenario) -> list[tuple[str, int]]:
    """Every (policy, replication) of the scenario, in output order."""
    reps = scenario.scenario.replications
    return [(p.name, k) for p in scenario.policies for k in range(reps)]


def run_replications(
    scenario: Scenario,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    search_dir: Path | None = None,
    executor: Executor | str | None = None,
) -> list[RunResult]:
    """Run every policy of ``scenario`` for ``scenario.scenario.replications`` replications.

    Returns the runs ordered by (policy order in the scenario, replication). ``progress(done,
    total)`` is called after each finished batch of runs. ``search_dir`` is where custom policy
    modules are looked for first (the scenario file's folder).

    ``executor`` says where the runs execute: ``None`` for this process (``jobs`` <= 1) or a local
    pool of ``jobs`` processes; a Dask scheduler address (``"tcp://host:8786"``); or an
    :class:`~stockout.executors.Executor` (left open, so it can serve several calls). The results
    are the same on every executor.
    """
    todo = tasks(scenario)
    total = len(todo)
    if isinstance(executor, Executor):
        return _run_on(executor, scenario, todo, progress, search_dir)
    scheduler = executor if isinstance(executor, str) else None
    # never more processes than runs: each would be forked for nothing
    with make_executor(min(jobs, total), scheduler) as owned:
        return _run_on(owned, scenario, todo, progress, search_dir)


def _run_on(
    executor: Executor,
    scenario: Scenario,
    todo: list[tuple[str, int]],
    progress: Progress | None,
    search_dir: Path | None,
) -> list[RunResult]:
    total = len(todo)
    size = 1 if isinstance(executor, InlineExecutor) else batch_size(total, executor)
    # replication by replication: a batch holds the policies of one replication together
    order = sorted(todo, key=lambda task: task[1])  # stable: policies in scenario order
    for i in range(0, total, size):
        executor.submit(Job(scenario, order[i : i + size], search_dir))
    by_task: dict[tuple[str, int], RunResult] = {}
    try:
        while executor.pending:
            for _, runs in executor.next_done():
                for r in runs:
                    by_task[(r.policy, r.replication)] = r
            if progress:
                progress(len(by_task), total)
    except BaseException:
        executor.cancel()
        raise
    return [by_task[t] for t in todo]
