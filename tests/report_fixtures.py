"""Fabricate a realistic stockout results folder (docs/results-format.md) for report tests.

The numbers are made up but shaped like the simulator's: common random numbers across policies
(a shared demand factor per replication), the revenue identity potential = kept + lost + cancelled
+ pending in every row, Student-t intervals and paired differences to the baseline, and time series
from a small (s, S) inventory walk with a lane closure. The real simulator replaces this in
integration tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from stockout.records import METRICS


@dataclass(frozen=True)
class PolicyShape:
    """How a fabricated policy behaves: shares of demand lost, cancelled, pending, waiting."""

    name: str
    availability: str
    lost: float
    cancelled: float
    pending: float
    waiting: float
    wait_days: float
    stock_factor: float  # scales (s, S): lean policies hold less


POLICIES = (
    PolicyShape("out-of-stock", "out_of_stock", 0.13, 0.0, 0.0, 0.0, 0.0, 1.0),
    PolicyShape("backorder", "backorder", 0.02, 0.03, 0.004, 0.12, 6.0, 1.0),
    PolicyShape("lean-backorder", "backorder", 0.04, 0.06, 0.008, 0.27, 9.0, 0.55),
    PolicyShape("preorder", "preorder", 0.02, 0.031, 0.004, 0.125, 6.2, 1.0),
)
PRODUCTS = {  # id: (price, unit_cost, holding/day, orders/day, reorder point, order-up-to)
    "widget": (40.0, 18.0, 0.02, 12.0, 90, 260),
    "gadget": (120.0, 70.0, 0.05, 3.0, 25, 80),
}
LEAD_TIME_DAYS = 7
CLOSURE = (300.0, 321.0)  # lane "road" closed: arrivals wait until it reopens

SCENARIO_TOML = """[scenario]
name = "fixture-shop"
title = {title}
description = {description}
horizon_days = {horizon}
warmup_days = {warmup}
replications = {reps}
seed = 42
baseline = "out-of-stock"

[customers]
population = 5000
patience_days = {{ dist = "exponential", mean = 10 }}
acquisition_per_day = 1.5

[customers.churn]
on_stockout = 0.10
on_declined_quote = 0.05
on_cancel = 0.30
on_late = 0.15

[[products]]
id = "widget"
price = 40.0
unit_cost = 18.0
holding_cost_per_day = 0.02
initial_stock = 200
[products.demand]
orders_per_day = 12
seasonality = {{ amplitude = 0.2, period_days = 365, peak_day = 340 }}
spikes = [ {{ start_day = 150, end_day = 157, multiplier = 3.0 }} ]
[products.replenishment]
rule = "s_S"
reorder_point = 90
order_up_to = 260
order_cost = 25.0
supplier = "acme"
lane = "road"

[[products]]
id = "gadget"
price = 120.0
unit_cost = 70.0
holding_cost_per_day = 0.05
initial_stock = 60
patience_days = {{ dist = "lognormal", mean = 20, cv = 0.5 }}
[products.demand]
orders_per_day = 3
[products.replenishment]
rule = "r_Q"
reorder_point = 25
order_quantity = 60
order_cost = 40.0
supplier = "acme"
lane = "road"

[[suppliers]]
id = "acme"
lead_time_days = {{ dist = "gamma", mean = 7, cv = 0.3 }}
capacity_per_day = 80
[[suppliers.outages]]
start_day = 90
end_day = 100

[[lanes]]
id = "road"
transit_days = {{ dist = "uniform", low = 1, high = 3 }}
[[lanes.disruptions]]
start_day = 300
end_day = 321

[costs]
backorder_handling = 1.0
cancellation_handling = 2.0

[[policies]]
name = "out-of-stock"
availability = "out_of_stock"
notify_me_share = 0.2

[[policies]]
name = "backorder"
availability = "backorder"
max_quoted_wait_days = 30
quote_buffer_days = 2

[[policies]]
name = "lean-backorder"
availability = "backorder"
max_quoted_wait_days = 30
[policies.replenishment.widget]
reorder_point = 50
order_up_to = 140

[[policies]]
name = "preorder"
availability = "preorder"
after_release = "backorder"
"""


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def _product_rows(rng: np.random.Generator, shape: PolicyShape, product: str, days: float,
                  demand_factor: float) -> dict[str, float]:  # fmt: skip
    price, unit_cost, holding, per_day, reorder, up_to = PRODUCTS[product]
    orders = float(rng.poisson(per_day * days * demand_factor))
    units = orders * 1.0
    noise = lambda share: max(0.0, share * rng.normal(1, 0.15))  # noqa: E731
    lost, cancelled, pending = noise(shape.lost), noise(shape.cancelled), noise(shape.pending)
    waiting = noise(shape.waiting)
    potential = units * price
    lost_rev, cancel_rev, pending_rev = potential * lost, potential * cancelled, potential * pending
    kept = potential - lost_rev - cancel_rev - pending_rev
    on_hand = (reorder + up_to) / 2 * shape.stock_factor * rng.normal(1, 0.05)
    storage = on_hand * holding * days
    n_orders = orders * 0.02 * rng.normal(1, 0.05) / shape.stock_factor
    handling = orders * waiting * 1.0 + orders * cancelled * 2.0
    shipped = kept / price
    backorders = orders * waiting if shape.availability != "preorder" else orders * waiting * 0.8
    preorders = orders * waiting * 0.2 if shape.availability == "preorder" else 0.0
    waited = backorders + preorders > 0
    churned = orders * (lost * 0.10 + cancelled * 0.30) * rng.normal(1, 0.1)
    return {
        "orders": orders, "units_demanded": units, "potential_revenue": potential,
        "revenue_kept": kept, "revenue_lost_stockout": lost_rev,
        "revenue_lost_cancelled": cancel_rev, "revenue_pending": pending_rev,
        "fill_rate": 1 - lost - cancelled - waiting,
        "unit_fill_rate": 1 - lost - cancelled - waiting,
        "backorders": backorders, "preorders": preorders, "cancellations": orders * cancelled,
        "lost_orders": orders * lost,
        "mean_wait_days": shape.wait_days * rng.normal(1, 0.1) if waited else np.nan,
        "p95_wait_days": shape.wait_days * 2.6 * rng.normal(1, 0.1) if waited else np.nan,
        "avg_backlog_units": per_day * waiting * shape.wait_days,
        "max_backlog_units": per_day * waiting * shape.wait_days * 4,
        "quote_on_time_rate": min(1.0, 0.9 * rng.normal(1, 0.03)) if waited else np.nan,
        "avg_on_hand": on_hand, "storage_cost": storage, "ordering_cost": n_orders * 25.0,
        "purchase_cost": shipped * unit_cost, "handling_cost": handling, "backlog_cost": 0.0,
        "gross_profit": kept - shipped * unit_cost - storage - n_orders * 25.0 - handling,
        "churned_customers": churned, "churn_rate": np.nan, "active_customers_end": np.nan,
        "customer_cash_held": pending_rev * 3, "units_shipped": shipped,
        "units_received": shipped + rng.normal(0, 5), "lost_in_transit": 0.0,
        "recovered_orders": 0.0, "leftover_units": on_hand,
        # what the data shows: out of stock records only what it sells
        "true_demand_per_day": units / days,
        "recorded_demand_units": units * (1 - lost if shape.availability == "out_of_stock" else 1),
        "demand_capture_rate": 1 - lost if shape.availability == "out_of_stock" else 1.0,
        "corrected_demand_per_day": per_day * demand_factor * rng.normal(1, 0.02),
        "bullwhip_ratio": np.nan,
    }  # fmt: skip


def _total_row(rows: list[dict[str, float]], population: float) -> dict[str, float]:
    total = {m: float(np.nansum([r[m] for r in rows])) for m in METRICS}
    orders = total["orders"]
    for m in ("fill_rate", "unit_fill_rate"):
        total[m] = sum(r[m] * r["orders"] for r in rows) / orders
    waited = [r for r in rows if not np.isnan(r["mean_wait_days"])]
    n_wait = sum(r["backorders"] + r["preorders"] for r in waited)
    for m in ("mean_wait_days", "quote_on_time_rate"):
        total[m] = (sum(r[m] * (r["backorders"] + r["preorders"]) for r in waited) / n_wait
                    if n_wait else np.nan)  # fmt: skip
    total["p95_wait_days"] = max((r["p95_wait_days"] for r in waited), default=np.nan)
    total["demand_capture_rate"] = total["recorded_demand_units"] / total["units_demanded"]
    total["bullwhip_ratio"] = np.nan
    total["churned_customers"] += population * 0.02 * 2
    total["churn_rate"] = total["churned_customers"] / population
    total["active_customers_end"] = population - total["churned_customers"] + 1.5 * 730
    return total


def make_replications(reps: int, horizon: float, warmup: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    records = []
    days = horizon - warmup
    for rep in range(reps):
        demand = {p: rng.normal(1, 0.04) for p in PRODUCTS}  # shared by all policies (CRN)
        for shape in POLICIES:
            sub = np.random.default_rng([seed, rep, hash(shape.name) % 2**32])
            rows = [_product_rows(sub, shape, p, days, demand[p]) for p in PRODUCTS]
            for product, row in zip(PRODUCTS, rows, strict=True):
                records.append(
                    {"replication": rep, "policy": shape.name, "product": product, **row}
                )
            total = _total_row(rows, 5000.0)
            records.append({"replication": rep, "policy": shape.name, "product": "all", **total})
    return pd.DataFrame.from_records(
        records, columns=["replication", "policy", "product", *METRICS]
    )


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(x.mean())
    if len(x) < 2 or x.std() == 0:
        return (mean, mean, mean)
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return (mean, mean - half, mean + half)


def summarise(reps: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """summary.csv from replications.csv: mean, t interval, paired difference to the baseline."""
    out = []
    for (policy, product), part in reps.groupby(["policy", "product"], sort=False):
        base = reps[(reps["policy"] == baseline) & (reps["product"] == product)]
        base = base.set_index("replication")
        part = part.set_index("replication")
        for metric in METRICS:
            mean, low, high = _interval(part[metric].to_numpy(float))
            if policy == baseline:
                d = (np.nan, np.nan, np.nan)
            else:
                d = _interval((part[metric] - base[metric]).to_numpy(float))
            out.append([policy, product, metric, mean, low, high, *d])
    cols = ["policy", "product", "metric", "mean", "ci_low", "ci_high", "diff", "diff_ci_low",
            "diff_ci_high"]  # fmt: skip
    return pd.DataFrame(out, columns=cols)


def _inventory_walk(rng: np.random.Generator, shape: PolicyShape, product: str, horizon: int,
                    reps: int) -> dict[str, np.ndarray]:  # fmt: skip
    """Daily on hand / backlog / on order of a small (s, S) walk, shape (reps, days)."""
    _, _, _, per_day, reorder, up_to = PRODUCTS[product]
    s, big_s = reorder * shape.stock_factor, up_to * shape.stock_factor
    arrivals = np.zeros((reps, horizon + 60))
    on_hand = np.full(reps, big_s)
    backlog = np.zeros(reps)
    on_order = np.zeros(reps)
    out = {k: np.zeros((reps, horizon)) for k in ("on_hand", "backlog_units", "on_order")}
    backorders = shape.availability != "out_of_stock"
    for t in range(horizon):
        on_hand += arrivals[:, t]
        on_order -= arrivals[:, t]
        served = np.minimum(on_hand, backlog)
        on_hand, backlog = on_hand - served, backlog - served
        season = 1 + 0.2 * np.cos(2 * np.pi * (t - 340) / 365) + (2.0 if 150 <= t < 157 else 0)
        demand = rng.poisson(per_day * season, reps)
        filled = np.minimum(on_hand, demand)
        on_hand -= filled
        if backorders:
            backlog += (demand - filled) * (1 - shape.cancelled * 3)
        position = on_hand + on_order - backlog
        qty = np.where(position <= s, big_s - position, 0.0)
        due = t + LEAD_TIME_DAYS + rng.integers(0, 4, reps)
        due = np.where((due >= CLOSURE[0]) & (due < CLOSURE[1]), int(CLOSURE[1]), due)
        arrivals[np.arange(reps), due] += qty
        on_order += qty
        out["on_hand"][:, t], out["backlog_units"][:, t] = on_hand, backlog
        out["on_order"][:, t] = on_order
    return out


def make_timeseries(reps: int, horizon: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1)
    days = np.arange(1, horizon + 1)
    frames = []

    def add(policy: str, product: str, series: str, paths: np.ndarray) -> None:
        frames.append(pd.DataFrame({
            "policy": policy, "product": product, "day": days, "series": series,
            "mean": paths.mean(axis=0), "low": np.percentile(paths, 5, axis=0),
            "high": np.percentile(paths, 95, axis=0),
        }))  # fmt: skip

    for shape in POLICIES:
        walks = {p: _inventory_walk(rng, shape, p, horizon, reps) for p in PRODUCTS}
        for series in ("on_hand", "backlog_units", "on_order"):
            for product, walk in walks.items():
                add(shape.name, product, series, walk[series])
            add(shape.name, "all", series, sum(w[series] for w in walks.values()))
        churn = 0.02 + shape.lost * 0.5 + shape.cancelled
        decay = 5000 * np.exp(-churn * days / 365)[None, :] + rng.normal(0, 15, (reps, horizon))
        add(shape.name, "all", "active_customers", decay + 1.5 * days[None, :])
    return pd.concat(frames, ignore_index=True)


def make_waits(reps: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 2)
    edges = np.arange(0, 62, 2.0)
    rows = []
    for shape in POLICIES:
        for product, (_, _, _, per_day, _, _) in PRODUCTS.items():
            if shape.waiting == 0:
                continue
            n = int(per_day * 670 * shape.waiting * reps)
            waits = rng.gamma(2.0, shape.wait_days / 2.0, n)
            counts, _ = np.histogram(waits, edges)
            for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True):
                rows.append([shape.name, product, lo, hi, int(c)])
    return pd.DataFrame(rows, columns=["policy", "product", "wait_low", "wait_high", "orders"])


def make_results(
    folder: Path,
    *,
    reps: int = 30,
    horizon: int = 730,
    warmup: int = 60,
    title: str = "Widgets and gadgets: backorder or out of stock?",
    description: str = (
        "A web shop sells a cheap widget and a dear gadget from one supplier over a road that "
        "closes for three weeks in day 300. Should a customer who finds the shelf empty be "
        "offered a backorder, or told the item is out of stock? Look at revenue kept against "
        "churn, and at how the lean policy trades storage cost for waits."
    ),
    seed: int = 42,
    with_disruptions: bool = True,
) -> Path:
    """Write a complete results folder under ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    baseline = "out-of-stock"
    replications = make_replications(reps, horizon, warmup, seed)
    replications.to_csv(folder / "replications.csv", index=False)
    summarise(replications, baseline).to_csv(folder / "summary.csv", index=False)
    make_timeseries(reps, horizon, seed).to_csv(folder / "timeseries.csv", index=False)
    make_waits(reps, seed).to_csv(folder / "waits.csv", index=False)
    windows = [["supplier", "acme", 90.0, 100.0], ["spike", "widget", 150.0, 157.0]]
    if with_disruptions:
        windows.append(["lane", "road", *CLOSURE])
    pd.DataFrame(windows, columns=["kind", "id", "start_day", "end_day"]).to_csv(
        folder / "disruptions.csv", index=False
    )
    (folder / "scenario.toml").write_text(
        SCENARIO_TOML.format(
            title=_toml_string(title), description=_toml_string(description), horizon=horizon,
            warmup=warmup, reps=reps,
        ),
        encoding="utf-8",
    )  # fmt: skip
    manifest = {
        "stockout_version": "0.1.0", "scenario": "fixture-shop", "title": title, "seed": seed,
        "replications": reps, "policies": [p.name for p in POLICIES], "baseline": baseline,
        "horizon_days": horizon, "warmup_days": warmup,
        "command": "stockout run fixture-shop.toml", "started": "2025-01-01T10:00:00Z",
        "finished": "2025-01-01T10:00:42Z", "elapsed_seconds": 42.0, "jobs": 4,
        "files": ["scenario.toml", "summary.csv", "replications.csv", "timeseries.csv",
                  "waits.csv", "disruptions.csv"],
    }  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def make_sweep(folder: Path, *, two_parameters: bool = True, seed: int = 7) -> Path:
    """Write a sweep folder: sweep.csv and sweep.json (see stockout.report.sweep)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    p1 = "customers.patience_days.mean"
    p2 = "suppliers.acme.lead_time_days.mean"
    grid1 = [2.0, 5.0, 10.0, 20.0, 40.0]
    grid2 = [3.0, 7.0, 14.0, 28.0] if two_parameters else [None]
    rows = []
    point = 0
    for b in grid2:
        for a in grid1:
            lead = b if b is not None else 7.0
            for shape in POLICIES:
                # backordering pays when patience is long compared with the lead time
                edge = (a / lead) if shape.availability != "out_of_stock" else 1.0
                for metric, base, spread in (
                    ("revenue_kept", 100_000.0, 3000.0), ("gross_profit", 30_000.0, 2000.0),
                    ("churn_rate", 0.05, 0.004), ("storage_cost", 4000.0, 150.0),
                    ("fill_rate", 0.85, 0.01),
                ):  # fmt: skip
                    factor = 1 + 0.08 * np.tanh(np.log(edge)) * (
                        1 if metric != "churn_rate" else -1
                    )
                    if metric == "storage_cost":
                        factor = shape.stock_factor
                    mean = base * factor * rng.normal(1, 0.005)
                    half = spread / 2
                    row = {"point": point, p1: a}
                    if b is not None:
                        row[p2] = b
                    row.update(
                        {
                            "policy": shape.name,
                            "product": "all",
                            "metric": metric,
                            "mean": mean,
                            "ci_low": mean - half,
                            "ci_high": mean + half,
                        }
                    )
                    rows.append(row)
            point += 1
    frame = pd.DataFrame(rows)
    base = frame[frame["policy"] == "out-of-stock"].set_index(["point", "metric"])["mean"]
    diff = (
        frame["mean"] - base.loc[list(zip(frame["point"], frame["metric"], strict=True))].to_numpy()
    )
    half = frame["ci_high"] - frame["mean"]
    is_base = frame["policy"] == "out-of-stock"
    frame["diff"] = diff.where(~is_base)
    frame["diff_ci_low"] = (diff - half * 2.5).where(~is_base)  # wide enough for close calls
    frame["diff_ci_high"] = (diff + half * 2.5).where(~is_base)
    frame.to_csv(folder / "sweep.csv", index=False)
    params = [p1, p2] if two_parameters else [p1]
    meta = {"parameters": params, "baseline": "out-of-stock", "scenario": "fixture-shop",
            "title": "Widgets and gadgets: when does backordering pay?", "seed": 42,
            "replications": 20, "command": ["stockout", "sweep", "shop.toml", "--vary", "..."],
            "stockout_version": "0.1.0", "finished": "2026-01-01T00:00:00+00:00"}  # fmt: skip
    (folder / "sweep.json").write_text(json.dumps(meta), encoding="utf-8")
    (folder / "scenario.toml").write_text(
        SCENARIO_TOML.format(
            title=_toml_string(meta["title"]), horizon=730, warmup=60, reps=20,
            description=_toml_string("A web shop sells a widget and a gadget; the sweep asks "
                                     "when backordering beats telling customers it is out."),
        ),
        encoding="utf-8",
    )  # fmt: skip
    return folder
