"""Shared pieces of the benchmarks: the workloads W1 and W2, the bare SimPy loop, robust timing
(interleaved runs, medians, load average) and the instruction-count mode under callgrind.

Not part of the package and not run by the test suite. Scripts import it as ``common`` (the
benchmarks folder is on ``sys.path`` when a script in it is run).
"""

from __future__ import annotations

import gc
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import simpy

from stockout.model import Model
from stockout.model.run import result_of
from stockout.scenario.schema import Scenario

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------------- workloads


def w1(days: float, replications: int = 1) -> Scenario:
    """W1 (issue 7): one product, Poisson 20/day, constant lead time 5 days, S = 110, backorders,
    base stock under continuous review; every glossary metric is computed by ``simulate``."""
    return Scenario.model_validate({
        "scenario": {"name": "w1", "horizon_days": days, "warmup_days": 10, "seed": 1,
                     "replications": replications},
        "products": [{
            "id": "sku", "price": 10, "unit_cost": 4, "holding_cost_per_day": 0.01,
            "initial_stock": 110, "demand": {"orders_per_day": 20},
            "replenishment": {"rule": "base_stock", "order_up_to": 110, "supplier": "s"},
        }],
        "suppliers": [{"id": "s", "lead_time_days": {"dist": "constant", "value": 5}}],
        "policies": [{"name": "backorder", "availability": "backorder"}],
    })


# W2: (id, orders/day, rule table, supplier, lane, release day)
_W2_PRODUCTS = [
    ("p0", 20, {"rule": "base_stock", "order_up_to": 420}, "factory", "sea", 0),
    ("p1", 15, {"rule": "base_stock", "order_up_to": 230}, "factory", "air", 0),
    ("p2", 12, {"rule": "s_S", "reorder_point": 180, "order_up_to": 280}, "maker", None, 0),
    ("p3", 10, {"rule": "s_S", "reorder_point": 230, "order_up_to": 330}, "maker", "sea", 0),
    ("p4", 10, {"rule": "r_Q", "reorder_point": 210, "order_quantity": 80}, "import", "air", 0),
    ("p5", 8, {"rule": "r_Q", "reorder_point": 150, "order_quantity": 60}, "import", None, 0),
    ("p6", 8, {"rule": "periodic", "order_up_to": 230, "review_period_days": 7}, "maker", None, 0),
    ("p7", 6, {"rule": "periodic", "order_up_to": 250, "review_period_days": 7}, "import", "sea",
     0),
    ("p8", 6, {"rule": "base_stock", "order_up_to": 80}, "factory", None, 30),
    ("p9", 5, {"rule": "base_stock", "order_up_to": 100}, "maker", "air", 45),
]


def w2(days: float, replications: int = 1) -> Scenario:
    """W2 (issue 7): every feature on. 10 products (100 orders/day at full population), churn with
    feedback (all four probabilities, background churn, acquisition), lognormal patience and
    cancellations, seasonality, scheduled and random spikes, supplier capacity, scheduled and
    random supplier outages, short shipments, random lane disruptions and losses, quotes with a
    buffer and a percentile, two late releases, and three policies (backorder, out-of-stock with
    notify-me, pre-order)."""
    products = []
    for i, (pid, rate, rule, supplier, lane, release) in enumerate(_W2_PRODUCTS):
        table = dict(rule, supplier=supplier, order_cost=20.0)
        if lane:
            table["lane"] = lane
        products.append({
            "id": pid, "price": 20 + 5 * i, "unit_cost": 8 + 2 * i, "holding_cost_per_day": 0.02,
            "backorder_cost_per_day": 0.05, "initial_stock": rule.get("order_up_to", 100),
            "release_day": release,
            "demand": {
                "orders_per_day": rate,
                "quantity": {"dist": "empirical", "values": [1, 2, 3], "weights": [6, 3, 1]},
                "seasonality": {"amplitude": 0.3, "period_days": 365, "peak_day": 30 * i},
                "spikes": [
                    {"start_day": 100 + 7 * i, "end_day": 110 + 7 * i, "multiplier": 2.0},
                    {"every_days": {"dist": "exponential", "mean": 180},
                     "duration_days": {"dist": "uniform", "low": 2, "high": 6},
                     "multiplier": 1.8, "start_day": 20},
                ],
            },
            "replenishment": table,
        })
    return Scenario.model_validate({
        "scenario": {"name": "w2", "horizon_days": days, "warmup_days": 30, "seed": 7,
                     "replications": replications},
        "customers": {
            "population": 20_000,
            "patience_days": {"dist": "lognormal", "mean": 12, "cv": 0.8},
            "acquisition_per_day": 30,
            "churn": {"on_stockout": 0.10, "on_declined_quote": 0.05, "on_cancel": 0.25,
                      "on_late": 0.10, "background_per_year": 0.5},
        },
        "products": products,
        "suppliers": [
            {"id": "factory", "lead_time_days": {"dist": "gamma", "mean": 6, "cv": 0.3},
             "capacity_per_day": 100,
             "outages": [{"start_day": 300, "end_day": 312},
                         {"every_days": {"dist": "exponential", "mean": 150},
                          "duration_days": {"dist": "uniform", "low": 2, "high": 6}}]},
            {"id": "maker", "lead_time_days": {"dist": "lognormal", "mean": 8, "cv": 0.4},
             "capacity_per_day": 90, "min_order_qty": 5,
             "short_shipment_probability": 0.05, "short_shipment_share": 0.7,
             "outages": [{"every_days": {"dist": "exponential", "mean": 200},
                          "duration_days": {"dist": "uniform", "low": 3, "high": 8}}]},
            {"id": "import", "lead_time_days": {"dist": "normal", "mean": 10, "sd": 2},
             "capacity_per_day": 60},
        ],
        "lanes": [
            {"id": "sea", "transit_days": {"dist": "gamma", "mean": 5, "cv": 0.2},
             "loss_probability": 0.005,
             "disruptions": [{"every_days": {"dist": "exponential", "mean": 120},
                              "duration_days": {"dist": "uniform", "low": 2, "high": 7}}]},
            {"id": "air", "transit_days": {"dist": "uniform", "low": 1, "high": 2},
             "disruptions": [{"every_days": {"dist": "exponential", "mean": 250},
                              "duration_days": {"dist": "uniform", "low": 1, "high": 3}}]},
        ],
        "costs": {"backorder_handling": 1.0, "cancellation_handling": 3.0},
        "policies": [
            {"name": "backorder", "availability": "backorder", "max_quoted_wait_days": 30,
             "quote_buffer_days": 2, "quote_percentile": 0.9},
            {"name": "out-of-stock", "availability": "out_of_stock", "notify_me_share": 0.3},
            {"name": "preorder", "availability": "preorder", "after_release": "backorder",
             "max_preorders": 400, "max_quoted_wait_days": 30, "quote_buffer_days": 1},
        ],
    })


WORKLOADS: dict[str, Callable[..., Scenario]] = {"w1": w1, "w2": w2}


def run_workload(scenario: Scenario) -> int:
    """Simulate every policy of ``scenario`` (replication 0, the whole of ``simulate``: build,
    run, metrics and checks); return the customers simulated: every order that arrived, in the
    warm-up too (the metric ``orders`` counts only those after it, W2's 30 days being 8% of its
    year)."""
    customers = 0
    for p in scenario.policies:
        model = Model(scenario, p.name, 0)
        model.run()
        result_of(model, p.name, 0)
        customers += sum(sp.arrivals for sp in model.products)
    return customers


# ---------------------------------------------------------------------------------- bare loop


def bare_gaps(n_events: int) -> list[float]:
    return np.random.default_rng(0).exponential(0.05, n_events).tolist()


def bare_loop(gaps: list[float]) -> None:
    """SimPy's bare event loop: one process yielding pre-sampled timeouts, no model."""
    env = simpy.Environment()

    def proc(env: simpy.Environment):  # noqa: ANN202
        for g in gaps:
            yield env.timeout(g)

    env.process(proc(env))
    env.run()


# ---------------------------------------------------------------------------------- timing


def load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


# wall-clock seconds by default; ``--cpu`` switches to this process's CPU time, which other
# processes on a shared machine disturb far less (they still share its caches)
CLOCK = {"now": time.perf_counter}


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    t0 = CLOCK["now"]()
    out = fn()
    return CLOCK["now"]() - t0, out


def timed_bare(gaps: list[float]) -> tuple[float, None]:
    gc.collect()
    t0 = CLOCK["now"]()
    bare_loop(gaps)
    return CLOCK["now"]() - t0, None


def interleaved(workload: str, days: float, repeat: int) -> dict[str, float]:
    """The bare loop (on as many events as stockout has customers) and stockout in turn, in this
    process, bare first and last: bare, stockout, bare, ..., stockout, bare. Each stockout run's
    ratio is to the mean of the bare runs just before and just after it: this machine's speed
    can halve and recover within seconds, and a run paired with one side only was skewed by
    whatever changed between the two. Medians of the rates and of the ratios."""
    rates, bares, ratios, loads = [], [], [], []
    run_workload(WORKLOADS[workload](40))  # warm-up: lazy imports (scipy for some means), caches
    scenario = WORKLOADS[workload](days)
    customers = run_workload(scenario)  # the same in every round (the same seed)
    gaps = bare_gaps(customers)
    bare_loop(gaps)  # warm-up at full size: the first one runs slower (the heap and memory grow)

    def bare_rate() -> float:
        elapsed, _ = timed_bare(gaps)
        return customers / elapsed

    bares.append(bare_rate())
    for i in range(repeat):
        loads.append(os.getloadavg()[0])
        elapsed, _ = timed(lambda: run_workload(scenario))
        rate = customers / elapsed
        bares.append(bare_rate())
        bare = (bares[-2] + bares[-1]) / 2
        rates.append(rate)
        ratios.append(rate / bare)
        print(f"  run {i + 1}/{repeat}: {customers:,} customers, stockout {rate:,.0f}/s, "
              f"bare {bares[-2]:,.0f} before and {bares[-1]:,.0f} after (events/s), "
              f"ratio {rate / bare:.3f}, load1 {loads[-1]:.2f}", file=sys.stderr, flush=True)
    return {
        "customers": customers,
        "rate": statistics.median(rates),
        "bare": statistics.median(bares),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "load1_median": statistics.median(loads),
    }


# ---------------------------------------------------------------------------------- callgrind
#
# Instructions, unlike seconds, do not depend on what else the machine runs. Each side is run
# twice under callgrind, at n and 2n units of work, and the difference of the instruction totals
# is divided by the difference of the work: start-up (interpreter, imports, building the model)
# cancels out and what remains is the marginal cost per customer (stockout) or per event (bare).


# The same count every time: no hash randomisation, and numpy's BLAS without worker threads
# (their idle polling, serialised by valgrind, moved totals by about 1% from run to run).
_QUIET = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
          "MKL_NUM_THREADS": "1"}


def _callgrind_total(argv: list[str]) -> tuple[int, int]:
    """Run ``python -m common --inner ...`` under callgrind; (instructions, units of work)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               sys.executable, str(HERE / "common.py"), "--inner", *argv]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=_QUIET)
        units = int(re.search(r"UNITS (\d+)", proc.stdout).group(1))
        text = out.read_text()
        m = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
        return int(m.group(1)), units


def callgrind_compare(workload: str, days: float) -> dict[str, float]:
    """Instructions per customer of ``workload`` (between ``days`` and 2 x ``days``) and per event
    of the bare loop (between as many events as customers and twice that), and their ratio."""
    from concurrent.futures import ThreadPoolExecutor

    # compiled once beforehand, so that neither run pays for compiling the modules it imports
    subprocess.run([sys.executable, str(HERE / "common.py"), "--inner", "stockout", workload, "40"],
                   capture_output=True, check=True, env=_QUIET)
    with ThreadPoolExecutor(2) as pool:  # instruction counts do not care about parallelism
        s1, s2 = pool.map(_callgrind_total, [["stockout", workload, str(days)],
                                             ["stockout", workload, str(2 * days)]])
        (i1, c1), (i2, c2) = s1, s2
        per_customer = (i2 - i1) / (c2 - c1)
        # the bare side pre-samples 2n gaps both times, so sampling cancels out like start-up
        (b1, n1), (b2, n2) = pool.map(_callgrind_total, [["bare", str(c1), str(2 * c1)],
                                                         ["bare", str(2 * c1), str(2 * c1)]])
    per_event = (b2 - b1) / (n2 - n1)
    return {"per_customer": per_customer, "per_event": per_event, "customers": c1,
            "customers_2x": c2, "ratio": per_event / per_customer}


def throughput_main(workload: str, default_days: float, callgrind_days: float, target: float,
                    doc: str) -> None:
    """The command line shared by bench_core.py (W1) and bench_w2.py (W2)."""
    import argparse

    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=float, default=None,
                    help=f"horizon (default {default_days:g}; {callgrind_days:g} with --callgrind)")
    ap.add_argument("--repeat", type=int, default=7,
                    help="stockout runs, each between two bare-loop runs (median of ratios)")
    ap.add_argument("--callgrind", action="store_true",
                    help="count instructions under valgrind instead of timing (load-immune)")
    ap.add_argument("--cpu", action="store_true",
                    help="time by this process's CPU time instead of the wall clock")
    args = ap.parse_args()
    if args.cpu:
        CLOCK["now"] = time.process_time
    name = workload.upper()
    before = load()
    if args.callgrind:
        days = args.days or callgrind_days
        r = callgrind_compare(workload, days)
        verdict = "met" if r["ratio"] >= target else "NOT met"
        print(f"{name} callgrind {days:g}->{2 * days:g} days: {r['per_customer']:,.0f} "
              f"instructions/customer; bare SimPy loop {r['per_event']:,.0f} instructions/event; "
              f"ratio {r['ratio']:.3f} (target >= {target}: {verdict}); "
              f"{r['customers']:,}->{r['customers_2x']:,} customers")
        return
    days = args.days or default_days
    r = interleaved(workload, days, args.repeat)
    verdict = "met" if r["ratio"] >= target else "NOT met"
    print(f"{name} {days:g} days: {r['rate']:,.0f} customers/s; bare SimPy loop {r['bare']:,.0f} "
          f"events/s; ratio {r['ratio']:.3f} [{r['ratio_min']:.3f}-{r['ratio_max']:.3f}] "
          f"(median of {args.repeat} interleaved, {'CPU' if args.cpu else 'wall'} time; "
          f"target >= {target}: {verdict}); "
          f"{r['customers']:,} customers/run; load {before} -> {load()}")


def _inner(argv: list[str]) -> None:
    if argv[0] == "stockout":
        units = run_workload(WORKLOADS[argv[1]](float(argv[2])))
    else:
        units = int(argv[1])
        bare_loop(bare_gaps(int(argv[2]))[:units])
    print(f"UNITS {units}")


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--inner":
    _inner(sys.argv[2:])
