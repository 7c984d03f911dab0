"""What SimPy itself allows a model with one shipment event per order, beside the bare loop:

1. the same loop with one extra timeout (a plain callback, 5 days ahead) per event, as W1's
   receipts: no model code runs, so this is the ceiling of any W1 model that schedules each
   receipt as a SimPy event (stockout, SupplyNetPy, ...);
2. the smallest W1 model one can write that way: customers as callback timeouts, a base-stock
   order per customer, each receipt a timeout, a FIFO backlog, the on-hand integral, and no
   metric, policy, quote or recorder. It is the floor of the work a real model adds.

    python benchmarks/bench_ceiling.py [--events 2000000] [--repeat 5]

Measured on CPU time in one process, alternating with the bare loop.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections import deque

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


class _Smallest:
    """The smallest W1 stock point: S = 110, lead time 5, one unit per customer."""

    def __init__(self, env: simpy.Environment, horizon: float) -> None:
        self.env, self.horizon = env, horizon
        self.on_hand, self.on_order, self.backlog = 110, 0, 0
        self.area = 0.0
        self.waiting: deque[float] = deque()
        self.shipments: dict[int, int] = {}
        self.ids = 0

    def arrive(self, t: float) -> None:
        if self.on_hand > 0 and not self.backlog:
            self.on_hand -= 1
            self.area -= self.horizon - t
        else:
            self.backlog += 1
            self.waiting.append(t)
        if self.on_hand + self.on_order - self.backlog < 110:
            self.on_order += 1
            self.ids += 1
            self.shipments[self.ids] = 1
            Timeout(self.env, 5.0, self.ids).callbacks.append(self.receive)

    def receive(self, event: simpy.Event) -> None:
        qty = self.shipments.pop(event.value)
        self.on_order -= qty
        self.on_hand += qty
        self.area += qty * (self.horizon - self.env.now)
        while self.waiting and self.on_hand:
            self.waiting.popleft()
            self.on_hand -= 1
            self.backlog -= 1


def smallest_model(gaps: list[float]) -> None:
    env = simpy.Environment()
    sp = _Smallest(env, sum(gaps) + 10.0)
    arrivals = iter(gaps)

    def arrive(_event: simpy.Event) -> None:
        sp.arrive(env.now)
        gap = next(arrivals, None)
        if gap is not None:
            Timeout(env, gap).callbacks.append(arrive)

    Timeout(env, next(arrivals)).callbacks.append(arrive)
    env.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    before = load()
    gaps = bare_gaps(args.events)
    for label, run in (("bare loop with a receipt timeout per event", with_receipts),
                       ("the smallest W1 model, receipts as events", smallest_model)):
        ratios = []
        for _ in range(args.repeat):
            gc.collect()
            t0 = time.process_time()
            bare_loop(gaps)
            bare = time.process_time() - t0
            gc.collect()
            t0 = time.process_time()
            run(gaps)
            ratios.append(bare / (time.process_time() - t0))
        print(f"{label}: {statistics.median(ratios):.3f} of the bare loop's rate "
              f"[{min(ratios):.3f}-{max(ratios):.3f}] (median of {args.repeat}, CPU time, "
              f"{args.events:,} customers)")
    print(f"load {before} -> {load()}")


if __name__ == "__main__":
    main()
