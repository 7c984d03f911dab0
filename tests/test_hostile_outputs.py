"""Hostile command-line options, output places and folders found by an audit: each exits 2
with a message naming the file or option and what to do, never an internal error or lost work.

- ``--jobs`` far above the number of runs (a process forked per job, or an OverflowError);
- output that cannot be written: a results root that is a file (found only after the whole
  simulation), a full disk (internal error, the computed table lost), ``--out`` a folder, a
  missing folder or a device (a device was *replaced* by a regular file);
- ``stockout report`` and ``sweep --resume`` on damaged folders (internal errors).
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from test_hostile_inputs import base, cli, run_args, write

from stockout import api, experiment, results_io, sweep
from stockout.cli import main
from stockout.results_io import to_toml

# ---- --jobs --------------------------------------------------------------------------------


def test_no_more_worker_processes_than_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    real = experiment.make_executor

    def record(jobs: int = 1, scheduler: Any = None) -> Any:
        asked.append(jobs)
        return real(1, scheduler)

    monkeypatch.setattr(experiment, "make_executor", record)
    api.run(base(), jobs=10**12)  # 1 policy x 2 replications
    assert asked == [2]


def test_absurd_jobs_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, base())
    code, text = cli(capsys, "run", path, "--jobs", str(10**12))
    assert code == 2 and "--jobs" in text and "4096" in text


# ---- output that cannot be written ---------------------------------------------------------


def test_an_unusable_results_root_is_found_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated although the results could not be written")

    monkeypatch.setattr(api, "run", must_not_run)
    root = tmp_path / "a-file"
    root.write_text("")
    path = write(tmp_path, base())
    code, text = cli(capsys, "run", path, "--results-root", root)
    assert code == 2 and f"{root / 'hostile'}: cannot create the results folder" in text
    code, text = cli(capsys, "run", path, "--out", root / "sub")
    assert code == 2 and "cannot create the output folder" in text


def test_an_interrupted_or_failed_run_leaves_no_empty_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base()
    data["policies"] = [{"name": "x", "availability": "custom", "class": "no_such_mod:Policy"}]
    path = write(tmp_path, data)
    root = tmp_path / "results"
    code, _ = cli(capsys, "run", path, "--results-root", root, "--jobs", "1", "--allow-code")
    assert code == 2
    assert not root.exists()  # the run folder, and the folders made for it, are gone


def test_a_full_disk_while_saving_keeps_the_table_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = results_io.write_atomic

    def full(target: Path, data: bytes) -> None:
        if target.name == "timeseries.csv":
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        real(target, data)

    monkeypatch.setattr(results_io, "write_atomic", full)
    path, out = write(tmp_path, base()), tmp_path / "out"
    code, text = cli(capsys, "run", path, "--jobs", "1", "--no-report", "--out", out)
    assert code == 2
    assert "revenue kept" in text  # the computed summary is shown, not lost
    assert "cannot write (No space left on device); free some disk space" in text
    assert f"{out} is incomplete (no manifest.json)" in text


def test_a_full_disk_during_a_sweep_keeps_the_finished_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sweep._write_atomic
    written: list[str] = []

    def full(target: Path, data: bytes) -> None:
        if target.name.startswith("00001"):
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        written.append(target.name)
        real(target, data)

    monkeypatch.setattr(sweep, "_write_atomic", full)
    path, out = write(tmp_path, base()), tmp_path / "sweep"
    code, text = cli(capsys, "sweep", path, "--vary", "products.w.price=5,6", "--jobs", "1",
                     "--no-report", "-q", "--out", out)
    assert code == 2
    assert "No space left on device" in text and f"stockout sweep --resume {out}" in text
    assert "00000.json" in written


@pytest.mark.parametrize("command", ["trace", "schema"])
def test_out_that_is_a_folder_or_in_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    head = ["trace", write(tmp_path, base()), "--days", "1"] if command == "trace" else [command]
    code, text = cli(capsys, *head, "--out", tmp_path)
    assert code == 2 and "is a folder; give a file name for --out" in text
    code, text = cli(capsys, *head, "--out", tmp_path / "no" / "such" / "f.txt")
    assert code == 2 and "no such folder for --out" in text


@pytest.mark.skipif(not Path("/dev/null").is_char_device(), reason="needs /dev/null")
@pytest.mark.parametrize("command", ["trace", "schema"])
def test_out_to_a_device_writes_into_it_and_never_replaces_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    head = ["trace", write(tmp_path, base()), "--days", "1"] if command == "trace" else [command]
    sink = tmp_path / "sink"
    sink.symlink_to("/dev/null")  # a replaced symlink is what a replaced device would be
    code, _ = cli(capsys, *head, "--out", sink)
    assert code == 0
    assert sink.is_symlink() and sink.is_char_device()
    if Path("/dev/full").is_char_device():
        full = tmp_path / "full"
        full.symlink_to("/dev/full")
        code, text = cli(capsys, *head, "--out", full)
        assert code == 2 and "No space left on device" in text
        assert full.is_symlink()


# ---- damaged folders -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("results")
    out = tmp / "out"
    assert main([str(a) for a in run_args(write(tmp, base()), out)]) == 0
    return out


def _damage(folder: Path, how: str) -> str:
    """Damage ``folder`` and return the file the message must name."""
    if how == "empty-summary":
        (folder / "summary.csv").write_text("")
        return "summary.csv"
    if how == "binary-summary":
        (folder / "summary.csv").write_bytes(b"\x00\xff\xfe\x01")
        return "summary.csv"
    if how == "text-in-numbers":
        lines = (folder / "summary.csv").read_text().splitlines()
        header = lines[0].split(",")
        row = lines[1].split(",")
        row[header.index("mean")] = "lots"
        (folder / "summary.csv").write_text("\n".join([lines[0], ",".join(row), *lines[2:]]))
        return "summary.csv"
    if how == "manifest-not-json":
        (folder / "manifest.json").write_text("{nope")
        return "manifest.json"
    if how == "manifest-a-list":
        (folder / "manifest.json").write_text(json.dumps([1, 2]))
        return "manifest.json"
    if how == "scenario-not-toml":
        (folder / "scenario.toml").write_text("[[[[")
        return "scenario.toml"
    if how == "table-a-folder":
        (folder / "waits.csv").unlink()
        (folder / "waits.csv").mkdir()
        return "waits.csv"
    assert how == "report-a-folder"
    (folder / "report.html").mkdir()
    return "report.html"


@pytest.mark.parametrize(
    "how",
    ["empty-summary", "binary-summary", "text-in-numbers", "manifest-not-json",
     "manifest-a-list", "scenario-not-toml", "table-a-folder", "report-a-folder"],
)
def test_report_on_a_damaged_folder_says_which_file(
    results_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(results_folder, folder)
    name = _damage(folder, how)
    code, text = cli(capsys, "report", folder)
    assert code == 2
    assert str(folder / name) in text


@pytest.mark.parametrize("damage", ["not-json", "a-list", "no-values"])
def test_resuming_a_damaged_sweep_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "scenario.toml").write_text(to_toml(base()))
    text = {"not-json": "{", "a-list": "[]", "no-values": json.dumps({"parameters": ["x"]})}
    (folder / "sweep.json").write_text(text[damage])
    code, out = cli(capsys, "sweep", "--resume", folder, "--jobs", "1")
    assert code == 2
    assert f"{folder}: the sweep folder is damaged" in out and "new folder" in out


def test_sweep_out_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, base())
    code, text = cli(capsys, "sweep", path, "--vary", "products.w.price=5,6", "--out", path)
    assert code == 2 and "exists and is not a folder" in text
    assert os.path.getsize(path) > 0


# ---------------------------------------------------------------------------------------------
# Issue 20, part 5: terminal escape injection
# ---------------------------------------------------------------------------------------------

RETITLE = "\u001b]0;PWNED\u0007"
CLEAR = "\u001b[2J"
CSI8 = "\u009b2J"  # the 8-bit CSI some terminals obey in UTF-8


def escaped_scenario() -> dict[str, Any]:
    data = base()
    data["scenario"]["title"] = f"Shop{RETITLE}{CLEAR}"
    data["products"][0]["id"] = f"w{CLEAR}"
    data["products"][0]["replenishment"]["supplier"] = "s"
    data["policies"] = [{"name": f"bo{RETITLE}", "availability": "backorder"},
                        {"name": f"oos{CSI8}", "availability": "out_of_stock"}]
    return data


def assert_no_raw_controls(text: str) -> None:
    assert "\u001b" not in text and "\u0007" not in text and "\u009b" not in text, repr(text)


def test_escape_sequences_in_title_and_policy_names_never_reach_the_terminal_from_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, escaped_scenario())
    code, text = cli(capsys, "run", path, "--jobs", "1", "--no-report", "--out", tmp_path / "o")
    assert code == 0, text
    assert_no_raw_controls(text)
    assert "\\x1b]0;PWNED\\x07" in text  # shown, harmlessly


@pytest.mark.parametrize("fmt", ["text", "csv", "json"])
def test_escape_sequences_in_product_names_never_reach_the_terminal_from_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    path = write(tmp_path, escaped_scenario())
    code, text = cli(capsys, "trace", path, "--days", "5", "--format", fmt)
    assert code == 0, text
    assert_no_raw_controls(text)
    assert ("\\u001b[2J" if fmt == "json" else "\\x1b[2J") in text
    if fmt == "json":  # still valid JSON, with the same data
        assert {row["product"] for row in json.loads(text)} == {f"w{CLEAR}"}


def test_escape_sequences_never_reach_the_terminal_from_sweep_or_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, escaped_scenario())
    code, text = cli(capsys, "sweep", path, "--vary", "products.0.price=5,6", "--jobs", "1",
                     "--no-report", "--out", tmp_path / "sw")
    assert code == 0, text
    assert_no_raw_controls(text)
    code, text = cli(capsys, "trace", path, "--policy", f"nope{CLEAR}")
    assert code == 2
    assert_no_raw_controls(text)
    code, text = cli(capsys, "validate", path, tmp_path / f"missing{RETITLE}.toml")
    assert code == 2
    assert_no_raw_controls(text)
