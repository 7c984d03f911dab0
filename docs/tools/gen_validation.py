"""Generate docs/validation.md: simulated values next to the closed forms it states.

    python docs/tools/gen_validation.py     # runs the simulations (about a minute on 2 cores)

Each row is the mean over replications with its 95% Student-t interval, and the theoretical
value; "within" says whether the theory lies within 2 half-widths of the mean (the tolerance of
the test suite, tests/test_theory.py). Everything the theory does not have is switched off.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import integrate, stats

from stockout import api

OUT = Path(__file__).resolve().parents[1] / "validation.md"

#: The formulas and the tolerance rule, as written in docs/validation.md.
CLOSED_FORMS = """
## The closed forms

Notation: customers arrive as a Poisson process at rate λ per day and order one unit each; L is
the lead time of a replenishment order (independent from order to order, so orders may cross);
a = λ·E[L] and N ~ Poisson(a). Each case starts with on hand = S (or r + Q) and nothing on order,
and compares time averages over (warm-up, horizon].

- **Base stock S with backorders, continuous review** (one unit ordered per unit demanded).
  Palm's theorem: the units on order are Poisson(a) for *any* lead-time distribution, so
  `fill_rate` = P(N ≤ S − 1) (an arriving customer sees the time average, PASTA);
  `avg_backlog_units` = E[(N − S)⁺]; `avg_on_hand` = E[(S − N)⁺] = S − a + E[(N − S)⁺];
  `mean_wait_days` (over orders that waited) = E[(N − S)⁺] / (λ · (1 − fill rate)) by Little's law.
- **Base stock S with lost sales.** The units on order form an Erlang loss system M/G/S/S,
  insensitive to the lead-time distribution: lost share = B(S, a), Erlang's B with B(0, a) = 1,
  B(k, a) = a·B(k−1, a) / (k + a·B(k−1, a)); `fill_rate` = 1 − B(S, a);
  `avg_on_hand` = S − a·(1 − B(S, a)).
- **Make-to-order on one line.** Each order makes one unit, first come first served. A constant
  production time d = 1/capacity is an M/D/1 queue with ρ = λd < 1: mean wait in the queue
  Wq = ρd / (2(1 − ρ)); order to shipment W = Wq + d; units waiting or in production = λW
  (Little). Exponential production times with mean 1/μ give M/M/1: W = 1/(μ − λ).
- **(r, Q) with backorders, constant lead time.** The inventory position is uniform on
  {r + 1, …, r + Q} and the net inventory is the position minus D ~ Poisson(λL):
  `avg_on_hand` = (1/Q) Σ_{y=r+1}^{r+Q} E[(y − D)⁺], `avg_backlog_units` = (1/Q) Σ E[(D − y)⁺],
  orders per day = λ/Q, and cost per day = K·λ/Q + h·(average on hand) + p·(average backlog).
- **Periodic review (R, S) with backorders, constant lead time.** Reviews at days 0, R, 2R, …
  raise the position to S; orders do not cross, so a time u into a review cycle the net inventory
  is S − D(L + u) with D(t) ~ Poisson(λt) and u uniform on [0, R): each average is the mean over u
  of the base-stock expression with λ(L + u) in place of a, and orders per day = 1/R (when demand
  in a period is almost never zero).
- **Two locations in series** (a store replenished from a warehouse, set up from Python with
  `Model.add_location`): the store runs base stock S with backorders, and its lead time is the
  transit when the warehouse always has stock, or the warehouse's supplier lead time plus the
  transit when the warehouse holds nothing and orders each transfer from its supplier (make to
  order); with constant times, `fill_rate` at the store = P(N ≤ S − 1) with a = λ·(that lead
  time).
- **Newsvendor** (one delivery of Q before a season of demand D; price p, unit cost c, salvage
  value s per unit left over): expected profit = p·E[min(D, Q)] + s·E[(Q − D)⁺] − c·Q, and the
  best Q is the smallest with P(D ≤ Q) ≥ (p − c)/(p − s), the critical fractile.

## How the tolerance is set

Each case runs R independent replications and computes the mean of the metric and the half-width
h of its 95% Student-t interval. The test passes when |mean − theory| ≤ 2h, about four standard
errors: a correct simulator fails it about once in 30,000 runs, while an off-by-one in S or r moves
most of these metrics by several h. A tolerance is never widened to make a test pass: a miss means
a convention differs, and is found.
"""
JOBS = 2


def scenario(name: str, *, lam: float, rule: dict[str, Any], lead: dict[str, Any],
             policies: list[dict[str, Any]], initial: int, horizon: float = 2050,
             warmup: float = 50, reps: int = 10, capacity: float | None = None,
             production: dict[str, Any] | None = None,
             holding: float = 0.0, backorder_cost: float = 0.0,
             unit_cost: float = 0.0) -> api.Scenario:
    supplier: dict[str, Any] = {"id": "s", "lead_time_days": lead}
    if capacity is not None:
        supplier["capacity_per_day"] = capacity
    if production is not None:
        supplier["production_time_days"] = production
    return api.load({
        "scenario": {"name": name, "horizon_days": horizon, "warmup_days": warmup,
                     "replications": reps, "seed": 2024},
        "products": [{"id": "w", "price": 1.0, "unit_cost": unit_cost, "initial_stock": initial,
                      "holding_cost_per_day": holding,
                      "backorder_cost_per_day": backorder_cost,
                      "demand": {"orders_per_day": lam},
                      "replenishment": {**rule, "supplier": "s"}}],
        "suppliers": [supplier],
        "policies": policies,
    })


def ci(values: np.ndarray) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean()), float(half)


def excess(mean: float, level: int) -> float:
    k = np.arange(0, max(level, 0))
    return mean - level + float(np.sum((level - k) * stats.poisson.pmf(k, mean)))


def erlang_b(servers: int, load: float) -> float:
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


Row = tuple[str, str, float, float, float]


def base_stock_rows() -> list[Row]:
    lam, lead, s = 5.0, 2.0, 12
    a = lam * lead
    rows: list[Row] = []
    for label, dist in (("constant", {"dist": "constant", "value": lead}),
                        ("gamma cv 2", {"dist": "gamma", "mean": lead, "cv": 2.0})):
        sc = scenario("palm", lam=lam, rule={"rule": "base_stock", "order_up_to": s}, lead=dist,
                      initial=s, policies=[{"name": "b", "availability": "backorder"},
                                           {"name": "l", "availability": "out_of_stock"}])
        reps = api.run(sc, jobs=JOBS).replications.query("product == 'w'")
        b, lost = reps[reps.policy == "b"], reps[reps.policy == "l"]
        case = f"base stock S = {s}, λ = {lam:g}, E[L] = {lead:g} ({label})"
        fill = stats.poisson.cdf(s - 1, a)
        back = excess(a, s)
        rows += [
            (f"Palm: {case}, backorders", "fill_rate", *ci(b.fill_rate), fill),
            (f"Palm: {case}, backorders", "avg_backlog_units", *ci(b.avg_backlog_units), back),
            (f"Palm: {case}, backorders", "avg_on_hand", *ci(b.avg_on_hand), s - a + back),
            (f"Palm: {case}, backorders", "mean_wait_days", *ci(b.mean_wait_days),
             back / (lam * (1 - fill))),
            (f"Erlang loss: {case}, lost sales", "fill_rate", *ci(lost.fill_rate),
             1 - erlang_b(s, a)),
            (f"Erlang loss: {case}, lost sales", "avg_on_hand", *ci(lost.avg_on_hand),
             s - a * (1 - erlang_b(s, a))),
        ]
    return rows


def md1_rows() -> list[Row]:
    lam, capacity = 1.6, 2.0
    d = 1 / capacity
    rho = lam * d
    sc = scenario("md1", lam=lam, rule={"rule": "make_to_order"},
                  lead={"dist": "constant", "value": 0}, initial=0, capacity=capacity,
                  horizon=4050, policies=[{"name": "b", "availability": "backorder"}])
    reps = api.run(sc, jobs=JOBS).replications.query("product == 'w'")
    w = rho * d / (2 * (1 - rho)) + d
    case = f"make-to-order M/D/1, λ = {lam:g}, capacity {capacity:g}/day (ρ = {rho:g})"
    return [
        (case, "mean_wait_days", *ci(reps.mean_wait_days), w),
        (case, "avg_backlog_units", *ci(reps.avg_backlog_units), lam * w),
    ]


def mm1_rows() -> list[Row]:
    """Exponential unit times (``production_time_days``): M/M/1, W = 1/(mu - lambda)."""
    lam, d = 1.6, 0.5
    rho = lam * d
    sc = scenario("mm1", lam=lam, rule={"rule": "make_to_order"},
                  lead={"dist": "constant", "value": 0}, initial=0,
                  production={"dist": "exponential", "mean": d},
                  horizon=4050, policies=[{"name": "b", "availability": "backorder"}])
    reps = api.run(sc, jobs=JOBS).replications.query("product == 'w'")
    w = 1 / (1 / d - lam)
    case = f"make-to-order M/M/1, λ = {lam:g}, mean unit time {d:g} days (ρ = {rho:g})"
    return [
        (case, "mean_wait_days", *ci(reps.mean_wait_days), w),
        (case, "avg_backlog_units", *ci(reps.avg_backlog_units), lam * w),
    ]


def rq_rows() -> list[Row]:
    lam, lead, r, q, k, h, p = 4.0, 5.0, 11, 95, 100.0, 0.10, 1.00
    sc = scenario("rq", lam=lam, rule={"rule": "r_Q", "reorder_point": r, "order_quantity": q,
                                       "order_cost": k},
                  lead={"dist": "constant", "value": lead}, initial=r + q, holding=h,
                  backorder_cost=p, horizon=4030, warmup=30,
                  policies=[{"name": "b", "availability": "backorder"}])
    reps = api.run(sc, jobs=JOBS).replications.query("product == 'w'")
    n = np.arange(0, 400)
    pmf = stats.poisson.pmf(n, lam * lead)
    ys = np.arange(r + 1, r + q + 1)[:, None]
    on_hand = float(np.mean(np.sum(np.maximum(ys - n, 0) * pmf, axis=1)))
    backlog = float(np.mean(np.sum(np.maximum(n - ys, 0) * pmf, axis=1)))
    span = 4000.0
    cost = (reps.ordering_cost + reps.storage_cost + reps.backlog_cost) / span
    case = f"(r, Q) = ({r}, {q}), λ = {lam:g}, L = {lead:g}, K = {k:g}, h = {h:g}, p = {p:g}"
    return [
        (case, "avg_on_hand", *ci(reps.avg_on_hand), on_hand),
        (case, "avg_backlog_units", *ci(reps.avg_backlog_units), backlog),
        (case, "cost per day", *ci(cost), k * lam / q + h * on_hand + p * backlog),
    ]


def periodic_rows() -> list[Row]:
    """(R, S): reviews at days 0, R, 2R, ...; after each the position is S, orders do not cross,
    so at kR + L + u the net inventory is S − D(L + u), u uniform over a cycle."""
    lam, lead, period, s, k = 20.0, 5.0, 10.0, 300, 1.0
    sc = scenario("periodic", lam=lam, rule={"rule": "periodic", "order_up_to": s,
                                             "review_period_days": period, "order_cost": k},
                  lead={"dist": "constant", "value": lead}, initial=s, horizon=2020, warmup=20,
                  policies=[{"name": "b", "availability": "backorder"}])
    reps = api.run(sc, jobs=JOBS).replications.query("product == 'w'")

    def average(f: Any) -> float:  # (1/R) ∫_0^R f(λ(L + u)) du
        return integrate.quad(lambda u: f(lam * (lead + u)), 0.0, period, limit=200)[0] / period

    backlog = average(lambda m: excess(m, s))
    case = f"periodic review (R, S) = ({period:g}, {s}), λ = {lam:g}, L = {lead:g}"
    return [
        (case, "avg_on_hand", *ci(reps.avg_on_hand), average(lambda m: excess(m, s) + s - m)),
        (case, "avg_backlog_units", *ci(reps.avg_backlog_units), backlog),
        (case, "fill_rate", *ci(reps.fill_rate),
         average(lambda m: float(stats.poisson.cdf(s - 1, m)))),
        (case, "orders per day", *ci(reps.ordering_cost / k / 2000.0),
         -math.expm1(-lam * period) / period),
    ]


def periodic_no_warmup_rows() -> list[Row]:
    """(R, S) with no warm-up, starting empty: the window (0, nR] holds the n reviews R, ...,
    nR (the review of day 0 belongs before it), and the one at kR orders the demand of
    ((k − 1)R, kR]: E[orders] = n(1 − e^{−λR}), E[units bought] = λnR."""
    lam, period, n, s = 0.2, 5.0, 12, 5
    sc = scenario("periodic-no-warmup", lam=lam,
                  rule={"rule": "periodic", "order_up_to": s, "review_period_days": period,
                        "order_cost": 1.0},
                  lead={"dist": "constant", "value": 1.0}, initial=0, horizon=n * period,
                  warmup=0, reps=400, unit_cost=1.0,
                  policies=[{"name": "b", "availability": "backorder"}])
    reps = api.run(sc, jobs=JOBS).replications.query("product == 'w'")
    case = (f"periodic review, no warm-up: (R, S) = ({period:g}, {s}), λ = {lam:g}, "
            f"n = {n} periods, 400 replications")
    return [
        (case, "replenishment orders", *ci(reps.ordering_cost), -n * math.expm1(-lam * period)),
        (case, "units bought", *ci(reps.purchase_cost), lam * n * period),
    ]


def newsvendor_rows() -> list[Row]:
    """The bundled newsvendor scenario: one delivery of Q on day 0, D ~ Poisson(900), p = 50,
    c = 20, salvage s = 0; E[gross profit] = p·E[min(D, Q)] + s·E[(Q − D)+] − c·Q."""
    root = Path(__file__).resolve().parents[2]
    res = api.run(api.load(root / "scenarios" / "newsvendor-season.toml"), jobs=JOBS)
    reps = res.replications.query("product == 'all'")
    k = np.arange(0, 2000)
    pmf = stats.poisson.pmf(k, 900)
    rows: list[Row] = []
    for policy, q in (("buy-850", 850), ("buy-907", 907), ("buy-1000", 1000)):
        theory = 50 * np.sum(np.minimum(k, q) * pmf) - 20 * q
        profit = reps.query("policy == @policy").gross_profit
        rows.append((f"newsvendor, Q = {q} (`{policy}`), salvage 0, 40 replications",
                     "gross_profit", *ci(profit), float(theory)))
    return rows


def two_location_rows() -> list[Row]:
    """A store (base stock S, transit 1 day) supplied by the main location: ample stock there
    (lead time 1), or none and make to order from a supplier 3 days away (lead time 4)."""
    from stockout.model import simulate
    from stockout.policies.replenishment import OrderUpTo
    from stockout.scenario.load import scenario_from_dict

    rows: list[Row] = []
    for label, stock, rule, S, lead in (
        ("ample warehouse", 10**7, {"rule": "none"}, 25, 1.0),
        ("empty make-to-order warehouse, supplier lead 3", 0,
         {"rule": "make_to_order", "supplier": "maker"}, 85, 4.0),
    ):
        data = {
            "scenario": {"name": "two-locations", "horizon_days": 1500, "warmup_days": 30,
                         "seed": 11},
            "products": [{"id": "sku", "price": 10, "initial_stock": stock,
                          "demand": {"orders_per_day": 20}, "replenishment": rule}],
            "suppliers": [{"id": "maker", "lead_time_days": {"dist": "constant", "value": 3}}],
            "policies": [{"name": "backorder", "availability": "backorder"}],
        }

        def store(model: Any, S: int = S) -> None:
            model.add_location("store", "sku", OrderUpTo(S), 1.0, initial_stock=S)

        fills = np.array([
            simulate(scenario_from_dict(data), "backorder", r, processes=[store])
            .metrics["sku@store"]["fill_rate"] for r in range(10)
        ])
        rows.append((f"two locations: store S = {S}, λ = 20, transit 1, {label}",
                     "fill_rate", *ci(fills),
                     float(stats.poisson.cdf(S - 1, 20 * lead))))
    return rows


def render(rows: list[Row]) -> str:
    lines = [
        "<!-- GENERATED by docs/tools/gen_validation.py (runs the simulations): do not edit. -->",
        "# Validation: simulated against theory",
        "",
        "Each row runs stockout on a scenario where inventory or queueing theory has an exact",
        "answer (see [background.md](background.md) and the formulas in the test suite,",
        "`tests/test_theory.py`), with everything the theory does not have switched off: no churn,",
        "seasonality, disruptions or caps; unit Poisson demand; infinite patience for backorders.",
        "*Simulated* is the mean over 10 replications (unless the case says otherwise) with its",
        "95% confidence interval; *within*",
        "says whether the theoretical value lies within 2 half-widths of that mean (the tolerance",
        "of the tests). Regenerate with `python docs/tools/gen_validation.py`.",
        *CLOSED_FORMS.splitlines(),
        "",
        "## Simulated against theory",
        "",
        "| case | metric | simulated | 95% CI | theory | within |",
        "| --- | --- | ---: | ---: | ---: | :---: |",
    ]
    for case, metric, m, half, theory in rows:
        ok = "yes" if abs(m - theory) <= 2 * half + 1e-12 else "**no**"
        lines.append(f"| {case} | `{metric}` | {m:.4f} | ± {half:.4f} | {theory:.4f} | {ok} |")
    lines += [
        "",
        "Sources: Palm (1938); Feeney & Sherbrooke (1966); Zipkin (2000), *Foundations of",
        "Inventory Management* §6–7; Erlang, Sevastyanov (1957) for insensitivity; Smith (1977);",
        "Pollaczek–Khinchine for M/D/1 and M/M/1; Hadley & Whitin (1963) §5 and Zipkin (2000)",
        "§7.4 for periodic review; the newsvendor's expected profit",
        "p·E[min(D, Q)] + s·E[(Q − D)+] − c·Q for the one-season rows.",
        "",
        "Not in the table, because they are exact rather than statistical: quotes made while a",
        "random outage or lane closure is in progress, which assume its expected remaining",
        "duration E[D − a | D > a] (or its percentile), are checked against hand-computed",
        "values for constant, uniform and exponential durations in",
        "`tests/test_random_window_quotes.py`, as is the contrast it makes over many runs:",
        "closures of constant length keep quotes on time, exponential ones of the same mean do",
        "not, and the late deliveries churn customers.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    rows = (base_stock_rows() + md1_rows() + mm1_rows() + rq_rows() + periodic_rows()
            + periodic_no_warmup_rows() + two_location_rows() + newsvendor_rows())
    OUT.write_text(render(rows), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
