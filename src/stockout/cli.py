"""The ``stockout`` command: parse arguments, call :mod:`stockout.api`, print.

Exit codes: 0 ok; 1 internal error (traceback with ``--debug`` or ``STOCKOUT_DEBUG=1``); 2 bad
input (scenario problems, bad option values, an output folder that is not empty), always with a
message naming the file and key path, never a traceback; 130 interrupted (Ctrl-C, or SIGTERM:
handled the same way).
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import signal
import sys
import threading
import time
import traceback
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from typer.core import TyperArgument, TyperCommand

from . import __version__, stages
from .cli_trust import AllowCodeOption, check_code_allowed
from .safe_text import clean, clean_json
from .scenario.errors import Problem, ScenarioError, did_you_mean
from .stages import stage

if TYPE_CHECKING:

    from .api import Results
    from .claim import Claim
    from .results_io import ReportError
    from .scenario.schema import Scenario

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
DEFAULT_TRACE_DAYS = 30.0

@dataclass
class State:
    """What every command needs to know about the invocation."""

    debug: bool = False
    argv: list[str] = field(default_factory=lambda: ["stockout"])


class InputError(Exception):
    """Bad input found by the command line itself; the message says what to change."""


class _PlainArgument(TyperArgument):
    """An argument shown as its metavar (``FILE``, ``[DIR]``, ``FILES...``), not as typer's
    ``{file}`` and ``file <path>``."""

    def _plain(self) -> str:
        name = self.metavar or (self.name or "").upper()
        return name + ("..." if self.nargs != 1 else "")

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        return [self._plain() if self.required else f"[{self._plain()}]"]

    def get_help_record(self, ctx: Any) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        return None if record is None else (self._plain(), record[1])


class _Command(TyperCommand):
    """Every stockout command: arguments shown plainly (see :class:`_PlainArgument`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument):
                param.__class__ = _PlainArgument


app = typer.Typer(
    name="stockout",
    help="Simulate what to do when a product runs out: backorder, out of stock, or pre-order.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _out() -> Console:
    """stdout, as wide as the terminal (``COLUMNS``; 80 in a pipe or a log)."""
    from .terminal import console

    return console()


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _say(text: str, *, err: bool = False) -> None:
    """Print plain text (no rich markup: scenario text and paths may contain brackets; control
    characters from files shown as escapes, never sent to the terminal)."""
    typer.echo(clean(text), err=err)


def _state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, State) else State()


def _show_version(value: bool) -> None:
    if value:
        _say(f"stockout {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version."),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show tracebacks of internal errors (or STOCKOUT_DEBUG=1)."),
    ] = False,
) -> None:
    """Simulate what to do when a product runs out: backorder, out of stock, or pre-order."""


# ---------------------------------------------------------------------------------------------
# stockout run
# ---------------------------------------------------------------------------------------------


def _load(path: Path) -> Scenario:
    """Load a scenario file; an unreadable file is a ScenarioError like any other problem."""
    from . import api

    try:
        return api.load(path)
    except IsADirectoryError:
        raise ScenarioError([Problem(str(path), "", "is a folder, not a scenario file")]) from None
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), "", "no such file")]) from None
    except OSError as error:
        message = f"cannot read the file: {error.strerror or error}"
        raise ScenarioError([Problem(str(path), "", message)]) from None


def _split_policies(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr (runs done / total, ETA), or nothing."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=_err(), transient=True) as bar:
        task = bar.add_task("simulating", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _remove_if_empty(made: Sequence[Path]) -> None:
    """Remove the folders of ``made`` (those above the results folder that this command created:
    ``results/<scenario>``, the results root), innermost first, while they are empty."""
    for path in made:
        try:
            path.rmdir()  # only an empty folder goes
        except OSError:
            return


def _interrupted(claim: Claim, made: Sequence[Path] = ()) -> NoReturn:
    """Stopped: what this run wrote is kept (marked incomplete: no manifest.json); a folder it
    made and wrote nothing into goes. Nothing of another run is touched."""
    folder = claim.folder
    if claim.written:
        claim.release()
        _say(f"interrupted: folder {folder} is incomplete (no manifest.json)", err=True)
    else:
        claim.abandon()
        _remove_if_empty(made)
        _say("interrupted: no results written", err=True)
    raise typer.Exit(EXIT_INTERRUPTED)


@app.command("run")
def run_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Scenario file (TOML).", show_default=False)
    ],
    policies: Annotated[
        str | None,
        typer.Option("--policies", metavar="A,B", help="Run only these policies, in this order."),
    ] = None,
    reps: Annotated[
        int | None, typer.Option("--reps", min=1, metavar="N", help="Number of replications.")
    ] = None,
    seed: SeedOption = None,
    jobs: JobsOption = 0,
    out: OutOption = None,
    scheduler: SchedulerOption = None,
    horizon: Annotated[
        float | None, typer.Option(
            "--horizon", metavar="DAYS", help="Horizon in days (warm-up included)."
        )
    ] = None,
    results_root: ResultsRootOption = Path("results"),
    no_report: NoReportOption = False,
    quiet: QuietOption = False,
    allow_code: AllowCodeOption = False,
) -> None:
    """Run a scenario: every policy, every replication; write a results folder."""
    from . import api

    with stage("load"):
        scenario = api.with_overrides(
            _load(file),
            replications=reps,
            seed=seed,
            horizon_days=horizon,
            policies=_split_policies(policies),
            source=f"{file} (with command-line options)",
        )
    check_code_allowed(scenario, allow_code, file.parent)
    claim, made = _claim_run_folder(scenario, out, results_root)
    workers = jobs or os.cpu_count() or 1
    with _run_failures(ctx, claim, made):
        with (
            open_executor(workers, scheduler, debug=_state(ctx).debug) as executor,
            _progress_bar(sys.stderr.isatty() and not quiet) as progress,
        ):
            results = api.run(
                scenario, jobs=workers, progress=progress, search_dir=file.parent,
                executor=executor, allow_code=allow_code,
            )
    report_error = _save_run(ctx, results, claim, quiet=quiet, report=not no_report)
    _print_outcome(results, claim.folder, quiet=quiet, report=not no_report)
    if report_error is not None:
        _report_failed(ctx, report_error)


def _claim_run_folder(scenario: Scenario, out: Path | None, results_root: Path
                      ) -> tuple[Claim, list[Path]]:
    """The run's folder, claimed, and the folders above it made for it (removed again if the
    run ends with nothing written).

    The folder is made before the simulation, so a place where the results cannot be written
    is found before the work is done, not after; it is removed again if still empty. It is
    claimed for this run: a second run into the same folder stops at once (exit 2)."""
    from . import results_io

    if out is not None:
        made = [p for p in out.parents if not p.exists()] if not out.exists() else []
        return results_io.claim_out_dir(out), made
    parent = results_root / scenario.scenario.name
    made = [p for p in (parent, results_root) if not p.exists()]
    return results_io.claim_new_run_dir(results_root, scenario.scenario.name), made


@contextmanager
def _run_failures(ctx: typer.Context, claim: Claim, made: Sequence[Path]) -> Iterator[None]:
    """While the simulation runs: Ctrl-C, a lost cluster or any error leaves no folder that
    looks like a result (see :func:`_interrupted`)."""
    from .executors import ExecutorError

    try:
        yield
    except KeyboardInterrupt:
        _interrupted(claim, made)
    except ExecutorError as error:  # the cluster was lost, or workers kept dying
        claim.abandon()
        _remove_if_empty(made)
        _say(f"error: {error}", err=True)
        _say("no results written (a run is saved only when complete); run it again", err=True)
        if _state(ctx).debug:
            traceback.print_exception(error, file=sys.stderr)
        raise typer.Exit(EXIT_INTERNAL) from None
    except BaseException:
        claim.abandon()
        _remove_if_empty(made)
        raise


def _save_run(ctx: typer.Context, results: Results, claim: Claim, *, quiet: bool,
              report: bool) -> ReportError | None:
    """Write the results folder (the claim released in every case); a report that could not
    be drawn is returned, to be said after the results are printed."""
    from . import results_io

    folder = claim.folder
    report_error: ReportError | None = None
    try:
        results_io.write_results(folder, results, command=_state(ctx).argv,
                                 report=report, claim=claim)
    except KeyboardInterrupt:
        _interrupted(claim)
    except results_io.ReportError as error:
        report_error = error
    except OSError as error:  # disk full, a folder made read-only during the run
        claim.release()
        _save_failed(results, folder, error, quiet)
    finally:
        claim.release()
    return report_error


def _print_outcome(results: Results, folder: Path, *, quiet: bool, report: bool) -> None:
    if quiet:
        _say(str(folder))
        return
    from .terminal import run_tables

    console = _out()
    for part in run_tables(results, console.width):
        console.print(part)
    verdict = _one_line_verdict(folder)
    if verdict:
        console.print(Text(clean(f"verdict: {verdict}")))
    _say(f"results: {folder}")
    if (folder / "report.html").is_file():
        _say(f"open {_shown(folder / 'report.html')}")
    elif report:
        _say("(no report.html: the report package is not available)")


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _one_line_verdict(folder: Path) -> str | None:
    """The report's headline, from the folder just written: who keeps the most revenue (and the
    most profit, when that is another policy), and whether it is significant."""
    try:
        from .report import load_tables
        from .report.verdict import best_policy, winner_sentence

        tables = load_tables(folder)
    except Exception:  # noqa: BLE001 - a verdict is a courtesy: the table above stands alone
        return None
    sentences = [winner_sentence(tables, "revenue_kept")]
    if best_policy(tables, "gross_profit") != best_policy(tables, "revenue_kept"):
        sentences.append(winner_sentence(tables, "gross_profit"))
    return " ".join(s for s in sentences if s) or None


def _report_failed(ctx: typer.Context, error: ReportError) -> NoReturn:
    cause = error.__cause__
    if isinstance(cause, OSError):  # a full disk: as at the tables stage, the place is at fault
        _say(f"error: {_cannot_write(cause, error.out_dir / 'report.html')}", err=True)
        _say(f"the tables and manifest are kept in {error.out_dir}; once there is room, "
             f"write the report with: stockout report {error.out_dir}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    _say(f"error: {error}", err=True)
    _say(
        f"the tables and manifest are kept in {error.out_dir}; "
        f"rebuild the report with: stockout report {error.out_dir}",
        err=True,
    )
    if _state(ctx).debug:
        traceback.print_exception(error.__cause__ or error, file=sys.stderr)
    raise typer.Exit(EXIT_INTERNAL)


def _cannot_write(error: OSError, where: Path) -> str:
    """A failed write in plain words, with what to do about it."""
    reason = error.strerror or str(error)
    named = Path(str(error.filename)) if error.filename else None
    if named is not None and not named.name.startswith("."):  # not our temporary file
        where = named
    if error.errno == errno.ENOSPC or error.errno == errno.EDQUOT:
        advice = "free some disk space, or choose another place"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        advice = "choose a place you can write to"
    else:
        advice = "choose another place"
    return f"{where}: cannot write ({reason}); {advice}"


def _write_output(out: Path, text: str) -> None:
    """Write a command's output file (``--out``) atomically; a bad place is bad input."""
    from .results_io import write_atomic

    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name for --out")
    if not out.parent.is_dir():
        raise InputError(f"{out.parent}: no such folder for --out")
    try:
        write_atomic(out, text.encode("utf-8"))
    except OSError as error:
        raise InputError(_cannot_write(error, out)) from None


def _save_failed(results: Results, folder: Path, error: OSError, quiet: bool) -> NoReturn:
    """The results could not be written: show what was computed, say what to do, exit 2."""
    if not quiet:
        from .terminal import run_tables

        console = _out()
        for part in run_tables(results, console.width):
            console.print(part)
    _say(f"error: {_cannot_write(error, folder)}", err=True)
    if folder.is_dir():
        _say(f"{folder} is incomplete (no manifest.json)", err=True)
    _say("the simulation finished; only the table above was kept: run it again once the "
         "results can be written", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


# ---------------------------------------------------------------------------------------------
# validate, schema, scenarios, report
# ---------------------------------------------------------------------------------------------


@app.command("trace")
def trace_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Scenario file (TOML).", show_default=False)
    ],
    policy: Annotated[
        str | None, typer.Option(
            "--policy", metavar="NAME", help="Policy to follow (default: the baseline)."
        )
    ] = None,
    days: Annotated[
        float | None, typer.Option(
            "--days", min=0, metavar="DAYS",
            help="Tell the story up to this day (the default: 30 days, unless --orders).",
        )
    ] = None,
    orders: Annotated[
        int | None, typer.Option(
            "--orders", min=1, metavar="N",
            help="Tell the story of the first N orders instead.",
        )
    ] = None,
    replication: Annotated[
        int, typer.Option(
            "--replication", min=0, metavar="K", help="Which replication (same seeds as run)."
        )
    ] = 0,
    product: Annotated[
        str | None, typer.Option("--product", metavar="ID", help="Only this product's story.")
    ] = None,
    fmt: Annotated[
        str, typer.Option(
            "--format", metavar="text|csv|json", help="Output format: text, csv or json."
        )
    ] = "text",
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write to this file instead of the terminal."),
    ] = None,
    allow_code: AllowCodeOption = False,
) -> None:
    """Tell the story of individual orders in plain words (for teaching): the first 30 days,
    or --days DAYS, or the first --orders N orders."""

    if fmt not in ("text", "csv", "json"):
        raise InputError(f"--format must be text, csv or json, not {fmt!r}")
    if days is not None and orders is not None:
        raise InputError("give --days or --orders, not both (without either: the first 30 days)")
    if days is None and orders is None:
        days = DEFAULT_TRACE_DAYS
    scenario = _load(file)
    name = policy or scenario.baseline
    names = [p.name for p in scenario.policies]
    if name not in names:
        raise ScenarioError([Problem(
            str(file), "--policy",
            f"no policy named {name!r}; the scenario has {', '.join(names)}"
            + did_you_mean(name, names),
        )])
    products = [p.id for p in scenario.products]
    if product is not None and product not in products:
        raise ScenarioError([Problem(
            str(file), "--product",
            f"no product named {product!r}; the scenario has {', '.join(products)}"
            + did_you_mean(product, products),
        )])
    check_code_allowed(scenario, allow_code, file.parent)
    from .trace_stream import stream_trace, write_trace

    events = stream_trace(  # streamed: a long story is never held in memory whole
        scenario, name, replication=replication, days=days, orders=orders,
        search_dir=file.parent,
    )
    if product is not None:
        events = (e for e in events if e.product == product)
    if out is None:  # one sentence a line, never wrapped: it is meant to be read
        write_trace(events, fmt, sys.stdout, clean_json if fmt == "json" else clean)
        return
    count = _write_streamed(out, lambda handle: write_trace(events, fmt, handle))
    _say(f"{count} events written to {out}")


def _write_streamed(out: Path, write: Callable[[typing.IO[str]], int]) -> int:
    """Write a command's output file (``--out``) as it is produced, through a temporary file
    renamed into place at the end; a bad place is bad input."""
    import tempfile

    from .results_io import _file_mode

    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name for --out")
    if not out.parent.is_dir():
        raise InputError(f"{out.parent}: no such folder for --out")
    if out.exists() and not out.is_file():  # a device or a pipe: written into
        try:
            with open(out, "w", encoding="utf-8") as handle:
                return write(handle)
        except OSError as error:
            raise InputError(_cannot_write(error, out)) from None
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            count = write(handle)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, out)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(_cannot_write(error, out)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


@app.command("validate")
def validate_command(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILES", help="Scenario files.", show_default=False),
    ],
) -> None:
    """Check scenario files; print every problem, or `ok`. Exit 2 if any file is bad."""
    from .trust import describe

    bad = 0
    for path in files:
        try:
            scenario = _load(path)
        except ScenarioError as error:
            bad += 1
            _say(str(error))
            continue
        _say(f"{path}: ok")
        code = describe(scenario, path.parent)
        if code:
            _say("  runs Python code (only with --allow-code):")
            for line in code:
                _say(f"    {line}")
    if bad:
        _say(f"{bad} of {len(files)} file(s) have problems", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command("schema")
def schema_command(
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write to this file instead of stdout."),
    ] = None,
) -> None:
    """Print the JSON Schema of the scenario format (for editors)."""
    from . import api

    text = json.dumps(api.json_schema(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    _write_output(out, text)
    _say(str(out))


@app.command("scenarios")
def scenarios_command(
    folder: Annotated[
        Path | None,
        typer.Argument(
            metavar="FOLDER", help="Folder to list (default: ./scenarios and the bundled ones)."
        ),
    ] = None,
) -> None:
    """List scenario files, folder by folder: file name and a one-line summary each."""
    from . import api

    if folder is not None and not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    infos = api.list_scenarios(folder)
    if not infos:
        where = folder if folder is not None else "./scenarios or the bundled scenarios"
        _say(f"no scenario files found in {where}")
        return
    from .terminal import scenario_list

    console = _out()
    for part in scenario_list(infos, _shown, console.width):
        console.print(part)


@app.command("report")
def report_command(
    results_dir: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="A results folder of a run or a sweep.", show_default=False
        ),
    ],
    images: Annotated[
        str | None,
        typer.Option(
            "--images", metavar="png|svg",
            help="Also write each chart as an image in DIR/figures/, for slides "
            "(pip install 'stockout[images]').",
        ),
    ] = None,
) -> None:
    """Rebuild report.html of a run or sweep folder (--images: charts as PNG/SVG)."""
    from . import api

    if not results_dir.is_dir():
        raise InputError(f"{results_dir}: no such results folder")
    from .claim import holder_of

    holder = holder_of(results_dir)
    if holder is not None:
        raise InputError(
            f"{results_dir}: still being written by a run (pid {holder.get('pid', '?')} on "
            f"{holder.get('host', '?')}); build the report once it has finished"
        )
    from .report import MissingExtraError, ResultsFolderError, export_images
    from .report.folders import kind_of

    if images is not None and images not in ("png", "svg"):
        raise InputError(f"--images must be png or svg, not {images!r}")
    kind = kind_of(results_dir)
    if images is not None and kind is not None and kind.name != "run":
        raise InputError(f"--images exports a run's charts; {results_dir} is a {kind.name}")
    try:
        _say(str(api.build_report(results_dir)))
        if images is not None:
            for path in export_images(results_dir, images):  # type: ignore[arg-type]
                _say(str(path))
    except ResultsFolderError as error:  # a damaged folder: a missing table or column
        raise InputError(str(error)) from None
    except OSError as error:  # report.html cannot be written: a folder in its way, disk full
        raise InputError(_cannot_write(error, results_dir)) from None
    except MissingExtraError as error:  # kaleido is an optional extra
        raise InputError(str(error)) from None


from .cli_sweep import (  # noqa: E402, I001 - the sweep command lives in its own module
    JobsOption,
    NoReportOption,
    OutOption,
    QuietOption,
    ResultsRootOption,
    SchedulerOption,
    SeedOption,
    open_executor,
    register,
)

register(app)

from .cli_optimize import register as register_optimize  # noqa: E402

register_optimize(app)

#: One line each in ``stockout --help`` (the docstring's first sentence is too long for 80
#: columns); a command not listed here shows its docstring's start.
SHORT_HELP = {
    "run": "Run every policy of a scenario; write a results folder.",
    "sweep": "Run a scenario over a grid of values: which policy wins where.",
    "trace": "Tell the story of individual orders in plain words.",
    "validate": "Check scenario files; print every problem, or ok.",
    "schema": "Print the JSON Schema of the scenario format.",
    "scenarios": "List scenario files with a one-line summary each.",
    "report": "Rebuild report.html of a run or sweep folder.",
    "optimize": "Find each policy's best stock level; compare them there.",
}


def _plain_commands(typer_app: typer.Typer) -> None:
    """Every command (those added later too, by their module's ``register``) shows its arguments
    plainly and a one-line summary that is not cut."""
    for info in typer_app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = _Command
        name = info.name or ""
        if info.short_help is None and name in SHORT_HELP:
            info.short_help = SHORT_HELP[name]


_plain_commands(app)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _debug_requested(args: Sequence[str]) -> bool:
    env = os.environ.get("STOCKOUT_DEBUG", "").strip().lower()
    head = list(args[: args.index("--")]) if "--" in args else list(args)
    return env not in ("", "0", "false", "no") or "--debug" in head


def _without_debug(args: Sequence[str]) -> list[str]:
    """``--debug`` is accepted anywhere before ``--``; click sees it only at the front."""
    if "--" in args:
        cut = list(args).index("--")
        head, tail = list(args[:cut]), list(args[cut:])
    else:
        head, tail = list(args), []
    return [a for a in head if a != "--debug"] + tail


def _internal_error(error: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    _say(f"stockout: internal error: {type(error).__name__}: {error}", err=True)
    if not debug:
        _say("run again with --debug (or STOCKOUT_DEBUG=1) to see the traceback", err=True)
    return EXIT_INTERNAL


def _usage_errors() -> tuple[type[Exception], ...]:
    """Click's usage-error base class: vendored inside typer since 0.20-something, click's own
    before that."""
    found: list[type[Exception]] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(module).ClickException)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    try:  # these load numpy and pandas: a second or two in which Ctrl-C is likely
        from .policies.availability import PolicyError
        from .results_io import OutDirError
    except KeyboardInterrupt:
        _say("interrupted", err=True)
        return EXIT_INTERRUPTED

    clock = time.perf_counter()
    args = list(sys.argv[1:] if argv is None else argv)
    state = State(debug=_debug_requested(args), argv=["stockout", *args])
    command = typer.main.get_command(app)
    previous = _on_sigterm_interrupt()
    try:
        code = command.main(
            _without_debug(args), prog_name="stockout", standalone_mode=False, obj=state
        )
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _say("interrupted", err=True)
        return EXIT_INTERRUPTED
    except ScenarioError as error:
        _say(str(error), err=True)
        return EXIT_BAD_INPUT
    except PolicyError as error:  # a user's policy failed to load or decided the impossible
        _say(f"error: {error}", err=True)
        return EXIT_BAD_INPUT
    except (OutDirError, InputError) as error:
        _say(f"error: {error}", err=True)
        return EXIT_BAD_INPUT
    except _usage_errors() as error:  # bad options and arguments: exit 2
        error.show()  # type: ignore[attr-defined]
        return int(error.exit_code)  # type: ignore[attr-defined]
    except MemoryError as error:  # a scenario too big for this machine, not a bug to report
        if state.debug:
            traceback.print_exception(error, file=sys.stderr)
        _say(
            "error: the simulation needs more memory than this machine has"
            f"{f' ({error})' if str(error) else ''}; the demand at its peak (orders per day "
            "times spikes, seasonality, trend and population growth), the horizon or the "
            "replications are too large: make them smaller, or run on a larger machine",
            err=True,
        )
        return EXIT_BAD_INPUT
    except Exception as error:  # noqa: BLE001 - the last line of defence: no raw traceback
        return _internal_error(error, state.debug)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        stages.dump(clock)
    return code if isinstance(code, int) else EXIT_OK


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _on_sigterm_interrupt() -> signal.Handlers | Callable[..., object] | int | None:
    """Handle SIGTERM (``kill``, a batch system's time limit) like Ctrl-C: workers stopped, what
    was written kept, an empty output folder removed, exit 130. Returns the handler it replaced
    (None when signals cannot be handled here: not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN:  # the caller chose to ignore it (nohup-like): respect that
        return None
    signal.signal(signal.SIGTERM, _sigterm)
    return previous


if __name__ == "__main__":
    raise SystemExit(main())
