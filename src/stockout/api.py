"""The Python API: load a scenario, make variants, run it, look at the tables, save them.

For scripts and notebooks; the command line is a thin layer over these functions. Nothing here
touches the disk unless asked (:func:`load` from a path reads the file, :meth:`Results.save`
writes a results folder).

>>> import stockout
>>> scenario = stockout.load({
...     "scenario": {"name": "tiny", "horizon_days": 30},
...     "products": [{"id": "widget", "price": 10, "demand": {"orders_per_day": 2}}],
... })
>>> [p.name for p in scenario.policies]
['backorder', 'out-of-stock']
>>> quick = stockout.with_overrides(scenario, replications=3, seed=42, policies=["out-of-stock"])
>>> quick.scenario.replications, quick.baseline
(3, 'out-of-stock')

and then, with the model in place::

    results = stockout.run(quick, jobs=2)
    results.summary.query("product == 'all' and metric == 'fill_rate'")
    results.compare()           # better than the baseline? significant?
    results.save("results/tiny/try-1")
"""

from __future__ import annotations

import os
import re
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from . import summary
from .records import RunResult
from .scenario.errors import Problem, ScenarioError, did_you_mean
from .scenario.load import load_scenario, scenario_dict, scenario_from_dict
from .scenario.schema import Scenario
from .stages import stage

__all__ = [
    "Results",
    "ScenarioInfo",
    "build_report",
    "format_trace",
    "json_schema",
    "list_scenarios",
    "load",
    "run",
    "scenario_dict",
    "trace",
    "with_overrides",
]

ScenarioLike = Scenario | Mapping[str, Any] | str | os.PathLike[str]
Progress = Callable[[int, int], None]


def load(source: ScenarioLike) -> Scenario:
    """A validated :class:`~stockout.scenario.schema.Scenario` from a TOML file, a dict shaped like
    the file, or a Scenario (returned as is).

    Raises :class:`~stockout.scenario.errors.ScenarioError` listing every problem found.

    >>> load({"scenario": {"name": "x", "horizon_days": 10},
    ...       "products": [{"id": "a", "price": 1, "demand": {"orders_per_day": 1}}]}).scenario.name
    'x'
    """
    if isinstance(source, Scenario):
        return source
    if isinstance(source, Mapping):
        return scenario_from_dict(dict(source), "<dict>")
    return load_scenario(Path(source))


def with_overrides(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    horizon_days: float | None = None,
    policies: Sequence[str] | None = None,
    source: str = "<overrides>",
) -> Scenario:
    """A new Scenario with some settings changed; ``scenario`` itself is never modified.

    ``policies`` keeps only the named policies, in the given order. If the baseline is left out,
    the first remaining policy becomes the baseline. The result is validated again, so an
    impossible combination (say a horizon shorter than the warm-up) is a ScenarioError, whose
    problems are located in ``source``.

    >>> base = load({"scenario": {"name": "x", "horizon_days": 10, "baseline": "backorder"},
    ...              "products": [{"id": "a", "price": 1, "demand": {"orders_per_day": 1}}]})
    >>> variant = with_overrides(base, horizon_days=20, policies=["out-of-stock"])
    >>> variant.scenario.horizon_days, variant.baseline, base.scenario.horizon_days
    (20.0, 'out-of-stock', 10.0)
    >>> with_overrides(base, policies=["backordr"])
    Traceback (most recent call last):
    ...
    stockout.scenario.errors.ScenarioError: <overrides>: --policies: unknown policy 'backordr'; did you mean 'backorder'? (the scenario's policies: backorder, out-of-stock)
    """  # noqa: E501
    data = scenario_dict(scenario)
    meta = data["scenario"]
    if replications is not None:
        meta["replications"] = replications
    if seed is not None:
        meta["seed"] = seed
    if horizon_days is not None:
        meta["horizon_days"] = horizon_days
    if policies is not None:
        data["policies"] = _select_policies(scenario, list(policies), source)
        kept = [p["name"] for p in data["policies"]]
        meta["baseline"] = scenario.baseline if scenario.baseline in kept else kept[0]
    try:
        return scenario_from_dict(data, source)
    except ScenarioError as error:
        # a value given as an option is named by its option, not only by the key it sets
        options = {"scenario.replications": (replications, "--reps"),
                   "scenario.seed": (seed, "--seed"),
                   "scenario.horizon_days": (horizon_days, "--horizon")}
        problems = []
        for p in error.problems:
            if p.key_path in options and options[p.key_path][0] is not None:
                p = replace(p, key_path=f"{options[p.key_path][1]} ({p.key_path})")
            elif horizon_days is not None and "horizon_days" in p.message:
                p = replace(p, message=f"{p.message} (--horizon set horizon_days)")
            problems.append(p)
        raise ScenarioError(problems) from None


def _select_policies(scenario: Scenario, names: list[str], source: str) -> list[dict[str, Any]]:
    """The named policies' dicts in the order given; every unknown or repeated name reported."""
    known = [p.name for p in scenario.policies]
    problems = []
    if not names:
        problems.append(Problem(source, "--policies", "name at least one policy"))
    for name in sorted(set(names) - set(known), key=names.index):
        hint = did_you_mean(name, known)
        message = f"unknown policy '{name}'{hint} (the scenario's policies: {', '.join(known)})"
        problems.append(Problem(source, "--policies", message))
    for name in sorted({n for n in names if names.count(n) > 1}, key=names.index):
        problems.append(Problem(source, "--policies", f"policy '{name}' is named twice"))
    if problems:
        raise ScenarioError(problems)
    by_name = {p.name: p for p in scenario.policies}
    return [by_name[n].model_dump(by_alias=True, exclude_none=True) for n in names]


def run(
    scenario: ScenarioLike,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    search_dir: str | os.PathLike[str] | None = None,
    executor: Any = None,
    allow_code: bool = False,
) -> Results:
    """Run every policy of the scenario for its number of replications and return the
    :class:`Results`. Writes nothing.

    ``jobs`` worker processes share the runs (the results do not depend on it);
    ``progress(done, total)`` is called after each finished run. ``search_dir`` is where custom
    policy modules are looked for first: the scenario file's folder when ``scenario`` is a path.
    ``executor`` runs the work elsewhere: ``"tcp://HOST:PORT"`` (a Dask scheduler) or an executor
    from :mod:`stockout.executors`; the results are the same.

    A scenario is data: a custom policy's code runs only with ``allow_code=True`` (see
    :mod:`stockout.trust`); otherwise :class:`~stockout.trust.CodeNotAllowed` is raised.
    """
    from .experiment import run_replications  # the model loads only when a run is asked for
    from .trust import require_allowed

    resolved = load(scenario)
    if search_dir is None and isinstance(scenario, str | os.PathLike):
        search_dir = Path(scenario).parent
    require_allowed(resolved, allow_code, Path(search_dir) if search_dir is not None else None)
    started = datetime.now().astimezone()
    clock = time.perf_counter()
    with stage("simulate"):
        runs = run_replications(
            resolved,
            jobs=jobs,
            progress=progress,
            search_dir=Path(search_dir) if search_dir is not None else None,
            executor=executor,
        )
    return Results(
        scenario=resolved,
        runs=list(runs),
        jobs=jobs,
        started=started,
        elapsed_seconds=time.perf_counter() - clock,
    )


@dataclass(frozen=True)
class Results:
    """The runs of one experiment and the tables made from them (computed once, on first use).

    Every table is a pandas DataFrame with the columns of the results folder's CSV file of the
    same name (see ``docs/results-format.md``).
    """

    scenario: Scenario
    runs: list[RunResult] = field(repr=False)
    jobs: int = 1
    started: datetime | None = None
    elapsed_seconds: float | None = None

    @property
    def policies(self) -> list[str]:
        """Policy names in the scenario's order."""
        return [p.name for p in self.scenario.policies]

    @property
    def baseline(self) -> str:
        return self.scenario.baseline

    @cached_property
    def replications(self) -> pd.DataFrame:
        """replications.csv: one row per replication × policy × product."""
        return summary.replications_frame(self.runs)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """summary.csv: means, 95% intervals and paired differences to the baseline."""
        return summary.summary_frame(self.replications, self.baseline, self.policies)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        """timeseries.csv: daily (or bucketed) series, mean and 5th/95th percentiles."""
        return summary.timeseries_frame(self.runs)

    @cached_property
    def waits(self) -> pd.DataFrame:
        """waits.csv: histogram of the waits of orders that waited and were shipped."""
        return summary.waits_frame(self.runs)

    @cached_property
    def windows(self) -> pd.DataFrame:
        """disruptions.csv: disruption, outage and spike windows of replication 0."""
        return summary.windows_frame(self.runs)

    def compare(self) -> pd.DataFrame:
        """Per policy, product and metric: better than the baseline? significant?"""
        return summary.compare(self.summary, self.baseline)

    def save(
        self,
        out_dir: str | os.PathLike[str] | None = None,
        *,
        results_root: str | os.PathLike[str] = "results",
        command: Sequence[str] = (),
        report: bool = True,
    ) -> Path:
        """Write the results folder and return its path.

        ``out_dir`` must not exist or be empty, and no other run may be writing into it
        (the folder is claimed while this one writes); without it a new folder
        ``results_root/<scenario>/<run-id>/`` is made. ``manifest.json`` is written last. If the
        report fails, the tables and the manifest are kept and
        :class:`~stockout.results_io.ReportError` is raised afterwards.
        """
        from . import results_io

        if out_dir is None:
            claim = results_io.claim_new_run_dir(Path(results_root), self.scenario.scenario.name)
        else:
            claim = results_io.claim_out_dir(Path(out_dir))
        try:
            results_io.write_results(
                claim.folder, self, command=list(command), report=report, claim=claim
            )
        finally:
            claim.release()  # kept what was written: a folder without manifest is incomplete
        return claim.folder


# ---------------------------------------------------------------------------------------------
# Helpers for the command line: schema, bundled scenarios, report
# ---------------------------------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario format (for editors)."""
    from .scenario.load import json_schema as schema

    return schema()


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario file found by :func:`list_scenarios`."""

    path: Path
    name: str
    title: str
    summary: str


def scenario_dirs(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """Where bundled scenarios are looked for: ``folder`` if given, else ``./scenarios`` and the
    ``scenarios/`` folder of the source checkout (and packaged data, if any), existing ones only,
    without repeats."""
    if folder is not None:
        candidates = [Path(folder)]
    else:
        package = Path(__file__).resolve().parent
        candidates = [
            Path.cwd() / "scenarios",
            package.parents[1] / "scenarios",
            package / "data" / "scenarios",
        ]
    found: dict[Path, Path] = {}
    for candidate in candidates:
        if candidate.is_dir():
            found.setdefault(candidate.resolve(), candidate)
    return list(found.values())


def first_sentence(text: str) -> str:
    """The first sentence of ``text``, whitespace collapsed, without a bold lead-in label and
    without Markdown emphasis or code marks.

    >>> first_sentence('''**What it teaches.** A seasonal *product*.  Kept lean
    ... by `backorder`.''')
    'A seasonal product.'
    """
    flat = " ".join(text.split())
    flat = re.sub(r"^\*\*[^*]{1,40}[.:]\*\*\s*", "", flat)  # "**What it teaches.** ..."
    flat = re.sub(r"\*\*|(?<!\w)\*|\*(?!\w)|`", "", flat)
    match = re.match(r"(.+?[.!?])(?=\s|$)", flat)
    return match.group(1) if match else flat


def list_scenarios(folder: str | os.PathLike[str] | None = None) -> list[ScenarioInfo]:
    """Name, title and first sentence of the description of each ``*.toml`` in the scenario
    folders (see :func:`scenario_dirs`). Only the ``[scenario]`` table is read; a file that is
    not valid TOML is listed with the reason."""
    infos: list[ScenarioInfo] = []
    for directory in scenario_dirs(folder):
        for path in sorted(directory.glob("*.toml")):
            infos.append(_scenario_info(path))
    return infos


def _scenario_info(path: Path) -> ScenarioInfo:
    try:
        meta = tomllib.loads(path.read_text(encoding="utf-8")).get("scenario", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return ScenarioInfo(path, path.stem, "", f"(cannot read: {error})")
    if not isinstance(meta, dict):
        meta = {}
    return ScenarioInfo(
        path=path,
        name=str(meta.get("name", path.stem)),
        title=str(meta.get("title", "")),
        summary=first_sentence(str(meta.get("description", ""))),
    )


def build_report(results_dir: str | os.PathLike[str]) -> Path:
    """(Re)build ``report.html`` in a results folder of any kind (a run, a sweep) and return
    its path. Raises ``stockout.report.ResultsFolderError`` for a folder that is not a complete
    results folder (naming the results folders inside it, if any)."""
    from .report.folders import build

    return build(Path(results_dir))


def trace(
    scenario: ScenarioLike,
    policy: str | None = None,
    *,
    replication: int = 0,
    days: float | None = None,
    orders: int | None = None,
    search_dir: str | os.PathLike[str] | None = None,
    allow_code: bool = False,
) -> list[Any]:
    """The story of individual orders under ``policy`` (default: the baseline), as a list of
    :class:`stockout.model.trace.TraceEvent` (day, product, order, event, quantity, text).

    >>> events = trace("scenarios/quickstart.toml", "backorder", days=10)  # doctest: +SKIP
    >>> print(events[0].text)  # doctest: +SKIP
    day 0.07 — order #1, 1 × grinder: 130 on hand → shipped from stock
    """
    from .model.trace import trace as _trace
    from .trust import require_allowed

    resolved = load(scenario)
    if search_dir is None and isinstance(scenario, str | os.PathLike):
        search_dir = Path(scenario).parent
    require_allowed(resolved, allow_code, Path(search_dir) if search_dir is not None else None)
    return _trace(
        resolved, policy or resolved.baseline, replication=replication, days=days, orders=orders,
        search_dir=Path(search_dir) if search_dir is not None else None,
    )


def format_trace(events: list[Any], fmt: str = "text") -> str:
    """Render trace events as plain text (one sentence a line), CSV or JSON."""
    if fmt == "text":
        return "".join(e.text + "\n" for e in events)
    rows = [e.as_dict() for e in events]
    if fmt == "json":
        import json

        return json.dumps(rows, indent=1, ensure_ascii=False) + "\n"
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=["day", "product", "order", "event", "quantity", "text"],
        lineterminator="\n",
    )
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
