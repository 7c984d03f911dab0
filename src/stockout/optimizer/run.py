"""``stockout.optimize``: each policy at its own best stock level, then the comparison there.

One *point* is the scenario (or, with ``vary``, one grid point of a sweep); at each point each
policy is searched separately (:mod:`.search`) and its optimum and candidates are saved at once
(``points/<k>-<policy>.json``), so an interrupted optimisation resumes without redoing them.
Without ``vary``, the policies are then run together at their optima for the scenario's
replications (common random numbers) and the folder holds the usual run tables and report too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..executors import Executor, make_executor
from ..scenario.load import load_scenario_text
from ..scenario.schema import Scenario
from . import folder as store
from .evaluate import PILOT, Evaluator, Tally
from .folder import BASE_FILE, CONFIG_FILE
from .plan import OptimizeError as OptimizeError
from .plan import OptimizeInterrupted as OptimizeInterrupted
from .plan import OptimizeProgress as OptimizeProgress
from .plan import OptimizeResult as OptimizeResult
from .plan import Plan as Plan
from .plan import Progress as Progress
from .plan import _indifference
from .plan import plan as plan
from .search import Grid, PolicySearch, Settings, search_policy
from .space import Constraint, SearchSpec, Target, current_value, resolve_targets
from .tables import candidate_rows, optimum_row, winners

if TYPE_CHECKING:
    from distributed import Client

    from ..api import Results

# ---------------------------------------------------------------------------------------------
# One policy at one point
# ---------------------------------------------------------------------------------------------


def search_one(
    plan_: Plan, scenario: Scenario, policy: str, executor: Executor, point: Mapping[str, Any],
    *, search_dir: Path | None = None, on_tally: Callable[[Tally], None] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(optimum row, candidate rows) of ``policy`` in ``scenario``."""
    started = time.perf_counter()
    targets = resolve_targets(scenario, plan_.specs, plan_.source)
    ev = Evaluator(scenario, policy, targets, plan_.objective, plan_.constraints, executor,
                   search_dir=search_dir, source=plan_.source, on_progress=on_tally)
    grid = Grid(targets)
    start = grid.nearest([current_value(scenario, policy, t) for t in targets])
    delta = _delta(plan_, ev, grid, start)
    settings = Settings(delta, plan_.settings.confidence, plan_.settings.n0,
                        plan_.settings.max_reps, plan_.settings.exhaustive)
    found: PolicySearch = search_policy(ev, grid, settings, start)
    seconds = time.perf_counter() - started
    return (optimum_row(ev, found, point, delta, seconds), candidate_rows(ev, found, point))


def _delta(plan_: Plan, ev: Evaluator, grid: Grid, start: tuple[int, ...]) -> float:
    """δ in objective units: as given, or a share of |objective| at the start (pilot runs in a
    block of their own, so the zone is fixed before the selection sees any data)."""
    absolute, share = _indifference(plan_.indifference, plan_.source)
    if absolute is not None:
        return absolute
    assert share is not None
    from .search import _valid_start

    pilot = _valid_start(ev, grid, start)
    ev.ensure({(pilot, PILOT): plan_.settings.n0})
    level = abs(float(ev.raw((pilot, PILOT))[:, 0].mean()))
    return share * level if level > 0 else 1.0


# ---------------------------------------------------------------------------------------------
# The whole optimisation
# ---------------------------------------------------------------------------------------------


def optimize(
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
    jobs: int = 1,
    scheduler: str | Client | None = None,
    executor: Executor | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    search_dir: str | Path | None = None,
    source: str | None = None,
    report: bool = True,
    command: Sequence[str] = (),
    allow_code: bool = False,
) -> OptimizeResult:
    """Find each policy's best value of one or two integer stock parameters, with a statistical
    guarantee (docs/howto-optimize.md), and compare the policies there.

    ``search`` lists ``PATH=LO..HI[..STEP]`` strings; ``subject_to`` ``METRIC>=VALUE`` strings;
    ``indifference`` is δ in objective units or a percentage string (``"1%"``: of |objective| at
    the starting stock). With ``out_dir`` the folder of docs/results-format.md is written
    (``resume=True`` completes an interrupted one). A custom policy's code runs only with
    ``allow_code=True`` (else ``stockout.trust.CodeNotAllowed`` before anything starts).
    Raises :class:`ScenarioError` for bad input,
    :class:`OptimizeError` for an unusable folder and :class:`OptimizeInterrupted` when stopped.
    """
    started = time.perf_counter()
    src = source or scenario.scenario.name
    the_plan = plan(scenario, search, maximize=maximize, minimize=minimize,
                    subject_to=subject_to, indifference=indifference, confidence=confidence,
                    first_stage=first_stage, max_reps=max_reps, exhaustive=exhaustive,
                    vary=vary, source=src)
    folder = Path(out_dir) if out_dir is not None else None
    sdir = Path(search_dir) if search_dir is not None else None
    from ..trust import require_allowed

    require_allowed(scenario, allow_code, sdir)  # before a folder is made or anything runs
    # claimed for this process: no other live run, sweep or optimisation writes into it
    claim = store.claim(folder, resume) if folder is not None else None
    try:
        done = store.prepare(folder, the_plan, resume, sdir) if folder is not None else {}
        # an executor made here is closed here: terminated at once on Ctrl-C or an error
        with (make_executor(jobs, scheduler) if executor is None else nullcontext(executor)
              ) as runner:
            return _optimize_on(runner, the_plan, folder, done, progress, sdir, started,
                                command, report)
    finally:
        if claim is not None:
            claim.release()


def _optimize_on(
    runner: Executor, the_plan: Plan, folder: Path | None,
    done: dict[tuple[int, str], dict[str, Any]], progress: Progress | None,
    sdir: Path | None, started: float, command: Sequence[str], report: bool,
) -> OptimizeResult:
    try:
        opt, cands = _search_all(the_plan, runner, folder, done, progress, sdir)
        parameters = list(the_plan.vary)
        wins = (winners(opt, the_plan.objective, parameters, the_plan.constraints)
                if parameters else None)
        results = None if parameters else _run_at_optima(the_plan, opt, runner, sdir, progress)
        result = OptimizeResult(opt, cands, wins, results, folder,
                                time.perf_counter() - started, parameters,
                                [s.path for s in the_plan.specs])
        if folder is not None:
            store.finish(folder, the_plan, result, command=command, report=report)
    except KeyboardInterrupt:
        runner.cancel()
        raise OptimizeInterrupted("interrupted", folder, *_counts(folder, the_plan)) from None
    return result


def _counts(folder: Path | None, the_plan: Plan) -> tuple[int, int]:
    total = len(store.points(the_plan)) * len(the_plan.scenario.policies)
    return (len(store.finished(folder)) if folder is not None else 0), total


def _search_all(
    the_plan: Plan, runner: Executor, folder: Path | None,
    done: dict[tuple[int, str], dict[str, Any]], progress: Progress | None,
    search_dir: Path | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    points = store.points(the_plan)
    policies = [p.name for p in the_plan.scenario.policies]
    total = len(points) * len(policies)
    optimum, candidates = [], []
    for k, (values, scenario) in enumerate(points):
        for policy in policies:
            saved = done.get((k, policy))
            if saved is None:
                def tick(t: Tally, policy: str = policy, k: int = k) -> None:
                    if progress is not None:
                        best = None if t.best is None else (
                            f"{', '.join(map(str, t.best[0]))} → "
                            + (f"{t.best[1]:,.0f}" if abs(t.best[1]) >= 1000
                               else f"{t.best[1]:.4g}"))
                        progress(OptimizeProgress(len(done), total, policy, k,
                                                  len(t.candidates), t.runs, best))
                row, rows = search_one(the_plan, scenario, policy, runner, values,
                                       search_dir=search_dir, on_tally=tick)
                saved = {"optimum": row, "candidates": rows}
                done[(k, policy)] = saved
                if folder is not None:
                    store.save_point(folder, k, policies.index(policy), saved)
            optimum.append(saved["optimum"])
            candidates += saved["candidates"]
    return pd.DataFrame(optimum), pd.DataFrame(candidates)


def _run_at_optima(the_plan: Plan, optimum: pd.DataFrame, runner: Executor,
                   search_dir: Path | None, progress: Progress | None) -> Results:
    from ..api import run
    from .space import at_optima

    scenario = the_plan.scenario
    targets = resolve_targets(scenario, the_plan.specs, the_plan.source)
    chosen: dict[str, dict[Target, int]] = {}
    for _, row in optimum.iterrows():
        if all(pd.notna(row[t.spec.path]) for t in targets):
            chosen[str(row["policy"])] = {t: int(row[t.spec.path]) for t in targets}
    final = at_optima(scenario, chosen, the_plan.source)
    searches = len(final.policies)

    def tick(done: int, total: int) -> None:
        if progress is not None:
            progress(OptimizeProgress(searches, searches, "", 0, 0, done, f"{total}", "final"))

    # optimize() has already refused a scenario with code unless the user allowed it
    return run(final, jobs=runner.workers, executor=runner, search_dir=search_dir,
               progress=tick, allow_code=True)


def resume_config(folder: str | Path) -> tuple[Scenario, dict[str, Any]]:
    """The base scenario and the settings stored in an optimisation folder."""
    path = Path(folder)
    try:
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        text = (path / BASE_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OptimizeError(f"{path}: not an optimisation folder (no {CONFIG_FILE}): "
                            "nothing to resume") from None
    except (OSError, ValueError) as error:
        raise OptimizeError(f"{path}: the folder is damaged ({error}); start again") from None
    return load_scenario_text(text, str(path / BASE_FILE)), config


def resume(folder: str | Path, **options: Any) -> OptimizeResult:
    """Complete the interrupted optimisation in ``folder`` (executor options may be given)."""
    scenario, c = resume_config(folder)
    if options.get("search_dir") is None and c.get("search_dir"):
        options["search_dir"] = c["search_dir"]  # the scenario's folder, for policy modules
    objective = c["objective"]
    key = "maximize" if objective["maximize"] else "minimize"
    return optimize(
        scenario, c["search"], **{key: objective["metric"]}, subject_to=c["subject_to"],
        indifference=c["indifference"], confidence=c["confidence"],
        first_stage=c["first_stage"], max_reps=c["max_reps"], exhaustive=c["exhaustive"],
        vary=c["vary"] or None, out_dir=folder, resume=True, **options,
    )
