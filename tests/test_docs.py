"""The docs' commands work: every `stockout ...` line of a ```bash or ```console block in
docs/*.md and README.md is run, and must exit 0.

Each document's commands run in order in a fresh folder holding a copy of the bundled scenarios
(and the JSON schema), after that document's `cp` lines. Runs are made cheap: `--reps 2` (or less,
if the command asks for fewer), and `--out` moved into the folder. A block preceded by
`<!-- no-test -->` is not run (for commands that need infrastructure, e.g. a Dask cluster).
Generated docs are checked against their generators.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(\w*)\s*$")
RUNNABLE = {"bash", "console", "shell", "sh"}


def shell_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, command) of every line of a runnable fenced block, `$ ` prompts removed."""
    out: list[tuple[int, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    in_block, runnable = False, False
    for i, line in enumerate(lines, start=1):
        match = FENCE.match(line.strip())
        if match and not in_block:
            in_block = True
            before = [x.strip() for x in lines[: i - 1] if x.strip()]
            skipped = bool(before) and before[-1] == "<!-- no-test -->"
            runnable = match.group(1) in RUNNABLE and not skipped
            continue
        if line.strip().startswith("```") and in_block:
            in_block = False
            continue
        if in_block and runnable:
            command = line.strip().removeprefix("$ ")
            command = re.sub(r"\s+#.*$", "", command)  # trailing comments
            if command:
                out.append((i, command))
    return out


def doc_commands() -> list[tuple[Path, int, str]]:
    return [(p, n, c) for p in DOCS for n, c in shell_lines(p) if c.startswith("stockout ")]


def _id(item: tuple[Path, int, str]) -> str:
    path, n, command = item
    return f"{path.name}:{n}:{command[:50]}"


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """One working folder per document, prepared by the document's `cp` lines."""
    dirs: dict[Path, Path] = {}
    for doc in DOCS:
        work = tmp_path_factory.mktemp(doc.stem)
        shutil.copytree(ROOT / "scenarios", work / "scenarios")
        (work / "docs").mkdir()
        shutil.copy(ROOT / "docs" / "scenario.schema.json", work / "docs")
        for _, command in shell_lines(doc):
            if command.startswith("cp "):
                subprocess.run(shlex.split(command), cwd=work, check=True)
        dirs[doc] = work
    return dirs


def cheap(argv: list[str], work: Path, n: int) -> list[str]:
    """The command with --reps capped at 2 and --out moved into the working folder."""
    argv = list(argv)
    if len(argv) > 1 and argv[1] in ("run", "sweep"):
        if "--reps" in argv:
            k = argv.index("--reps") + 1
            argv[k] = str(min(int(argv[k]), 2))
        else:
            argv += ["--reps", "2"]
    if len(argv) > 1 and argv[1] in ("run", "sweep", "optimize"):
        if "--out" in argv:
            k = argv.index("--out") + 1
            argv[k] = str(work / f"out-{n}-{Path(argv[k]).name}")
    return argv


@pytest.mark.slow
@pytest.mark.parametrize("item", doc_commands(), ids=_id)
def test_doc_command_runs(item: tuple[Path, int, str], workdirs: dict[Path, Path]) -> None:
    doc, n, command = item
    argv = shlex.split(command)
    work = workdirs[doc]
    argv = cheap(argv, work, n)
    exe = Path(sys.executable).with_name("stockout")
    argv[0] = str(exe) if exe.exists() else "stockout"
    done = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{doc.name}:{n}: {command}\n{done.stdout}\n{done.stderr}"


def test_docs_have_commands_to_test() -> None:
    names = {p.name for p, _, _ in doc_commands()}
    assert {"tutorial.md", "howto-sweep.md"} <= names


def test_no_test_marker_is_used_sparingly() -> None:
    marked = [p.name for p in DOCS if "<!-- no-test -->" in p.read_text(encoding="utf-8")]
    assert marked == ["howto-cluster.md"]


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
    for doc in DOCS:
        for target in link.findall(doc.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.name}: {target}")
    assert not broken, broken


@pytest.mark.slow
def test_lesson_notebook_runs() -> None:
    """notebooks/lesson.ipynb executes top to bottom (it asserts its own lesson)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(ROOT / "notebooks" / "lesson.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
