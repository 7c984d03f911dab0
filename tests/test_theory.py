"""Validation against closed forms of inventory and queueing theory (docs/validation.md).

Every test runs seeded replications, computes the mean of a metric and its 95% Student-t half-width
h over the replications, and asserts |mean − theory| ≤ 2h (docs/validation.md, "How the tolerance is
set"). Everything the theory does not have is switched off (no churn, seasonality, spikes,
disruptions or capacity unless stated; patience infinite), the run starts in the stated start state
(on hand = S, or r + Q; nothing on order) and statistics cover (warm-up, horizon].

Notation: λ orders per day of one unit each, L the lead time, a = λ·E[L], N ~ Poisson(a).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest
from conftest import assert_close_to_theory, scenario
from scipy import integrate, optimize, stats

from stockout.experiment import run_replications

JOBS = 2

# ---------------------------------------------------------------------------------------------
# Closed forms
# ---------------------------------------------------------------------------------------------


def expected_excess(mean: float, level: int) -> float:
    """E[(N − level)+] for N ~ Poisson(mean): E[N] − level + E[(level − N)+]."""
    k = np.arange(0, level)
    return mean - level + float(np.sum((level - k) * stats.poisson.pmf(k, mean)))


def expected_shortfall(mean: float, level: int) -> float:
    """E[(level − N)+] for N ~ Poisson(mean)."""
    k = np.arange(0, max(level, 0))
    return float(np.sum((level - k) * stats.poisson.pmf(k, mean)))


def erlang_b(servers: int, load: float) -> float:
    """Erlang B by the recursion B(0, a) = 1, B(k, a) = a·B(k−1, a) / (k + a·B(k−1, a))."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def kruse_p95_given_wait(lam: float, lead: float, S: int) -> float:
    """The 95% quantile of the wait among orders that waited, constant lead time, FIFO:
    P(W > w) = P(Poisson(λ(L − w)) ≥ S) (Kruse 1981), solved for P(W > w | W > 0) = 0.05."""
    p_wait = stats.poisson.sf(S - 1, lam * lead)

    def excess(w: float) -> float:
        return stats.poisson.sf(S - 1, lam * (lead - w)) - 0.05 * p_wait

    return float(optimize.brentq(excess, 0.0, lead))


def metrics_by_policy(sc, product: str = "w") -> dict[str, list[dict[str, float]]]:
    out: dict[str, list[dict[str, float]]] = {}
    for r in run_replications(sc, jobs=JOBS):
        out.setdefault(r.policy, []).append(r.metrics[product])
    return out


def column(runs: list[dict[str, float]], metric: str) -> list[float]:
    return [m[metric] for m in runs]


# ---------------------------------------------------------------------------------------------
# (a), (b): base stock S, continuous review, Poisson unit demand, backorders and lost sales
# ---------------------------------------------------------------------------------------------

LAM, LEAD, S = 5.0, 2.0, 12
LEAD_TIMES = {
    "constant": {"dist": "constant", "value": LEAD},
    "exponential": {"dist": "exponential", "mean": LEAD},
    "gamma-cv2": {"dist": "gamma", "mean": LEAD, "cv": 2.0},
}


@functools.cache
def base_stock_runs(lead: str) -> dict[str, list[dict[str, float]]]:
    """10 replications × 2000 days after a 50-day warm-up (~10,000 orders each) of both the
    backorder and the lost-sales policy, with the same demand (common random numbers)."""
    sc = scenario(
        orders_per_day=LAM,
        order_up_to=S,
        lead_time_days=LEAD_TIMES[lead],
        horizon_days=2050,
        warmup_days=50,
        replications=10,
        seed=20240,
        policies=[
            {"name": "backorder", "availability": "backorder"},
            {"name": "lost", "availability": "out_of_stock"},
        ],
    )
    return metrics_by_policy(sc)


@pytest.mark.parametrize("lead", ["constant", "exponential", "gamma-cv2"])
def test_backorder_base_stock_palm(lead: str) -> None:
    """Palm's theorem: units on order N ~ Poisson(a = λ·E[L]) for any lead-time distribution
    (Palm 1938; Feeney & Sherbrooke 1966; Zipkin 2000 §7.2–7.3). With λ = 5, E[L] = 2, S = 12:
      fill rate (PASTA)               = P(N ≤ S − 1)
      average backlog                 = E[(N − S)+]
      average on hand                 = S − a + E[(N − S)+]
      mean wait of delayed orders     = E[(N − S)+] / (λ·(1 − fill))   (Little)
    Tolerance: 2 × the 95% half-width over 10 replications.
    """
    runs = base_stock_runs(lead)["backorder"]
    a = LAM * LEAD
    fill = stats.poisson.cdf(S - 1, a)
    backlog = expected_excess(a, S)
    assert_close_to_theory(column(runs, "fill_rate"), fill, "fill rate")
    assert_close_to_theory(column(runs, "unit_fill_rate"), fill, "unit fill rate")
    assert_close_to_theory(column(runs, "avg_backlog_units"), backlog, "average backlog")
    assert_close_to_theory(column(runs, "avg_on_hand"), S - a + backlog, "average on hand")
    assert_close_to_theory(
        column(runs, "mean_wait_days"), backlog / (LAM * (1 - fill)), "mean wait of delayed orders"
    )
    # no customer leaves under infinite patience: every order is filled or waits
    for m in runs:
        assert m["lost_orders"] == 0 and m["cancellations"] == 0
        assert m["backorders"] + round(m["fill_rate"] * m["orders"]) == m["orders"]


def test_backorder_base_stock_wait_distribution_constant_lead_time() -> None:
    """Kruse (1981): constant L, FIFO allocation, P(W > w) = P(Poisson(λ(L − w)) ≥ S) for
    0 ≤ w < L. p95_wait_days is the 95% quantile among orders that waited, so it solves
    P(W > w | W > 0) = 0.05, i.e. P(Poisson(λ(L − w)) ≥ S) = 0.05·P(N ≥ S). λ = 5, L = 2, S = 12
    (w ≈ 0.848 days). Tolerance: 2 × the 95% half-width over 10 replications (each replication's
    p95 is over ~3,000 waits)."""
    runs = base_stock_runs("constant")["backorder"]
    w95 = kruse_p95_given_wait(LAM, LEAD, S)
    assert_close_to_theory(column(runs, "p95_wait_days"), w95, "p95 wait of delayed orders")
    # and no wait is ever longer than the lead time (the unit ordered S demands ago is at most L
    # away)
    for m in runs:
        assert m["p95_wait_days"] <= LEAD + 1e-9


@pytest.mark.parametrize("lead", ["constant", "exponential", "gamma-cv2"])
def test_lost_sales_base_stock_erlang(lead: str) -> None:
    """Lost sales base stock: the units on order form an Erlang loss system M/G/S/S, insensitive
    to the lead-time distribution (Erlang; Sevastyanov 1957; Smith 1977). λ = 5, E[L] = 2,
    S = 12, a = 10, tested with constant, exponential and gamma (cv 2) lead times:
      fill rate        = 1 − B(S, a)              (Erlang B)
      average on hand  = S − a·(1 − B(S, a))
      lost share       = B(S, a); no backlog at all.
    Tolerance: 2 × the 95% half-width over 10 replications."""
    runs = base_stock_runs(lead)["lost"]
    a = LAM * LEAD
    b = erlang_b(S, a)
    assert_close_to_theory(column(runs, "fill_rate"), 1 - b, "fill rate")
    assert_close_to_theory(column(runs, "avg_on_hand"), S - a * (1 - b), "average on hand")
    lost_share = [m["lost_orders"] / m["orders"] for m in runs]
    assert_close_to_theory(lost_share, b, "share of orders lost")
    for m in runs:
        assert m["avg_backlog_units"] == 0 and m["backorders"] == 0


# ---------------------------------------------------------------------------------------------
# (c) make-to-order on one production line: M/D/1
# ---------------------------------------------------------------------------------------------


def make_to_order(lam: float, line: dict[str, Any], seed: int) -> list[dict[str, float]]:
    """Unit orders at rate ``lam`` made to order on one line (``line``: the supplier's keys for
    it), lead time 0, no stock; 10 replications of 1500 days after 10 of warm-up. Every order
    waits: none can be filled from stock."""
    sc = scenario(
        orders_per_day=lam,
        order_up_to=0,
        initial_stock=0,
        replenishment={"rule": "make_to_order"},
        supplier=line,
        lead_time_days={"dist": "constant", "value": 0.0},
        horizon_days=1510,
        warmup_days=10,
        replications=10,
        seed=seed,
    )
    runs = metrics_by_policy(sc)["p"]
    for m in runs:
        assert m["fill_rate"] == 0.0, "no order can be filled from stock under make-to-order"
        assert m["backorders"] == m["orders"]
        assert m["avg_on_hand"] == 0.0
    return runs


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_make_to_order_md1(rho: float) -> None:
    """Make-to-order, one line making a unit in d = 1/capacity days, lead time 0, FIFO, no stock:
    M/D/1 (Pollaczek–Khinchine). d = 0.1 (capacity 10/day), λ = 10ρ:
      mean wait in queue Wq = ρ·d / (2(1 − ρ)); order-to-shipment W = Wq + d
      (ρ = 0.5: W = 0.15; ρ = 0.8: W = 0.3), over orders that waited (= all of them: fill 0)
      average units waiting or in production = λ·W (Little).
    Tolerance: 2 × the 95% half-width over 10 replications of 1500 days (7,500–12,000 orders)."""
    d = 0.1
    lam = rho / d
    runs = make_to_order(lam, {"capacity_per_day": 1 / d}, seed=int(rho * 1000))
    w = rho * d / (2 * (1 - rho)) + d
    assert_close_to_theory(column(runs, "mean_wait_days"), w, "M/D/1 mean order-to-shipment")
    assert_close_to_theory(column(runs, "avg_backlog_units"), lam * w, "M/D/1 number in system")


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_make_to_order_mm1(rho: float) -> None:
    """Make-to-order, one line whose time to make a unit is exponential with mean d
    (``production_time_days``), lead time 0, FIFO, unit orders: M/M/1. d = 0.1 (μ = 10/day),
    λ = 10ρ: order-to-shipment W = 1/(μ − λ) = d / (1 − ρ) (ρ = 0.5: W = 0.2; ρ = 0.8: W = 0.5);
    average units waiting or in production L = λ·W = ρ / (1 − ρ) (Little).
    Tolerance: 2 × the 95% half-width over 10 replications of 1500 days."""
    d = 0.1
    lam = rho / d
    runs = make_to_order(lam, {"production_time_days": {"dist": "exponential", "mean": d}},
                         seed=int(rho * 1000) + 1)
    w = d / (1 - rho)
    assert_close_to_theory(column(runs, "mean_wait_days"), w, "M/M/1 mean order-to-shipment")
    assert_close_to_theory(column(runs, "avg_backlog_units"), lam * w, "M/M/1 number in system")


# ---------------------------------------------------------------------------------------------
# (d) continuous review (r, Q) with backorders, constant lead time
# ---------------------------------------------------------------------------------------------


def test_rq_backorders_costs() -> None:
    """Continuous review (r, Q), backorders, constant L (Zipkin 2000 §6; Snyder & Shen §5):
    the inventory position is uniform on {r+1, ..., r+Q}, net inventory = IP − D,
    D ~ Poisson(λL). λ = 4, L = 1.5 (E[D] = 6), r = 4, Q = 5, K = 10, h = 1, p = 5:
      average on hand  = (1/Q) Σ_{y=r+1}^{r+Q} E[(y − D)+]
      average backlog  = (1/Q) Σ_{y=r+1}^{r+Q} E[(D − y)+]
      ordering cost / day = K·λ/Q
      total cost / day = K·λ/Q + h·(average on hand) + p·(average backlog)
    The cost metrics are totals over (warm-up, horizon], divided here by horizon − warm-up.
    Start: on hand r + Q. Tolerance: 2 × the 95% half-width over 10 replications."""
    lam, lead, r, q = 4.0, 1.5, 4, 5
    k_cost, h, p = 10.0, 1.0, 5.0
    horizon, warmup = 2550.0, 50.0
    sc = scenario(
        orders_per_day=lam,
        initial_stock=r + q,
        replenishment={"rule": "r_Q", "reorder_point": r, "order_quantity": q,
                       "order_cost": k_cost},
        lead_time_days={"dist": "constant", "value": lead},
        product={"holding_cost_per_day": h, "backorder_cost_per_day": p},
        horizon_days=horizon,
        warmup_days=warmup,
        replications=10,
        seed=77,
    )
    runs = metrics_by_policy(sc)["p"]
    mean_d = lam * lead
    levels = range(r + 1, r + q + 1)
    on_hand = sum(expected_shortfall(mean_d, y) for y in levels) / q
    backlog = sum(expected_excess(mean_d, y) for y in levels) / q
    span = horizon - warmup
    assert_close_to_theory(column(runs, "avg_on_hand"), on_hand, "(r, Q) average on hand")
    assert_close_to_theory(column(runs, "avg_backlog_units"), backlog, "(r, Q) average backlog")
    assert_close_to_theory(
        [m["ordering_cost"] / span for m in runs], k_cost * lam / q, "(r, Q) ordering cost per day"
    )
    assert_close_to_theory(
        [m["storage_cost"] / span for m in runs], h * on_hand, "(r, Q) holding cost per day"
    )
    assert_close_to_theory(
        [m["backlog_cost"] / span for m in runs], p * backlog, "(r, Q) backorder cost per day"
    )
    total = [(m["ordering_cost"] + m["storage_cost"] + m["backlog_cost"]) / span for m in runs]
    assert_close_to_theory(total, k_cost * lam / q + h * on_hand + p * backlog, "(r, Q) cost/day")
    # every replenishment order is exactly Q (unit demand lands the position exactly on r)
    for m in runs:
        n_orders = m["ordering_cost"] / k_cost
        assert math.isclose(n_orders, round(n_orders))
        assert m["purchase_cost"] == 0.0  # unit_cost 0


# ---------------------------------------------------------------------------------------------
# (e) periodic review (R, S) with backorders, constant lead time
# ---------------------------------------------------------------------------------------------


def periodic_average(lam: float, lead: float, period: float, f) -> float:  # noqa: ANN001
    """(1/R) ∫_0^R f(λ(L + u)) du: the time average, over a review cycle, of a function of the
    Poisson mean of the demand since the last review whose order has arrived."""
    return integrate.quad(lambda u: f(lam * (lead + u)), 0.0, period, limit=200)[0] / period


def test_periodic_review_base_stock() -> None:
    """Periodic review (R, S), backorders, constant L, reviews at days 0, R, 2R, ... (Hadley &
    Whitin 1963 §5; Zipkin 2000 §7.4; Axsäter, *Inventory Control* §5.3). After the review at
    kR the position is S; orders do not cross, so at kR + L + u, 0 <= u < R, the net inventory
    is S − D(L + u), D(x) ~ Poisson(λx), and u is uniform over a cycle:
      average on hand   = (1/R) ∫_0^R E[(S − D(L + u))+] du
      average backlog   = (1/R) ∫_0^R E[(D(L + u) − S)+] du
      fill rate (PASTA) = (1/R) ∫_0^R P(D(L + u) <= S − 1) du
      replenishment orders per day = P(D(R) > 0) / R;  units bought per day = λ
    λ = 20, R = 10, L = 5, S = 300, K = 1, unit cost 1. The window (warm-up, horizon] = (20, 220]
    holds exactly 20 reviews (30, 40, ..., 220): the one at the horizon belongs to it, and it
    buys what was demanded in (210, 220]; then the units bought in the window are the units
    demanded in it. Tolerance: 2 × the 95% half-width over 20 replications (the order count
    does not vary: every review orders, so it must be exact).
    """
    lam, lead, period, S = 20.0, 5.0, 10.0, 300
    horizon, warmup = 220.0, 20.0
    sc = scenario(
        orders_per_day=lam,
        initial_stock=S,
        replenishment={"rule": "periodic", "order_up_to": S, "review_period_days": period,
                       "order_cost": 1.0},
        lead_time_days={"dist": "constant", "value": lead},
        product={"unit_cost": 1.0},
        horizon_days=horizon,
        warmup_days=warmup,
        replications=20,
        seed=4242,
    )
    runs = metrics_by_policy(sc)["p"]
    span = horizon - warmup
    on_hand = periodic_average(lam, lead, period, lambda m: expected_shortfall(m, S))
    backlog = periodic_average(lam, lead, period, lambda m: expected_excess(m, S))
    fill = periodic_average(lam, lead, period, lambda m: stats.poisson.cdf(S - 1, m))
    assert_close_to_theory(column(runs, "avg_on_hand"), on_hand, "(R, S) average on hand")
    assert_close_to_theory(column(runs, "avg_backlog_units"), backlog, "(R, S) average backlog")
    assert_close_to_theory(column(runs, "fill_rate"), fill, "(R, S) fill rate")
    assert_close_to_theory(
        [m["ordering_cost"] / span for m in runs], -math.expm1(-lam * period) / period,
        "(R, S) replenishment orders per day", floor=1e-12,
    )
    assert_close_to_theory(
        [m["purchase_cost"] / span for m in runs], lam, "(R, S) units bought per day"
    )
    # the closed forms: on hand − backlog averages S − λ(L + R/2) over a cycle
    assert math.isclose(on_hand - backlog, S - lam * (lead + period / 2), rel_tol=1e-9)


def test_periodic_review_no_warmup_counts_n_reviews() -> None:
    """With no warm-up the window is (0, H]: n review periods hold n reviews (R, 2R, ..., the
    horizon), as they do with a warm-up; the review of day 0 belongs before it. (R, S) with
    backorders and infinite patience, Poisson unit demand λ, starting empty: the review at kR
    orders the demand of ((k − 1)R, kR], so over the window
      E[orders] = n · P(D(R) > 0) = n (1 − e^{−λR}),   E[units bought] = λ n R.
    Counting the day-0 review too (which orders S) would add 1 order and S units. λ = 0.2,
    R = 5, n = 12, S = 5; 400 replications. Tolerance: 2 × the 95% half-width."""
    from stockout.model import simulate

    lam, period, n, S = 0.2, 5.0, 12, 5
    sc = scenario(
        orders_per_day=lam,
        initial_stock=0,
        replenishment={"rule": "periodic", "order_up_to": S, "review_period_days": period,
                       "order_cost": 1.0},
        product={"unit_cost": 1.0},
        horizon_days=n * period,
        warmup_days=0,
        replications=400,
        seed=1919,
    )
    runs = [simulate(sc, "p", r).metrics["w"] for r in range(400)]
    assert_close_to_theory(column(runs, "ordering_cost"), -n * math.expm1(-lam * period),
                           "(R, S), no warm-up: replenishment orders in n periods")
    assert_close_to_theory(column(runs, "purchase_cost"), lam * n * period,
                           "(R, S), no warm-up: units bought in n periods")


def test_closed_form_arithmetic() -> None:
    """The helpers above against independent arithmetic (so a wrong 'theory' cannot pass):
    E[(N − S)+] by direct summation; Erlang B against its explicit formula
    B(S, a) = (a^S/S!) / Σ_{k≤S} a^k/k!; E[(y−D)+] − E[(D−y)+] = y − E[D]."""
    a = 10.0
    k = np.arange(0, 400)
    pmf = stats.poisson.pmf(k, a)
    assert math.isclose(expected_excess(a, 12), float(np.sum(np.maximum(k - 12, 0) * pmf)),
                        rel_tol=1e-9)
    terms = [a**j / math.factorial(j) for j in range(13)]
    assert math.isclose(erlang_b(12, a), terms[-1] / sum(terms), rel_tol=1e-12)
    for y in range(0, 20):
        assert math.isclose(expected_shortfall(a, y) - expected_excess(a, y), y - a, abs_tol=1e-9)
    w = kruse_p95_given_wait(LAM, LEAD, S)
    p_wait = stats.poisson.sf(S - 1, LAM * LEAD)
    assert math.isclose(stats.poisson.sf(S - 1, LAM * (LEAD - w)), 0.05 * p_wait, rel_tol=1e-6)
