"""``stockout.optimize`` against known optima (THEORY: "Optimal stock levels").

Each test runs the real simulator on a scenario the theory covers exactly (Poisson demand of one
unit per order, no churn, infinite patience for backorders, price = unit cost so gross_profit is
minus the costs the theory counts) and checks the procedure's own promise: the selected
candidate's *exact* objective is within the indifference zone δ of the exact optimum's (and,
with a constraint, the selection is not unacceptable: it violates the constraint by at most its
tolerance).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy import stats

import stockout

LAM, LEAD = 2.0, 5.0  # orders per day, constant lead time: lead-time demand N ~ Poisson(10)
A = LAM * LEAD


def _scenario(rule: dict[str, Any], *, horizon: float, warmup: float, availability: str,
              holding: float = 1.0, backorder: float = 0.0, **product: Any) -> stockout.Scenario:
    return stockout.load({
        "scenario": {"name": "theory", "horizon_days": horizon, "warmup_days": warmup,
                     "replications": 5, "seed": 11},
        "products": [{"id": "w", "price": 10.0, "unit_cost": 10.0,
                      "holding_cost_per_day": holding, "backorder_cost_per_day": backorder,
                      "initial_stock": 10, "demand": {"orders_per_day": LAM},
                      "replenishment": {**rule, "supplier": "s"}, **product}],
        "suppliers": [{"id": "s", "lead_time_days": {"dist": "constant", "value": LEAD}}],
        "policies": [{"name": "p", "availability": availability}],
    })


def _selected(result: Any, *paths: str) -> tuple[int, ...]:
    row = result.optimum.iloc[0]
    assert bool(row["feasible"]) and bool(row["guaranteed"])
    return tuple(int(row[p]) for p in paths)


def base_stock_cost(s: int, h: float, b: float) -> float:
    """cost(S) = h E[(S − N)+] + b E[(N − S)+] per day, N ~ Poisson(a) (Palm; Zipkin §7.2)."""
    n = np.arange(0, 200)
    p = stats.poisson.pmf(n, A)
    return float(h * (p * np.maximum(s - n, 0)).sum() + b * (p * np.maximum(n - s, 0)).sum())


def test_base_stock_with_backorders_finds_the_critical_fractile() -> None:
    h, b, days = 1.0, 9.0, 300.0
    best = int(stats.poisson.ppf(b / (b + h), A))  # smallest S with P(N <= S) >= b/(b+h)
    assert best == 14
    delta = 30.0  # objective units: 0.1 a day over 300 days
    scenario = _scenario({"rule": "base_stock", "order_up_to": 10}, horizon=days + 30,
                         warmup=30, availability="backorder", holding=h, backorder=b)
    path = "products.w.replenishment.order_up_to"
    result = stockout.optimize(scenario, [f"{path}=4..24"], indifference=delta)
    (chosen,) = _selected(result, path)
    gap = (base_stock_cost(chosen, h, b) - base_stock_cost(best, h, b)) * days
    assert gap <= delta, f"S={chosen}: exact cost {gap:.1f} above the optimum's"


def erlang_b(s: int, a: float) -> float:
    """B(0) = 1, B(k) = a B(k−1) / (k + a B(k−1)) (Erlang; Smith 1977)."""
    b = 1.0
    for k in range(1, s + 1):
        b = a * b / (k + a * b)
    return b


def test_lost_sales_fill_rate_constraint_finds_the_smallest_stock() -> None:
    """Minimise storage (on hand S − a(1 − B(S, a)), increasing in S) subject to
    fill_rate = 1 − B(S, a) ≥ 0.9: the answer is the smallest S meeting the target."""
    target, eps, days = 0.9, 0.01, 200.0
    best = next(s for s in range(100) if 1 - erlang_b(s, A) >= target)
    assert best == 13
    scenario = _scenario({"rule": "base_stock", "order_up_to": 30}, horizon=days + 30,
                         warmup=30, availability="out_of_stock")
    path = "products.w.replenishment.order_up_to"
    delta = 0.5 * days  # storage_cost: half a unit on hand, every day
    result = stockout.optimize(scenario, [f"{path}=2..40"], minimize="storage_cost",
                               subject_to=[f"fill_rate>={target}+-{eps}"],
                               indifference=delta)
    (chosen,) = _selected(result, path)
    assert 1 - erlang_b(chosen, A) >= target - eps  # not unacceptable
    desirable = [s for s in range(100) if 1 - erlang_b(s, A) >= target + eps]

    def on_hand(s: int) -> float:
        return s - A * (1 - erlang_b(s, A))

    assert on_hand(chosen) * days <= min(on_hand(s) for s in desirable) * days + delta
    assert "bisection" in result.optimum.iloc[0]["method"]
    statuses = result.candidates["status"].tolist()
    assert any(s.startswith("bisection") for s in statuses)


def rq_cost(r: int, q: int, k: float, h: float, p: float) -> float:
    """Kλ/Q + h·E[on hand] + p·E[backlog], the position uniform on r+1..r+Q and the net
    inventory IP − Poisson(λL) (Zipkin 2000 §6; Snyder & Shen §5)."""
    n = np.arange(0, 200)
    pmf = stats.poisson.pmf(n, A)
    ys = np.arange(r + 1, r + q + 1)[:, None]
    on_hand = (pmf * np.maximum(ys - n, 0)).sum(axis=1).mean()
    backlog = (pmf * np.maximum(n - ys, 0)).sum(axis=1).mean()
    return k * LAM / q + h * on_hand + p * backlog


def test_r_q_neighbourhood_search_reaches_the_exact_optimum() -> None:
    k, h, p, days = 20.0, 1.0, 9.0, 200.0
    grid = list(itertools.product(range(0, 21), range(1, 16)))
    best = min(grid, key=lambda rq: rq_cost(*rq, k, h, p))
    scenario = _scenario({"rule": "r_Q", "reorder_point": 4, "order_quantity": 3,
                          "order_cost": k}, horizon=days + 30, warmup=30,
                         availability="backorder", holding=h, backorder=p)
    r_path, q_path = ("products.w.replenishment.reorder_point",
                      "products.w.replenishment.order_quantity")
    delta = 0.5 * days
    result = stockout.optimize(scenario, [f"{r_path}=0..20", f"{q_path}=1..15"],
                               indifference=delta, exhaustive=0, jobs=2)
    chosen = _selected(result, r_path, q_path)
    gap = (rq_cost(*chosen, k, h, p) - rq_cost(*best, k, h, p)) * days
    assert gap <= delta, f"(r, Q)={chosen} vs exact optimum {best}: {gap:.1f} worse"
    assert "neighbourhood" in result.optimum.iloc[0]["method"]
    assert len(result.candidates) < len(grid) / 2  # a local search, not an enumeration


def test_newsvendor_with_salvage_value() -> None:
    """Profit p E[min(D, Q)] + s E[(Q − D)+] − c Q; best Q: smallest with
    P(D ≤ Q) ≥ (p − c)/(p − s) (Snyder & Shen §4). D ~ Poisson(λT) over a season of T days."""
    price, cost, salvage, lam, season = 50.0, 20.0, 5.0, 4.0, 50.0
    mean = lam * season
    best = int(stats.poisson.ppf((price - cost) / (price - salvage), mean))

    def profit(q: int) -> float:
        d = np.arange(0, 1000)
        pmf = stats.poisson.pmf(d, mean)
        return float((pmf * (price * np.minimum(d, q) + salvage * np.maximum(q - d, 0))).sum()
                     - cost * q)

    scenario = stockout.load({
        "scenario": {"name": "nv", "horizon_days": season, "warmup_days": 0,
                     "replications": 5, "seed": 5},
        "customers": {"patience_days": {"dist": "constant", "value": 1}},
        "products": [{"id": "c", "price": price, "unit_cost": cost, "salvage_value": salvage,
                      "demand": {"orders_per_day": lam},
                      "replenishment": {"rule": "scheduled",
                                        "deliveries": [{"day": 0, "quantity": 150}]}}],
        "policies": [{"name": "buy", "availability": "out_of_stock"}],
    })
    path = "products.c.replenishment.deliveries.0.quantity"
    delta = 20.0
    result = stockout.optimize(scenario, [f"{path}=150..260..5"], indifference=delta)
    (chosen,) = _selected(result, path)
    grid = range(150, 261, 5)
    assert max(profit(q) for q in grid) - profit(chosen) <= delta, (chosen, best)
