"""The report's "what the data shows" section: what each policy lets the business learn.

True demand beside the demand the business's own records show, per policy, over time and in
total; the forecast a forecast rule builds from those records; the capture rate, the
in-stock-corrected estimate and, where a rule reviews periodically, the bullwhip ratio.
Built from ``summary.csv`` and ``timeseries.csv`` alone; ``html.py`` places it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from stockout.report import figures
from stockout.report.page import Page
from stockout.report.tables import ALL, ResultTables, value

METRICS: tuple[str, ...] = (
    "true_demand_per_day", "recorded_demand_units", "demand_capture_rate",
    "corrected_demand_per_day", "bullwhip_ratio",
)  # fmt: skip
SMOOTH_DAYS = 7  # the lines are moving averages over a week: daily counts are mostly noise
TRUE_COLOUR = "#888888"


def _present(tables: ResultTables) -> list[str]:
    return [m for m in METRICS
            if any(value(tables, p, m) is not None for p in tables.policies)]  # fmt: skip


def _line(ts: pd.DataFrame, policy: str, series: str) -> pd.DataFrame:
    """One policy's series (all products together), as a weekly moving average of the mean."""
    part = ts[(ts["policy"] == policy) & (ts["product"] == ALL) & (ts["series"] == series)]
    part = part.sort_values("day")
    if part.empty or part["mean"].isna().all():
        return part.iloc[0:0]
    step = float(part["day"].diff().median()) if len(part) > 1 else 1.0
    window = max(1, round(SMOOTH_DAYS / step)) if math.isfinite(step) and step > 0 else 1
    return part.assign(mean=part["mean"].rolling(window, min_periods=1).mean())


def demand_figure(tables: ResultTables) -> go.Figure | None:
    """A panel per policy: true and recorded demand per day, and the forecast where a rule
    makes one."""
    ts = tables.timeseries
    if ts.empty or not (ts["series"] == "recorded_demand_per_day").any():
        return None
    policies = tables.policies
    fig = make_subplots(rows=len(policies), cols=1, shared_xaxes=True, vertical_spacing=0.05,
                        subplot_titles=[escape(p) for p in policies])  # fmt: skip
    palette = figures.colours(policies)
    styles = (("true_demand_per_day", "true demand", {"color": TRUE_COLOUR, "width": 2}),
              ("recorded_demand_per_day", "recorded", None),
              ("forecast_per_day", "forecast", "dash"))  # fmt: skip
    for r, policy in enumerate(policies, start=1):
        for series, name, style in styles:
            part = _line(ts, policy, series)
            if part.empty:
                continue
            line = (style if isinstance(style, dict)
                    else {"color": palette[policy], "width": 2, "dash": style or "solid"})
            fig.add_trace(go.Scatter(
                x=part["day"].to_numpy(dtype=float), y=part["mean"].to_numpy(dtype=float),
                mode="lines", line=line,
                name=name if style is styles[0][2] else f"{escape(policy)}: {name}",
                legendgroup=series if style is styles[0][2] else escape(policy),
                showlegend=r == 1 or style is not styles[0][2],
            ), row=r, col=1)  # fmt: skip
        fig.update_yaxes(title_text="units / day", rangemode="tozero", row=r, col=1)
    fig.update_xaxes(title_text="day", row=len(policies), col=1)
    fig.update_layout(
        template="plotly_white", height=200 * len(policies) + 140, margin={"t": 40, "b": 60},
        font={"family": figures.FONT, "size": 13, "color": "#222"},
        legend={"orientation": "h", "yanchor": "top", "y": -0.06, "x": 0},
        hoverlabel={"namelength": -1},
    )
    return fig


def _lede(tables: ResultTables, present: list[str]) -> str:
    text = ("What each policy's own records show of demand. Sales, backorders, pre-orders and "
            "declined quotes are recorded; a customer who meets “out of stock” leaves no trace "
            "unless the shop captures the visit (notify-me sign-ups, the product's "
            "<code>lost_demand_recorded</code> share). The capture rate is recorded ÷ true units; "
            "the in-stock-corrected estimate divides the units recorded while in stock by the "
            "days in stock, which for random (Poisson) arrivals estimates the true rate "
            "whatever the policy.")  # fmt: skip
    if "bullwhip_ratio" in present:
        text += (" The bullwhip ratio is the variance of units ordered per review period over "
                 "the variance of units demanded per review period: above 1, orders swing more "
                 "than demand.")  # fmt: skip
    return text


def demand_section(tables: ResultTables, page: Page,
                   table: Callable[[ResultTables, tuple[str, ...]], str]) -> str:
    """The section's HTML (empty for results without the demand metrics); ``table`` renders
    the metrics with their intervals (``html.kpi_table``)."""
    present = _present(tables)
    if not present:
        return ""
    parts = ['<section id="demand-data"><h2>What the data shows</h2>',
             f'<p class="lede">{_lede(tables, present)}</p>',
             f'<div class="scroll">{table(tables, tuple(present))}</div>']  # fmt: skip
    fig = demand_figure(tables)
    if fig is not None:
        parts.append(page.figure(
            fig, label="Per policy, over time: true demand, recorded demand and the forecast "
            "per day (all products, weekly moving average of the mean over replications)",
            caption=f"Lines are {SMOOTH_DAYS}-day moving averages of the mean over "
            "replications, all products together; the dashed line is the forecast of a "
            "forecast rule (none for other rules).",
        ))  # fmt: skip
    parts.append("</section>")
    return "".join(parts)
