"""DataFrame -> plotly figure. Pure functions of the result tables: no I/O, no model imports.

Text that comes from scenario files (policy names, product and disruption ids) is HTML-escaped
before it reaches plotly, which renders a subset of HTML in labels.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from stockout.report import fmt
from stockout.report.tables import ALL, ResultTables, value

# Okabe–Ito, colour-blind safe, ordered for contrast on white; yellow last (weak on paper).
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#555555", "#F0E442",
)  # fmt: skip
DISRUPTION_COLOURS = {"lane": "#D55E00", "supplier": "#E69F00", "spike": "#0072B2"}
WARMUP_COLOUR = "#9E9E9E"
DISRUPTION_NAMES = {"lane": "transport disruption", "supplier": "supplier outage",
                    "spike": "demand spike"}  # fmt: skip
BAR_METRICS: tuple[str, ...] = ("revenue_kept", "gross_profit", "storage_cost", "churn_rate")
SERIES: tuple[str, ...] = ("on_hand", "backlog_units", "active_customers")
SERIES_TITLES = {
    "on_hand": "On hand (units)",
    "backlog_units": "Backlog (units waiting)",
    "active_customers": "Active customers",
}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def colours(policies: list[str]) -> dict[str, str]:
    """A fixed colour per policy, keyed by its position in the manifest."""
    return {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(policies)}


def rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _style(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 70, "r": 20, "t": 60 if title else 30, "b": 50},
        font={"family": FONT, "size": 13, "color": "#222"},
        title={"text": title, "x": 0, "xanchor": "left"} if title else None,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hoverlabel={"namelength": -1},
    )
    return fig


def _scale(metric: str) -> float:
    return 100.0 if metric in fmt.SHARES else 1.0


def _axis_title(metric: str) -> str:
    return fmt.label(metric) + (" (%)" if metric in fmt.SHARES else "")


def _present_bars(tables: ResultTables, metrics: tuple[str, ...]) -> list[str]:
    return [m for m in metrics if any(value(tables, p, m) is not None for p in tables.policies)]


def _kpi_bar_trace(tables: ResultTables, metric: str) -> go.Bar:
    """Policy means of one metric (product ``all``) with 95% CI error bars (hidden with one
    replication, whose interval has no width)."""
    palette = colours(tables.policies)
    k = _scale(metric)
    means = [value(tables, p, metric) for p in tables.policies]
    lows = [value(tables, p, metric, "ci_low") for p in tables.policies]
    highs = [value(tables, p, metric, "ci_high") for p in tables.policies]
    y = [m * k if m is not None else None for m in means]
    up = [
        (h - m) * k if h is not None and m is not None else 0
        for h, m in zip(highs, means, strict=True)
    ]
    down = [
        (m - lo) * k if lo is not None and m is not None else 0
        for lo, m in zip(lows, means, strict=True)
    ]
    return go.Bar(
        x=[escape(p) for p in tables.policies], y=y, showlegend=False,
        marker={"color": [palette[p] for p in tables.policies]},
        error_y={"type": "data", "array": up, "arrayminus": down, "color": "#222",
                 "thickness": 1.5, "width": 6, "visible": tables.has_intervals},
        name=fmt.label(metric),
        hovertemplate="%{x}: %{y:,.2f}<extra>" + fmt.label(metric) + "</extra>",
    )  # fmt: skip


def kpi_bars(tables: ResultTables, metrics: tuple[str, ...] = BAR_METRICS) -> go.Figure:
    """One bar chart per metric (product ``all``) in a 2-column grid of subplots: for a static
    image. The page draws each metric as its own figure (``kpi_bar``) so narrow screens can
    stack them."""
    present = _present_bars(tables, metrics)
    cols = 2
    rows = max(1, math.ceil(len(present) / cols))
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=[_axis_title(m) for m in present],
        vertical_spacing=0.16, horizontal_spacing=0.1,
    )  # fmt: skip
    for i, metric in enumerate(present):
        fig.add_trace(_kpi_bar_trace(tables, metric), row=i // cols + 1, col=i % cols + 1)
    fig.update_yaxes(tickformat=",", rangemode="tozero")
    return _style(fig, height=330 * rows)


def kpi_bar(tables: ResultTables, metric: str) -> go.Figure:
    """The bar chart of one metric, titled with the metric and its unit."""
    fig = go.Figure(_kpi_bar_trace(tables, metric))
    fig.update_yaxes(tickformat=",", rangemode="tozero")
    fig.update_xaxes(automargin=True)
    _style(fig, height=320, title=_axis_title(metric))
    fig.update_layout(margin={"l": 60, "r": 10, "t": 50, "b": 40})
    return fig


def kpi_bar_figures(
    tables: ResultTables, metrics: tuple[str, ...] = BAR_METRICS
) -> list[go.Figure]:
    return [kpi_bar(tables, m) for m in _present_bars(tables, metrics)]


WATERFALL_STEPS: tuple[tuple[str, str, int], ...] = (
    ("potential_revenue", "Potential revenue", 1),
    ("revenue_lost_stockout", "Lost to stockouts", -1),
    ("revenue_lost_cancelled", "Lost to cancellations", -1),
    ("revenue_pending", "Pending at horizon", -1),
    ("revenue_kept", "Revenue kept", 1),
)


def revenue_waterfall(tables: ResultTables) -> go.Figure:
    """Potential → −lost to stockouts → −lost to cancellations → −pending → kept, per policy.

    Drawn as floating bars (each step from the level before it), grouped by step, so the page
    needs only plotly.js' bar trace (see ``page.plotly_js``): totals solid, losses pale and
    outlined in the policy's colour."""
    fig = go.Figure()
    palette = colours(tables.policies)
    labels = [label for _, label, _ in WATERFALL_STEPS]
    for policy in tables.policies:
        colour = palette[policy]
        bases, heights, fills, lines = [], [], [], []
        level = 0.0
        for metric, _, sign in WATERFALL_STEPS:
            v = value(tables, policy, metric) or 0.0
            if sign > 0:  # a total: from zero
                bases.append(0.0)
                heights.append(v)
                fills.append(colour)
                level = v
            else:  # a loss: from the level before it, down
                bases.append(level)
                heights.append(-v)
                fills.append(rgba(colour, 0.4))
                level -= v
            lines.append(colour)
        fig.add_trace(
            go.Bar(
                name=escape(policy), x=labels, y=heights, base=bases,
                marker={"color": fills, "line": {"color": lines, "width": 1}},
                text=[fmt.compact(h) for h in heights], textposition="outside",
                textangle=-90, textfont={"size": 11, "color": "#333"}, cliponaxis=False,
                customdata=[fmt.number("revenue_kept", h, 0) for h in heights],
                hovertemplate="%{x}: %{customdata}<extra>%{fullData.name}</extra>",
            )
        )  # fmt: skip
    # labels too small to read on a narrow screen are hidden (the hover still shows them)
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05,
                      uniformtext={"minsize": 9, "mode": "hide"})  # fmt: skip
    fig.update_yaxes(
        tickformat=",", title="Revenue (mean over replications)", range=_waterfall_range(tables)
    )
    return _style(fig, height=420)


def _waterfall_range(tables: ResultTables) -> list[float] | None:
    """Start the axis below the smallest revenue kept so the losses are visible."""
    kept = [value(tables, p, "revenue_kept") for p in tables.policies]
    potential = [value(tables, p, "potential_revenue") for p in tables.policies]
    lows = [k for k in kept if k is not None]
    highs = [p for p in potential if p is not None]
    if not lows or not highs or max(highs) <= 0:
        return None
    top = max(highs) * 1.03
    bottom = min(lows) - 0.25 * (max(highs) - min(lows))
    return [max(0.0, bottom), top]


#: Time-series resolution: (longest span in days, bucket width in days, adjective). Beyond a year
#: daily points are finer than a screen can show: weekly, then 30-day means.
RESOLUTIONS: tuple[tuple[float, float, str], ...] = (
    (400.0, 1.0, "daily"), (3 * 365.0, 7.0, "weekly"), (math.inf, 30.0, "30-day"),
)  # fmt: skip
STRIP_ROW_PX = 16  # height of one lane / supplier / product row of the window strip
MAX_WINDOW_BANDS = 12  # this few windows are also shaded over the charts, more only in the strip


def resolution(tables: ResultTables) -> tuple[float, str]:
    """Bucket width (days) and its name for the report's time series of this run."""
    span = tables.horizon_days
    if not span and not tables.timeseries.empty:  # a manifest without the horizon
        span = float(tables.timeseries["day"].max())
    span = span if math.isfinite(span) else 0.0
    return next((w, name) for top, w, name in RESOLUTIONS if span <= top)


def aggregate_timeseries(ts: pd.DataFrame, width: float) -> pd.DataFrame:
    """Mean of ``day``, ``mean``, ``low`` and ``high`` per policy, product, series and bucket of
    ``width`` days (one groupby over the whole table); the table itself when the stored points
    are already that coarse."""
    if ts.empty or width <= 1.0:
        return ts
    bucket = np.floor((ts["day"].to_numpy(float) - 1e-9) / width).astype(np.int64)
    keys = ["policy", "product", "series", bucket]
    return (
        ts.groupby(keys, sort=False)[["day", "mean", "low", "high"]]
        .mean()
        .reset_index(level=[0, 1, 2])
        .reset_index(drop=True)
    )


def _line_trace(part: pd.DataFrame, policy: str, colour: str, show_legend: bool,
                visible: bool, spread: bool) -> go.Scatter:  # fmt: skip
    """The mean line of one policy and series; the 5–95% range is in its hover label (four
    overlapping bands only make mud)."""
    name = escape(policy)
    hover = "day %{x:,.0f}: %{y:,.1f}"
    extra: dict[str, object] = {}
    if spread:
        extra["customdata"] = np.column_stack(
            [part["low"].to_numpy(float), part["high"].to_numpy(float)]
        )
        hover += " (5–95%: %{customdata[0]:,.1f}–%{customdata[1]:,.1f})"
    return go.Scatter(
        x=part["day"].to_numpy(float), y=part["mean"].to_numpy(float), mode="lines", name=name,
        legendgroup=name, visible=visible, showlegend=show_legend,
        line={"color": colour, "width": 1.8}, hovertemplate=hover + "<extra>" + name + "</extra>",
        **extra,
    )  # fmt: skip


def timeseries_products(tables: ResultTables) -> list[str]:
    """Products that have level series: ``all`` first when present."""
    ts = tables.timeseries
    if ts.empty:
        return []
    have = set(ts.loc[ts["series"].isin(SERIES[:2]), "product"].unique())
    shown = [p for p in [ALL, *tables.products] if p in have]
    # one product: its series are those of "all"; a menu of two identical choices only confuses
    return shown[:1] if len(tables.products) == 1 else shown


def _strip_rows(disruptions: pd.DataFrame, products: list[str]) -> list[str]:
    """Rows of the window strip, top down: lanes, suppliers, then products with spikes in the
    scenario's order."""
    order = {"lane": 0, "supplier": 1, "spike": 2}
    position = {p: i for i, p in enumerate(products)}
    pairs = disruptions[["kind", "id"]].astype(str).drop_duplicates()
    ranked = sorted(pairs.itertuples(index=False),
                    key=lambda r: (order.get(r.kind, 3), position.get(r.id, len(position))))
    return [_strip_label(r.kind, r.id) for r in ranked]


STRIP_NAMES = {"lane": "lane", "supplier": "supplier", "spike": "spikes"}


def _strip_label(kind: str, ident: str) -> str:
    return escape(f"{STRIP_NAMES.get(kind, kind)} {ident}")


def _strip_traces(disruptions: pd.DataFrame) -> list[go.Bar]:
    """One horizontal bar trace per kind of window: every window a bar on its own row."""
    traces = []
    for kind, part in disruptions.groupby(disruptions["kind"].astype(str), sort=False):
        start = part["start_day"].to_numpy(float)
        end = part["end_day"].to_numpy(float)
        labels = [_strip_label(kind, str(i)) for i in part["id"]]
        traces.append(go.Bar(
            x=end - start, base=start, y=labels, orientation="h", width=0.8,
            marker={"color": DISRUPTION_COLOURS.get(kind, "#777"), "line": {"width": 0}},
            name=escape(DISRUPTION_NAMES.get(kind, kind)), showlegend=False,
            customdata=np.column_stack([start, end]),
            hovertemplate="%{y}: day %{customdata[0]:,.1f}–%{customdata[1]:,.1f}<extra>"
            + escape(DISRUPTION_NAMES.get(kind, kind)) + "</extra>",
        ))  # fmt: skip
    return traces


def _band(start: float, end: float, colour: str, opacity: float) -> dict[str, object]:
    return {"type": "rect", "xref": "x", "yref": "paper", "x0": start, "x1": end, "y0": 0,
            "y1": 1, "fillcolor": colour, "opacity": opacity, "line_width": 0, "layer": "below"}


def _shade(tables: ResultTables, fig: go.Figure) -> None:
    """The warm-up as a grey band over every panel, and, when there are only a few windows,
    each as a faint band too (so a closure lines up with the dip it causes); all the shapes in
    one layout update."""
    shapes = []
    if len(tables.disruptions) <= MAX_WINDOW_BANDS:
        shapes = [_band(float(r.start_day), float(r.end_day),
                        DISRUPTION_COLOURS.get(str(r.kind), "#777"), 0.08)
                  for r in tables.disruptions.itertuples(index=False)]  # fmt: skip
    if tables.warmup_days <= 0:
        fig.update_layout(shapes=shapes)
        return
    fig.update_layout(
        shapes=[_band(0.0, tables.warmup_days, WARMUP_COLOUR, 0.14), *shapes],
        annotations=[*fig.layout.annotations,
                     {"x": tables.warmup_days, "y": 1.0, "xref": "x", "yref": "y domain",
                      "yanchor": "top", "xanchor": "left", "showarrow": False,
                      "text": "← warm-up (not counted)",
                      "font": {"size": 11, "color": "#444"}}],
    )  # fmt: skip


def _time_axis(fig: go.Figure, span: float, row: int) -> None:
    """Days on the bottom axis; on a horizon over two years, ticks at whole years (days stay
    in the hover labels)."""
    if span <= 2 * 365:
        fig.update_xaxes(title_text="day", row=row, col=1)
        return
    step = 1 if span <= 12 * 365 else math.ceil(span / 365 / 10)
    years = list(range(0, int(span // 365) + 1, step))
    fig.update_xaxes(tickvals=[365.0 * y for y in years], ticktext=[str(y) for y in years],
                     tickangle=0)  # fmt: skip
    fig.update_xaxes(title_text="years from the start (365 days)", row=row, col=1)


def _series_panels(tables: ResultTables, series: list[str], products: list[str],
                   fig: go.Figure) -> list[str | None]:  # fmt: skip
    """Add the line traces (rows 1..len(series)); return the product each trace belongs to
    (None: the same for every product)."""
    width, _ = resolution(tables)
    ts = aggregate_timeseries(tables.timeseries, width)
    parts = dict(iter(ts.groupby(["series", "product", "policy"], sort=False)))
    palette = colours(tables.policies)
    owners: list[str | None] = []
    traces, rows = [], []
    for r, name in enumerate(series, start=1):
        per_product = name != "active_customers"
        for product in products if per_product else [ALL]:
            for policy in tables.policies:
                part = parts.get((name, product, policy))
                if part is None or part.empty:
                    continue
                visible = not per_product or product == products[0]
                legend = r == 1 and visible
                traces.append(_line_trace(part.sort_values("day"), policy, palette[policy],
                                          legend, visible, tables.has_intervals))  # fmt: skip
                rows.append(r)
                owners.append(product if per_product else None)
    if traces:  # in one call: plotly re-checks the figure once, not once a trace
        fig.add_traces(traces, rows=rows, cols=[1] * len(rows))
    return owners


def timeseries_figure(tables: ResultTables) -> go.Figure | None:
    """On hand, backlog and active customers over time (daily, weekly or 30-day means by the
    horizon), a line per policy, and the disruption and spike windows as a strip below.

    A menu switches the product of the first two panels; active customers exist for ``all`` only.
    """
    ts = tables.timeseries
    if ts.empty:
        return None
    series = [s for s in SERIES if (ts["series"] == s).any()]
    if not series:
        return None
    products = timeseries_products(tables)
    strip = _strip_rows(tables.disruptions, tables.products) if len(tables.disruptions) else []
    strip_px = STRIP_ROW_PX * len(strip) + 30 if strip else 0
    plot_px = 240 * len(series)
    heights = [240] * len(series) + ([strip_px] if strip else [])
    fig = make_subplots(rows=len(heights), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        row_heights=heights)  # fmt: skip
    owners = _series_panels(tables, series, products, fig)
    if strip:
        bars = _strip_traces(tables.disruptions)
        fig.add_traces(bars, rows=[len(heights)] * len(bars), cols=[1] * len(bars))
        owners += [None] * len(bars)
        fig.update_yaxes(categoryorder="array", categoryarray=strip[::-1], showgrid=False,
                         tickfont={"size": 11}, row=len(heights), col=1)  # fmt: skip
    _time_axis(fig, tables.horizon_days, len(heights))
    for r, name in enumerate(series, start=1):
        # a few % of churn must show, not vanish against 0
        mode = "normal" if name == "active_customers" else "tozero"
        fig.update_yaxes(title_text=SERIES_TITLES[name], tickformat=",", rangemode=mode,
                         row=r, col=1)  # fmt: skip
    _shade(tables, fig)
    if len(products) > 1:
        fig.update_layout(updatemenus=[_product_menu(products, owners)])
    _style(fig, height=plot_px + strip_px + 150)
    # the legend above the panels: below them it would collide with the axis title on a phone
    fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
                      margin={"t": 30, "b": 50}, barmode="overlay")  # fmt: skip
    return fig


def _product_menu(products: list[str], owners: list[str | None]) -> dict[str, object]:
    buttons = []
    for product in products:
        visible = [o is None or o == product for o in owners]
        label = "All products" if product == ALL else escape(product)
        buttons.append({"label": label, "method": "restyle", "args": [{"visible": visible}]})
    return {"buttons": buttons, "direction": "down", "x": 1.0, "xanchor": "right", "y": 1.09,
            "yanchor": "bottom", "showactive": True}  # fmt: skip


def _nice_width(waits: pd.DataFrame, bins: int = 30) -> float:
    """A round bin width (1, 2 or 5 × 10^k days) giving about ``bins`` bins up to the 99th
    percentile of the waits: the stored histogram's fine bins are too narrow to read."""
    orders = waits["orders"].to_numpy(float)
    upper = waits["wait_high"].to_numpy(float)
    finite = np.isfinite(upper)
    if not finite.any() or orders.sum() <= 0:
        return 1.0
    order = np.argsort(upper[finite])
    cum = np.cumsum(orders[finite][order])
    p99 = upper[finite][order][min(int(np.searchsorted(cum, 0.99 * cum[-1])), len(cum) - 1)]
    raw = max(p99, 1e-6) / bins
    base = 10 ** np.floor(np.log10(raw))
    return float(next(m * base for m in (1, 2, 5, 10) if m * base >= raw))


def _display_bins(
    part: pd.DataFrame, width: float, total: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Re-bin a policy's stored histogram into equal bins of ``width`` days (by each stored
    bin's midpoint; the open last bin goes to the last display bin): (low, high, share %)."""
    lo = part["wait_low"].to_numpy(float)
    hi = part["wait_high"].to_numpy(float)
    mid = np.where(np.isfinite(hi), (lo + hi) / 2, lo)
    idx = np.floor(mid / width).astype(np.int64)
    counts = np.bincount(idx, weights=part["orders"].to_numpy(float))
    keep = np.nonzero(counts)[0]
    return keep * width, (keep + 1) * width, counts[keep] / total * 100


def wait_histogram(tables: ResultTables) -> go.Figure | None:
    """Share of waiting orders by wait (days), per policy; products pooled unless ``all`` exists."""
    waits = tables.waits
    if waits.empty or waits["orders"].sum() <= 0:
        return None
    has_all = (waits["product"] == ALL).any()
    pooled = waits[waits["product"] == ALL] if has_all else waits[waits["product"] != ALL]
    pooled = pooled.groupby(["policy", "wait_low", "wait_high"], as_index=False)["orders"].sum()
    fig = go.Figure()
    palette = colours(tables.policies)
    width = _nice_width(pooled)
    for policy in tables.policies:
        part = pooled[pooled["policy"] == policy].sort_values("wait_low")
        total = part["orders"].sum()
        if total <= 0:
            continue
        lo, hi, share = _display_bins(part, width, total)
        fig.add_trace(
            go.Bar(
                x=(lo + hi) / 2, y=share, width=(hi - lo) * 0.9 / max(1, len(tables.policies)),
                name=escape(policy), marker={"color": palette[policy]},
                customdata=np.column_stack([lo, hi]),
                hovertemplate="%{customdata[0]:.3g}–%{customdata[1]:.3g} days: %{y:.1f}%"
                "<extra>%{fullData.name}</extra>",
            )
        )  # fmt: skip
    fig.update_layout(barmode="group", bargap=0.1)
    fig.update_xaxes(title="wait from order to shipment (days)")
    # both axes start at 0: the y labels stand off so their "0" does not touch the x axis' "0"
    fig.update_yaxes(title="share of orders that waited (%)", ticklabelstandoff=6)
    return _style(fig, height=360)
