"""The self-contained HTML page: CSS, plotly.js embedded once, figures as escaped JSON."""

from __future__ import annotations

import errno
import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs, get_plotlyjs_version

CSS = """
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #dfe1e5; --good: #137333; --bad: #b3261e;
        --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 64px; overflow-wrap: break-word; }
header .eyebrow { color: var(--muted); font-size: 13px; margin: 0; letter-spacing: .02em; }
h1 { font-size: 28px; margin: 4px 0 8px; line-height: 1.2; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-top: 12px; border-top: 1px solid var(--rule); }
h3 { font-size: 16px; margin: 20px 0 6px; }
.story { max-width: 75ch; font-size: 16px; }
.story p { margin: 0 0 10px; }
.lede { color: var(--muted); max-width: 80ch; margin: 0 0 10px; }
.verdict { background: #f3f7fb; border-left: 4px solid var(--accent); padding: 12px 18px;
           margin: 16px 0; }
.verdict ul { margin: 4px 0; padding-left: 20px; }
.verdict li { margin: 4px 0; }
.verdict .headline { font-size: 17px; font-weight: 600; }
.caveat { color: var(--bad); }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--rule); vertical-align: top;
         text-align: left; }
thead th { border-bottom: 2px solid #9aa0a6; font-weight: 600; background: #fafafa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.kpi td.num .v { font-weight: 600; font-size: 15px; }
.kpi .ci, .kpi .d { display: block; font-size: 12px; color: var(--muted); }
.kpi .dci { display: block; }
.kpi .d.better { color: var(--good); }
.kpi .d.worse { color: var(--bad); }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px;
          vertical-align: baseline; }
.chart { width: 100%; min-height: 200px; }
.chart-grid { display: grid; gap: 8px 24px;
              grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); }
.chart-controls { display: flex; flex-wrap: wrap; justify-content: flex-end; gap: 12px;
                  margin: 4px 0; }
.chart-controls label { max-width: 100%; }
.chart-controls select { font: inherit; padding: 4px 6px; max-width: 100%; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.scroll { overflow-x: auto; position: relative;
  /* shadows at an edge with more to see: the local white covers them at the scroll's ends */
  background:
    linear-gradient(to right, #fff 30%, rgba(255,255,255,0)) left / 40px 100% no-repeat local,
    linear-gradient(to left, #fff 30%, rgba(255,255,255,0)) right / 40px 100% no-repeat local,
    radial-gradient(farthest-side at 0 50%, rgba(0,0,0,.22), rgba(0,0,0,0))
      left / 14px 100% no-repeat scroll,
    radial-gradient(farthest-side at 100% 50%, rgba(0,0,0,.22), rgba(0,0,0,0))
      right / 14px 100% no-repeat scroll; }
.scroll-hint { display: none; color: var(--accent); font-size: 13px; margin: 4px 0 0; }
.scroll-hint.shown { display: block; }
.kpi tbody th, .sku tbody th { white-space: nowrap; position: sticky; left: 0; background: #fff;
  z-index: 1; }
.term { text-decoration: underline dotted #9aa0a6; text-underline-offset: 3px; cursor: help; }
.glossary dt { font-weight: 600; margin-top: 8px; }
.glossary dd { margin: 2px 0 0 0; color: var(--muted); max-width: 80ch; }
.glossary code { font-weight: 400; color: var(--muted); }
.note { color: var(--muted); font-size: 13px; max-width: 90ch; }
.grid { display: flex; flex-wrap: wrap; gap: 8px 32px; }
details { margin: 12px 0; }
summary { cursor: pointer; color: var(--accent); }
footer { margin-top: 48px; color: var(--muted); font-size: 12px; }
code { font-size: 13px; }
@media (max-width: 640px) {
  main { padding: 16px 12px 48px; }
  h1 { font-size: 22px; }
  .chart-controls { justify-content: flex-start; }
}
@media print {
  @page { margin: 14mm; }
  body { font-size: 11pt; background: #fff; }
  main { max-width: none; padding: 0; }
  .verdict { background: #fff; border: 1px solid #999; }
  thead th { background: #fff; }
  table, .chart, .verdict, figure { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .chart { width: 100% !important; }
  .scroll { overflow: visible; background: none; }
  .scroll-hint { display: none !important; }
  .modebar-container, .updatemenu-container, .chart-controls { display: none !important; }
  details { display: block; }
  details > summary { display: none; }
}
"""

RENDER_JS = """
(function () {
  var charts = Array.prototype.slice.call(document.querySelectorAll("div.chart[data-figure]"));
  var config = {responsive: true, displaylogo: false,
                modeBarButtonsToRemove: ["select2d", "lasso2d"]};
  function text(html) {  // plotly labels are escaped HTML; DOMParser decodes without running
    return new DOMParser().parseFromString(html, "text/html").documentElement.textContent;
  }
  function controls(div, layout) {
    // plotly's SVG menus cannot be reached by keyboard: draw each as an HTML <select> instead
    var menus = layout.updatemenus || [];
    if (!menus.length) return;
    var bar = document.createElement("div");
    bar.className = "chart-controls";
    menus.forEach(function (menu) {
      var label = document.createElement("label");
      label.textContent = (div.getAttribute("data-menu") || "Show") + " ";
      var select = document.createElement("select");
      menu.buttons.forEach(function (b, i) {
        var option = document.createElement("option");
        option.value = String(i);
        option.textContent = text(b.label);
        select.appendChild(option);
      });
      select.value = String(menu.active || 0);
      select.addEventListener("change", function () {
        var b = menu.buttons[Number(select.value)];
        Plotly[b.method].apply(null, [div].concat(b.args));
      });
      label.appendChild(select);
      bar.appendChild(label);
    });
    div.parentNode.insertBefore(bar, div);
    layout.updatemenus = [];
  }
  charts.forEach(function (div) {
    var spec = JSON.parse(document.getElementById(div.getAttribute("data-figure")).textContent);
    controls(div, spec.layout);
    Plotly.newPlot(div, spec.data, spec.layout, config);
  });
  // a table wider than the screen says so: a hint above it, shown only while it overflows
  var scrolls = Array.prototype.slice.call(document.querySelectorAll("div.scroll"));
  scrolls.forEach(function (box) {
    var hint = document.createElement("p");
    hint.className = "scroll-hint";
    hint.setAttribute("aria-hidden", "true");
    hint.textContent = "Wider than the screen: scroll the table sideways \u2192";
    box.parentNode.insertBefore(hint, box);
  });
  function hints() {
    scrolls.forEach(function (box) {
      box.previousSibling.classList.toggle("shown", box.scrollWidth > box.clientWidth + 1);
    });
  }
  hints();
  window.addEventListener("resize", hints);
  document.addEventListener("toggle", hints, true);  // tables inside <details> when opened
  function resize() { charts.forEach(function (div) { Plotly.Plots.resize(div); }); }
  window.addEventListener("beforeprint", resize);
  window.addEventListener("afterprint", resize);
  document.documentElement.setAttribute("data-rendered", String(charts.length));
})();
"""


def script_json(text: str) -> str:
    """JSON safe inside <script>: no "</script>", "<!--" or "<script" can appear in it.

    Every "<" becomes the JSON escape \\u003c (stronger than replacing "</" with "<\\/").
    """
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


VENDORED = Path(__file__).parent / "vendor" / "plotly-cartesian.min.js"
# the trace types of the vendored bundle (its package's README; see vendor/README.md)
VENDORED_TRACES = frozenset({
    "bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour", "image",
    "pie", "scatter", "scatterternary", "violin",
})  # fmt: skip


@lru_cache(maxsize=1)
def vendored_version() -> str | None:
    """The version in the vendored bundle's banner, or None without the file."""
    try:
        with VENDORED.open(encoding="utf-8") as handle:
            head = handle.read(300)
    except OSError:
        return None
    found = re.search(r"plotly\.js \(cartesian - minified\) v(\d+\.\d+\.\d+)", head)
    return found.group(1) if found else None


def _major(version: str) -> str:
    return version.split(".", 1)[0]


@lru_cache(maxsize=4)
def plotly_js(traces: frozenset[str] = frozenset()) -> str:
    """plotly.js to embed in a page drawing ``traces`` (trace types).

    The vendored cartesian bundle (1.5 MB) when it draws every one of them and is of the same
    major version as the plotly.js of the plotly Python package that made the figures; the full
    bundle (4.6 MB) otherwise. Parsing plotly.js is most of what a report costs to open: the
    smaller bundle halves it."""
    version = vendored_version()
    if version and traces <= VENDORED_TRACES and _major(version) == _major(get_plotlyjs_version()):
        return VENDORED.read_text(encoding="utf-8")
    return get_plotlyjs()


@dataclass
class Page:
    """Collects sections and figures; renders one self-contained HTML document."""

    title: str
    sections: list[str] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (id, escaped JSON)
    traces: set[str] = field(default_factory=set)  # the trace types drawn

    def figure(self, fig: go.Figure, caption: str | None = None, label: str | None = None,
               menu: str | None = None) -> str:  # fmt: skip
        """HTML for a chart placeholder; the figure JSON goes in a data script at the end.

        ``label`` says what the chart shows to screen readers (default: its title); ``menu``
        names what its menu picks (the text before the HTML select that replaces plotly's)."""
        n = len(self.figures)
        div_id, data_id = f"chart-{n}", f"chart-{n}-data"
        self.figures.append((data_id, script_json(fig.to_json())))
        self.traces.update(trace.type for trace in fig.data)
        height = int(fig.layout.height or 450)
        name = label or fig.layout.title.text or "Chart"
        extra = f' data-menu="{escape(menu)}"' if menu else ""
        html = (f'<div class="chart" id="{div_id}" data-figure="{data_id}" role="figure" '
                f'aria-label="{escape(name)}"{extra} style="height:{height}px"></div>')  # fmt: skip
        if caption:
            html += f'<p class="note">{escape(caption)}</p>'
        return html

    def render(self) -> str:
        data = "\n".join(
            f'<script type="application/json" id="{i}">{j}</script>' for i, j in self.figures
        )
        return "\n".join([
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(self.title)}</title>",
            f"<style>{CSS}</style>",
            f'<script type="text/javascript">{plotly_js(frozenset(self.traces))}</script>',
            "</head><body><main>",
            *self.sections,
            "</main>",
            data,
            f"<script>{RENDER_JS}</script>",
            "</body></html>",
        ])  # fmt: skip


def write_atomic(path: Path, text: str) -> Path:
    """Write text to path via a temporary file in the same folder and os.replace (a device or
    a pipe such as ``/dev/stdout`` is written into, never replaced; a folder is an error)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_file():
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        path.write_text(text, encoding="utf-8")
        return path
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
