"""Results folders from the command line: none left behind by bad input, every kind rebuilt by
``stockout report``, and a sweep over a setting that policies override says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_scenario

from stockout import cli
from stockout.report.folders import FolderKind, kind_of, register
from stockout.results_io import to_toml

ROOT = Path(__file__).resolve().parents[1]


def small() -> dict:
    data = make_scenario(
        orders_per_day=4.0, order_up_to=10, horizon_days=30, replications=2,
        lead_time_days={"dist": "constant", "value": 2},
        policies=[
            {"name": "out-of-stock", "availability": "out_of_stock"},
            {"name": "backorder", "availability": "backorder"},
            {"name": "lean-backorder", "availability": "backorder",
             "replenishment": {"w": {"order_up_to": 5}}},
        ],
    )  # fmt: skip
    data["scenario"]["name"] = "small"
    data["scenario"]["baseline"] = "out-of-stock"
    return data


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.toml"
    path.write_text(to_toml(small()))
    return path


def main(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "bad",
    [
        ["--vary", "customers.patiense_days.mean=2,4"],  # a path that names nothing
        ["--vary", "products.w.replenishment.order_up_to=10,-4"],  # a value that fails
        ["--vary", "products.w.replenishment.order_up_to=10,12", "--metric", "revenue"],
        ["--vary", "products.w.replenishment.order_up_to=10,12", "--precision", "-1"],
    ],
    ids=["path", "value", "metric", "precision"],
)
def test_bad_sweep_input_exits_2_and_leaves_no_folder(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: list[str]
) -> None:
    root = tmp_path / "results"
    code, _, err = main(capsys, "sweep", shop, "--results-root", root, *bad)
    assert code == 2 and "Traceback" not in err
    assert not root.exists(), list(root.rglob("*"))


def test_sweep_over_an_overridden_setting_warns_and_says_how_to_vary_it(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = main(
        capsys, "sweep", shop, "--vary", "products.w.replenishment.order_up_to=10,14",
        "--out", tmp_path / "sw", "--jobs", "1", "--no-report",
    )  # fmt: skip
    assert code == 0, err
    warning = " ".join(err.split())
    assert "does not change lean-backorder" in warning
    assert "policies.lean-backorder.replenishment.w.order_up_to" in warning
    assert "backorder," not in warning.split("does not change")[1].split(":")[0]
    # the path it suggests works
    code, _, err = main(
        capsys, "sweep", shop, "--vary", "policies.lean-backorder.replenishment.w.order_up_to=3,6",
        "--out", tmp_path / "sw2", "--jobs", "1", "--no-report",
    )  # fmt: skip
    assert code == 0 and "warning" not in err, err


def test_report_rebuilds_a_sweep_and_a_run(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep_dir, run_dir = tmp_path / "parent" / "sw", tmp_path / "parent" / "run"
    code, _, err = main(capsys, "sweep", shop, "--vary", "scenario.horizon_days=20,30",
                        "--out", sweep_dir, "--jobs", "1", "--no-report")  # fmt: skip
    assert code == 0, err
    assert main(capsys, "run", shop, "--out", run_dir, "--jobs", "1", "--no-report")[0] == 0
    for folder, kind in ((sweep_dir, "sweep"), (run_dir, "run")):
        assert kind_of(folder).name == kind  # type: ignore[union-attr]
        code, out, err = main(capsys, "report", folder)
        assert code == 0, err
        assert (folder / "report.html").is_file() and str(folder / "report.html") in out


def test_report_on_a_parent_folder_names_the_folders_inside(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "results"
    for _ in range(2):
        assert main(capsys, "run", shop, "--results-root", root, "--jobs", "1",
                    "--no-report")[0] == 0  # fmt: skip
    code, _, err = main(capsys, "report", root / "small")
    assert code == 2
    assert "not a results folder itself, but it holds 2" in err
    for folder in (root / "small").iterdir():
        assert f"stockout report {folder}" in err
    code, _, err = main(capsys, "report", tmp_path / "parent-of-nothing-x")
    assert code == 2


def test_an_unfinished_sweep_is_not_reported_but_resumed(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "sw"
    assert main(capsys, "sweep", shop, "--vary", "scenario.horizon_days=20,30", "--out", folder,
                "--jobs", "1", "--no-report")[0] == 0  # fmt: skip
    meta = json.loads((folder / "sweep.json").read_text())
    (folder / "sweep.json").write_text(json.dumps({**meta, "status": "running"}))
    code, _, err = main(capsys, "report", folder)
    assert code == 2 and f"stockout sweep --resume {folder}" in err


def test_a_new_kind_of_folder_plugs_in_by_its_manifest_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """How ``stockout optimize`` (or any later command) joins: register its kind; a folder whose
    manifest.json says ``"kind": "optimize"`` is then rebuilt by it."""
    from stockout.report import folders

    built: list[Path] = []

    def build(folder: Path) -> Path:
        built.append(folder)
        (folder / "report.html").write_text("<html></html>")
        return folder / "report.html"

    saved = dict(folders.KINDS)
    try:
        register(FolderKind("optimize", "manifest.json", lambda f: None, build))
        folder = tmp_path / "opt"
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({"kind": "optimize"}))
        code, _, err = main(capsys, "report", folder)
        assert code == 0, err
        assert built == [folder]
    finally:
        folders.KINDS.clear()
        folders.KINDS.update(saved)
