"""Summaries over replications (stockout.summary), checked against hand computations.

The interval is the Student-t interval of a mean: mean ± t_{0.975, n-1} · s / √n, with s the
sample standard deviation (ddof = 1); a paired difference is that interval over the per-replication
differences policy − baseline (common random numbers pair replication k of every policy).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from stockout.records import METRICS, SERIES, WAIT_EDGES, RunResult
from stockout.summary import (
    SUMMARY_COLUMNS,
    compare,
    replications_frame,
    summary_frame,
    t_interval,
    timeseries_frame,
    waits_frame,
    windows_frame,
    winners,
)

T_975_3 = 3.182446305284263  # t_{0.975, 3}: Student's t tables, 3 degrees of freedom
# Closed forms: with 1 degree of freedom t_p = tan(pi (p - 1/2)) (Cauchy); with 2,
# t_p = (2p - 1) sqrt(2 / (4 p (1 - p))).
T_975_1 = math.tan(math.pi * 0.475)
T_975_2 = 0.95 * math.sqrt(2 / (4 * 0.975 * 0.025))


def run(policy: str, rep: int, products: dict[str, dict[str, float]], **kw: object) -> RunResult:
    days = np.asarray(kw.get("days", np.arange(1.0, 4.0)))
    series = kw.get("series", {p: np.zeros((len(days), len(SERIES))) for p in products})
    waits = kw.get("waits", {p: np.zeros(len(WAIT_EDGES)) for p in products})
    windows = kw.get("windows", [])
    return RunResult(policy, rep, products, days, series, waits, windows)  # type: ignore[arg-type]


def rep_frame(values: dict[str, list[float]], metric: str = "revenue_kept") -> pd.DataFrame:
    """replications.csv for one product ``all`` and one metric: policy -> value per replication."""
    runs = [
        run(policy, k, {"all": {metric: v}})
        for policy, vals in values.items()
        for k, v in enumerate(vals)
    ]
    return replications_frame(runs)


def row(summary: pd.DataFrame, policy: str, metric: str = "revenue_kept") -> pd.Series:
    hit = summary[(summary["policy"] == policy) & (summary["metric"] == metric)]
    assert len(hit) == 1
    return hit.iloc[0]


# ---- intervals ------------------------------------------------------------------------------


def test_t_interval_matches_hand_computation() -> None:
    # values 1,2,3,4: mean 2.5, s = sqrt(5/3), half-width t_{0.975,3} * s / 2
    half = T_975_3 * math.sqrt(5 / 3) / 2
    mean, low, high = t_interval([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert low == pytest.approx(2.5 - half, rel=1e-12)
    assert high == pytest.approx(2.5 + half, rel=1e-12)


def test_summary_interval_matches_hand_computation() -> None:
    summary = summary_frame(rep_frame({"a": [1.0, 2.0, 3.0, 4.0]}), "a", ["a"])
    r = row(summary, "a")
    half = T_975_3 * math.sqrt(5 / 3) / 2
    assert r["mean"] == 2.5
    assert r["ci_low"] == pytest.approx(2.5 - half, rel=1e-12)
    assert r["ci_high"] == pytest.approx(2.5 + half, rel=1e-12)
    assert math.isnan(r["diff"]) and math.isnan(r["diff_ci_low"]) and math.isnan(r["diff_ci_high"])


def test_one_replication_has_no_interval_and_no_significance() -> None:
    r = row(summary_frame(rep_frame({"a": [7.25], "b": [8.0]}), "a", ["a", "b"]), "b")
    assert r["mean"] == 8.0 and r["diff"] == 0.75
    for column in ("ci_low", "ci_high", "diff_ci_low", "diff_ci_high"):
        assert math.isnan(r[column]), column
    assert r["significant"] is None


def test_significant_says_whether_the_interval_excludes_zero() -> None:
    reps = rep_frame({"a": [1.0, 2.0, 3.0], "b": [3.0, 4.1, 5.0], "c": [1.0, 3.0, 2.0]})
    table = summary_frame(reps, "a", ["a", "b", "c"])
    assert row(table, "b")["significant"] is True
    assert row(table, "c")["significant"] is False
    assert row(table, "a")["significant"] is None  # the baseline is not compared with itself


def test_no_spread_collapses_the_interval() -> None:
    r = row(summary_frame(rep_frame({"a": [3.0, 3.0, 3.0]}), "a", ["a"]), "a")
    assert (r["mean"], r["ci_low"], r["ci_high"]) == (3.0, 3.0, 3.0)


def test_paired_difference_interval() -> None:
    # differences b - a per replication: 2, 3, 5 (mean 10/3, s = sqrt(7/3))
    summary = summary_frame(rep_frame({"a": [10.0, 20.0, 30.0], "b": [12.0, 23.0, 35.0]}), "a",
                            ["a", "b"])  # fmt: skip
    r = row(summary, "b")
    half = T_975_2 * math.sqrt(7 / 3) / math.sqrt(3)
    assert r["diff"] == pytest.approx(10 / 3, rel=1e-12)
    assert r["diff_ci_low"] == pytest.approx(10 / 3 - half, rel=1e-12)
    assert r["diff_ci_high"] == pytest.approx(10 / 3 + half, rel=1e-12)
    # The unpaired interval of b is much wider than the paired one: pairing matters.
    assert r["ci_high"] - r["ci_low"] > 5 * (r["diff_ci_high"] - r["diff_ci_low"])


def test_nan_replications_are_left_out() -> None:
    nan = float("nan")
    summary = summary_frame(
        rep_frame({"a": [1.0, nan, 3.0, 5.0], "b": [2.0, 4.0, nan, 9.0]}), "a", ["a", "b"]
    )
    a, b = row(summary, "a"), row(summary, "b")
    assert a["mean"] == 3.0  # (1 + 3 + 5) / 3
    assert b["mean"] == 5.0  # (2 + 4 + 9) / 3
    # pairs with both sides defined: replications 0 and 3 -> differences 1 and 4
    half = T_975_1 * math.sqrt(4.5) / math.sqrt(2)
    assert b["diff"] == 2.5
    assert b["diff_ci_low"] == pytest.approx(2.5 - half, rel=1e-12)


def test_metric_undefined_everywhere_gives_empty_cells() -> None:
    nan = float("nan")
    summary = summary_frame(
        rep_frame({"a": [nan, nan], "b": [nan, nan]}, metric="mean_wait_days"), "a", ["a", "b"]
    )
    r = row(summary, "b", "mean_wait_days")
    assert r[["mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"]].isna().all()
    text = summary.to_csv(index=False, na_rep="")
    assert "b,all,mean_wait_days,,,,,," in text


def test_summary_shape_and_order() -> None:
    runs = [
        run(p, k, {"w": {m: float(k) for m in METRICS}, "all": {m: float(k) for m in METRICS}})
        for p in ("x", "y", "z")
        for k in range(2)
    ]
    summary = summary_frame(replications_frame(runs), "y", ["z", "y"])
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    assert len(summary) == 2 * 2 * len(METRICS)
    assert summary["policy"].tolist()[:: 2 * len(METRICS)] == ["z", "y"]
    assert summary["product"].unique().tolist() == ["w", "all"]
    assert summary["metric"].tolist()[: len(METRICS)] == list(METRICS)
    assert summary.loc[summary["policy"] == "y", "diff"].isna().all()
    assert (summary.loc[summary["policy"] == "z", "diff"] == 0).all()


def test_summary_rejects_a_baseline_outside_the_policies() -> None:
    with pytest.raises(ValueError, match="baseline"):
        summary_frame(rep_frame({"a": [1.0]}), "b", ["a"])


# ---- replications.csv ---------------------------------------------------------------------


def test_replications_frame_columns_and_order() -> None:
    runs = [run(p, k, {"w": {"orders": 1.0}, "all": {"orders": 1.0}})
            for p in ("b", "a") for k in range(2)]  # fmt: skip
    frame = replications_frame(runs)
    assert list(frame.columns) == ["replication", "policy", "product", *METRICS]
    assert frame[["replication", "policy", "product"]].values.tolist() == [
        [0, "b", "w"], [0, "b", "all"], [0, "a", "w"], [0, "a", "all"],
        [1, "b", "w"], [1, "b", "all"], [1, "a", "w"], [1, "a", "all"],
    ]  # fmt: skip
    assert frame["units_demanded"].isna().all()  # missing metric -> NaN


# ---- timeseries.csv -----------------------------------------------------------------------


def test_timeseries_mean_percentiles_and_all_nan_series_skipped() -> None:
    days = np.array([1.0, 2.0])
    runs = []
    for k in range(5):
        s = np.full((2, len(SERIES)), float(k))
        s[:, SERIES.index("active_customers")] = np.nan  # per product: undefined
        runs.append(run("a", k, {"w": {}}, days=days, series={"w": s}))
    frame = timeseries_frame(runs)
    assert list(frame.columns) == ["policy", "product", "day", "series", "mean", "low", "high"]
    assert "active_customers" not in set(frame["series"])
    assert set(frame["series"]) == set(SERIES) - {"active_customers"}
    on_hand = frame[frame["series"] == "on_hand"]
    assert on_hand["day"].tolist() == [1.0, 2.0]
    assert on_hand["mean"].tolist() == [2.0, 2.0]
    assert on_hand["low"].tolist() == pytest.approx([0.2, 0.2])  # 5th percentile of 0..4
    assert on_hand["high"].tolist() == pytest.approx([3.8, 3.8])


# ---- waits.csv, disruptions.csv -----------------------------------------------------------


def test_waits_summed_over_replications_empty_bins_dropped() -> None:
    runs = []
    for k in range(3):
        w = np.zeros(len(WAIT_EDGES))
        w[0] = 1
        w[-1] = k  # beyond the last finite edge
        runs.append(run("a", k, {"w": {}}, waits={"w": w}))
    frame = waits_frame(runs)
    assert list(frame.columns) == ["policy", "product", "wait_low", "wait_high", "orders"]
    assert frame[["wait_low", "wait_high", "orders"]].values.tolist() == [
        [0.0, WAIT_EDGES[0], 3],
        [WAIT_EDGES[-2], math.inf, 3],
    ]


def test_windows_come_from_replication_zero() -> None:
    runs = [
        run("a", 1, {"w": {}}, windows=[("lane", "sea", 5.0, 9.0)]),
        run("a", 0, {"w": {}}, windows=[("lane", "sea", 1.0, 2.0), ("spike", "w", 3.0, 4.0)]),
    ]
    frame = windows_frame(runs)
    assert list(frame.columns) == ["kind", "id", "start_day", "end_day"]
    assert frame.values.tolist() == [["lane", "sea", 1.0, 2.0], ["spike", "w", 3.0, 4.0]]
    assert list(windows_frame([]).columns) == ["kind", "id", "start_day", "end_day"]


# ---- comparison ---------------------------------------------------------------------------


def test_compare_knows_which_direction_is_better() -> None:
    values = {"a": [10.0, 20.0, 30.0], "b": [12.0, 23.0, 32.5], "c": [9.0, 21.0, 29.5]}
    reps = pd.concat([rep_frame(values, "revenue_kept"), rep_frame(values, "storage_cost")])
    reps = reps.groupby(["replication", "policy", "product"], sort=False).first().reset_index()
    table = compare(summary_frame(reps, "a", ["a", "b", "c"]), "a").set_index(["policy", "metric"])
    assert table.loc[("b", "revenue_kept"), "better"]  # more revenue: better
    assert table.loc[("b", "revenue_kept"), "significant"]
    assert not table.loc[("b", "storage_cost"), "better"]  # more cost: worse
    assert table.loc[("b", "storage_cost"), "significant"]
    assert not table.loc[("c", "revenue_kept"), "significant"]  # -1, +1, -0.5: noise
    assert "a" not in table.index.get_level_values("policy")
    assert not table.loc[("b", "orders"), "better"]  # undefined: neither better
    assert not table.loc[("b", "orders"), "significant"]


def test_winners() -> None:
    summary = summary_frame(rep_frame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), "a", ["a", "b"])
    assert winners(summary)["revenue_kept"] == "b"
    assert pd.isna(winners(summary)["storage_cost"])


# ---- time series spread: one call per table, numpy's own numbers ----------------------------


@pytest.mark.parametrize("reps", [1, 2, 5, 20])
def test_timeseries_spread_is_numpys_nanpercentile_bit_for_bit(reps: int) -> None:
    """The grouped percentile path gives exactly what np.nanmean and np.nanpercentile give
    (the reference: numpy's NaN-aware functions, column by column), NaN holes included."""
    rng = np.random.default_rng(reps)
    days = np.arange(1.0, 41.0)
    runs, stacks = [], {}
    for k in range(reps):
        series = {}
        for product in ("a", "b"):
            s = rng.gamma(2.0, 30.0, size=(len(days), len(SERIES)))
            s[rng.random(s.shape) < 0.2] = np.nan  # undefined points, different per replication
            s[:5, SERIES.index("on_hand")] = np.nan if product == "a" else s[:5, 0]
            series[product] = s
            stacks.setdefault(product, []).append(s)
        runs.append(run("p", k, {"a": {}, "b": {}}, days=days, series=series))
    frame = timeseries_frame(runs)
    for product, stack in stacks.items():
        cube = np.stack(stack)
        for j, name in enumerate(SERIES):
            got = frame[(frame["product"] == product) & (frame["series"] == name)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns warn
                mean = np.nanmean(cube[:, :, j], axis=0)
                low, high = np.nanpercentile(cube[:, :, j], [5.0, 95.0], axis=0)
            for column, want in (("mean", mean), ("low", low), ("high", high)):
                assert np.array_equal(got[column].to_numpy(), want, equal_nan=True), column

