"""The optimisation's results folder (docs/results-format.md, "Optimisation folders").

While running: ``optimize.json`` (the settings, status ``running``), ``base-scenario.toml`` (the
scenario as searched) and ``points/<k>-<policy>.json``, one per finished search, so a resume
skips them. At the end: ``optimum.csv``, ``candidates.csv`` (and ``winners.csv`` with a sweep),
the run tables at the optima (without a sweep), ``report.html``, then ``manifest.json`` last.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..results_io import csv_bytes, to_toml, write_atomic
from ..scenario.schema import Scenario
from .plan import OptimizeError

if TYPE_CHECKING:
    from ..claim import Claim
    from .plan import OptimizeResult, Plan

CONFIG_FILE = "optimize.json"
BASE_FILE = "base-scenario.toml"
POINTS_DIR = "points"


def points(the_plan: Plan) -> list[tuple[dict[str, Any], Scenario]]:
    """(swept values, scenario) per point; one point without a sweep."""
    if not the_plan.vary:
        return [({}, the_plan.scenario)]
    from ..sweep import _variants, grid

    values = grid(the_plan.vary)
    return list(zip(values, _variants(the_plan.scenario, values, the_plan.source), strict=True))


def _fingerprint(the_plan: Plan) -> str:
    data = {**the_plan.config(), "scenario": the_plan.scenario.model_dump(by_alias=True)}
    text = json.dumps(data, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _json(data: Any) -> bytes:
    def default(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        raise TypeError(f"cannot write {type(value).__name__} to JSON")

    return (json.dumps(data, indent=1, default=default) + "\n").encode("utf-8")


def claim(folder: Path, resume: bool) -> Claim:
    """This optimisation's claim on ``folder`` (made if missing; refused if another live run
    holds it, or if it is not empty and this is not a resume)."""
    from ..claim import claim_work_folder

    if resume and not (folder / CONFIG_FILE).is_file():
        raise OptimizeError(f"{folder}: not an optimisation folder (no {CONFIG_FILE}): "
                            "nothing to resume")
    return claim_work_folder(folder, resume=resume, error=OptimizeError, what="optimisation")


def prepare(folder: Path, the_plan: Plan, resume: bool, search_dir: Path | None = None
            ) -> dict[tuple[int, str], dict[str, Any]]:
    """Create the folder (or check the one resumed) and return the searches already saved.
    ``search_dir`` (where the scenario's policy modules are) is kept for a resume."""
    meta = {**the_plan.config(), "status": "running", "fingerprint": _fingerprint(the_plan),
            "search_dir": str(search_dir.resolve()) if search_dir is not None else None}
    if resume:
        path = folder / CONFIG_FILE
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise OptimizeError(f"{folder}: not an optimisation folder (no readable "
                                f"{CONFIG_FILE}): nothing to resume") from None
        if (folder / "manifest.json").exists():
            raise OptimizeError(f"{folder}: this optimisation is complete: nothing to resume")
        if old.get("fingerprint") != meta["fingerprint"]:
            raise OptimizeError(f"{folder}: started with other settings; resume it from the "
                                "folder alone (stockout optimize --resume DIR)")
        return _saved(folder, the_plan)
    try:
        (folder / POINTS_DIR).mkdir(parents=True, exist_ok=True)
        data = the_plan.scenario.model_dump(by_alias=True, exclude_unset=True)
        write_atomic(folder / BASE_FILE, to_toml(
            _without_none(data), header="Base scenario of this optimisation.").encode("utf-8"))
        write_atomic(folder / CONFIG_FILE, _json(meta))
    except OSError as error:
        raise OptimizeError(f"{folder}: cannot create the folder ({error.strerror or error}); "
                            "choose a place you can write to") from None
    return {}


def _without_none(value: Any) -> Any:
    from ..sweep import _without_none as strip

    return strip(value)


def _name(k: int, policy_index: int) -> str:
    return f"{k:05d}-{policy_index:03d}.json"


def finished(folder: Path) -> list[Path]:
    return sorted((folder / POINTS_DIR).glob("*.json")) if (folder / POINTS_DIR).is_dir() else []


def _saved(folder: Path, the_plan: Plan) -> dict[tuple[int, str], dict[str, Any]]:
    policies = [p.name for p in the_plan.scenario.policies]
    out = {}
    for k in range(len(points(the_plan))):
        for i, policy in enumerate(policies):
            path = folder / POINTS_DIR / _name(k, i)
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # missing or damaged: searched again
            if isinstance(saved, dict) and {"optimum", "candidates"} <= set(saved):
                out[(k, policy)] = saved
    return out


def save_point(folder: Path, k: int, policy_index: int, saved: dict[str, Any]) -> None:
    write_atomic(folder / POINTS_DIR / _name(k, policy_index), _json(saved))


def finish(folder: Path, the_plan: Plan, result: OptimizeResult, *,
           command: Sequence[str], report: bool) -> None:
    """The tables, the report, and the manifest last."""
    extra = {"optimum.csv": csv_bytes(result.optimum),
             "candidates.csv": csv_bytes(result.candidates)}
    info = {"kind": "optimize", "optimize": {**the_plan.config(),
                                             "elapsed_seconds": round(result.elapsed_seconds, 3)}}
    if result.results is not None:
        from ..results_io import write_results

        write_results(folder, result.results, command=command, report=report, extra=extra,
                      manifest_extra=info)
    else:
        assert result.winners is not None
        extra["winners.csv"] = csv_bytes(result.winners)
        _finish_sweep(folder, the_plan, extra, info, command, report)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    write_atomic(folder / CONFIG_FILE, _json({**config, "status": "complete"}))


def _finish_sweep(folder: Path, the_plan: Plan, extra: dict[str, bytes], info: dict[str, Any],
                  command: Sequence[str], report: bool) -> None:
    from datetime import datetime

    from .. import __version__

    files = []
    for name, data in extra.items():
        write_atomic(folder / name, data)
        files.append(name)
    if report:
        from ..report.optimum import write_optimize_sweep_report

        write_optimize_sweep_report(folder)
        files.append("report.html")
    meta = the_plan.scenario.scenario
    manifest = {
        "stockout_version": __version__, "scenario": meta.name, "title": meta.title,
        "seed": meta.seed, "policies": [p.name for p in the_plan.scenario.policies],
        "command": list(command), "finished": datetime.now().astimezone().isoformat(
            timespec="seconds"), "files": files, **info,
    }
    text = json.dumps(manifest, indent=2, allow_nan=False, default=_finite) + "\n"
    write_atomic(folder / "manifest.json", text.encode("utf-8"))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(type(value).__name__)
