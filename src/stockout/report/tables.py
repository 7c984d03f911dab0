"""Read a results folder (docs/results-format.md) into DataFrames; the report's only input."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from ..records import METRICS as METRICS  # the glossary order, re-exported

ALL = "all"


_TEXT_COLUMNS = ("policy", "product", "series", "kind", "id", "metric")


class ResultsFolderError(ValueError):
    """A results folder is missing a file or a column the report needs, or a file is damaged."""


STATS = ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high")
_NUMERIC_COLUMNS = (
    "mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high", "day", "low", "high",
    "wait_low", "wait_high", "orders", "start_day", "end_day", "replication",
)  # fmt: skip


def _damaged(path: Path, error: BaseException) -> ResultsFolderError:
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return ResultsFolderError(
        f"{path}: cannot be read ({reason.splitlines()[0] if reason else type(error).__name__}); "
        "the results folder is damaged: run the scenario again into a new folder"
    )


#: The largest JSON file of a results folder read (a manifest is a few kilobytes).
MAX_JSON_BYTES = 16 * 1024 * 1024


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json_table(path: Path) -> dict[str, Any]:
    """A JSON file of the results folder that must hold one object (manifest, sweep.json)."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ValueError(f"larger than {MAX_JSON_BYTES // 2**20} MB")
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise _damaged(path, ValueError("nested too deeply")) from None
    except (OSError, ValueError) as error:  # unreadable, not UTF-8, not JSON, NaN
        raise _damaged(path, error) from None
    if not isinstance(data, dict):
        raise _damaged(path, ValueError("expected a JSON object"))
    return data


def _read_scenario(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except RecursionError:
        raise _damaged(path, ValueError("nested too deeply")) from None
    except (OSError, ValueError) as error:  # TOMLDecodeError and UnicodeDecodeError included
        raise _damaged(path, error) from None
    _check_shape(path, data)
    return data


def _check_shape(path: Path, data: dict[str, Any]) -> None:
    """The tables the report reads from scenario.toml have the shape a run writes."""
    problems = []
    if not isinstance(data.get("scenario", {}), dict):
        problems.append("[scenario] is not a table")
    for key in ("products", "suppliers", "policies", "lanes"):
        items = data.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            problems.append(f"{key} is not a list of tables")
    if problems:
        raise _damaged(path, ValueError("; ".join(problems)))


_MANIFEST_TYPES: dict[str, tuple[str, Any]] = {
    "policies": ("a list of names", lambda v: isinstance(v, list)
                 and all(isinstance(p, str) for p in v)),
    "baseline": ("a name", lambda v: v is None or isinstance(v, str)),
    "scenario": ("a name", lambda v: v is None or isinstance(v, str)),
    "title": ("a text", lambda v: v is None or isinstance(v, str)),
    "horizon_days": ("a number of days", lambda v: _finite(v, 0, 1e12)),
    "warmup_days": ("a number of days", lambda v: _finite(v, 0, 1e12)),
    "elapsed_seconds": ("a number", lambda v: v is None or _finite(v, 0, 1e15)),
    "replications": ("a whole number from 1", lambda v: _whole(v, 1, 10**9)),
    "jobs": ("a whole number", lambda v: v is None or _whole(v, 0, 10**9)),
    "seed": ("a whole number", lambda v: v is None or _whole(v, 0, 2**64)),
    "files": ("a list of file names", lambda v: isinstance(v, list)
              and all(isinstance(p, str) for p in v)),
    "checksums": ("a table of file names and digests", lambda v: isinstance(v, dict)
                  and all(isinstance(x, str) for x in v.values())),
}


def _finite(value: Any, low: float, high: float) -> bool:
    import math

    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and low <= value <= high)


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def check_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Every key of a (possibly hand-edited) manifest that the report reads has its type."""
    for key, (what, ok) in _MANIFEST_TYPES.items():
        if key in manifest and not ok(manifest[key]):
            shown = repr(manifest[key])
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise ResultsFolderError(
                f"{path}: {key} must be {what}, got {shown}; the results folder is damaged: "
                "run the scenario again into a new folder"
            )


def check_same_run(folder: Path, manifest: dict[str, Any]) -> None:
    """Every table the manifest has a digest of is the one its run wrote: a folder holding files
    of two runs (or an edited table) is refused."""
    import hashlib

    for name, digest in (manifest.get("checksums") or {}).items():
        path = folder / name
        if "/" in name or name.startswith(".") or not path.is_file():
            continue  # a missing table is reported where it is read
        try:
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            raise _damaged(path, error) from None
        if actual != digest:
            raise ResultsFolderError(
                f"{path}: not the file that run {manifest.get('run_id') or '?'} wrote (it was "
                "changed, or written by another run into the same folder); the results folder "
                "is not one run's: run the scenario again into a new folder"
            )


@dataclass(frozen=True)
class ResultTables:
    """Everything the report reads from one results folder."""

    summary: pd.DataFrame
    replications: pd.DataFrame
    timeseries: pd.DataFrame
    waits: pd.DataFrame
    disruptions: pd.DataFrame
    manifest: dict[str, Any]
    scenario: dict[str, Any]
    results_dir: Path | None = field(default=None, compare=False)

    @cached_property
    def policies(self) -> list[str]:
        """Policies in manifest order (which fixes their colours), then any others seen."""
        listed = [str(p) for p in self.manifest.get("policies", [])]
        seen = [p for p in self.summary["policy"].unique() if p not in listed]
        return listed + seen

    @property
    def baseline(self) -> str:
        base = self.manifest.get("baseline") or self.scenario.get("scenario", {}).get("baseline")
        return str(base) if base else self.policies[0]

    @cached_property
    def products(self) -> list[str]:
        """Product ids (without ``all``) in the order of the scenario file, then any others."""
        listed = [str(p.get("id")) for p in self.scenario.get("products", [])]
        seen = [p for p in self.summary["product"].unique() if p not in listed]
        return [p for p in listed + seen if p != ALL]

    @cached_property
    def lookup(self) -> dict[tuple[str, str, str], dict[str, float]]:
        """summary.csv as a dict (policy, product, metric) -> {stat: value}, built once: every
        number the report reads is a dict lookup, so the report is linear in the table's size."""
        s = self.summary
        keys = zip(s["policy"].astype(str), s["product"].astype(str), s["metric"].astype(str),
                   strict=True)  # fmt: skip
        stats = [c for c in STATS if c in s.columns]
        rows = s[stats].to_dict("records") if stats else [{}] * len(s)
        table: dict[tuple[str, str, str], dict[str, float]] = {}
        for key, row in zip(keys, rows, strict=True):
            table.setdefault(key, row)  # the first row of a key, as a filter's iloc[0] gave
        return table

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.scenario.get("scenario", {}))

    @property
    def horizon_days(self) -> float:
        return float(self.manifest.get("horizon_days", self.meta.get("horizon_days", 0)))

    @property
    def warmup_days(self) -> float:
        return float(self.manifest.get("warmup_days", self.meta.get("warmup_days", 0)))

    @property
    def has_intervals(self) -> bool:
        """Whether the run has confidence intervals: with one replication summary.csv writes
        ``ci_low = ci_high = mean`` (results-format.md), an interval of no width that must not
        be shown as one nor read as a significant difference."""
        reps = self.manifest.get("replications", self.meta.get("replications"))
        try:
            return reps is None or int(reps) != 1
        except (TypeError, ValueError):
            return True


def read_csv(path: Path, required: bool = True, columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read one results CSV exactly (pandas' default parser round-trips floats); ids stay text."""
    if not path.exists():
        if required:
            raise ResultsFolderError(f"{path}: missing (is this a stockout results folder?)")
        return pd.DataFrame(columns=list(columns))
    try:
        frame = pd.read_csv(
            path, keep_default_na=False, na_values=[""],
            dtype={c: str for c in _TEXT_COLUMNS},
        )  # fmt: skip
    except (OSError, ValueError) as error:  # a folder, unreadable, empty, not CSV, not UTF-8
        raise _damaged(path, error) from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ResultsFolderError(f"{path}: missing columns {', '.join(missing)}")
    for column in ("policy", "metric"):
        if column in frame.columns and frame[column].isna().any():
            row = int(frame[column].isna().to_numpy().argmax()) + 2
            raise ResultsFolderError(
                f"{path}: line {row}: empty {column} cell; the results folder is damaged: run "
                "the scenario again into a new folder"
            )
    for column in _NUMERIC_COLUMNS:
        if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column]):
            try:
                frame[column] = pd.to_numeric(frame[column])
            except (TypeError, ValueError) as error:
                raise ResultsFolderError(
                    f"{path}: column {column} holds text where numbers belong ({error}); "
                    "the results folder is damaged: run the scenario again into a new folder"
                ) from None
    return frame


def load_tables(
    results_dir: Path | str, manifest: dict[str, Any] | None = None
) -> ResultTables:
    """Load the tables, manifest and scenario of a results folder.

    ``manifest`` is given by the writer of a run that is building its report before writing
    ``manifest.json`` (which comes last); otherwise the folder's manifest is read, and a folder
    without one is incomplete.
    """
    folder = Path(results_dir)
    if manifest is None:
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            raise ResultsFolderError(
                f"{manifest_path}: missing (the run is incomplete or still going)"
            )
        manifest = read_json_table(manifest_path)
        check_manifest(manifest_path, manifest)
        check_same_run(folder, manifest)
    scenario = _read_scenario(folder / "scenario.toml")
    return ResultTables(
        summary=read_csv(folder / "summary.csv", columns=("policy", "product", "metric", *STATS)),
        replications=read_csv(
            folder / "replications.csv",
            required=False,
            columns=("replication", "policy", "product"),
        ),
        timeseries=read_csv(
            folder / "timeseries.csv",
            required=False,
            columns=("policy", "product", "day", "series", "mean", "low", "high"),
        ),  # fmt: skip
        waits=read_csv(
            folder / "waits.csv",
            required=False,
            columns=("policy", "product", "wait_low", "wait_high", "orders"),
        ),  # fmt: skip
        disruptions=read_csv(
            folder / "disruptions.csv",
            required=False,
            columns=("kind", "id", "start_day", "end_day"),
        ),
        manifest=manifest,
        scenario=scenario,
        results_dir=folder,
    )


def value(tables: ResultTables, policy: str, metric: str, stat: str = "mean",
          product: str = ALL) -> float | None:  # fmt: skip
    """One number of summary.csv, or None when absent or empty (a dict lookup)."""
    row = tables.lookup.get((policy, product, metric))
    if row is None or stat not in row or pd.isna(row[stat]):
        return None
    return float(row[stat])
