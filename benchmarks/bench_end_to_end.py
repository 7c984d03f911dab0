"""End to end: what a planner waits for is the command, not the simulation.

    python benchmarks/bench_end_to_end.py                      # every case below
    python benchmarks/bench_end_to_end.py --cases catalogue    # the 10-product scenario only
    python benchmarks/bench_end_to_end.py --reps 1 --repeat 3  # one replication, best of three
    python benchmarks/bench_end_to_end.py --commands run       # stockout run only

Times ``stockout run`` (report included) and ``stockout sweep`` (4 points, report included) as a
user starts them: a fresh ``python -m stockout`` process, ``--jobs 2``, on W1 (one product, 20
orders a day) and on ``benchmarks/catalogue.toml`` (10 products, 10 years, churn, patience,
seasonality, random spikes, capacity-limited suppliers, random lane closures, 3 policies), at 1
and 20 replications. The command writes its stage times (``STOCKOUT_TIMINGS``): load,
simulate, summarise, time series, report and write, beside which the simulation's own time
(``simulate``) is measured in the same process; "other" is the rest of the command (worker
pool start and stop, the imports it makes, the printed table). Interpreter start-up is the wall
time of ``python -m stockout --version``.

The bar (issue 21): wall time <= 2 x simulate + start-up. The machine's cores are shared, so
the ratio, taken within one invocation, is what to compare; absolute times move with the load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import HERE, w1

from stockout.api import scenario_dict
from stockout.results_io import to_toml

CATALOGUE = HERE / "catalogue.toml"
STAGES = ("load", "simulate", "summarise", "timeseries", "report", "write")
SWEEPS = {  # a 4-point sweep per workload
    "w1": "products.sku.replenishment.order_up_to=100,110,120,130",
    "catalogue": "customers.patience_days.mean=6,12,18,24",
}


@dataclass(frozen=True)
class Timing:
    case: str
    wall: float  # the whole process
    command: float  # inside the command (after interpreter start-up and stockout's imports)
    stages: dict[str, float]

    @property
    def simulate(self) -> float:
        return self.stages.get("simulate", 0.0)

    @property
    def other(self) -> float:
        return self.command - sum(self.stages.values())


def w1_file(folder: Path) -> Path:
    """W1 (benchmarks/common.py) for ten years, as a scenario file."""
    data = scenario_dict(w1(3650.0))
    path = folder / "w1.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def startup() -> float:
    """Wall time of ``python -m stockout --version``, best of three."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stockout", "--version"], check=True,
                       capture_output=True)  # fmt: skip
        best = min(best, time.perf_counter() - start)
    return best


def timed(case: str, args: list[str], folder: Path) -> Timing:
    """Run ``python -m stockout ARGS`` into a new folder; its wall time and stage times."""
    out = Path(tempfile.mkdtemp(dir=folder)) / "out"
    timings = out.parent / "timings.json"
    env = dict(os.environ, STOCKOUT_TIMINGS=str(timings))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stockout", *args, "--jobs", "2", "--out", str(out),
                    "--quiet"], check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - start
    data = json.loads(timings.read_text(encoding="utf-8"))
    report = out / "report.html"
    size = report.stat().st_size / 1e6 if report.exists() else float("nan")
    return Timing(f"{case} (report {size:.1f} MB)", wall, data["command_seconds"],
                  data["stages"])  # fmt: skip


def cases(names: list[str], reps: list[int], commands: list[str],
          folder: Path) -> list[tuple[str, list[str]]]:  # fmt: skip
    files = {"w1": w1_file(folder) if "w1" in names else None, "catalogue": CATALOGUE}
    out = []
    for name in names:
        for r in reps:
            if "run" in commands:
                out.append((f"run {name} x{r}", ["run", str(files[name]), "--reps", str(r)]))
            if "sweep" in commands:
                out.append((f"sweep {name} x{r}", ["sweep", str(files[name]), "--vary",
                                                   SWEEPS[name], "--reps", str(r)]))  # fmt: skip
    return out


def show(t: Timing, start_up: float) -> None:
    ratio = (t.wall - start_up) / t.simulate if t.simulate else float("nan")
    ok = "ok" if t.wall <= 2 * t.simulate + start_up else "OVER"
    parts = "  ".join(f"{s} {t.stages.get(s, 0.0):6.2f}" for s in STAGES)
    print(f"{t.case:32s} wall {t.wall:6.2f}  {parts}  other {t.other:5.2f}  "
          f"(wall - start-up) / simulate {ratio:4.2f} {ok}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["w1", "catalogue"],
                        choices=["w1", "catalogue"])  # fmt: skip
    parser.add_argument("--reps", nargs="+", type=int, default=[1, 20])
    parser.add_argument("--commands", nargs="+", default=["run", "sweep"],
                        choices=["run", "sweep"])  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case (best shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start_up = startup()
        print(f"interpreter start-up (python -m stockout --version): {start_up:.2f} s; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        for case, argv in cases(args.cases, args.reps, args.commands, folder):
            runs = [timed(case, argv, folder) for _ in range(args.repeat)]
            show(min(runs, key=lambda t: t.wall), start_up)


if __name__ == "__main__":
    main()
