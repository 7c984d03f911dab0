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

from stockout.executors import ClusterLost, ClusterUnavailable, DaskExecutor, WorkerMismatch
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
        dashboard_address="127.0.0.1:0",
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
        [cli, "scheduler", "--host", "127.0.0.1", "--port", str(port)]
        + ["--dashboard-address", "127.0.0.1:0"],  # (--no-dashboard still binds 8787)
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


# ---------------------------------------------------------------------------------------------
# Addresses that are not a usable scheduler, workers that cannot run our code
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers (like a web server waiting for
    a request: the dashboard's port given by mistake)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_not_a_scheduler_is_a_clear_error_not_a_hang(silent_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(ClusterUnavailable, match="no answer within 1 s"):
        DaskExecutor(silent_server, connect_timeout=1)
    assert time.monotonic() - started < 15
    with pytest.raises(ClusterUnavailable, match="missing port"):
        DaskExecutor("tcp://127.0.0.1", connect_timeout=1)


def test_scheduler_without_workers_waits_a_bounded_time() -> None:
    said: list[str] = []
    with distributed.LocalCluster(
        n_workers=0, processes=False, dashboard_address="127.0.0.1:0", silence_logs=50
    ) as empty:
        with pytest.raises(ClusterUnavailable, match="has no workers.*dask worker"):
            DaskExecutor(empty.scheduler_address, worker_wait=1, notify=said.append)
    assert said and "waiting up to 1 s" in said[0]


def test_workers_with_other_stockout_code_are_refused(
    cluster: distributed.LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stockout import executors

    monkeypatch.setattr(executors, "code_fingerprint", lambda: "another-checkout")
    with pytest.raises(ClusterUnavailable, match="must run the same stockout"):
        DaskExecutor(cluster.scheduler_address)
    # and a worker refuses a job sent by other code (a worker that joined after the check)
    with pytest.raises(WorkerMismatch):
        executors._run_remote(_scenario(1), [("backorder", 0)], None, (), "the client's code")


def test_cli_run_with_a_lost_cluster_says_so_without_traceback(
    cluster: distributed.LocalCluster,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.test_sweep import tiny

    from stockout import api, cli
    from stockout.results_io import to_toml

    def lost(*args: object, **kwargs: object) -> None:
        raise ClusterLost("the Dask scheduler at tcp://x dropped the work (connection lost?)")

    monkeypatch.setattr(api, "run", lost)
    file = tmp_path / "tiny.toml"
    file.write_text(to_toml(tiny()), encoding="utf-8")
    code = cli.main(["run", str(file), "--scheduler", cluster.scheduler_address, "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "dropped the work" in err and "no results written" in err
    assert "internal error" not in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# A custom policy next to the scenario reaches the workers, as it is now
# ---------------------------------------------------------------------------------------------

POLICY = '''
from stockout.policies.availability import Offer


class Buffered:
    partial_shipments = False
    payment = "at_order"
    notify_me_share = 0.0

    def on_shortage(self, s):
        return Offer.backorder(s.quote_day + {buffer})
'''


def test_custom_policy_module_is_shipped_and_never_stale(
    cluster: distributed.LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers' working directory is not the client's, and they live on between runs: the
    module is sent with the jobs, and an edited module is used at once (not the cached one)."""
    from tests.test_sweep import tiny

    folder = tmp_path / "proj"
    folder.mkdir()
    module = folder / "shipped_policy_mod.py"
    data = tiny(replications=2)
    data["policies"] = [
        {"name": "backorder", "availability": "backorder"},
        {"name": "mine", "availability": "custom", "class": "shipped_policy_mod:Buffered"},
    ]
    scenario = scenario_from_dict(data, "tiny.toml")
    monkeypatch.chdir(tmp_path)  # a relative folder, as `stockout run proj/shop.toml` gives
    frames = []
    for buffer in ("1.0", "12.5"):
        module.write_text(POLICY.format(buffer=buffer), encoding="utf-8")
        here = run_replications(scenario, search_dir=Path("proj"))
        there = run_replications(
            scenario, search_dir=Path("proj"), executor=cluster.scheduler_address
        )
        assert replications_frame(there).equals(replications_frame(here))
        frames.append(replications_frame(there))
    assert not frames[0].equals(frames[1])  # the edit took effect everywhere


def test_optimize_on_a_dask_cluster_chooses_as_locally(
    cluster: distributed.LocalCluster,
) -> None:
    """``stockout.optimize`` runs its replications on the cluster, with the same choices."""
    import stockout

    scenario = _scenario()
    search = ["products.widget.replenishment.order_up_to=10..30..5"]
    local = stockout.optimize(scenario, search, indifference=5.0)
    remote = stockout.optimize(scenario, search, indifference=5.0,
                               scheduler=cluster.scheduler_address)
    keep = [c for c in local.optimum.columns if c not in ("search_seconds", "runs_simulated")]
    assert local.optimum[keep].equals(remote.optimum[keep])
    assert local.candidates.equals(remote.candidates)
