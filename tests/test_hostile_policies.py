"""User code is contained, and text from scenario files is escaped in reports (issue 8).

A custom policy (``availability = "custom"``, ``class = "module:Class"``) is the user's Python
running inside the model. Whatever it does wrong — raise, return something that is not an Offer,
quote a day in the past or NaN, use an unknown kind, fail to import, lack the class or
``on_shortage``, refuse its options — must end the run with a message naming the policy and what
it did: exit 2 from the command line, no traceback, and no results folder that looks complete
(no ``manifest.json``). The same holds when the failure happens in a worker process (``--jobs``).

The policy modules live in ``tests/fixtures/hostile/`` and are copied next to each scenario file
(custom policy modules are looked up next to the scenario first).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import stockout
from stockout.cli import main
from stockout.model import simulate
from stockout.policies.availability import PolicyError
from stockout.results_io import to_toml
from stockout.scenario.load import scenario_from_dict

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
NAME = "hostile-policy"


def scenario_data(
    class_path: str, options: dict[str, Any] | None = None, *, horizon: float = 40.0
) -> dict[str, Any]:
    """One product that runs out at once (no initial stock, slow supplier): every order is a
    shortage, so the policy is asked on the first order."""
    policy: dict[str, Any] = {"name": NAME, "availability": "custom", "class": class_path}
    if options is not None:
        policy["options"] = options
    return {
        "scenario": {"name": "hostile", "horizon_days": horizon, "seed": 3},
        "products": [{
            "id": "w", "price": 10.0, "initial_stock": 2,
            "demand": {"orders_per_day": 4.0},
            "replenishment": {"rule": "base_stock", "order_up_to": 5, "supplier": "s"},
        }],
        "suppliers": [{"id": "s", "lead_time_days": {"dist": "constant", "value": 6.0}}],
        "policies": [{"name": "bo", "availability": "backorder"}, policy],
    }


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder holding the hostile policy modules (the syntax error under its .py name)."""
    for f in HOSTILE.iterdir():
        if f.suffix == ".py":
            shutil.copy(f, tmp_path / f.name)
    shutil.copy(HOSTILE / "syntax_error_policy.py.txt", tmp_path / "syntax_error_policy.py")
    return tmp_path


@pytest.fixture(autouse=True)
def _forget_modules() -> Any:
    """Each test imports the policy modules afresh from its own folder."""
    names = ("hostile_policies", "syntax_error_policy", "exits_on_import", "raises_on_import")
    for n in names:
        sys.modules.pop(n, None)
    yield
    for n in names:
        sys.modules.pop(n, None)


def write(folder: Path, data: dict[str, Any], name: str = "scenario.toml") -> Path:
    path = folder / name
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def assert_not_complete(out: Path) -> None:
    """No folder, or one without manifest.json (known incomplete)."""
    assert not (out / "manifest.json").exists(), f"{out} looks complete after a failed run"


# (class path, options, what the message must say besides the policy's name)
CASES: list[tuple[str, dict[str, Any] | None, list[str]]] = [
    ("hostile_policies:Raises", None, ["on_shortage raised RuntimeError", "pricing service"]),
    ("hostile_policies:RaisesLater", None, ["on_shortage raised ZeroDivisionError"]),
    ("hostile_policies:ReturnsString", None, ["'backorder please'", "not an Offer"]),
    ("hostile_policies:ReturnsNone", None, ["returned None", "not an Offer"]),
    ("hostile_policies:QuoteInThePast", None, ["before the order's day"]),
    ("hostile_policies:QuoteNaN", None, ["nan", "not a number"]),
    ("hostile_policies:QuoteString", None, ["next tuesday", "not a number"]),
    ("hostile_policies:NegativeKind", None, ["unknown offer kind -1"]),
    ("hostile_policies:UnknownKind", None, ["unknown offer kind 7"]),
    ("hostile_policies:Exits", None, ["on_shortage raised SystemExit"]),
    ("hostile_policies:RaisesBaseException", None, ["on_shortage raised BaseException",
                                                     "the policy gave up"]),
    ("hostile_policies:ConstructorRaises", None, ["failed", "licence key missing"]),
    ("hostile_policies:Good", {"limt": 3}, ["unexpected keyword argument 'limt'"]),
    ("hostile_policies:NoOnShortage", None, ["no method on_shortage"]),
    ("hostile_policies:OnShortageNotCallable", None, ["no method on_shortage"]),
    ("hostile_policies:BadPayment", None, ["payment must be", "in_kind"]),
    ("hostile_policies:BadNotifyShare", None, ["notify_me_share", "'lots'"]),
    ("hostile_policies:BadPartial", None, ["partial_shipments", "'yes'"]),
    ("hostile_policies:Missing", None, ["has no class 'Missing'"]),
    ("hostile_policies:not_a_class", None, ["has no class 'not_a_class'"]),
    ("no_such_module_anywhere:Policy", None, ["cannot import module", "no no_such_module_"
                                              "anywhere.py", "stockout.policies"]),
    ("syntax_error_policy:Broken", None, ["cannot import module", "SyntaxError"]),
    ("raises_on_import:Policy", None, ["cannot import module", "proprietary"]),
    ("exits_on_import:Policy", None, ["cannot import module", "SystemExit"]),
]


@pytest.mark.parametrize(("class_path", "options", "says"), CASES,
                         ids=[c[0].split(":")[1] for c in CASES])
def test_hostile_policy_is_reported_through_the_cli(
    workdir: Path, capsys: pytest.CaptureFixture[str], class_path: str,
    options: dict[str, Any] | None, says: list[str],
) -> None:
    path = write(workdir, scenario_data(class_path, options))
    out = workdir / "out"
    code = main(["run", str(path), "--reps", "1", "--jobs", "1", "--out", str(out),
                 "--no-report", "-q", "--allow-code"])
    err = capsys.readouterr().err
    assert code == 2, f"exit {code}: {err}"
    assert f"policy '{NAME}'" in err, err
    for text in says:
        assert text in err, f"{text!r} not in {err!r}"
    assert "Traceback" not in err
    assert_not_complete(out)


def test_hostile_policy_raises_policy_error_from_the_api(workdir: Path) -> None:
    sc = scenario_from_dict(scenario_data("hostile_policies:Raises"))
    with pytest.raises(PolicyError, match=f"policy '{NAME}'.*RuntimeError"):
        stockout.run(sc, jobs=1, search_dir=workdir, allow_code=True)


@pytest.mark.parametrize("class_path", ["hostile_policies:RaisesLater",
                                        "hostile_policies:QuoteNaN",
                                        "no_such_module_anywhere:Policy"])
def test_policy_failure_in_a_worker_process_is_reported_the_same(
    workdir: Path, class_path: str
) -> None:
    """--jobs 2 runs the policy in pool workers: the error crosses the process boundary with its
    message, the parent exits 2 without a traceback, and nothing looks complete."""
    path = write(workdir, scenario_data(class_path))
    out = workdir / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "stockout", "run", str(path), "--reps", "4", "--jobs", "2",
         "--out", str(out), "--no-report", "--allow-code"],
        capture_output=True, text=True, timeout=120, cwd=workdir,
        env={**os.environ, "STOCKOUT_DEBUG": ""},
    )
    assert proc.returncode == 2, proc.stderr
    assert f"policy '{NAME}'" in proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert_not_complete(out)


def test_a_good_custom_policy_runs_in_workers(workdir: Path) -> None:
    """The guard does not get in the way: a well-behaved policy gives the built-in's results,
    in worker processes too."""
    data = scenario_data("hostile_policies:Good")
    path = write(workdir, data)
    out = workdir / "out"
    code = main(["run", str(path), "--reps", "3", "--jobs", "2", "--out", str(out),
                 "--no-report", "-q", "--allow-code"])
    assert code == 0
    assert (out / "manifest.json").is_file()
    sc = scenario_from_dict(data)
    for rep in range(2):
        a = simulate(sc, "bo", rep).metrics["all"]
        b = simulate(sc, NAME, rep, workdir).metrics["all"]
        assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_a_policy_cannot_ship_more_than_on_hand_by_lying_in_the_shortage(workdir: Path) -> None:
    """The issue's "ships more than on hand, a negative quantity": a policy only returns an
    Offer. One that scribbles huge availability and a negative quantity into the Shortage it is
    shown changes nothing: the run equals the built-in backorder's, invariants checked."""
    data = scenario_data("hostile_policies:MutatesShortage")
    sc = scenario_from_dict(data)
    for rep in range(3):
        a = simulate(sc, "bo", rep).metrics
        b = simulate(sc, NAME, rep, workdir).metrics
        for pid in a:
            for k, v in a[pid].items():
                w = b[pid][k]
                assert v == w or (math.isnan(v) and math.isnan(w)), f"{pid}.{k}: {v} != {w}"
        assert b["w"]["units_shipped"] <= 2 + b["w"]["units_received"]


# ---------------------------------------------------------------------------------------------
# Reports are safe: text from scenario files is escaped
# ---------------------------------------------------------------------------------------------

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def report_html(tmp_path: Path, text: str, folder: str) -> str:
    data = scenario_data("x:y", horizon=20.0)
    data["scenario"]["title"] = f"Title {text}"
    data["scenario"]["description"] = f"**Story.** A description {text} with <b>tags</b> & more."
    data["products"][0]["id"] = f"w{text}"
    data["policies"] = [
        {"name": f"bo{text}", "availability": "backorder"},
        {"name": f"oos{text}\"'", "availability": "out_of_stock"},
    ]
    results = stockout.run(scenario_from_dict(data), jobs=1)
    out = results.save(tmp_path / folder)
    return (out / "report.html").read_text(encoding="utf-8")


def test_scenario_text_appears_as_text_in_the_report(tmp_path: Path) -> None:
    """A title, description, product id and policy names containing ``<script>`` show as text:
    the raw HTML never holds the tag itself, only its escaped form, and the page has exactly as
    many script elements as the same report with harmless names."""
    hostile = report_html(tmp_path, XSS, "hostile")
    plain = report_html(tmp_path, "-x", "plain")
    assert XSS not in hostile
    assert "alert(1)" in hostile and XSS_ESCAPED in hostile
    assert "<b>tags</b>" not in hostile and "&lt;b&gt;tags&lt;/b&gt;" in hostile
    # no script element was added (plotly's own and the page's are the same in both)
    assert hostile.lower().count("<script") == plain.lower().count("<script")
    assert hostile.lower().count("</script") == plain.lower().count("</script")
    # the figures' JSON carries the names escaped too, so it cannot close its <script> block
    assert "</script>alert" not in hostile.lower()
