"""The tables of an optimisation: optimum.csv, candidates.csv and winners.csv (pure pandas)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .evaluate import Candidate, Evaluator
from .search import PolicySearch
from .space import Constraint, Objective, Target


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the two-sided t interval of the mean (NaN bounds for fewer than 2 values)."""
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1)
                 / math.sqrt(len(values)))
    return mean, mean - half, mean + half


def pooled(ev: Evaluator) -> dict[Candidate, np.ndarray]:
    """Every replication of each candidate, all phases together (raw metric values)."""
    out: dict[Candidate, list[np.ndarray]] = {}
    for (cand, _), raw in sorted(ev.systems().items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if len(raw):
            out.setdefault(cand, []).append(raw)
    return {c: np.concatenate(parts) for c, parts in out.items()}


def _values(targets: Sequence[Target], cand: Candidate | None) -> dict[str, Any]:
    return {t.spec.path: (cand[i] if cand is not None else None) for i, t in enumerate(targets)}


def candidate_rows(
    ev: Evaluator, found: PolicySearch, point: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """candidates.csv rows of one policy: every candidate run, with all its replications."""
    rows = []
    for cand, raw in sorted(pooled(ev).items()):
        row: dict[str, Any] = {**point, "policy": ev.policy, **_values(ev.targets, cand)}
        mean, low, high = interval(raw[:, 0])
        row.update({"replications": len(raw), "objective": ev.objective.metric,
                    "mean": mean, "ci_low": low, "ci_high": high})
        for i, con in enumerate(ev.constraints):
            m, lo, hi = interval(raw[:, 1 + i])
            row.update({f"{con.metric}_mean": m, f"{con.metric}_ci_low": lo,
                        f"{con.metric}_ci_high": hi})
        row["feasible"] = found.feasible.get(cand)
        row["status"] = found.status.get(cand, "searched")
        rows.append(row)
    return rows


def optimum_row(
    ev: Evaluator, found: PolicySearch, point: Mapping[str, Any], delta: float, seconds: float
) -> dict[str, Any]:
    """optimum.csv's row of one policy."""
    data = pooled(ev)
    best = found.selected if found.selected is not None else found.closest
    raw = data.get(best) if best is not None else None
    mean, low, high = interval(raw[:, 0]) if raw is not None else (math.nan,) * 3
    runner = found.runner_up
    runner_mean = interval(data[runner][:, 0])[0] if runner is not None else math.nan
    return {
        **point,
        "policy": ev.policy,
        **_values(ev.targets, best),
        "objective": ev.objective.metric,
        "mean": mean,
        "ci_low": low,
        "ci_high": high,
        "feasible": found.selected is not None,
        "replications": len(raw) if raw is not None else 0,
        "sense": "maximize" if ev.objective.maximize else "minimize",
        "indifference": delta,
        "guaranteed": found.guaranteed and found.selected is not None,
        "at_edge": best is not None and any(
            v in (t.spec.lo, t.spec.values[-1]) for t, v in zip(ev.targets, best, strict=True)),
        "method": found.method,
        "runner_up": _label(ev.targets, runner),
        "runner_up_mean": runner_mean,
        "candidates_evaluated": len(data),
        "search_replications": int(sum(len(r) for r in data.values())),
        "runs_simulated": ev.tally.runs,
        "search_seconds": round(seconds, 3),
    }


def _label(targets: Sequence[Target], cand: Candidate | None) -> str | None:
    if cand is None:
        return None
    return ", ".join(f"{t.key}={v}" for t, v in zip(targets, cand, strict=True))


def winners(optimum: pd.DataFrame, objective: Objective, parameters: Sequence[str],
            constraints: Sequence[Constraint]) -> pd.DataFrame:
    """Per sweep point: the policy whose optimum is best (feasible ones only); ``clear`` when its
    interval does not overlap the next policy's."""
    rows = []
    for keys, group in optimum.groupby(list(parameters), sort=False, dropna=False):
        values = dict(zip(parameters, keys if isinstance(keys, tuple) else (keys,), strict=True))
        ok = group[group["feasible"].astype(bool)]
        ordered = ok.sort_values("mean", ascending=not objective.maximize)
        row: dict[str, Any] = {**values, "winner": None, "mean": math.nan, "second": None,
                               "second_mean": math.nan, "clear": False}
        if len(ordered):
            first = ordered.iloc[0]
            row.update(winner=first["policy"], mean=first["mean"])
            if len(ordered) > 1:
                second = ordered.iloc[1]
                apart = (first["ci_low"] > second["ci_high"] if objective.maximize
                         else first["ci_high"] < second["ci_low"])
                row.update(second=second["policy"], second_mean=second["mean"],
                           clear=bool(apart))
            else:
                row["clear"] = True
        rows.append(row)
    return pd.DataFrame(rows)
