"""Report unit tests: verdict wording, escaping, exact KPI numbers, size, atomic writes, sweeps."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from report_fixtures import make_results, make_sweep

from stockout.report import (
    MissingExtraError,
    ResultTables,
    build_report_html,
    export_images,
    load_tables,
    write_report,
    write_sweep_report,
)
from stockout.report.figures import (
    RESOLUTIONS,
    WATERFALL_STEPS,
    kpi_bars,
    revenue_waterfall,
    timeseries_figure,
    timeseries_products,
)
from stockout.report.page import VENDORED, VENDORED_TRACES, Page, plotly_js, script_json
from stockout.report.sweep import (
    load_sweep,
    map_layers,
    metric_lines,
    policy_map,
    summary_sentences,
    winner,
)
from stockout.report.verdict import build_verdict, policy_sentence

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_results(tmp_path_factory.mktemp("run") / "run")


@pytest.fixture(scope="module")
def report_html(results: Path) -> str:
    return build_report_html(load_tables(results))


def tables_from(rows: list[tuple[str, str, float, float, float, float | None, float | None,
                                 float | None]]) -> ResultTables:  # fmt: skip
    """Hand-made tables from (policy, metric, mean, ci_low, ci_high, diff, diff CI low/high)."""
    cols = ["policy", "metric", "mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"]
    summary = pd.DataFrame(rows, columns=cols)
    summary.insert(1, "product", "all")
    empty = pd.DataFrame()
    manifest = {"policies": ["out-of-stock", "backorder"], "baseline": "out-of-stock",
                "replications": 30}  # fmt: skip
    return ResultTables(summary, empty, empty, empty, empty, manifest, {})


def test_verdict_significant_wording() -> None:
    tables = tables_from([
        ("out-of-stock", "revenue_kept", 100_000.0, 99_000.0, 101_000.0, None, None, None),
        ("backorder", "revenue_kept", 111_000.0, 110_000.0, 112_000.0, 11_000.0, 9_000.0, 13_000.0),
        ("out-of-stock", "churn_rate", 0.05, 0.048, 0.052, None, None, None),
        ("backorder", "churn_rate", 0.071, 0.069, 0.073, 0.021, 0.015, 0.027),
    ])  # fmt: skip
    assert policy_sentence(tables, "backorder") == (
        "backorder keeps 11.0% more revenue than out-of-stock (95% CI +9.0% to +13.0%), "
        "at the cost of 2.1 points more churn (95% CI +1.5 to +2.7 points)."
    )
    assert build_verdict(tables).headline[0] == (
        "Highest revenue kept: backorder, significantly better than out-of-stock."
    )


def test_verdict_says_no_significant_difference_when_the_interval_includes_zero() -> None:
    tables = tables_from([
        ("out-of-stock", "revenue_kept", 100_000.0, 99_000.0, 101_000.0, None, None, None),
        ("backorder", "revenue_kept", 100_500.0, 99_000.0, 102_000.0, 500.0, -1_000.0, 2_000.0),
        ("out-of-stock", "churn_rate", 0.05, 0.048, 0.052, None, None, None),
        ("backorder", "churn_rate", 0.049, 0.047, 0.051, -0.001, -0.004, 0.002),
    ])  # fmt: skip
    sentence = policy_sentence(tables, "backorder")
    assert "no significant difference (95% CI −1.0% to +2.0%)" in sentence
    assert "no significant difference in churn (95% CI −0.4 to +0.2 points)" in sentence
    assert "more revenue" not in sentence
    assert (
        build_verdict(tables).headline[0].endswith("not significantly different from out-of-stock.")
    )


class _Dom(HTMLParser):
    """Collects script elements (type, text) and elements carrying data-value."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[str | None, str]] = []
        self.values: list[dict[str, str | None]] = []
        self._in_script: str | None | bool = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self._in_script = a.get("type")
            self.scripts.append((a.get("type"), ""))
        if "data-value" in a:
            self.values.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script is not False and self.scripts:
            kind, text = self.scripts[-1]
            self.scripts[-1] = (kind, text + data)


def test_description_with_script_is_text_not_markup(tmp_path: Path) -> None:
    folder = make_results(tmp_path / "run", reps=3, horizon=120, warmup=10,
                          title=f"T {XSS}", description=f"Story {XSS} & more")  # fmt: skip
    html = build_report_html(load_tables(folder))
    assert "Story &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert XSS not in html
    dom = _Dom()
    dom.feed(html)
    assert all("alert(1)" not in text for kind, text in dom.scripts if kind != "application/json")
    for kind, text in dom.scripts:
        if kind == "application/json":
            json.loads(text)  # each figure's data stays valid JSON after escaping


def test_script_json_cannot_close_the_script() -> None:
    text = json.dumps({"name": "</script><script>alert(1)</script><!--"})
    safe = script_json(text)
    assert "</" not in safe and "<!--" not in safe and "<" not in safe
    assert json.loads(safe) == json.loads(text)


def summary_cells(results: Path) -> dict[tuple[str, str, str], str]:
    """(policy, metric, stat) -> the raw text of summary.csv for product ``all``."""
    with (results / "summary.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["product"] == "all"]
    stats = ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high")
    return {(r["policy"], r["metric"], s): r[s] for r in rows for s in stats}


def test_kpi_numbers_are_exactly_those_of_summary_csv(results: Path, report_html: str) -> None:
    cells = summary_cells(results)
    dom = _Dom()
    dom.feed(report_html)
    assert len(dom.values) > 50
    for a in dom.values:
        raw = cells[(str(a["data-policy"]), str(a["data-metric"]), str(a["data-stat"]))]
        shown = a["data-value"] or ""
        assert (shown == raw == "") or float(shown) == float(raw), a


def test_kpi_display_is_the_value_at_display_precision(report_html: str, results: Path) -> None:
    summary = pd.read_csv(results / "summary.csv")
    kept = summary.query("policy == 'backorder' and product == 'all' and metric == 'revenue_kept'")
    mean = float(kept["mean"].iloc[0])
    match = re.search(r'data-policy="backorder" data-metric="revenue_kept" data-stat="mean" '
                      r'data-value="[^"]+">([^<]+)<', report_html)  # fmt: skip
    assert match is not None
    assert match.group(1) == f"{mean:,.0f}"


def test_report_contains_every_section(report_html: str) -> None:
    for section in ("verdict", "kpis", "charts", "timeseries", "waits", "skus", "assumptions",
                    "all-metrics"):  # fmt: skip
        assert f'id="{section}"' in report_html
    assert report_html.count('<script type="text/javascript">') == 1  # plotly.js embedded once
    assert "cdn.plot.ly" not in report_html.split("</head>")[1]


def test_report_of_four_policies_over_two_years_stays_under_10_mb(report_html: str) -> None:
    assert len(report_html.encode("utf-8")) < 10 * 1024 * 1024


def test_reports_embed_the_vendored_cartesian_bundle(report_html: str, tmp_path: Path) -> None:
    """Every chart of a run report and a sweep report is drawn by the 1.5 MB cartesian bundle,
    not the full 4.6 MB one (which would be chosen if a figure used another trace type)."""
    head = report_html.split("</head>")[0]
    assert "plotly.js (cartesian - minified) v" in head
    assert len(head.encode("utf-8")) < 2 * 1024 * 1024
    sweep = write_sweep_report(make_sweep(tmp_path / "sweep", two_parameters=True))
    assert "plotly.js (cartesian - minified) v" in sweep.read_text(encoding="utf-8")


def test_a_trace_outside_the_vendored_bundle_gets_the_full_plotly_js() -> None:
    import plotly.graph_objects as go

    page = Page(title="t")
    page.figure(go.Figure(go.Scatter(x=[1], y=[1])))
    assert plotly_js(frozenset(page.traces)) == VENDORED.read_text(encoding="utf-8")
    page.figure(go.Figure(go.Scatterpolar(r=[1], theta=[0])))
    html = page.render()
    assert "plotly.js (cartesian - minified)" not in html
    assert "scatterpolar" not in VENDORED_TRACES and len(html) > 4 * 1024 * 1024


def test_vendored_bundle_is_the_file_its_readme_names() -> None:
    import hashlib

    readme = (VENDORED.parent / "README.md").read_text(encoding="utf-8")
    digest = hashlib.sha256(VENDORED.read_bytes()).hexdigest()
    assert f"sha256: `{digest}`" in readme
    version = re.search(r"v(\d+\.\d+\.\d+)", VENDORED.read_text(encoding="utf-8")[:200])
    assert version is not None and f"version **{version.group(1)}**" in readme
    for trace in VENDORED_TRACES:
        assert trace in readme


def test_waterfall_steps_chain_from_potential_to_kept(results: Path) -> None:
    """Totals stand on zero; each loss hangs from the level the step before it left; and the
    last loss ends where revenue kept stands (potential = kept + lost to stockouts + lost to
    cancellations + pending, the glossary's identity), so the chart closes."""
    tables = load_tables(results)
    summary = tables.summary.query("product == 'all'").set_index(["policy", "metric"])["mean"]
    fig = revenue_waterfall(tables)
    assert {t.type for t in fig.data} == {"bar"}
    for trace in fig.data:
        level = None
        for (metric, _, sign), base, height in zip(WATERFALL_STEPS, trace.base, trace.y,
                                                   strict=True):  # fmt: skip
            v = float(summary[(trace.name, metric)])
            if sign > 0:
                assert (base, height) == (0.0, v)
                if level is not None:  # revenue kept: where the losses brought potential down
                    assert v == pytest.approx(level, rel=1e-9, abs=1e-6)
                level = v
            else:
                assert base == pytest.approx(level) and height == pytest.approx(-v)
                level -= v


def test_long_horizons_are_shown_as_30_day_means(tmp_path: Path) -> None:
    folder = make_results(tmp_path / "long", reps=3, horizon=3000, warmup=100)
    tables = load_tables(folder)
    fig = timeseries_figure(tables)
    assert fig is not None
    assert RESOLUTIONS[-1][1] == 30.0
    lines = [t for t in fig.data if t.type == "scatter"]
    assert max(len(t.x) for t in lines) <= 3000 / 30 + 1
    # each point is the mean of the stored points of its 30-day bucket
    ts = tables.timeseries
    first = lines[0]
    stored = ts[(ts["policy"] == first.name) & (ts["series"] == "on_hand")
                & (ts["product"] == "all") & (ts["day"] <= 30)]  # fmt: skip
    assert first.y[0] == pytest.approx(stored["mean"].mean())
    assert "8" in fig.layout.xaxis3.ticktext  # years from the start


def test_write_report_is_atomic_and_returns_the_path(results: Path, tmp_path: Path) -> None:
    path = write_report(results)
    assert path == results / "report.html" and path.stat().st_size > 0
    assert not [p for p in results.iterdir() if p.name.endswith(".tmp")]
    other = write_report(results, out=tmp_path / "elsewhere" / "r.html")
    assert other.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="manifest.json"):
        load_tables(tmp_path)


def test_ids_stay_text(results: Path) -> None:
    tables = load_tables(results)
    assert tables.policies == ["out-of-stock", "backorder", "lean-backorder", "preorder"]
    assert tables.products == ["widget", "gadget"]


@pytest.mark.parametrize("two", [True, False])
def test_sweep_report(tmp_path: Path, two: bool) -> None:
    folder = make_sweep(tmp_path / "sweep", two_parameters=two)
    path = write_sweep_report(folder)
    html = path.read_text(encoding="utf-8")
    assert 'id="policy-map"' in html and html.count('<div class="chart"') >= 6
    fig = policy_map(load_sweep(folder))
    assert len(fig.data[0].z) == (4 if two else 1)


def test_sweep_winner_significance() -> None:
    def rows(diff_low: float, diff_high: float) -> pd.DataFrame:
        return pd.DataFrame({
            "policy": ["base", "other"], "metric": ["revenue_kept"] * 2, "mean": [10.0, 12.0],
            "diff": [None, 2.0], "diff_ci_low": [None, diff_low], "diff_ci_high": [None, diff_high],
        })  # fmt: skip

    assert winner(rows(1.0, 3.0), "revenue_kept", "base").significant  # type: ignore[union-attr]
    cell = winner(rows(-1.0, 5.0), "revenue_kept", "base")
    assert cell is not None and cell.winner == "other" and not cell.significant


def test_export_images_without_kaleido_says_how_to_install(results: Path) -> None:
    if importlib.util.find_spec("kaleido") is not None:
        pytest.skip("kaleido is installed; the missing-extra message cannot be checked")
    with pytest.raises(MissingExtraError, match=r"stockout\[images\]"):
        export_images(results)


def test_one_replication_shows_no_interval_and_claims_no_significance(tmp_path: Path) -> None:
    """With one replication summary.csv writes ci_low = ci_high = mean: the report must not show
    that as an interval, colour differences as significant, or say "significantly"."""
    tables = load_tables(make_results(tmp_path / "one", reps=1, horizon=120, warmup=10))
    assert not tables.has_intervals
    html = build_report_html(tables)
    dom = _Dom()
    dom.feed(html)
    assert {a["data-stat"] for a in dom.values} == {"mean", "diff"}
    assert 'class="d better"' not in html and 'class="d worse"' not in html
    assert "(n.s.)" not in html
    verdict = build_verdict(tables)
    text = " ".join(verdict.headline + verdict.details)
    assert "95% CI" not in text and "significantly" not in text and "no significant" not in text
    assert all("not tested for significance" in s for s in verdict.headline)
    assert all(not bar.error_y.visible for bar in kpi_bars(tables).data)


def test_sweep_report_takes_significance_from_winners_csv(tmp_path: Path) -> None:
    """winners.csv (significant: better than every other policy) is the sweep's verdict; the
    report's map and summary must say the same, and a point of one replication is never
    significant."""
    folder = make_sweep(tmp_path / "sweep", two_parameters=False)
    _, shade, _ = map_layers(load_sweep(folder), "revenue_kept")
    assert 0 in shade[0]  # computed from the baseline differences, some wins are significant
    frame = pd.read_csv(folder / "sweep.csv")
    rows = [{"point": p, "product": "all", "metric": "revenue_kept", "winner": "preorder",
             "significant": False} for p in sorted(frame["point"].unique())]  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "winners.csv", index=False)
    z, shade, text = map_layers(load_sweep(folder), "revenue_kept")
    # cells show the short name (legend "P: preorder"), the hover the full one
    assert shade == [[1] * len(rows)] and all(t == "P<br>n.s." for t in text[0])
    (folder / "winners.csv").unlink()
    meta = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    meta["replications_per_point"] = [1] * len(rows)
    (folder / "sweep.json").write_text(json.dumps(meta), encoding="utf-8")
    sweep = load_sweep(folder)
    assert map_layers(sweep, "revenue_kept")[1] == [[1] * len(rows)]
    assert all("(0 significantly)" in s for s in summary_sentences(sweep))


def test_sweep_menu_shows_legend_only_for_mean_lines(tmp_path: Path) -> None:
    fig = metric_lines(load_sweep(make_sweep(tmp_path / "sweep", two_parameters=True)),
                       "revenue_kept")  # fmt: skip
    for button in fig.layout.updatemenus[0].buttons:
        shown = button.args[0]["showlegend"]
        named = [t.mode == "lines+markers" for t in fig.data]
        assert all(named[i] for i, s in enumerate(shown) if s)
        assert sum(shown) == 4  # one legend entry per policy


def test_single_product_has_no_product_menu_and_many_windows_no_label_pile(
    tmp_path: Path,
) -> None:
    folder = make_results(tmp_path / "run", reps=3, horizon=200, warmup=10)
    windows = pd.DataFrame([["spike", f"s{i}", 20.0 + 10 * i, 25.0 + 10 * i] for i in range(12)],
                           columns=["kind", "id", "start_day", "end_day"])  # fmt: skip
    windows.to_csv(folder / "disruptions.csv", index=False)
    fig = timeseries_figure(load_tables(folder))
    assert fig is not None
    assert [a.text for a in fig.layout.annotations] == ["← warm-up (not counted)"]
    html = build_report_html(load_tables(folder))
    assert "demand spikes (12)" in html
    one = load_tables(folder)
    one = ResultTables(one.summary[one.summary["product"].isin(["all", "widget"])],
                       one.replications, one.timeseries, one.waits, one.disruptions,
                       one.manifest, {"products": [{"id": "widget"}]})  # fmt: skip
    assert timeseries_products(one) == ["all"]


def test_footer_shows_the_command_as_typed(results: Path) -> None:
    tables = load_tables(results)
    manifest = dict(tables.manifest, command=["stockout", "run", "my shop.toml", "--reps", "3"])
    html = build_report_html(ResultTables(tables.summary, tables.replications, tables.timeseries,
                                          tables.waits, tables.disruptions, manifest,
                                          tables.scenario))  # fmt: skip
    assert "command: stockout run &#x27;my shop.toml&#x27; --reps 3" in html


def test_a_single_policy_is_not_called_significantly_better() -> None:
    tables = tables_from([
        ("out-of-stock", "revenue_kept", 100_000.0, 99_000.0, 101_000.0, None, None, None),
    ])  # fmt: skip
    tables = ResultTables(tables.summary, *([pd.DataFrame()] * 4),
                          {"policies": ["out-of-stock"], "replications": 30}, {})  # fmt: skip
    headline = build_verdict(tables).headline
    assert headline == [
        "Highest revenue kept: out-of-stock, the only policy run (nothing to compare it with)."
    ]


# ---- issue 22's report points -----------------------------------------------------------------


def test_assumptions_say_continuous_review_and_list_empirical_values() -> None:
    from stockout.report.assumptions import distribution, product_rows

    scenario = {"products": [{"id": "w", "demand": {"orders_per_day": 3, "quantity": {
        "dist": "empirical", "values": [1, 2, 3], "weights": [6, 3, 1]}},
        "replenishment": {"rule": "s_S", "review_period_days": 0, "reorder_point": 5,
                          "order_up_to": 9}}]}  # fmt: skip
    text = " ".join(t for _, _, t in product_rows(scenario))
    assert "continuous review" in text and "review period days 0" not in text
    assert "quantity one of 1 (60%), 2 (30%), 3 (10%)" in text
    assert distribution({"dist": "empirical", "values": [4, 5]}) == "one of 4, 5, equally likely"
    periodic = {"rule": "periodic", "review_period_days": 7, "order_up_to": 9}
    scenario["products"][0]["replenishment"] = periodic
    assert "reviewed every 7 days" in " ".join(t for _, _, t in product_rows(scenario))


def test_sku_ranking_is_one_table_and_only_with_several_products(results: Path) -> None:
    tables = load_tables(results)
    html = build_report_html(tables)
    section = html.split('<section id="skus">')[1].split("</section>")[0]
    assert section.count("<table") == 1
    shown = [p for p in tables.policies if p != "out-of-stock"]  # out-of-stock never waits
    assert all(f"{p}</th>" in section for p in shown)
    assert "No order waited under out-of-stock" in section
    one = ResultTables(tables.summary[tables.summary["product"].isin(["all", "widget"])],
                       tables.replications, tables.timeseries, tables.waits, tables.disruptions,
                       tables.manifest, {"products": [{"id": "widget"}]})  # fmt: skip
    assert 'id="skus"' not in build_report_html(one)


def test_metrics_are_defined_where_shown(report_html: str) -> None:
    from stockout.report.fmt import DEFINITIONS

    assert '<section id="glossary">' in report_html
    head = report_html.split('id="kpi-table"')[1].split("</thead>")[0]
    assert f'title="{DEFINITIONS["revenue_kept"]}"' in head
    from stockout.records import METRICS

    assert set(DEFINITIONS) >= set(METRICS)  # a new metric needs its definition


def test_verdict_names_the_runner_up() -> None:
    tables = tables_from([
        ("out-of-stock", "revenue_kept", 100_000.0, 99_000.0, 101_000.0, None, None, None),
        ("backorder", "revenue_kept", 111_000.0, 110_000.0, 112_000.0, 11_000.0, 9_000.0, 13_000.0),
        ("preorder", "revenue_kept", 110_000.0, 109_000.0, 111_000.0, 10_000.0, 8_000.0, 12_000.0),
    ])  # fmt: skip
    headline = build_verdict(tables).headline[0]
    assert "Runner-up: preorder, 0.9% behind" in headline  # (111 - 110) / 111, no replications


def test_sweep_report_names_parameters_and_has_the_run_reports_frame(tmp_path: Path) -> None:
    from stockout.report.sweep import abbreviations, parameter_label

    assert parameter_label("customers.patience_days.mean") == "Patience (days), mean"
    assert (parameter_label("products.grinder.replenishment.order_up_to")
            == "Order-up-to level (units) of grinder")  # fmt: skip
    assert abbreviations(["out-of-stock", "out-of-stock-deep", "o_o_s"]) == {
        "out-of-stock": "OOS", "out-of-stock-deep": "OOSD", "o_o_s": "OOS2"}  # fmt: skip
    folder = make_sweep(tmp_path / "sweep", two_parameters=True)
    html = (write_sweep_report(folder)).read_text(encoding="utf-8")
    assert "<footer>" in html and 'id="assumptions"' in html and "<h1>" in html
    sweep = load_sweep(folder)
    for path in sweep.parameters:
        assert f"<code>{path}</code>" in html and parameter_label(path) in html
