"""Customers simulated per second for a one-product backorder base-stock model (W1), beside the
bare SimPy event loop on the same number of events, in the same invocation.

    python benchmarks/bench_core.py [--days 100000] [--repeat 5]

W1 (issue 7): Poisson arrivals 20/day, constant lead time 5 days, S = 110, backorders, every
metric of the glossary computed. The bare loop is one SimPy process yielding pre-sampled timeouts.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import simpy

from stockout.model.run import simulate
from stockout.scenario.schema import Scenario


def w1(days: float) -> Scenario:
    return Scenario.model_validate({
        "scenario": {"name": "w1", "horizon_days": days, "warmup_days": 10, "seed": 1},
        "products": [{
            "id": "sku", "price": 10, "unit_cost": 4, "holding_cost_per_day": 0.01,
            "initial_stock": 110, "demand": {"orders_per_day": 20},
            "replenishment": {"rule": "base_stock", "order_up_to": 110, "supplier": "s"},
        }],
        "suppliers": [{"id": "s", "lead_time_days": {"dist": "constant", "value": 5}}],
        "policies": [{"name": "backorder", "availability": "backorder"}],
    })


def bare_loop(n_events: int) -> float:
    """Events per second of one SimPy process yielding pre-sampled timeouts."""
    gaps = np.random.default_rng(0).exponential(0.05, n_events).tolist()
    env = simpy.Environment()

    def proc(env: simpy.Environment):
        for g in gaps:
            yield env.timeout(g)

    env.process(proc(env))
    t0 = time.perf_counter()
    env.run()
    return n_events / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    scenario = w1(args.days)
    ratios, rates, bares = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        r = simulate(scenario, "backorder", 0)
        elapsed = time.perf_counter() - t0
        customers = r.metrics["all"]["orders"]
        rate = customers / elapsed
        bare = bare_loop(int(customers))
        rates.append(rate)
        bares.append(bare)
        ratios.append(rate / bare)
    print(
        f"W1 {args.days:.0f} days: {statistics.median(rates):,.0f} customers/s; bare SimPy loop "
        f"{statistics.median(bares):,.0f} events/s; ratio {statistics.median(ratios):.2f} "
        f"(median of {args.repeat})"
    )


if __name__ == "__main__":
    main()
