"""The layout's rules, checked on the source itself.

- Imports point one way: no import cycle between our modules (counting imports inside
  functions: a late import is still a dependency), the scenario layer imports nothing of the
  model, summaries and reports never import the model.
- No function in ``src/`` is longer than ``MAX_LINES`` lines (its docstring aside).
- The model uses SimPy through its public API: no private attribute of SimPy's objects.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "stockout"
MAX_LINES = 80


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Our modules that ``name`` imports, anywhere in it (TYPE_CHECKING blocks excepted: they
    are never executed)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a path of modules; None if there is none. A package's
    ``__init__`` importing its own modules (re-exports) is not an edge back."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if node.startswith(nxt + "."):  # a module and its own package's __init__
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


# Known edges of import cycles, left out of the check until they are broken. Empty: keep it so.
# The list may only shrink: an edge that no longer exists fails the test until removed.
KNOWN_EDGES_IN_CYCLES: set[tuple[str, str]] = set()


def test_no_import_cycle() -> None:
    graph = _graph()
    for a, b in KNOWN_EDGES_IN_CYCLES:
        assert b in graph[a], f"{a} no longer imports {b}: remove it from KNOWN_EDGES_IN_CYCLES"
        graph[a] = graph[a] - {b}
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize(("lower", "upper"), [
    ("stockout.scenario", "stockout.model"),
    ("stockout.scenario", "stockout.policies"),
    ("stockout.scenario", "stockout.distributions"),
    ("stockout.records", "stockout.model"),
    ("stockout.streams", "stockout.model"),
    ("stockout.policies", "stockout.model"),
    ("stockout.summary", "stockout.model"),
    ("stockout.report", "stockout.model"),
    ("stockout.distributions", "stockout.model"),
])
def test_imports_point_one_way(lower: str, upper: str) -> None:
    """Nothing in ``lower`` imports anything in ``upper``."""
    bad = [
        f"{name} imports {target}"
        for name, targets in _graph().items() if name == lower or name.startswith(lower + ".")
        for target in targets if target == upper or target.startswith(upper + ".")
    ]
    assert not bad, bad


def _long_functions() -> list[str]:
    out = []
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                doc = ast.get_docstring(node, clean=False)
                if doc is not None:  # the docstring is not code
                    lines -= doc.count("\n") + 1
                if lines > MAX_LINES:
                    out.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({lines})")
    return out


# Known long functions ("path name"), left out of the check until they are split. Empty: keep
# it so. The list may only shrink: an entry that is no longer long (or gone) fails the test until
# it is removed here.
PENDING: set[str] = set()


def test_no_function_is_longer_than_the_limit() -> None:
    long = {}
    for entry in _long_functions():  # "path:line name (lines)"
        path, rest = entry.split(":", 1)
        long[f"{path} {rest.split()[1]}"] = entry
    new = [entry for key, entry in long.items() if key not in PENDING]
    assert not new, "\n".join(new)
    stale = PENDING - set(long)
    assert not stale, f"no longer long, remove from PENDING: {sorted(stale)}"


def test_the_length_check_sees_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES + 1))
    tree = ast.parse(f"def f():\n{body}\n")
    node = tree.body[0]
    assert node.end_lineno - node.lineno + 1 > MAX_LINES  # type: ignore[attr-defined, operator]


# SimPy's private attributes, on whatever object (environments, events, processes)
_PRIVATE_SIMPY = re.compile(
    r"\b(env|environment|ev|event|timeout|proc|process)\._[a-z]\w*\b"
    r"|(?<!self)\._(now|queue|eid|active_proc|ok|defused|generator|target)\b"
)


def test_the_model_reads_no_private_simpy_attribute() -> None:
    found = [
        f"{path.relative_to(SRC)}:{i}: {line.strip()}"
        for path in sorted((SRC / PACKAGE).rglob("*.py"))
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _PRIVATE_SIMPY.search(line) or "SLF001" in line
    ]
    assert not found, "\n".join(found)


def test_every_customer_is_a_simpy_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bar of issue 23: a run processes at least one SimPy event per customer (each is a
    timeout), on a one-product run and on one with every feature on."""
    import sys

    import simpy

    sys.path.insert(0, str(SRC.parent / "benchmarks"))
    try:
        from common import w1, w2
    finally:
        sys.path.remove(str(SRC.parent / "benchmarks"))
    from stockout.model import Model

    steps = 0
    step = simpy.Environment.step

    def counted(env: simpy.Environment) -> None:
        nonlocal steps
        steps += 1
        step(env)

    monkeypatch.setattr(simpy.Environment, "step", counted)
    for scenario in (w1(300), w2(120)):
        for policy in scenario.policies:
            steps = 0
            model = Model(scenario, policy.name, 0)
            model.run()
            customers = sum(sp.arrivals for sp in model.products)
            assert customers > 1000
            assert steps >= customers, (scenario.scenario.name, policy.name, steps, customers)
