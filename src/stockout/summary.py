"""Summaries over replications: the tables of the results folder and the policy comparison.

Pure functions from :class:`~stockout.records.RunResult` lists and DataFrames to DataFrames. The
column names and meanings are those of ``docs/results-format.md``. This module never imports the
model and never writes anything.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from .records import HIGHER_IS_BETTER, METRICS, SERIES, WAIT_EDGES, RunResult

#: Confidence level of every interval.
CONFIDENCE = 0.95

REPLICATION_COLUMNS: tuple[str, ...] = ("replication", "policy", "product", *METRICS)
SUMMARY_COLUMNS: tuple[str, ...] = (
    "policy",
    "product",
    "metric",
    "mean",
    "ci_low",
    "ci_high",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "significant",
)
TIMESERIES_COLUMNS: tuple[str, ...] = ("policy", "product", "day", "series", "mean", "low", "high")
WAITS_COLUMNS: tuple[str, ...] = ("policy", "product", "wait_low", "wait_high", "orders")
WINDOWS_COLUMNS: tuple[str, ...] = ("kind", "id", "start_day", "end_day")
COMPARE_COLUMNS: tuple[str, ...] = (
    "policy",
    "product",
    "metric",
    "mean",
    "baseline_mean",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "better",
    "significant",
)


def _unique(values: Sequence[str] | pd.Series) -> list[str]:
    """Distinct values in order of first appearance."""
    return list(dict.fromkeys(values))


# ---------------------------------------------------------------------------------------------
# replications.csv
# ---------------------------------------------------------------------------------------------


def replications_frame(runs: Sequence[RunResult]) -> pd.DataFrame:
    """One row per replication × policy × product, one column per metric of :data:`METRICS`.

    Rows are ordered by replication, then policy (in the order the runs give them), then product
    (in the order of the run's ``metrics``). A metric missing from a run is NaN.

    >>> import numpy as np
    >>> from stockout.records import RunResult
    >>> run = RunResult("backorder", 0, {"all": {"orders": 3.0}}, np.arange(1.0, 2.0), {}, {})
    >>> frame = replications_frame([run])
    >>> frame.iloc[0][["replication", "policy", "product", "orders"]].astype(str).tolist()
    ['0', 'backorder', 'all', '3.0']
    """
    policy_rank = {p: i for i, p in enumerate(_unique([r.policy for r in runs]))}
    ordered = sorted(runs, key=lambda r: (r.replication, policy_rank[r.policy]))
    rows = [
        (run.replication, run.policy, product, *(values.get(m, np.nan) for m in METRICS))
        for run in ordered
        for product, values in run.metrics.items()
    ]
    frame = pd.DataFrame(rows, columns=list(REPLICATION_COLUMNS))
    frame["replication"] = frame["replication"].astype("int64")
    frame[list(METRICS)] = frame[list(METRICS)].astype("float64")
    return frame


# ---------------------------------------------------------------------------------------------
# summary.csv
# ---------------------------------------------------------------------------------------------


def t_interval(values: np.ndarray | Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95% Student-t confidence interval of the mean, ignoring NaN values.

    With a single value, or no spread, the interval collapses to the mean; with no value at all
    everything is NaN.

    >>> t_interval([1.0, 2.0, 3.0, 4.0])  # doctest: +ELLIPSIS
    (2.5, 0.445..., 4.554...)
    >>> t_interval([5.0])
    (5.0, 5.0, 5.0)
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(np.mean(x))
    half = float(_half_width(np.std(x, ddof=1) if x.size > 1 else 0.0, x.size))
    return (mean, mean - half, mean + half) if half > 0 else (mean, mean, mean)


def _half_width(sd: float | np.ndarray, n: float | np.ndarray) -> np.ndarray:
    """Half-width of the t interval; 0 where n < 2 or sd is 0 or undefined."""
    sd = np.asarray(sd, dtype=float)
    n = np.asarray(n, dtype=float)
    ok = (n > 1) & np.isfinite(sd) & (sd > 0)
    dof = np.where(ok, n - 1, 1.0)
    # Student t quantile: what scipy.stats.t.ppf computes, without importing scipy.stats
    # (1.4 s of a command's start-up)
    quantile = special.stdtrit(dof, 0.5 + CONFIDENCE / 2)
    return np.where(ok, quantile * np.where(ok, sd, 0.0) / np.sqrt(np.where(ok, n, 1.0)), 0.0)


def _interval_table(long: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean and t interval of ``long['value']`` per group of ``keys``, NaN values left out.

    A group with fewer than two values has no interval: its bounds are NaN (empty in the CSV),
    never an interval of no width that would read as certainty."""
    valid = long.dropna(subset=["value"])
    grouped = valid.groupby(keys, sort=False)["value"]
    table = pd.DataFrame({"n": grouped.count(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)})
    n = table["n"].to_numpy()
    half = _half_width(table["sd"].to_numpy(), n)
    mean = table["mean"].to_numpy()
    table["ci_low"] = np.where(n < 2, np.nan, np.where(half > 0, mean - half, mean))
    table["ci_high"] = np.where(n < 2, np.nan, np.where(half > 0, mean + half, mean))
    return table[["mean", "ci_low", "ci_high"]]


def _significance(low: pd.Series, high: pd.Series) -> pd.Series:
    """``True``/``False`` where the paired difference has an interval (it excludes 0 or not),
    ``None`` (an empty cell) where it has none: the baseline's rows, one replication."""
    known = low.notna() & high.notna()
    flags = ((low > 0) | (high < 0)).astype(object)
    return flags.where(known, None)


def _long(rep_df: pd.DataFrame, policies: Sequence[str]) -> pd.DataFrame:
    """replications.csv in long form: policy, product, replication, metric, value."""
    metrics = [m for m in METRICS if m in rep_df.columns]
    subset = rep_df[rep_df["policy"].isin(list(policies))]
    return subset.melt(
        id_vars=["policy", "product", "replication"],
        value_vars=metrics,
        var_name="metric",
        value_name="value",
    )


def _paired_differences(long: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Per replication, policy − baseline for every policy, product and metric."""
    base = long[long["policy"] == baseline].drop(columns="policy")
    others = long[long["policy"] != baseline]
    paired = others.merge(
        base, on=["product", "replication", "metric"], suffixes=("", "_base"), how="inner"
    )
    paired["value"] = paired["value"] - paired["value_base"]
    return paired.drop(columns="value_base")


def summary_frame(rep_df: pd.DataFrame, baseline: str, policies: Sequence[str]) -> pd.DataFrame:
    """summary.csv: per policy × product × metric, the mean over replications with its 95% t
    interval, and the mean paired difference *policy − baseline* with its own interval and
    whether that interval excludes 0 (``significant``; empty without an interval).

    Replications where a metric is undefined (NaN) are left out of that metric's mean, and out of
    the differences when either side is NaN. The baseline's difference columns are NaN.

    >>> rep = pd.DataFrame({"replication": [0, 1, 0, 1], "policy": ["a", "a", "b", "b"],
    ...                     "product": "all", "orders": [1.0, 3.0, 2.0, 5.0]})
    >>> row = summary_frame(rep, "a", ["a", "b"]).query("policy == 'b' and metric == 'orders'")
    >>> row[["mean", "diff"]].values.tolist()
    [[3.5, 1.5]]
    """
    if baseline not in policies:
        raise ValueError(f"baseline {baseline!r} is not one of the policies {list(policies)}")
    long = _long(rep_df, policies)
    keys = ["policy", "product", "metric"]
    levels = _interval_table(long, keys)
    diffs = _interval_table(_paired_differences(long, baseline), keys)
    diffs.columns = ["diff", "diff_ci_low", "diff_ci_high"]
    metrics = [m for m in METRICS if m in rep_df.columns]
    index = pd.MultiIndex.from_product(
        [list(policies), _unique(rep_df["product"]), metrics], names=keys
    )
    table = levels.join(diffs, how="outer").reindex(index)
    table["significant"] = _significance(table["diff_ci_low"], table["diff_ci_high"])
    return table.reset_index()[list(SUMMARY_COLUMNS)]


# ---------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------


def compare(summary_df: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Per policy (other than ``baseline``), product and metric: is it better than the baseline,
    and is the paired difference significant (its 95% interval excludes 0)?

    "Better" follows :data:`~stockout.records.HIGHER_IS_BETTER`: a larger value for revenues,
    fill rates and profit, a smaller one for costs, losses, waits and churn. A metric with no
    difference (or an undefined one) is neither better nor significant.

    >>> s = pd.DataFrame({"policy": ["a", "b"], "product": "all", "metric": "storage_cost",
    ...                   "mean": [10.0, 7.0], "ci_low": [9.0, 6.0], "ci_high": [11.0, 8.0],
    ...                   "diff": [np.nan, -3.0], "diff_ci_low": [np.nan, -4.0],
    ...                   "diff_ci_high": [np.nan, -2.0]})
    >>> compare(s, "a")[["policy", "better", "significant"]].values.tolist()
    [['b', True, True]]
    """
    base = summary_df.loc[summary_df["policy"] == baseline, ["product", "metric", "mean"]]
    base = base.rename(columns={"mean": "baseline_mean"})
    others = summary_df[summary_df["policy"] != baseline]
    table = others.merge(base, on=["product", "metric"], how="left")
    sign = np.where(table["metric"].isin(list(HIGHER_IS_BETTER)), 1.0, -1.0)
    diff = table["diff"].to_numpy(dtype=float)
    low = table["diff_ci_low"].to_numpy(dtype=float)
    high = table["diff_ci_high"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        table["better"] = sign * diff > 0
        table["significant"] = (low > 0) | (high < 0)
    return table[list(COMPARE_COLUMNS)].reset_index(drop=True)


def winners(summary_df: pd.DataFrame, product: str = "all") -> pd.Series:
    """The policy with the best mean per metric for ``product`` (NaN where no policy has one).

    >>> s = pd.DataFrame({"policy": ["a", "b"], "product": "all", "metric": "fill_rate",
    ...                   "mean": [0.9, 0.95]})
    >>> winners(s)["fill_rate"]
    'b'
    """
    rows = summary_df[summary_df["product"] == product]
    best: dict[str, object] = {}
    for metric, group in rows.groupby("metric", sort=False):
        values = group["mean"].to_numpy(dtype=float)
        if np.all(np.isnan(values)):
            best[str(metric)] = np.nan
            continue
        scores = values if metric in HIGHER_IS_BETTER else -values
        best[str(metric)] = group["policy"].iloc[int(np.nanargmax(scores))]
    return pd.Series(best, name="winner", dtype=object)


# ---------------------------------------------------------------------------------------------
# timeseries.csv, waits.csv, disruptions.csv
# ---------------------------------------------------------------------------------------------


def _group_runs(runs: Sequence[RunResult]) -> dict[str, list[RunResult]]:
    """Runs per policy (policy order of the runs), each list ordered by replication."""
    grouped: dict[str, list[RunResult]] = {}
    for run in runs:
        grouped.setdefault(run.policy, []).append(run)
    return {p: sorted(rs, key=lambda r: r.replication) for p, rs in grouped.items()}


def _series_spread(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, 5th and 95th percentiles over axis 0 (replications) of a 2-D stack, ignoring NaN.

    Equal, bit for bit, to ``np.nanmean`` and ``np.nanpercentile(..., [5, 95], axis=0)``, whose
    NaN-aware path calls a Python function once per column; here the columns are grouped by
    their number of valid values and each group is one ``np.percentile`` call on its sorted
    values (NaN sort last). One replication has no spread: its values are all three.
    """
    if stack.shape[0] == 1:
        row = stack[0]
        return row, row, row
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        mean = np.nanmean(stack, axis=0)
    count = np.count_nonzero(~np.isnan(stack), axis=0)
    low = np.full(stack.shape[1], np.nan)
    high = np.full(stack.shape[1], np.nan)
    ordered = np.sort(stack, axis=0) if (count < stack.shape[0]).any() else stack
    for n in np.unique(count[count > 0]):
        columns = np.flatnonzero(count == n)
        low[columns], high[columns] = np.percentile(ordered[:n, columns], [5.0, 95.0], axis=0)
    return mean, low, high


def _policy_timeseries(policy: str, group: list[RunResult]) -> pd.DataFrame | None:
    """timeseries.csv rows of one policy: products × series × days in one array operation."""
    products = list(group[0].series)
    if not products:
        return None
    days = np.asarray(group[0].days, dtype=float)
    # (replications, products, series, days): rows come out product, then series, then day
    cube = np.stack(
        [np.stack([np.asarray(r.series[p], dtype=float) for p in products]) for r in group]
    ).transpose(0, 1, 3, 2)
    n_series = min(cube.shape[2], len(SERIES))
    cube = cube[:, :, :n_series, :]
    kept = ~np.all(np.isnan(cube), axis=(0, 3))  # (products, series) not NaN throughout
    if not kept.any():
        return None
    picked = cube[:, kept, :]  # (replications, kept pairs, days)
    mean, low, high = _series_spread(picked.reshape(picked.shape[0], -1))
    product_index, series_index = np.nonzero(kept)
    n_days = len(days)
    return pd.DataFrame(
        {
            "policy": policy,
            "product": np.repeat(np.asarray(products, dtype=object)[product_index], n_days),
            "day": np.tile(days, len(product_index)),
            "series": np.repeat(np.asarray(SERIES, dtype=object)[series_index], n_days),
            "mean": mean,
            "low": low,
            "high": high,
        }
    )


def timeseries_frame(runs: Sequence[RunResult]) -> pd.DataFrame:
    """timeseries.csv: per policy, product, series and day, the mean over replications and the
    5th/95th percentiles. Series that are NaN throughout (e.g. ``active_customers`` for a single
    product) are left out. Linear in policies × products × series × days × replications.
    """
    parts = [
        frame
        for policy, group in _group_runs(runs).items()
        if (frame := _policy_timeseries(policy, group)) is not None
    ]
    if not parts:
        return pd.DataFrame(columns=list(TIMESERIES_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(TIMESERIES_COLUMNS)]


def wait_bins() -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edges of the bins of :data:`~stockout.records.WAIT_EDGES`."""
    high = np.asarray(WAIT_EDGES, dtype=float)
    low = np.concatenate([[0.0], high[:-1]])
    return low, high


def waits_frame(runs: Sequence[RunResult]) -> pd.DataFrame:
    """waits.csv: per policy and product, how many waited-and-shipped orders (summed over
    replications) fall in each wait bin; empty bins are left out."""
    low, high = wait_bins()
    parts: list[pd.DataFrame] = []
    for policy, group in _group_runs(runs).items():
        for product in group[0].waits:
            counts = np.sum([np.asarray(r.waits[product]) for r in group], axis=0)
            counts = np.asarray(counts).reshape(-1)[: len(high)]
            keep = np.nonzero(counts)[0]
            parts.append(
                pd.DataFrame(
                    {
                        "policy": policy,
                        "product": product,
                        "wait_low": low[keep],
                        "wait_high": high[keep],
                        "orders": counts[keep].astype("int64"),
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=list(WAITS_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(WAITS_COLUMNS)]


def windows_frame(runs: Sequence[RunResult]) -> pd.DataFrame:
    """disruptions.csv: the lane, supplier and spike windows of replication 0 (common random
    numbers make them the same for every policy)."""
    first = next((r for r in runs if r.replication == 0), runs[0] if runs else None)
    rows = list(first.windows) if first is not None else []
    frame = pd.DataFrame(rows, columns=list(WINDOWS_COLUMNS))
    return frame.astype({"kind": object, "id": object, "start_day": float, "end_day": float})
