"""The results folder (``docs/results-format.md``): the only module that writes it.

``results/<scenario>/<run-id>/`` or an explicit ``--out`` folder holds ``scenario.toml``, the CSV
tables, ``report.html`` and, written last, ``manifest.json``: a folder without a manifest is
incomplete. Every file is written atomically (a temporary file in the same folder, then
``os.replace``). Floats are written with full (round-trip) precision, so the same seed gives
byte-identical tables.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import secrets
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import __version__
from .claim import CannotCreate, Claim, FolderInUse, claim_folder
from .stages import stage

if TYPE_CHECKING:
    from .api import Results

MANIFEST = "manifest.json"
SCENARIO_FILE = "scenario.toml"
REPORT_FILE = "report.html"
RUN_ID_FORMAT = "%Y%m%d-%H%M%S"


NOT_EMPTY_ADVICE = (
    "a run never overwrites another: choose a new --out folder, or run without --out to get a "
    "fresh results/<scenario>/<run-id>/ folder"
)


class OutDirError(ValueError):
    """The output folder cannot be used (it exists and is not empty, or is a file)."""


class ReportError(RuntimeError):
    """The report could not be written; the tables and the manifest were kept.

    The original exception is the ``__cause__``.
    """

    def __init__(self, out_dir: Path, error: BaseException) -> None:
        self.out_dir = out_dir
        super().__init__(f"the report could not be written: {type(error).__name__}: {error}")


# ---------------------------------------------------------------------------------------------
# The folder
# ---------------------------------------------------------------------------------------------


def check_out_dir(path: Path) -> None:
    """Raise :class:`OutDirError` unless ``path`` is missing or an empty directory."""
    if path.is_dir():
        if any(path.iterdir()):
            raise OutDirError(f"{path}: output folder exists and is not empty; {NOT_EMPTY_ADVICE}")
    elif path.exists() or path.is_symlink():
        raise OutDirError(f"{path}: exists and is not a folder; choose another --out")


def prepare_out_dir(path: Path) -> Path:
    """Create ``path`` (with its parents) if needed and return it; refuse a file or a folder
    that is not empty (:class:`OutDirError`)."""
    check_out_dir(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutDirError(f"{path}: cannot create the output folder: {error}") from error
    return path


def claim_out_dir(path: Path) -> Claim:
    """Claim ``path`` for this run (made with its parents if missing): refuse a file, a folder
    that is not empty, or one a live run holds (:class:`OutDirError`, exit 2)."""
    return _claim(path, must_be_new=False)


def _claim(path: Path, *, must_be_new: bool) -> Claim:
    try:
        return claim_folder(path, must_be_new=must_be_new)
    except FolderInUse as error:
        raise OutDirError(str(error)) from None
    except CannotCreate as error:
        raise OutDirError(f"{path}: cannot create the output folder: {error}") from error
    except NotADirectoryError as error:
        raise OutDirError(f"{path}: exists and is not a folder; choose another --out") from error
    except FileExistsError as error:
        if must_be_new:
            raise
        raise OutDirError(
            f"{path}: output folder exists and is not empty (it {error.strerror}); "
            f"{NOT_EMPTY_ADVICE}"
        ) from None
    except OSError as error:
        raise OutDirError(f"{path}: cannot create the output folder: {error}") from error


def claim_new_run_dir(results_root: Path, scenario_name: str) -> Claim:
    """Make and claim a fresh ``results_root/<scenario_name>/<run-id>/``."""
    parent = results_root / scenario_name
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutDirError(f"{parent}: cannot create the results folder: {error}") from error
    for _ in range(100):
        try:
            return _claim(parent / new_run_id(), must_be_new=True)
        except FileExistsError:
            continue
    raise OutDirError(f"{parent}: could not find an unused run folder name")


def new_run_id(now: datetime | None = None) -> str:
    """``20261126-153012-ab12``: local time plus a random suffix."""
    stamp = (now or datetime.now()).strftime(RUN_ID_FORMAT)
    return f"{stamp}-{secrets.token_hex(2)}"


def new_run_dir(results_root: Path, scenario_name: str) -> Path:
    """Create and return a fresh ``results_root/<scenario_name>/<run-id>/``; an existing folder
    is never reused."""
    claim = claim_new_run_dir(results_root, scenario_name)
    claim.release()
    return claim.folder


# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------


def _file_mode() -> int:
    """Permissions of a new file under the current umask (mkstemp would make it private)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _write_special(path: Path, data: bytes) -> bool:
    """Write into ``path`` if it is a device or a pipe and say so; refuse a folder."""
    if not path.exists() or path.is_file():
        return False
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
    with open(path, "wb") as handle:
        handle.write(data)
    return True


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename, so
    ``path`` is either absent or complete, even if the process is interrupted.

    A ``path`` that exists and is not a regular file is never replaced: a folder is an
    :class:`IsADirectoryError`; a device or a pipe (``/dev/stdout``) is written into."""
    if _write_special(path, data):
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV with full-precision floats (shortest round-trip repr), empty cells for NaN and ``\\n``
    line ends: the same frame always gives the same bytes.

    The bytes are those of ``frame.to_csv(index=False, na_rep="", lineterminator="\\n")``; a
    frame of plain text, float and integer columns that needs no quoting is formatted column by
    column (``repr`` of each float, as pandas writes them), three times faster than pandas' writer
    on the hundreds of thousands of rows of a long run's time series."""
    cells = _csv_columns(frame)
    if cells is None:
        return frame.to_csv(index=False, na_rep="", lineterminator="\n").encode("utf-8")
    head = ",".join(str(c) for c in frame.columns) + "\n"
    rows = map(",".join, zip(*cells, strict=True))
    return (head + "".join(map("{}\n".format, rows))).encode("utf-8")


_NEEDS_QUOTES = re.compile(r'[",\r\n]')


def _csv_columns(frame: pd.DataFrame) -> list[list[str]] | None:
    """Each column's cells as text, or None when pandas' writer must do it (quoting, one
    column, a column type other than text, float or integer)."""
    if frame.shape[1] < 2 or any(_NEEDS_QUOTES.search(str(c)) for c in frame.columns):
        return None
    cells: list[list[str]] = []
    done: dict[int, list[str]] = {}  # a column equal to an earlier one (one replication's spread)
    for _, column in frame.items():
        values = column.to_numpy()
        if values.dtype.kind == "f":
            same = next((k for k, c in enumerate(cells) if _same(values, frame.iloc[:, k])), None)
            if same is not None:
                cells.append(done[same])
                continue
            text = list(map(repr, values.tolist()))
            for i in np.flatnonzero(np.isnan(values)).tolist():
                text[i] = ""
        elif values.dtype.kind in "iu":
            text = list(map(str, values.tolist()))
        elif values.dtype == object and all(type(v) is str for v in values.tolist()):
            text = values.tolist()
            if any(_NEEDS_QUOTES.search(v) for v in set(text)):
                return None
        else:
            return None
        done[len(cells)] = text
        cells.append(text)
    return cells


def _same(values: np.ndarray, other: pd.Series) -> bool:
    """Bit for bit the same floats (so -0.0 and 0.0 differ, as their text does)."""
    theirs = other.to_numpy()
    if theirs.dtype != values.dtype:
        return False
    bits = f"i{values.dtype.itemsize}"
    return bool(np.array_equal(values.view(bits), theirs.view(bits)))


# ---------------------------------------------------------------------------------------------
# A small TOML writer for the resolved scenario
# ---------------------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}  # fmt: skip


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _escape(char: str, keep: str = "") -> str:
    if char in keep:
        return char
    if char in _ESCAPES:
        return _ESCAPES[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\u{ord(char):04x}"
    return char


def _toml_string(text: str) -> str:
    return '"' + "".join(_escape(c) for c in text) + '"'


def _toml_multiline(text: str) -> str:
    """A multi-line basic string; a leading newline right after the quotes is trimmed by TOML."""
    return '"""\n' + "".join(_escape(c, keep="\n\t") for c in text) + '"""'


def _toml_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _toml_value(value: Any) -> str:
    """An inline TOML value (string, number, bool, date, array or inline table)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _toml_float(value)
    if isinstance(value, str):
        return _toml_multiline(value) if "\n" in value else _toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        items = ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _is_flat_table(value: Any) -> bool:
    """A table small enough to write inline: a distribution, or one without nested tables."""
    if not isinstance(value, Mapping):
        return False
    if "dist" in value:
        return True
    return all(not isinstance(v, Mapping | list) or _is_inline(v) for v in value.values())


def _is_inline(value: Any) -> bool:
    if isinstance(value, Mapping):
        return "dist" in value or not value
    if isinstance(value, list):
        return all(not isinstance(v, Mapping | list) or _is_flat_table(v) for v in value)
    return True


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


#: Keys written first in their table, so each table opens with what it is.
_LEADING_KEYS = ("name", "id", "rule", "availability", "dist")


def _ordered(table: Mapping[str, Any]) -> list[tuple[str, Any]]:
    lead = [(k, table[k]) for k in _LEADING_KEYS if k in table]
    return lead + [(k, v) for k, v in table.items() if k not in _LEADING_KEYS]


def _toml_table(table: Mapping[str, Any], path: list[str]) -> Iterator[str]:
    """Lines of one table: its inline keys, then sub-tables, then arrays of tables (TOML needs
    a table's own keys before any header). Distributions, empty tables and small lists of
    tables (spikes, windows, deliveries) stay inline."""
    subtables: list[tuple[str, Any]] = []
    for key, value in _ordered(table):
        if (isinstance(value, Mapping) or _is_table_array(value)) and not _is_inline(value):
            subtables.append((key, value))
        else:
            yield f"{_toml_key(key)} = {_toml_value(value)}"
    subtables.sort(key=lambda item: isinstance(item[1], list))
    for key, value in subtables:
        yield from _toml_section(value, [*path, key])


def _toml_section(
    value: Mapping[str, Any] | list[Mapping[str, Any]], path: list[str]
) -> Iterator[str]:
    """``[a.b]`` for a table, one ``[[a.b]]`` per item for an array of tables."""
    name = ".".join(_toml_key(k) for k in path)
    for item, header in (
        [(value, f"[{name}]")]
        if isinstance(value, Mapping)
        else [(item, f"[[{name}]]") for item in value]
    ):
        yield ""
        yield header
        yield from _toml_table(item, path)


def to_toml(data: Mapping[str, Any], header: str = "") -> str:
    """``data`` as a TOML document (``None`` values must already be left out; empty top-level
    lists are left out too).

    >>> print(to_toml({"scenario": {"name": "x", "horizon_days": 10.0},
    ...                "products": [{"id": "a", "quantity": {"dist": "constant", "value": 1}}]}))
    [scenario]
    name = "x"
    horizon_days = 10.0
    <BLANKLINE>
    [[products]]
    id = "a"
    quantity = { dist = "constant", value = 1 }
    <BLANKLINE>
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    body: list[str] = []
    for key, value in data.items():  # top level: every table a section, in the given order
        if isinstance(value, Mapping) or _is_table_array(value):
            body.extend(_toml_section(value, [key]))
        elif not (isinstance(value, list) and not value):  # an empty list is the default
            body[:0] = [f"{_toml_key(key)} = {_toml_value(value)}"]
    while body and body[0] == "":
        body.pop(0)
    if lines and body:
        lines.append("")
    return "\n".join(lines + body) + "\n"


# ---------------------------------------------------------------------------------------------
# The whole folder
# ---------------------------------------------------------------------------------------------


def _tables(results: Results) -> dict[str, pd.DataFrame]:
    return {
        "summary.csv": results.summary,
        "replications.csv": results.replications,
        "timeseries.csv": results.timeseries,
        "waits.csv": results.waits,
        "disruptions.csv": results.windows,
    }


def scenario_toml(results: Results) -> str:
    """The scenario exactly as run, as TOML that loads back to an equal Scenario."""
    from .scenario.load import scenario_dict

    header = (
        f"Scenario as run by stockout {__version__} (command-line overrides applied).\n"
        "Run it again with: stockout run scenario.toml"
    )
    return to_toml(scenario_dict(results.scenario), header)


def _write_report(out_dir: Path, manifest: dict[str, Any]) -> BaseException | None:
    """Build report.html; None when written or when the report package is not available."""
    try:
        from .report import write_report
    except (ImportError, AttributeError):
        return None
    try:
        write_report(out_dir, manifest=manifest)
    except Exception as error:  # noqa: BLE001 - the tables are kept, the error is reported
        return error
    return None


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def manifest(
    results: Results,
    *,
    command: Sequence[str],
    started: datetime,
    finished: datetime,
    jobs: int,
    files: Sequence[str],
    run_id: str | None = None,
    checksums: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The manifest's content (keys of ``docs/results-format.md``); ``elapsed_seconds`` is the
    wall time from the start of the run to ``finished``."""
    meta = results.scenario.scenario
    elapsed = (finished - started).total_seconds()
    return {
        "stockout_version": __version__,
        "scenario": meta.name,
        "title": meta.title,
        "seed": meta.seed,
        "replications": meta.replications,
        "policies": results.policies,
        "baseline": results.baseline,
        "horizon_days": meta.horizon_days,
        "warmup_days": meta.warmup_days,
        "command": list(command),
        "started": _iso(started),
        "finished": _iso(finished),
        "elapsed_seconds": round(elapsed, 3),
        "jobs": jobs,
        "files": list(files),
        "run_id": run_id,
        "checksums": dict(checksums or {}),
    }


def write_results(
    out_dir: Path,
    results: Results,
    command: Sequence[str] = (),
    started: datetime | None = None,
    jobs: int | None = None,
    *,
    report: bool = True,
    claim: Claim | None = None,
) -> list[str]:
    """Write the results folder into the existing, empty ``out_dir``; return the file names.

    Order: ``scenario.toml``, the CSV tables, ``report.html`` (unless ``report`` is false),
    then ``manifest.json`` last: a folder without it is incomplete. The manifest records a run
    id and the SHA-256 of every table, so a reader can tell that all files come from this run.
    If the report fails, the tables and the manifest are kept and :class:`ReportError` is
    raised. ``claim`` (this run's claim on ``out_dir``) is released once the manifest is
    written, and counts what was written.
    """
    started = started or results.started or datetime.now().astimezone()
    jobs = jobs if jobs is not None else results.jobs
    files: list[str] = []
    checksums: dict[str, str] = {}
    run_id = new_run_id()

    def put(name: str, data: bytes) -> None:
        if claim is not None:
            claim.written.append(name)
        write_atomic(out_dir / name, data)
        files.append(name)
        checksums[name] = hashlib.sha256(data).hexdigest()

    def content() -> dict[str, Any]:
        return manifest(
            results,
            command=command,
            started=started,
            finished=datetime.now().astimezone(),
            jobs=jobs,
            files=[*files, REPORT_FILE] if report else list(files),
            run_id=run_id,
            checksums=checksums,
        )

    with stage("summarise"):
        results.replications, results.summary, results.waits, results.windows  # noqa: B018
    with stage("timeseries"):
        results.timeseries  # noqa: B018 - computed (and cached) here, timed as its own stage
    with stage("write"):
        put(SCENARIO_FILE, scenario_toml(results).encode("utf-8"))
        for name, frame in _tables(results).items():
            put(name, csv_bytes(frame))
    with stage("report"):
        report_error = _write_report(out_dir, content()) if report else None
    if report and (out_dir / REPORT_FILE).is_file():
        files.append(REPORT_FILE)
        if claim is not None:
            claim.written.append(REPORT_FILE)
    final = content()
    final["files"] = list(files)
    text = json.dumps(final, indent=2, allow_nan=False) + "\n"
    if claim is not None:
        claim.written.append(MANIFEST)
    with stage("write"):
        write_atomic(out_dir / MANIFEST, text.encode("utf-8"))
    if claim is not None:
        claim.release()
    if report_error is not None:
        raise ReportError(out_dir, report_error) from report_error
    return [*files, MANIFEST]
