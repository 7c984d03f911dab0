"""The report of an optimisation: a first section with each policy's best stock level (for the
run report at the optima) and, for ``--vary``, a page with the policy map at optimal stock.

Reads ``optimum.csv`` / ``winners.csv`` only; every text is escaped.
"""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from stockout.report.page import Page, write_atomic

OPTIMUM_FILE = "optimum.csv"
RUN_AFTER = "The rest of this report compares the policies at these levels."
MAP_AFTER = ("The map shows the policy whose best level does best at each point; a grey cell "
             "(\"A ≈ B\") is a point where the two best policies' 95% intervals overlap.")
CONFIG_FILE = "optimize.json"


def _num(x: Any) -> str:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(value):
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.4g}"


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype={"policy": str}, keep_default_na=False,
                       na_values=[""])


def _config(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _searched(config: dict[str, Any]) -> list[str]:
    return [str(s).partition("=")[0] for s in config.get("search", [])]


def _lede(config: dict[str, Any], after: str) -> str:
    objective = config.get("objective") or {}
    sense = "maximise" if objective.get("maximize", True) else "minimise"
    cons = ", ".join(str(c).split("+-")[0] for c in config.get("subject_to", [])) or "none"
    conf = config.get("confidence", 0.95)
    return (f"Each policy was searched separately to {sense} "
            f"<code>{escape(str(objective.get('metric', '?')))}</code> (constraints: "
            f"{escape(cons)}). With probability at least {escape(str(conf))}, each choice is "
            "within the indifference zone of the best stock level among those its final "
            "selection compared (Kim &amp; Nelson's KN under common random numbers; see "
            f"docs/howto-optimize.md). {after}")


def _values(label: str) -> str:
    """'reorder_point=140, order_up_to=200' → '140, 200' (the columns name the parameters)."""
    return ", ".join(part.partition("=")[2] for part in label.split(", "))


def optimum_table(opt: pd.DataFrame, searched: list[str], lead: list[str] = ()) -> str:
    heads = [*lead, "policy", *(p.rsplit(".", 1)[-1] for p in searched), "objective [95% CI]",
             "runner-up", "search cost", "how"]
    rows = []
    for _, r in opt.iterrows():
        feasible = str(r.get("feasible")).lower() == "true"
        edge = " <em>(edge of the range)</em>" if str(r.get("at_edge")) == "True" else ""
        level = [escape(_num(r.get(p))) + (edge if feasible else " <em>(infeasible)</em>")
                 for p in searched]
        objective = (f"{_num(r['mean'])} [{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
                     if feasible else "no feasible level in the range")
        runner = (f"{escape(_values(r['runner_up']))} ({_num(r.get('runner_up_mean'))})"
                  if isinstance(r.get("runner_up"), str) else "–")
        cost = (f"{int(r.get('candidates_evaluated', 0))} candidates, "
                f"{int(r.get('search_replications', 0)):,} runs, "
                f"{_num(r.get('search_seconds'))} s")
        how = escape(str(r.get("method", "")))
        if str(r.get("guaranteed")).lower() != "true" and feasible:
            how += ' <span class="caveat">(replication cap hit: no guarantee)</span>'
        cells = [escape(str(r[c])) for c in lead] + [escape(str(r["policy"])), *level,
                                                      escape(objective), runner, cost, how]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    return (f'<div class="scroll"><table class="optimum"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def optimum_section(folder: Path) -> str | None:
    """The report's first section for an optimisation folder; None for other folders."""
    if not (folder / OPTIMUM_FILE).is_file():
        return None
    config = _config(folder)
    opt = _read(folder, OPTIMUM_FILE)
    searched = _searched(config) or [c for c in opt.columns if c.startswith("products.")]
    return (f'<section id="optimum"><h2>Each policy at its best stock level</h2>'
            f'<p class="lede">{_lede(config, RUN_AFTER)}</p>{optimum_table(opt, searched)}'
            "</section>")


def _map(winners: pd.DataFrame, parameters: list[str]) -> go.Figure:
    """Which policy wins at optimal stock, per point: a categorical heat map."""
    names = sorted({w for w in winners["winner"] if isinstance(w, str)})
    code = {n: i for i, n in enumerate(names)}
    x = [str(v) for v in dict.fromkeys(winners[parameters[-1]])]
    y = [str(v) for v in dict.fromkeys(winners[parameters[0]])] if len(parameters) == 2 else [""]
    z = [[math.nan] * len(x) for _ in y]
    text = [[""] * len(x) for _ in y]
    for _, w in winners.iterrows():
        i = y.index(str(w[parameters[0]])) if len(parameters) == 2 else 0
        j = x.index(str(w[parameters[-1]]))
        winner = w["winner"] if isinstance(w["winner"], str) else None
        clear = str(w["clear"]) == "True"
        z[i][j] = code[winner] if winner and clear else (len(names) if winner else math.nan)
        text[i][j] = ((winner if clear else f"{winner} ≈ {w['second']}") if winner
                      else "none feasible")
    palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]
    colours = [palette[i % len(palette)] for i in range(len(names))] + ["#bdbdbd"]
    top = len(colours) - 1
    scale = [[i / top, c] for i, c in enumerate(colours)]
    fig = go.Figure(go.Heatmap(
        z=z, x=x, y=y, text=text, texttemplate="%{text}", showscale=False, colorscale=scale,
        zmin=0, zmax=top, hovertemplate="%{text}<extra></extra>"))
    fig.update_layout(title="Policy map at optimal stock", height=200 + 60 * len(y),
                      xaxis_title=parameters[-1], yaxis_title=parameters[0] if len(
                          parameters) == 2 else None, margin=dict(l=60, r=20, t=50, b=60),
                      xaxis_type="category", yaxis_type="category")
    return fig


def write_optimize_sweep_report(folder: Path | str, out: Path | None = None) -> Path:
    """report.html of an optimisation repeated over a sweep (``--vary``)."""
    folder = Path(folder)
    config = _config(folder)
    opt = _read(folder, OPTIMUM_FILE)
    winners = _read(folder, "winners.csv")
    parameters = [str(p) for p in (config.get("vary") or {})]
    searched = _searched(config)
    page = Page(title="Policy map at optimal stock · stockout report")
    page.sections.append(
        '<header><p class="eyebrow">stockout report · optimisation over a sweep</p>'
        "<h1>Which policy wins when each is stocked at its best?</h1>"
        f'<p class="lede">{_lede(config, MAP_AFTER)}</p></header>')
    page.sections.append("<section><h2>Policy map</h2>"
                         + page.figure(_map(winners, parameters)) + "</section>")
    page.sections.append("<section><h2>Best stock level per point and policy</h2>"
                         + optimum_table(opt, searched, parameters) + "</section>")
    return write_atomic(Path(out) if out is not None else folder / "report.html", page.render())
