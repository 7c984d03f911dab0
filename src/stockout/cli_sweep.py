"""The ``stockout sweep`` command, and the options shared with ``stockout run`` and ``optimize``.

``register(app)`` adds the command to the main typer app. The command parses options, calls
:func:`stockout.sweep.sweep` and prints; it imports nothing of :mod:`stockout.cli` at module level
(cli imports this module).

Exit codes as for every command: 0 ok, 2 bad input (a bad ``--vary`` path or value, naming it; an
output folder in use; an unreachable scheduler), 1 the cluster was lost part-way, 130 interrupted.
A sweep stopped part-way says which points finished and how to resume it.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .cli_trust import AllowCodeOption
from .safe_text import clean
from .scenario.errors import ScenarioError
from .stages import stage

if TYPE_CHECKING:
    from .executors import Executor
    from .sweep import SweepProgress, SweepResult

EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

#: Options shared by ``stockout run``, ``sweep`` and ``optimize`` (its --out and --results-root
#: differ: no metavar).
SeedOption = Annotated[
    int | None, typer.Option("--seed", min=0, metavar="N", help="Master random seed.")
]
MAX_JOBS = 4096  # worker processes: more is a typo, and each is a forked Python
JobsOption = Annotated[
    int,
    typer.Option(
        "--jobs", "-j", min=0, max=MAX_JOBS, metavar="N",
        help="Worker processes (0: one per CPU; never more than there are runs).",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="Run on this Dask scheduler instead of local processes "
        "(pip install 'stockout[cluster]'; see docs/cluster.md).",
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", metavar="DIR", help="Output folder (must not exist or be empty)."),
]
ResultsRootOption = Annotated[
    Path,
    typer.Option(
        "--results-root", metavar="DIR", help="Where results/<scenario>/<run-id>/ goes."
    ),
]
NoReportOption = Annotated[bool, typer.Option("--no-report", help="Skip report.html.")]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the output folder.")
]


def _say(text: str, *, err: bool = False) -> None:
    typer.echo(clean(text), err=err)


@contextmanager
def open_executor(
    jobs: int, scheduler: str | None, *, debug: bool = False
) -> Iterator[Executor | None]:
    """For ``--scheduler``: a Dask executor connected to ``scheduler`` (closed on exit), or
    ``None`` when no scheduler is given (the local pool of ``jobs`` is then used).

    An unreachable scheduler, one without workers, workers with another stockout, or Dask not
    installed, is bad input: a one-line message and exit 2. Dask's own log lines (tracebacks when
    the scheduler goes away) are silenced unless ``debug``: the command says what happened.
    """
    if scheduler is None:
        yield None
        return
    from .executors import ClusterUnavailable, DaskExecutor

    if not debug:
        _quiet_dask_logs()
    try:
        executor = DaskExecutor(scheduler, notify=lambda message: _say(message, err=True))
    except ClusterUnavailable as error:
        _say(f"error: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    with executor:
        yield executor


def _quiet_dask_logs() -> None:
    """Only critical messages from Dask's loggers on this (client) side."""
    import logging

    try:
        import distributed  # noqa: F401 - its import sets up the loggers quieted here
    except ImportError:  # DaskExecutor says what to install
        return
    names = [n for n in logging.root.manager.loggerDict if n.startswith(("distributed", "tornado"))]
    for name in ["distributed", "tornado", *names]:
        logger = logging.getLogger(name)
        if name in ("distributed", "tornado") or logger.level != logging.NOTSET:
            logger.setLevel(logging.CRITICAL)


@contextmanager
def _sweep_progress(enabled: bool) -> Iterator[Callable[[SweepProgress], None] | None]:
    """Two rich bars on stderr (points, replications, with an ETA), or nothing."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    console = Console(stderr=True, highlight=False)
    with Progress(*columns, console=console, transient=True) as bar:
        points = bar.add_task("points", total=None)
        reps = bar.add_task("replications", total=None)

        def update(p: SweepProgress) -> None:
            bar.update(points, completed=p.points_done, total=p.points_total)
            bar.update(reps, completed=p.replications_done, total=p.replications_total)

        yield update


def _fail(message: str, code: int) -> typer.Exit:
    _say(message, err=True)
    return typer.Exit(code)


def _debug(ctx: typer.Context) -> bool:
    return bool(getattr(ctx.find_root().obj, "debug", False))


SweepFileArgument = Annotated[
    Path | None,
    typer.Argument(
        metavar="FILE", help="Scenario file (TOML); not needed with --resume.",
        show_default=False,
    ),
]
VaryOption = Annotated[
    list[str] | None,
    typer.Option(
        "--vary",
        metavar="PATH=v1,v2,...",
        help="A parameter and its values, e.g. customers.patience_days.mean=2,5,10 "
        "(repeat for a grid).",
    ),
]
SweepPoliciesOption = Annotated[
    str | None,
    typer.Option("--policies", metavar="A,B", help="Compare only these policies."),
]
SweepRepsOption = Annotated[
    int | None, typer.Option("--reps", min=1, metavar="N", help="Replications per point.")
]
PrecisionOption = Annotated[
    float | None,
    typer.Option(
        "--precision",
        metavar="R",
        help="Add replications until the 95% CI half-width of --metric is at most R "
        "times its mean (e.g. 0.02), for every policy, or --max-reps is hit.",
    ),
]
MetricOption = Annotated[
    str,
    typer.Option(
        "--metric", metavar="METRIC",
        help="The metric --precision applies to: any metric of summary.csv, e.g. "
        "revenue_kept, gross_profit, fill_rate, churn_rate, storage_cost, mean_wait_days "
        "(docs/results-format.md lists them all; a wrong name lists them too).",
    ),
]
MaxRepsOption = Annotated[
    int, typer.Option("--max-reps", min=1, metavar="N", help="Cap on replications per point.")
]
SweepResumeOption = Annotated[
    Path | None,
    typer.Option("--resume", metavar="DIR", help="Complete the interrupted sweep in DIR."),
]


def sweep_command(
    ctx: typer.Context,
    file: SweepFileArgument = None,
    vary: VaryOption = None,
    policies: SweepPoliciesOption = None,
    reps: SweepRepsOption = None,
    seed: SeedOption = None,
    jobs: JobsOption = 0,
    scheduler: SchedulerOption = None,
    precision: PrecisionOption = None,
    metric: MetricOption = "revenue_kept",
    max_reps: MaxRepsOption = 200,
    out: OutOption = None,
    resume: SweepResumeOption = None,
    results_root: ResultsRootOption = Path("results"),
    no_report: NoReportOption = False,
    quiet: QuietOption = False,
    allow_code: AllowCodeOption = False,
) -> None:
    """Run a scenario over a grid of parameter values; say which policy wins where."""
    from . import sweep as sw

    try:
        scenario, values, folder, settings = _inputs(
            file, vary or [], policies, reps, seed, out, resume, results_root, metric, precision,
            allow_code,
        )
    except ScenarioError as error:
        raise _fail(str(error), EXIT_BAD_INPUT) from None
    except sw.SweepError as error:
        raise _fail(f"error: {error}", EXIT_BAD_INPUT) from None
    if settings is not None:  # a resumed sweep keeps its own precision settings
        precision = settings.get("target")
        metric = settings.get("metric", metric)
        max_reps = settings.get("max_replications", max_reps)
    for message in sw.overridden(scenario, values):  # type: ignore[arg-type]
        _say(f"warning: {message}", err=True)
    result = _run_sweep(
        ctx, scenario, values, folder, jobs=jobs, scheduler=scheduler, quiet=quiet,
        resume=resume is not None, precision=precision, metric=metric,
        max_replications=max_reps, search_dir=file.parent if file is not None else None,
        source=str(file) if file is not None else str(resume), report=not no_report,
        allow_code=allow_code,
    )
    _print_outcome(result, quiet=quiet)


def _run_sweep(ctx: typer.Context, scenario: object, values: dict[str, list[object]],
               folder: Path, *, jobs: int, scheduler: str | None, quiet: bool,
               **options: Any) -> SweepResult:
    """:func:`stockout.sweep.sweep` on the executor of ``--jobs`` / ``--scheduler``, with
    progress bars; its errors said as the command's (exit 2, or 130 / 1 when stopped)."""
    from . import sweep as sw
    from .executors import ClusterUnavailable

    workers = jobs or os.cpu_count() or 1
    try:
        with (
            warnings.catch_warnings(),
            open_executor(workers, scheduler, debug=_debug(ctx)) as executor,
            _sweep_progress(sys.stderr.isatty() and not quiet) as progress,
        ):
            warnings.simplefilter("ignore", sw.OverriddenParameterWarning)  # said above
            return sw.sweep(
                scenario,  # type: ignore[arg-type]
                values,  # type: ignore[arg-type]
                jobs=workers,
                executor=executor,
                out_dir=folder,
                progress=progress,
                command=getattr(ctx.find_root().obj, "argv", ()),
                **options,
            )
    except ScenarioError as error:
        raise _fail(str(error), EXIT_BAD_INPUT) from None
    except (sw.SweepError, ClusterUnavailable) as error:
        raise _fail(f"error: {error}", EXIT_BAD_INPUT) from None
    except sw.SweepInterrupted as stopped:
        raise _interrupted(stopped) from None


def _inputs(
    file: Path | None,
    vary: list[str],
    policies: str | None,
    reps: int | None,
    seed: int | None,
    out: Path | None,
    resume: Path | None,
    results_root: Path,
    metric: str,
    precision: float | None,
    allow_code: bool = False,
) -> tuple[object, dict[str, list[object]], Path, dict[str, object] | None]:
    """The scenario, the grid, the folder and (when resuming) the stored precision settings.

    Code the scenario would run is refused (unless allowed), and a grid too big to finish,
    before any folder is made."""
    from . import api
    from . import sweep as sw
    from .cli_trust import check_code_allowed
    from .results_io import new_run_dir

    if resume is not None:
        if file is not None or vary or policies or reps is not None or seed is not None:
            raise sw.SweepError(
                "--resume takes the scenario and the grid from the sweep folder: "
                "give only --resume DIR (and --jobs / --scheduler)"
            )
        scenario, values, meta = sw.load_sweep_config(resume)
        check_code_allowed(scenario, allow_code, None)
        return scenario, values, resume, (meta.get("precision") or {})
    if file is None:
        raise sw.SweepError("give a scenario file (or --resume DIR)")
    if not vary:
        raise sw.SweepError("name at least one parameter: --vary PATH=v1,v2,...")
    names = [n.strip() for n in policies.split(",") if n.strip()] if policies else None
    with stage("load"):
        scenario = api.with_overrides(
            api.load(file),
            replications=reps,
            seed=seed,
            policies=names,
            source=f"{file} (with command-line options)",
        )
    values: dict[str, list[object]] = {}
    for option in vary:
        path, parsed = sw.parse_vary(option, str(file))
        if path in values:
            raise sw.SweepError(f"--vary {path} is given twice: list all its values in one --vary")
        values[path] = list(parsed)
    # Everything is checked before a folder is made: a bad path, value, metric, a grid too big
    # to finish, or code the user did not allow leaves nothing.
    sw.check_sweep(scenario, values, str(file), metric=metric, precision=precision)
    check_code_allowed(scenario, allow_code, file.parent)
    if out is not None:
        if out.exists() and not out.is_dir():
            raise sw.SweepError(f"{out}: exists and is not a folder; choose a new --out folder")
        if out.exists() and any(out.iterdir()):
            raise sw.SweepError(f"{out}: exists and is not empty; choose a new --out folder")
        folder = out
    else:
        folder = new_run_dir(results_root, f"{scenario.scenario.name}-sweep")
    return scenario, values, folder, None


def _interrupted(stopped: object) -> typer.Exit:
    from .sweep import SweepInterrupted

    assert isinstance(stopped, SweepInterrupted)
    done = ", ".join(str(k) for k in stopped.finished) or "none"
    _say(
        f"{stopped.reason}: {len(stopped.finished)} of {stopped.total} points finished ({done})",
        err=True,
    )
    if stopped.out_dir is not None:
        _say(
            f"finished points are saved in {stopped.out_dir}; complete the sweep with "
            f"`stockout sweep --resume {stopped.out_dir}`",
            err=True,
        )
    if stopped.reason == "interrupted":
        code = EXIT_INTERRUPTED
    else:
        code = EXIT_BAD_INPUT if stopped.bad_input else EXIT_INTERNAL
    return typer.Exit(code)


def _print_outcome(result: SweepResult, *, quiet: bool) -> None:
    if quiet:
        _say(str(result.out_dir))
        return
    from .terminal import console, sweep_tables

    out = console()
    for part in sweep_tables(result, out.width):
        out.print(part)
    if result.precision is not None:
        p = result.precision
        if p["met"]:
            _say(
                f"precision: met at every point (relative half-width of {p['metric']} "
                f"≤ {p['target']:g} for every policy)"
            )
        else:
            capped = ", ".join(str(k) for k in p["points_capped"])
            _say(
                f"precision: NOT met at point(s) {capped}: stopped at the cap of "
                f"{p['max_replications']} replications (raise --max-reps)"
            )
    if result.out_dir is not None:
        if not (result.out_dir / "report.html").is_file():
            _say("(no report.html)")
        _say(f"sweep: {result.out_dir}")


def register(app: typer.Typer) -> None:
    """Add ``stockout sweep`` to ``app``."""
    app.command("sweep")(sweep_command)
