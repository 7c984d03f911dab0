"""Sweeps: run a scenario over a grid of parameter values and say which policy wins where.

A parameter is a dotted path through the scenario as written in the file, list items named by
their ``id`` (products, suppliers, lanes) or ``name`` (policies)::

    products.widget.demand.orders_per_day
    customers.patience_days.mean
    policies.backorder.max_quoted_wait_days
    lanes.sea.transit_days.mean
    scenario.horizon_days

Each grid point is a variant of the scenario: the scenario is dumped to a dict, the values are set,
and the dict is validated again like a scenario file (a Scenario is never mutated). Every point
and policy runs the same replications with the same seeds (common random numbers), so differences
between points and between policies are not noise from different random draws.

>>> import stockout.sweep as sw
>>> sw.parse_vary("customers.patience_days.mean=2,5.5,inf")
('customers.patience_days.mean', [2, 5.5, inf])

With an output folder, each finished point is written as it finishes (``points/<k>.csv``, then
``points/<k>.json``), so an interrupted sweep can be resumed without redoing them; the final
``sweep.csv`` is the same as that of an uninterrupted sweep. See ``docs/sweeps.md``.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import io
import itertools
import json
import math
import re
import sys
import time
import tomllib
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import summary
from .claim import CLAIM_FILE
from .executors import (
    ClusterLost,
    Executor,
    ExecutorError,
    InlineExecutor,
    Job,
    WorkersLost,
    batch_size,
    make_executor,
)
from .records import HIGHER_IS_BETTER, KEY_METRICS, METRICS
from .scenario.errors import Problem, ScenarioError, did_you_mean
from .scenario.load import load_scenario_text, scenario_from_dict
from .scenario.schema import Scenario
from .stages import stage

if TYPE_CHECKING:
    from distributed import Client

    from .claim import Claim

__all__ = [
    "SweepError",
    "SweepInterrupted",
    "SweepProgress",
    "SweepResult",
    "grid",
    "parse_value",
    "parse_vary",
    "resolve_path",
    "sweep",
    "variant",
]

Scalar = bool | int | float | str

#: Replications a precision-controlled point starts with, at least (an interval needs spread).
MIN_PRECISION_REPS = 3
#: Growth of the replications of a point per round while the precision is not met.
ROUND_GROWTH = 1.5
#: Default cap on the replications of one point under ``precision``.
DEFAULT_MAX_REPLICATIONS = 200

SWEEP_FORMAT = 1


class SweepError(ValueError):
    """Bad sweep input that is not a scenario problem: an output folder in use, a resume folder
    that does not match, an empty grid."""


class SweepInterrupted(Exception):
    """The sweep stopped before every point finished (Ctrl-C, a lost cluster).

    ``finished`` lists the points done (persisted in ``out_dir`` when there is one, so the sweep
    can be resumed), ``total`` the number of points.
    """

    def __init__(self, reason: str, finished: list[int], total: int, out_dir: Path | None,
                 *, bad_input: bool = False) -> None:
        self.reason = reason
        self.bad_input = bad_input  # the results cannot be written there (exit 2, not 1)
        self.finished = finished
        self.total = total
        self.out_dir = out_dir
        super().__init__(f"{reason}: {len(finished)} of {total} point(s) finished")


# ---------------------------------------------------------------------------------------------
# Values and parameter paths
# ---------------------------------------------------------------------------------------------


def parse_value(text: str) -> Scalar:
    """A TOML scalar (``30``, ``2.5``, ``inf``, ``true``, ``"s"``); anything else is a string.

    >>> [parse_value(t) for t in ["30", "2.5", "1e3", "true", '"x"', "sea"]]
    [30, 2.5, 1000.0, True, 'x', 'sea']
    """
    text = text.strip()
    if not text:
        raise ValueError("empty value")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    if isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"{text!r} is not a single value (a number, true/false or a string)")


_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def dotted(path: str) -> str:
    """A path as error messages write it (``products[w].demand.orders_per_day``,
    ``policies[0].name``) in the dotted form sweeps use (``products.w.demand.orders_per_day``):
    both name the same value."""
    return _BRACKETS.sub(r".\1", path.strip())


def parse_vary(option: str, source: str = "--vary") -> tuple[str, list[Scalar]]:
    """``PATH=v1,v2,...`` → (path, values). Raises :class:`ScenarioError` naming the option.
    The path may be written dotted or as messages write it, with brackets (``dotted``)."""
    path, sep, values = option.partition("=")
    path = dotted(path)
    if not sep or not path:
        raise ScenarioError(
            [
                Problem(
                    source,
                    option,
                    "expected PATH=v1,v2,... (e.g. customers.patience_days.mean=5,10)",
                )
            ]
        )
    parsed: list[Scalar] = []
    problems: list[Problem] = []
    for item in values.split(","):
        try:
            parsed.append(parse_value(item))
        except ValueError as error:
            problems.append(Problem(source, path, str(error)))
    if problems:
        raise ScenarioError(problems)
    return path, parsed


DataPath = tuple[str | int, ...]


def _item_name(item: Any) -> str | None:
    if isinstance(item, Mapping):
        for key in ("id", "name"):
            if isinstance(item.get(key), str):
                return str(item[key])
    return None


def _leaf_paths(node: Any, prefix: str = "") -> list[str]:
    """Every dotted path to a single value in ``node`` (list items by id/name, else index)."""
    if isinstance(node, Mapping):
        out: list[str] = []
        for key, value in node.items():
            out += _leaf_paths(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(node, list):
        out = []
        for i, item in enumerate(node):
            name = _item_name(item) or str(i)
            out += _leaf_paths(item, f"{prefix}.{name}" if prefix else name)
        return out
    return [prefix] if prefix else []


def _path_problem(source: str, path: str, message: str, full: Any, hint: str = "") -> ScenarioError:
    """A problem naming ``path``; the closest existing paths suggested (else ``hint``)."""
    close = difflib.get_close_matches(path, _leaf_paths(full), n=1, cutoff=0.75)
    if close and path not in close:
        message += "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    else:
        message += hint
    return ScenarioError([Problem(source, path, message)])


def resolve_path(full: Mapping[str, Any], path: str, source: str = "--vary") -> DataPath:
    """The keys and list indices that ``path`` names in ``full`` (a complete scenario dump,
    ``None`` values included, so every key of the format is there).

    Raises :class:`ScenarioError` naming the path, with close matches, if it names nothing or
    names a table rather than a single value.
    """
    segments = dotted(path).split(".")
    node: Any = full
    found: list[str | int] = []
    i = 0
    while i < len(segments):
        where = ".".join(segments[:i]) or "the scenario"
        seg = segments[i]
        if isinstance(node, Mapping):
            if seg not in node:
                hint = did_you_mean(seg, [str(k) for k in node])
                keys = ", ".join(str(k) for k in node)
                raise _path_problem(
                    source, path, f"{where} has no key '{seg}' (its keys: {keys})", full, hint
                )
            found.append(seg)
            node = node[seg]
            i += 1
        elif isinstance(node, list):
            names = [_item_name(item) for item in node]
            match = None
            for j in range(len(segments), i, -1):  # ids may contain dots: longest match first
                candidate = ".".join(segments[i:j])
                if candidate in names:
                    match = (names.index(candidate), j)
                    break
            if match is None and seg.isdigit() and int(seg) < len(node):
                match = (int(seg), i + 1)
            if match is None:
                known = [n for n in names if n is not None]
                what = f"(its items: {', '.join(known)})" if known else f"({len(node)} items)"
                raise _path_problem(
                    source,
                    path,
                    f"{where} has no item '{seg}' {what}",
                    full,
                    did_you_mean(seg, known),
                )
            found.append(match[0])
            node = node[match[0]]
            i = match[1]
        elif node is None:
            raise _path_problem(
                source, path, f"{where} is not set in the scenario: set it in the file first", full
            )
        else:
            raise _path_problem(source, path, f"{where} is a single value, not a table", full)
    if isinstance(node, Mapping | list):
        inner = ", ".join(_leaf_paths(node, path)[:6])
        message = f"is a table, not a single value: vary one of its keys ({inner})"
        raise ScenarioError([Problem(source, path, message)])
    return tuple(found)


def _without_none(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _assign(data: dict[str, Any], full: Mapping[str, Any], where: DataPath, value: Scalar) -> None:
    """Set ``value`` at ``where`` in ``data`` (a dump of the keys set in the file), copying the
    missing tables on the way from ``full`` (the complete dump: defaults)."""
    node: Any = data
    ref: Any = full
    for step in where[:-1]:
        ref = ref[step]
        if isinstance(step, str) and step not in node:
            node[step] = _without_none(copy.deepcopy(ref))
        node = node[step]
    node[where[-1]] = value


def _dumps(scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keys set, every key): the two dumps a variant is made from."""
    return (
        scenario.model_dump(by_alias=True, exclude_unset=True),
        scenario.model_dump(by_alias=True),
    )


def _label(values: Mapping[str, Scalar]) -> str:
    return ", ".join(f"{p}={_text(v)}" for p, v in values.items())


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def variant(scenario: Scenario, values: Mapping[str, Scalar], source: str = "<sweep>") -> Scenario:
    """A new Scenario with the parameter ``values`` (path → value) set, validated again.

    ``scenario`` itself is not modified. Problems are :class:`ScenarioError` naming the path
    (and, for values that do not validate, ``--vary PATH=VALUE``).
    """
    data, full = _dumps(scenario)
    for path, value in values.items():
        _assign(data, full, resolve_path(full, path, source), value)
    return scenario_from_dict(data, f"{source} with --vary {_label(values)}")


def grid(vary: Mapping[str, Sequence[Scalar]]) -> list[dict[str, Scalar]]:
    """The cartesian product of the parameter values, first parameter outermost.

    >>> grid({"a": [1, 2], "b": ["x", "y"]})
    [{'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}, {'a': 2, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    """
    paths = list(vary)
    return [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*vary.values())]


def _check_vary(vary: Mapping[str, Sequence[Scalar]], source: str) -> None:
    problems: list[Problem] = []
    if not vary:
        problems.append(Problem(source, "--vary", "name at least one parameter to vary"))
    for path, values in vary.items():
        if not values:
            problems.append(Problem(source, path, "no values given"))
        seen: list[Any] = []
        for v in values:
            key = (type(v) is bool, v)
            if key in seen:
                problems.append(Problem(source, path, f"value {_text(v)} is listed twice"))
            seen.append(key)
    if problems:
        raise ScenarioError(problems)


#: The largest grid a sweep accepts: each point is a whole experiment.
MAX_POINTS = 100_000


def check_grid_size(vary: Mapping[str, Sequence[Scalar]], scenario: Scenario, source: str) -> None:
    """Refuse a grid too big to finish, counted before anything is built, saying how big."""
    sizes = [len(vs) for vs in vary.values()]
    points = math.prod(sizes)
    if points <= MAX_POINTS:
        return
    runs = points * len(scenario.policies) * scenario.scenario.replications
    shape = " × ".join(f"{n:,}" for n in sizes)
    raise ScenarioError([Problem(
        source, "--vary",
        f"the grid has {points:,} points ({shape} values), {runs:,} runs in all; a sweep takes "
        f"at most {MAX_POINTS:,} points: give fewer values, or split the sweep",
    )])


def _variants(scenario: Scenario, points: list[dict[str, Scalar]], source: str) -> list[Scenario]:
    """A validated scenario per point; every path problem and every bad value reported at once."""
    data, full = _dumps(scenario)
    problems: list[Problem] = []
    where: dict[str, DataPath] = {}
    for path in points[0]:
        try:
            where[path] = resolve_path(full, path, source)
        except ScenarioError as error:
            problems += error.problems
    if problems:
        raise ScenarioError(problems)
    out: list[Scenario] = []
    for values in points:
        point_data = copy.deepcopy(data)
        for path, value in values.items():
            _assign(point_data, full, where[path], value)
        try:
            out.append(scenario_from_dict(point_data, f"{source} with --vary {_label(values)}"))
        except ScenarioError as error:  # the same problem at several points: reported once
            seen = {(p.key_path, p.message) for p in problems}
            problems += [p for p in error.problems if (p.key_path, p.message) not in seen]
    if problems:
        raise ScenarioError(problems)
    return out


# ---------------------------------------------------------------------------------------------
# Progress and results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepProgress:
    """Where a sweep stands, passed to the ``progress`` callback after every finished batch.

    ``replications_total`` is the replications planned so far: it grows when a point needs more
    for the requested precision. ``point`` is the point that just finished, if one did.
    """

    points_done: int
    points_total: int
    replications_done: int
    replications_total: int
    point: int | None = None


@dataclass(frozen=True)
class PointOutcome:
    """How one point ended: its replications and, under precision control, whether the target
    relative half-width was met (``False``: the cap was hit first)."""

    replications: int
    rel_half_width: float
    precision_met: bool | None


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep. Tables have the columns of the files of the same name (docs/sweeps.md).

    ``summary`` is sweep.csv, ``points`` points.csv, ``winners`` winners.csv, ``replications``
    every run of every point (columns ``point``, the parameters, then replications.csv's).
    """

    parameters: list[str]
    values: dict[str, list[Scalar]]
    baseline: str
    policies: list[str]
    summary: pd.DataFrame
    points: pd.DataFrame
    winners: pd.DataFrame
    replications: pd.DataFrame = field(repr=False)
    precision: dict[str, Any] | None
    out_dir: Path | None
    elapsed_seconds: float

    def policy_map(
        self, metric: str = "revenue_kept", significant_only: bool = False
    ) -> pd.DataFrame:
        """Which policy wins ``metric`` at each point: one row per value of the first parameter,
        one column per value of the second (a single column ``winner`` for a one-parameter
        sweep). With ``significant_only``, points without a significant winner are empty."""
        rows = self.winners[self.winners["metric"] == metric].copy()
        if significant_only:
            rows.loc[~rows["significant"].astype(bool), "winner"] = None
        first = self.parameters[0]
        if len(self.parameters) == 1:
            return rows.set_index(first)[["winner"]]
        if len(self.parameters) > 2:
            raise ValueError("a policy map shows one or two parameters")
        return rows.pivot(index=first, columns=self.parameters[1], values="winner")


Progress = Callable[[SweepProgress], None]


# ---------------------------------------------------------------------------------------------
# The output folder
# ---------------------------------------------------------------------------------------------

POINTS_DIR = "points"


def _point_name(k: int) -> str:
    return f"{k:05d}"


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    from .results_io import csv_bytes

    return csv_bytes(frame)


def _read_csv(data: bytes | Path) -> pd.DataFrame:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    return pd.read_csv(
        source, dtype={"policy": str, "product": str}, keep_default_na=False, na_values=[""]
    )


def _read_point(path: Path, policies: Sequence[str]) -> pd.DataFrame:
    """A finished point's table, or ValueError if it is not one (garbage, other policies)."""
    frame = _read_csv(path)
    needed = {"replication", "policy", "product", *METRICS}
    if not needed <= set(frame.columns):
        raise ValueError(f"{path}: not a point's table")
    if set(frame["policy"].dropna()) != set(policies) or frame["product"].isna().any():
        raise ValueError(f"{path}: not this sweep's point")
    if not all(pd.api.types.is_numeric_dtype(frame[c]) for c in ("replication", *METRICS)):
        raise ValueError(f"{path}: text where numbers belong")
    return frame


def _write_atomic(path: Path, data: bytes) -> None:
    from .results_io import write_atomic

    write_atomic(path, data)


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, default=_json_default) + "\n").encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _fingerprint(config: Mapping[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _prepare_folder(
    out_dir: Path, resume: bool, meta: dict[str, Any], base_toml: str, legacy: str = ""
) -> dict[int, PointOutcome]:
    """Create the folder (or check a resumed one) and return the points already finished."""
    meta_path = out_dir / "sweep.json"
    if resume:
        if not meta_path.is_file():
            raise SweepError(f"{out_dir}: not a sweep folder (no sweep.json): nothing to resume")
        try:
            old = _read_meta(meta_path)
        except (OSError, ValueError, TypeError) as error:
            raise SweepError(f"{out_dir}: the sweep folder is damaged ({error}); it cannot be "
                             "resumed: start the sweep again into a new folder") from None
        if old.get("fingerprint") not in (meta["fingerprint"], legacy):
            raise SweepError(
                f"{out_dir}: this sweep was started with another scenario, parameters or "
                "precision settings; resume it with the same ones (or from the folder alone)"
            )
        return _finished_points(out_dir, meta["points"])
    if out_dir.exists() and not out_dir.is_dir():
        raise SweepError(f"{out_dir}: exists and is not a folder; choose a new folder")
    if out_dir.exists() and any(p.name != CLAIM_FILE for p in out_dir.iterdir()):
        raise SweepError(
            f"{out_dir}: exists and is not empty; choose a new folder, or resume it with --resume"
        )
    try:
        (out_dir / POINTS_DIR).mkdir(parents=True, exist_ok=True)
        _write_atomic(out_dir / "scenario.toml", base_toml.encode("utf-8"))
        _write_atomic(meta_path, _json_bytes(meta))
    except OSError as error:
        raise SweepError(
            f"{out_dir}: cannot create the sweep folder ({error.strerror or error}); "
            "choose a place you can write to"
        ) from None
    return {}


def _finished_points(out_dir: Path, total: int) -> dict[int, PointOutcome]:
    done: dict[int, PointOutcome] = {}
    for k in range(total):
        meta_path = out_dir / POINTS_DIR / f"{_point_name(k)}.json"
        if meta_path.is_file() and (out_dir / POINTS_DIR / f"{_point_name(k)}.csv").is_file():
            try:
                info = json.loads(meta_path.read_text(encoding="utf-8"))
                done[k] = PointOutcome(
                    int(info["replications"]), float(info["rel_half_width"]),
                    info["precision_met"],
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged point's files: the point is simply run again
    return done


def _read_meta(path: Path) -> dict[str, Any]:
    """sweep.json: a JSON object (not too deeply nested, no NaN)."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(meta, dict):
        raise TypeError("not a JSON object")
    if not isinstance(meta.get("parameters"), list):
        raise TypeError("'parameters' is not a list")
    return meta


def _scalars(values: Any) -> list[Scalar]:
    if not isinstance(values, list) or not values:
        raise TypeError(f"the values {values!r:.60} are not a list")
    for v in values:
        if not isinstance(v, str | int | float | bool):
            raise TypeError(f"the value {v!r:.60} is not a number, text or true/false")
    return list(values)


def _check_precision(precision: Any) -> None:
    """A stored precision setting: none, or a target above 0, a known metric and a cap."""
    if precision is None or precision == {}:
        return
    if not isinstance(precision, dict):
        raise TypeError("'precision' is not a table")
    target = precision.get("target")
    if target is not None and not (
        isinstance(target, int | float) and not isinstance(target, bool)
        and math.isfinite(target) and target > 0
    ):
        raise ValueError(f"precision target {target!r:.40} is not a number above 0")
    if precision.get("metric", "revenue_kept") not in METRICS:
        raise ValueError(f"precision metric {precision.get('metric')!r:.40} is unknown")
    cap = precision.get("max_replications", DEFAULT_MAX_REPLICATIONS)
    if not (isinstance(cap, int) and not isinstance(cap, bool) and 1 <= cap <= 10**6):
        raise ValueError(f"max_replications {cap!r:.40} is not a whole number from 1")


def load_sweep_config(
    out_dir: str | Path,
) -> tuple[Scenario, dict[str, list[Scalar]], dict[str, Any]]:
    """The base scenario, the grid and the settings of the sweep in ``out_dir`` (to resume it)."""
    folder = Path(out_dir)
    meta_path = folder / "sweep.json"
    if not meta_path.is_file():
        raise SweepError(f"{folder}: not a sweep folder (no sweep.json): nothing to resume")
    toml_path = folder / "scenario.toml"
    try:
        meta = _read_meta(meta_path)
        scenario = load_scenario_text(toml_path.read_text(encoding="utf-8"), str(toml_path))
        values = {str(p): _scalars(meta["values"][p]) for p in meta["parameters"]}
        _check_precision(meta.get("precision"))
    except ScenarioError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise SweepError(
            f"{folder}: the sweep folder is damaged ({type(error).__name__}: {reason}); "
            "it cannot be resumed: start the sweep again into a new folder"
        ) from None
    return scenario, values, meta


# ---------------------------------------------------------------------------------------------
# Statistics of a point
# ---------------------------------------------------------------------------------------------


def _rel_half_width(rep_df: pd.DataFrame, metric: str, policies: Sequence[str]) -> float:
    """The largest relative 95% half-width of ``metric`` (product ``all``) over the policies."""
    worst = 0.0
    rows = rep_df[rep_df["product"] == "all"]
    for policy in policies:
        mean, low, high = summary.t_interval(rows.loc[rows["policy"] == policy, metric].to_numpy())
        if math.isnan(mean):
            continue
        half = (high - low) / 2
        if half == 0:
            continue
        worst = max(worst, math.inf if mean == 0 else half / abs(mean))
    return worst


WINNER_COLUMNS = (
    "product",
    "metric",
    "winner",
    "significant",
    "winner_mean",
    "runner_up",
    "margin",
    "margin_ci_low",
    "margin_ci_high",
)


def _winners(
    rep_df: pd.DataFrame, policies: Sequence[str], product: str = "all"
) -> list[dict[str, Any]]:
    """Per key metric, the policy with the best mean, and whether it is significantly better
    than *every* other policy (the 95% interval of each paired difference excludes 0).

    ``margin`` is the paired difference to the runner-up (winner − runner-up), with its interval.
    """
    rows = rep_df[rep_df["product"] == product]
    out: list[dict[str, Any]] = []
    for metric in KEY_METRICS:
        wide = rows.pivot(index="replication", columns="policy", values=metric)
        wide = wide[[p for p in policies if p in wide.columns]]
        means = wide.mean(skipna=True)
        sign = 1.0 if metric in HIGHER_IS_BETTER else -1.0
        ranked = [
            p
            for p in (sign * means).sort_values(ascending=False, kind="stable").index
            if not math.isnan(means[p])
        ]
        record: dict[str, Any] = {
            "product": product,
            "metric": metric,
            "winner": None,
            "significant": False,
            "winner_mean": np.nan,
            "runner_up": None,
            "margin": np.nan,
            "margin_ci_low": np.nan,
            "margin_ci_high": np.nan,
        }
        if ranked:
            best = ranked[0]
            record.update(winner=best, winner_mean=float(means[best]))
            significant = len(ranked) > 1 and (sign * means[best] > sign * means[ranked[1]])
            for other in ranked[1:]:
                paired = (wide[best] - wide[other]).to_numpy()
                diff, low, high = summary.t_interval(paired)
                if other == ranked[1]:
                    record.update(
                        runner_up=other, margin=diff, margin_ci_low=low, margin_ci_high=high
                    )
                # one pair has no interval (t_interval collapses it to the mean): not a test
                tested = int(np.count_nonzero(~np.isnan(paired))) >= 2
                significant = (
                    significant and tested and (bool(low > 0) if sign > 0 else bool(high < 0))
                )
            record["significant"] = bool(significant)
        out.append(record)
    return out


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------


@dataclass
class _Point:
    index: int
    values: dict[str, Scalar]
    scenario: Scenario
    planned: int = 0  # replications asked for so far
    outstanding: int = 0  # jobs in flight
    frames: list[pd.DataFrame] = field(default_factory=list)


def _normalised(frames: list[pd.DataFrame], policies: Sequence[str]) -> pd.DataFrame:
    """One point's replications, in a canonical order and as they read back from CSV (so a
    resumed sweep and an uninterrupted one compute from identical data)."""
    frame = pd.concat(frames, ignore_index=True)
    rank = {p: i for i, p in enumerate(policies)}
    frame = frame.assign(_rank=frame["policy"].map(rank)).sort_values(
        ["replication", "_rank"], kind="stable"
    )
    return _read_csv(_csv_bytes(frame.drop(columns="_rank")))


class OverriddenParameterWarning(UserWarning):
    """A varied product setting that some policies set for themselves: they do not move."""


def check_sweep(
    scenario: Scenario,
    vary: Mapping[str, Sequence[Scalar]],
    source: str,
    *,
    metric: str = "revenue_kept",
    precision: float | None = None,
) -> tuple[list[dict[str, Scalar]], list[Scenario]]:
    """Validate a sweep before anything is run or written: the paths, every point's values, the
    metric and the precision. Returns the grid's points and their scenarios; raises
    :class:`ScenarioError` naming what is wrong."""
    values = {path: list(vs) for path, vs in vary.items()}
    _check_vary(values, source)
    check_grid_size(values, scenario, source)
    if metric not in METRICS:
        raise ScenarioError([Problem(
            source, "--metric",
            f"unknown metric '{metric}'{did_you_mean(metric, METRICS)}; one of: "
            + ", ".join(METRICS),
        )])  # fmt: skip
    if precision is not None and not (precision > 0 and math.isfinite(precision)):
        raise ScenarioError([Problem(source, "--precision", "must be a number above 0, e.g. 0.02")])
    points = grid(values)
    return points, _variants(scenario, points, source)


_PRODUCT_RULE = re.compile(r"^products\.(?P<product>.+)\.replenishment\.(?P<key>[^.]+)$")


def overridden(scenario: Scenario, vary: Mapping[str, Sequence[Scalar]]) -> list[str]:
    """One message per varied ``products.<id>.replenishment.<key>`` that some policies set for
    themselves (``[policies.replenishment.<id>]``): those policies keep their own value at every
    point. The message names them and the path that varies their value."""
    products = {p.id for p in scenario.products}
    messages = []
    for path in vary:
        match = _PRODUCT_RULE.match(dotted(path))
        if match is None or match["product"] not in products:
            continue
        product, key = match["product"], match["key"]
        own = [
            p.name for p in scenario.policies
            if key in (p.replenishment.get(product) or {})
        ]  # fmt: skip
        if not own:
            continue
        paths = ", ".join(f"policies.{name}.replenishment.{product}.{key}" for name in own)
        messages.append(
            f"--vary {path} does not change {', '.join(own)}: "
            f"{'they set their' if len(own) > 1 else 'it sets its'} own {key} for {product}, "
            f"so {'they stay' if len(own) > 1 else 'it stays'} the same at every point. "
            f"To vary {'theirs' if len(own) > 1 else 'it'} too, add --vary for {paths}"
        )
    return messages


def sweep(
    scenario: Scenario,
    vary: Mapping[str, Sequence[Scalar]],
    *,
    jobs: int = 1,
    scheduler: str | Client | None = None,
    executor: Executor | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    precision: float | None = None,
    metric: str = "revenue_kept",
    max_replications: int = DEFAULT_MAX_REPLICATIONS,
    progress: Progress | None = None,
    search_dir: str | Path | None = None,
    source: str | None = None,
    report: bool = True,
    allow_code: bool = False,
    command: Sequence[str] = (),
) -> SweepResult:
    """Run ``scenario`` at every point of the grid ``vary`` (parameter path → values).

    Every point runs every policy for the scenario's replications, with the same seeds at every
    point (common random numbers). With ``precision`` = R, a point's replications grow by half in
    rounds until the relative 95% half-width of ``metric`` (product ``all``) is at most R for
    every policy, or ``max_replications`` is reached; ``SweepResult.precision`` and ``sweep.json``
    say which happened.

    The runs execute in this process (``jobs`` <= 1), on a local pool of ``jobs`` processes, on
    the Dask cluster at ``scheduler`` (an address or a ``distributed.Client``), or on an
    ``executor`` given; the results are the same on all of them.

    With ``out_dir``, each point is written as it finishes and the tables at the end (sweep.csv,
    points.csv, winners.csv, sweep.json, and report.html when ``report`` and the report package
    allow); ``resume=True`` completes a sweep started in ``out_dir`` without redoing its finished
    points. Without ``out_dir``, nothing is written.

    Raises :class:`ScenarioError` for a bad path or value (naming the path), :class:`SweepError`
    for an unusable folder, and :class:`SweepInterrupted` when stopped (Ctrl-C inside the sweep,
    or the cluster lost) after persisting the finished points.

    A custom policy's code runs only with ``allow_code=True`` (see :mod:`stockout.trust`);
    otherwise :class:`~stockout.trust.CodeNotAllowed` is raised before anything starts.
    """
    started = time.perf_counter()
    src = source or scenario.scenario.name
    values = {path: list(vs) for path, vs in vary.items()}
    code_dir = Path(search_dir) if search_dir is not None else None
    points, scenarios = _checked_grid(scenario, values, src, metric, precision, allow_code,
                                      code_dir)
    for message in overridden(scenario, values):
        warnings.warn(message, OverriddenParameterWarning, stacklevel=2)
    rounds = _Rounds.of(scenario, precision, metric, max_replications)
    meta, legacy = _sweep_meta(scenario, values, len(points), rounds, command)
    folder = Path(out_dir) if out_dir is not None else None
    if folder is None and resume:
        raise SweepError("resume needs the sweep's output folder")
    claim = _claim(folder, resume)
    try:
        finished, frames = _open_folder(folder, resume, meta, legacy, scenario, rounds.policies)
        todo = [_Point(k, points[k], scenarios[k])
                for k in range(len(points)) if k not in finished]
        outcomes = dict(finished)
        with stage("simulate"):  # each point's replications are also saved as it finishes
            _drive(
                todo,
                rounds=rounds,
                folder=folder,
                frames=frames,
                outcomes=outcomes,
                total_points=len(points),
                progress=progress,
                search_dir=code_dir,
                executor=executor,
                jobs=jobs,
                scheduler=scheduler,
                done_reps=sum(o.replications * len(rounds.policies) for o in finished.values()),
            )
        return _assemble(points, list(values), values, rounds.policies, scenario.baseline,
                         frames, outcomes, meta, folder, precision, report,
                         time.perf_counter() - started)
    finally:
        if claim is not None:
            claim.release()


def _checked_grid(
    scenario: Scenario, values: dict[str, list[Scalar]], source: str, metric: str,
    precision: float | None, allow_code: bool, code_dir: Path | None,
) -> tuple[list[dict[str, Scalar]], list[Scenario]]:
    """The grid's points and their scenarios, once every input is checked: the grid's size,
    the paths and values, the metric and precision, and code the user did not allow (the base
    scenario's, and a varied policy class's) before anything starts."""
    from .trust import require_allowed

    check_grid_size(values, scenario, source)
    require_allowed(scenario, allow_code, code_dir)
    points, scenarios = check_sweep(scenario, values, source, metric=metric, precision=precision)
    for variant in scenarios:  # a varied policy class is code too
        require_allowed(variant, allow_code, code_dir)
    return points, scenarios


@dataclass(frozen=True)
class _Rounds:
    """How many replications each point gets: ``initial``, then (with ``precision``) rounds
    growing by ``ROUND_GROWTH`` until the relative half-width of ``metric`` is at most
    ``precision`` for every policy, or ``cap`` is reached."""

    policies: list[str]
    initial: int
    cap: int
    precision: float | None
    metric: str

    @classmethod
    def of(cls, scenario: Scenario, precision: float | None, metric: str,
           max_replications: int) -> _Rounds:
        reps = scenario.scenario.replications
        initial = max(reps, MIN_PRECISION_REPS) if precision is not None else reps
        cap = max(initial, max_replications) if precision is not None else reps
        return cls([p.name for p in scenario.policies], initial, cap, precision, metric)

    @property
    def first_runs(self) -> int:
        """The runs of a point's first round (every policy)."""
        return self.initial * len(self.policies)

    def next_round(self, planned: int, rel_half_width: float) -> int | None:
        """The replications a point's next round goes up to; None when the point is done."""
        more = self.precision is not None and rel_half_width > self.precision  # NaN: no more
        if not more or planned >= self.cap:
            return None
        return min(self.cap, max(planned + 1, math.ceil(planned * ROUND_GROWTH)))


def _sweep_meta(
    scenario: Scenario, values: dict[str, list[Scalar]], points: int, rounds: _Rounds,
    command: Sequence[str],
) -> tuple[dict[str, Any], str]:
    """sweep.json while the sweep runs, and the fingerprint of folders from before the
    fingerprint covered the whole scenario (a resume accepts either)."""
    precision, metric, cap = rounds.precision, rounds.metric, rounds.cap
    # The fingerprint is taken from the whole scenario, defaults included: the scenario.toml that
    # a resume reads back leaves out what the first run had set to its default (an empty
    # ``lanes = []`` after --reps, say), and would otherwise never match.
    config = {
        "format": SWEEP_FORMAT,
        "scenario": scenario.model_dump(by_alias=True),
        "values": values,
        "precision": precision,
        "metric": metric,
        "max_replications": cap,
        "initial_replications": rounds.initial,
    }
    meta: dict[str, Any] = {
        "format": SWEEP_FORMAT,
        "status": "running",
        "scenario": scenario.scenario.name,
        "title": scenario.scenario.title,
        "parameters": list(values),
        "values": values,
        "points": points,
        "policies": rounds.policies,
        "baseline": scenario.baseline,
        "seed": scenario.scenario.seed,
        "replications": rounds.initial,
        "precision": None
        if precision is None
        else {"target": precision, "metric": metric, "max_replications": cap},
        "fingerprint": _fingerprint(config),
        "stockout_version": _version(),
    }
    if command:  # the report's footer shows it; not part of the fingerprint
        meta["command"] = [str(c) for c in command]
    base_data = scenario.model_dump(by_alias=True, exclude_unset=True)
    return meta, _fingerprint({**config, "scenario": base_data})


def _open_folder(
    folder: Path | None, resume: bool, meta: dict[str, Any], legacy: str, scenario: Scenario,
    policies: list[str],
) -> tuple[dict[int, PointOutcome], dict[int, pd.DataFrame]]:
    """The points already finished in ``folder`` and their replications (none without a
    folder); the folder is made, or a resumed one checked. A damaged point is run again."""
    if folder is None:
        return {}, {}
    from .results_io import to_toml

    base_data = scenario.model_dump(by_alias=True, exclude_unset=True)
    base_toml = to_toml(_without_none(base_data), header="Base scenario of this sweep.")
    finished = _prepare_folder(folder, resume, meta, base_toml, legacy)
    frames: dict[int, pd.DataFrame] = {}
    for k in list(finished):
        try:
            frames[k] = _read_point(folder / POINTS_DIR / f"{_point_name(k)}.csv", policies)
        except (OSError, ValueError):  # a damaged point's table: run the point again
            del finished[k]
    return finished, frames


def _claim(folder: Path | None, resume: bool) -> Claim | None:
    """This sweep's claim on its folder: no other live sweep or run writes into it meanwhile."""
    if folder is None:
        return None
    from .claim import claim_work_folder

    if resume and not (folder / "sweep.json").is_file():
        raise SweepError(f"{folder}: not a sweep folder (no sweep.json): nothing to resume")
    return claim_work_folder(folder, resume=resume, error=SweepError, what="sweep")


def _version() -> str:
    from . import __version__

    return __version__


def _drive(
    todo: list[_Point],
    *,
    rounds: _Rounds,
    folder: Path | None,
    frames: dict[int, pd.DataFrame],
    outcomes: dict[int, PointOutcome],
    total_points: int,
    progress: Progress | None,
    search_dir: Path | None,
    executor: Executor | None,
    jobs: int,
    scheduler: str | Client | None,
    done_reps: int,
) -> None:
    """Run the points of ``todo`` to completion, persisting each as it finishes."""
    if not todo:
        return
    owned = executor is None
    per_point = rounds.first_runs
    # never more processes than the first round's runs: each would be forked for nothing
    workers = min(jobs, per_point * len(todo))
    runner = executor if executor is not None else make_executor(workers, scheduler)
    size = 1 if isinstance(runner, InlineExecutor) else batch_size(per_point * len(todo), runner)
    driver = _Driver(
        runner, rounds, size,
        window=max(per_point, size * runner.workers * 3),  # tasks in flight: keeps workers busy
        folder=folder, search_dir=search_dir, frames=frames, outcomes=outcomes,
        total_points=total_points, progress=progress, done_reps=done_reps,
        planned_reps=done_reps + len(todo) * per_point,
    )
    try:
        driver.run(todo)
    except KeyboardInterrupt:
        runner.cancel()
        raise SweepInterrupted("interrupted", sorted(outcomes), total_points, folder) from None
    except (ClusterLost, WorkersLost, ExecutorError) as error:
        runner.cancel()
        raise SweepInterrupted(str(error), sorted(outcomes), total_points, folder) from error
    except OSError as error:  # a point's files cannot be written: disk full, no permission
        runner.cancel()
        reason = f"cannot write in {folder}: {error.strerror or error}"
        raise SweepInterrupted(reason, sorted(outcomes), total_points, folder,
                               bad_input=True) from error
    except BaseException:
        runner.cancel()
        raise
    finally:
        if owned:
            runner.close()


@dataclass
class _Driver:
    """The points' runs on one executor: each round submitted in jobs of ``size`` runs, no more
    runs in flight than ``window`` (a point's first round excepted), a point's next round
    submitted as its last one ends, and each point persisted (``frames``, ``outcomes`` and its
    files) as soon as it is done."""

    runner: Executor
    rounds: _Rounds
    size: int
    window: int
    folder: Path | None
    search_dir: Path | None
    frames: dict[int, pd.DataFrame]
    outcomes: dict[int, PointOutcome]
    total_points: int
    progress: Progress | None
    done_reps: int
    planned_reps: int
    in_flight: int = 0

    def run(self, todo: list[_Point]) -> None:
        by_index = {p.index: p for p in todo}
        queue = list(todo)
        per_point = self.rounds.first_runs
        while True:
            while queue and (self.in_flight == 0 or self.in_flight + per_point <= self.window):
                self._submit_round(queue.pop(0), self.rounds.initial)
            if not self.runner.pending:
                break
            for job, runs in self.runner.next_done():
                self._job_done(by_index[int(job.tag)], job, runs)  # type: ignore[call-overload]

    def _submit_round(self, point: _Point, upto: int) -> int:
        tasks = [(p, k) for k in range(point.planned, upto) for p in self.rounds.policies]
        point.planned = upto
        for i in range(0, len(tasks), self.size):
            self.runner.submit(
                Job(point.scenario, tasks[i : i + self.size], self.search_dir, tag=point.index))
            point.outstanding += 1
        self.in_flight += len(tasks)
        return len(tasks)

    def _job_done(self, point: _Point, job: Job, runs: Any) -> None:
        point.frames.append(summary.replications_frame(runs))
        point.outstanding -= 1
        self.in_flight -= len(job.batch)
        self.done_reps += len(runs)
        finished_now = self._round_done(point) if point.outstanding == 0 else None
        if self.progress is not None:
            self.progress(SweepProgress(len(self.outcomes), self.total_points, self.done_reps,
                                        self.planned_reps, finished_now))

    def _round_done(self, point: _Point) -> int | None:
        """Another round for ``point`` (None), or the point finished and saved (its index)."""
        policies = self.rounds.policies
        frame = _normalised(point.frames, policies)
        point.frames = [frame]
        rel = _rel_half_width(frame, self.rounds.metric, policies)
        more = self.rounds.next_round(point.planned, rel)
        if more is not None:
            self.planned_reps += self._submit_round(point, more)
            return None
        precision = self.rounds.precision
        outcome = PointOutcome(point.planned, rel, None if precision is None else rel <= precision)
        _finish_point(self.folder, point, frame, outcome)
        self.frames[point.index] = frame
        self.outcomes[point.index] = outcome
        point.frames = []
        return point.index


def _finish_point(
    folder: Path | None, point: _Point, frame: pd.DataFrame, outcome: PointOutcome
) -> None:
    """Persist a finished point: its replications, then (last, so it marks the point complete)
    its metadata."""
    if folder is None:
        return
    name = _point_name(point.index)
    _write_atomic(folder / POINTS_DIR / f"{name}.csv", _csv_bytes(frame))
    info = {
        "point": point.index,
        "values": point.values,
        "replications": outcome.replications,
        "rel_half_width": outcome.rel_half_width,
        "precision_met": outcome.precision_met,
    }
    _write_atomic(folder / POINTS_DIR / f"{name}.json", _json_bytes(info))


def _assemble(
    points: list[dict[str, Scalar]],
    parameters: list[str],
    values: dict[str, list[Scalar]],
    policies: list[str],
    baseline: str,
    frames: dict[int, pd.DataFrame],
    outcomes: dict[int, PointOutcome],
    meta: dict[str, Any],
    folder: Path | None,
    precision: float | None,
    report: bool,
    elapsed: float,
) -> SweepResult:
    with stage("summarise"):
        sweep_df, points_df, winners_df, reps_df = _sweep_tables(
            points, parameters, policies, baseline, frames, outcomes
        )
    outcome_info: dict[str, Any] | None = None
    if precision is not None:
        met = [k for k in range(len(points)) if outcomes[k].precision_met]
        capped = [k for k in range(len(points)) if not outcomes[k].precision_met]
        outcome_info = {
            **meta["precision"],
            "met": not capped,
            "points_met": met,
            "points_capped": capped,
        }
    if folder is not None:
        final = {
            **meta,
            "status": "complete",
            "finished": datetime.now().astimezone().isoformat(timespec="seconds"),
            "replications_per_point": [outcomes[k].replications for k in range(len(points))],
        }
        if outcome_info is not None:
            final["precision"] = outcome_info
        try:
            with stage("write"):
                _write_atomic(folder / "sweep.csv", _csv_bytes(sweep_df))
                _write_atomic(folder / "points.csv", _csv_bytes(points_df))
                _write_atomic(folder / "winners.csv", _csv_bytes(winners_df))
                _write_atomic(folder / "sweep.json", _json_bytes(final))
        except OSError as error:  # every point is saved: a resume only writes these again
            reason = f"cannot write in {folder}: {error.strerror or error}"
            raise SweepInterrupted(reason, sorted(outcomes), len(points), folder,
                                   bad_input=True) from error
        if report:
            with stage("report"):
                _write_report(folder)
    return SweepResult(
        parameters=parameters,
        values=values,
        baseline=baseline,
        policies=policies,
        summary=sweep_df,
        points=points_df,
        winners=winners_df,
        replications=reps_df,
        precision=outcome_info,
        out_dir=folder,
        elapsed_seconds=elapsed,
    )


def _sweep_tables(
    points: list[dict[str, Scalar]],
    parameters: list[str],
    policies: list[str],
    baseline: str,
    frames: dict[int, pd.DataFrame],
    outcomes: dict[int, PointOutcome],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """sweep.csv, points.csv, winners.csv and every point's replications, from the points."""
    summaries, point_rows, winner_rows, replications = [], [], [], []
    for k, point in enumerate(points):
        frame = frames[k]
        table = summary.summary_frame(frame, baseline, policies)
        for i, path in enumerate(parameters):
            table.insert(i, path, [point[path]] * len(table))
        table.insert(0, "point", k)
        summaries.append(table)
        reps = frame.copy()
        for i, path in enumerate(parameters):
            reps.insert(i, path, [point[path]] * len(reps))
        reps.insert(0, "point", k)
        replications.append(reps)
        wins = _winners(frame, policies)
        outcome = outcomes[k]
        row: dict[str, Any] = {
            "point": k,
            **point,
            "replications": outcome.replications,
            "rel_half_width": outcome.rel_half_width,
            "precision_met": outcome.precision_met,
        }
        for w in wins:
            row[w["metric"]] = w["winner"]
            row[f"{w['metric']}_significant"] = w["significant"]
            winner_rows.append({"point": k, **point, **w})
        point_rows.append(row)
    sweep_df = pd.concat(summaries, ignore_index=True)
    points_df = pd.DataFrame(point_rows)
    winners_df = pd.DataFrame(winner_rows)
    reps_df = pd.concat(replications, ignore_index=True)
    return sweep_df, points_df, winners_df, reps_df


def _write_report(folder: Path) -> Path | None:
    """The sweep report, if the report package is there and can draw this sweep (one or two
    parameters); a sweep's tables do not depend on it."""
    try:
        from .report.sweep import write_sweep_report
    except ImportError:
        return None
    try:
        return Path(write_sweep_report(folder))
    except (ValueError, KeyError) as error:  # e.g. three parameters: no map to draw
        (folder / "report-error.txt").write_text(f"no report.html: {error}\n", encoding="utf-8")
        return None


class _SweepModule(types.ModuleType):
    """``stockout.sweep`` names both this module and its main function. Importing the module
    makes the package attribute the module, so the module is callable too: ``stockout.sweep(...)``
    runs :func:`sweep` however often it is called and whatever was imported before."""

    def __call__(self, *args: Any, **kwargs: Any) -> SweepResult:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _SweepModule
