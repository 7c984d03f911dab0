"""Replications per second on 1 and 2 local worker processes and on a 2-worker Dask cluster on
loopback (the same runs each time; results are identical, only the wall time differs).

    python benchmarks/bench_workers.py [--reps 40] [--horizon 365]
    python benchmarks/bench_workers.py --workload w1 [--reps 10] [--horizon 100000] [--repeat 3]

The default workload is a one-product (s, S) model with patience; ``--workload w1`` runs W1-sized
replications (issue 7: 10 replications of W1's 100,000 days, about 2 million customers each) on 1
and 2 local workers, ``--repeat`` rounds (in the order 1, 2 then 2, 1, ...), and reports the
median speed-up with the load average (the machine has 2 cores: anything else running takes
them from the 2 workers).
``--no-dask`` skips the Dask cluster. Target (issue 7): 2 workers >= 1.8 x one worker.

Replications must be long enough (about 0.1 s or more) for the pool to pay off; on a 2-core
machine 2 workers should then come close to 2x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

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
    print(f"{label:<28} {runs:4d} runs in {elapsed:6.2f} s = {rate:7.2f} runs/s "
          f"(load {load()})", flush=True)
    return rate


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def w1_workers(reps: int, horizon: float, repeat: int, dask: bool) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import w1

    sc = w1(horizon, replications=reps)
    before = load()
    ones, twos, ups = [], [], []
    for i in range(repeat):
        # this VM's speed drifts over tens of seconds: the order alternates (1, 2), (2, 1), ...
        # so that a steady drift does not favour either side of the ratio
        for workers in ((1, 2) if i % 2 == 0 else (2, 1)):
            if workers == 1:
                ones.append(measure(f"[{i + 1}] 1 local worker", InlineExecutor(), sc))
            else:
                twos.append(measure(f"[{i + 1}] 2 local workers", PoolExecutor(2), sc))
        ups.append(twos[-1] / ones[-1])
    if dask:
        from distributed import LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=50) as cluster:
            rate = measure("2-worker Dask LocalCluster", DaskExecutor(cluster.scheduler_address),
                           sc)
        print(f"{'speed-up, 2 Dask workers':<28} {rate / statistics.median(ones):.2f}x")
    up = statistics.median(ups)
    verdict = "met" if up >= 1.8 else "NOT met"
    print(f"W1 workers ({reps} reps x {horizon:g} days): 1 worker "
          f"{statistics.median(ones):.3f} reps/s, 2 workers {statistics.median(twos):.3f} reps/s; "
          f"speed-up {up:.2f}x [{min(ups):.2f}-{max(ups):.2f}] (median of {repeat}; "
          f"target >= 1.8x: {verdict}); load {before} -> {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workload", choices=["default", "w1"], default="default")
    parser.add_argument("--reps", type=int, default=None, help="default 40 (w1: 10)")
    parser.add_argument("--horizon", type=float, default=None, help="default 365 (w1: 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="w1: alternating rounds (median)")
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    if args.workload == "w1":
        w1_workers(args.reps or 10, args.horizon or 100_000, args.repeat, not args.no_dask)
        return
    sc = scenario(args.reps or 40, args.horizon or 365)
    one = measure("1 local worker", InlineExecutor(), sc)
    two = measure("2 local workers (pool)", PoolExecutor(2), sc)
    print(f"{'speed-up, 2 local workers':<28} {two / one:.2f}x")
    if args.no_dask:
        return
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
