"""The sweep report: key metrics against the varied parameters, and the policy map.

Input, a sweep folder:

- ``sweep.json``: ``{"parameters": [path, ...], "baseline": name, "scenario": name}`` (one or two
  parameter paths, e.g. ``customers.patience_days.mean``);
- ``sweep.csv``: columns ``point, <one column per parameter path>, policy, product, metric, mean,
  ci_low, ci_high, diff, diff_ci_low, diff_ci_high`` — one row per grid point × policy × product ×
  metric, the same statistics as summary.csv (``diff`` is policy − baseline, paired).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from stockout.report import fmt
from stockout.report.figures import FONT, colours, rgba
from stockout.report.html import _paragraphs, assumptions_html, footer_html, term
from stockout.report.page import Page, write_atomic
from stockout.report.tables import (
    ALL,
    ResultsFolderError,
    _read_scenario,
    read_csv,
    read_json_table,
)
from stockout.report.verdict import LOWER_IS_BETTER

SWEEP_METRICS: tuple[str, ...] = (
    "revenue_kept", "gross_profit", "churn_rate", "storage_cost", "fill_rate", "mean_wait_days",
)  # fmt: skip
MAP_DEFAULT = "revenue_kept"


@dataclass(frozen=True)
class SweepTables:
    frame: pd.DataFrame
    parameters: list[str]
    baseline: str
    scenario: str
    winners: pd.DataFrame | None = None  # winners.csv (product ``all``), when the folder has it
    point_reps: tuple[int, ...] = ()  # replications of each point (sweep.json), when known
    meta: dict[str, Any] = field(default_factory=dict)  # sweep.json
    base: dict[str, Any] = field(default_factory=dict)  # the base scenario.toml

    @cached_property
    def policies(self) -> list[str]:
        return [str(p) for p in self.frame["policy"].unique()]

    @cached_property
    def by_point(self) -> dict[int, pd.DataFrame]:
        """Each grid point's rows (one groupby: the report stays linear in points)."""
        return {int(k): rows for k, rows in self.frame.groupby("point", sort=False)}

    @cached_property
    def verdicts(self) -> dict[tuple[int, str], tuple[object, object]]:
        """winners.csv as (point, metric) -> (winner, significant), first row of each."""
        if self.winners is None:
            return {}
        w = self.winners
        keys = zip(w["point"].astype(int), w["metric"].astype(str), strict=True)
        out: dict[tuple[int, str], tuple[object, object]] = {}
        for key, best, sig in zip(keys, w["winner"], w["significant"], strict=True):
            out.setdefault(key, (best, sig))
        return out

    def point_at(self, x: Any, y: Any = None) -> int | None:
        """The grid point at first-parameter value ``x`` (and second ``y``)."""
        return self.point_index.get((x, y))

    @cached_property
    def point_index(self) -> dict[tuple[Any, Any], int]:
        two = len(self.parameters) == 2
        return {(rows[self.parameters[0]].iloc[0],
                 rows[self.parameters[1]].iloc[0] if two else None): k
                for k, rows in self.by_point.items()}  # fmt: skip

    @property
    def metrics(self) -> list[str]:
        have = set(self.frame["metric"])
        return [m for m in SWEEP_METRICS if m in have]

    def grid(self, i: int) -> list[Any]:
        return sorted(self.frame[self.parameters[i]].dropna().unique().tolist())


def load_sweep(sweep_dir: Path | str) -> SweepTables:
    folder = Path(sweep_dir)
    meta_path = folder / "sweep.json"
    if not meta_path.exists():
        raise ResultsFolderError(f"{meta_path}: missing (is this a stockout sweep folder?)")
    meta = read_json_table(meta_path)
    params = [str(p) for p in meta.get("parameters", [])]
    if not 1 <= len(params) <= 2:
        raise ResultsFolderError(f"{meta_path}: 'parameters' must list one or two paths")
    stats = ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high")
    frame = read_csv(folder / "sweep.csv", columns=("point", *params, "policy", "product", "metric",
                                                    *stats))  # fmt: skip
    frame = frame[frame["product"] == ALL] if (frame["product"] == ALL).any() else frame
    policies = frame["policy"].drop_duplicates().tolist()
    baseline = str(meta.get("baseline") or policies[0])
    winners = None
    if (folder / "winners.csv").exists():
        winners = read_csv(folder / "winners.csv", columns=("point", "product", "metric",
                                                             "winner", "significant"))  # fmt: skip
        shown = winners["product"] == ALL
        winners = winners[shown] if shown.any() else None
    reps = meta.get("replications_per_point") or []
    point_reps = tuple(int(r) for r in reps) if isinstance(reps, list) else ()
    base = _read_scenario(folder / "scenario.toml")
    return SweepTables(frame, params, baseline, str(meta.get("scenario", "")), winners, point_reps,
                       meta, base)  # fmt: skip


#: Words for the last part of a parameter path (what it is, in a planner's words, with its unit).
PARAMETER_WORDS: dict[str, str] = {
    "patience_days": "patience (days)", "lead_time_days": "supplier lead time (days)",
    "transit_days": "transit time (days)", "duration_days": "duration (days)",
    "every_days": "days between", "orders_per_day": "demand (orders/day)",
    "order_up_to": "order-up-to level (units)", "reorder_point": "reorder point (units)",
    "order_quantity": "order quantity (units)", "review_period_days": "review period (days)",
    "capacity_per_day": "capacity (units/day)", "initial_stock": "initial stock (units)",
    "holding_cost_per_day": "holding cost per unit-day", "price": "price",
    "unit_cost": "unit cost", "backorder_cost_per_day": "backorder cost per unit-day",
    "max_quoted_wait_days": "longest quoted wait (days)",
    "quote_buffer_days": "quote buffer (days)",
    "notify_me_share": "share asking to be notified", "max_preorders": "pre-order cap",
    "population": "customers at the start", "acquisition_per_day": "new customers per day",
    "on_stockout": "churn after a stockout", "on_late": "churn after a late delivery",
    "on_cancel": "churn after a cancellation", "on_declined_quote": "churn after a declined quote",
    "background_per_year": "background churn per year", "horizon_days": "horizon (days)",
    "multiplier": "spike multiplier", "amplitude": "seasonal amplitude",
    "loss_probability": "loss probability", "min_order_qty": "minimum order (units)",
}  # fmt: skip
_STATS = {"mean": "mean", "cv": "variability (cv)", "sd": "standard deviation", "low": "low",
          "high": "high", "mode": "mode", "value": ""}  # fmt: skip
_OWNERS = {"products": "of {}", "suppliers": "of supplier {}", "lanes": "of lane {}",
           "policies": "in policy {}"}  # fmt: skip


def parameter_label(path: str) -> str:
    """A planner's name for a sweep parameter path: ``customers.patience_days.mean`` ->
    "Patience (days), mean"; ``products.press.replenishment.order_up_to`` -> "Order-up-to level
    (units) of press". The path itself is shown beside it in small print."""
    parts = path.split(".")
    owner = parts[1] if parts[0] in _OWNERS and len(parts) > 2 else None
    stat = parts[-1] if parts[-1] in _STATS and len(parts) > 1 else None
    leaf = parts[-2] if stat is not None else parts[-1]
    words = PARAMETER_WORDS.get(leaf, leaf.replace("_", " "))
    if stat:
        words += f", {_STATS[stat]}" if _STATS[stat] else ""
    if owner:
        words += " " + _OWNERS[parts[0]].format(owner)
    return words[:1].upper() + words[1:]


def parameter_title(path: str) -> str:
    """Axis title: the label, and the path in small grey print on a second line."""
    return (f"{escape(parameter_label(path))}<br><span style='font-size:11px;color:#777'>"
            f"{escape(path)}</span>")  # fmt: skip


def parameter_html(path: str) -> str:
    """The label, then the path in small print, for the page's text."""
    label = escape(parameter_label(path))
    return f'{label} <small class="note"><code>{escape(path)}</code></small>'


def abbreviations(policies: list[str]) -> dict[str, str]:
    """Short unique names for the map's cells: the initials of each policy's words
    (``out-of-stock-deep`` -> ``OOSD``), numbered where two would clash."""
    short: dict[str, str] = {}
    for policy in policies:
        words = [w for w in re.split(r"[-_\s.]+", policy) if w]
        base = "".join(w[0] for w in words).upper() or policy[:3].upper()
        name, n = base, 2
        while name in short.values():
            name, n = f"{base}{n}", n + 1
        short[policy] = name
    return short


def _style(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        template="plotly_white", height=height, font={"family": FONT, "size": 13, "color": "#222"},
        margin={"l": 70, "r": 20, "t": 40, "b": 60}, hoverlabel={"namelength": -1},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )  # fmt: skip
    return fig


def metric_lines(sweep: SweepTables, metric: str) -> go.Figure:
    """Mean and 95% CI band of one metric against the first parameter, one line per policy.

    With two parameters a menu picks the value of the second.
    """
    p1 = sweep.parameters[0]
    second = sweep.grid(1) if len(sweep.parameters) == 2 else [None]
    k = 100.0 if metric in fmt.SHARES else 1.0
    palette = colours(sweep.policies)
    fig = go.Figure()
    groups: list[Any] = []
    means: list[bool] = []  # only mean lines have a legend entry
    rows = sweep.frame[sweep.frame["metric"] == metric]
    keys = ["policy"] if second == [None] else [sweep.parameters[1], "policy"]
    lines = {(k if isinstance(k, tuple) else (k,)): g for k, g in rows.groupby(keys, sort=False)}
    for j, level in enumerate(second):
        for policy in sweep.policies:
            line = lines.get((policy,) if level is None else (level, policy))
            if line is None:
                continue
            line = line.sort_values(p1)
            colour, name = palette[policy], escape(policy)
            x = line[p1].tolist()
            common = {"legendgroup": name, "visible": j == 0, "x": x}
            fig.add_trace(
                go.Scatter(
                    y=(line["ci_high"] * k).tolist(),
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    hoverinfo="skip",
                    **common,
                )
            )
            fig.add_trace(
                go.Scatter(
                    y=(line["ci_low"] * k).tolist(),
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=rgba(colour, 0.18),
                    showlegend=False,
                    hoverinfo="skip",
                    **common,
                )
            )
            fig.add_trace(go.Scatter(y=(line["mean"] * k).tolist(), mode="lines+markers",
                                     name=name, line={"color": colour, "width": 2},
                                     showlegend=j == 0, **common))  # fmt: skip
            groups += [level] * 3
            means += [False, False, True]  # band high, band low, mean line
    if len(second) > 1:
        name2 = escape(parameter_label(sweep.parameters[1]))
        buttons = [{"label": f"{name2} = {_label(v)}", "method": "restyle",
                    "args": [{"visible": [g == v for g in groups],
                              "showlegend": [g == v and m for g, m in zip(groups, means,
                                                                          strict=True)]}]}
                   for v in second]  # fmt: skip
        fig.update_layout(updatemenus=[{"buttons": buttons, "x": 1, "xanchor": "right",
                                        "y": 1.12, "yanchor": "bottom"}])  # fmt: skip
    fig.update_xaxes(title=parameter_title(p1), automargin=True)
    fig.update_yaxes(title=fmt.label(metric) + (" (%)" if k != 1 else ""), tickformat=",",
                     automargin=True)  # fmt: skip
    return _style(fig, 380)


@dataclass(frozen=True)
class Cell:
    winner: str
    significant: bool


def winner(rows: pd.DataFrame, metric: str, baseline: str) -> Cell | None:
    """Best policy of one grid point on a metric, and whether that is significant.

    A non-baseline winner is significant when its paired difference to the baseline excludes 0 in
    its favour; the baseline wins significantly when every other policy is significantly worse.
    """
    rows = rows[rows["metric"] == metric].dropna(subset=["mean"])
    if rows.empty:
        return None
    lower = metric in LOWER_IS_BETTER
    best = rows.loc[rows["mean"].idxmin() if lower else rows["mean"].idxmax()]

    def better_than_baseline(r: pd.Series) -> bool:
        lo, hi = r["diff_ci_low"], r["diff_ci_high"]
        if pd.isna(lo) or pd.isna(hi):
            return False
        return bool(hi < 0) if lower else bool(lo > 0)

    def worse_than_baseline(r: pd.Series) -> bool:
        lo, hi = r["diff_ci_low"], r["diff_ci_high"]
        if pd.isna(lo) or pd.isna(hi):
            return False
        return bool(lo > 0) if lower else bool(hi < 0)

    if best["policy"] == baseline:
        others = rows[rows["policy"] != baseline]
        sig = bool(len(others)) and all(worse_than_baseline(r) for _, r in others.iterrows())
    else:
        sig = better_than_baseline(best)
    return Cell(str(best["policy"]), sig)


def point_winner(sweep: SweepTables, rows: pd.DataFrame, metric: str) -> Cell | None:
    """The winner of one grid point (``rows``: its sweep.csv rows) on a metric.

    The sweep's own verdict in winners.csv when the folder has it (significant: better than
    *every* other policy, docs/sweeps.md), so the report and winners.csv never disagree; else
    computed from the differences to the baseline (``winner``)."""
    if rows.empty:
        return None
    point = int(rows["point"].iloc[0])
    cell = winner(rows, metric, sweep.baseline)
    hit = sweep.verdicts.get((point, metric))
    if hit is not None:
        best, sig = hit
        if pd.isna(best) or str(best) == "":  # type: ignore[arg-type]
            return None
        cell = Cell(str(best), str(sig).strip().lower() == "true")
    if cell is not None and 0 <= point < len(sweep.point_reps) and sweep.point_reps[point] < 2:
        cell = Cell(cell.winner, False)  # one replication: no interval, nothing is significant
    return cell


def _label(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else escape(str(v))


def map_layers(
    sweep: SweepTables, metric: str
) -> tuple[list[list[Any]], list[list[Any]], list[list[str]]]:
    """z (policy index), the n.s. overlay and the cell text of the policy map for one metric."""
    ys = sweep.grid(1) if len(sweep.parameters) == 2 else [None]
    index = {p: i for i, p in enumerate(sweep.policies)}
    z, shade, text = [], [], []
    short = abbreviations(sweep.policies)
    for y in ys:
        zr, sr, tr = [], [], []
        for x in sweep.grid(0):
            k = sweep.point_at(x, y)
            cell = point_winner(sweep, sweep.by_point[k], metric) if k is not None else None
            zr.append(None if cell is None else index[cell.winner])
            sr.append(None if cell is None else (0 if cell.significant else 1))
            tr.append(  # a short name: full names overlap in the cells of a narrow screen
                ""
                if cell is None
                else escape(short[cell.winner]) + ("" if cell.significant else "<br>n.s.")
            )
        z.append(zr)
        shade.append(sr)
        text.append(tr)
    return z, shade, text


def _full_names(sweep: SweepTables, z: list[list[Any]], shade: list[list[Any]]
                ) -> list[list[str]]:  # fmt: skip
    """The hover text of each map cell: the winner's full name (and n.s.)."""
    def name(i: Any, ns: Any) -> str:
        return "" if i is None else escape(sweep.policies[i]) + (" (n.s.)" if ns else "")

    return [[name(i, ns) for i, ns in zip(zr, sr, strict=True)]
            for zr, sr in zip(z, shade, strict=True)]  # fmt: skip


def policy_map(sweep: SweepTables, default: str = MAP_DEFAULT) -> go.Figure:
    """Which policy wins at each grid point; pale cells marked n.s. are not significant."""
    metrics = sweep.metrics
    first = default if default in metrics else metrics[0]
    palette = colours(sweep.policies)
    n = len(sweep.policies)
    scale = []
    for i, p in enumerate(sweep.policies):
        scale += [[i / n, palette[p]], [(i + 1) / n, palette[p]]]
    xs = [_label(v) for v in sweep.grid(0)]
    ys = [_label(v) for v in sweep.grid(1)] if len(sweep.parameters) == 2 else [""]
    z, shade, text = map_layers(sweep, first)
    names = _full_names(sweep, z, shade)
    fig = go.Figure([
        go.Heatmap(x=xs, y=ys, z=z, colorscale=scale, zmin=-0.5, zmax=n - 0.5, showscale=False,
                   xgap=2, ygap=2, hoverinfo="skip"),
        go.Heatmap(x=xs, y=ys, z=shade, text=text, texttemplate="%{text}",
                   colorscale=[[0, "rgba(255,255,255,0)"], [1, "rgba(255,255,255,0.62)"]],
                   zmin=0, zmax=1, showscale=False, xgap=2, ygap=2,
                   textfont={"size": 12 if len(xs) <= 8 else 10, "color": "#111"},
                   customdata=names, hovertemplate="%{x}, %{y}: %{customdata}<extra></extra>"),
    ])  # fmt: skip
    buttons = []
    for metric in metrics:
        mz, ms, mt = map_layers(sweep, metric)
        word = "lowest" if metric in LOWER_IS_BETTER else "highest"
        full = _full_names(sweep, mz, ms)
        buttons.append({"label": f"{fmt.label(metric)} ({word} wins)", "method": "restyle",
                        "args": [{"z": [mz, ms], "text": [mt, mt], "customdata": [full, full]},
                                 [0, 1]]})  # fmt: skip
    fig.update_layout(
        updatemenus=[
            {
                "buttons": buttons,
                "active": metrics.index(first),
                "x": 1,
                "xanchor": "right",
                "y": 1.02,
                "yanchor": "bottom",
            }
        ]
    )
    fig.update_xaxes(title=parameter_title(sweep.parameters[0]), type="category", automargin=True)
    fig.update_yaxes(title=parameter_title(sweep.parameters[1]) if len(sweep.parameters) == 2
                     else "", type="category", automargin=True)  # fmt: skip
    short = abbreviations(sweep.policies)
    for p in sweep.policies:  # legend entries for the colours, with the cells' short names
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=f"{escape(short[p])}: {escape(p)}",
                marker={"color": palette[p], "size": 12, "symbol": "square"},
            )
        )
    _style(fig, 180 + 70 * len(ys))
    fig.update_layout(margin={"l": 20, "r": 20, "t": 40, "b": 20})  # titles make their own room
    return fig


def summary_sentences(sweep: SweepTables) -> list[str]:
    """ "Revenue kept: backorder wins at 14 of 20 points (11 significantly)." per metric."""
    out = []
    for metric in sweep.metrics:
        cells = [c for rows in sweep.by_point.values() if (c := point_winner(sweep, rows, metric))]
        if not cells:
            continue
        counts: dict[str, list[int]] = {}
        for c in cells:
            counts.setdefault(c.winner, [0, 0])
            counts[c.winner][0] += 1
            counts[c.winner][1] += int(c.significant)
        parts = [f"{p} at {n} of {len(cells)} points ({s} significantly)"
                 for p, (n, s) in sorted(counts.items(), key=lambda kv: -kv[1][0])]  # fmt: skip
        out.append(f"{fmt.label(metric)}: best is {'; '.join(parts)}.")
    return out


def _significance_rule(sweep: SweepTables) -> str:
    if sweep.winners is not None:
        return ("the winner is not better than every other policy with a paired 95% interval "
                "that excludes 0 (as in winners.csv; a point of one replication is never "
                "significant).")  # fmt: skip
    return ("the winner's paired difference to the baseline includes 0 (or, where the baseline "
            "wins, some policy is not significantly worse).")  # fmt: skip


def _sweep_header(sweep: SweepTables) -> str:
    """Title, the scenario's story and what was varied, as the run report opens."""
    meta, scenario = sweep.meta, dict(sweep.base.get("scenario", {}))
    title = str(meta.get("title") or scenario.get("title") or sweep.scenario)
    reps = sorted(set(sweep.point_reps)) or [meta.get("replications", "?")]
    reps_text = (f"{reps[0]} replications per point" if len(reps) == 1
                 else f"{reps[0]}–{reps[-1]} replications per point")  # fmt: skip
    points = meta.get("points", len(sweep.by_point))
    eyebrow = (f"stockout sweep · scenario {escape(sweep.scenario)} · {points} points · "
               f"{escape(str(reps_text))} · seed {escape(str(meta.get('seed', '?')))} · "
               f"baseline {escape(sweep.baseline)}")  # fmt: skip
    values = meta.get("values") or {}
    varied = "".join(
        f"<li>{parameter_html(p)}: {', '.join(_label(v) for v in values.get(p, sweep.grid(i)))}"
        "</li>"
        for i, p in enumerate(sweep.parameters)
    )
    story = _paragraphs(str(scenario.get("description", "")))
    return (f'<header><p class="eyebrow">{eyebrow}</p><h1>{escape(title)}</h1>'
            f'<p class="lede">A sweep: the scenario below, run at every combination of</p>'
            f'<ul class="varied">{varied}</ul><div class="story">{story}</div>'
            "</header>")  # fmt: skip


def _sweep_assumptions(sweep: SweepTables) -> str:
    if not sweep.base:
        return ""
    meta, values = sweep.meta, sweep.meta.get("values") or {}
    manifest = {"seed": meta.get("seed"), "replications": meta.get("replications"),
                "baseline": sweep.baseline}  # fmt: skip
    manifest = {k: v for k, v in manifest.items() if v is not None}
    varied = [("Varied", parameter_html(p),
               ", ".join(str(_label(v)) for v in values.get(p, sweep.grid(i))))
              for i, p in enumerate(sweep.parameters)]  # fmt: skip
    return assumptions_html(sweep.base, manifest,
                            "The base scenario's key parameters (the full file is "
                            "<code>scenario.toml</code> next to this report). The parameters "
                            "under “Varied” take each of the values listed; where they appear "
                            "again below, that is the base scenario's value.",
                            varied)  # fmt: skip


def build_sweep_html(sweep: SweepTables) -> str:
    params = " × ".join(parameter_label(p) for p in sweep.parameters)
    page = Page(title=f"{sweep.scenario} sweep over {params} · stockout report")
    items = "".join(f"<li>{escape(s)}</li>" for s in summary_sentences(sweep))
    map_label = f"Policy map: the best policy at each grid point of {params}"
    first = parameter_label(sweep.parameters[0])
    sections = [
        _sweep_header(sweep),
        '<section id="verdict"><h2>Summary</h2>'
        f'<div class="verdict"><ul>{items}</ul></div></section>',
        '<section id="policy-map"><h2>Policy map</h2><p class="lede">The policy with the best mean '
        "at each grid point (pick the metric in the menu; cells show the short names of the "
        "legend, hover a cell for the full name). Pale cells marked n.s. are not "
        f"significant: {_significance_rule(sweep)} All products.</p>"
        f"{page.figure(policy_map(sweep), label=map_label, menu='Metric')}</section>",
        '<section id="lines"><h2>Key metrics across the sweep</h2><p class="lede">Mean per policy '
        "with its 95% confidence band.</p>",
    ]
    for metric in sweep.metrics:
        sections.append(
            f"<h3>{term(metric)}</h3>"
            + page.figure(
                metric_lines(sweep, metric),
                label=f"{fmt.label(metric)} against {first}, one line per policy",
                menu="Second parameter",
            )
        )
    sections += ["</section>", _sweep_assumptions(sweep), footer_html(sweep.meta)]
    page.sections += sections
    return page.render()


def write_sweep_report(sweep_dir: Path | str, out: Path | None = None) -> Path:
    """Read a sweep folder and write ``report.html`` there (or to ``out``)."""
    folder = Path(sweep_dir)
    html = build_sweep_html(load_sweep(folder))
    return write_atomic(Path(out) if out is not None else folder / "report.html", html)
