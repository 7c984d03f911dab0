"""Replications used by ``stockout.optimize`` (KN on paired differences under common random
numbers) against exhaustive evaluation of every candidate at the same precision, and the wall
time of the search on 1 and 2 local workers.

    python benchmarks/bench_optimize.py [--days 300] [--delta 30] [--repeat 2]

The problem is the textbook one of the validation tests: base stock with backorders, Poisson
demand (2 a day), constant lead time (5 days), holding 1 and backorder cost 9 per unit-day,
order-up-to S searched over 4..24 (21 candidates), δ in gross-profit units over the horizon.

"At the same precision" is counted two ways from the first-stage data of every candidate:

* fixed-sample KN: every candidate run to the stage where KN's continuation regions are all
  closed, ``N = max_il h² S²_il / δ²`` (what the procedure would cost without eliminating);
* fixed-sample against the best, with CRN: candidate i run to ``h² S²_{i,b} / δ²``, the stage
  where its region against the best b closes (the least an enumeration can do to resolve every
  candidate to δ, even with common random numbers);
* independent intervals: every candidate run until its own 95% interval has half-width δ/2 (no
  common random numbers), the usual "simulate each level until its mean is precise" enumeration.

Wall times are measured in one invocation, alternating 1 and 2 workers ``--repeat`` times, and
reported as medians with the load average: the machine's 2 cores are shared, so compare the two
figures with each other, not with another run.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import numpy as np
from scipy import stats

import stockout
from stockout.executors import InlineExecutor
from stockout.optimizer.evaluate import PILOT, Evaluator
from stockout.optimizer.kn import eta
from stockout.optimizer.space import Objective, parse_search, resolve_targets

PATH = "products.w.replenishment.order_up_to"


def scenario(days: float) -> stockout.Scenario:
    return stockout.load({
        "scenario": {"name": "bench-opt", "horizon_days": days + 30, "warmup_days": 30,
                     "replications": 10, "seed": 1},
        "products": [{"id": "w", "price": 10, "unit_cost": 10, "holding_cost_per_day": 1,
                      "backorder_cost_per_day": 9, "initial_stock": 10,
                      "demand": {"orders_per_day": 2},
                      "replenishment": {"rule": "base_stock", "order_up_to": 10,
                                        "supplier": "s"}}],
        "suppliers": [{"id": "s", "lead_time_days": {"dist": "constant", "value": 5}}],
        "policies": [{"name": "backorder", "availability": "backorder"}],
    })


def exhaustive_counts(sc: stockout.Scenario, delta: float, n0: int, alpha: float
                      ) -> tuple[int, int, int, int]:
    """(candidates, fixed-sample KN total, against-the-best total, independent-interval total)
    from n0 replications of every candidate."""
    spec = parse_search(f"{PATH}=4..24")
    targets = resolve_targets(sc, [spec], "bench")
    ev = Evaluator(sc, "backorder", targets, Objective(), [], InlineExecutor())
    cands = [(v,) for v in spec.values]
    ev.ensure({(c, PILOT): n0 for c in cands})
    data = np.array([ev.raw((c, PILOT))[:, 0] for c in cands])  # k × n0
    k = len(cands)
    h2 = 2 * eta(alpha, k - 1, n0) * (n0 - 1)
    s2 = max(float(np.var(data[i] - data[j], ddof=1)) for i in range(k) for j in range(k)
             if i != j)
    fixed = k * max(n0, math.ceil(h2 * s2 / delta**2))
    b = int(np.argmax(data.mean(axis=1)))
    paired = sum(max(n0, math.ceil(h2 * float(np.var(data[i] - data[b], ddof=1)) / delta**2))
                 for i in range(k))
    t = float(stats.t.ppf(0.975, n0 - 1))
    indep = sum(max(n0, math.ceil((t * float(np.std(row, ddof=1)) / (delta / 2)) ** 2))
                for row in data)
    return k, fixed, paired, indep


def search(sc: stockout.Scenario, delta: float, jobs: int) -> tuple[float, int, int]:
    started = time.perf_counter()
    result = stockout.optimize(sc, [f"{PATH}=4..24"], indifference=delta, jobs=jobs)
    seconds = time.perf_counter() - started
    row = result.optimum.iloc[0]
    return seconds, int(row["search_replications"]), int(row[PATH])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=300.0)
    parser.add_argument("--delta", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    sc = scenario(args.days)
    k, fixed, paired, indep = exhaustive_counts(sc, args.delta, 10, 0.05)
    times: dict[int, list[float]] = {1: [], 2: []}
    used = chosen = 0
    for _ in range(args.repeat):
        for jobs in (1, 2):
            seconds, used, chosen = search(sc, args.delta, jobs)
            times[jobs].append(seconds)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"candidates: {k}, δ = {args.delta:g}, horizon {args.days:g} days; chosen S = {chosen}"
          " (exact optimum 14)")
    print(f"replications used by the procedure:            {used:>7,}")
    print(f"exhaustive, fixed-sample KN (no elimination):  {fixed:>7,}  "
          f"({fixed / used:.1f}x)")
    print(f"exhaustive, each against the best, CRN:        {paired:>7,}  "
          f"({paired / used:.1f}x)")
    print(f"exhaustive, independent 95% half-width δ/2:    {indep:>7,}  "
          f"({indep / used:.1f}x)")
    print(f"wall time of the search: 1 worker {one:.1f} s, 2 workers {two:.1f} s "
          f"(speed-up {one / two:.2f}x; medians of {args.repeat}; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
