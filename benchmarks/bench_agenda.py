"""The model's agenda (``stockout.model.agenda``) against a plain binary heap (``heapq``).

    python benchmarks/bench_agenda.py [--steps 300000]

Each case replays the agenda's traffic in a model: at every customer (Poisson arrivals) the
entries due are taken and one is scheduled a random lead time ahead. The cases go from W2's
traffic (about 1,000 entries pending) to a pipeline of 90,000 shipments (2,000 orders a day, 45
days of sea freight, where sorting what lies beyond ``near`` at every refill would read each
entry dozens of times over: the agenda keeps it in a heap instead) and a heavy-tailed lead time
(many entries due before the bound, inserted into ``near``). One line per case: nanoseconds per
step with each structure and their ratio (below 1: the agenda is faster).
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import time
from collections.abc import Callable

from stockout.model.agenda import REFILL, Agenda

Step = tuple[float, tuple[float, int, None, int, int]]


def traffic(steps: int, rate: float, lead: Callable[[random.Random], float]) -> list[Step]:
    """(time of the customer, the entry it schedules) for ``steps`` customers."""
    r = random.Random(1)
    t, out = 0.0, []
    for i in range(steps):
        t += r.expovariate(rate)
        out.append((t, (t + lead(r), i, None, 1, 0)))
    return out


def run_heap(script: list[Step]) -> float:
    heap: list = []
    push, pop = heapq.heappush, heapq.heappop
    start = time.perf_counter()
    for t, entry in script:
        while heap and heap[0][0] <= t:
            pop(heap)
        push(heap, entry)
    return time.perf_counter() - start


def run_agenda(script: list[Step]) -> float:
    agenda = Agenda()
    near = agenda.near
    start = time.perf_counter()
    for t, entry in script:
        while near[-1][0] <= t:  # as Model.flush takes them
            if near.pop()[4] == REFILL:
                agenda.refill()
        if entry[0] >= agenda.bound:  # as the hot paths schedule them
            agenda.far.append(entry)
        else:
            agenda.insert(entry)
    return time.perf_counter() - start


def _lognormal(mean: float, cv: float) -> Callable[[random.Random], float]:
    sigma2 = math.log1p(cv * cv)
    mu, sigma = math.log(mean) - sigma2 / 2, math.sqrt(sigma2)
    return lambda r: r.lognormvariate(mu, sigma)


CASES: dict[str, tuple[float, Callable[[random.Random], float]]] = {
    "W2-like: 100/day, gamma lead 10 d": (100, lambda r: r.gammavariate(11, 10 / 11)),
    "sea freight: 2,000/day, gamma 45 d": (2000, lambda r: r.gammavariate(11, 45 / 11)),
    "heavy tail: 2,000/day, lognormal 13.5 d, cv 10": (2000, _lognormal(13.5, 10)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300_000, help="customers per case")
    ap.add_argument("--repeat", type=int, default=3, help="fastest of this many runs")
    args = ap.parse_args()
    for name, (rate, lead) in CASES.items():
        script = traffic(args.steps, rate, lead)
        heap = min(run_heap(script) for _ in range(args.repeat)) / args.steps * 1e9
        agenda = min(run_agenda(script) for _ in range(args.repeat)) / args.steps * 1e9
        print(f"agenda {name}: {agenda:,.0f} ns a step; heapq {heap:,.0f} ns; "
              f"ratio {agenda / heap:.2f} (fastest of {args.repeat}, {args.steps:,} steps)",
              flush=True)


if __name__ == "__main__":
    main()
