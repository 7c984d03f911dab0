"""A long run: about 10 million customers in one replication, in bounded memory, with progress.

    python benchmarks/bench_long_run.py                  # 100 orders/day for 100,000 days
    python benchmarks/bench_long_run.py --days 10000     # a tenth of it
    python benchmarks/bench_long_run.py --policy oos     # out of stock instead of backorder

One product, a (s, S) rule, a gamma lead time, lognormal patience, churn and acquisition: the
streaming statistics (time-weighted areas, tallies, the bounded wait log and time series) are
all exercised. Every few seconds a line reports the simulated day, customers so far, speed and
resident memory; at the end, the peak RSS (``resource.getrusage``) against the RSS before the
run. Memory must not grow with the horizon: compare ``--days 10000`` with the default.
"""

from __future__ import annotations

import argparse
import resource
import threading
import time
from typing import Any

import psutil

from stockout.model import simulate
from stockout.scenario.load import scenario_from_dict


def scenario(rate: float, days: float) -> dict[str, Any]:
    return {
        "scenario": {"name": "long-run", "horizon_days": days, "warmup_days": 30.0, "seed": 1},
        "customers": {
            "population": 100_000,
            "acquisition_per_day": 2.0,
            "patience_days": {"dist": "lognormal", "mean": 10.0, "cv": 0.6},
            "churn": {"on_stockout": 0.01, "on_cancel": 0.05, "background_per_year": 0.007},
        },
        "products": [{
            "id": "widget", "price": 20.0, "unit_cost": 12.0, "holding_cost_per_day": 0.02,
            "initial_stock": int(rate * 12),
            "demand": {"orders_per_day": rate},
            "replenishment": {"rule": "s_S", "reorder_point": int(rate * 8),
                              "order_up_to": int(rate * 14), "supplier": "acme"},
        }],
        "suppliers": [{"id": "acme", "lead_time_days": {"dist": "gamma", "mean": 7, "cv": 0.4}}],
        "policies": [{"name": "bo", "availability": "backorder", "max_quoted_wait_days": 20},
                     {"name": "oos", "availability": "out_of_stock"}],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="orders per day")
    parser.add_argument("--days", type=float, default=100_000.0, help="horizon in days")
    parser.add_argument("--policy", default="bo", choices=["bo", "oos"])
    parser.add_argument("--every", type=float, default=5.0, help="seconds between progress lines")
    args = parser.parse_args()

    sc = scenario_from_dict(scenario(args.rate, args.days))
    proc = psutil.Process()
    rss_before = proc.memory_info().rss
    expected = args.rate * args.days
    print(f"long run: {args.rate:g} orders/day x {args.days:,.0f} days = ~{expected:,.0f} "
          f"customers, policy {args.policy}; RSS before {rss_before / 2**20:.0f} MiB", flush=True)

    model: dict[str, Any] = {}

    def watch(m: Any) -> None:  # a process factory that only remembers the model
        model["m"] = m

    done = threading.Event()
    start = time.perf_counter()

    def progress() -> None:
        while not done.wait(args.every):
            m = model.get("m")
            if m is None:
                continue
            day = m.env.now
            customers = sum(sp.arrivals for sp in m.stock_points.values())
            rate = customers / (time.perf_counter() - start)
            print(f"  day {day:>11,.0f} / {args.days:,.0f} ({day / args.days:6.1%})  "
                  f"{customers:>12,.0f} customers  {rate:>9,.0f}/s  "
                  f"RSS {proc.memory_info().rss / 2**20:7.1f} MiB", flush=True)

    watcher = threading.Thread(target=progress, daemon=True)
    watcher.start()
    try:
        result = simulate(sc, args.policy, 0, processes=[watch])
    finally:
        done.set()
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    m = result.metrics["all"]
    print(f"done in {elapsed:,.1f} s: {m['orders']:,.0f} orders after the warm-up "
          f"({(m['orders']) / elapsed:,.0f}/s), fill rate {m['fill_rate']:.3f}, "
          f"mean wait {m['mean_wait_days']:.2f} d, p95 wait {m['p95_wait_days']:.2f} d")
    print(f"peak RSS {peak / 2**20:.0f} MiB (before the run {rss_before / 2**20:.0f} MiB, "
          f"growth {(peak - rss_before) / 2**20:.0f} MiB); time series {result.days.size} "
          f"points")


if __name__ == "__main__":
    main()
