"""stockout: simulate what a business should do when a product runs out.

The Python API lives in :mod:`stockout.api` and is re-exported here::

    import stockout

    scenario = stockout.load("scenarios/quickstart.toml")
    results = stockout.run(stockout.with_overrides(scenario, replications=5), jobs=2)
    results.summary            # pandas DataFrame, as summary.csv
    results.save("results/quickstart/try-1")

Importing ``stockout`` is cheap: the API (and pandas, SciPy) load on first use.
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

try:
    __version__ = metadata.version("stockout")
except metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    from .api import (
        Results,
        ScenarioInfo,
        build_report,
        format_trace,
        json_schema,
        list_scenarios,
        load,
        run,
        scenario_dict,
        trace,
        with_overrides,
    )
    from .scenario.errors import ScenarioError
    from .scenario.schema import Scenario
    from .sweep import sweep

__all__ = [  # the whole of stockout.api, and the scenario, its error and the sweep
    "Results", "Scenario", "ScenarioError", "ScenarioInfo", "__version__", "build_report",
    "format_trace", "json_schema", "list_scenarios", "load", "run", "scenario_dict", "sweep",
    "trace", "with_overrides",
]  # fmt: skip

#: The module each name lives in: stockout.api unless stated.
_LAZY = {
    **{name: "stockout.api" for name in __all__ if name[0] != "_"},
    "sweep": "stockout.sweep",
    "Scenario": "stockout.scenario.schema",
    "ScenarioError": "stockout.scenario.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stockout' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
