"""The results folder (docs/results-format.md), written from fabricated runs: no model needed."""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockout import results_io
from stockout.api import Results, load, scenario_dict
from stockout.records import METRICS, SERIES, WAIT_EDGES, RunResult
from stockout.results_io import (
    OutDirError,
    ReportError,
    csv_bytes,
    new_run_dir,
    prepare_out_dir,
    to_toml,
    write_atomic,
    write_results,
)

FIXTURE = Path(__file__).parent / "fixtures" / "scenario-format.toml"
CONTRACT_FILES = {
    "scenario.toml", "summary.csv", "replications.csv", "timeseries.csv", "waits.csv",
    "disruptions.csv", "manifest.json",
}  # fmt: skip
MANIFEST_KEYS = {
    "stockout_version", "scenario", "title", "seed", "replications", "policies", "baseline",
    "horizon_days", "warmup_days", "command", "started", "finished", "elapsed_seconds", "jobs",
    "files", "run_id", "checksums",
}  # fmt: skip

SCENARIO = {
    "scenario": {"name": "fab", "title": 'A "fabricated" run', "horizon_days": 3,
                 "replications": 3, "seed": 11, "baseline": "out-of-stock"},
    "products": [{"id": "w", "price": 10, "demand": {"orders_per_day": 2}}],
}  # fmt: skip


def fake_results() -> Results:
    scenario = load(SCENARIO)
    rng = np.random.default_rng(3)
    runs = []
    for policy in ("backorder", "out-of-stock"):
        for k in range(3):
            metrics = {p: {m: float(rng.normal(100, 10)) for m in METRICS} for p in ("w", "all")}
            metrics["w"]["mean_wait_days"] = math.nan
            series = {p: rng.normal(5, 1, size=(3, len(SERIES))) for p in ("w", "all")}
            waits = {p: rng.integers(0, 2, size=len(WAIT_EDGES)) for p in ("w", "all")}
            windows = [("lane", "sea", 1.0 / 3.0, 2.0)]
            runs.append(RunResult(policy, k, metrics, np.arange(1.0, 4.0), series, waits, windows))
    return Results(scenario=scenario, runs=runs)


def no_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results_io, "_write_report", lambda out_dir, manifest: None)


# ---- folders ------------------------------------------------------------------------------


def test_new_run_dir_is_fresh_and_named_by_time(tmp_path: Path) -> None:
    first = new_run_dir(tmp_path, "shop")
    second = new_run_dir(tmp_path, "shop")
    assert first != second
    assert first.parent == tmp_path / "shop"
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", first.name)
    assert first.is_dir() and not any(first.iterdir())


def test_new_run_dir_never_reuses_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = iter(["20260101-000000-aaaa", "20260101-000000-aaaa", "20260101-000000-bbbb"])
    monkeypatch.setattr(results_io, "new_run_id", lambda: next(names))
    assert new_run_dir(tmp_path, "s").name == "20260101-000000-aaaa"
    assert new_run_dir(tmp_path, "s").name == "20260101-000000-bbbb"


def test_prepare_out_dir(tmp_path: Path) -> None:
    assert prepare_out_dir(tmp_path / "a" / "b").is_dir()  # created with parents
    assert prepare_out_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"  # empty: fine
    (tmp_path / "a" / "b" / "x").write_text("x")
    with pytest.raises(OutDirError, match=r"not empty.*or run without --out to get a fresh"):
        prepare_out_dir(tmp_path / "a" / "b")
    source = Path(prepare_out_dir.__code__.co_filename).read_text(encoding="utf-8")
    assert "leave --out out" not in source  # the wording once read "leave --out out"
    with pytest.raises(OutDirError, match="not a folder"):
        prepare_out_dir(tmp_path / "a" / "b" / "x")


def test_write_atomic_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_atomic(tmp_path / "f.txt", b"one")
    write_atomic(tmp_path / "f.txt", b"two")
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
    assert (tmp_path / "f.txt").read_bytes() == b"two"
    assert (tmp_path / "f.txt").stat().st_mode & 0o044  # not private like a mkstemp file


def test_csv_floats_round_trip_exactly() -> None:
    values = [0.1 + 0.2, 1 / 3, 1e-300, 123456789.123456789, math.nan, math.inf]
    text = csv_bytes(pd.DataFrame({"k": 1, "x": values})).decode()
    cells = [line.split(",")[1] for line in text.splitlines()[1:]]
    assert cells == [repr(v) for v in values[:4]] + ["", "inf"]
    assert [float(v) for v in cells[:4]] == values[:4]
    assert text.endswith("\n") and "\r" not in text


# ---- TOML ---------------------------------------------------------------------------------


def test_scenario_toml_loads_back_to_an_equal_scenario(tmp_path: Path) -> None:
    scenario = load(FIXTURE)
    path = tmp_path / "s.toml"
    path.write_text(to_toml(scenario_dict(scenario)))
    assert load(path) == scenario


def test_toml_writer_escapes_strings_and_special_values() -> None:
    data = {
        "t": {
            "plain": 'quote " backslash \\ tab \t bell \x07 del \x7f é ✓',
            "multi": 'line one\nline "two" \\ end\n\n',
            "leading": "\nstarts with a newline",
            "inf": math.inf,
            "small": 1e-7,
            "flag": True,
            "nested": {"k y": 1, "list": [1, 2.5, "x"]},
            "dist": {"dist": "constant", "value": math.inf},
            "items": [{"a": 1}, {"a": 2, "b": {"dist": "constant", "value": 3}}],
            "empty": {},
        },
        "arr": [{"id": "p", "sub": {"x": {"y": 1}}}],
    }
    assert tomllib.loads(to_toml(data, header="made\nby a test")) == data


def test_scenario_toml_keeps_infinite_patience(tmp_path: Path) -> None:
    data = {**SCENARIO, "customers": {"patience_days": {"dist": "constant", "value": math.inf}}}
    scenario = load(data)
    path = tmp_path / "s.toml"
    path.write_text(to_toml(scenario_dict(scenario)))
    assert load(path) == scenario


# ---- the whole folder ---------------------------------------------------------------------


def test_folder_follows_the_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_report(monkeypatch)
    results = fake_results()
    files = write_results(tmp_path, results, command=["stockout", "run", "x.toml"], jobs=2)
    assert set(files) == CONTRACT_FILES
    assert {p.name for p in tmp_path.iterdir()} == CONTRACT_FILES

    columns = {name: list(pd.read_csv(tmp_path / name).columns) for name in files if ".csv" in name}
    assert columns["summary.csv"] == [
        "policy", "product", "metric", "mean", "ci_low", "ci_high", "diff", "diff_ci_low",
        "diff_ci_high", "significant",
    ]  # fmt: skip
    assert columns["replications.csv"] == ["replication", "policy", "product", *METRICS]
    assert columns["timeseries.csv"] == [
        "policy", "product", "day", "series", "mean", "low", "high",
    ]  # fmt: skip
    assert columns["waits.csv"] == ["policy", "product", "wait_low", "wait_high", "orders"]
    assert columns["disruptions.csv"] == ["kind", "id", "start_day", "end_day"]

    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(summary) == 2 * 2 * len(METRICS)
    assert summary.loc[summary["policy"] == "out-of-stock", "diff"].isna().all()  # baseline
    assert (
        summary[(summary["product"] == "w") & (summary["metric"] == "mean_wait_days")]["mean"]
        .isna()
        .all()
    )
    disruptions = pd.read_csv(tmp_path / "disruptions.csv")
    assert disruptions["start_day"].tolist() == [1.0 / 3.0]  # full precision

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest) == MANIFEST_KEYS
    assert manifest["policies"] == ["backorder", "out-of-stock"]
    assert manifest["baseline"] == "out-of-stock"
    assert (manifest["seed"], manifest["replications"], manifest["jobs"]) == (11, 3, 2)
    assert manifest["command"] == ["stockout", "run", "x.toml"]
    assert manifest["files"] == [f for f in files if f != "manifest.json"]
    assert manifest["elapsed_seconds"] >= 0
    assert load(tmp_path / "scenario.toml") == results.scenario


def test_manifest_is_written_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_report(monkeypatch)
    order: list[str] = []
    real = results_io.write_atomic

    def spy(path: Path, data: bytes) -> None:
        real(path, data)
        order.append(path.name)

    monkeypatch.setattr(results_io, "write_atomic", spy)
    write_results(tmp_path, fake_results())
    assert order[-1] == "manifest.json"
    assert order[0] == "scenario.toml"
    mtimes = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert mtimes["manifest.json"] == max(mtimes.values())


def test_a_failure_while_writing_leaves_no_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_report(monkeypatch)
    real = results_io.write_atomic

    def failing(path: Path, data: bytes) -> None:
        if path.name == "waits.csv":
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(results_io, "write_atomic", failing)
    with pytest.raises(KeyboardInterrupt):
        write_results(tmp_path, fake_results())
    names = {p.name for p in tmp_path.iterdir()}
    assert "manifest.json" not in names
    assert "summary.csv" in names and "waits.csv" not in names
    assert not [n for n in names if n.endswith(".tmp")]


def test_interrupted_report_leaves_no_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(out_dir: Path, manifest: dict) -> None:
        assert not (out_dir / "manifest.json").exists()  # it comes last
        raise KeyboardInterrupt

    monkeypatch.setattr(results_io, "_write_report", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_results(tmp_path, fake_results())
    assert not (tmp_path / "manifest.json").exists()


def test_failing_report_keeps_tables_and_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stockout.report

    def broken(results_dir: Path, manifest: dict | None = None) -> Path:
        raise RuntimeError("plot exploded")

    monkeypatch.setattr(stockout.report, "write_report", broken)
    with pytest.raises(ReportError, match="plot exploded") as caught:
        write_results(tmp_path, fake_results())
    assert caught.value.out_dir == tmp_path
    names = {p.name for p in tmp_path.iterdir()}
    assert names == CONTRACT_FILES
    assert "report.html" not in json.loads((tmp_path / "manifest.json").read_text())["files"]


def test_report_is_listed_in_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import stockout.report

    def fake(results_dir: Path, manifest: dict | None = None) -> Path:
        assert not (results_dir / "manifest.json").exists()  # the manifest comes last
        assert manifest is not None and manifest["files"][-1] == "report.html"
        (results_dir / "report.html").write_text("<html></html>")
        return results_dir / "report.html"

    monkeypatch.setattr(stockout.report, "write_report", fake)
    files = write_results(tmp_path, fake_results())
    assert files[-2:] == ["report.html", "manifest.json"]
    assert json.loads((tmp_path / "manifest.json").read_text())["files"][-1] == "report.html"


def test_same_results_give_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_report(monkeypatch)
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        write_results(folder, fake_results())
    for name in CONTRACT_FILES - {"manifest.json"}:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_results_save_refuses_a_non_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_report(monkeypatch)
    (tmp_path / "old.txt").write_text("keep me")
    with pytest.raises(OutDirError):
        fake_results().save(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"]
    folder = fake_results().save(results_root=tmp_path / "results")
    assert folder.parent == tmp_path / "results" / "fab"
    assert (folder / "manifest.json").is_file()
    assert os.listdir(tmp_path / "results" / "fab") == [folder.name]


# ---- CSV bytes: pandas' writer's output, formatted column by column -------------------------

_FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from(
    [0.0, -0.0, 1e16, 1e-7, 0.1, 2.5, 123456789.0]
)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.tuples(st.sampled_from(["a", "b-c", "d e", "", "x,y", 'q"t']), _FLOATS,
                            _FLOATS, st.integers(-(2**40), 2**40)), max_size=30),  # fmt: skip
    repeat=st.booleans(),
)
def test_csv_bytes_are_pandas_to_csv(data: list[tuple[str, float, float, int]],
                                     repeat: bool) -> None:  # fmt: skip
    """The fast path writes exactly what ``DataFrame.to_csv`` writes (the reference), whatever
    the floats (NaN, infinities, -0.0, exponents), text needing quotes, and equal columns."""
    frame = pd.DataFrame(data, columns=["policy", "mean", "low", "orders"])
    frame = frame.astype({"policy": object, "mean": float, "low": float, "orders": "int64"})
    if repeat:
        frame["high"] = frame["mean"]  # one replication: low = mean = high, text reused
    expected = frame.to_csv(index=False, na_rep="", lineterminator="\n").encode("utf-8")
    assert csv_bytes(frame) == expected
