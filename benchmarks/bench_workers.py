"""Replications per second on 1 and 2 local worker processes and on a 2-worker Dask cluster on
loopback (the same runs each time; results are identical, only the wall time differs).

    python benchmarks/bench_workers.py [--reps 40] [--horizon 365]

Replications must be long enough (about 0.1 s or more) for the pool to pay off; on a 2-core
machine 2 workers should then come close to 2x.
"""

from __future__ import annotations

import argparse
import time

from stockout.executors import DaskExecutor, InlineExecutor, PoolExecutor
from stockout.experiment import run_replications
from stockout.scenario.load import scenario_from_dict


def scenario(reps: int, horizon: float):  # noqa: ANN201 - a Scenario
    return scenario_from_dict(
        {
            "scenario": {"name": "bench", "horizon_days": horizon, "replications": reps, "seed": 3},
            "customers": {"patience_days": {"dist": "exponential", "mean": 6}},
            "products": [
                {
                    "id": "widget",
                    "price": 20,
                    "initial_stock": 60,
                    "demand": {"orders_per_day": 30},
                    "replenishment": {
                        "rule": "s_S",
                        "reorder_point": 80,
                        "order_up_to": 250,
                        "supplier": "acme",
                    },
                }
            ],
            "suppliers": [
                {"id": "acme", "lead_time_days": {"dist": "gamma", "mean": 5, "cv": 0.3}}
            ],
        },
        "bench",
    )


def measure(label: str, executor, sc) -> float:  # noqa: ANN001
    runs = len(sc.policies) * sc.scenario.replications
    with executor:
        start = time.perf_counter()
        run_replications(sc, executor=executor)
        elapsed = time.perf_counter() - start
    rate = runs / elapsed
    print(f"{label:<28} {runs:4d} runs in {elapsed:6.2f} s = {rate:7.2f} runs/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--horizon", type=float, default=365)
    args = parser.parse_args()
    sc = scenario(args.reps, args.horizon)
    one = measure("1 local worker", InlineExecutor(), sc)
    two = measure("2 local workers (pool)", PoolExecutor(2), sc)
    print(f"{'speed-up, 2 local workers':<28} {two / one:.2f}x")
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    ) as cluster:
        dask = measure("2-worker Dask LocalCluster", DaskExecutor(cluster.scheduler_address), sc)
    print(f"{'speed-up, 2 Dask workers':<28} {dask / one:.2f}x")


if __name__ == "__main__":
    main()
