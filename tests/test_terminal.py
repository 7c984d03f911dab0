"""What the command line prints, at 80 and 120 columns: tables that fit (no policy name cut, no
number split across lines), plain help, and the results folders it makes or refuses to make.

The commands run in-process (:func:`stockout.cli.main`) with ``COLUMNS`` set, as a terminal of
that width would; stdout is captured (not a terminal), so these are also what a pipe gets.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import make_scenario

from stockout import api, cli
from stockout.scenario.load import scenario_from_dict
from stockout.sweep import sweep
from stockout.terminal import SWEEP_METRICS, decimals, run_tables, sweep_tables

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = (80, 120)
LONG_NAMES = ("out-of-stock", "backorder-with-honest-quotes", "lean-backorder", "out-of-stock-deep")


def four_policies(replications: int = 3) -> dict:
    """A small scenario whose four policies have long names, one of them 28 characters."""
    data = make_scenario(
        orders_per_day=6.0, order_up_to=12, horizon_days=60, replications=replications,
        lead_time_days={"dist": "gamma", "mean": 3, "cv": 0.5}, extra={
            "customers": {"patience_days": {"dist": "exponential", "mean": 4}},
            "scenario": {"name": "wide", "title": "A scenario with long policy names"},
        },
        policies=[
            {"name": "out-of-stock", "availability": "out_of_stock"},
            {"name": "backorder-with-honest-quotes", "availability": "backorder",
             "quote_percentile": 0.9},
            {"name": "lean-backorder", "availability": "backorder",
             "replenishment": {"w": {"order_up_to": 6}}},
            {"name": "out-of-stock-deep", "availability": "out_of_stock",
             "replenishment": {"w": {"order_up_to": 30}}},
        ],
    )  # fmt: skip
    data["scenario"]["baseline"] = "out-of-stock"
    data["products"][0]["unit_cost"] = 0.4
    data["products"][0]["holding_cost_per_day"] = 0.01
    return data


@pytest.fixture(scope="module")
def results() -> api.Results:
    return api.run(scenario_from_dict(four_policies()), jobs=1)


@pytest.fixture(scope="module")
def one_rep() -> api.Results:
    return api.run(scenario_from_dict(four_policies(replications=1)), jobs=1)


def render(parts: list, columns: int) -> str:
    from rich.console import Console

    console = Console(width=columns, record=True, highlight=False, force_terminal=False)
    with console.capture() as captured:
        for part in parts:
            console.print(part)
    return captured.get()


NUMBER = re.compile(r"[−+-]?\d[\d,]*(?:\.\d+)?")


def cells(text: str) -> list[str]:
    """The cells of the tables' lines (those with a column rule), one string per cell line."""
    rows = [line for line in text.splitlines() if "│" in line]
    return [c.strip() for line in rows for c in line.split("│") if c.strip()]


# ---------------------------------------------------------------------------------------------
# stockout run's table
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("columns", WIDTHS)
def test_run_table_fits_and_names_every_policy_in_full(
    results: api.Results, columns: int
) -> None:
    text = render(run_tables(results, columns), columns)
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= columns
    table_cells = cells(text)
    for name in LONG_NAMES:
        assert name in table_cells, f"{name} cut or missing at {columns} columns"
    assert "…" not in text


@pytest.mark.parametrize("columns", WIDTHS)
def test_run_table_never_splits_a_number(results: api.Results, columns: int) -> None:
    """Every cell is ``mean ± half`` or ``Δ diff ± half [*]`` on one line: no half-width or sign
    left dangling at a line end."""
    text = render(run_tables(results, columns), columns)
    for cell in cells(text):
        assert not cell.endswith(("±", "Δ", "+", "-", ",")), cell
        assert not cell.startswith(("±", "*")), cell


def test_each_row_has_one_number_of_decimals(results: api.Results) -> None:
    text = render(run_tables(results, 200), 200)
    for line in text.splitlines():
        if "storage cost" not in line and "revenue kept" not in line:
            continue
        places = {len(n.split(".")[1]) if "." in n else 0 for n in NUMBER.findall(line)}
        assert len(places) == 1, line


def test_decimals_follow_the_interval() -> None:
    assert decimals([2187.0, 3748.0], [62.92, 117.0]) == 0  # "2,187 ± 63" beside "3,748 ± 117"
    assert decimals([1.1, 0.35], [0.11, 0.10]) == 2
    assert decimals([5.0], [float("nan")]) == 2  # no interval: three significant figures


@pytest.mark.parametrize("columns", WIDTHS)
def test_one_replication_shows_no_interval_and_no_significance(
    one_rep: api.Results, columns: int
) -> None:
    text = render(run_tables(one_rep, columns), columns)
    assert "±" not in text and " *" not in text
    assert "One replication: no 95% intervals and no significance tests" in " ".join(text.split())


def test_run_ends_with_the_verdict_and_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from stockout.results_io import to_toml

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wide.toml").write_text(to_toml(four_policies()))
    assert cli.main(["run", "wide.toml", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    lines = out.rstrip().splitlines()
    (folder,) = (tmp_path / "results" / "wide").iterdir()
    assert lines[-1] == f"open results/wide/{folder.name}/report.html"
    assert lines[-2] == f"results: results/wide/{folder.name}" or lines[-2].startswith("results: ")
    verdict = " ".join(out.split("verdict: ", 1)[1].split("results:")[0].split())
    assert verdict.startswith("Highest revenue kept: ")
    assert max(len(line) for line in lines) <= 80


# ---------------------------------------------------------------------------------------------
# stockout sweep's table
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def swept() -> object:
    base = scenario_from_dict(four_policies(replications=2))
    return sweep(base, {"customers.patience_days.mean": [2, 8],
                        "products.w.demand.orders_per_day": [4, 6]}, jobs=1)  # fmt: skip


@pytest.mark.parametrize("columns", WIDTHS)
def test_sweep_table_fits_and_names_winners_unambiguously(swept: object, columns: int) -> None:
    text = render(sweep_tables(swept, columns), columns)  # type: ignore[arg-type]
    assert max(len(line.rstrip()) for line in text.splitlines()) <= columns
    assert "…" not in text
    for path in ("customers.patience_days.mean", "products.w.demand.orders_per_day"):
        assert path in text  # the header, or the legend above the table
    table = swept.winners  # type: ignore[attr-defined]
    winners = set(table.loc[table["metric"].isin(SWEEP_METRICS), "winner"].dropna())
    for name in winners:
        shown = name in text or re.search(rf"\b[A-Z] = {re.escape(name)}\b", text)
        assert shown, f"{name} neither shown nor in the legend at {columns} columns"


# ---------------------------------------------------------------------------------------------
# --help, scenarios, trace
# ---------------------------------------------------------------------------------------------

COMMANDS = ("run", "sweep", "trace", "validate", "schema", "scenarios", "report")


@pytest.mark.parametrize("columns", WIDTHS)
def test_help_has_no_placeholders_and_summaries_are_whole(
    columns: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert cli.main(["--help"]) == 0
    top = capsys.readouterr().out
    assert "..." not in top.split("Commands:")[1]
    for command in COMMANDS:
        assert cli.main([command, "--help"]) == 0
        text = capsys.readouterr().out
        for placeholder in ("{", "<int", "<float", "<str>", "<list", "<path>", "<bool"):
            assert placeholder not in text, f"stockout {command} --help shows {placeholder}"
        assert max(len(line) for line in text.splitlines()) <= columns


def test_help_lists_the_valid_values(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["trace", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "text|csv|json" in text and "30 days" in text
    cli.main(["sweep", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "revenue_kept" in text and "churn_rate" in text


def test_trace_refuses_days_and_orders_together(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["trace", str(ROOT / "scenarios" / "quickstart.toml"), "--days", "3",
                     "--orders", "5"])  # fmt: skip
    assert code == 2 and "not both" in capsys.readouterr().err


def test_trace_product_error_lists_the_products(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["trace", str(ROOT / "scenarios" / "quickstart.toml"), "--product", "grindr"])
    err = capsys.readouterr().err
    assert code == 2 and "the scenario has grinder" in err and "did you mean 'grinder'" in err


@pytest.mark.parametrize("columns", WIDTHS)
def test_scenarios_one_line_each_with_relative_folder(
    columns: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.chdir(ROOT)
    assert cli.main(["scenarios"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    bundled = sorted(p.name for p in (ROOT / "scenarios").glob("*.toml"))
    assert lines[0].startswith("scenarios/  (")
    assert str(ROOT) not in out  # relative to where the user is
    assert max(len(line.rstrip()) for line in lines) <= columns
    assert len(lines) <= 1 + 2 * len(bundled)  # a summary takes at most two lines at 80
    for name in bundled:
        assert any(line.startswith(name) for line in lines), name


def test_scenarios_in_a_pipe_is_80_columns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.chdir(ROOT)
    assert cli.main(["scenarios"]) == 0
    assert max(len(line.rstrip()) for line in capsys.readouterr().out.splitlines()) <= 80


def test_one_replication_verdict_compares_without_significance(
    one_rep: api.Results, tmp_path: Path
) -> None:
    """summary.csv leaves the intervals of one replication empty: the report still states each
    difference, and marks nothing significant."""
    import pandas as pd

    from stockout.report import load_tables
    from stockout.report.verdict import build_verdict

    folder = one_rep.save(tmp_path / "one", report=False)
    summary = pd.read_csv(folder / "summary.csv")
    assert summary[["ci_low", "ci_high", "diff_ci_low", "diff_ci_high"]].isna().all().all()
    assert summary["significant"].isna().all()
    verdict = build_verdict(load_tables(folder))
    text = " ".join(verdict.headline + verdict.details + verdict.caveats)
    assert "no revenue comparison" not in text and "95% CI" not in text
    assert "not tested for significance" in text and "significantly" not in text
    for policy in one_rep.policies[1:]:
        assert any(s.startswith(f"{policy} keeps ") for s in verdict.details), policy
