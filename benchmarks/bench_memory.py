"""Peak memory at 1x and 10x the horizon, each run in a fresh subprocess.

    python benchmarks/bench_memory.py [--workload w1] [--days 100000] [--factor 10]
    python benchmarks/bench_memory.py --workload w2 --days 365 [--policy backorder]
    python benchmarks/bench_memory.py --tracemalloc --days 10000   # Python heap, slower

A fresh interpreter per point, so one run's peak cannot hide another's. Each child imports
everything and builds the scenario first and reports its peak RSS then (``base``: interpreter,
numpy, SimPy, pydantic, stockout), then simulates replication 0 of the policy (or of every policy
for ``--policy all``, one after the other) and reports the peak RSS of the process
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and the growth over ``base``. With
``--tracemalloc`` it also reports the peak of Python allocations during the run (tracemalloc
slows the run 2-4x, use a shorter horizon). Target (issue 7): peak at 10x <= 1.2 x peak at 1x
for W1.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def child(workload: str, days: float, policy: str, trace: bool) -> None:
    from common import WORKLOADS

    from stockout.model.run import simulate

    sc = WORKLOADS[workload](days)
    names = [p.name for p in sc.policies] if policy == "all" else [policy]
    base = _maxrss_mb()
    if trace:
        import tracemalloc

        tracemalloc.start()
    t0 = time.perf_counter()
    customers = 0
    for name in names:
        customers += int(simulate(sc, name, 0).metrics["all"]["orders"])
    elapsed = time.perf_counter() - t0
    out = {"days": days, "customers": customers, "seconds": elapsed, "base_mb": base,
           "peak_mb": _maxrss_mb()}
    if trace:
        out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    print("RESULT " + json.dumps(out))


def measure(workload: str, days: float, policy: str, trace: bool) -> dict:
    cmd = [sys.executable, str(HERE / "bench_memory.py"), "--child", "--workload", workload,
           "--days", repr(days), "--policy", policy] + (["--tracemalloc"] if trace else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    r = json.loads(line[len("RESULT "):])
    extra = f", traced peak {r['traced_peak_mb']:.1f} MB" if trace else ""
    print(f"  {workload} {days:g} days: {r['customers']:,} customers in {r['seconds']:.1f} s; "
          f"peak RSS {r['peak_mb']:.1f} MB (after imports {r['base_mb']:.1f} MB, run adds "
          f"{r['peak_mb'] - r['base_mb']:.1f} MB){extra}", file=sys.stderr, flush=True)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", choices=["w1", "w2"], default="w1")
    ap.add_argument("--days", type=float, default=None,
                    help="the 1x horizon (default: 100000 for w1, 365 for w2)")
    ap.add_argument("--factor", type=float, default=10)
    ap.add_argument("--policy", default=None,
                    help="policy to run, or 'all' (default: backorder)")
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    days = args.days or (100_000 if args.workload == "w1" else 365)
    policy = args.policy or "backorder"
    if args.child:
        child(args.workload, days, policy, args.tracemalloc)
        return
    import os

    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    one = measure(args.workload, days, policy, args.tracemalloc)
    big = measure(args.workload, days * args.factor, policy, args.tracemalloc)
    ratio = big["peak_mb"] / one["peak_mb"]
    growth = (big["peak_mb"] - big["base_mb"]) / max(one["peak_mb"] - one["base_mb"], 1e-9)
    verdict = "met" if ratio <= 1.2 else "NOT met"
    traced = ""
    if args.tracemalloc:
        traced = (f"; traced Python peak {one['traced_peak_mb']:.1f} -> "
                  f"{big['traced_peak_mb']:.1f} MB")
    print(f"{args.workload.upper()} memory ({policy}): peak RSS {one['peak_mb']:.1f} MB at "
          f"{days:g} days, {big['peak_mb']:.1f} MB at {days * args.factor:g} days: "
          f"{ratio:.2f}x (target <= 1.2x: {verdict}); run's own growth {growth:.2f}x{traced}; "
          f"load {load}")


if __name__ == "__main__":
    main()
