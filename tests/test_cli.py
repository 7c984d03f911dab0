"""The ``stockout`` command, called for real: exit codes, messages, and the files it writes.

Most tests call :func:`stockout.cli.main` in-process (fast, monkeypatchable); a few run the
installed module in a subprocess to check what a user sees, tracebacks included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import stockout
from stockout import api, cli, results_io
from stockout.records import METRICS

GOOD = """\
[scenario]
name = "clitest"
title = "CLI [test] scenario"
description = '''
Teaches nothing.  It only
exercises the command line. Second sentence.
'''
horizon_days = 40
warmup_days = 5
replications = 3
seed = 3

[customers]
patience_days = { dist = "exponential", mean = 5 }

[[products]]
id = "widget"
price = 10
unit_cost = 4
initial_stock = 8
[products.demand]
orders_per_day = 3
[products.replenishment]
rule = "s_S"
reorder_point = 4
order_up_to = 20
supplier = "acme"

[[suppliers]]
id = "acme"
lead_time_days = { dist = "constant", value = 4 }

[[policies]]
name = "backorder"
availability = "backorder"

[[policies]]
name = "out-of-stock"
availability = "out_of_stock"
"""

BAD = """\
[scenario]
name = "bad"
horizon_days = 40

[[products]]
id = "widget"
price = -3
[products.demand]
orders_per_dya = 3
"""

CONTRACT_FILES = {
    "scenario.toml", "summary.csv", "replications.csv", "timeseries.csv", "waits.csv",
    "disruptions.csv", "manifest.json",
}  # fmt: skip


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    return path


def stockout_cmd(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_folder(root: Path) -> Path:
    (folder,) = [p for p in (root / "clitest").iterdir()]
    return folder


# ---- run -----------------------------------------------------------------------------------


def test_run_writes_the_results_folder(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "results"
    code, out, err = stockout_cmd(
        "run", good, "--results-root", root, "--no-report", "--reps", "2", capsys=capsys
    )
    assert code == 0, err
    folder = run_folder(root)
    assert {p.name for p in folder.iterdir()} == CONTRACT_FILES
    assert f"results: {folder}" in out
    for heading in ("revenue kept", "gross profit", "fill rate", "churn rate", "storage cost"):
        assert heading in out
    assert "CLI [test] scenario" in out  # no rich markup eaten
    assert "baseline" in out and "Δ" in out
    assert err == ""  # stderr is not a terminal: no progress bar
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["replications"] == 2
    assert manifest["command"][:2] == ["stockout", "run"]
    assert list(pd.read_csv(folder / "replications.csv").columns)[3:] == list(METRICS)


def test_run_with_out_and_policies(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "here"
    code, out, err = stockout_cmd(
        "run", good, "--out", out_dir, "--policies", "out-of-stock", "--no-report", "--quiet",
        "--horizon", "30", "--seed", "8", capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    assert out.strip() == str(out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["policies"] == ["out-of-stock"]
    assert manifest["baseline"] == "out-of-stock"
    assert (manifest["horizon_days"], manifest["seed"]) == (30.0, 8)
    assert api.load(out_dir / "scenario.toml").scenario.horizon_days == 30.0


def test_run_with_report(good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = stockout_cmd("run", good, "--out", tmp_path / "r", "-q", capsys=capsys)
    assert code == 0, err
    files = json.loads((tmp_path / "r" / "manifest.json").read_text())["files"]
    assert "report.html" in files and (tmp_path / "r" / "report.html").is_file()


def test_same_seed_gives_identical_files(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folders = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    for folder, jobs in zip(folders, ("1", "1", "2"), strict=True):
        code, _, err = stockout_cmd(
            "run", good, "--out", folder, "--jobs", jobs, "--no-report", "-q", capsys=capsys
        )
        assert code == 0, err
    for name in ("summary.csv", "replications.csv", "timeseries.csv", "waits.csv"):
        first = (folders[0] / name).read_bytes()
        assert (folders[1] / name).read_bytes() == first, name  # same seed twice
        assert (folders[2] / name).read_bytes() == first, name  # --jobs 1 vs --jobs 2


# ---- bad input: exit 2, a located message, never a traceback --------------------------------


def test_bad_file_exits_2_with_every_problem(
    bad: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = stockout_cmd("run", bad, "--results-root", tmp_path, capsys=capsys)
    assert code == 2
    assert "Traceback" not in out + err
    assert f"{bad}:7: products[widget].price" in err
    assert "orders_per_dya" in err and "did you mean 'orders_per_day'" in err
    assert not (tmp_path / "bad").exists()


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.toml"
    code, out, err = stockout_cmd("run", missing, capsys=capsys)
    assert code == 2
    assert str(missing) in err and "Traceback" not in out + err


def test_non_empty_out_exits_2_before_running(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out_dir = tmp_path / "used"
    out_dir.mkdir()
    (out_dir / "old.csv").write_text("keep")

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the run should not start")

    monkeypatch.setattr(api, "run", no_run)
    code, out, err = stockout_cmd("run", good, "--out", out_dir, capsys=capsys)
    assert code == 2
    assert str(out_dir) in err and "not empty" in err and "Traceback" not in out + err
    assert [p.name for p in out_dir.iterdir()] == ["old.csv"]


def test_unknown_policy_exits_2(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = stockout_cmd("run", good, "--policies", "backorder,preorder", capsys=capsys)
    assert code == 2
    assert "--policies" in err and "unknown policy 'preorder'" in err and str(good) in err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    "option", [["--reps", "0"], ["--jobs", "-1"], ["--seed", "x"], ["--horizon", "2"]]
)
def test_bad_option_values_exit_2(
    good: Path, option: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = stockout_cmd("run", good, *option, capsys=capsys)
    assert code == 2
    assert "Traceback" not in out + err
    assert err.strip()


def test_bad_input_in_a_real_process_has_no_traceback(bad: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stockout", "run", str(bad), "--results-root", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "STOCKOUT_DEBUG": ""},
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert "products[widget].price" in done.stderr


# ---- internal errors and interrupts --------------------------------------------------------


def broken_run(*args: object, **kwargs: object) -> None:
    raise RuntimeError("model fell over")


def test_internal_error_exits_1_traceback_only_with_debug(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # results/ of the working folder: this one, left empty
    monkeypatch.delenv("STOCKOUT_DEBUG", raising=False)
    monkeypatch.setattr(api, "run", broken_run)
    code, out, err = stockout_cmd("run", good, capsys=capsys)
    assert code == 1
    assert "internal error: RuntimeError: model fell over" in err
    assert "Traceback" not in out + err and "--debug" in err
    code, _, err = stockout_cmd("run", good, "--debug", capsys=capsys)
    assert code == 1 and "Traceback" in err
    monkeypatch.setenv("STOCKOUT_DEBUG", "1")
    code, _, err = stockout_cmd("run", good, capsys=capsys)
    assert code == 1 and "Traceback" in err
    assert not (tmp_path / "results").exists()  # the folders it made are gone again


def test_running_out_of_memory_is_a_clear_error_not_an_internal_one(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    def too_big(*args: object, **kwargs: object) -> None:
        raise MemoryError("Unable to allocate 466. GiB for an array")

    monkeypatch.delenv("STOCKOUT_DEBUG", raising=False)
    monkeypatch.setattr(api, "run", too_big)
    code, out, err = stockout_cmd("run", good, capsys=capsys)
    assert code == 2
    assert "needs more memory than this machine has (Unable to allocate 466. GiB" in err
    assert "make them smaller" in err and "internal error" not in err
    assert "Traceback" not in out + err
    code, _, err = stockout_cmd("run", good, "--debug", capsys=capsys)
    assert code == 2 and "Traceback" in err
    assert not (tmp_path / "results").exists()


def test_ctrl_c_during_the_run_writes_nothing(
    good: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "run", interrupted)
    root = tmp_path / "results"
    code, _, err = stockout_cmd("run", good, "--results-root", root, capsys=capsys)
    assert code == 130
    assert "interrupted: no results written" in err
    assert not root.exists() or not any(root.rglob("*.json"))


def test_ctrl_c_while_writing_leaves_an_incomplete_folder(
    good: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = results_io.write_atomic

    def interrupted(path: Path, data: bytes) -> None:
        if path.name == "timeseries.csv":
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(results_io, "write_atomic", interrupted)
    out_dir = tmp_path / "partial"
    code, _, err = stockout_cmd("run", good, "--out", out_dir, "--no-report", capsys=capsys)
    assert code == 130
    assert f"interrupted: folder {out_dir} is incomplete (no manifest.json)" in err
    assert (out_dir / "summary.csv").is_file()
    assert not (out_dir / "manifest.json").exists()


def test_failing_report_keeps_the_tables(
    good: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import stockout.report

    monkeypatch.setattr(stockout.report, "write_report", broken_run)
    out_dir = tmp_path / "r"
    code, out, err = stockout_cmd("run", good, "--out", out_dir, capsys=capsys)
    assert code == 1
    assert "model fell over" in err and f"stockout report {out_dir}" in err
    assert "Traceback" not in err
    assert (out_dir / "summary.csv").is_file() and (out_dir / "manifest.json").is_file()
    assert f"results: {out_dir}" in out


# ---- validate, schema, scenarios, report, version ------------------------------------------


def test_validate_lists_every_problem(
    good: Path, bad: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.toml"
    code, out, err = stockout_cmd("validate", good, bad, missing, capsys=capsys)
    assert code == 2
    assert f"{good}: ok" in out
    assert f"{bad}:7: products[widget].price" in out
    assert "orders_per_dya" in out
    assert str(missing) in out
    assert "2 of 3" in err and "Traceback" not in out + err


def test_validate_all_good(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = stockout_cmd("validate", good, capsys=capsys)
    assert (code, out) == (0, f"{good}: ok\n")


def test_schema_prints_valid_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = stockout_cmd("schema", capsys=capsys)
    assert code == 0
    schema = json.loads(out)
    assert "scenario" in json.dumps(schema) and isinstance(schema, dict)
    target = tmp_path / "schema.json"
    code, _, _ = stockout_cmd("schema", "--out", target, capsys=capsys)
    assert code == 0 and json.loads(target.read_text()) == schema
    code, _, err = stockout_cmd("schema", "--out", tmp_path / "no" / "s.json", capsys=capsys)
    assert code == 2 and "Traceback" not in err


def test_scenarios_lists_name_title_and_first_sentence(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = stockout_cmd("scenarios", tmp_path, capsys=capsys)
    assert code == 0
    assert "good.toml (clitest)" in out and "CLI [test] scenario" in out  # file, name, title
    assert "Second sentence" not in out
    code, _, err = stockout_cmd("scenarios", tmp_path / "nowhere", capsys=capsys)
    assert code == 2 and "nowhere" in err


def test_scenarios_finds_the_cwd_folder(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "scenarios").mkdir()
    good.rename(tmp_path / "scenarios" / "good.toml")
    monkeypatch.chdir(tmp_path)
    assert api.scenario_dirs()[0] == Path.cwd() / "scenarios"
    assert any(info.name == "clitest" for info in api.list_scenarios())


def test_report_rebuilds_and_rejects_a_non_folder(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "r"
    assert stockout_cmd("run", good, "--out", out_dir, "--no-report", capsys=capsys)[0] == 0
    code, out, err = stockout_cmd("report", out_dir, capsys=capsys)
    assert code == 0, err
    assert (out_dir / "report.html").is_file() and "report.html" in out
    code, _, err = stockout_cmd("report", tmp_path / "none", capsys=capsys)
    assert code == 2 and "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = stockout_cmd("--version", capsys=capsys)
    assert (code, out.strip()) == (0, f"stockout {stockout.__version__}")


def test_python_dash_m_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stockout", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("stockout ")


def test_stage_times_are_written_when_asked(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """STOCKOUT_TIMINGS: the command's stages beside the simulation's own time, as JSON."""
    from stockout import stages

    monkeypatch.setattr(stages, "TIMES", {})
    timings = tmp_path / "timings.json"
    monkeypatch.setenv("STOCKOUT_TIMINGS", str(timings))
    code, _, err = stockout_cmd("run", good, "--out", tmp_path / "out", "--reps", "2",
                                "--jobs", "1", capsys=capsys)  # fmt: skip
    assert code == 0, err
    data = json.loads(timings.read_text(encoding="utf-8"))
    stages_seen = data["stages"]
    assert set(stages_seen) == {"load", "simulate", "summarise", "timeseries", "report", "write"}
    assert all(t >= 0 for t in stages_seen.values())
    assert sum(stages_seen.values()) <= data["command_seconds"]
