"""A scenario file is data (issue 20, part 1): no scenario, however hostile, runs code the user
did not allow, and even allowed code is only ever a documented policy class.

- ``class = "shutil:rmtree"`` (or ``os:system``, ``subprocess:Popen``, ``builtins:open``) with
  ``options`` aimed at a file: refused before anything is called, with or without
  ``--allow-code``; the target is untouched.
- a ``.py`` next to the scenario runs at import: not without ``--allow-code``, on ``run``,
  ``trace`` and ``sweep``; the message names the policy, the module and how to allow it.
- ``validate`` lists the code a scenario would run.
- a module named like one of the standard library, or a class imported into the user's module
  from elsewhere, is refused.
- on Dask, shipped modules go to a fresh private folder, checked by content hash.
- property: whatever the class path and options, nothing but a documented policy class of the
  scenario's folder is ever called (audit hooks watch for processes, file writes, deletions).
"""

from __future__ import annotations

import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile_policies import scenario_data as hostile_scenario

import stockout
from stockout import executors
from stockout.cli import main
from stockout.policies.availability import PolicyError, make_policy
from stockout.results_io import to_toml
from stockout.scenario.load import scenario_from_dict
from stockout.sweep import sweep as run_sweep
from stockout.trust import CodeNotAllowed, resolve_class

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
NAME = "theirs"

#: Side effects that no scenario may cause (audit events of Python's runtime).
FORBIDDEN_EVENTS = {
    "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.remove", "os.unlink", "os.rmdir", "shutil.rmtree", "os.rename", "shutil.move",
    "os.kill", "socket.connect", "os.truncate", "os.chmod", "os.startfile", "ctypes.dlopen",
}
_RECORDED: list[tuple[str, tuple[Any, ...]]] = []
_WATCHING = [False]


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _WATCHING[0]:
        return
    if event in FORBIDDEN_EVENTS:
        _RECORDED.append((event, args))
    elif event == "open" and len(args) > 1 and isinstance(args[1], str) and any(
        c in args[1] for c in "wax+"
    ):
        _RECORDED.append((event, args))


sys.addaudithook(_audit)


def scenario_data(class_path: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    data = hostile_scenario(class_path, options, horizon=20.0)
    data["policies"][1]["name"] = NAME
    data["scenario"]["replications"] = 1
    return data


def write(folder: Path, data: dict[str, Any], name: str = "shared.toml") -> Path:
    path = folder / name
    path.write_text(to_toml(data), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _forget_modules() -> Any:
    names = ("hostile_policies", "plants_a_file", "json")
    saved = sys.modules.get("json")
    for n in names[:2]:
        sys.modules.pop(n, None)
    yield
    for n in names[:2]:
        sys.modules.pop(n, None)
    if saved is not None:
        sys.modules["json"] = saved


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, out + err
    return code, out + err


PLANTER = '''
from pathlib import Path
Path(__file__).with_name("PLANTED").write_text("ran at import")

class Policy:
    def on_shortage(self, s):
        from stockout.policies.availability import Offer
        return Offer.refuse()
'''


# ---------------------------------------------------------------------------------------------
# Standard library callables named as a policy class
# ---------------------------------------------------------------------------------------------

STDLIB_ATTACKS = [
    ("shutil:rmtree", "path"),
    ("os:system", "command"),
    ("subprocess:Popen", "args"),
    ("builtins:open", "file"),
    ("os:remove", "path"),
]


@pytest.mark.parametrize(("class_path", "key"), STDLIB_ATTACKS, ids=[a[0] for a in STDLIB_ATTACKS])
@pytest.mark.parametrize("allow", [False, True], ids=["denied", "allowed"])
def test_stdlib_callable_as_policy_class_is_never_called(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], class_path: str, key: str, allow: bool
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    value: Any = str(victim) if key != "command" else f"rm -rf {victim}"
    if class_path == "builtins:open":
        value = str(victim / "precious.txt")
    options = {key: value, "mode": "w"} if class_path == "builtins:open" else {key: value}
    path = write(tmp_path, scenario_data(class_path, options))
    args = ["run", path, "--jobs", "1", "--no-report", "-q", "--out", tmp_path / "out"]
    code, text = cli(capsys, *args, *(["--allow-code"] if allow else []))
    assert code == 2, text
    assert (victim / "precious.txt").read_text() == "keep me"
    assert f"policy '{NAME}'" in text and class_path in text
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_stdlib_callable_passes_no_validate_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate says which code a scenario names, and that it would not be found."""
    path = write(tmp_path, scenario_data("shutil:rmtree", {"path": str(tmp_path)}))
    code, text = cli(capsys, "validate", path)
    assert code == 0
    assert "runs Python code" in text and "shutil:rmtree" in text and "not found" in text
    assert tmp_path.is_dir()


# ---------------------------------------------------------------------------------------------
# A module next to the scenario: not run without --allow-code
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "trace", "sweep"])
def test_module_next_to_scenario_does_not_run_at_import_without_allow_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    (tmp_path / "plants_a_file.py").write_text(PLANTER)
    path = write(tmp_path, scenario_data("plants_a_file:Policy"))
    extra: dict[str, list[object]] = {
        "run": ["--jobs", "1", "--no-report", "--out", tmp_path / "out"],
        "trace": ["--policy", NAME, "--days", "5"],
        "sweep": ["--vary", "scenario.horizon_days=10,20", "--jobs", "1", "--no-report",
                  "--out", tmp_path / "out"],
    }
    code, text = cli(capsys, command, path, *extra[command])
    assert code == 2, text
    assert not (tmp_path / "PLANTED").exists()
    assert f"policy '{NAME}'" in text and "plants_a_file" in text and "--allow-code" in text
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    code, text = cli(capsys, command, path, *extra[command][:-1], tmp_path / "out2",
                     "--allow-code") if command != "trace" else cli(
        capsys, command, path, *extra[command], "--allow-code")
    assert code == 0, text
    assert (tmp_path / "PLANTED").exists()


def test_module_next_to_scenario_api_needs_allow_code(tmp_path: Path) -> None:
    (tmp_path / "plants_a_file.py").write_text(PLANTER)
    path = write(tmp_path, scenario_data("plants_a_file:Policy"))
    refused = r"(?s)policy 'theirs'.*plants_a_file.*allow_code=True"
    with pytest.raises(CodeNotAllowed, match=refused):
        stockout.run(path)
    with pytest.raises(CodeNotAllowed):
        stockout.trace(path, NAME, days=5)
    with pytest.raises(CodeNotAllowed):
        run_sweep(stockout.load(path), {"scenario.horizon_days": [10, 20]}, search_dir=tmp_path)
    assert not (tmp_path / "PLANTED").exists()
    results = stockout.run(path, allow_code=True)
    assert NAME in results.policies and (tmp_path / "PLANTED").exists()


def test_validate_lists_the_code_a_scenario_would_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plants_a_file.py").write_text(PLANTER)
    path = write(tmp_path, scenario_data("plants_a_file:Policy"))
    code, text = cli(capsys, "validate", path)
    assert code == 0
    assert "runs Python code (only with --allow-code)" in text
    module = tmp_path / "plants_a_file.py"
    assert f"policy '{NAME}': class plants_a_file:Policy from {module}" in text
    assert not (tmp_path / "PLANTED").exists()


# ---------------------------------------------------------------------------------------------
# Even when allowed: only a policy class defined in the scenario's own module
# ---------------------------------------------------------------------------------------------


def test_module_shadowing_the_standard_library_is_refused(tmp_path: Path) -> None:
    (tmp_path / "json.py").write_text(PLANTER)
    with pytest.raises(PolicyError, match="module of Python"):
        resolve_class("json:Policy", tmp_path)
    assert not (tmp_path / "PLANTED").exists()


def test_stdlib_class_reexported_from_users_module_is_refused(tmp_path: Path) -> None:
    (tmp_path / "reexports.py").write_text("from subprocess import Popen\n")
    with pytest.raises(PolicyError, match="not a policy class"):
        resolve_class("reexports:Popen", tmp_path)
    sys.modules.pop("reexports", None)


def test_module_on_python_path_but_not_in_scenario_folder_is_refused(tmp_path: Path) -> None:
    """``hostile_policies`` is importable from the tests' fixtures, not from the scenario's
    folder: it is not found."""
    sys.path.insert(0, str(HOSTILE))
    try:
        with pytest.raises(PolicyError, match="not found"):
            resolve_class("hostile_policies:Good", tmp_path)
    finally:
        sys.path.remove(str(HOSTILE))


def test_policy_from_an_installed_entry_point_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import metadata

    from stockout import trust

    shutil.copy(HOSTILE / "hostile_policies.py", tmp_path / "hostile_policies.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    good = metadata.EntryPoint("good", "hostile_policies:Good", trust.ENTRY_POINT_GROUP)
    evil = metadata.EntryPoint("evil", "os:system", trust.ENTRY_POINT_GROUP)
    monkeypatch.setattr(trust.metadata, "entry_points",
                        lambda group: [good, evil] if group == trust.ENTRY_POINT_GROUP else [])
    assert resolve_class("hostile_policies:Good", None).__name__ == "Good"
    with pytest.raises(PolicyError, match="has no class"):
        resolve_class("os:system", None)


# ---------------------------------------------------------------------------------------------
# Dask: a private folder per job, checked by hash
# ---------------------------------------------------------------------------------------------


def test_dask_shipped_modules_go_to_a_private_unpredictable_folder_not_a_planted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    modules = (("mod.py", b"X = 1\n"),)
    digest = executors.modules_digest(modules)
    # someone planted the old predictable path with other code
    planted = tmp_path / "stockout-policies" / digest[:16]
    planted.mkdir(parents=True)
    (planted / "mod.py").write_text("import os; os.system('echo pwned')\n")
    first = executors._install_modules(modules, digest)
    second = executors._install_modules(modules, digest)
    assert first != second and planted not in (first, second)
    for folder in (first, second):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert (folder / "mod.py").read_bytes() == b"X = 1\n"
    with pytest.raises(executors.WorkerMismatch):
        executors._install_modules(modules, "0" * 64)
    with pytest.raises(executors.WorkerMismatch):
        executors._install_modules((("../escape.py", b""),), executors.modules_digest(
            (("../escape.py", b""),)))
    assert not (tmp_path / "escape.py").exists()


# ---------------------------------------------------------------------------------------------
# Property: nothing but a documented policy class is ever called
# ---------------------------------------------------------------------------------------------

_MODULES = sorted(m for m in sys.stdlib_module_names if not m.startswith("_"))[:400]
_ATTRS = ["system", "rmtree", "Popen", "open", "remove", "run", "call", "exec", "eval",
          "unlink", "rmdir", "kill", "Path", "TemporaryDirectory", "Thread", "Good", "Raises",
          "ConstructorRaises", "NoOnShortage", "not_a_class", "loads", "getattr"]


@st.composite
def class_paths(draw: st.DrawFn) -> str:
    module = draw(st.one_of(
        st.sampled_from(_MODULES), st.sampled_from(["hostile_policies", "builtins", "stockout",
                                                    "stockout.cli", "os.path", "json.decoder"]),
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
    ))
    attr = draw(st.one_of(st.sampled_from(_ATTRS),
                          st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)))
    return f"{module}:{attr}"


options = st.dictionaries(
    st.sampled_from(["path", "command", "args", "file", "mode", "limit", "shell", "src", "dst"]),
    st.one_of(st.just("/tmp/stockout-should-not-exist"), st.just("w"), st.integers(0, 5),
              st.just(True), st.just(["rm", "-rf", "/tmp/stockout-should-not-exist"])),
    max_size=3,
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(class_path=class_paths(), opts=options)
def test_no_hostile_scenario_calls_anything_but_a_documented_policy_class(
    tmp_path: Path, class_path: str, opts: dict[str, Any]
) -> None:
    """Even with code allowed, a class path resolves to a class defined in the scenario's
    folder with ``on_shortage``, or fails before anything is called: no process, no write, no
    deletion, whatever the class path and the options."""
    folder = tmp_path / "scn"
    folder.mkdir(exist_ok=True)
    if not (folder / "hostile_policies.py").exists():
        shutil.copy(HOSTILE / "hostile_policies.py", folder / "hostile_policies.py")
    spec = scenario_from_dict(scenario_data(class_path, opts)).policies[1]
    _RECORDED.clear()
    bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # an import's .pyc is not the scenario's doing
    _WATCHING[0] = True
    try:
        policy = make_policy(spec, folder)
    except PolicyError:
        policy = None
    finally:
        _WATCHING[0] = False
        sys.dont_write_bytecode = bytecode
    assert _RECORDED == [], f"{class_path}({opts}) caused {_RECORDED}"
    if policy is not None:
        inner = type(policy.inner)  # type: ignore[attr-defined]
        assert inner.__module__ == "hostile_policies"
        assert Path(sys.modules["hostile_policies"].__file__ or "").parent == folder
        assert callable(vars(inner).get("on_shortage"))
