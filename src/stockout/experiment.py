"""Replications, common random numbers and executors.

Every (policy, replication) pair is one task. Replication k of every policy draws from the same
named random streams (see :mod:`stockout.streams`), which gives common random numbers across
policies; tasks are independent, so results are identical whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Callable

from .records import RunResult
from .scenario.schema import Scenario


def run_replications(
    scenario: Scenario,
    *,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[RunResult]:
    """Run every policy of ``scenario`` for ``scenario.scenario.replications`` replications.

    Returns the runs ordered by (policy order in the scenario, replication). ``progress(done,
    total)`` is called after each finished run.
    """
    raise NotImplementedError  # being written
