"""Sweeps: parameter paths, the grid under common random numbers, precision control, persistence
and resume, and the ``stockout sweep`` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from stockout import summary
from stockout.cli_sweep import register
from stockout.experiment import run_replications
from stockout.scenario.errors import ScenarioError
from stockout.scenario.load import scenario_from_dict
from stockout.scenario.schema import Scenario
from stockout.sweep import (
    SweepError,
    SweepInterrupted,
    SweepProgress,
    parse_value,
    parse_vary,
    sweep,
    variant,
)


def tiny(**meta: Any) -> dict[str, Any]:
    """A one-product scenario that runs in a few milliseconds."""
    return {
        "scenario": {"name": "tiny", "horizon_days": 40, "replications": 3, "seed": 11, **meta},
        "customers": {"patience_days": {"dist": "exponential", "mean": 4}},
        "products": [
            {
                "id": "widget",
                "price": 10,
                "initial_stock": 10,
                "demand": {"orders_per_day": 3},
                "replenishment": {
                    "rule": "s_S",
                    "reorder_point": 5,
                    "order_up_to": 20,
                    "supplier": "acme",
                    "lane": "sea",
                },
            }
        ],
        "suppliers": [{"id": "acme", "lead_time_days": {"dist": "constant", "value": 4}}],
        "lanes": [{"id": "sea", "transit_days": {"dist": "uniform", "low": 1, "high": 3}}],
    }


@pytest.fixture
def base() -> Scenario:
    return scenario_from_dict(tiny(), "tiny.toml")


VARY = {
    "customers.patience_days.mean": [1, 8.0],
    "policies.backorder.max_quoted_wait_days": [2, 30],
}


# ---- values and paths ------------------------------------------------------------------------


def test_values_parse_as_toml_scalars() -> None:
    assert [parse_value(v) for v in ("3", "2.5", "inf", "false", '"a,b"', "sea")] == [
        3,
        2.5,
        float("inf"),
        False,
        "a,b",
        "sea",
    ]
    assert parse_vary("scenario.horizon_days=10, 20") == ("scenario.horizon_days", [10, 20])
    # the form error messages print, with brackets, names the same value
    assert parse_vary("products[w].demand.orders_per_day=1") == (
        "products.w.demand.orders_per_day", [1])
    assert parse_vary("policies[0].quote_buffer_days=1")[0] == "policies.0.quote_buffer_days"
    with pytest.raises(ScenarioError, match="PATH=v1"):
        parse_vary("scenario.horizon_days")
    with pytest.raises(ScenarioError, match="empty value"):
        parse_vary("scenario.horizon_days=10,,20")


def test_variant_sets_every_documented_kind_of_path(base: Scenario) -> None:
    v = variant(
        base,
        {
            "products.widget.demand.orders_per_day": 7,
            "customers.patience_days.mean": 2.5,
            "policies.backorder.max_quoted_wait_days": 9,  # policies not in the dict: defaults
            "lanes.sea.transit_days.high": 5,
            "scenario.horizon_days": 50,
            "products.widget.replenishment.order_up_to": 30,
        },
    )
    assert v.products[0].demand.orders_per_day == 7
    assert v.customers.patience_days.mean == 2.5
    assert v.policy("backorder").max_quoted_wait_days == 9
    assert v.lanes[0].transit_days.high == 5
    assert v.scenario.horizon_days == 50
    assert v.products[0].replenishment.order_up_to == 30
    assert [p.name for p in v.policies] == [p.name for p in base.policies]
    bracketed = variant(base, {"products[widget].demand.orders_per_day": 7,
                               "lanes[0].transit_days.high": 5})
    assert bracketed.products[0].demand.orders_per_day == 7
    assert bracketed.lanes[0].transit_days.high == 5
    # the original is untouched, and an empty variant is the same scenario
    assert base.products[0].demand.orders_per_day == 3
    assert variant(base, {}) == base


@pytest.mark.parametrize(
    ("path", "words"),
    [
        (
            "customers.patience_days.meen",
            ["customers.patience_days.meen", "did you mean", "customers.patience_days.mean"],
        ),
        ("products.widgt.demand.orders_per_day", ["no item 'widgt'", "products.widget.demand"]),
        ("lanes.air.transit_days.mean", ["no item 'air'", "its items: sea"]),
        ("customers.patience_days", ["is a table", "customers.patience_days.mean"]),
        ("products.widget.patience_days.mean", ["not set in the scenario"]),
        ("scenario.horizon_days.x", ["single value"]),
    ],
)
def test_a_bad_path_is_named_with_close_matches(
    base: Scenario, path: str, words: list[str]
) -> None:
    with pytest.raises(ScenarioError) as caught:
        variant(base, {path: 1})
    text = str(caught.value)
    assert text.startswith(f"<sweep>: {path}: ") or text.startswith(f"tiny.toml: {path}")
    for word in words:
        assert word in text


def test_a_bad_value_is_named_with_its_path(base: Scenario) -> None:
    vary = {
        "products.widget.replenishment.order_up_to": [20, 25.5],
        "customers.patience_days.mean": [-1, 3],
    }
    with pytest.raises(ScenarioError) as caught:
        sweep(base, vary, source="tiny.toml")
    text = str(caught.value)
    assert (
        "--vary" in text
        and "order_up_to=25.5" in text
        and "customers.patience_days.mean=-1" in text
    )
    assert "must be greater than 0" in text and "whole number" in text
    assert len(caught.value.problems) == 2  # each problem once, not once per point


# ---- the sweep -------------------------------------------------------------------------------


def test_each_point_is_the_variant_run_under_common_random_numbers(base: Scenario) -> None:
    result = sweep(base, VARY)
    assert result.parameters == list(VARY)
    assert len(result.points) == 4 and list(result.points["replications"]) == [3] * 4
    # point 2 = (patience 8.0, max wait 2): the same numbers as running that variant alone
    alone = variant(
        base, {"customers.patience_days.mean": 8.0, "policies.backorder.max_quoted_wait_days": 2}
    )
    runs = run_replications(alone)
    expected = summary.summary_frame(
        summary.replications_frame(runs), alone.baseline, [p.name for p in alone.policies]
    )
    got = result.summary[result.summary["point"] == 2]
    assert list(got["customers.patience_days.mean"].unique()) == [8.0]
    cols = ["mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"]
    assert got[cols].reset_index(drop=True).equals(expected[cols].reset_index(drop=True)) or (
        (got[cols].reset_index(drop=True) - expected[cols].reset_index(drop=True)).abs().max().max()
        < 1e-9
    )
    # common random numbers: every point's out-of-stock demand is the same (max wait only
    # changes the backorder policy, patience only changes who waits)
    orders = result.replications.query("policy == 'out-of-stock' and product == 'all'")
    assert orders.groupby("point")["orders"].sum().nunique() == 1
    # the policy map and the winners
    grid = result.policy_map("revenue_kept")
    assert grid.shape == (2, 2)
    assert set(result.winners["metric"]) >= {"revenue_kept", "gross_profit", "fill_rate"}


def test_files_and_pool_equal_inline(base: Scenario, tmp_path: Path) -> None:
    one = sweep(base, VARY, out_dir=tmp_path / "one", report=False)
    two = sweep(base, VARY, out_dir=tmp_path / "two", jobs=2, report=False)
    for name in ("sweep.csv", "points.csv", "winners.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert one.summary.equals(two.summary)
    meta = json.loads((tmp_path / "one" / "sweep.json").read_text())
    assert meta["parameters"] == list(VARY) and meta["baseline"] == "backorder"
    assert meta["seed"] == 11 and meta["replications_per_point"] == [3, 3, 3, 3]
    assert meta["status"] == "complete"
    header = (tmp_path / "one" / "sweep.csv").read_text().splitlines()[0]
    assert header == (
        "point,customers.patience_days.mean,policies.backorder.max_quoted_wait_days,"
        "policy,product,metric,mean,ci_low,ci_high,diff,diff_ci_low,diff_ci_high,significant"
    )


def test_interrupted_sweep_resumes_to_the_same_files(base: Scenario, tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    sweep(base, VARY, out_dir=whole, report=False)

    def stop_after_two(p: SweepProgress) -> None:
        if p.points_done == 2:
            raise KeyboardInterrupt

    part = tmp_path / "part"
    with pytest.raises(SweepInterrupted) as caught:
        sweep(base, VARY, out_dir=part, progress=stop_after_two, report=False)
    assert caught.value.finished == [0, 1] and caught.value.total == 4
    assert not (part / "sweep.csv").exists()
    kept = (part / "points" / "00000.csv").stat().st_mtime_ns

    seen: list[SweepProgress] = []
    sweep(base, VARY, out_dir=part, resume=True, progress=seen.append, jobs=2, report=False)
    assert (part / "points" / "00000.csv").stat().st_mtime_ns == kept  # not redone
    assert seen[0].replications_done > 2 * 3 * 2  # the two finished points count as done
    assert sum(s.point is not None for s in seen) == 2  # only the two missing points ran
    for name in ("sweep.csv", "points.csv", "winners.csv"):
        assert (part / name).read_bytes() == (whole / name).read_bytes()


def test_resume_from_the_folder_alone_after_overrides(tmp_path: Path) -> None:
    """A scenario made with --reps (every key set, ``lanes = []`` among them) resumes from its
    folder: the scenario.toml read back leaves the empty list out, and used not to match."""
    import stockout
    from stockout.sweep import load_sweep_config

    data = tiny()
    del data["lanes"], data["products"][0]["replenishment"]["lane"]
    base = stockout.with_overrides(scenario_from_dict(data, "tiny.toml"), replications=2)
    vary = {"customers.patience_days.mean": [1, 8]}

    def stop_after_one(p: SweepProgress) -> None:
        if p.points_done == 1:
            raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted):
        sweep(base, vary, out_dir=tmp_path / "s", progress=stop_after_one, report=False)
    scenario, values, _ = load_sweep_config(tmp_path / "s")
    done = sweep(scenario, values, out_dir=tmp_path / "s", resume=True, report=False)
    assert list(done.points["replications"]) == [2, 2]


def test_resume_refuses_another_sweep_and_a_used_folder(base: Scenario, tmp_path: Path) -> None:
    folder = tmp_path / "s"
    sweep(base, {"customers.patience_days.mean": [2]}, out_dir=folder, report=False)
    with pytest.raises(SweepError, match="another scenario, parameters"):
        sweep(base, {"customers.patience_days.mean": [3]}, out_dir=folder, resume=True)
    with pytest.raises(SweepError, match="not empty"):
        sweep(base, {"customers.patience_days.mean": [2]}, out_dir=folder)
    with pytest.raises(SweepError, match="no sweep.json"):
        sweep(base, {"customers.patience_days.mean": [2]}, out_dir=tmp_path / "x", resume=True)


def test_precision_adds_replications_until_met_or_capped(base: Scenario, tmp_path: Path) -> None:
    vary = {"customers.patience_days.mean": [1, 8]}
    loose = sweep(base, vary, precision=0.5)
    assert loose.precision is not None and loose.precision["met"]
    assert list(loose.points["replications"]) == [3, 3]
    tight = sweep(
        base, vary, precision=1e-6, max_replications=7, out_dir=tmp_path / "t", report=False
    )
    assert tight.precision is not None and not tight.precision["met"]
    assert tight.precision["points_capped"] == [0, 1]
    assert list(tight.points["replications"]) == [7, 7]  # 3 -> 5 -> 7 (the cap)
    assert not tight.points["precision_met"].any()
    meta = json.loads((tmp_path / "t" / "sweep.json").read_text())
    assert meta["precision"]["met"] is False and meta["replications_per_point"] == [7, 7]
    # adding replications never changes the earlier ones
    early = sweep(base, vary).replications
    late = tight.replications[tight.replications["replication"] < 3].reset_index(drop=True)
    assert late.equals(early)


# ---- the command -----------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def _root() -> None:
        """stockout"""

    register(app)
    return app


def _write(tmp_path: Path) -> Path:
    from stockout.results_io import to_toml

    path = tmp_path / "tiny.toml"
    path.write_text(to_toml(tiny()), encoding="utf-8")
    return path


def test_cli_bad_vary_exits_2_naming_the_path(tmp_path: Path) -> None:
    file = _write(tmp_path)
    runner = CliRunner()
    bad_path = runner.invoke(
        _app(), ["sweep", str(file), "--vary", "customers.patiense_days.mean=1,2"]
    )
    assert bad_path.exit_code == 2
    assert "customers.patiense_days.mean" in bad_path.output
    assert "customers.patience_days.mean" in bad_path.output
    bad_value = runner.invoke(_app(), ["sweep", str(file), "--vary", "scenario.horizon_days=-5"])
    assert bad_value.exit_code == 2
    assert (
        "scenario.horizon_days" in bad_value.output and "traceback" not in bad_value.output.lower()
    )


def test_cli_sweep_writes_the_folder_and_resume_completes(tmp_path: Path) -> None:
    file = _write(tmp_path)
    out = tmp_path / "out"
    runner = CliRunner()
    done = runner.invoke(
        _app(),
        [
            "sweep",
            str(file),
            "--vary",
            "customers.patience_days.mean=1,4",
            "--out",
            str(out),
            "--no-report",
            "--precision",
            "0.5",
        ],
    )
    assert done.exit_code == 0, done.output
    assert "precision: met" in done.output and f"sweep: {out}" in done.output
    before = (out / "sweep.csv").read_bytes()
    (out / "sweep.csv").unlink()
    again = runner.invoke(_app(), ["sweep", "--resume", str(out), "--no-report"])
    assert again.exit_code == 0, again.output
    assert (out / "sweep.csv").read_bytes() == before
    used = runner.invoke(
        _app(), ["sweep", str(file), "--vary", "scenario.seed=1", "--out", str(out)]
    )
    assert used.exit_code == 2 and "not empty" in used.output


def test_stockout_sweep_is_wired_into_the_main_command(tmp_path: Path) -> None:
    from stockout import cli

    file = _write(tmp_path)
    assert cli.main(["sweep", str(file), "--vary", "lanes.sea.transit_days.hihg=2,3"]) == 2
    out = tmp_path / "o"
    code = cli.main(["sweep", str(file), "--vary", "lanes.sea.transit_days.high=3,4", "--out",
                     str(out), "--no-report", "-q"])  # fmt: skip
    assert code == 0 and (out / "sweep.csv").is_file()


def test_a_winner_over_one_replication_is_never_significant() -> None:
    """One paired replication has no interval (t_interval collapses it to the mean), so
    winners.csv must not call its winner significant however large the margin."""
    import pandas as pd

    from stockout.sweep import KEY_METRICS, _winners

    def frame(reps: int) -> pd.DataFrame:
        rows = []
        for r in range(reps):
            for policy, level in (("base", 100.0), ("other", 200.0)):
                rows.append({"replication": r, "policy": policy, "product": "all",
                             **{m: level + r for m in KEY_METRICS}})  # fmt: skip
        return pd.DataFrame(rows)

    assert not any(w["significant"] for w in _winners(frame(1), ["base", "other"]))
    assert all(w["significant"] for w in _winners(frame(3), ["base", "other"]))
