"""What SimPy itself allows a model with one shipment event per order: the bare loop beside the
same loop with one extra timeout (a plain callback, 5 days ahead) per event, as W1's receipts.

    python benchmarks/bench_ceiling.py [--events 2000000] [--repeat 5]

No model code runs: the ratio is the ceiling of any W1 model that schedules each receipt as a
SimPy event (stockout, SupplyNetPy, ...), measured on CPU time in one process, alternating.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import simpy
from common import bare_gaps, bare_loop, load
from simpy.events import Timeout


def with_receipts(gaps: list[float]) -> None:
    env = simpy.Environment()

    def receipt(_event: simpy.Event) -> None:
        pass

    def customers(env: simpy.Environment):  # noqa: ANN202
        for g in gaps:
            yield env.timeout(g)
            Timeout(env, 5.0).callbacks.append(receipt)

    env.process(customers(env))
    env.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    before = load()
    gaps = bare_gaps(args.events)
    ratios = []
    for _ in range(args.repeat):
        gc.collect()
        t0 = time.process_time()
        bare_loop(gaps)
        bare = time.process_time() - t0
        gc.collect()
        t0 = time.process_time()
        with_receipts(gaps)
        ratios.append(bare / (time.process_time() - t0))
    print(f"bare loop with a receipt timeout per event: {statistics.median(ratios):.3f} of the "
          f"bare loop's rate [{min(ratios):.3f}-{max(ratios):.3f}] (median of {args.repeat}, "
          f"CPU time, {args.events:,} events); load {before} -> {load()}")


if __name__ == "__main__":
    main()
