"""Run notebooks/lesson.ipynb top to bottom and save it with its outputs, so that it reads without
running (on GitHub, in any notebook viewer). The test suite runs it the same way and checks that
the saved outputs are what the notebook prints today.

    python docs/tools/run_notebook.py            # rerun and save
    python docs/tools/run_notebook.py --check    # exit 1 if the saved outputs are out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "lesson.ipynb"


def execute(path: Path = NOTEBOOK) -> nbformat.NotebookNode:
    """The notebook at ``path`` executed in a fresh kernel, in its own folder (no timings kept,
    so the same code and seed give the same file)."""
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )  # fmt: skip
    client.execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode) -> list[list[tuple[str, str]]]:
    """What each code cell printed or showed, as text (the HTML of a table depends on the pandas
    version; its text and the printed lines do not)."""
    cells = []
    for cell in (c for c in notebook.cells if c.cell_type == "code"):
        shown = []
        for o in cell.outputs:
            if o.output_type == "stream":
                shown.append((o.name, o.text))
            elif o.output_type == "error":
                shown.append(("error", f"{o.ename}: {o.evalue}"))
            else:
                shown.append((o.output_type, o.get("data", {}).get("text/plain", "")))
        cells.append(shown)
    return cells


def main(argv: list[str]) -> int:
    fresh = execute()
    if "--check" in argv:
        current = outputs(nbformat.read(NOTEBOOK, as_version=4)) == outputs(fresh)
        sys.stdout.write("outputs are current\n" if current
                         else "outputs are out of date: rerun without --check\n")
        return 0 if current else 1
    nbformat.write(fresh, NOTEBOOK)
    sys.stdout.write(f"wrote {NOTEBOOK.relative_to(ROOT)} ({NOTEBOOK.stat().st_size:,} bytes)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
