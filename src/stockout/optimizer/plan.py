"""What an optimisation is asked and what it gives back: the checked :class:`Plan` (what
``optimize.json`` stores), the result, the progress reports and the errors. :mod:`.folder` and
:mod:`.run` both build on this module, which imports neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..scenario.errors import Problem, ScenarioError
from ..scenario.schema import Scenario
from .search import Settings
from .space import (
    Constraint,
    Objective,
    SearchSpec,
    check_metric,
    check_policies,
    parse_constraint,
    parse_search,
    resolve_targets,
)

if TYPE_CHECKING:
    from ..api import Results

FORMAT = 1


class OptimizeError(ValueError):
    """Bad input that is not a scenario problem: a folder in use, a resume that does not match."""


class OptimizeInterrupted(Exception):
    """Stopped before the end (Ctrl-C, a lost cluster); finished searches are saved."""

    def __init__(self, reason: str, out_dir: Path | None, done: int, total: int) -> None:
        self.reason, self.out_dir, self.done, self.total = reason, out_dir, done, total
        super().__init__(f"{reason}: {done} of {total} searches finished")


@dataclass(frozen=True)
class OptimizeProgress:
    """Where the optimisation stands (after every finished batch of runs)."""

    searches_done: int
    searches_total: int
    policy: str
    point: int
    candidates: int
    replications: int
    best: str | None
    phase: str = "search"  # "search", then "final": the run of every policy at its optimum


@dataclass(frozen=True)
class OptimizeResult:
    """optimum.csv, candidates.csv (and winners.csv with ``vary``); ``results`` holds the run of
    every policy at its optimum (without ``vary``)."""

    optimum: pd.DataFrame
    candidates: pd.DataFrame
    winners: pd.DataFrame | None
    results: Results | None
    out_dir: Path | None
    elapsed_seconds: float
    parameters: list[str] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)

    def policy_map(self) -> pd.DataFrame:
        """The winner at optimal stock per sweep point (one or two swept parameters)."""
        if self.winners is None:
            raise ValueError("a policy map needs vary")
        if len(self.parameters) == 1:
            return self.winners.set_index(self.parameters[0])[["winner"]]
        return self.winners.pivot(index=self.parameters[0], columns=self.parameters[1],
                                  values="winner")


@dataclass(frozen=True)
class Plan:
    """Everything a search needs, checked; also what optimize.json stores."""

    scenario: Scenario
    specs: list[SearchSpec]
    objective: Objective
    constraints: list[Constraint]
    indifference: str
    settings: Settings
    vary: dict[str, list[Any]]
    source: str

    def config(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "search": [f"{s.path}={s.lo}..{s.hi}..{s.step}" for s in self.specs],
            "objective": {"metric": self.objective.metric, "maximize": self.objective.maximize},
            "subject_to": [f"{c.metric}{c.sense}{c.value!r}+-{c.tolerance!r}"
                           for c in self.constraints],
            "indifference": self.indifference,
            "confidence": self.settings.confidence,
            "first_stage": self.settings.n0,
            "max_reps": self.settings.max_reps,
            "exhaustive": self.settings.exhaustive,
            "vary": self.vary,
            "policies": [p.name for p in self.scenario.policies],
            "seed": self.scenario.scenario.seed,
        }


Progress = Callable[[OptimizeProgress], None]


def _indifference(text: str | float, source: str) -> tuple[float | None, float | None]:
    """(absolute δ, or relative share) from ``2.5`` or ``"1%"``."""
    raw = str(text).strip()
    try:
        number = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        number = -1.0
    if not number > 0 or number == float("inf"):
        raise ScenarioError([Problem(source, "--indifference", (
            f"must be a number above 0 in objective units (e.g. 50) or a percentage of the "
            f"objective (e.g. 1%), not {raw!r}"))])
    return (None, number) if raw.endswith("%") else (number, None)


def plan(
    scenario: Scenario,
    search: Sequence[str | SearchSpec],
    *,
    maximize: str | None = None,
    minimize: str | None = None,
    subject_to: Sequence[str | Constraint] = (),
    indifference: str | float = "1%",
    confidence: float = 0.95,
    first_stage: int = 10,
    max_reps: int = 2000,
    exhaustive: int = 30,
    vary: Mapping[str, Sequence[Any]] | None = None,
    source: str = "<optimize>",
) -> Plan:
    """Check every input (raising :class:`ScenarioError` naming the option)."""
    if maximize is not None and minimize is not None:
        raise ScenarioError([Problem(source, "--maximize/--minimize", "give one, not both")])
    metric = maximize or minimize or "gross_profit"
    check_metric(metric, "--maximize" if minimize is None else "--minimize")
    objective = Objective(metric, minimize is None)
    specs = [s if isinstance(s, SearchSpec) else parse_search(s) for s in search]
    constraints = [c if isinstance(c, Constraint) else parse_constraint(c) for c in subject_to]
    problems = []
    if not 0.5 <= confidence < 1:
        problems.append(Problem(source, "--confidence", "must be at least 0.5 and below 1"))
    if first_stage < 2:
        problems.append(Problem(source, "--first-stage", "must be at least 2"))
    if max_reps < first_stage:
        problems.append(Problem(source, "--max-reps", "must be at least --first-stage"))
    if problems:
        raise ScenarioError(problems)
    _indifference(indifference, source)
    targets = resolve_targets(scenario, specs, source)
    check_policies(scenario, targets, source)
    values = {p: list(v) for p, v in (vary or {}).items()}
    if values:
        from ..sweep import _check_vary, _variants, grid

        _check_vary(values, source)
        for point in _variants(scenario, grid(values), source):
            check_policies(point, resolve_targets(point, specs, source), source)
    settings = Settings(delta=1.0, confidence=confidence, n0=first_stage, max_reps=max_reps,
                        exhaustive=exhaustive)
    return Plan(scenario, specs, objective, constraints, str(indifference), settings, values,
                source)
