"""The Dask executor on real clusters on loopback: the same results as the local pool, a worker
killed mid-sweep loses nothing, and a scheduler and worker started as separate processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockout.executors import DaskExecutor
from stockout.experiment import run_replications
from stockout.scenario.load import scenario_from_dict
from stockout.scenario.schema import Scenario
from stockout.summary import replications_frame
from stockout.sweep import SweepProgress, sweep

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.cluster

VARY = {"customers.patience_days.mean": [1, 8], "products.widget.demand.orders_per_day": [2, 4]}


def _scenario(reps: int = 3) -> Scenario:
    from tests.test_sweep import tiny

    return scenario_from_dict(tiny(replications=reps), "tiny.toml")


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    ) as local:
        yield local


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ref") / "pool"
    sweep(_scenario(), VARY, jobs=2, out_dir=folder, report=False)
    return folder


def test_local_cluster_equals_local_pool(
    cluster: distributed.LocalCluster, reference: Path, tmp_path: Path
) -> None:
    scenario = _scenario()
    inline = run_replications(scenario)
    remote = run_replications(scenario, executor=cluster.scheduler_address)
    assert replications_frame(remote).equals(replications_frame(inline))
    sweep(scenario, VARY, scheduler=cluster.scheduler_address, out_dir=tmp_path / "d", report=False)
    for name in ("sweep.csv", "points.csv", "winners.csv"):
        assert (tmp_path / "d" / name).read_bytes() == (reference / name).read_bytes()


def test_killed_worker_loses_no_point(
    cluster: distributed.LocalCluster, reference: Path, tmp_path: Path
) -> None:
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        pids = list(client.run(os.getpid).values())
        killed: list[int] = []

        def kill_once(p: SweepProgress) -> None:
            if not killed:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        result = sweep(
            _scenario(),
            VARY,
            executor=DaskExecutor(client),
            out_dir=tmp_path / "k",
            progress=kill_once,
            report=False,
        )
        assert killed and len(result.points) == 4
        assert list(result.points["replications"]) == [3] * 4
        assert (tmp_path / "k" / "sweep.csv").read_bytes() == (reference / "sweep.csv").read_bytes()
        client.wait_for_workers(2, timeout=30)  # the nanny restarts it for the next test


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_separate_scheduler_and_worker_processes(reference: Path, tmp_path: Path) -> None:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cli = str(Path(sys.executable).parent / "dask")
    scheduler = subprocess.Popen(
        [cli, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    worker = subprocess.Popen(
        [
            cli,
            "worker",
            address,
            "--host",
            "127.0.0.1",
            "--nthreads",
            "1",
            "--nworkers",
            "2",
            "--no-dashboard",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        client = None
        while client is None:
            try:
                client = distributed.Client(address, timeout=2, set_as_default=False)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        with client:
            client.wait_for_workers(2, timeout=30)
        sweep(_scenario(), VARY, scheduler=address, out_dir=tmp_path / "sub", report=False)
        assert (tmp_path / "sub" / "sweep.csv").read_bytes() == (
            reference / "sweep.csv"
        ).read_bytes()
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
