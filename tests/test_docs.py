"""The docs hold: every command and every Python snippet in docs/*.md and README.md runs as written.

How a document is executed (each in a fresh temporary folder holding a copy of the repository's
``scenarios/`` and ``docs/``, so nothing lands in the checkout and relative paths work as in a
clone):

- Every line of a ```bash / ```console / ```sh block is a step, in document order (``$ ``
  prompts removed, ``\\`` continuations joined, ``a && b`` split). ``stockout ...``, ``cp ...``
  and ``python benchmarks/...`` run as written, with ``COLUMNS=120``; they must exit 0, or the
  code that an ``<!-- exit-code: N -->`` comment before the block names. Setting up the
  environment (``git clone``, ``cd``, ``python -m venv``, ``pip install``, activating) is what the
  test environment already did and is not repeated; ``python -m pytest`` is this suite. Any other
  command is an error: teach this file about it.
- Shown output is checked: in a ```console block the lines after a ``$ `` command, and a ```text
  block right after a runnable block (the output of its last command). Each shown line must be
  the start of a line the program printed (stdout then stderr), in order; a ``...`` line skips
  any number of lines, and a trailing `` ...`` is ignored. So a shown number is a printed number.
- ```python blocks of a document run in order, in one interpreter and one namespace, in the same
  kind of folder (after the document's ``cp`` lines and file blocks).
- ``<!-- file: NAME -->`` before a block writes the block to NAME in the folder (a module a how-to
  asks you to create); ``<!-- append-to: NAME -->`` appends it (a table added to a copied file).
- ``<!-- edit: NAME -->`` before a ```toml block applies it to NAME as a reader edits a copy: each
  ``key = value`` line replaces that key's line under the same table header (the first such
  header in the file), and a ``#:schema`` line replaces the file's one; ``# ...`` lines are prose.
- ``<!-- skip-test: reason -->`` before a block leaves it out; use it sparingly (say why).

Generated docs are checked against their generators.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"^<!--\s*(skip-test|file|append-to|edit|exit-code):?\s*(.*?)\s*-->$")
SHELL = {"bash", "console", "shell", "sh"}
#: Lines that set up the environment the test runs in already (or are this very suite).
ENVIRONMENT = ("git clone ", "cd ", "python -m venv ", ". .venv/", "source .venv/", "pip install ",
               "python -m pip install ", "python -m pytest")  # fmt: skip
#: Blocks the docs deliberately leave out of the test, and why (keep this short).
SKIPPED = {"howto-cluster.md": "needs a running Dask scheduler"}
TIMEOUT = 900


@dataclass
class Block:
    doc: Path
    line: int  # line number of the opening fence
    lang: str
    text: str
    markers: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.doc.name}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """The fenced blocks of a document with the marker comments just before each."""
    out: list[Block] = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i].strip())
        if not match:
            i += 1
            continue
        markers: dict[str, str] = {}
        k = i - 1
        while k >= 0 and (not lines[k].strip() or MARKER.match(lines[k].strip())):
            if m := MARKER.match(lines[k].strip()):
                markers[m.group(1)] = m.group(2)
            k -= 1
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        out.append(Block(doc, i + 1, match.group(1), "\n".join(lines[i + 1 : end]) + "\n",
                         markers))  # fmt: skip
        i = end + 1
    return out


@dataclass
class Step:
    """One thing to do: run a command (and check its shown output), or write a file."""

    where: str
    command: str = ""
    shown: list[str] = field(default_factory=list)
    exit_code: int = 0
    write: tuple[str, str, str] | None = None  # (name, text, mode "w", "a" or "edit")


def _commands(block: Block) -> list[tuple[str, list[str]]]:
    """(command, shown output lines) of a shell block."""
    joined = re.sub(r"\\\n\s*", " ", block.text)
    out: list[tuple[str, list[str]]] = []
    prompts = block.lang == "console" and any(x.startswith("$ ") for x in joined.splitlines())
    for line in joined.splitlines():
        if prompts and not line.startswith("$ "):
            if out:
                out[-1][1].append(line)
            continue
        command = re.sub(r"\s+#.*$", "", line.strip().removeprefix("$ ")).strip()
        for part in (p.strip() for p in command.split("&&")):
            if part:
                out.append((part, []))
    return out


def steps(doc: Path) -> list[Step]:
    """What executing the document's shell blocks and file blocks means, in document order."""
    out: list[Step] = []
    previous: Block | None = None
    for block in blocks(doc):
        after_shell = previous is not None and previous.lang in SHELL and out
        previous = block
        if "skip-test" in block.markers:
            continue
        for key, mode in (("file", "w"), ("append-to", "a"), ("edit", "edit")):
            if key in block.markers:
                out.append(Step(block.where, write=(block.markers[key], block.text, mode)))
        if block.lang in SHELL:
            code = int(block.markers.get("exit-code", "0"))
            for command, shown in _commands(block):
                if not command.startswith(ENVIRONMENT):
                    out.append(Step(block.where, command, shown, code))
        elif block.lang == "text" and after_shell and out[-1].command:
            out[-1].shown = block.text.splitlines()
    return out


def python_blocks(doc: Path) -> list[Block]:
    return [b for b in blocks(doc) if b.lang == "python" and not b.markers.keys() & {
        "skip-test", "file", "append-to", "edit"}]  # fmt: skip


def workdir(tmp_path: Path) -> Path:
    """A folder laid out like a clone, as far as the docs need: scenarios/, docs/, benchmarks/."""
    for name in ("scenarios", "docs", "benchmarks"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def environment() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="120", PYTHONHASHSEED="0")
    env.pop("NO_COLOR", None)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def shown_lines_missing(shown: list[str], printed: str) -> str | None:
    """None if every shown line starts a printed line, in order ('...' skips lines); else the
    first shown line that is not found."""
    actual = [x.rstrip() for x in printed.splitlines()]
    pos, free = 0, True
    for line in shown:
        want = line.rstrip()
        if want.strip() == "...":
            free = True
            continue
        want = want.removesuffix(" ...").rstrip()
        candidates = range(pos, len(actual)) if free else range(pos, min(pos + 1, len(actual)))
        hit = next((k for k in candidates if actual[k].startswith(want)), None)
        if hit is None:
            return line
        pos, free = hit + 1, False
    return None


def runnable(argv: list[str]) -> bool:
    """stockout itself, copying files, and the benchmark scripts."""
    if argv[0] == "python":
        return len(argv) > 1 and argv[1].startswith("benchmarks/")
    return argv[0] in ("stockout", "cp")


def edit_toml(original: str, edits: str, where: str) -> str:
    """``original`` with the lines of ``edits`` applied (see the module docstring)."""
    lines = original.splitlines()
    start = 0
    for edit in edits.splitlines():
        stripped = edit.strip()
        if stripped.startswith("#:schema"):
            k = next(i for i, x in enumerate(lines) if x.startswith("#:schema"))
            lines[k] = stripped
        elif stripped.startswith("["):
            assert stripped in lines, f"{where}: no {stripped} in the file to edit"
            start = lines.index(stripped) + 1
        elif stripped and not stripped.startswith("#"):
            key = stripped.split("=", 1)[0].strip()
            k = start
            while k < len(lines) and not lines[k].startswith("["):
                if lines[k].split("=", 1)[0].strip() == key:
                    break
                k += 1
            assert k < len(lines) and not lines[k].startswith("["), f"{where}: no {key} to edit"
            lines[k] = stripped
    return "\n".join(lines) + "\n"


def run_step(step: Step, work: Path) -> None:
    if step.write is not None:
        name, text, mode = step.write
        if mode == "edit":
            target = work / name
            target.write_text(edit_toml(target.read_text(encoding="utf-8"), text, step.where),
                              encoding="utf-8")  # fmt: skip
            return
        with (work / name).open(mode, encoding="utf-8") as f:
            f.write(("\n" if mode == "a" else "") + text)
        return
    argv = shlex.split(step.command)
    if not runnable(argv):
        pytest.fail(f"{step.where}: the docs test does not know how to run {step.command!r}")
    if argv[0] == "python":
        argv[0] = sys.executable
    done = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=TIMEOUT,
                          env=environment())  # fmt: skip
    printed = done.stdout + done.stderr
    assert done.returncode == step.exit_code, (
        f"{step.where}: `{step.command}` exited {done.returncode}, the docs expect "
        f"{step.exit_code}\n{printed}")
    missing = shown_lines_missing(step.shown, printed)
    assert missing is None, (
        f"{step.where}: the docs show output of `{step.command}` that it does not print:\n"
        f"  {missing!r}\nWhat it prints:\n{printed}")


DOCS_WITH_STEPS = [d for d in DOCS if any(s.command.startswith("stockout") for s in steps(d))]
DOCS_WITH_PYTHON = [d for d in DOCS if python_blocks(d)]


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS_WITH_STEPS, ids=lambda d: d.name)
def test_doc_commands_run_as_written(doc: Path, tmp_path: Path) -> None:
    work = workdir(tmp_path)
    for step in steps(doc):
        run_step(step, work)


DRIVER = textwrap.dedent("""
    import json, sys
    namespace = {"__name__": "__main__"}
    for where, source in json.load(open(sys.argv[1], encoding="utf-8")):
        exec(compile(source, where, "exec"), namespace)
""")


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS_WITH_PYTHON, ids=lambda d: d.name)
def test_doc_python_runs(doc: Path, tmp_path: Path) -> None:
    """The document's Python blocks run in order, in one namespace, as a reader pastes them."""
    work = workdir(tmp_path / "work")
    for step in steps(doc):
        if step.write is not None or step.command.startswith("cp "):
            run_step(step, work)
    code = [(b.where, b.text) for b in python_blocks(doc)]
    (tmp_path / "blocks.json").write_text(json.dumps(code), encoding="utf-8")
    (tmp_path / "driver.py").write_text(DRIVER, encoding="utf-8")
    argv = [sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "blocks.json")]
    done = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=TIMEOUT,
                          env=environment())  # fmt: skip
    assert done.returncode == 0, f"{doc.name}: a Python block failed\n{done.stdout}\n{done.stderr}"


def test_python_blocks_compile() -> None:
    """Every Python block is valid Python (the quick check; the slow test runs them)."""
    for doc in DOCS:
        for block in blocks(doc):
            if block.lang == "python":
                compile(block.text, block.where, "exec")


def test_shown_output_matching_is_strict() -> None:
    printed = "a table\n│ revenue kept │ 325,392 ± 5,209 │ 378,102\nfooter\n"
    excerpt = ["a table", "│ revenue kept │ 325,392 ± 5,209 │ ..."]
    assert shown_lines_missing(excerpt, printed) is None
    assert shown_lines_missing(["a table", "...", "footer"], printed) is None
    assert shown_lines_missing(["│ revenue kept │ 325,806 ± 4,993"], printed) is not None
    assert shown_lines_missing(["a table", "footer"], printed) == "footer"  # no '...' between
    assert shown_lines_missing(["footer", "a table"], printed) == "a table"  # order matters


def test_edits_replace_keys_under_their_table() -> None:
    original = '#:schema ../x.json\n[scenario]\nname = "a"\nseed = 1\n[[s]]\nid = "b"\nname = "c"\n'
    edits = "#:schema x.json\n[scenario]\nname = \"z\"\n# ...\n[[s]]\nname = \"y\"\n"
    assert edit_toml(original, edits, "t") == (
        "#:schema x.json\n[scenario]\nname = \"z\"\nseed = 1\n[[s]]\nid = \"b\"\nname = \"y\"\n")
    with pytest.raises(AssertionError, match="no title"):
        edit_toml(original, "[[s]]\ntitle = 1\n", "t")


def test_docs_have_commands_and_snippets_to_test() -> None:
    names = {d.name for d in DOCS_WITH_STEPS}
    assert {"tutorial.md", "howto-sweep.md", "README.md", "howto-custom-policy.md"} <= names
    assert {"howto-notebook.md", "background.md", "sweeps.md"} <= {d.name for d in DOCS_WITH_PYTHON}
    assert any(s.shown for s in steps(ROOT / "docs" / "tutorial.md"))


def test_every_runnable_line_is_understood() -> None:
    """A shell line the test would not run is an error here, not a silent skip."""
    for doc in DOCS:
        for step in steps(doc):
            if step.write is None:
                assert runnable(shlex.split(step.command)), (step.where, step.command)


def test_skip_markers_are_sparing_and_give_a_reason() -> None:
    skipped = {}
    for doc in DOCS:
        for block in blocks(doc):
            if "skip-test" in block.markers:
                assert block.markers["skip-test"], f"{block.where}: say why the block is skipped"
                skipped[doc.name] = block.markers["skip-test"]
        assert "<!-- no-test -->" not in doc.read_text(encoding="utf-8"), doc.name
    assert skipped == SKIPPED


def _load_tool(name: str):
    path = ROOT / "docs" / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_is_generated_from_the_current_schema() -> None:
    """docs/reference-scenario.md is what docs/tools/gen_reference.py writes today
    (regenerate with `python docs/tools/gen_reference.py`)."""
    tool = _load_tool("gen_reference")
    assert (ROOT / "docs" / "reference-scenario.md").read_text(encoding="utf-8") == tool.render()


def test_validation_table_exists_and_its_generator_imports() -> None:
    """The validation table is regenerated by its script (it runs simulations: not here)."""
    tool = _load_tool("gen_validation")
    assert callable(tool.main) and callable(tool.render)
    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    assert "GENERATED by docs/tools/gen_validation.py" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) >= 10 and not any("**no**" in r for r in rows)


def test_relative_links_in_docs_resolve() -> None:
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    broken = []
    for doc in [*DOCS, *sorted((ROOT / "notebooks").glob("*.md"))]:
        for target in link.findall(doc.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.name}: {target}")
    assert not broken, broken


def test_docs_stand_alone() -> None:
    """The docs, code and tests cite only pages of the project, never the founders' design notes
    (DESIGN.md, THEORY.md, STYLE.md are not in the repository)."""
    cited = re.compile(r"DESIGN §|DESIGN\.md|THEORY\.md|STYLE \"|STYLE\.md|\(STYLE[,)]")
    places = [*DOCS, ROOT / "notebooks" / "lesson.ipynb",
              *(ROOT / "src").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]  # fmt: skip
    found = [f"{p.relative_to(ROOT)}:{n}" for p in places if p != Path(__file__)
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if cited.search(line)]  # fmt: skip
    assert not found, found


# ---- the lesson notebook ------------------------------------------------------------------

NOTEBOOK = ROOT / "notebooks" / "lesson.ipynb"


def _saved_outputs() -> list[dict]:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return [o for c in notebook["cells"] if c["cell_type"] == "code" for o in c["outputs"]]


def test_lesson_notebook_is_saved_small_and_readable() -> None:
    """It reads without running: every code cell has its outputs, no error and no warning; tables
    and printed numbers, not the 1.5 MB plotly bundle per figure; numbers written for a planner
    (thousands separators, percentages), never in scientific notation."""
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] for c in code)
    assert NOTEBOOK.stat().st_size < 100_000
    text = json.dumps(_saved_outputs())
    assert "plotly" not in text.lower() and '"error"' not in text and '"stderr"' not in text
    assert not re.search(r"\d[eE][+-]\d\d", text), "a number in scientific notation"
    assert re.search(r"\d{1,3},\d{3}", text) and re.search(r"\d\.\d%", text)
    assert "scenario_dict" in json.dumps(code)  # the how-to's exercise is run, not only told


@pytest.mark.slow
def test_lesson_notebook_runs_and_its_saved_outputs_are_current() -> None:
    """notebooks/lesson.ipynb executes top to bottom (it asserts its own lesson) and prints
    exactly what is saved in it (rerun `python docs/tools/run_notebook.py` after a change)."""
    pytest.importorskip("nbclient")
    tool = _load_tool("run_notebook")
    fresh = tool.execute(NOTEBOOK)
    saved = tool.outputs(tool.nbformat.read(NOTEBOOK, as_version=4))
    assert tool.outputs(fresh) == saved, (
        "the notebook's saved outputs are out of date: run python docs/tools/run_notebook.py")
