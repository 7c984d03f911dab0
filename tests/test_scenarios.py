"""The bundled scenarios: each one loads, runs, and shows what its description claims.

Every scenario in ``scenarios/`` is a teaching story whose **What to look at** makes a claim
("backorders keep more revenue for the differentiated product", "lean backordering saves storage
within a few percent of revenue"). Each claim is asserted here on the 95% confidence interval of
the paired difference between policies over replications (common random numbers: every policy
sees the same customers, lead times and disruptions in replication k), never on one seed.

Runs use the scenario's own horizon and replications (chosen so that the claims hold with room to
spare) unless noted, on 2 worker processes.
"""

from __future__ import annotations

import functools
import json
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import stockout
from stockout import api
from stockout.report.tables import load_tables
from stockout.report.verdict import build_verdict

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SCHEMA_FILE = ROOT / "docs" / "scenario.schema.json"
SCHEMA_LINE = "#:schema ../docs/scenario.schema.json"
JOBS = 2

BUNDLED = sorted(p.name for p in SCENARIOS.glob("*.toml"))


@functools.cache
def results(name: str, **overrides: float) -> api.Results:
    """The results of a bundled scenario (cached: several claims share one run)."""
    scenario = api.load(SCENARIOS / name)
    if overrides:
        scenario = api.with_overrides(scenario, **overrides)  # type: ignore[arg-type]
    return api.run(scenario, jobs=JOBS, search_dir=SCENARIOS)


def row(res: api.Results, policy: str, metric: str, product: str = "all") -> pd.Series:
    s = res.summary
    hit = s[(s.policy == policy) & (s["product"] == product) & (s.metric == metric)]
    assert len(hit) == 1, (policy, metric, product)
    return hit.iloc[0]


def mean(res: api.Results, policy: str, metric: str, product: str = "all") -> float:
    return float(row(res, policy, metric, product)["mean"])


def diff(
    res: api.Results, policy: str, metric: str, product: str = "all"
) -> tuple[float, float, float]:
    """The paired difference policy − baseline and its 95% interval, from summary.csv."""
    r = row(res, policy, metric, product)
    return float(r["diff"]), float(r["diff_ci_low"]), float(r["diff_ci_high"])


def paired(res: api.Results, a: str, b: str, metric: str, product: str = "all"):
    """The paired difference a − b over replications (neither need be the baseline)."""
    reps = res.replications
    reps = reps[reps["product"] == product].set_index(["policy", "replication"])[metric]
    d = (reps.loc[a] - reps.loc[b]).dropna().to_numpy()
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else 0
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


# ---------------------------------------------------------------------------------------------
# Every bundled scenario: schema line, story, policies; loads and runs
# ---------------------------------------------------------------------------------------------


def test_there_is_a_scenario_for_every_case_of_the_design() -> None:
    expected = {
        "quickstart", "commodity", "differentiated", "demand-spike", "supplier-delay",
        "transport-disruption", "seasonal-lean", "crowdfunding", "product-launch-presales",
        "made-to-order", "b2b-high-value", "limited-edition-drops", "subscription-replenishment",
        "dropshipping", "textbook-sS", "newsvendor-season", "single-echelon-baseline",
    }
    assert expected <= {Path(n).stem for n in BUNDLED}


def test_committed_json_schema_is_the_current_one() -> None:
    """docs/scenario.schema.json is what `stockout schema` prints today (regenerate with
    `stockout schema --out docs/scenario.schema.json`)."""
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == api.json_schema()


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_is_a_well_told_story(name: str) -> None:
    path = SCENARIOS / name
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == SCHEMA_LINE, "first line must point editors to the schema"
    meta = tomllib.loads(text)["scenario"]
    assert meta["name"] == path.stem, "the scenario name is the file name"
    description = meta["description"].strip()
    assert description.startswith("**What it teaches.**")
    assert "**The story.**" in description and "**What to look at.**" in description
    scenario = api.load(path)
    assert len(scenario.policies) >= 2 and "baseline" in meta
    # every policy named in the description exists, quoted as "name"
    names = {p.name for p in scenario.policies}
    parts = description.split('"')
    for before, quoted in zip(parts[0::2], parts[1::2], strict=False):
        if " " not in quoted and quoted.islower() and not before.endswith("= "):
            assert quoted in names, f'"{quoted}" in the description is not a policy'


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_runs(name: str) -> None:
    scenario = api.with_overrides(api.load(SCENARIOS / name), replications=2)
    res = api.run(scenario, jobs=JOBS, search_dir=SCENARIOS)
    assert set(res.summary.policy) == {p.name for p in scenario.policies}
    assert (res.summary.query("metric == 'orders'")["mean"] > 0).all()


def test_listed_by_stockout_scenarios() -> None:
    listed = {i.name: i for i in api.list_scenarios(SCENARIOS)}
    assert set(listed) == {Path(n).stem for n in BUNDLED}
    assert all(i.summary and not i.summary.startswith("(cannot") for i in listed.values())


# ---------------------------------------------------------------------------------------------
# The claims
# ---------------------------------------------------------------------------------------------


def test_quickstart_backorders_keep_revenue_and_lean_stock_saves_storage() -> None:
    res = results("quickstart.toml")
    assert diff(res, "backorder", "revenue_kept")[1] > 0
    assert diff(res, "lean-backorder", "storage_cost")[2] < 0
    assert diff(res, "out-of-stock-deep", "storage_cost")[1] > 0


def test_differentiated_backorders_keep_revenue_and_customers() -> None:
    """Patient customers: backorder keeps significantly more revenue than out-of-stock, and
    churns fewer customers (an empty shelf, not a wait, drives them away)."""
    res = results("differentiated.toml")
    d, lo, _ = diff(res, "backorder", "revenue_kept")
    assert lo > 0.10 * mean(res, "out-of-stock", "revenue_kept")  # at least +10%
    assert diff(res, "backorder", "churn_rate")[2] < 0
    assert diff(res, "backorder", "gross_profit")[1] > 0


def test_commodity_backorders_lose_customers_and_then_revenue() -> None:
    """Impatient regular customers with a competitor one click away: backorders save some orders
    up front but churn more customers, and over the year keep less revenue and profit than out
    of stock; quoting honestly (90th percentile) does no better."""
    res = results("commodity.toml")
    assert diff(res, "backorder", "lost_orders")[2] < 0  # orders saved up front...
    assert diff(res, "backorder", "churn_rate")[1] > 0  # ...customers lost for good...
    assert diff(res, "backorder", "active_customers_end")[2] < 0
    assert diff(res, "backorder", "revenue_kept")[2] < 0  # ...and with them, the revenue
    assert diff(res, "backorder", "gross_profit")[2] < 0
    for metric, worse in (("revenue_kept", -1), ("gross_profit", -1), ("churn_rate", 1)):
        _, lo, hi = diff(res, "backorder-honest", metric)
        assert (hi < 0) if worse < 0 else (lo > 0), metric


def test_same_supply_opposite_verdicts_on_churn() -> None:
    """The pair: the same backorder policy raises churn for the commodity, lowers it for the
    differentiated product."""
    assert diff(results("commodity.toml"), "backorder", "churn_rate")[1] > 0
    assert diff(results("differentiated.toml"), "backorder", "churn_rate")[2] < 0


def test_demand_spike_backorders_turn_the_spike_into_revenue() -> None:
    res = results("demand-spike.toml")
    assert diff(res, "backorder", "revenue_kept")[1] > 0
    # the cap on the backlog gives up part of that gain...
    _, _, hi = paired(res, "backorder-capped", "backorder", "revenue_kept")
    assert hi < 0
    # ...and deep stock pays storage all year for a once-a-year spike and still keeps less
    assert diff(res, "out-of-stock-deep", "storage_cost")[1] > 0
    _, _, hi = paired(res, "out-of-stock-deep", "backorder", "revenue_kept")
    assert hi < 0
    # the backlog builds during the spike (days 120-134) and drains after it
    ts = res.timeseries
    backlog = ts[(ts.policy == "backorder") & (ts["product"] == "press")
                 & (ts.series == "backlog_units")].set_index("day")["mean"]
    assert backlog.loc[125:140].max() > 5 * backlog.loc[60:110].mean()
    assert backlog.loc[190:230].mean() < 0.25 * backlog.loc[125:140].max()


def test_supplier_delay_backorders_and_honest_quotes() -> None:
    res = results("supplier-delay.toml")
    assert diff(res, "backorder", "revenue_kept")[1] > 0
    # honest quotes: more promises kept, fewer customers churned after a late delivery,
    # a few more orders declined up front
    lo = paired(res, "backorder-honest", "backorder", "quote_on_time_rate")[1]
    assert lo > 0.3
    assert paired(res, "backorder-honest", "backorder", "churn_rate")[2] < 0
    assert paired(res, "backorder-honest", "backorder", "lost_orders")[1] > 0


def _without_scheduled_closure(name: str):
    data = api.scenario_dict(api.load(SCENARIOS / name))
    for lane in data["lanes"]:
        lane["disruptions"] = [d for d in lane["disruptions"] if "start_day" not in d
                               or "every_days" in d]
    return api.load(data)


@pytest.mark.slow
def test_transport_disruption_breaks_promises() -> None:
    res = results("transport-disruption.toml")
    assert diff(res, "backorder", "revenue_kept")[1] > 0
    # the port closure causes backorders, cancellations and lost customers: compare with the
    # same scenario without it (same seed: the same customers and storms)
    calm = api.run(_without_scheduled_closure("transport-disruption.toml"), jobs=JOBS)
    for metric in ("backorders", "cancellations", "churned_customers"):
        a = res.replications.query("policy == 'backorder' and product == 'all'")
        b = calm.replications.query("policy == 'backorder' and product == 'all'")
        d = a.set_index("replication")[metric] - b.set_index("replication")[metric]
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
        assert d.mean() - half > 0, metric
    # deep stock rides out much of the closure, at a storage cost
    assert diff(res, "out-of-stock-deep", "revenue_kept")[1] > 0
    assert diff(res, "out-of-stock-deep", "storage_cost")[1] > 0


def test_seasonal_lean_backordering_saves_storage_within_a_few_percent_of_revenue() -> None:
    res = results("seasonal-lean.toml")
    deep_storage = mean(res, "deep-out-of-stock", "storage_cost")
    deep_revenue = mean(res, "deep-out-of-stock", "revenue_kept")
    assert diff(res, "lean-backorder", "storage_cost")[2] < -0.5 * deep_storage
    assert diff(res, "lean-backorder", "revenue_kept")[1] > -0.05 * deep_revenue
    assert diff(res, "lean-backorder", "gross_profit")[1] > 0
    # the same lean stock without backorders loses real sales
    assert diff(res, "lean-out-of-stock", "revenue_kept")[2] < -0.2 * deep_revenue


@pytest.mark.slow
def test_crowdfunding_preorders_size_the_first_run() -> None:
    res = results("crowdfunding.toml")
    ts = res.timeseries
    ts = ts[(ts.policy == "campaign-make-to-order") & (ts["product"] == "keyboard")]
    at = ts[ts.day == 79].set_index("series")["mean"]  # the day before the release
    first_run = at["on_hand"] + at["on_order"]
    owed = at["backlog_units"]
    assert owed > 500
    assert abs(first_run - owed) <= 0.01 * owed
    # a run fixed before the campaign turns backers away
    assert diff(res, "campaign-make-to-order", "revenue_kept")[1] > 0
    assert diff(res, "campaign-make-to-order", "preorders")[1] > 0
    assert mean(res, "fixed-run", "preorders") <= 600
    # base stock: the pre-orders plus the target stock
    bs = res.timeseries
    bs = bs[(bs.policy == "campaign-base-stock") & (bs["product"] == "keyboard") & (bs.day == 79)]
    at = bs.set_index("series")["mean"]
    assert abs(at["on_hand"] + at["on_order"] - at["backlog_units"] - 40) <= 2


@pytest.mark.slow
def test_product_launch_presales_keep_the_early_demand() -> None:
    res = results("product-launch-presales.toml")
    assert diff(res, "presales", "revenue_kept")[1] > 0
    assert diff(res, "presales-capped", "revenue_kept")[1] > 0
    assert paired(res, "presales-capped", "presales", "revenue_kept")[2] < 0
    reps = res.replications.query("policy == 'presales-capped' and product == 'all'")
    assert (reps["preorders"] <= 200).all()
    assert mean(res, "no-presales", "preorders") == 0


def _md1_wait(lam: float, capacity: float, after: float) -> float:
    """M/D/1 (Pollaczek–Khinchine): Wq = ρ·d / (2(1 − ρ)), d = 1/capacity; W = Wq + d + after."""
    d = 1 / capacity
    rho = lam * d
    return rho * d / (2 * (1 - rho)) + d + after


def test_made_to_order_wait_is_an_md1_queue_and_holds_no_stock() -> None:
    res = results("made-to-order.toml")
    waits = res.replications.query("policy == 'made-to-order' and product == 'all'")[
        "mean_wait_days"]
    half = stats.t.ppf(0.975, len(waits) - 1) * waits.std(ddof=1) / math.sqrt(len(waits))
    assert abs(waits.mean() - _md1_wait(1.6, 2.0, 3.0)) <= 2 * half  # 4.5 days
    assert mean(res, "made-to-order", "storage_cost") == 0
    assert diff(res, "made-to-stock", "storage_cost")[1] > 0
    assert diff(res, "made-to-stock", "revenue_kept")[2] < 0
    # turning orders away when the queue is long shortens the wait and loses sales
    assert diff(res, "made-to-order-capped", "mean_wait_days")[2] < 0
    assert diff(res, "made-to-order-capped", "lost_orders")[1] > 0


def test_b2b_lean_backordering_beats_deep_stock() -> None:
    res = results("b2b-high-value.toml")
    deep_revenue = mean(res, "out-of-stock-deep", "revenue_kept")
    deep_storage = mean(res, "out-of-stock-deep", "storage_cost")
    assert diff(res, "backorder-lean", "gross_profit")[1] > 0
    assert diff(res, "backorder-lean", "revenue_kept")[1] > -0.05 * deep_revenue
    assert diff(res, "backorder-lean", "storage_cost")[2] < -0.7 * deep_storage
    # make-to-order waits the full 90 days: too long for a share of even patient buyers
    assert diff(res, "make-to-order", "revenue_kept")[2] < 0


def test_limited_edition_drops_revenue_is_capped_by_supply() -> None:
    res = results("limited-edition-drops.toml")
    supply_revenue = 900 * 220.0
    all_reps = res.replications.query("product == 'all'")
    for name in res.policies:
        reps = all_reps[all_reps.policy == name]
        assert (reps["revenue_kept"] <= supply_revenue + 1e-6).all()
        assert reps["revenue_kept"].mean() >= 0.99 * supply_revenue
    for policy in ("backorder", "preorder"):
        assert diff(res, policy, "revenue_kept") == (0.0, 0.0, 0.0)
        # who waits: the next drop is known, so promises are kept
        assert mean(res, policy, "quote_on_time_rate") == 1.0
        # the units leave the shelf on delivery day: less storage
        assert diff(res, policy, "storage_cost")[2] < 0
    assert mean(res, "preorder", "preorders") > 0


def test_subscription_lean_backordering_keeps_revenue() -> None:
    res = results("subscription-replenishment.toml")
    safe_revenue = mean(res, "safe-out-of-stock", "revenue_kept")
    safe_storage = mean(res, "safe-out-of-stock", "storage_cost")
    assert diff(res, "lean-backorder", "revenue_kept")[1] > -0.01 * safe_revenue
    assert diff(res, "lean-backorder", "storage_cost")[2] < -0.5 * safe_storage
    assert diff(res, "lean-backorder", "gross_profit")[1] > 0
    assert diff(res, "lean-out-of-stock", "churn_rate")[1] > 0
    assert diff(res, "lean-out-of-stock", "revenue_kept")[2] < -0.1 * safe_revenue


def test_dropshipping_no_storage_and_honest_quotes() -> None:
    res = results("dropshipping.toml")
    assert mean(res, "dropship", "storage_cost") == 0
    assert mean(res, "dropship", "avg_on_hand") == 0
    assert mean(res, "dropship", "fill_rate") == 0  # every order waits the supplier's time
    assert abs(mean(res, "dropship", "mean_wait_days") - 9.0) < 0.5
    # stocking it sells to the customers who will not wait 9 days, at a storage cost
    assert diff(res, "stock-it", "revenue_kept")[1] > 0
    assert diff(res, "stock-it", "storage_cost")[1] > 0
    # a 2-day buffer on a reliable supplier's quote keeps promises and customers
    assert diff(res, "dropship-buffered", "quote_on_time_rate")[1] > 0.3
    assert diff(res, "dropship-buffered", "churn_rate")[2] < 0


def _rq_cost(lam: float, lead: float, r: int, q: int, k: float, h: float, p: float) -> float:
    """(r, Q) with backorders, Poisson demand, constant lead time (Zipkin 2000 §6): the position
    is uniform on r+1..r+Q, net inventory = position − Poisson(λL)."""
    n = np.arange(0, int(lam * lead * 4 + r + q + 50))
    pmf = stats.poisson.pmf(n, lam * lead)
    ys = np.arange(r + 1, r + q + 1)[:, None]
    on_hand = np.mean(np.sum(np.maximum(ys - n, 0) * pmf, axis=1))
    backlog = np.mean(np.sum(np.maximum(n - ys, 0) * pmf, axis=1))
    return k * lam / q + h * on_hand + p * backlog


def test_textbook_sS_cost_matches_theory_and_is_lowest() -> None:
    res = results("textbook-sS.toml")
    span = 2000.0
    reps = res.replications.query("product == 'all'").set_index(["policy", "replication"])
    cost = (reps["ordering_cost"] + reps["storage_cost"] + reps["backlog_cost"]) / span
    for policy, big_s in (("textbook", 106), ("small-batches", 58), ("big-batches", 201)):
        c = cost.loc[policy]
        half = stats.t.ppf(0.975, len(c) - 1) * c.std(ddof=1) / math.sqrt(len(c))
        theory = _rq_cost(4, 5, 11, big_s - 11, 100, 0.10, 1.00)
        assert abs(c.mean() - theory) <= max(2 * half, 1e-9), (policy, c.mean(), theory)
    for other in ("small-batches", "big-batches"):
        d = cost.loc[other] - cost.loc["textbook"]
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
        assert d.mean() - half > 0


def test_newsvendor_critical_fractile_and_useless_backorders(tmp_path: Path) -> None:
    """gross_profit (leftovers charged at cost − salvage value) against the exact expected
    newsvendor profit p·E[min(D, Q)] + s·E[(Q − D)+] − c·Q, D ~ Poisson(900), for three Q; the
    critical-fractile quantity wins, and the report's verdict names it."""
    res = results("newsvendor-season.toml")
    price, cost, salvage, mean_demand = 50.0, 20.0, 0.0, 900
    q_star = int(stats.poisson.ppf((price - cost) / (price - salvage), mean_demand))
    assert q_star == 907
    reps = res.replications.query("product == 'all'").set_index(["policy", "replication"])
    bought = {"buy-907": 907, "buy-850": 850, "buy-1000": 1000}
    k = np.arange(0, 2000)
    pmf = stats.poisson.pmf(k, mean_demand)
    for policy, q in bought.items():
        theory = (price * np.sum(np.minimum(k, q) * pmf)
                  + salvage * np.sum(np.maximum(q - k, 0) * pmf) - cost * q)
        p = reps.loc[policy, "gross_profit"]
        half = stats.t.ppf(0.975, len(p) - 1) * p.std(ddof=1) / math.sqrt(len(p))
        assert abs(p.mean() - theory) <= 2 * half, (policy, p.mean(), theory, half)
        # the units left are exactly the units bought less those sold
        left = reps.loc[policy, "leftover_units"]
        assert (left == q - reps.loc[policy, "units_shipped"]).all(), policy
    for other in ("buy-850", "buy-1000"):
        d, low, high = diff(res, other, "gross_profit")
        assert high < 0, (other, d, low, high)
    folder = res.save(tmp_path / "out", report=False)
    verdict = " ".join(build_verdict(load_tables(folder)).headline)
    assert "Highest gross profit: buy-907" in verdict, verdict
    # nothing more is coming: backorder behaves exactly as out of stock
    for metric in ("revenue_kept", "lost_orders", "backorders", "gross_profit"):
        assert diff(res, "backorder-907", metric) == (0.0, 0.0, 0.0)


def test_single_echelon_baseline_matches_palm_and_erlang() -> None:
    res = results("single-echelon-baseline.toml")
    lam, lead, big_s = 5.0, 2.0, 12
    a = lam * lead
    k = np.arange(0, big_s)
    backlog = a - big_s + float(np.sum((big_s - k) * stats.poisson.pmf(k, a)))
    erlang = 1.0
    for j in range(1, big_s + 1):
        erlang = a * erlang / (j + a * erlang)
    reps = res.replications.query("product == 'all'").set_index(["policy", "replication"])

    def close(policy: str, metric: str, theory: float) -> None:
        x = reps.loc[policy, metric]
        half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
        assert abs(x.mean() - theory) <= 2 * half, (policy, metric, x.mean(), theory)

    close("backorder", "fill_rate", stats.poisson.cdf(big_s - 1, a))
    close("backorder", "avg_backlog_units", backlog)
    close("backorder", "avg_on_hand", big_s - a + backlog)
    close("lost-sales", "fill_rate", 1 - erlang)


def test_stockout_api_is_importable_as_documented() -> None:
    assert stockout.load is api.load or callable(stockout.load)


# ---------------------------------------------------------------------------------------------
# Verdicts and lessons agree: what each story claims is what `stockout run` prints and what the
# report's verdict says
# ---------------------------------------------------------------------------------------------

#: Per bundled scenario, the claims of its story ("What it teaches" / "What to look at") on the
#: metrics it names: (policy, metric, direction of policy − baseline): +1 significantly higher,
#: −1 significantly lower, 0 no significant difference. The claims above test the numbers; these
#: test that the terminal table and the verdict say the same.
LESSONS: dict[str, list[tuple[str, str, int]]] = {
    "b2b-high-value.toml": [("backorder-lean", "gross_profit", 1),
                            ("backorder-lean", "storage_cost", -1),
                            ("make-to-order", "revenue_kept", -1)],
    "bullwhip.toml": [("ma-2-weeks", "bullwhip_ratio", 1), ("ma-4-weeks", "bullwhip_ratio", 1),
                      ("smoothing-0.3", "bullwhip_ratio", 1)],
    "spiral-down.toml": [("out-of-stock", "demand_capture_rate", -1),
                         ("out-of-stock", "revenue_kept", -1),
                         ("out-of-stock-corrected", "demand_capture_rate", -1)],
    "commodity.toml": [("backorder", "churn_rate", 1), ("backorder", "revenue_kept", -1),
                       ("backorder", "gross_profit", -1), ("backorder-honest", "churn_rate", 1)],
    "crowdfunding.toml": [("campaign-make-to-order", "revenue_kept", 1)],
    "demand-spike.toml": [("backorder", "revenue_kept", 1),
                          ("out-of-stock-deep", "storage_cost", 1)],
    "differentiated.toml": [("backorder", "revenue_kept", 1), ("backorder", "gross_profit", 1),
                            ("backorder", "churn_rate", -1)],
    "dropshipping.toml": [("stock-it", "revenue_kept", 1), ("stock-it", "storage_cost", 1),
                          ("dropship-buffered", "churn_rate", -1)],
    "limited-edition-drops.toml": [("backorder", "revenue_kept", 0),
                                   ("preorder", "revenue_kept", 0),
                                   ("backorder", "storage_cost", -1)],
    "made-to-order.toml": [("made-to-stock", "storage_cost", 1),
                           ("made-to-stock", "revenue_kept", -1),
                           ("made-to-order-capped", "mean_wait_days", -1)],
    "newsvendor-season.toml": [("buy-850", "gross_profit", -1), ("buy-1000", "gross_profit", -1),
                               ("backorder-907", "revenue_kept", 0)],
    "product-launch-presales.toml": [("presales", "revenue_kept", 1),
                                     ("presales-capped", "revenue_kept", 1)],
    "quickstart.toml": [("backorder", "revenue_kept", 1), ("lean-backorder", "storage_cost", -1)],
    "seasonal-lean.toml": [("lean-backorder", "storage_cost", -1),
                           ("lean-backorder", "gross_profit", 1),
                           ("lean-out-of-stock", "revenue_kept", -1)],
    "single-echelon-baseline.toml": [("lost-sales", "fill_rate", 1)],
    "subscription-replenishment.toml": [("lean-backorder", "storage_cost", -1),
                                        ("lean-backorder", "gross_profit", 1),
                                        ("lean-out-of-stock", "churn_rate", 1),
                                        ("lean-out-of-stock", "revenue_kept", -1)],
    "supplier-delay.toml": [("backorder", "revenue_kept", 1)],
    "textbook-sS.toml": [],  # its metric (ordering + storage + backlog cost): see WINNERS
    "transport-disruption.toml": [("backorder", "revenue_kept", 1),
                                  ("out-of-stock-deep", "storage_cost", 1)],
}  # fmt: skip

#: Stories that name a winner: (metric, policy that the verdict's headline must name, and as
#: significantly better than every other policy when it is the baseline).
WINNERS: dict[str, tuple[str, str]] = {
    "commodity.toml": ("revenue_kept", "out-of-stock"),
    "textbook-sS.toml": ("gross_profit", "textbook"),  # equal revenue: least cost, most profit
    "differentiated.toml": ("revenue_kept", "backorder"),
}

SLOW_SCENARIOS = {"crowdfunding.toml", "product-launch-presales.toml", "transport-disruption.toml"}

#: How the verdict words each direction, per metric it speaks about.
VERDICT_WORDS = {
    "revenue_kept": {1: "more revenue than", -1: "less revenue than", 0: "same revenue as"},
    "churn_rate": {1: "points more churn (95% CI", -1: "points less churn (95% CI",
                   0: "no significant difference in churn"},
    "storage_cost": {1: "higher (95% CI", -1: "lower (95% CI", 0: "no significant difference"},
    "gross_profit": {1: "higher (95% CI", -1: "lower (95% CI", 0: "no significant difference"},
}  # fmt: skip


def _printed_delta(res: api.Results, policy: str, metric: str) -> str | None:
    """The Δ line that `stockout run` prints for ``policy`` in the row of ``metric``."""
    from stockout.terminal import RUN_METRICS, _run_rows

    headings = {m: h for m, h, _ in RUN_METRICS}
    if metric not in headings:
        return None
    cells = dict(_run_rows(res))[headings[metric]]
    return cells[res.policies.index(policy)].plain.splitlines()[1]


def _verdict_clause(sentence: str, metric: str) -> str:
    """The part of a verdict sentence about ``metric``."""
    if metric in ("storage_cost", "gross_profit"):
        name = "storage cost" if metric == "storage_cost" else "gross profit"
        parts = [p for p in re.split(r"[;.] ", sentence) if name in p.lower()]
        return parts[0] if parts else ""
    return sentence


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_SCENARIOS else n for n in BUNDLED],
)
def test_story_run_table_and_verdict_agree(name: str, tmp_path: Path) -> None:
    from stockout.report import load_tables
    from stockout.report.verdict import build_verdict, winner_sentence

    assert name in LESSONS, f"{name}: write down the claims of its story in LESSONS"
    res = results(name)
    tables = load_tables(res.save(tmp_path / "run", report=False))
    verdict = build_verdict(tables)
    for policy, metric, direction in LESSONS[name]:
        _, low, high = diff(res, policy, metric)
        claim = f"{name}: {policy} {metric} {'+-0'[[1, -1, 0].index(direction)]}"
        assert {1: low > 0, -1: high < 0, 0: low <= 0 <= high}[direction], (claim, low, high)
        printed = _printed_delta(res, policy, metric)
        if printed is not None:
            sign = {1: "Δ +", -1: "Δ -", 0: "Δ "}[direction]
            assert printed.startswith(sign) and printed.endswith(" *") == bool(direction), (
                claim, printed)
        if metric in VERDICT_WORDS:
            (sentence,) = [s for s in verdict.details if s.startswith(f"{policy} ")]
            clause = _verdict_clause(sentence, metric)
            assert VERDICT_WORDS[metric][direction] in clause, (claim, sentence)
    if name in WINNERS:
        metric, policy = WINNERS[name]
        headline = winner_sentence(tables, metric) or ""
        assert headline.split(": ", 1)[1].startswith(policy), (name, headline)
        sure = "every other policy is significantly worse" if policy == res.baseline else (
            f"significantly better than {res.baseline}")
        assert sure in headline, (name, headline)
