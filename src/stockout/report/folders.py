"""Which kind of results folder a folder is, and how its report is rebuilt.

Every folder stockout writes has a kind: ``run`` (``manifest.json``), ``sweep`` (``sweep.json``),
and any kind another command adds. A kind is found from the ``kind`` key of the folder's
``manifest.json`` when it has one, else from its marker file. A new kind plugs in with
:func:`register`: its name, its marker file, how to tell whether the folder is complete, and how to
build its report. Reads files only: never imports the model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stockout.report.tables import ResultsFolderError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class FolderKind:
    """A kind of results folder.

    ``marker`` is the file that identifies it (a JSON file); ``incomplete`` returns why a folder
    of this kind cannot be reported yet (None when it can); ``build`` writes report.html and
    returns its path.
    """

    name: str
    marker: str
    incomplete: Callable[[Path], str | None]
    build: Callable[[Path], Path]


KINDS: dict[str, FolderKind] = {}


def register(kind: FolderKind) -> FolderKind:
    """Add (or replace) a kind of results folder that ``stockout report`` rebuilds."""
    KINDS[kind.name] = kind
    return kind


def _json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def kind_of(folder: Path) -> FolderKind | None:
    """The kind of ``folder``, or None when it is not a results folder stockout wrote."""
    named = _json(folder / MANIFEST).get("kind")
    if isinstance(named, str) and named in KINDS:
        return KINDS[named]
    specific = [k for k in KINDS.values() if k.marker != MANIFEST]
    for kind in [*specific, *(k for k in KINDS.values() if k.marker == MANIFEST)]:
        if (folder / kind.marker).is_file():
            return kind
    return None


def results_folders_inside(folder: Path, depth: int = 2) -> list[Path]:
    """Results folders under ``folder`` (at most ``depth`` levels down), newest first."""
    found: list[Path] = []
    level = [folder]
    for _ in range(depth):
        level = sorted(p for parent in level for p in _subfolders(parent))
        found += [p for p in level if kind_of(p) is not None]
        level = [p for p in level if kind_of(p) is None]
    return sorted(found, key=lambda p: (p.stat().st_mtime, str(p)), reverse=True)


def _subfolders(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return []


def not_a_results_folder(folder: Path, shown: str) -> str:
    """Why ``folder`` cannot be reported, and the results folders inside it, if any."""
    inside = results_folders_inside(folder)
    if not inside:
        markers = " or ".join(sorted({k.marker for k in KINDS.values()}))
        return f"{shown}: not a results folder (no {markers})"
    listed = "\n".join(f"  stockout report {_under(shown, p, folder)}" for p in inside[:5])
    more = f"\n  ... and {len(inside) - 5} more" if len(inside) > 5 else ""
    return (
        f"{shown}: not a results folder itself, but it holds {len(inside)} "
        f"(newest first):\n{listed}{more}"
    )


def _under(shown: str, path: Path, folder: Path) -> str:
    return str(Path(shown) / path.relative_to(folder))


def build(folder: Path) -> Path:
    """Rebuild the report of ``folder``, whatever its kind. Raises :class:`ResultsFolderError`
    when it is not a results folder, or not a complete one."""
    kind = kind_of(folder)
    if kind is None and (folder / "summary.csv").is_file():
        raise ResultsFolderError(
            f"{folder}: incomplete results folder (no manifest.json): the run was interrupted "
            "or is still going; run the scenario again into a new folder"
        )
    if kind is None:
        raise ResultsFolderError(not_a_results_folder(folder, str(folder)))
    why = kind.incomplete(folder)
    if why is not None:
        raise ResultsFolderError(f"{folder}: {why}")
    return kind.build(folder)


# ---------------------------------------------------------------------------------------------
# The kinds stockout writes
# ---------------------------------------------------------------------------------------------


def _run_incomplete(folder: Path) -> str | None:
    if not (folder / "summary.csv").is_file():
        return "damaged results folder (no summary.csv)"
    return None


def _build_run(folder: Path) -> Path:
    from stockout.report.html import write_report

    return Path(write_report(folder))


def _sweep_incomplete(folder: Path) -> str | None:
    status = _json(folder / "sweep.json").get("status")
    if status != "complete":
        return (
            "the sweep did not finish (sweep.json: status "
            f"{status!r}); complete it with: stockout sweep --resume {folder}"
        )
    return None


def _build_sweep(folder: Path) -> Path:
    from stockout.report.sweep import write_sweep_report

    return Path(write_sweep_report(folder))


register(FolderKind("run", MANIFEST, _run_incomplete, _build_run))
register(FolderKind("sweep", "sweep.json", _sweep_incomplete, _build_sweep))
