"""Hostile inputs found by an audit: each exits 2 with a located message (or runs correctly),
never an internal error, a hang, silent nonsense, or lost work.

- distribution parameters that validate one by one but cannot be drawn (a gamma's shape
  1/cv² overflowing, a Poisson mean past numpy's limit, weights whose sum is infinite), and
  customer orders of more units than an int64 holds;
- a truncated normal far below 0 (redrawing took millions of rounds: a hang);
- demand whose peak is infinite (multipliers of 1e308): exit 2 with the memory advice;
- a seasonality whose peak_day or period overflowed the cosine (nan: demand silently 0);
- a review period so short the run never ends.

Output and folders: ``test_hostile_outputs.py``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from stockout import api
from stockout.cli import main
from stockout.distributions import batch_drawer, mean_of
from stockout.results_io import to_toml
from stockout.scenario.schema import Normal


def base(**products: Any) -> dict[str, Any]:
    product: dict[str, Any] = {
        "id": "w", "price": 10.0, "initial_stock": 10,
        "demand": {"orders_per_day": 3.0},
        "replenishment": {"rule": "s_S", "reorder_point": 3, "order_up_to": 10, "supplier": "s"},
    }  # fmt: skip
    product.update(products)
    return {
        "scenario": {"name": "hostile", "horizon_days": 20.0, "replications": 2, "seed": 1},
        "products": [product],
        "suppliers": [{"id": "s", "lead_time_days": {"dist": "constant", "value": 2.0}}],
        "policies": [{"name": "bo", "availability": "backorder"}],
    }


def write(tmp_path: Path, data: dict[str, Any], name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    text = out + err
    assert "Traceback" not in text and "internal error" not in text, text
    return code, text


def run_args(path: Path, out: Path) -> list[object]:
    return ["run", path, "--jobs", "1", "--no-report", "-q", "--out", out]


# ---- distributions that validate key by key but cannot be drawn ----------------------------

LEAD = ("suppliers", 0, "lead_time_days")


@pytest.mark.parametrize(
    ("spec", "key", "says"),
    [
        ({"dist": "gamma", "mean": 5, "cv": 1e-300}, "cv", "too small for a gamma"),
        ({"dist": "gamma", "mean": 5, "cv": 1e300}, "cv", "too large for a gamma"),
        ({"dist": "lognormal", "mean": 5, "cv": 1e300}, "cv", "too large for a lognormal"),
        ({"dist": "poisson", "mean": 1e300}, "mean", "must be at most"),
        ({"dist": "empirical", "values": [1, 2], "weights": [1e308, 1e308]}, "weights",
         "scale them down"),
    ],
    ids=["gamma-tiny-cv", "gamma-huge-cv", "lognormal-huge-cv", "poisson-huge", "weights-inf"],
)
def test_undrawable_distributions_are_load_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: dict[str, Any], key: str, says: str
) -> None:
    data = base()
    data["suppliers"][0]["lead_time_days"] = spec
    path = write(tmp_path, data)
    code, text = cli(capsys, *run_args(path, tmp_path / "out"))
    assert code == 2
    assert f"{path}:" in text and f"suppliers[s].lead_time_days.{key}:" in text and says in text


@pytest.mark.parametrize(
    "quantity",
    [{"dist": "constant", "value": 1e300}, {"dist": "constant", "value": float("inf")},
     {"dist": "lognormal", "mean": 1e15, "cv": 1.0}],
    ids=["constant-1e300", "constant-inf", "lognormal-1e15"],
)
def test_orders_of_more_units_than_can_be_counted_are_load_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], quantity: dict[str, Any]
) -> None:
    data = base()
    data["products"][0]["demand"]["quantity"] = quantity
    path = write(tmp_path, data)
    code, text = cli(capsys, "validate", path)
    assert code == 2
    assert "products[w].demand.quantity: quantity is units per order" in text
    assert "at most 1,000,000,000" in text


def test_a_truncated_normal_far_below_zero_is_drawn_at_once() -> None:
    import numpy as np

    spec = Normal(dist="normal", mean=-4.9, sd=1.0)
    started = time.perf_counter()
    draws = batch_drawer(spec)(np.random.default_rng(3), 20_000)
    assert time.perf_counter() - started < 2.0  # redrawing the negatives took minutes
    assert (draws >= 0).all()
    # E[X | X >= 0] (mean_of computes it exactly); its sd is about 0.19 here
    assert abs(draws.mean() - mean_of(spec)) < 0.01


# ---- demand and time that overflow ---------------------------------------------------------


@pytest.mark.parametrize(
    "demand",
    [{"orders_per_day": 3.0, "seasonality": {"weekday": [1e308] * 7}},
     {"orders_per_day": 3.0, "spikes": [{"start_day": 0, "end_day": 20, "multiplier": 1e308}]}],
    ids=["weekday-1e308", "spike-1e308"],
)
def test_an_infinite_demand_peak_is_bad_input_with_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], demand: dict[str, Any]
) -> None:
    path = write(tmp_path, base(demand=demand))
    code, text = cli(capsys, *run_args(path, tmp_path / "out"))
    assert code == 2
    assert "product 'w' would get inf orders a day" in text and "make them smaller" in text
    assert "RuntimeWarning" not in text


def _orders(data: dict[str, Any]) -> float:
    rows = api.run(data).summary
    pick = rows[(rows["product"] == "all") & (rows["metric"] == "orders")]
    return float(pick["mean"].iloc[0])


def test_seasonality_far_peak_day_or_tiny_period_keeps_its_demand() -> None:
    def seasonal(**season: Any) -> dict[str, Any]:
        return base(demand={"orders_per_day": 3.0, "seasonality": {"amplitude": 0.5, **season}})

    near = _orders(seasonal(peak_day=340.0, period_days=365.0))
    # the same peaks, 10^12 years later: the same candidates, the same orders
    assert _orders(seasonal(peak_day=340.0 + 365.0 * 10**12, period_days=365.0)) == near
    assert _orders(seasonal(peak_day=1e308)) > 0  # was nan: every order thinned away
    assert _orders(seasonal(period_days=1e-300)) > 0


def test_a_review_period_too_short_to_finish_is_a_load_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base()
    data["products"][0]["replenishment"] = {
        "rule": "periodic", "review_period_days": 1e-300, "order_up_to": 5, "supplier": "s"}
    data["policies"].append({"name": "fast", "availability": "backorder", "replenishment": {
        "w": {"review_period_days": 1e-9}}})
    path = write(tmp_path, data)
    code, text = cli(capsys, "validate", path)
    assert code == 2
    assert "products[w].replenishment.review_period_days: a review every 1e-300 days" in text
    assert "policies[fast].replenishment.w.review_period_days: a review every 1e-09 days" in text
    assert "make review_period_days at least 2e-06 days" in text




# ---------------------------------------------------------------------------------------------
# Issue 20: things that looked hung or ran out of memory, and exit 1 where the input is at fault
# ---------------------------------------------------------------------------------------------

LIMITED = (
    "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000,) * 2); "
    "from stockout.cli import main; sys.exit(main(sys.argv[1:]))"
)


def limited_cli(*args: object, timeout: float = 120) -> tuple[int, str]:
    """The command line in a child with 1.5 GB of address space: what once ran out of memory
    fails fast there instead of taking the machine with it."""
    import subprocess
    import sys

    try:
        proc = subprocess.run([sys.executable, "-c", LIMITED, *map(str, args)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "timed out"
    return proc.returncode, proc.stdout + proc.stderr


def test_validate_dev_zero_is_refused_before_reading() -> None:
    code, text = limited_cli("validate", "/dev/zero", timeout=60)
    assert code == 2, text
    assert "/dev/zero: is not a regular file" in text and "Traceback" not in text


def test_validate_oversized_file_is_refused_with_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text("# padding\n" * 300_000)
    code, text = limited_cli("validate", path, timeout=60)
    assert code == 2, text
    assert "is larger than 1,000,000 bytes" in text


def test_validate_30000_part_dotted_key_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("a" + ".a" * 29_999 + " = 1\n")
    code, text = limited_cli("validate", path, timeout=60)
    assert code == 2, text
    assert "more than 64 dotted parts" in text


def test_sweep_of_a_billion_points_is_refused_saying_how_big(tmp_path: Path) -> None:
    path = write(tmp_path, base())
    values = ",".join(str(v) for v in range(1, 1001))
    code, text = limited_cli(
        "sweep", path, "--vary", f"products.w.price={values}",
        "--vary", f"products.w.initial_stock={values}",
        "--vary", f"products.w.demand.orders_per_day={values}",
        "--out", tmp_path / "sweep", "--jobs", "1", timeout=120,
    )
    assert code == 2, text
    assert "1,000,000,000 points" in text and "1,000 × 1,000 × 1,000" in text
    assert not (tmp_path / "sweep").exists()


def test_trace_orders_1000000000_streams_with_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The streamed story equals the whole one, event for event, while at most CHUNK + KEEP
    events are held in memory (made tiny here, so runs on disk are merged)."""
    from stockout import trace_stream
    from stockout.api import format_trace

    monkeypatch.setattr(trace_stream, "CHUNK", 40)
    monkeypatch.setattr(trace_stream, "KEEP", 10)
    held: list[int] = []
    real_append = trace_stream.EventSpool.append

    def counting(self: trace_stream.EventSpool, event: Any) -> None:
        real_append(self, event)
        held.append(len(self.buffer))

    monkeypatch.setattr(trace_stream.EventSpool, "append", counting)
    data = base()
    data["scenario"]["horizon_days"] = 60.0
    scenario = api.load(data)
    for orders in (1_000_000_000, 7, None):
        whole = api.trace(scenario, "bo", orders=orders, days=None if orders else 30)
        streamed = list(trace_stream.stream_trace(scenario, "bo", orders=orders,
                                                  days=None if orders else 30))
        assert streamed == whole and len(whole) > (100 if orders != 7 else 5)
        for fmt in ("text", "csv", "json"):
            import io

            buf = io.StringIO()
            trace_stream.write_trace(iter(streamed), fmt, buf)
            assert buf.getvalue() == format_trace(whole, fmt)
    assert max(held) <= 40 + 10


def test_pool_workers_exit_when_the_parent_is_killed(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    data = base()
    data["scenario"].update(horizon_days=3000.0, replications=400)
    path = write(tmp_path, data)
    parent = subprocess.Popen(
        [sys.executable, "-m", "stockout", "run", str(path), "--jobs", "2", "--no-report",
         "-q", "--out", str(tmp_path / "out")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def children() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if entry.name.isdigit() and int(fields[1]) == parent.pid:
                found.append(int(entry.name))
        return found

    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = children()
        assert len(workers) >= 2, "the pool did not start"
        time.sleep(1.0)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 15
        alive = workers
        while time.monotonic() < deadline and alive:
            time.sleep(0.2)
            alive = [w for w in workers if Path(f"/proc/{w}").exists()
                     and "Z" not in (Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1][:3])]
        assert not alive, f"workers {alive} outlived their parent"
    finally:
        parent.kill()
        parent.wait(timeout=10)
        for w in children():
            os.kill(w, signal.SIGKILL)


@pytest.mark.parametrize("where", ["horizon_days", "window_start_day"])
def test_400_digit_number_is_a_located_error_not_an_overflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    data = base()
    huge = "1" + "0" * 400
    text = to_toml(data)
    if where == "horizon_days":
        text = text.replace("horizon_days = 20.0", f"horizon_days = {huge}")
        key = "scenario.horizon_days"
    else:
        text += f'\n[[suppliers.disruptions]]\nstart_day = {huge}\nend_day = 5.0\n'
        key = "start_day"
    path = tmp_path / "s.toml"
    path.write_text(text)
    code, out = cli(capsys, "validate", path)
    assert code == 2, out
    assert key in out and "number is too large" in out


@pytest.mark.parametrize("key", ["price", "unit_cost", "holding_cost_per_day", "order_cost"])
def test_1e308_money_that_would_make_results_infinite_is_refused_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    data = base()
    if key == "order_cost":
        data["products"][0]["replenishment"]["order_cost"] = 1e308
    else:
        data["products"][0][key] = 1e308
    code, out = cli(capsys, *run_args(write(tmp_path, data), tmp_path / "out"))
    assert code == 2, out
    assert key in out and "inf" not in out.replace("info", "")
    assert "RuntimeWarning" not in out


def test_full_disk_writing_report_html_exits_2_like_the_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from stockout.report import html

    def full(target: Path, data: Any) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(html, "write_atomic", full)
    out = tmp_path / "out"
    code, text = cli(capsys, "run", write(tmp_path, base()), "--jobs", "1", "--out", out)
    assert code == 2, text
    assert "free some disk space" in text and "revenue kept" in text
    assert (out / "manifest.json").is_file() and (out / "summary.csv").is_file()


# ---------------------------------------------------------------------------------------------
# Issue 20, part 3: a report with 200 policies is linear in the policies
# ---------------------------------------------------------------------------------------------


def _tables(policies: int) -> Any:
    import pandas as pd

    from stockout.records import METRICS
    from stockout.report.tables import ResultTables

    rows = [
        {"policy": f"p{k}", "product": product, "metric": m, "mean": 1.0 + k, "ci_low": 0.5,
         "ci_high": 1.5 + k, "diff": 0.1 * k, "diff_ci_low": -1.0, "diff_ci_high": 1.0}
        for k in range(policies) for product in ("all", "w") for m in METRICS
    ]
    empty = pd.DataFrame()
    return ResultTables(
        summary=pd.DataFrame(rows), replications=empty, timeseries=empty, waits=empty,
        disruptions=empty, manifest={"policies": [f"p{k}" for k in range(policies)],
                                     "baseline": "p0", "replications": 5},
        scenario={},
    )


def test_report_kpi_table_with_200_policies_is_linear_not_cubic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Counted, not timed: the DataFrame lookups made to build the KPI and all-metrics tables
    grow like the policies (x5 from 40 to 200 policies), not like their cube (x125). A budget
    stops the count early where it grows faster (the 200-policy report took hours)."""
    import pandas as pd

    from stockout.report import html

    calls = [0]
    real = pd.DataFrame.__getitem__

    def counted(self: pd.DataFrame, key: Any) -> Any:
        calls[0] += 1
        if calls[0] > 200_000:
            raise AssertionError("far more DataFrame lookups than policies: superlinear")
        return real(self, key)

    monkeypatch.setattr(pd.DataFrame, "__getitem__", counted)
    counts = {}
    for policies in (40, 200):
        calls[0] = 0
        tables = _tables(policies)
        html.kpi_table(tables)
        html.all_metrics_table(tables)
        counts[policies] = calls[0]
    assert counts[200] <= 6 * counts[40] + 100, counts
