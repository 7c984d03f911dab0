"""What the business's data shows of demand, and forecasts that learn from it (issue 25).

Layers: the forecast rule as a pure table (given records → order); micro-scenarios for what is
recorded; theory over seeded replications, each tolerance 2 × the 95% Student-t half-width over
the replications (docs/validation.md: about 4 standard errors); metamorphic relations under common
random numbers; the bundled teaching scenarios' claims.

Theory used (sources in each test):
- lost-sales base stock, Poisson arrivals at rate λ, S units, any lead time with mean L: the
  units on order form an Erlang loss system, so a share B(S, λL) of customers (and, by PASTA,
  of time) finds no stock: recorded demand per day = λ(1 − B(S, λL)), and recorded units while
  in stock ÷ days in stock = λ;
- backorders: every order is recorded, so recorded = true, pathwise;
- the order-up-to rule with forecasts (Chen, Drezner, Ryan & Simchi-Levi 2000): i.i.d. demand
  D per review period with variance σ², level y_t = L·μ̂_t (L the protection interval in review
  periods: (mean lead time + review period) / review period), order q_t = y_t − y_{t−1} + D_{t−1}
  (the inventory position, backorders included, falls by exactly the demand between reviews).
  Moving average over p periods: q = (1 + L/p)·D_{t−1} − (L/p)·D_{t−1−p}, so
  Var(q)/σ² = (1 + L/p)² + (L/p)² = 1 + 2L/p + 2L²/p². Exponential smoothing,
  μ̂_t = μ̂_{t−1} + α(D_{t−1} − μ̂_{t−1}): q = (1 + Lα)·D_{t−1} − Lα·μ̂_{t−1}, μ̂_{t−1}
  independent of D_{t−1} with Var = α/(2 − α)·σ², so Var(q)/σ² = (1 + Lα)² + L²α³/(2 − α).
  Exact for the rule as defined in policies/forecast.py with safety_z = 0 and any lead time
  (orders depend only on the inventory position), provided no order is clipped at zero (demand
  per period is kept large against its spread here: P(q < 0) < 1e-6) and up to the rounding of
  the level up to whole units (adds at most 2 × 1/12 to Var(q), under 0.2% of it here).
"""

from __future__ import annotations

import functools
import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import assert_close_to_theory, ci, scenario

from stockout.experiment import run_replications
from stockout.model import simulate
from stockout.policies.forecast import ForecastOrderUpTo, Plan
from stockout.records import SERIES
from stockout.scenario.load import load_scenario
from stockout.scenario.schema import ForecastRule

JOBS = 2


def erlang_b(servers: int, load: float) -> float:
    """Erlang B by the recursion B(0, a) = 1, B(k, a) = a·B(k−1, a) / (k + a·B(k−1, a))."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def by_policy(sc: Any, product: str = "w") -> dict[str, list[dict[str, float]]]:
    out: dict[str, list[dict[str, float]]] = {}
    for r in run_replications(sc, jobs=JOBS):
        out.setdefault(r.policy, []).append(r.metrics[product])
    return out


# ---------------------------------------------------------------------------------------------
# The rule as a table
# ---------------------------------------------------------------------------------------------


class Records:
    """A stand-in for the demand record: cumulative counts the test sets by hand."""

    def __init__(self) -> None:
        self.recorded_units = 0
        self.recorded_in_stock_units = 0
        self.days_in_stock = 0.0

    def in_stock_days(self, t: float) -> float:
        return self.days_in_stock


def rule(**keys: Any) -> ForecastOrderUpTo:
    spec = ForecastRule(rule="forecast", review_period_days=7, supplier="s", **keys)
    r = ForecastOrderUpTo(spec)
    r.start(Plan(mean_lead_days=14, demand_per_day=10, variance_per_day=10))
    return r


def ask(r: ForecastOrderUpTo, t: float, position: int, rec: Records) -> int:
    return r.order_quantity(SimpleNamespace(time=t, position=position, demand=rec))


def test_before_any_data_the_level_is_the_plan() -> None:
    """Day 0: f = f₀ = 10 a day, level = 10 × (14 + 7) = 210; order = 210 − position."""
    rec = Records()
    assert ask(rule(), 0.0, 50, rec) == 160
    assert ask(rule(), 0.0, 250, rec) == 0  # never a negative order


def test_moving_average_replaces_planned_periods_one_by_one() -> None:
    """Window 14 days = 2 periods, pre-filled with the plan (70 a period). A period with 140
    recorded: f = (70 + 140) / 14 = 15; another: f = 280 / 14 = 20 (the plan is gone)."""
    r, rec = rule(window_days=14), Records()
    ask(r, 0.0, 0, rec)
    rec.recorded_units = 140
    assert ask(r, 7.0, 0, rec) == math.ceil(15 * 21) and r.forecast == pytest.approx(15)
    rec.recorded_units = 280
    ask(r, 14.0, 0, rec)
    assert r.forecast == pytest.approx(20)


def test_exponential_smoothing_weighs_alpha_against_the_plan() -> None:
    """α = 0.5: S(n) = 0.5 × 140 + 0.5 × 70 = 105 per 7 days: f = 15."""
    r, rec = rule(method="exponential_smoothing", alpha=0.5), Records()
    ask(r, 0.0, 0, rec)
    rec.recorded_units = 140
    ask(r, 7.0, 0, rec)
    assert r.forecast == pytest.approx(15)


def test_in_stock_corrected_divides_by_days_in_stock() -> None:
    """35 units recorded in 3.5 days in stock: 10 a day, whatever the period's length; a period
    never in stock teaches nothing."""
    r, rec = rule(window_days=7, estimator="in_stock_corrected"), Records()
    ask(r, 0.0, 0, rec)
    rec.recorded_units = rec.recorded_in_stock_units = 35
    rec.days_in_stock = 3.5
    ask(r, 7.0, 0, rec)
    assert r.forecast == pytest.approx(10)
    rec.recorded_units += 5  # recorded while out of stock (a declined quote): not in the estimate
    ask(r, 14.0, 0, rec)
    assert r.forecast == pytest.approx(10)


def test_safety_stock_is_z_error_sd_over_the_protection_interval() -> None:
    """Before data σ² = σ₀² = 10 a day: level = 210 + 1.5 × √(10 × 21)."""
    r = rule(safety_z=1.5)
    assert ask(r, 0.0, 0, Records()) == math.ceil(210 + 1.5 * math.sqrt(210))


# ---------------------------------------------------------------------------------------------
# What is recorded
# ---------------------------------------------------------------------------------------------


def test_backorder_records_every_order() -> None:
    """Backorders: recorded = true demand, pathwise (docs/glossary.md)."""
    sc = scenario(orders_per_day=5, order_up_to=3, lead_time_days={"dist": "constant", "value": 2},
                  horizon_days=300, warmup_days=20, replications=3)
    for runs in by_policy(sc).values():
        for m in runs:
            assert m["recorded_demand_units"] == m["units_demanded"]
            assert m["demand_capture_rate"] == 1.0
            assert m["true_demand_per_day"] == pytest.approx(m["units_demanded"] / 280)


def test_out_of_stock_records_sales_and_the_captured_share() -> None:
    """Out of stock with nothing captured: recorded = units sold from stock; everything
    captured: recorded = true."""
    for share, expect in ((0.0, "units_shipped"), (1.0, "units_demanded")):
        sc = scenario(orders_per_day=5, order_up_to=3, availability="out_of_stock",
                      horizon_days=300, warmup_days=20, replications=2,
                      product={"lost_demand_recorded": share})
        for m in by_policy(sc)["p"]:
            assert m["lost_orders"] > 0
            assert m["recorded_demand_units"] == m[expect]


# ---------------------------------------------------------------------------------------------
# Theory: censored demand under lost sales, recorded = true under backorders
# ---------------------------------------------------------------------------------------------

LAM, LEAD, S = 5.0, 2.0, 10


@functools.cache
def censoring_runs() -> dict[str, list[dict[str, float]]]:
    """10 replications × 2000 days after a 50-day warm-up, exponential lead times (the loss
    system is insensitive to their distribution), backorder and lost sales under CRN."""
    sc = scenario(
        orders_per_day=LAM, order_up_to=S, lead_time_days={"dist": "exponential", "mean": LEAD},
        horizon_days=2050, warmup_days=50, replications=10, seed=2506,
        policies=[{"name": "backorder", "availability": "backorder"},
                  {"name": "lost", "availability": "out_of_stock"}],
    )
    return by_policy(sc)


def test_lost_sales_recorded_demand_is_censored_by_erlang_b() -> None:
    """Lost-sales base stock S = 10, λ = 5, E[L] = 2 (a = 10): Erlang loss system M/G/S/S
    (Erlang; Sevastyanov 1957; Smith 1977): recorded demand per day = λ(1 − B(S, a)) and
    capture rate = 1 − B(S, a); the in-stock-corrected estimate = λ (time share in stock
    1 − B(S, a) by PASTA; Conrad 1976; Nahmias 1994). Tolerance 2h over 10 replications."""
    runs = censoring_runs()["lost"]
    b = erlang_b(S, LAM * LEAD)
    assert 0.1 < b < 0.3  # a real censoring, not a corner
    assert_close_to_theory([m["recorded_demand_units"] / 2000 for m in runs], LAM * (1 - b),
                           "recorded demand per day")
    assert_close_to_theory([m["demand_capture_rate"] for m in runs], 1 - b, "capture rate")
    assert_close_to_theory([m["corrected_demand_per_day"] for m in runs], LAM,
                           "in-stock-corrected demand per day")


def test_backorder_recorded_demand_is_the_true_demand() -> None:
    """Backorders: recorded = true (every order in the books), so the recorded rate estimates
    λ; the corrected estimate too (arrivals in stock, PASTA)."""
    runs = censoring_runs()["backorder"]
    assert all(m["recorded_demand_units"] == m["units_demanded"] for m in runs)
    assert_close_to_theory([m["recorded_demand_units"] / 2000 for m in runs], LAM,
                           "recorded demand per day")
    assert_close_to_theory([m["corrected_demand_per_day"] for m in runs], LAM,
                           "in-stock-corrected demand per day")


# ---------------------------------------------------------------------------------------------
# Theory: bullwhip of the order-up-to rule with forecasts (Chen et al. 2000)
# ---------------------------------------------------------------------------------------------

PERIOD, LEAD_DAYS, RATE = 2.0, 4.0, 25.0  # L = (4 + 2) / 2 = 3 periods; D ~ Poisson(50)
L_PERIODS = (LEAD_DAYS + PERIOD) / PERIOD


def bullwhip_runs(**rule_keys: Any) -> list[float]:
    """8 replications × 2000 days (1000 periods) after a 50-day warm-up, backorders with
    infinite patience, constant lead time, Poisson demand of 50 units per period."""
    level = int(RATE * (LEAD_DAYS + PERIOD))
    sc = scenario(
        orders_per_day=RATE, lead_time_days={"dist": "constant", "value": LEAD_DAYS},
        initial_stock=level, horizon_days=2050, warmup_days=50, replications=8, seed=2000,
        replenishment={"rule": "forecast", "review_period_days": PERIOD, **rule_keys},
    )
    return [m["bullwhip_ratio"] for m in by_policy(sc)["p"]]


@pytest.mark.slow
@pytest.mark.parametrize("p", [4, 8])
def test_bullwhip_moving_average_chen_et_al(p: int) -> None:
    """Moving average over p periods, L = 3: Var(q)/Var(D) = 1 + 2L/p + 2L²/p² (Chen, Drezner,
    Ryan & Simchi-Levi 2000, Management Science 46(3), derived in the module docstring):
    3.625 for p = 4, 2.031 for p = 8. Tolerance 2h over 8 replications."""
    theory = 1 + 2 * L_PERIODS / p + 2 * L_PERIODS**2 / p**2
    assert_close_to_theory(bullwhip_runs(window_days=p * PERIOD), theory,
                           f"bullwhip, moving average p = {p}")


@pytest.mark.slow
def test_bullwhip_exponential_smoothing_chen_et_al() -> None:
    """Exponential smoothing α = 0.3, L = 3: Var(q)/Var(D) = (1 + Lα)² + L²α³/(2 − α) = 3.753
    (Chen, Drezner, Ryan & Simchi-Levi 2000; derived in the module docstring)."""
    alpha = 0.3
    theory = (1 + L_PERIODS * alpha) ** 2 + L_PERIODS**2 * alpha**3 / (2 - alpha)
    assert_close_to_theory(
        bullwhip_runs(method="exponential_smoothing", alpha=alpha), theory,
        "bullwhip, exponential smoothing")


def test_bullwhip_is_undefined_without_periodic_review() -> None:
    m = simulate(scenario(horizon_days=50), "p", 0).metrics
    assert math.isnan(m["w"]["bullwhip_ratio"]) and math.isnan(m["all"]["bullwhip_ratio"])


# ---------------------------------------------------------------------------------------------
# Metamorphic
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("notify", [0.0, 0.4])
def test_a_larger_capture_share_never_lowers_the_capture_rate(notify: float) -> None:
    """Under common random numbers the same customers are refused whatever the share (base
    stock does not read the records), and a larger share records a superset of them: the
    capture rate never falls, replication by replication."""
    shares = [0.0, 0.1, 0.35, 0.7, 1.0]
    policies = [{"name": f"c{i}", "availability": "out_of_stock", "notify_me_share": notify}
                for i in range(len(shares))]
    rates = []
    for share in shares:
        sc = scenario(orders_per_day=5, order_up_to=4, horizon_days=200, warmup_days=10,
                      replications=4, seed=7, policies=policies[:1],
                      product={"lost_demand_recorded": share})
        rates.append([m["demand_capture_rate"] for m in by_policy(sc)["c0"]])
    rates_arr = np.array(rates)
    assert (np.diff(rates_arr, axis=0) >= 0).all(), rates_arr
    assert (rates_arr[-1] == 1.0).all() and (rates_arr[0] < 0.95).all()


# ---------------------------------------------------------------------------------------------
# The spiral down and its cure (scenarios/spiral-down.toml)
# ---------------------------------------------------------------------------------------------

FORECAST = SERIES.index("forecast_per_day")
SPIRAL = Path(__file__).resolve().parents[1] / "scenarios" / "spiral-down.toml"


@functools.cache
def spiral_final_forecasts() -> dict[str, list[float]]:
    """Each replication's forecast averaged over its last 56 days, by policy."""
    out: dict[str, list[float]] = {}
    for r in run_replications(load_scenario(SPIRAL), jobs=JOBS):
        series = r.series["gadget"][:, FORECAST]
        out.setdefault(r.policy, []).append(float(series[r.days > r.days[-1] - 56].mean()))
    return out


def test_spiral_down_forecasts_from_out_of_stock_sales_fall() -> None:
    """The true rate is 20 a day. Forecasting from recorded sales under out-of-stock drives the
    forecast down (Cooper, Homem-de-Mello & Kleywegt 2006): its final forecast lies below 20 by
    more than its interval, and below the backorder policy's under common random numbers."""
    f = spiral_final_forecasts()
    mean, half = ci(f["out-of-stock"])
    assert mean + 2 * half < 20 * 0.85, (mean, half)
    d = np.array(f["out-of-stock"]) - np.array(f["backorder"])
    dm, dh = ci(d)
    assert dm + 2 * dh < 0


@pytest.mark.parametrize("policy", ["backorder", "out-of-stock-corrected"])
def test_spiral_down_disappears_with_records_of_every_order_or_the_corrected_estimator(
        policy: str) -> None:
    """With backorders (recorded = true) or the in-stock-corrected estimator (unbiased for
    Poisson arrivals by PASTA), the final forecast stays within its interval of the true 20."""
    assert_close_to_theory(spiral_final_forecasts()[policy], 20.0, f"final forecast, {policy}")


# ---------------------------------------------------------------------------------------------
# The new keys validate like every other
# ---------------------------------------------------------------------------------------------

BULLWHIP = SPIRAL.with_name("bullwhip.toml")


def broken_spiral(tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    text = SPIRAL.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "spiral.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path, text.replace(old, new)


@pytest.mark.parametrize(("old", "new", "key_path", "says"), [
    ('method = "moving_average"', 'method = "moving_avg"',
     "products[gadget].replenishment.method", "did you mean 'moving_average'?"),
    ('estimator = "recorded"', 'estimator = "recordd"',
     "products[gadget].replenishment.estimator", "did you mean 'recorded'?"),
    ("window_days = 28", "windows_days = 28",
     "products[gadget].replenishment.windows_days", "did you mean 'window_days'?"),
    ("initial_stock = 420", "initial_stock = 420\nlost_demand_recorded = 1.5",
     "products[gadget].lost_demand_recorded", "1"),
    ("initial_stock = 420", "initial_stock = 420\nlost_demand_recordd = 0.5",
     "products[gadget].lost_demand_recordd", "did you mean 'lost_demand_recorded'?"),
    ("window_days = 28", "window_days = 30",
     "products[gadget].replenishment", "whole number of review periods (7 days): e.g. 28 or 35"),
    ("window_days = 28", "window_days = 28\nalpha = 0.2",
     "products[gadget].replenishment", "alpha is for method 'exponential_smoothing'"),
    ("review_period_days = 7", "review_period_days = 0",
     "products[gadget].replenishment", "needs review_period_days > 0"),
    ('estimator = "in_stock_corrected"', 'estimator = "corrected"',
     "policies[out-of-stock-corrected].replenishment.gadget", "in_stock_corrected"),
])
def test_a_bad_forecast_or_capture_key_is_located_and_explained(
        tmp_path: Path, old: str, new: str, key_path: str, says: str) -> None:
    from stockout.scenario.errors import ScenarioError

    path, _ = broken_spiral(tmp_path, old, new)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    hits = [p for p in caught.value.problems if p.key_path.startswith(key_path)]
    assert hits, str(caught.value)
    assert any(says in p.message for p in hits), str(caught.value)
    assert all(p.file == str(path) and p.line for p in hits)


def test_a_bad_forecast_key_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path, _ = broken_spiral(tmp_path, 'method = "moving_average"', 'method = "moving_avg"')
    done = subprocess.run([sys.executable, "-m", "stockout", "validate", str(path)],
                          capture_output=True, text=True,
                          env={**os.environ, "STOCKOUT_DEBUG": ""})
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    said = done.stdout + done.stderr  # validate lists the problems on stdout
    assert "products[gadget].replenishment.method" in said
    assert "did you mean 'moving_average'?" in said


# ---------------------------------------------------------------------------------------------
# The bullwhip teaching scenario (scenarios/bullwhip.toml)
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_bullwhip_scenario_shorter_memory_swings_orders_more() -> None:
    """Its claim: with L = 3 review periods, the moving average over p weeks gives
    1 + 2L/p + 2L²/p² (8.5, 3.6, 2.0 for p = 2, 4, 8) and smoothing with α = 0.3 gives
    (1 + 3α)² + 9α³/(2 − α) (Chen et al. 2000); the shorter the window, the larger the ratio,
    each paired difference significant under common random numbers. Read from summary.csv's
    table, as a user would."""
    from stockout import api

    res = api.run(load_scenario(BULLWHIP), jobs=JOBS)
    reps = res.replications[res.replications["product"] == "all"]
    by = {p: reps[reps.policy == p].sort_values("replication")["bullwhip_ratio"].to_numpy()
          for p in ("ma-2-weeks", "ma-4-weeks", "ma-8-weeks", "smoothing-0.3")}
    for policy, p in (("ma-2-weeks", 2), ("ma-4-weeks", 4), ("ma-8-weeks", 8)):
        assert_close_to_theory(by[policy], 1 + 6 / p + 18 / p**2, policy)
    assert_close_to_theory(by["smoothing-0.3"], (1 + 0.9) ** 2 + 9 * 0.027 / 1.7, "smoothing")
    for short, long in (("ma-2-weeks", "ma-4-weeks"), ("ma-4-weeks", "ma-8-weeks")):
        d, h = ci(by[short] - by[long])
        assert d - 2 * h > 0, (short, long, d, h)
    s = res.summary
    assert set(s[s.metric == "bullwhip_ratio"].policy) == set(by)


# ---------------------------------------------------------------------------------------------
# The metrics flow to the results folder and the report
# ---------------------------------------------------------------------------------------------


def test_results_and_report_show_what_the_data_shows(tmp_path: Path) -> None:
    """summary.csv and replications.csv carry the new metrics, timeseries.csv the demand
    series, and the report a "what the data shows" section with its figure."""
    import pandas as pd

    from stockout import api

    sc = api.with_overrides(load_scenario(SPIRAL), replications=2, horizon_days=120)
    folder = api.run(sc, jobs=1).save(tmp_path / "out")
    summary = pd.read_csv(folder / "summary.csv")
    for metric in ("true_demand_per_day", "recorded_demand_units", "demand_capture_rate",
                   "corrected_demand_per_day", "bullwhip_ratio"):
        assert (summary.metric == metric).any(), metric
    ts = pd.read_csv(folder / "timeseries.csv")
    assert {"true_demand_per_day", "recorded_demand_per_day", "forecast_per_day"} <= set(
        ts.series)
    html = (folder / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="demand-data"'):]
    section = section[: section.index("</section>")]
    assert "What the data shows" in section and "Demand capture rate" in section
    assert 'class="chart"' in section


def test_a_sweep_carries_the_demand_metrics(tmp_path: Path) -> None:
    """Sweeping the captured share: sweep.csv holds the demand metrics per point, and the
    capture rate of out-of-stock rises with the share (to 1 when everything is captured)."""
    import pandas as pd

    path, _ = broken_spiral(tmp_path, "horizon_days = 400", "horizon_days = 150")
    done = subprocess.run(
        [sys.executable, "-m", "stockout", "sweep", str(path), "--reps", "2", "--no-report",
         "--vary", "products.gadget.lost_demand_recorded=0,1", "--metric",
         "demand_capture_rate", "--results-root", str(tmp_path / "results")],
        capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / "results" / "spiral-down-sweep").iterdir()
    sweep = pd.read_csv(folder / "sweep.csv")
    rows = sweep[(sweep.metric == "demand_capture_rate") & (sweep["product"] == "all")
                 & (sweep.policy == "out-of-stock")].sort_values(
                     "products.gadget.lost_demand_recorded")
    assert rows["mean"].iloc[0] < 1.0 and rows["mean"].iloc[1] == 1.0
    assert {"corrected_demand_per_day", "bullwhip_ratio", "recorded_demand_units"} <= set(
        sweep.metric)


# ---------------------------------------------------------------------------------------------
# A hand-computed timeline
# ---------------------------------------------------------------------------------------------


def micro(availability: str, share: float = 0.0) -> dict[str, float]:
    """2 units on hand; unit orders on days 1, 2, 3, 4 (no random demand); 5 units delivered
    on day 6 (rule 'scheduled'); horizon 10, no warm-up."""
    sc = scenario(
        orders_per_day=0, initial_stock=2, availability=availability, horizon_days=10,
        replenishment={"rule": "scheduled", "deliveries": [{"day": 6, "quantity": 5}]},
        product={"lost_demand_recorded": share,
                 "demand": {"scripted_orders": [{"day": d} for d in (1, 2, 3, 4)]}},
    )
    return simulate(sc, "p", 0).metrics["w"]


def test_micro_out_of_stock_timeline() -> None:
    """Days 1, 2 sell (stock 0 from day 2); days 3, 4 meet "out of stock". In stock (0, 2] and
    (6, 10]: 6 days; recorded: the 2 sales (+ the 2 visits when every visit is captured, but
    those arrived out of stock: not in the corrected estimate)."""
    m = micro("out_of_stock")
    assert (m["recorded_demand_units"], m["demand_capture_rate"]) == (2, 0.5)
    assert m["true_demand_per_day"] == pytest.approx(0.4)
    assert m["corrected_demand_per_day"] == pytest.approx(2 / 6)
    m = micro("out_of_stock", share=1.0)
    assert (m["recorded_demand_units"], m["demand_capture_rate"]) == (4, 1.0)
    assert m["corrected_demand_per_day"] == pytest.approx(2 / 6)


def test_micro_backorder_timeline() -> None:
    """Days 3, 4 are backordered (recorded, out of stock); day 6 the delivery ships both and
    leaves 3: in stock (0, 2] and (6, 10] again."""
    m = micro("backorder")
    assert (m["recorded_demand_units"], m["demand_capture_rate"]) == (4, 1.0)
    assert m["corrected_demand_per_day"] == pytest.approx(2 / 6)
