"""Fuzzing the scenario loader through the real command line (issue 8).

Inputs:

- **mutations** of every bundled scenario (``scenarios/*.toml``) and of the format reference
  (``tests/fixtures/scenario-format.toml``): deleted keys, wrong types, out-of-range numbers, NaN
  and infinity, huge integers, unicode names, duplicate ids, wrong nesting, unknown keys (as
  data, written back with the results folder's TOML writer), and text-level damage: truncated
  files, deleted and doubled lines, random bytes, invalid UTF-8, NUL bytes, deep nesting;
- **hypothesis** documents: dicts shaped like the schema (its section and key names) with
  garbage values mixed in, and raw text.

Each one goes through ``stockout.cli.main(["validate", path])`` in this process and must end
with exit 0 or 2, never a traceback (exit 1 is an internal error), within a time limit. When it
fails, every problem must name the file and either a key path or a line (or be a whole-file
problem of a damaged text). Valid mutants are also *run* (``--horizon 5 --reps 1``), and a sample
goes through real ``stockout validate`` / ``stockout run`` subprocesses.

The number of inputs tried is printed (visible with ``-s`` or ``-rA``) and asserted.
"""

from __future__ import annotations

import copy
import math
import random
import re
import signal
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockout.cli import main
from stockout.results_io import to_toml
from stockout.scenario.errors import ScenarioError
from stockout.scenario.load import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "scenarios").glob("*.toml")) + [
    ROOT / "tests" / "fixtures" / "scenario-format.toml"
]
MUTANTS_PER_SEED = 40  # structured mutations per seed file
TEXT_MUTANTS_PER_SEED = 15
TIME_LIMIT = 10  # seconds for one validate (or one short run) in this process

COUNTS: Counter[str] = Counter()


@contextmanager
def time_limit(seconds: int, what: str) -> Iterator[None]:
    """Fail (instead of hanging the suite) if the block takes longer than ``seconds``."""

    def expired(*_: Any) -> None:
        raise TimeoutError(f"{what}: still running after {seconds} s (a hang?)")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``stockout validate PATH`` in this process: (exit code, stdout + stderr)."""
    with time_limit(TIME_LIMIT, f"validate {path.name}"):
        code = main(["validate", str(path)])
    cap = capsys.readouterr()
    text = cap.out + cap.err
    assert code in (0, 2), f"{path}: exit {code}\n{text}\n--- input ---\n{_head(path)}"
    assert "Traceback" not in text, f"{path}: traceback\n{text}"
    assert "internal error" not in text, f"{path}: internal error\n{text}"
    return code, text


def _head(path: Path, n: int = 3000) -> str:
    return path.read_bytes()[:n].decode("utf-8", "replace")


def problems_of(path: Path) -> tuple[Any, ...]:
    """The loader's problems for ``path`` (empty when it loads)."""
    try:
        load_scenario(path)
    except ScenarioError as error:
        return error.problems
    return ()


def check_located(path: Path, text: str, *, need_key: bool) -> None:
    """Every problem names the file; for a data mutation each names a key path or a line."""
    problems = problems_of(path)
    assert problems, f"{path}: exit 2 but the loader finds no problem"
    for p in problems:
        assert p.file == str(path)
        line = f"{p.file}:{p.line}" if p.line is not None else p.file
        assert line in text, f"{line!r} not named in:\n{text}"
        if need_key:
            assert p.key_path or p.line is not None, f"{path}: problem not located: {p}"
        assert p.message and "\n" not in p.message.strip("\n")


# ---------------------------------------------------------------------------------------------
# Structured mutations
# ---------------------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]

WRONG_VALUES: list[Any] = [
    "seven", "", "ünïcødé ☃ 🚀 名前", "x" * 5000, True, False, [], [1, "a"], {}, {"dist": "gamma"},
    -1, -1.5, 0, 0.0, 1e-300, 10**30, -(10**30), 2**63, 2**64 + 1, 10**12 + 1,
    1.7976931348623157e308, math.nan, math.inf, -math.inf, 1e7 + 1,
]
UNICODE_IDS = ["ünïcødé", "名前", "🚀", "a b", "<script>", "a\tb", "Ω" * 100, " lead"]


def paths(node: Any, here: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*here, k), v
            yield from paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*here, i), v
            yield from paths(v, (*here, i))


def parent_of(data: Any, path: Path_) -> Any:
    node = data
    for part in path[:-1]:
        node = node[part]
    return node


def mutate(data: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], str]:
    """One random structured mutation of a scenario dict: (mutant, description)."""
    out = copy.deepcopy(data)
    all_paths = list(paths(out))
    path, value = rng.choice(all_paths)
    parent = parent_of(out, path)
    key = path[-1]
    kind = rng.choice([
        "delete", "wrong", "wrong", "number", "nest", "unknown", "duplicate", "unicode",
        "empty_table",
    ])
    where = ".".join(str(p) for p in path)
    if kind == "delete":
        del parent[key]
    elif kind == "wrong" or (kind == "number" and not isinstance(value, int | float)):
        parent[key] = rng.choice(WRONG_VALUES)
    elif kind == "number":
        parent[key] = rng.choice([-value - 1, value * 10**9, math.nan, math.inf, -math.inf,
                                  10**30, 2**63, -(2**63) - 1, 0, 1e-300])
    elif kind == "nest":
        parent[key] = rng.choice([{"value": value}, [value], [value, value], {"x": [value]}])
    elif kind == "unknown":
        target = value if isinstance(value, dict) else parent if isinstance(parent, dict) else None
        if target is None:
            parent[key] = {"meen": 1}
        else:
            name = rng.choice(["meen", "orders_per_dya", "suplier", "x", "ünknown", "policy"])
            target[name] = rng.choice(WRONG_VALUES[:6])
    elif kind == "duplicate":
        arrays = [(p, v) for p, v in all_paths if isinstance(v, list) and v
                  and isinstance(v[0], dict)]
        if arrays:
            p, v = rng.choice(arrays)
            v.append(copy.deepcopy(rng.choice(v)))  # same id or name twice
            where = ".".join(str(x) for x in p)
        else:
            parent[key] = rng.choice(WRONG_VALUES)
    elif kind == "unicode":
        idents = [(p, v) for p, v in all_paths if p[-1] in ("id", "name", "supplier", "lane",
                                                          "baseline", "title", "description")]
        p, _ = rng.choice(idents) if idents else (path, value)
        parent_of(out, p)[p[-1]] = rng.choice(UNICODE_IDS)
        where = ".".join(str(x) for x in p)
    else:  # a table replaced by an empty one, or a scalar table
        parent[key] = rng.choice([{}, [], "table", 3])
    return out, f"{kind} at {where}"


def serialise(data: dict[str, Any]) -> str:
    """TOML text for a (possibly malformed) dict. ``to_toml`` puts top-level scalars first."""
    return to_toml(data)


TEXT_DAMAGE = ("truncate", "drop_line", "double_line", "random_bytes", "splice_bytes", "nul",
               "bad_utf8", "bom", "deep", "swap_brackets", "empty")


def damage(raw: bytes, rng: random.Random) -> tuple[bytes, str]:
    kind = rng.choice(TEXT_DAMAGE)
    lines = raw.split(b"\n")
    if kind == "truncate":
        return raw[: rng.randrange(len(raw))], kind
    if kind == "drop_line":
        i = rng.randrange(len(lines))
        return b"\n".join(lines[:i] + lines[i + 1:]), kind
    if kind == "double_line":  # a key or a [table] defined twice
        i = rng.randrange(len(lines))
        return b"\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1:]), kind
    if kind == "random_bytes":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))), kind
    if kind == "splice_bytes":
        i = rng.randrange(len(raw))
        junk = bytes(rng.randrange(32, 127) for _ in range(rng.randrange(1, 8)))
        return raw[:i] + junk + raw[i:], kind
    if kind == "nul":
        i = rng.randrange(len(raw))
        return raw[:i] + b"\x00" + raw[i:], kind
    if kind == "bad_utf8":
        i = rng.randrange(len(raw))
        return raw[:i] + b"\xff\xfe" + raw[i:], kind
    if kind == "bom":
        return b"\xef\xbb\xbf" + raw, kind
    if kind == "deep":
        depth = rng.choice([50, 500, 5000])
        return raw + b"\nx = " + b"[" * depth + b"]" * depth + b"\n", kind
    if kind == "swap_brackets":
        return raw.replace(b"[[", b"[", 1), kind
    return b"   \n\n", kind


def seed_data() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, tomllib.loads(p.read_text(encoding="utf-8"))) for p in SEEDS]


def test_seed_files_are_valid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert len(SEEDS) >= 2
    for path, data in seed_data():
        code, text = validate(path, capsys)
        assert code == 0, text
        # the TOML writer round-trips them (so mutants differ from the seed only by the mutation)
        again = tmp_path / path.name
        again.write_text(serialise(data), encoding="utf-8")
        assert validate(again, capsys)[0] == 0


def test_mutated_scenarios_exit_0_or_2_with_located_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(20261126)
    outcomes: Counter[str] = Counter()
    valid: list[Path] = []
    for seed_path, data in seed_data():
        for n in range(MUTANTS_PER_SEED):
            mutant, what = mutate(data, rng)
            path = tmp_path / f"{seed_path.stem}-m{n}.toml"
            try:
                path.write_text(serialise(mutant), encoding="utf-8")
            except (TypeError, UnicodeEncodeError):  # not writable as TOML: check the dict path
                outcomes["dict-only"] += 1
                try:
                    scenario_from_dict(mutant, str(path))
                except ScenarioError:
                    pass
                continue
            code, text = validate(path, capsys)
            outcomes["exit 0" if code == 0 else "exit 2"] += 1
            if code == 2:
                check_located(path, text, need_key=True)
            else:
                valid.append(path)
            # the same mutant as a dict (the API's path) fails the same way
            try:
                scenario_from_dict(tomllib.loads(path.read_text(encoding="utf-8")), str(path))
                assert code == 0, f"{what}: dict loads but the file did not"
            except ScenarioError:
                assert code == 2, f"{what}: the file loads but the dict did not"
    # valid mutants must also simulate (or be refused with exit 2), briefly
    for path in valid[:: max(1, len(valid) // 10)][:10]:
        out = tmp_path / f"run-{path.stem}"
        with time_limit(TIME_LIMIT * 3, f"run {path.name}"):
            code = main(["run", str(path), "--reps", "1", "--horizon", "5", "--jobs", "1",
                         "--out", str(out), "--no-report", "-q"])
        text = "".join(capsys.readouterr())
        assert code in (0, 2), f"run {path}: exit {code}\n{text}\n{_head(path)}"
        assert "Traceback" not in text
        outcomes["ran"] += 1
    tried = sum(v for k, v in outcomes.items() if k != "ran")
    COUNTS["structured mutations"] += tried
    COUNTS["valid mutants run"] += outcomes["ran"]
    with capsys.disabled():
        print(f"\n[fuzz] structured mutations of {len(SEEDS)} seed files: {tried} "  # noqa: T201
              f"({dict(outcomes)})")
    assert tried >= MUTANTS_PER_SEED * len(SEEDS)
    assert outcomes["exit 2"] > tried // 3 and outcomes["exit 0"] > 0


def test_damaged_text_exits_2_with_a_located_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(7)
    outcomes: Counter[str] = Counter()
    for seed_path in SEEDS:
        raw = seed_path.read_bytes()
        for n in range(TEXT_MUTANTS_PER_SEED):
            mutant, kind = damage(raw, rng)
            path = tmp_path / f"{seed_path.stem}-t{n}.toml"
            path.write_bytes(mutant)
            code, text = validate(path, capsys)
            outcomes[f"{kind}:{code}"] += 1
            if code == 2:
                check_located(path, text, need_key=False)
                assert re.search(rf"{re.escape(str(path))}(:\d+)?: \S", text), text
    tried = sum(outcomes.values())
    COUNTS["damaged texts"] += tried
    with capsys.disabled():
        print(f"\n[fuzz] damaged texts: {tried}")  # noqa: T201
    assert tried == TEXT_MUTANTS_PER_SEED * len(SEEDS)


# ---------------------------------------------------------------------------------------------
# Hypothesis-generated documents
# ---------------------------------------------------------------------------------------------

KEYS = sorted({
    "scenario", "name", "title", "description", "horizon_days", "warmup_days", "replications",
    "seed", "baseline", "customers", "population", "patience_days", "acquisition_per_day", "churn",
    "on_stockout", "products", "id", "price", "unit_cost", "initial_stock", "release_day",
    "demand", "orders_per_day", "quantity", "seasonality", "amplitude", "spikes", "start_day",
    "end_day", "multiplier", "replenishment", "rule", "order_up_to", "reorder_point", "supplier",
    "lane", "suppliers", "lead_time_days", "capacity_per_day", "min_order_qty", "outages",
    "lanes", "transit_days", "disruptions", "policies", "availability", "class", "options",
    "dist", "mean", "cv", "value", "low", "high", "values", "weights", "every_days",
    "duration_days", "deliveries", "day", "scripted_orders", "costs",
})
TAGS = ["gamma", "constant", "normal", "empirical", "poisson", "base_stock", "s_S", "r_Q",
        "none", "scheduled", "backorder", "out_of_stock", "preorder", "custom", "x:Y", "a"]

scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(TAGS),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def scenario_like(draw: st.DrawFn) -> dict[str, Any]:
    """The schema's shape with holes and garbage: sometimes valid, mostly not."""
    scen = draw(st.fixed_dictionaries({}, optional={
        "name": st.one_of(st.just("fz"), st.text(max_size=5)),
        "horizon_days": st.one_of(st.floats(0, 50), scalars),
        "warmup_days": st.one_of(st.just(0.0), scalars),
        "replications": st.one_of(st.integers(1, 3), scalars),
    }))
    dist = st.one_of(st.fixed_dictionaries({"dist": st.sampled_from(TAGS)}, optional={
        "mean": st.one_of(st.floats(0, 10), scalars), "cv": scalars, "value": scalars,
        "values": st.lists(scalars, max_size=3)}), scalars)
    product = st.fixed_dictionaries({}, optional={
        "id": st.one_of(st.sampled_from(["p", "q"]), scalars),
        "price": st.one_of(st.floats(0, 10), scalars),
        "initial_stock": st.one_of(st.integers(0, 20), scalars),
        "demand": st.one_of(st.fixed_dictionaries({}, optional={
            "orders_per_day": st.one_of(st.floats(0, 5), scalars), "quantity": dist}), values),
        "replenishment": st.one_of(st.fixed_dictionaries({"rule": st.sampled_from(TAGS)},
                                                         optional={
            "order_up_to": scalars, "supplier": st.sampled_from(["s", "t"])}), values),
        "patience_days": dist,
    })
    doc = draw(st.fixed_dictionaries({}, optional={
        "scenario": st.one_of(st.just(scen), values),
        "products": st.one_of(st.lists(product, max_size=3), values),
        "suppliers": st.lists(st.fixed_dictionaries({"id": st.sampled_from(["s", "t"])},
                                                    optional={"lead_time_days": dist}),
                              max_size=2),
        "policies": st.lists(st.fixed_dictionaries(
            {"name": st.sampled_from(["a", "b"]), "availability": st.sampled_from(TAGS)},
            optional={"class": st.sampled_from(["m:C", "bad"]), "options": values}), max_size=3),
        "customers": values,
    }))
    extra = draw(st.dictionaries(keys, values, max_size=2))
    return {**extra, **doc}


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(doc=scenario_like())
def test_generated_documents(doc: dict[str, Any], tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    COUNTS["hypothesis documents"] += 1
    try:
        text = serialise(doc)
    except (TypeError, ValueError):
        text = None
    if text is not None:
        path = tmp_path / "gen.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        code, out = validate(path, capsys)
        if code == 2:
            check_located(path, out, need_key=False)
    try:  # the same data through the API: a ScenarioError or a Scenario, nothing else
        scenario_from_dict(doc, "<generated>")
    except ScenarioError as error:
        assert all(p.file == "<generated>" for p in error.problems)


@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300),
    st.lists(st.sampled_from([
        "[scenario]", "[[products]]", "name = \"x\"", "horizon_days = 10", "id = \"p\"",
        "price = 1", "demand = { orders_per_day = 1 }", "[products.demand]", "x = [", "]",
        "y = { a = 1", "horizon_days = nan", "horizon_days = inf", "seed = 99999999999999999999",
        "= 3", "[scenario", "'''", "\"\"\"", "a.b.c = 1", "[[policies]]", "availability = 1",
    ]), max_size=12).map("\n".join),
))
def test_generated_raw_text(raw: bytes | str, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    COUNTS["hypothesis raw texts"] += 1
    path = tmp_path / "raw.toml"
    if isinstance(raw, str):
        path.write_bytes(raw.encode("utf-8", "surrogatepass"))
    else:
        path.write_bytes(raw)
    code, out = validate(path, capsys)
    if code == 2:
        check_located(path, out, need_key=False)


# ---------------------------------------------------------------------------------------------
# A sample through the installed command, in real processes
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sample_through_real_processes(tmp_path: Path) -> None:
    rng = random.Random(99)
    files: list[Path] = []
    for seed_path, data in seed_data():
        for n in range(4):
            mutant, _ = mutate(data, rng)
            path = tmp_path / f"{seed_path.stem}-p{n}.toml"
            try:
                path.write_text(serialise(mutant), encoding="utf-8")
            except (TypeError, UnicodeEncodeError):
                continue
            files.append(path)
        raw, _ = damage(seed_path.read_bytes(), rng)
        (tmp_path / f"{seed_path.stem}-raw.toml").write_bytes(raw)
        files.append(tmp_path / f"{seed_path.stem}-raw.toml")
    proc = subprocess.run([sys.executable, "-m", "stockout", "validate", *map(str, files)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 2), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    bad = [f for f in files if problems_of(f)]
    assert (proc.returncode == 2) == bool(bad)
    for f in bad:
        assert str(f) in proc.stdout + proc.stderr
    runs = 0
    for path in [*bad[:2], *[f for f in files if f not in bad][:1]]:
        proc = subprocess.run(
            [sys.executable, "-m", "stockout", "run", str(path), "--reps", "1", "--horizon", "5",
             "--jobs", "1", "--no-report", "--out", str(tmp_path / f"o-{path.stem}"), "-q"],
            capture_output=True, text=True, timeout=120)
        runs += 1
        assert proc.returncode in (0, 2), proc.stderr
        assert "Traceback" not in proc.stderr
        if path in bad:  # a valid file may still be refused: --horizon 5 inside its warm-up
            assert proc.returncode == 2
    COUNTS["subprocess validate files"] += len(files)
    COUNTS["subprocess runs"] += runs
    print(f"\n[fuzz] through real processes: {len(files)} files validated, {runs} runs")  # noqa: T201


def test_zz_report_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Print how many inputs the fuzz tests above tried (runs last in this module)."""
    total = sum(COUNTS.values())
    with capsys.disabled():
        print(f"\n[fuzz] inputs tried: {total} {dict(COUNTS)}")  # noqa: T201
    if COUNTS["structured mutations"]:  # when the whole module ran
        assert total >= 900
