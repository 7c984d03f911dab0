"""The report in a real headless Chromium: offline, no console errors, every chart drawn.

Needs Playwright (test extra) and a Chromium: $STOCKOUT_CHROMIUM, else `chromium` on the PATH, else
/usr/bin/chromium (Debian's package; CI installs it). Without one, every test here is reported as
skipped with the reason, and the rest of the suite runs.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import make_results, make_sweep

from stockout.report import write_report, write_sweep_report
from stockout.report.page import plotly_js

CHROMIUM = Path(os.environ.get("STOCKOUT_CHROMIUM") or shutil.which("chromium")
                or "/usr/bin/chromium")  # fmt: skip
CATALOGUE = Path(__file__).resolve().parent.parent / "benchmarks" / "catalogue.toml"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
XSS = "<script>alert(1)</script>"

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set STOCKOUT_CHROMIUM)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = make_results(tmp_path_factory.mktemp("browser") / "run", description=f"Story {XSS}")
    write_report(folder)
    return folder


class Opened:
    def __init__(self, page: Any, errors: list[str], blocked: list[str], seconds: float) -> None:
        self.page, self.errors, self.blocked, self.seconds = page, errors, blocked, seconds


def open_offline(browser: Any, path: Path) -> Opened:
    """Open a file with every non-file request aborted; wait until all charts are drawn."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    blocked: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    start = time.perf_counter()
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function(
        "document.documentElement.getAttribute('data-rendered') !== null && "
        "[...document.querySelectorAll('div.chart')].every(d => d.querySelector('.main-svg'))",
        timeout=10_000,
    )
    return Opened(page, errors, blocked, time.perf_counter() - start)


def test_report_renders_offline_without_errors(browser: Any, run_dir: Path) -> None:
    opened = open_offline(browser, run_dir / "report.html")
    page = opened.page
    assert opened.errors == []
    assert opened.blocked == []
    charts = page.locator("div.chart")
    assert charts.count() >= 4
    for i in range(charts.count()):
        assert charts.nth(i).locator(".main-svg").count() > 0
    page.close()


def test_report_opens_in_under_3_seconds(browser: Any, run_dir: Path, tmp_path: Path) -> None:
    """Open and draw every chart in < 3 s; on a slow or loaded machine where a page holding
    only the plotly.js the report embeds takes longer than usual, the report may take 1.8 times
    as long as that page (its own work slows in proportion: with the full plotly.js alone at
    1.84 s and 2.41 s, the report took 3.05 s and 3.67 s; plotly.js' first chart pays its
    start-up, which the bare page does not). With the vendored cartesian bundle the bare page
    takes about 0.85 s on that machine, so 3 s is the bound there."""
    report_html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "plotly.js (cartesian - minified)" in report_html.split("</head>")[0]
    plotly_only, report = open_times(browser, run_dir / "report.html", tmp_path, rounds=3)
    assert report < max(3.0, 1.8 * plotly_only), (
        f"report took {report:.2f} s to open and draw (plotly.js alone {plotly_only:.2f} s)"
    )


def open_times(browser: Any, report: Path, tmp_path: Path, rounds: int) -> tuple[float, float]:
    """Best time to open a page holding only the embedded plotly.js, and the report, over
    ``rounds`` interleaved rounds (so a burst of load on the machine hits both alike)."""
    bare = tmp_path / "bare.html"
    js = plotly_js(frozenset({"bar"}))
    bare.write_text(f"<html><head><script>{js}</script></head><body><div "
                    'class="chart"><svg class="main-svg"></svg></div><script>document.'
                    "documentElement.setAttribute('data-rendered','1')</script></body></html>",
                    encoding="utf-8")  # fmt: skip
    plotly_times, report_times = [], []
    for _ in range(rounds):
        for path, times in ((bare, plotly_times), (report, report_times)):
            opened = open_offline(browser, path)
            times.append(opened.seconds)
            opened.page.close()
    return min(plotly_times), min(report_times)


def test_description_script_is_shown_as_text(browser: Any, run_dir: Path) -> None:
    opened = open_offline(browser, run_dir / "report.html")
    page = opened.page
    assert XSS in page.locator(".story").inner_text()
    scripts = page.eval_on_selector_all("script", "els => els.map(e => e.textContent)")
    assert not any("alert(1)" in s for s in scripts if "alert(1)" in s and "\\u003c" not in s)
    assert page.evaluate("window.__xss === undefined")
    page.close()


def test_kpi_table_matches_summary_csv(browser: Any, run_dir: Path) -> None:
    with (run_dir / "summary.csv").open(newline="", encoding="utf-8") as handle:
        raw = {
            (r["policy"], r["metric"]): r for r in csv.DictReader(handle) if r["product"] == "all"
        }
    page = open_offline(browser, run_dir / "report.html").page
    cells = page.eval_on_selector_all(
        "#kpi-table [data-value]",
        "els => els.map(e => [e.dataset.policy, e.dataset.metric, e.dataset.stat, "
        "e.dataset.value])",
    )
    assert len(cells) > 50
    for policy, metric, stat, shown in cells:
        expected = raw[(policy, metric)][stat]
        assert (shown == expected == "") or float(shown) == float(expected)
    page.close()


@pytest.mark.parametrize("two", [True, False])
def test_sweep_report_renders(browser: Any, tmp_path: Path, two: bool) -> None:
    path = write_sweep_report(make_sweep(tmp_path / "sweep", two_parameters=two))
    opened = open_offline(browser, path)
    assert opened.errors == [] and opened.blocked == []
    assert opened.page.locator("div.chart").count() >= 6
    opened.page.close()


def test_narrow_screen_has_no_page_wide_overflow(browser: Any, run_dir: Path) -> None:
    """At a phone's width (375 px) wide tables scroll inside their box and the bar charts
    stack: the page itself never scrolls sideways and no chart is wider than the screen."""
    opened = open_offline(browser, run_dir / "report.html")
    page = opened.page
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(300)  # plotly's responsive resize
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    widths = page.eval_on_selector_all(
        "div.chart .main-svg", "els => els.map(e => e.getBoundingClientRect().right)"
    )
    assert widths and max(widths) <= 375
    page.close()


def test_charts_are_labelled_and_the_menu_works_from_the_keyboard(
    browser: Any, run_dir: Path
) -> None:
    opened = open_offline(browser, run_dir / "report.html")
    page = opened.page
    labels = page.eval_on_selector_all(
        "div.chart", "els => els.map(e => [e.getAttribute('role'), e.getAttribute('aria-label')])"
    )
    assert labels and all(role == "figure" and label for role, label in labels)
    select = page.locator("#timeseries select")
    assert select.count() == 1 and page.locator("#timeseries .updatemenu-container").count() == 0
    options = select.locator("option").all_inner_texts()
    assert options == ["All products", "widget", "gadget"]

    def shown() -> list[float]:  # y of the first visible mean line
        return page.evaluate(
            "(() => { const d = document.querySelector('#timeseries div.chart');"
            "const t = d._fullData.find(t => t.visible === true && t.showlegend !== undefined"
            " && t.mode === 'lines' && t.line.width > 0); return Array.from(t.y).slice(0, 50); })()"
        )

    before = shown()
    select.focus()
    page.keyboard.press("ArrowDown")  # keyboard only: picks "widget"
    page.wait_for_timeout(200)
    assert select.input_value() == "1"
    assert shown() != before
    page.close()


def test_one_replication_report_shows_no_interval(browser: Any, tmp_path: Path) -> None:
    folder = make_results(tmp_path / "one", reps=1, horizon=120, warmup=10)
    write_report(folder)
    opened = open_offline(browser, folder / "report.html")
    page = opened.page
    assert opened.errors == []
    assert page.locator("#kpi-table .ci").count() == 0
    assert page.locator("#kpi-table .better, #kpi-table .worse").count() == 0
    assert page.locator("#charts .errorbar path").count() == 0
    assert "single replication" in page.locator("#kpis .lede").inner_text()
    page.close()


# ---------------------------------------------------------------------------------------------
# Layout at desktop and phone width, on the fixture and on a real 10-product, 10-year run
# ---------------------------------------------------------------------------------------------

LAYOUT_JS = r"""
(() => {
  const problems = [];
  const visible = el => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.display !== 'none' && s.visibility !== 'hidden'
      && Number(s.opacity || 1) > 0 && (el.textContent || '').trim() !== '';
  };
  const angle = el => {  // plotly rotates tick labels with a transform on the text
    const m = /rotate\((-?[\d.e]+)/.exec(el.getAttribute('transform') || '');
    return m ? Number(m[1]) : 0;
  };
  // Two labels rotated alike (plotly's slanted ticks): their boxes overlap, the text need not.
  // Apart when their centres are a line's height apart across the text's direction, or
  // farther than half their lengths along it.
  const apart = (a, ra, b, rb) => {
    const t = angle(a);
    if (t === 0 || Math.abs(t - angle(b)) > 0.5) return false;
    const rad = t * Math.PI / 180, dx = (ra.left + ra.right - rb.left - rb.right) / 2;
    const dy = (ra.top + ra.bottom - rb.top - rb.bottom) / 2;
    const along = Math.abs(dx * Math.cos(rad) + dy * Math.sin(rad));
    const across = Math.abs(-dx * Math.sin(rad) + dy * Math.cos(rad));
    const size = parseFloat(getComputedStyle(a).fontSize) || 12;
    return across >= 0.9 * size ||
      along >= (a.getComputedTextLength() + b.getComputedTextLength()) / 2;
  };
  document.querySelectorAll('div.chart').forEach((div, n) => {
    const box = div.getBoundingClientRect();
    const texts = [...div.querySelectorAll('svg text')].filter(visible);
    const rects = texts.map(t => t.getBoundingClientRect());
    texts.forEach((t, i) => {
      const r = rects[i];
      if (t.closest('.g-xtitle, .g-ytitle, .g-gtitle, .legend, .annotation') &&
          (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
           r.bottom > box.bottom + 1)) {
        problems.push(`chart ${n}: "${t.textContent}" is cut by the chart's edge`);
      }
      for (let j = 0; j < i; j++) {
        const q = rects[j];
        const w = Math.min(r.right, q.right) - Math.max(r.left, q.left);
        const h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
        if (w > 2 && h > 2 && !apart(texts[i], r, texts[j], q)) {
          problems.push(`chart ${n}: "${t.textContent}" overlaps "${texts[j].textContent}"`);
        }
      }
    });
  });
  document.querySelectorAll('div.scroll').forEach(box => {
    const hint = box.previousElementSibling;
    const shown = hint && hint.classList.contains('scroll-hint') &&
      getComputedStyle(hint).display !== 'none';
    if (box.scrollWidth > box.clientWidth + 1 && box.offsetParent !== null && !shown) {
      problems.push(`a table scrolls sideways without the hint: ${box.textContent.slice(0, 40)}`);
    }
  });
  if (document.documentElement.scrollWidth > window.innerWidth) {
    problems.push(`the page scrolls sideways (${document.documentElement.scrollWidth} px)`);
  }
  return problems;
})()
"""


def layout_problems(browser: Any, path: Path, width: int) -> tuple[list[str], Opened]:
    opened = open_offline(browser, path)
    opened.page.set_viewport_size({"width": width, "height": 1000})
    opened.page.wait_for_timeout(400)  # plotly's responsive resize
    return opened.page.evaluate(LAYOUT_JS), opened


@pytest.mark.parametrize("width", [1400, 400])
def test_run_report_layout(browser: Any, run_dir: Path, width: int) -> None:
    """No overlapping labels, no title cut by its chart's edge, no sideways scroll of the page,
    and a table wider than the screen says it scrolls."""
    problems, opened = layout_problems(browser, run_dir / "report.html", width)
    assert problems == []
    if width == 400:  # the key figures do not fit a phone: the hint shows
        hint = opened.page.locator("#kpis .scroll-hint")
        assert hint.is_visible() and "scroll" in hint.inner_text()
    opened.page.close()


@pytest.mark.parametrize("width", [1400, 400])
@pytest.mark.parametrize("two", [True, False])
def test_sweep_report_layout(browser: Any, tmp_path: Path, width: int, two: bool) -> None:
    path = write_sweep_report(make_sweep(tmp_path / "sweep", two_parameters=two))
    problems, opened = layout_problems(browser, path, width)
    assert problems == []
    page = opened.page
    assert page.locator("header h1").inner_text() and page.locator("footer").count() == 1
    assert page.locator("#assumptions").count() == 1
    opened.page.close()


@pytest.fixture(scope="module")
def catalogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run of benchmarks/catalogue.toml (10 products, 10 years, 3 policies) with two
    replications: its report holds as many points, lines and windows as one of 20 replications
    (the time series are per day, not per replication), so it has the same size and cost."""
    from stockout import api

    scenario = api.with_overrides(api.load(CATALOGUE), replications=2)
    folder = tmp_path_factory.mktemp("catalogue") / "run"
    api.run(scenario, jobs=2).save(folder)
    return folder


@pytest.mark.slow
def test_catalogue_report_renders_small_and_fast(
    browser: Any, catalogue_dir: Path, tmp_path: Path
) -> None:
    report = catalogue_dir / "report.html"
    assert report.stat().st_size < 5e6
    opened = open_offline(browser, report)
    assert opened.errors == [] and opened.blocked == []
    page = opened.page
    assert page.locator("div.chart").count() >= 7
    options = page.locator("#timeseries select option").all_inner_texts()
    assert options == ["All products", *[f"p{i}" for i in range(10)]]
    assert page.locator("#skus table.sku").count() == 1  # one table, policies side by side
    page.close()
    plotly_only, seconds = open_times(browser, report, tmp_path, rounds=2)
    assert seconds < max(3.0, 1.8 * plotly_only), (
        f"report took {seconds:.2f} s to open and draw (plotly.js alone {plotly_only:.2f} s)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("width", [1400, 400])
def test_catalogue_report_layout(browser: Any, catalogue_dir: Path, width: int) -> None:
    problems, opened = layout_problems(browser, catalogue_dir / "report.html", width)
    assert problems == []
    opened.page.close()
