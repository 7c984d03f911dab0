"""Results are safe (issue 8): atomic files, manifest.json last, no overwrite, clean Ctrl-C.

- Every file goes through a temporary name and a rename: interrupted, the target is absent or
  complete and no temporary file is left behind.
- ``manifest.json`` is written last: a folder without it is incomplete, and ``stockout report``
  on such a folder says so (exit 2).
- An existing, non-empty ``--out`` folder is never written into (exit 2, contents untouched).
- SIGINT during a real ``stockout run`` (one process, and a pool with ``--jobs 2``, signalled
  alone or as a whole process group like a terminal's Ctrl-C) ends promptly with exit 130, a
  clear message and no traceback, leaves nothing that looks complete, and kills no-one's future:
  a rerun into a new folder succeeds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

import stockout
from stockout import results_io
from stockout.cli import main
from stockout.results_io import to_toml, write_atomic
from stockout.scenario.load import scenario_from_dict


def small(horizon: float = 30.0, reps: int = 2) -> dict[str, Any]:
    return {
        "scenario": {"name": "safe", "horizon_days": horizon, "replications": reps, "seed": 5},
        "products": [{
            "id": "w", "price": 3.0, "initial_stock": 5,
            "demand": {"orders_per_day": 4.0},
            "replenishment": {"rule": "base_stock", "order_up_to": 8, "supplier": "s"},
        }],
        "suppliers": [{"id": "s", "lead_time_days": {"dist": "constant", "value": 2.0}}],
    }


def long_scenario(tmp_path: Path) -> Path:
    """Takes tens of seconds: 4 runs of 1.6 million customers each (a run that ends before the
    signal comes cannot show that the signal stops it)."""
    path = tmp_path / "long.toml"
    path.write_text(to_toml(small(horizon=400_000.0, reps=2) | {"scenario": {
        "name": "long", "horizon_days": 400_000.0, "replications": 2, "seed": 5}}))
    return path


# ---------------------------------------------------------------------------------------------
# Atomic writes and the manifest
# ---------------------------------------------------------------------------------------------


def test_write_atomic_leaves_old_content_or_nothing(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "summary.csv"
    write_atomic(target, b"old\n")

    def interrupted(*_: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(results_io.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new and half written")
    assert target.read_bytes() == b"old\n"
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "fresh.csv", b"x")
    assert not (tmp_path / "fresh.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv"]  # no temp files left


def test_manifest_is_the_last_file_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[str] = []
    real = results_io.write_atomic

    def spy(path: Path, data: bytes) -> None:
        real(path, data)
        written.append(path.name)

    monkeypatch.setattr(results_io, "write_atomic", spy)
    results = stockout.run(scenario_from_dict(small()), jobs=1)
    results.save(tmp_path / "out")
    assert written[-1] == "manifest.json" and written.count("manifest.json") == 1
    on_disk = {p.name for p in (tmp_path / "out").iterdir()}
    assert set(written) <= on_disk and "report.html" in on_disk


@pytest.mark.parametrize("fail_at", ["timeseries.csv", "report.html"])
def test_interrupted_save_leaves_no_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str],
                                             fail_at: str) -> None:
    """Ctrl-C while the folder is being written (a table, or the report): exit 130, the message
    says the folder is incomplete, and there is no manifest.json."""
    real = results_io.write_atomic

    def interrupt_at(path: Path, data: bytes) -> None:
        if path.name == fail_at:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(results_io, "write_atomic", interrupt_at)
    import stockout.report.html as report_html

    monkeypatch.setattr(report_html, "write_atomic", interrupt_at, raising=False)
    path = tmp_path / "s.toml"
    path.write_text(to_toml(small()))
    out = tmp_path / "out"
    code = main(["run", str(path), "--jobs", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not (out / "manifest.json").exists()
    if out.exists() and any(out.iterdir()):
        assert "incomplete" in err
        # and the report command refuses it, saying why
        assert main(["report", str(out)]) == 2
        assert "incomplete" in capsys.readouterr().err


def test_report_on_a_folder_without_manifest_says_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = stockout.run(scenario_from_dict(small()), jobs=1).save(tmp_path / "out", report=False)
    assert main(["report", str(out)]) == 0
    capsys.readouterr()
    (out / "manifest.json").unlink()
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err
    assert "incomplete" in err and "manifest.json" in err and "Traceback" not in err


def test_existing_results_folder_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(to_toml(small()))
    out = tmp_path / "out"
    assert main(["run", str(path), "--jobs", "1", "--out", str(out), "--no-report", "-q"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(["run", str(path), "--jobs", "1", "--seed", "9", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # a stray file is enough to protect a folder; a file in the way is refused too
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main(["run", str(path), "--jobs", "1", "--out", str(other), "-q"]) == 2
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    assert main(["run", str(path), "--jobs", "1", "--out", str(other / "notes.txt"), "-q"]) == 2
    assert (other / "notes.txt").read_text() == "mine"
    # two runs without --out get two different folders
    a = stockout.run(scenario_from_dict(small()), jobs=1)
    assert a.save(results_root=tmp_path / "r") != a.save(results_root=tmp_path / "r")


# ---------------------------------------------------------------------------------------------
# SIGINT during a real run
# ---------------------------------------------------------------------------------------------


def _wait_until_simulating(proc: subprocess.Popen[str], jobs: int, timeout: float = 60.0) -> None:
    """Until the run is past start-up: the workers exist and have worked (jobs > 1), or the
    process has used more CPU than importing takes; then 1.5 s more."""
    ps = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended early: {proc.communicate()}"
        try:
            if jobs > 1:
                kids = ps.children()
                if len(kids) >= jobs and sum(k.cpu_times().user for k in kids) > 0.3:
                    break
            elif ps.cpu_times().user > 2.0:
                break
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.1)
    time.sleep(1.5)


@pytest.mark.slow
@pytest.mark.parametrize(("jobs", "group"), [(1, False), (2, False), (2, True)],
                         ids=["one-process", "pool-parent-only", "pool-ctrl-c-group"])
def test_sigint_stops_a_run_cleanly_and_a_rerun_succeeds(
    tmp_path: Path, jobs: int, group: bool
) -> None:
    path = long_scenario(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stockout", "run", str(path), "--jobs", str(jobs), "--out",
         str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        start_new_session=True, env={**os.environ, "STOCKOUT_DEBUG": ""},
    )
    try:
        _wait_until_simulating(proc, jobs)
        workers = psutil.Process(proc.pid).children(recursive=True)
        sent = time.monotonic()
        if group:
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        else:
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "interrupted" in err, err
    assert "Traceback" not in err and "Error" not in err, err
    assert took < 10, f"took {took:.1f} s to stop after SIGINT"
    assert not (out / "manifest.json").exists()
    gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, f"worker processes left behind: {alive}"
    # a rerun into a new folder succeeds (in this process: the interrupted one was real)
    again = tmp_path / "again"
    code = main(["run", str(path), "--jobs", str(jobs), "--horizon", "50", "--out", str(again),
                 "--no-report", "-q"])
    assert code == 0
    assert (again / "manifest.json").is_file()


@pytest.mark.slow
def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path) -> None:
    """``kill`` (or a batch system's time limit) during a pool run: exit 130 with a message and
    no traceback, the workers stopped with the run (they went on as orphans, computing for
    nobody), and no empty output folder left behind."""
    path = tmp_path / "longer.toml"  # minutes of work: the signal comes while simulating
    path.write_text(to_toml(small(horizon=400_000.0, reps=2)))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stockout", "run", str(path), "--jobs", "2", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        start_new_session=True, env={**os.environ, "STOCKOUT_DEBUG": ""},
    )
    try:
        _wait_until_simulating(proc, 2)
        workers = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        try:  # the whole session: orphaned workers too, whatever happened to the parent
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    gone, alive = psutil.wait_procs(workers, timeout=5)
    for worker in alive:
        worker.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert not alive, f"worker processes left behind: {alive}"
    assert not out.exists(), err
