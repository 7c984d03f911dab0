"""Results folders under attack (issue 20, parts 2 and 4): a second run never overwrites, mixes
with or deletes the first, and a hand-edited or damaged folder is bad input (exit 2), never an
internal error.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile_inputs import cli, write

import stockout
from stockout.claim import CLAIM_FILE, claim_folder, holder_of
from stockout.cli import main
from stockout.results_io import OutDirError
from stockout.scenario.load import scenario_from_dict


def base(horizon: float = 20.0, reps: int = 2) -> dict[str, Any]:
    return {
        "scenario": {"name": "hostile", "horizon_days": horizon, "replications": reps, "seed": 1},
        "products": [{
            "id": "w", "price": 10.0, "initial_stock": 10,
            "demand": {"orders_per_day": 3.0},
            "replenishment": {"rule": "s_S", "reorder_point": 3, "order_up_to": 10,
                              "supplier": "s"},
        }],
        "suppliers": [{"id": "s", "lead_time_days": {"dist": "constant", "value": 2.0}}],
        "policies": [{"name": "bo", "availability": "backorder"},
                     {"name": "oos", "availability": "out_of_stock"}],
    }


def complete_and_consistent(folder: Path) -> dict[str, Any]:
    """The folder is one run's complete results: a manifest whose checksums match its tables."""
    import hashlib

    manifest = json.loads((folder / "manifest.json").read_text())
    for name, digest in manifest["checksums"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert not (folder / CLAIM_FILE).exists()
    return manifest


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("results")
    out = tmp / "out"
    args = ["run", write(tmp, base()), "--jobs", "1", "--no-report", "-q", "--out", out]
    assert main([str(a) for a in args]) == 0
    return out


# ---------------------------------------------------------------------------------------------
# Part 2: one folder, one run
# ---------------------------------------------------------------------------------------------


def test_second_run_into_an_out_claimed_by_a_live_run_exits_2_and_leaves_it_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    claim = claim_folder(out)  # run A, still simulating
    try:
        code, text = cli(capsys, "run", write(tmp_path, base()), "--jobs", "1", "-q",
                         "--no-report", "--out", out)
        assert code == 2 and "in use by another run" in text and f"pid {os.getpid()}" in text
        assert (out / CLAIM_FILE).exists() and out.is_dir()  # A's claim and folder untouched
        assert holder_of(out) is not None
    finally:
        claim.release()
    assert holder_of(out) is None


def test_failed_second_run_never_deletes_the_first_runs_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old clean-up removed the folder B had 'made' although A was writing into it."""
    out = tmp_path / "out"
    claim = claim_folder(out)
    (out / "scenario.toml").write_text("A's, being written")
    claim.written.append("scenario.toml")
    data = base()
    data["policies"].append({"name": "x", "availability": "custom", "class": "nope:P"})
    code, _ = cli(capsys, "run", write(tmp_path, data), "--jobs", "1", "-q", "--out", out,
                  "--allow-code")
    assert code == 2
    assert (out / "scenario.toml").read_text() == "A's, being written"
    claim.release()


def test_stale_claim_of_a_killed_run_does_not_block_the_next_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from stockout.claim import claim_folder; "
         "claim_folder(Path(sys.argv[1])); print('claimed', flush=True); time.sleep(60)",
         str(out)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "claimed"
        code, text = cli(capsys, "run", write(tmp_path, base()), "--jobs", "1", "-q",
                         "--no-report", "--out", out)
        assert code == 2 and f"pid {proc.pid}" in text
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert holder_of(out) is None  # the marker stays, but nothing holds it
        code, text = cli(capsys, "run", write(tmp_path, base()), "--jobs", "1", "-q",
                         "--no-report", "--out", out)
        assert code == 0, text
        complete_and_consistent(out)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_report_refuses_a_folder_mixing_two_runs(
    results_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """B's manifest.json beside A's scenario.toml (seen for two seconds before the fix)."""
    a = tmp_path / "a"
    shutil.copytree(results_folder, a)
    data = base()
    data["scenario"]["seed"] = 99
    b = stockout.run(scenario_from_dict(data)).save(tmp_path / "b", report=False)
    shutil.copy(b / "manifest.json", a / "manifest.json")
    code, text = cli(capsys, "report", a)
    assert code == 2 and "not the file that run" in text


def test_concurrent_saves_into_one_out_never_lose_a_complete_folder(tmp_path: Path) -> None:
    """Eight runs save into one folder at once: exactly one wins and its folder is complete
    and one run's; the others are refused (OutDirError) and touch nothing."""
    results = [stockout.run(scenario_from_dict({**base(), "scenario": {
        **base()["scenario"], "seed": seed}})) for seed in range(8)]
    out = tmp_path / "out"
    outcome: dict[int, str] = {}
    gate = threading.Barrier(len(results))

    def save(k: int) -> None:
        gate.wait()
        try:
            results[k].save(out, report=False)
            outcome[k] = "saved"
        except OutDirError as error:
            outcome[k] = str(error)

    threads = [threading.Thread(target=save, args=(k,)) for k in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [k for k, v in outcome.items() if v == "saved"]
    assert len(winners) == 1, outcome
    manifest = complete_and_consistent(out)
    assert manifest["seed"] == winners[0]
    for k, message in outcome.items():
        if k != winners[0]:
            assert "in use by another run" in message or "not empty" in message, message


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(
    ["claim", "write", "finish", "fail", "interrupt"])), min_size=1, max_size=12))
def test_no_interleaving_of_runs_into_one_out_loses_a_complete_folder(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, str]]
) -> None:
    """Three runs step through claim / write a table / finish (manifest) / fail / interrupt in any
    order: once a folder is complete it stays complete and one run's."""
    import hashlib

    out = tmp_path_factory.mktemp("race") / "out"
    claims: dict[int, Any] = {}
    complete: bytes | None = None
    for run, step in steps:
        claim = claims.get(run)
        if step == "claim" and claim is None:
            try:
                claims[run] = claim_folder(out)
            except (FileExistsError, ValueError):
                pass
        elif claim is not None and claim.active and step == "write":
            name = f"t{len(claim.written)}.csv"
            (out / name).write_text(f"run {run}")
            claim.written.append(name)
        elif claim is not None and claim.active and step == "finish":
            sums = {n: hashlib.sha256((out / n).read_bytes()).hexdigest() for n in claim.written}
            (out / "manifest.json").write_text(json.dumps({"run": run, "checksums": sums}))
            claim.written.append("manifest.json")
            claim.release()
        elif claim is not None and claim.active and step == "fail":
            claim.abandon()
        elif claim is not None and claim.active and step == "interrupt":
            claim.release()
        if (out / "manifest.json").exists():
            manifest = json.loads((out / "manifest.json").read_text())
            for name, digest in manifest["checksums"].items():
                assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
            snapshot = (out / "manifest.json").read_bytes()
            assert complete is None or snapshot == complete
            complete = snapshot
        elif complete is not None:
            raise AssertionError("a complete folder was lost")
    for claim in claims.values():
        claim.release()


# ---------------------------------------------------------------------------------------------
# Part 4: hand-edited results folders are bad input
# ---------------------------------------------------------------------------------------------

NESTED = "[" * 100_000 + "]" * 100_000

MANIFEST_EDITS: dict[str, str] = {
    "policies-a-number": '"policies": 5',
    "horizon-text": '"horizon_days": "abc"',
    "horizon-null": '"horizon_days": null',
    "warmup-a-list": '"warmup_days": [1]',
    "replications-400-digits": '"replications": 1' + "0" * 400,
    "horizon-nan": '"horizon_days": NaN',
    "policies-nested-arrays": f'"policies": {NESTED}',
}


@pytest.mark.parametrize("edit", list(MANIFEST_EDITS))
def test_report_on_hand_edited_manifest_exits_2(
    results_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: str
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(results_folder, folder)
    text = (folder / "manifest.json").read_text()
    key = MANIFEST_EDITS[edit].split(":")[0]
    start = text.index(key)
    end = text.index("\n", start)
    comma = "," if text[end - 1] == "," else ""
    (folder / "manifest.json").write_text(text[:start] + MANIFEST_EDITS[edit] + comma + text[end:])
    code, out = cli(capsys, "report", folder)
    assert code == 2, out
    assert str(folder / "manifest.json") in out


SCENARIO_EDITS = {
    "scenario-a-string": 'scenario = "x"\n',
    "products-numbers": "products = [1, 2]\n",
}


@pytest.mark.parametrize("checksums", [True, False], ids=["with-checksums", "older-folder"])
@pytest.mark.parametrize("edit", [*SCENARIO_EDITS, "summary-empty-policy-cell"])
def test_report_on_hand_edited_tables_exits_2(
    results_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: str,
    checksums: bool,
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(results_folder, folder)
    if edit in SCENARIO_EDITS:
        (folder / "scenario.toml").write_text(SCENARIO_EDITS[edit])
        name = "scenario.toml"
    else:
        lines = (folder / "summary.csv").read_text().splitlines(keepends=True)
        lines[1] = "," + lines[1].split(",", 1)[1]
        (folder / "summary.csv").write_text("".join(lines))
        name = "summary.csv"
    if not checksums:  # a folder from before the manifest had checksums
        manifest = json.loads((folder / "manifest.json").read_text())
        del manifest["checksums"]
        (folder / "manifest.json").write_text(json.dumps(manifest))
    code, out = cli(capsys, "report", folder)
    assert code == 2, out
    assert str(folder / name) in out


def _sweep_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "sweep"
    code, text = cli(capsys, "sweep", write(tmp_path, base(horizon=10.0, reps=1)), "--vary",
                     "products.w.price=5,6", "--jobs", "1", "--no-report", "-q", "--out", folder)
    assert code == 0, text
    return folder


@pytest.mark.parametrize("damage", ["precision-target-text", "sweep-json-nested",
                                    "garbage-point-table", "values-not-lists"])
def test_resume_of_a_damaged_sweep_folder_exits_2_or_reruns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    folder = _sweep_folder(tmp_path, capsys)
    meta = json.loads((folder / "sweep.json").read_text())
    if damage == "precision-target-text":
        meta["precision"] = {"target": "x"}
        (folder / "sweep.json").write_text(json.dumps(meta))
    elif damage == "sweep-json-nested":
        (folder / "sweep.json").write_text(json.dumps(meta)[:-1] + f', "x": {NESTED}}}')
    elif damage == "values-not-lists":
        meta["values"] = {p: 5 for p in meta["parameters"]}
        (folder / "sweep.json").write_text(json.dumps(meta))
    else:  # a point's table is garbage: the point is run again, the sweep completes
        (folder / "points" / "00000.csv").write_text("garbage\n\x01,2,3\n")
    code, out = cli(capsys, "sweep", "--resume", folder, "--jobs", "1", "--no-report", "-q")
    if damage == "garbage-point-table":
        assert code == 0, out
        assert "revenue_kept" in (folder / "points" / "00000.csv").read_text()
    else:
        assert code == 2, out
        assert str(folder) in out


def test_report_of_a_folder_still_being_written_exits_2(
    results_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(results_folder, folder)
    claim = claim_folder(folder, resume=True)
    try:
        code, out = cli(capsys, "report", folder)
        assert code == 2 and "still being written" in out
    finally:
        claim.release()
