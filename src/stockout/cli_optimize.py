"""The ``stockout optimize`` command: parse options, call :func:`stockout.optimize`, print.

Exit codes as for every command: 0 ok, 2 bad input (naming the option), 1 the cluster was lost,
130 interrupted (the finished searches are kept; ``--resume DIR`` completes the rest).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .cli_sweep import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    JobsOption,
    NoReportOption,
    QuietOption,
    SchedulerOption,
    SeedOption,
    open_executor,
)
from .cli_trust import AllowCodeOption, check_code_allowed
from .scenario.errors import ScenarioError

if TYPE_CHECKING:
    from .optimizer.run import OptimizeProgress, OptimizeResult


def _say(text: str, *, err: bool = False) -> None:
    typer.echo(text, err=err)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[OptimizeProgress], None] | None]:
    """One status line on stderr: searches done, policy, candidates, replications, best."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, highlight=False)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def update(p: OptimizeProgress) -> None:
            if p.phase == "final":
                bar.update(task, description=(
                    f"each policy at its optimum: {p.replications}/{p.best} runs"))
                return
            best = f" · best {p.best}" if p.best else ""
            bar.update(task, description=(
                f"{p.searches_done}/{p.searches_total} · {p.policy[:20]}: "
                f"{p.candidates} candidates, {p.replications} reps{best}"))

        yield update


FileArgument = Annotated[Path | None, typer.Argument(
    help="Scenario file (TOML); not needed with --resume.", show_default=False)]
SearchOption = Annotated[list[str] | None, typer.Option(
    "--search", metavar="PATH=LO..HI[..STEP]",
    help="An integer stock parameter and its range, e.g. "
    "products.widget.replenishment.order_up_to=50..150..5 (once or twice).")]
MaximizeOption = Annotated[str | None, typer.Option(
    "--maximize", metavar="METRIC", help="Metric to maximise (default gross_profit).")]
MinimizeOption = Annotated[str | None, typer.Option(
    "--minimize", metavar="METRIC", help="Metric to minimise instead.")]
SubjectToOption = Annotated[list[str] | None, typer.Option(
    "--subject-to", metavar="'METRIC>=X'",
    help="A constraint on a metric's mean, e.g. 'fill_rate>=0.95' (optionally +-TOL; "
    "repeatable).")]
IndifferenceOption = Annotated[str, typer.Option(
    "--indifference", metavar="DELTA",
    help="Differences of the objective smaller than this do not matter: objective units, "
    "or a percentage of it (e.g. 1%).")]
ConfidenceOption = Annotated[float, typer.Option(
    "--confidence", help="Probability that the choice is within DELTA of the best.")]
PoliciesOption = Annotated[str | None, typer.Option(
    "--policies", metavar="A,B", help="Search only these policies.")]
VaryOption = Annotated[list[str] | None, typer.Option(
    "--vary", metavar="PATH=v1,v2,...",
    help="Repeat the search at each value (policy map at optimal stock).")]
RepsOption = Annotated[int | None, typer.Option(
    "--reps", min=1, help="Replications of the final run at the optima.")]
FirstStageOption = Annotated[int, typer.Option(
    "--first-stage", min=2, help="First-stage replications per candidate (n0).")]
MaxRepsOption = Annotated[int, typer.Option(
    "--max-reps", min=2, help="Cap on replications per candidate.")]
ExhaustiveOption = Annotated[int, typer.Option(
    "--exhaustive", min=0, metavar="N",
    help="Compare all candidates when there are at most N; else search locally.")]
OutOption = Annotated[Path | None, typer.Option(
    "--out", help="Output folder (must not exist or be empty).")]
ResumeOption = Annotated[Path | None, typer.Option(
    "--resume", metavar="DIR", help="Complete the interrupted optimisation in DIR.")]
ResultsRootOption = Annotated[Path, typer.Option(
    "--results-root", help="Where results/<scenario>/<run-id>/ goes.")]


def optimize_command(
    ctx: typer.Context,
    file: FileArgument = None,
    search: SearchOption = None,
    maximize: MaximizeOption = None,
    minimize: MinimizeOption = None,
    subject_to: SubjectToOption = None,
    indifference: IndifferenceOption = "1%",
    confidence: ConfidenceOption = 0.95,
    policies: PoliciesOption = None,
    vary: VaryOption = None,
    reps: RepsOption = None,
    seed: SeedOption = None,
    first_stage: FirstStageOption = 10,
    max_reps: MaxRepsOption = 2000,
    exhaustive: ExhaustiveOption = 30,
    jobs: JobsOption = 0,
    scheduler: SchedulerOption = None,
    out: OutOption = None,
    resume: ResumeOption = None,
    results_root: ResultsRootOption = Path("results"),
    no_report: NoReportOption = False,
    quiet: QuietOption = False,
    allow_code: AllowCodeOption = False,
) -> None:
    """Find each policy's best stock level (with a statistical guarantee) and compare them there."""
    options: dict[str, Any] = dict(
        maximize=maximize, minimize=minimize, subject_to=subject_to or [],
        indifference=indifference, confidence=confidence, first_stage=first_stage,
        max_reps=max_reps, exhaustive=exhaustive, allow_code=allow_code)
    with _bad_input():
        call = _prepare(file, search or [], policies, vary or [], reps, seed, out, resume,
                        results_root, options)
    result = _run(ctx, call, jobs, scheduler, quiet=quiet, report=not no_report)
    _print(result, quiet)


@contextmanager
def _bad_input() -> Iterator[None]:
    """A scenario problem or an unusable folder: its message, exit 2."""
    from .optimizer.run import OptimizeError

    try:
        yield
    except ScenarioError as error:
        raise _fail(str(error), EXIT_BAD_INPUT) from None
    except OptimizeError as error:
        raise _fail(f"error: {error}", EXIT_BAD_INPUT) from None


def _run(ctx: typer.Context, call: Callable[..., OptimizeResult], jobs: int,
         scheduler: str | None, *, quiet: bool, report: bool) -> OptimizeResult:
    """``call`` on the executor of ``--jobs`` / ``--scheduler``, with a status line; stopped
    (130) or the cluster lost (1), it says how to resume."""
    from .executors import ExecutorError
    from .optimizer.run import OptimizeInterrupted

    root = ctx.find_root().obj
    workers = jobs or os.cpu_count() or 1
    try:
        with (_bad_input(),
              open_executor(workers, scheduler, debug=bool(getattr(root, "debug", False)))
              as executor, _progress(sys.stderr.isatty() and not quiet) as progress):
            return call(jobs=workers, executor=executor, progress=progress,
                        report=report, command=list(getattr(root, "argv", [])))
    except OptimizeInterrupted as stopped:
        raise _stopped(stopped, EXIT_INTERRUPTED) from None
    except ExecutorError as error:
        raise _fail(f"error: {error}; finished searches are kept: resume with --resume",
                    EXIT_INTERNAL) from None


def _fail(message: str, code: int) -> typer.Exit:
    _say(message, err=True)
    return typer.Exit(code)


def _stopped(stopped: Any, code: int) -> typer.Exit:
    _say(f"{stopped.reason}: {stopped.done} of {stopped.total} searches finished", err=True)
    if stopped.out_dir is not None:
        _say(f"the folder {stopped.out_dir} is incomplete (no manifest.json); complete it with "
             f"`stockout optimize --resume {stopped.out_dir}`", err=True)
    return typer.Exit(code)


def _prepare(file: Path | None, search: list[str], policies: str | None, vary: list[str],
             reps: int | None, seed: int | None, out: Path | None, resume: Path | None,
             results_root: Path, options: dict[str, Any]) -> Callable[..., OptimizeResult]:
    """Check the inputs; return the call that runs the optimisation."""
    from . import api
    from .optimizer import run as opt
    from .results_io import check_out_dir, new_run_dir
    from .sweep import parse_vary

    if resume is not None:
        if file is not None or search or vary or policies or reps is not None:
            raise opt.OptimizeError("--resume takes everything from the folder: give only "
                                    "--resume DIR (and --jobs / --scheduler)")
        opt.resume_config(resume)  # a folder that cannot be resumed: said before any work
        allow = options["allow_code"]
        return lambda **kw: opt.resume(resume, allow_code=allow, **kw)
    if file is None:
        raise opt.OptimizeError("give a scenario file (or --resume DIR)")
    if not search:
        raise opt.OptimizeError("name what to search: --search PATH=LO..HI[..STEP]")
    names = [n.strip() for n in policies.split(",") if n.strip()] if policies else None
    scenario = api.with_overrides(api.load(file), replications=reps, seed=seed, policies=names,
                                  source=f"{file} (with command-line options)")
    values: dict[str, list[Any]] = {}
    for option in vary:
        path, parsed = parse_vary(option, str(file))
        values[path] = list(parsed)
    check_code_allowed(scenario, options["allow_code"], file.parent)
    planned = {k: v for k, v in options.items() if k != "allow_code"}
    opt.plan(scenario, search, vary=values, source=str(file), **planned)  # bad input: now
    if out is not None:
        check_out_dir(out)
        folder = out
    else:
        folder = new_run_dir(results_root, f"{scenario.scenario.name}-optimize")
    return lambda **kw: opt.optimize(scenario, search, vary=values or None, out_dir=folder,
                                     search_dir=file.parent, source=str(file), **options, **kw)


def _print(result: OptimizeResult, quiet: bool) -> None:
    if quiet:
        _say(str(result.out_dir))
        return
    from rich.console import Console
    from rich.table import Table

    opt = result.optimum
    paths = result.searched
    table = Table(title=f"Best stock per policy ({opt['sense'].iloc[0]} "
                  f"{opt['objective'].iloc[0]})", title_justify="left")
    def short(path: str) -> str:
        return path.rsplit(".", 1)[-1]

    for name in [*map(short, result.parameters), "policy", *map(short, paths),
                 "objective ± 95% CI", "reps", "runner-up"]:
        table.add_column(name)
    for _, row in opt.iterrows():
        level = [str(row[p]) if row["feasible"] else f"{row[p]} (infeasible)" for p in paths]
        table.add_row(*[str(row[p]) for p in result.parameters], str(row["policy"]), *level,
                      f"{_num(row['mean'])} ± {_num((row['ci_high'] - row['ci_low']) / 2)}",
                      str(row["replications"]), _runner(row["runner_up"]))
    Console(highlight=False).print(table)
    if (~opt["feasible"].astype(bool)).any():
        _say("no feasible candidate for: " + ", ".join(opt.loc[~opt["feasible"].astype(bool),
                                                                "policy"].astype(str)))
    edge = opt.loc[opt["at_edge"].astype(bool) & opt["feasible"].astype(bool), "policy"]
    if len(edge):
        _say("note: at the edge of the range for " + ", ".join(sorted(set(edge.astype(str))))
             + ": widen --search to be sure")
    if result.winners is not None:
        for _, w in result.winners.iterrows():
            at = ", ".join(f"{p}={w[p]}" for p in result.parameters)
            _say(f"{at}: {w['winner'] or 'no feasible policy'}"
                 f"{'' if w['clear'] else ' (not clearly)'} wins at optimal stock")
    _say(f"results: {result.out_dir}")


def _runner(label: object) -> str:
    """'order_up_to=15' → '15' (the parameter is in the column heading)."""
    if not isinstance(label, str):
        return "–"
    return ", ".join(part.partition("=")[2] for part in label.split(", "))


def _num(x: float) -> str:
    """Whole units for large values, four significant digits for small ones."""
    if x != x:  # NaN: no interval
        return "–"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def register(app: typer.Typer) -> None:
    """Add ``stockout optimize`` to ``app``."""
    app.command("optimize")(optimize_command)
