"""``stockout optimize`` and ``stockout.optimize``: folders, bad input, interruption, resume,
reproducibility, and the policy map at optimal stock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import stockout
from stockout.cli import main
from stockout.optimizer.run import OptimizeInterrupted, resume

SCENARIO = """\
[scenario]
name = "opt"
title = "Optimise me"
description = "A tiny shop."
horizon_days = 60
warmup_days = 10
replications = 4
seed = 9

[[products]]
id = "w"
price = 12
unit_cost = 5
holding_cost_per_day = 0.4
initial_stock = 10
[products.demand]
orders_per_day = 2
[products.replenishment]
rule = "s_S"
reorder_point = 4
order_up_to = 12
supplier = "acme"

[[suppliers]]
id = "acme"
lead_time_days = { dist = "constant", value = 3 }

[[policies]]
name = "backorder"
availability = "backorder"

[[policies]]
name = "out-of-stock"
availability = "out_of_stock"
"""
S = "products.w.replenishment.order_up_to"
SEARCH = f"{S}=6..16..2"


@pytest.fixture()
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "opt.toml"
    path.write_text(SCENARIO)
    return path


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Without what depends on the machine: time, and runs made ahead for idle workers."""
    return frame.drop(columns=[c for c in ("search_seconds", "runs_simulated")
                               if c in frame]).reset_index(drop=True)


def test_the_folder_holds_optimum_candidates_run_tables_and_report(
        scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["optimize", str(scenario_file), "--search", SEARCH, "--indifference", "5",
                 "--subject-to", "fill_rate>=0.5", "--jobs", "1", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "order_up_to" in captured.out and f"results: {out}" in captured.out
    optimum = pd.read_csv(out / "optimum.csv")
    assert list(optimum.columns[:8]) == ["policy", S, "objective", "mean", "ci_low", "ci_high",
                                         "feasible", "replications"]
    assert optimum["policy"].tolist() == ["backorder", "out-of-stock"]
    candidates = pd.read_csv(out / "candidates.csv")
    for column in ("replications", "mean", "ci_low", "ci_high", "fill_rate_mean",
                   "fill_rate_ci_low", "fill_rate_ci_high", "status"):
        assert column in candidates
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "optimize"
    assert {"optimum.csv", "candidates.csv", "summary.csv", "report.html"} <= set(
        manifest["files"])
    # the run tables are of the policies at their optima
    ran = stockout.load(out / "scenario.toml")
    for _, row in optimum.iterrows():
        rule = ran.replenishment_for(row["policy"], "w")
        assert rule.order_up_to == row[S]
    html = (out / "report.html").read_text()
    first = html.index("Each policy at its best stock level")
    assert first < html.index("<h2", html.index("</header>") + 1) + 200
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert "Each policy at its best stock level" in (out / "report.html").read_text()


@pytest.mark.parametrize(("args", "named"), [
    (["--search", "products.w.price=1..5"], "--search products.w.price"),
    (["--search", f"{S}=20..10"], "LO (20) is above HI (10)"),
    (["--search", f"{S}=1.5..10"], "whole number"),
    (["--search", f"{S}=5..10", "--maximize", "gross_proft"], "--maximize gross_proft"),
    (["--search", f"{S}=5..10", "--minimize", "nope"], "--minimize nope"),
    (["--search", f"{S}=5..10", "--subject-to", "fill_rate>>0.9"], "--subject-to"),
    (["--search", f"{S}=5..10", "--subject-to", "fil_rate>=0.9"], "did you mean 'fill_rate'"),
    (["--search", f"{S}=5..10", "--indifference", "-3"], "--indifference"),
    (["--search", f"{S}=5..10", "--confidence", "1.5"], "--confidence"),
    (["--search", "products.w.replenishment.order_quantity=1..5"], "has no key"),
])
def test_bad_input_exits_2_naming_the_option(
        scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        args: list[str], named: str) -> None:
    out = tmp_path / "never"
    code = main(["optimize", str(scenario_file), *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert named in err and "Traceback" not in err
    assert not out.exists()


def test_interrupted_optimisation_resumes_to_the_same_result(
        scenario_file: Path, tmp_path: Path) -> None:
    scenario = stockout.load(scenario_file)
    options: dict[str, Any] = dict(indifference=5.0)
    whole = stockout.optimize(scenario, [SEARCH], **options)
    out = tmp_path / "out"
    calls = {"n": 0}

    def stop_later(progress: Any) -> None:
        calls["n"] += 1
        if progress.searches_done == 1 and calls["n"] > 3:
            raise KeyboardInterrupt

    with pytest.raises(OptimizeInterrupted) as stopped:
        stockout.optimize(scenario, [SEARCH], out_dir=out, progress=stop_later, **options)
    assert stopped.value.done == 1 and stopped.value.total == 2
    assert not (out / "manifest.json").exists()  # never looks complete
    assert len(list((out / "points").glob("*.json"))) == 1
    again = resume(out)
    assert (out / "manifest.json").exists()
    pd.testing.assert_frame_equal(_comparable(again.optimum), _comparable(whole.optimum))
    pd.testing.assert_frame_equal(again.candidates, whole.candidates)


def test_ctrl_c_on_the_command_line_says_how_to_resume(
        scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import stockout.optimizer.search as search

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(search, "select", interrupted)
    out = tmp_path / "out"
    code = main(["optimize", str(scenario_file), "--search", SEARCH, "--indifference", "5",
                 "--jobs", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 130
    assert "incomplete" in err and f"--resume {out}" in err
    assert not (out / "manifest.json").exists()
    assert main(["optimize", "--resume", str(out), "--jobs", "1"]) == 130  # still patched
    monkeypatch.undo()
    assert main(["optimize", "--resume", str(out), "--jobs", "1", "-q"]) == 0
    assert (out / "manifest.json").exists()


def test_same_seed_same_choice_on_one_or_two_workers(scenario_file: Path) -> None:
    scenario = stockout.load(scenario_file)
    one = stockout.optimize(scenario, [SEARCH], indifference=5.0, jobs=1)
    two = stockout.optimize(scenario, [SEARCH], indifference=5.0, jobs=2)
    pd.testing.assert_frame_equal(_comparable(one.optimum), _comparable(two.optimum))
    pd.testing.assert_frame_equal(one.candidates, two.candidates)
    pd.testing.assert_frame_equal(one.results.summary, two.results.summary)


def test_vary_draws_the_policy_map_at_optimal_stock(scenario_file: Path,
                                                    tmp_path: Path) -> None:
    scenario = stockout.load(scenario_file)
    out = tmp_path / "map"
    result = stockout.optimize(scenario, [SEARCH], indifference=5.0,
                               vary={"products.w.price": [6, 30]}, out_dir=out)
    assert result.results is None and result.winners is not None
    assert result.optimum["products.w.price"].tolist() == [6, 6, 30, 30]
    assert set(result.policy_map()["winner"]) <= {"backorder", "out-of-stock", None}
    for name in ("optimum.csv", "candidates.csv", "winners.csv", "report.html",
                 "manifest.json"):
        assert (out / name).is_file(), name
    assert "Policy map at optimal stock" in (out / "report.html").read_text()


def test_a_policy_with_no_feasible_stock_says_so(scenario_file: Path) -> None:
    scenario = stockout.load(scenario_file)
    result = stockout.optimize(scenario, [f"{S}=6..8"], indifference=5.0,
                               subject_to=["fill_rate>=0.99"])
    assert not result.optimum["feasible"].any()


@pytest.mark.slow
def test_sigint_to_a_real_optimisation_on_a_pool(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the process group) during a search on 2 workers: exit 130 within
    seconds, no traceback, no manifest, and the folder resumes to completion."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.test_interrupt import _wait_until_simulating

    quickstart = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.toml"
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stockout", "optimize", str(quickstart), "--search",
         "products.grinder.replenishment.reorder_point=40..150..2", "--jobs", "2",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        start_new_session=True, env={**os.environ, "STOCKOUT_DEBUG": ""},
    )
    try:
        _wait_until_simulating(proc, 2)
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "incomplete" in err and "--resume" in err and "Traceback" not in err, err
    assert took < 10, f"took {took:.1f} s to stop"
    assert not (out / "manifest.json").exists()
    assert (out / "optimize.json").is_file()


def test_report_rebuilds_an_optimisation_folder_of_either_kind(
        scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = stockout.load(scenario_file)
    out = tmp_path / "map"
    stockout.optimize(scenario, [SEARCH], indifference=5.0, vary={"products.w.price": [6, 30]},
                      out_dir=out)
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert "Policy map at optimal stock" in (out / "report.html").read_text()
    (out / "manifest.json").unlink()  # as if interrupted before the end
    assert main(["report", str(out)]) == 2
    assert "stockout optimize --resume" in capsys.readouterr().err


def test_a_scenario_with_code_needs_allow_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario is data: optimize, like run and sweep, runs no custom policy without
    --allow-code (exit 2 before any folder is made)."""
    text = SCENARIO.replace('name = "out-of-stock"\navailability = "out_of_stock"',
                            'name = "mine"\navailability = "custom"\nclass = "mypolicy:Mine"')
    path = tmp_path / "code.toml"
    path.write_text(text)
    (tmp_path / "mypolicy.py").write_text("class Mine:\n    pass\n")
    out = tmp_path / "out"
    code = main(["optimize", str(path), "--search", SEARCH, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--allow-code" in err
    assert not out.exists()


def test_second_optimisation_into_an_out_claimed_by_a_live_run_exits_2_and_leaves_it_alone(
        scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Optimisation folders are claimed like run and sweep folders: a second live process
    writing into the same --out is refused before it writes anything."""
    import os

    from stockout.claim import CLAIM_FILE, claim_folder, holder_of

    out = tmp_path / "out"
    claim = claim_folder(out)  # another run, still working
    try:
        code = main(["optimize", str(scenario_file), "--search", SEARCH, "--jobs", "1",
                     "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and "in use by another run" in err and f"pid {os.getpid()}" in err
        assert sorted(p.name for p in out.iterdir()) == [CLAIM_FILE]  # nothing written
    finally:
        claim.release()
    assert holder_of(out) is None
