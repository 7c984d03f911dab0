"""The sweep report: key metrics against the varied parameters, and the policy map.

Input, a sweep folder:

- ``sweep.json``: ``{"parameters": [path, ...], "baseline": name, "scenario": name}`` (one or two
  parameter paths, e.g. ``customers.patience_days.mean``);
- ``sweep.csv``: columns ``point, <one column per parameter path>, policy, product, metric, mean,
  ci_low, ci_high, diff, diff_ci_low, diff_ci_high`` — one row per grid point × policy × product ×
  metric, the same statistics as summary.csv (``diff`` is policy − baseline, paired).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from stockout.report import fmt
from stockout.report.figures import FONT, colours, rgba
from stockout.report.page import Page, write_atomic
from stockout.report.tables import ALL, ResultsFolderError, read_csv, read_json_table
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

    @property
    def policies(self) -> list[str]:
        return [str(p) for p in self.frame["policy"].drop_duplicates()]

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
    return SweepTables(frame, params, baseline, str(meta.get("scenario", "")), winners, point_reps)


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
    for j, level in enumerate(second):
        part = rows if level is None else rows[rows[sweep.parameters[1]] == level]
        for policy in sweep.policies:
            line = part[part["policy"] == policy].sort_values(p1)
            if line.empty:
                continue
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
        buttons = [{"label": f"{escape(sweep.parameters[1])} = {v:g}" if isinstance(v, float)
                    else f"{escape(sweep.parameters[1])} = {escape(str(v))}", "method": "restyle",
                    "args": [{"visible": [g == v for g in groups],
                              "showlegend": [g == v and m for g, m in zip(groups, means,
                                                                          strict=True)]}]}
                   for v in second]  # fmt: skip
        fig.update_layout(updatemenus=[{"buttons": buttons, "x": 1, "xanchor": "right",
                                        "y": 1.12, "yanchor": "bottom"}])  # fmt: skip
    fig.update_xaxes(title=escape(p1))
    fig.update_yaxes(title=fmt.label(metric) + (" (%)" if k != 1 else ""), tickformat=",")
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
    if sweep.winners is not None:
        w = sweep.winners
        hit = w[(w["point"] == point) & (w["metric"] == metric)]
        if len(hit):
            best, sig = hit["winner"].iloc[0], hit["significant"].iloc[0]
            if pd.isna(best) or str(best) == "":
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
    p1 = sweep.parameters[0]
    ys = sweep.grid(1) if len(sweep.parameters) == 2 else [None]
    index = {p: i for i, p in enumerate(sweep.policies)}
    z, shade, text = [], [], []
    for y in ys:
        zr, sr, tr = [], [], []
        for x in sweep.grid(0):
            sel = sweep.frame[p1] == x
            if y is not None:
                sel &= sweep.frame[sweep.parameters[1]] == y
            cell = point_winner(sweep, sweep.frame[sel], metric)
            zr.append(None if cell is None else index[cell.winner])
            sr.append(None if cell is None else (0 if cell.significant else 1))
            tr.append(
                ""
                if cell is None
                else escape(cell.winner) + ("" if cell.significant else "<br>(n.s.)")
            )
        z.append(zr)
        shade.append(sr)
        text.append(tr)
    return z, shade, text


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
    fig = go.Figure([
        go.Heatmap(x=xs, y=ys, z=z, colorscale=scale, zmin=-0.5, zmax=n - 0.5, showscale=False,
                   xgap=2, ygap=2, hoverinfo="skip"),
        go.Heatmap(x=xs, y=ys, z=shade, text=text, texttemplate="%{text}",
                   colorscale=[[0, "rgba(255,255,255,0)"], [1, "rgba(255,255,255,0.62)"]],
                   zmin=0, zmax=1, showscale=False, xgap=2, ygap=2,
                   textfont={"size": 12, "color": "#111"},
                   hovertemplate="%{x}, %{y}: %{text}<extra></extra>"),
    ])  # fmt: skip
    buttons = []
    for metric in metrics:
        mz, ms, mt = map_layers(sweep, metric)
        word = "lowest" if metric in LOWER_IS_BETTER else "highest"
        buttons.append({"label": f"{fmt.label(metric)} ({word} wins)", "method": "restyle",
                        "args": [{"z": [mz, ms], "text": [mt, mt]}, [0, 1]]})  # fmt: skip
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
    fig.update_xaxes(title=escape(sweep.parameters[0]), type="category")
    fig.update_yaxes(title=escape(sweep.parameters[1]) if len(sweep.parameters) == 2 else "",
                     type="category")  # fmt: skip
    for p in sweep.policies:  # legend entries for the colours
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=escape(p),
                marker={"color": palette[p], "size": 12, "symbol": "square"},
            )
        )
    return _style(fig, 140 + 70 * len(ys))


def summary_sentences(sweep: SweepTables) -> list[str]:
    """ "Revenue kept: backorder wins at 14 of 20 points (11 significantly)." per metric."""
    out = []
    points = sweep.frame.groupby("point", sort=False)
    for metric in sweep.metrics:
        cells = [c for _, rows in points if (c := point_winner(sweep, rows, metric))]
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


def build_sweep_html(sweep: SweepTables) -> str:
    params = " × ".join(sweep.parameters)
    page = Page(title=f"{sweep.scenario} sweep over {params} · stockout report")
    items = "".join(f"<li>{escape(s)}</li>" for s in summary_sentences(sweep))
    map_label = f"Policy map: the best policy at each grid point of {params}"
    sections = [
        f'<header><p class="eyebrow">stockout sweep · scenario {escape(sweep.scenario)} · '
        f"baseline {escape(sweep.baseline)}</p><h1>Where the best policy changes: "
        f"{escape(params)}</h1></header>",
        '<section id="verdict"><h2>Summary</h2>'
        f'<div class="verdict"><ul>{items}</ul></div></section>',
        '<section id="policy-map"><h2>Policy map</h2><p class="lede">The policy with the best mean '
        f"at each grid point (pick the metric in the menu). Pale cells marked n.s. are not "
        f"significant: {_significance_rule(sweep)} All products.</p>"
        f"{page.figure(policy_map(sweep), label=map_label, menu='Metric')}</section>",
        '<section id="lines"><h2>Key metrics across the sweep</h2><p class="lede">Mean per policy '
        "with its 95% confidence band.</p>",
    ]
    for metric in sweep.metrics:
        sections.append(
            f"<h3>{escape(fmt.label(metric))}</h3>"
            + page.figure(
                metric_lines(sweep, metric),
                label=f"{fmt.label(metric)} against {sweep.parameters[0]}, one line per policy",
                menu="Second parameter",
            )
        )
    sections.append("</section>")
    page.sections += sections
    return page.render()


def write_sweep_report(sweep_dir: Path | str, out: Path | None = None) -> Path:
    """Read a sweep folder and write ``report.html`` there (or to ``out``)."""
    folder = Path(sweep_dir)
    html = build_sweep_html(load_sweep(folder))
    return write_atomic(Path(out) if out is not None else folder / "report.html", html)
