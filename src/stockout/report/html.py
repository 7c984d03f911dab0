"""The run report: one self-contained HTML page built from a results folder.

Sections, answer first: story, verdict, KPI table, bar charts, revenue waterfall, time series,
waits, SKU backorder ranking, assumptions, all metrics. Every text from scenario files goes
through ``html.escape``; numbers in the KPI table carry their exact summary.csv value in
``data-value``.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from stockout.report import figures, fmt
from stockout.report.assumptions import assumption_rows, nominal_lead_days
from stockout.report.demand import demand_section
from stockout.report.page import Page, write_atomic
from stockout.report.tables import ALL, METRICS, ResultTables, load_tables, value
from stockout.report.verdict import Difference, build_verdict, difference

KPI_METRICS: tuple[str, ...] = (
    "revenue_kept", "gross_profit", "fill_rate", "churn_rate", "storage_cost", "mean_wait_days",
)  # fmt: skip
FREQUENT_WAIT_SHARE = 0.10  # a SKU "often" backordered: at least this share of its orders waited


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _paragraphs(text: str) -> str:
    """Blank-line separated paragraphs, escaped; ``**bold**`` (as scenario files use) kept."""
    blocks = [b.strip() for b in text.strip().split("\n\n") if b.strip()]
    escaped = (escape(" ".join(b.split())) for b in blocks)
    return "".join("<p>" + _BOLD.sub(r"<strong>\1</strong>", b) + "</p>" for b in escaped)


def term(metric: str) -> str:
    """A metric's label with its definition on hover (dotted underline), as in the glossary."""
    text = escape(fmt.label(metric))
    definition = fmt.define(metric)
    return f'<span class="term" title="{escape(definition)}">{text}</span>' if definition else text


def glossary_section(tables: ResultTables) -> str:
    """Every metric of the report with its definition (the hover text, for print and touch)."""
    shown = [m for m in METRICS if any(value(tables, p, m) is not None for p in tables.policies)]
    items = "".join(
        f"<dt>{escape(fmt.label(m))} <code>{m}</code></dt><dd>{escape(fmt.define(m))}</dd>"
        for m in shown
        if fmt.define(m)
    )
    return (
        '<section id="glossary"><h2>What the figures mean</h2><p class="lede">Order figures '
        "count the orders that arrived after the warm-up; levels and costs are averages and "
        "totals over the same period. Column names are those of <code>summary.csv</code>.</p>"
        f'<dl class="glossary">{items}</dl></section>'
    )


def _swatch(colour: str) -> str:
    return f'<span class="swatch" style="background:{colour}"></span>'


def header_section(tables: ResultTables) -> str:
    meta, manifest = tables.meta, tables.manifest
    name = str(manifest.get("scenario") or meta.get("name") or "scenario")
    title = str(meta.get("title") or manifest.get("title") or name)
    reps = manifest.get("replications", meta.get("replications", "?"))
    eyebrow = (f"stockout report · scenario {escape(name)} · {escape(str(reps))} replications · "
               f"{tables.horizon_days:,.0f}-day horizon")  # fmt: skip
    story = _paragraphs(str(meta.get("description", "")))
    return (f'<header><p class="eyebrow">{eyebrow}</p><h1>{escape(title)}</h1>'
            f'<div class="story">{story}</div></header>')  # fmt: skip


def verdict_section(tables: ResultTables) -> str:
    verdict = build_verdict(tables)
    items = "".join(f'<li class="headline">{escape(s)}</li>' for s in verdict.headline)
    items += "".join(f"<li>{escape(s)}</li>" for s in verdict.details)
    items += "".join(f'<li class="caveat">{escape(s)}</li>' for s in verdict.caveats)
    if tables.has_intervals:
        how = ("with 95% confidence intervals; an interval that includes 0 is reported as no "
               "significant difference")  # fmt: skip
    else:
        how = "from a single replication, so without confidence intervals or significance tests"
    return (
        '<section id="verdict"><h2>Verdict</h2><div class="verdict"><ul>'
        f'{items}</ul></div><p class="note">Differences are paired (policy − baseline '
        f"{escape(tables.baseline)}, same random numbers in each replication) {how}. Figures "
        "are totals over all products, after the warm-up.</p></section>"
    )


def _span(policy: str, metric: str, stat: str, x: float | None, text: str, cls: str) -> str:
    raw = "" if x is None else repr(float(x))
    return (f'<span class="{cls}" data-policy="{escape(policy)}" data-metric="{metric}" '
            f'data-stat="{stat}" data-value="{raw}">{text}</span>')  # fmt: skip


def _diff_class(d: Difference | None) -> str:
    if d is None or d.better is None:
        return "d"
    return "d better" if d.better else "d worse"


def kpi_cell(tables: ResultTables, policy: str, metric: str, decimals: int) -> str:
    stat = {s: value(tables, policy, metric, s) for s in
            ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high")}  # fmt: skip
    n = lambda s, signed=False: fmt.number(metric, stat[s], decimals, signed)  # noqa: E731
    parts = [_span(policy, metric, "mean", stat["mean"], n("mean"), "v")]
    if not tables.has_intervals:  # one replication: ci_low = ci_high = mean, not an interval
        stat.update(ci_low=None, ci_high=None)
    if stat["ci_low"] is not None:
        parts.append(
            '<span class="ci">'
            + _span(policy, metric, "ci_low", stat["ci_low"], n("ci_low"), "lo")
            + f" {fmt.DASH} "
            + _span(policy, metric, "ci_high", stat["ci_high"], n("ci_high"), "hi")
            + "</span>"
        )
    if policy == tables.baseline:
        parts.append('<span class="d">baseline</span>')
    elif stat["diff"] is not None and not tables.has_intervals:
        diff = _span(policy, metric, "diff", stat["diff"], n("diff", True), "dv")
        parts.append(f'<span class="d">Δ {diff}</span>')
    elif stat["diff"] is not None:
        d = difference(tables, policy, metric)
        mark = "" if d is None or d.significant else " (n.s.)"
        parts.append(
            f'<span class="{_diff_class(d)}">Δ '
            + _span(policy, metric, "diff", stat["diff"], n("diff", True), "dv")
            + f'{mark}<span class="dci">['
            + _span(
                policy, metric, "diff_ci_low", stat["diff_ci_low"], n("diff_ci_low", True), "dl"
            )
            + f" {fmt.DASH} "
            + _span(
                policy, metric, "diff_ci_high", stat["diff_ci_high"], n("diff_ci_high", True), "dh"
            )
            + "]</span></span>"
        )
    return f'<td class="num">{"".join(parts)}</td>'


def _present(tables: ResultTables, metrics: tuple[str, ...]) -> list[str]:
    return [m for m in metrics if any(value(tables, p, m) is not None for p in tables.policies)]


def _decimals(tables: ResultTables, metric: str) -> int:
    vals = [value(tables, p, metric, s) for p in tables.policies for s in ("mean", "diff")]
    return fmt.decimals_for(metric, vals)


def kpi_table(tables: ResultTables, metrics: tuple[str, ...] = KPI_METRICS) -> str:
    shown = _present(tables, metrics)
    palette = figures.colours(tables.policies)
    head = "".join(f'<th class="num">{term(m)}</th>' for m in shown)
    decimals = {m: _decimals(tables, m) for m in shown}  # once per column: linear in policies
    rows = []
    decimals = {m: _decimals(tables, m) for m in shown}  # once per column, not per cell
    for policy in tables.policies:
        cells = "".join(kpi_cell(tables, policy, m, decimals[m]) for m in shown)
        rows.append(f"<tr><th>{_swatch(palette[policy])}{escape(policy)}</th>{cells}</tr>")
    return (f'<table class="kpi" id="kpi-table"><thead><tr><th>Policy</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")  # fmt: skip


def kpi_section(tables: ResultTables) -> str:
    if tables.has_intervals:
        lede = ("Mean over replications (bold) and its 95% confidence interval below; Δ is the "
                "paired difference to the baseline with its interval (green: significantly "
                "better, red: significantly worse, n.s.: not significant).")  # fmt: skip
    else:
        lede = ("Values of the single replication (bold); Δ is the difference to the "
                "baseline. One replication gives no confidence interval and no significance "
                "test.")  # fmt: skip
    return (
        f'<section id="kpis"><h2>Key figures</h2><p class="lede">{lede} '
        "All products, after the warm-up.</p>"
        f'<div class="scroll">{kpi_table(tables)}</div></section>'
    )


def _bars_lede(tables: ResultTables) -> str:
    if tables.has_intervals:
        return '<p class="lede">Bars are means; whiskers are 95% confidence intervals.</p>'
    return ('<p class="lede">Bars are the values of the single replication (one replication '
            "gives no confidence interval).</p>")  # fmt: skip


def charts_section(tables: ResultTables, page: Page) -> str:
    parts = ['<section id="charts"><h2>Policies side by side</h2>',
             _bars_lede(tables),
             '<div class="chart-grid">',
             *(page.figure(f, label=f"Bar chart: {f.layout.title.text} by policy"
                           + (", with 95% confidence intervals" if tables.has_intervals else ""))
               for f in figures.kpi_bar_figures(tables)), "</div>",
             "<h3>Where the revenue goes</h3>",
             '<p class="lede">From the revenue customers asked for, what is lost to stockouts, '
             "lost to cancelled backorders, still pending at the horizon, and finally kept "
             "(pale bars are losses; the axis starts above 0 so the losses show).</p>",
             page.figure(figures.revenue_waterfall(tables),
                         label="Revenue waterfall per policy: potential revenue, lost to "
                         "stockouts, lost to cancellations, pending, revenue kept"),
             "</section>"]  # fmt: skip
    return "".join(parts)


def timeseries_section(tables: ResultTables, page: Page) -> str:
    fig = figures.timeseries_figure(tables)
    if fig is None:
        return ""
    width, every = figures.resolution(tables)
    if tables.has_intervals:
        what = "Mean over replications, a line per policy; hover a line for its 5th–95th percentile"
    else:
        what = "Values of the single replication, a line per policy (no spread to show)"
    if width > 1:
        what += f", averaged over {every} buckets to fit {tables.horizon_days:,.0f} days on screen"
    notes = []
    if tables.warmup_days > 0:
        notes.append("the grey band at the start is the warm-up, not counted in the figures")
    if not tables.disruptions.empty:
        kinds = tables.disruptions["kind"].astype(str).value_counts()
        key = ", ".join(
            f"{_swatch(figures.DISRUPTION_COLOURS.get(k, '#777'))}"
            f"{escape(figures.DISRUPTION_NAMES.get(k, k))}{'s' if n > 1 else ''} ({n})"
            for k, n in kinds.items()
        )
        where = ("the strip below the charts (and faint bands over them) shows"
                 if len(tables.disruptions) <= figures.MAX_WINDOW_BANDS
                 else "the strip below the charts shows")  # fmt: skip
        notes.append(f"{where} the windows of replication 0: {key}")
    shaded = "".join("; " + n for n in notes)
    pick = " Use the menu to pick a product." if len(tables.products) > 1 else ""
    axes = [fig.layout[k].title.text for k in sorted(fig.layout) if k.startswith("yaxis")]
    label = "Line charts over time, per policy: " + ", ".join(a for a in axes if a)
    return (
        f'<section id="timeseries"><h2>Over time</h2><p class="lede">{what}{shaded}.{pick}</p>'
        f"{page.figure(fig, label=label, menu='Product')}</section>"
    )


def waits_section(tables: ResultTables, page: Page) -> str:
    fig = figures.wait_histogram(tables)
    if fig is None:
        return ('<section id="waits"><h2>How long customers waited</h2><p class="lede">No order '
                "waited in any policy.</p></section>")  # fmt: skip
    return (
        '<section id="waits"><h2>How long customers waited</h2><p class="lede">Orders that '
        "waited and were shipped, by wait from order to shipment, as a share of each policy's "
        "waiting orders (all replications, after the warm-up).</p>"
        f"{page.figure(fig, label='Histogram per policy of the wait from order to shipment')}"
        "</section>"
    )


READINGS: dict[str, str] = {
    "both": "Often short and slow to recover: stock too thin for demand and supply too slow.",
    "demand": "Often short but refilled quickly: demand outruns the stock level (inventory "
    "sizing).",
    "supply": "Rarely short but long waits when it is: supply shocks rather than everyday demand.",
    "healthy": "Healthy: few and short backorders.",
}


def _reading(share: float, wait: float | None, lead: float | None) -> str:
    """The key of :data:`READINGS` for how often (``share``) and how long (``wait``) a SKU's
    orders waited, against its nominal lead time ``lead``."""
    frequent = share >= FREQUENT_WAIT_SHARE
    long = wait is not None and lead is not None and wait > lead
    if frequent and long:
        return "both"
    if frequent:
        return "demand"
    if long:
        return "supply"
    return "healthy"


@dataclass(frozen=True)
class SkuWaits:
    """How often and how long one SKU's orders waited under one policy."""

    orders: float
    waited: float
    wait: float | None

    @property
    def share(self) -> float:
        return self.waited / self.orders if self.orders > 0 else 0.0


def _sku_waits(tables: ResultTables, policy: str, product: str) -> SkuWaits:
    waited = sum(value(tables, policy, m, product=product) or 0.0
                 for m in ("backorders", "preorders"))  # fmt: skip
    return SkuWaits(value(tables, policy, "orders", product=product) or 0.0, waited,
                    value(tables, policy, "mean_wait_days", product=product))  # fmt: skip


def _sku_cell(waits: SkuWaits, lead: float | None) -> str:
    if waits.orders <= 0:
        return f'<td class="num">{fmt.DASH}</td>'
    key = _reading(waits.share, waits.wait, lead)
    wait = fmt.number("mean_wait_days", waits.wait, 1)
    return (f'<td class="num" title="{escape(READINGS[key])}"><b>{fmt.percent(waits.share)}</b>'
            f'<br><small class="note">{wait} d · {key}</small></td>')  # fmt: skip


def sku_section(tables: ResultTables) -> str:
    """One table, the policies side by side: per SKU, how often its orders waited (share of
    orders backordered or pre-ordered) and how long (mean days), ranked by the most often."""
    if len(tables.products) < 2:  # one product: the ranking is the key figures again
        return ""
    grid = {(policy, product): _sku_waits(tables, policy, product)
            for policy in tables.policies for product in tables.products}  # fmt: skip
    shown = [p for p in tables.policies if any(grid[p, x].waited > 0 for x in tables.products)]
    if not shown:
        return ""
    leads = {x: nominal_lead_days(tables.scenario, x) for x in tables.products}
    ranked = sorted(tables.products, key=lambda x: -max(grid[p, x].share for p in shown))
    palette = figures.colours(tables.policies)
    head = "".join(f'<th class="num">{_swatch(palette[p])}{escape(p)}</th>' for p in shown)
    body = "".join(
        f'<tr><td class="num">{rank}</td><th>{escape(x)}</th>'
        + "".join(_sku_cell(grid[p, x], leads[x]) for p in shown)
        + f'<td class="num">{fmt.number("mean_wait_days", leads[x], 1)}</td></tr>'
        for rank, x in enumerate(ranked, start=1)
    )
    silent = [p for p in tables.policies if p not in shown]
    none = (f" No order waited under {', '.join(escape(p) for p in silent)}." if silent
            else "")  # fmt: skip
    key = "".join(f"<li><b>{k}</b>: {escape(t)}</li>" for k, t in READINGS.items())
    return (
        '<section id="skus"><h2>Which SKUs are backordered</h2><p class="lede">Per SKU and '
        "policy: how often its orders had to wait (backorders and pre-orders per order, bold) "
        "and how long (mean days from order to shipment), ranked by the most often; mean over "
        f"replications.{none} “Often” means at least {FREQUENT_WAIT_SHARE:.0%} of orders "
        "waited; “long” means longer than the nominal supplier lead time plus transit.</p>"
        '<div class="scroll"><table class="sku"><thead><tr><th class="num">#</th><th>SKU</th>'
        f"{head}<th class=\"num\">Nominal lead<br>time (days)</th></tr></thead><tbody>{body}"
        f'</tbody></table></div><ul class="note">{key}</ul></section>'
    )


def assumptions_html(scenario: dict, manifest: dict, lede: str,
                     first: Sequence[tuple[str, str, str]] = ()) -> str:  # fmt: skip
    """The assumptions section of a run or sweep report: ``first`` rows (group, item, text),
    then the scenario's key parameters."""
    rows = []
    previous = None
    own = [(g, escape(i), t) for g, i, t in assumption_rows(scenario, manifest)]
    for group, item, text in [*first, *own]:  # ``first`` items are HTML already
        shown = escape(group) if group != previous else ""
        previous = group
        rows.append(f"<tr><th>{shown}</th><td>{item}</td><td>{escape(text)}</td></tr>")
    return (
        f'<section id="assumptions"><h2>Assumptions</h2><p class="lede">{lede}</p>'
        f'<div class="scroll"><table class="assumptions"><tbody>{"".join(rows)}</tbody>'
        "</table></div></section>"
    )


def assumptions_section(tables: ResultTables) -> str:
    return assumptions_html(tables.scenario, tables.manifest,
                            "The key parameters of the scenario as run (the full file is "
                            "<code>scenario.toml</code> next to this report).")  # fmt: skip


def all_metrics_table(tables: ResultTables, product: str = ALL) -> str:
    palette = figures.colours(tables.policies)
    head = "".join(
        f'<th class="num">{_swatch(palette[p])}{escape(p)}</th>' for p in tables.policies
    )
    rows = []
    for metric in METRICS:
        means = [value(tables, p, metric, product=product) for p in tables.policies]
        if all(m is None for m in means):
            continue
        decimals = fmt.decimals_for(metric, means)
        cells = []
        for policy, mean in zip(tables.policies, means, strict=True):
            lo = value(tables, policy, metric, "ci_low", product)
            hi = value(tables, policy, metric, "ci_high", product)
            ci = fmt.interval(metric, lo, hi, decimals).replace(" to ", f" {fmt.DASH} ")
            small = f'<br><small class="note">{ci}</small>' if ci and lo != hi else ""
            cells.append(f'<td class="num">{fmt.number(metric, mean, decimals)}{small}</td>')
        rows.append(f"<tr><td>{term(metric)}</td>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table class="all-metrics"><thead><tr><th>Metric</th>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")  # fmt: skip


def all_metrics_section(tables: ResultTables) -> str:
    blocks = [f"<h3>All products</h3>{all_metrics_table(tables)}"]
    for product in tables.products:
        blocks.append(f"<h3>{escape(product)}</h3>{all_metrics_table(tables, product)}")
    return ('<section id="all-metrics"><h2>Every metric</h2><details><summary>Show every metric '
            "of summary.csv, in total and per product (mean and 95% CI)</summary>"
            f"{''.join(blocks)}</details></section>")  # fmt: skip


def footer(tables: ResultTables) -> str:
    return footer_html(tables.manifest)


def footer_html(m: dict) -> str:
    """Version, seed, the command as typed, when it finished and how long it took."""
    command = m.get("command", "?")
    if isinstance(command, list):  # the run's argv: show it as it was typed, not as a list
        command = shlex.join(str(c) for c in command)
    bits = [f"stockout {m.get('stockout_version', '?')}", f"seed {m.get('seed', '?')}",
            f"command: {command}", f"finished {m.get('finished', '?')}"]  # fmt: skip
    elapsed = m.get("elapsed_seconds")
    if isinstance(elapsed, int | float) and math.isfinite(elapsed):
        bits.append(f"{elapsed:,.1f} s")
    return f"<footer>{escape(' · '.join(str(b) for b in bits))}</footer>"


def build_report_html(tables: ResultTables, lead: tuple[str, ...] = ()) -> str:
    """The complete, self-contained HTML of the run report; ``lead`` sections come right after
    the header (an optimisation's best stock levels)."""
    meta = tables.meta
    title = str(meta.get("title") or tables.manifest.get("title") or meta.get("name") or "stockout")
    page = Page(title=f"{title} · stockout report")
    page.sections += [
        header_section(tables),
        *lead,
        verdict_section(tables),
        kpi_section(tables),
        charts_section(tables, page),
        timeseries_section(tables, page),
        demand_section(tables, page, kpi_table),
        waits_section(tables, page),
        sku_section(tables),
        assumptions_section(tables),
        all_metrics_section(tables),
        glossary_section(tables),
        footer(tables),
    ]
    return page.render()


def write_report(
    results_dir: Path | str, out: Path | None = None, manifest: dict | None = None
) -> Path:
    """Read a results folder and write its report (``report.html`` there unless ``out``).

    ``manifest`` lets a run build its report before it writes ``manifest.json``, last.
    """
    from stockout.report.optimum import optimum_section

    folder = Path(results_dir)
    optimum = optimum_section(folder)
    html = build_report_html(load_tables(folder, manifest), (optimum,) if optimum else ())
    return write_atomic(Path(out) if out is not None else folder / "report.html", html)
