"""Tables for the terminal, laid out for its width.

The width is ``COLUMNS`` when set, else the terminal's, else 80 (a pipe, a log file): never wider
than the reader's screen. No table truncates a policy name or splits a number across lines: the
run table puts as many policies side by side as fit and continues below with the rest; the sweep
table names the winners in full when they fit and by a letter with a legend when they do not.

Numbers are rounded by the precision the data supports: in each row of the run table every number
has the same decimals, enough for two significant figures of the narrowest 95% interval (three
significant figures of the smallest value when there is no interval: one replication).
"""

from __future__ import annotations

import math
import os
import shutil
import string
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from .safe_text import clean

if TYPE_CHECKING:
    import pandas as pd

    from .api import Results, ScenarioInfo
    from .sweep import SweepResult

DEFAULT_WIDTH = 80
MIN_WIDTH = 40
MINUS = "-"

#: Rows of the run table: metric, heading, kind of number.
RUN_METRICS: tuple[tuple[str, str, str], ...] = (
    ("revenue_kept", "revenue kept", "money"),
    ("gross_profit", "gross profit", "money"),
    ("fill_rate", "fill rate, %", "share"),
    ("churn_rate", "churn rate, %", "share"),
    ("storage_cost", "storage cost", "money"),
    ("mean_wait_days", "mean wait, days", "days"),
)

#: Columns of the sweep table: the winner of each of these metrics.
SWEEP_METRICS: tuple[str, ...] = ("revenue_kept", "gross_profit", "fill_rate", "churn_rate")


def _text(value: str, style: str = "", **options: object) -> Text:
    """Rich text of ``value`` with its control characters made visible: titles, policy and
    product names and paths come from files, and must not drive the terminal."""
    return Text(clean(value), style=style, **options)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# The console
# ---------------------------------------------------------------------------------------------


def width() -> int:
    """Columns to lay out for: ``COLUMNS``, else the terminal's width, else 80."""
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return max(MIN_WIDTH, int(env))
    if sys.stdout.isatty():
        return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)
    return DEFAULT_WIDTH


def console(*, stderr: bool = False) -> Console:
    """A rich console of :func:`width` columns, no colour guessing from the content."""
    return Console(stderr=stderr, highlight=False, width=width(), soft_wrap=False)


def fits(renderable: RenderableType, columns: int) -> bool:
    """Whether ``renderable`` shows at its natural width (nothing wrapped) in ``columns``."""
    measuring = Console(width=10_000, highlight=False)
    return measuring.measure(renderable).maximum <= columns


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


def decimals(values: Sequence[float], halves: Sequence[float], cap: int = 2) -> int:
    """Decimals for a row: two significant figures of the narrowest positive half-width, or (no
    interval) three of the smallest non-zero value; at most ``cap``.

    >>> decimals([2187.0, 3748.0], [62.92, 117.0])
    0
    >>> decimals([581.0, 548.0], [22.03, 6.92])
    1
    >>> decimals([0.5], [])
    2
    """
    widths = [abs(h) for h in halves if math.isfinite(h) and h > 0]
    if widths:
        wanted = 1 - math.floor(math.log10(min(widths)))
    else:
        sizes = [abs(v) for v in values if math.isfinite(v) and v != 0]
        wanted = 2 - math.floor(math.log10(min(sizes))) if sizes else 0
    return max(0, min(cap, wanted))


def number(value: float, places: int, *, signed: bool = False) -> str:
    """``value`` with ``places`` decimals and thousands separators; "–" when undefined.

    >>> number(-1586.4, 0, signed=True), number(0.0, 1, signed=True), number(float("nan"), 1)
    ('-1,586', '0.0', '–')
    """
    if not math.isfinite(value):
        return "–"
    text = f"{value:,.{places}f}"
    if text.lstrip("-").strip("0.,") == "":  # rounds to zero: no sign
        return text.lstrip("-")
    if signed and value > 0:
        text = "+" + text
    return text.replace("-", MINUS)


# ---------------------------------------------------------------------------------------------
# stockout run
# ---------------------------------------------------------------------------------------------


def _stat(row: pd.Series | None, key: str, scale: float) -> float:
    if row is None:
        return math.nan
    value = float(row[key])
    return value * scale if math.isfinite(value) else math.nan


def _half(row: pd.Series | None, low: str, high: str, scale: float) -> float:
    return (_stat(row, high, scale) - _stat(row, low, scale)) / 2


def _run_cell(
    row: pd.Series | None, places: int, *, baseline: bool, higher_is_better: bool, scale: float
) -> Text:
    """``mean ± half`` over ``Δ diff ± half *`` (or ``baseline``)."""
    if row is None:
        return _text("–")
    text = _text(number(_stat(row, "mean", scale), places))
    half = _half(row, "ci_low", "ci_high", scale)
    if math.isfinite(half) and half > 0:
        text.append(f" ± {number(half, places)}")
    if baseline:
        return text.append("\nbaseline", style="dim")
    diff = _stat(row, "diff", scale)
    if not math.isfinite(diff):
        return text.append("\nΔ –", style="dim")
    low, high = _stat(row, "diff_ci_low", scale), _stat(row, "diff_ci_high", scale)
    significant = low > 0 or high < 0  # False when there is no interval (NaN)
    delta = f"Δ {number(diff, places, signed=True)}"
    dhalf = (high - low) / 2
    if math.isfinite(dhalf) and dhalf > 0:
        delta += f" ± {number(dhalf, places)}"
    better = diff > 0 if higher_is_better else diff < 0
    style = ("green" if better else "red") if significant else "dim"
    return text.append("\n" + delta + (" *" if significant else ""), style=style)


def _run_rows(results: Results) -> list[tuple[str, list[Text]]]:
    """Per metric of :data:`RUN_METRICS`: its heading and one cell per policy."""
    from .records import HIGHER_IS_BETTER

    summary = results.summary
    rows = summary[summary["product"] == "all"].set_index(["policy", "metric"])
    out = []
    for metric, heading, kind in RUN_METRICS:
        scale = 100.0 if kind == "share" else 1.0
        found = {
            p: rows.loc[(p, metric)] if (p, metric) in rows.index else None
            for p in results.policies
        }
        values = [_stat(r, k, scale) for r in found.values() for k in ("mean", "diff")]
        halves = [
            _half(r, lo, hi, scale)
            for r in found.values()
            for lo, hi in (("ci_low", "ci_high"), ("diff_ci_low", "diff_ci_high"))
        ]
        places = decimals(values, halves)
        cells = [
            _run_cell(
                found[p], places, baseline=p == results.baseline,
                higher_is_better=metric in HIGHER_IS_BETTER, scale=scale,
            )
            for p in results.policies
        ]  # fmt: skip
        out.append((heading, cells))
    return out


def _run_table(rows: list[tuple[str, list[Text]]], policies: Sequence[str],
               columns: Sequence[int]) -> Table:
    table = Table(box=box.ROUNDED, show_lines=True, pad_edge=True)
    table.add_column("metric", no_wrap=True)
    for i in columns:
        table.add_column(_text(policies[i]), justify="right", no_wrap=True)
    for heading, cells in rows:
        table.add_row(_text(heading), *(cells[i] for i in columns))
    return table


def _groups(rows: list[tuple[str, list[Text]]], policies: Sequence[str], columns: int
            ) -> list[list[int]]:
    """Policies (by index) in groups that each fit ``columns`` side by side, in order."""
    groups: list[list[int]] = [[]]
    for i in range(len(policies)):
        trial = [*groups[-1], i]
        if groups[-1] and not fits(_run_table(rows, policies, trial), columns):
            groups.append([i])
        else:
            groups[-1] = trial
    return groups


def run_title(results: Results) -> str:
    meta = results.scenario.scenario
    reps = meta.replications
    runs = f"{reps} replication{'s' if reps != 1 else ''}"
    return f"{meta.title or meta.name} — {runs}, seed {meta.seed}"


def run_legend(results: Results) -> str:
    """What Δ, ± and * mean; with one replication, that nothing was tested."""
    base = f"Δ: difference to the baseline '{results.baseline}' (paired, same customers)"
    if results.scenario.scenario.replications < 2:
        return (
            f"{base}. One replication: no 95% intervals and no significance tests; "
            "run more replications (--reps) before trusting a difference."
        )
    return f"{base}; ± half-width of the 95% interval; * the interval excludes 0."


def run_tables(results: Results, columns: int | None = None) -> list[RenderableType]:
    """The run's key metrics, one column per policy (several tables when they do not fit)."""
    columns = columns or width()
    rows = _run_rows(results)
    policies = list(results.policies)
    out: list[RenderableType] = [_text(run_title(results), style="bold")]
    for group in _groups(rows, policies, columns):
        out.append(_run_table(rows, policies, group))
    out.append(_text(run_legend(results), style="dim"))
    return out


# ---------------------------------------------------------------------------------------------
# stockout sweep
# ---------------------------------------------------------------------------------------------


def _value(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _keys(policies: Sequence[str]) -> dict[str, str]:
    letters = string.ascii_uppercase
    return {p: (letters[i] if i < len(letters) else f"P{i + 1}") for i, p in enumerate(policies)}


def _sweep_table(result: SweepResult, names: dict[str, str], headers: list[str]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header in headers:
        table.add_column(_text(header), justify="right", no_wrap=True)
    table.add_column("reps", justify="right", no_wrap=True)
    for metric in SWEEP_METRICS:
        table.add_column(metric.replace("_", " "), no_wrap=True)
    for _, row in result.points.iterrows():
        cells = [_value(row[p]) for p in result.parameters] + [str(row["replications"])]
        for metric in SWEEP_METRICS:
            winner = row.get(metric)
            if not isinstance(winner, str):
                cells.append("–")
                continue
            star = " *" if bool(row[f"{metric}_significant"]) else ""
            cells.append(names.get(winner, winner) + star)
        table.add_row(*(_text(cell) for cell in cells))
    return table


def sweep_tables(result: SweepResult, columns: int | None = None) -> list[RenderableType]:
    """Who wins where: one row per grid point. Parameter headers are the full key paths, or
    ``x1``, ``x2``... with the paths above; winners are named in full, or by letter with a
    legend, whichever fits."""
    columns = columns or width()
    paths = list(result.parameters)
    full = {p: p for p in result.policies}
    short = _keys(result.policies)
    out: list[RenderableType] = [_text("Who wins where (* significantly better than every other "
                                      "policy at that point)", style="bold")]
    for headers, names in (
        (paths, full),
        ([f"x{i + 1}" for i in range(len(paths))], full),
        ([f"x{i + 1}" for i in range(len(paths))], short),
    ):
        table = _sweep_table(result, names, headers)
        if fits(table, columns):
            break
    if headers != paths:
        out += [_text(f"x{i + 1} = {p}") for i, p in enumerate(paths)]
    out.append(table)
    if names is short:
        legend = [f"{k} = {p}" for p, k in short.items()]
        one_line = "   ".join(legend)
        out += [_text(one_line)] if len(one_line) <= columns else [_text(x) for x in legend]
    return out


# ---------------------------------------------------------------------------------------------
# stockout scenarios
# ---------------------------------------------------------------------------------------------


def scenario_list(
    infos: Sequence[ScenarioInfo], shown: Callable[[Path], str], columns: int | None = None
) -> list[RenderableType]:
    """Scenario files folder by folder (``shown`` writes a folder as the user would type it):
    the file name, and its title (else the first sentence of its story) as the summary, wrapped
    at words with a hanging indent."""
    columns = columns or width()
    out: list[RenderableType] = []
    folders: dict[Path, list[ScenarioInfo]] = {}
    for info in infos:
        folders.setdefault(info.path.parent, []).append(info)
    for folder, found in folders.items():
        where = shown(folder).rstrip("/") + "/"
        count = f"{len(found)} scenario{'s' if len(found) != 1 else ''}"
        out.append(_text(f"{where}  ({count}; run one with: stockout run {where}FILE)",
                        style="bold"))
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
        table.add_column("file", no_wrap=True)
        table.add_column("summary", overflow="fold", ratio=1)
        for info in found:
            name = info.path.name
            if info.name != info.path.stem:
                name += f" ({info.name})"
            table.add_row(_text(name), _text(info.title or info.summary))
        out.append(table)
    return out
