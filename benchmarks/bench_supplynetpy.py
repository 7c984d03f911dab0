"""W1 against SupplyNetPy 0.5.1, the other SimPy supply-chain simulator, on the same system.

    python benchmarks/bench_supplynetpy.py [--days 20000] [--repeat 5]

SupplyNetPy's model of W1: an infinite supplier, an ``InventoryNode`` with continuous (s, S) =
(109, 110) (an order up to 110 whenever the level falls to 109 or below: base stock S = 110),
initial level 110, a ``Link`` with lead time 5, and a ``Demand`` of exponential inter-arrival
times with mean 1/20 day, one unit each, with infinite tolerance (customers wait: backorders).
stockout runs W1 (``common.w1``) for the same number of days. Rounds alternate (stockout,
SupplyNetPy, ...); each round's ratio is stockout's customers/s over SupplyNetPy's, and the
median of the rounds is reported (CPU time of this process: the machine is shared).
SupplyNetPy's logging is switched off.

This script installs nothing: without ``supplynetpy`` in the environment it says so and stops
(``pip install supplynetpy==0.5.1`` into your own environment to run it).
"""

from __future__ import annotations

import argparse
import gc
import logging
import statistics
import sys
import time

import numpy as np
from common import load, run_workload, w1


def supplynetpy_w1(days: float, seed: int = 1) -> int:
    """Run W1 in SupplyNetPy for ``days``; return the customers it simulated."""
    import simpy
    import SupplyNetPy.Components as scm

    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    gaps = iter(rng.exponential(1 / 20, int(days * 20 * 1.2) + 1000).tolist())
    counted = [0]

    def gap() -> float:
        counted[0] += 1
        return next(gaps)

    supplier = scm.Supplier(env=env, ID="S1", name="supplier", node_type="infinite_supplier",
                            logging=False)
    shop = scm.InventoryNode(
        env=env, ID="D1", name="shop", node_type="distributor", capacity=float("inf"),
        initial_level=110, inventory_holding_cost=0.01,
        replenishment_policy=scm.SSReplenishment, policy_param={"s": 109, "S": 110},
        product_sell_price=10, product_buy_price=4, logging=False,
    )
    scm.Link(env=env, ID="L1", source=supplier, sink=shop, cost=0, lead_time=lambda: 5)
    scm.Demand(env=env, ID="d1", name="customers", order_arrival_model=gap,
               order_quantity_model=lambda: 1, demand_node=shop, tolerance=float("inf"),
               logging=False)
    env.run(until=days)
    return counted[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    try:
        import SupplyNetPy  # noqa: F401
    except ImportError:
        print("supplynetpy is not installed: pip install supplynetpy==0.5.1 (into your own "
              "environment) to run this benchmark", file=sys.stderr)
        return
    logging.disable(logging.CRITICAL)
    before = load()
    scenario = w1(args.days)
    run_workload(w1(40)), supplynetpy_w1(40)  # warm-up: imports, caches
    ours, theirs, ratios = [], [], []
    for i in range(args.repeat):
        gc.collect()
        t0 = time.process_time()
        n_ours = run_workload(scenario)
        ours.append(n_ours / (time.process_time() - t0))
        gc.collect()
        t0 = time.process_time()
        n_theirs = supplynetpy_w1(args.days)
        theirs.append(n_theirs / (time.process_time() - t0))
        ratios.append(ours[-1] / theirs[-1])
        print(f"  round {i + 1}/{args.repeat}: stockout {ours[-1]:,.0f} customers/s, "
              f"SupplyNetPy {theirs[-1]:,.0f} customers/s, ratio {ratios[-1]:.1f}",
              file=sys.stderr, flush=True)
    print(f"W1 {args.days:g} days: stockout {statistics.median(ours):,.0f} customers/s; "
          f"SupplyNetPy 0.5.1 {statistics.median(theirs):,.0f} customers/s; ratio "
          f"{statistics.median(ratios):.1f} [{min(ratios):.1f}-{max(ratios):.1f}] (median of "
          f"{args.repeat} alternating rounds; target >= 25); load {before} -> {load()}")


if __name__ == "__main__":
    main()
