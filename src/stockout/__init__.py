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
    from .api import Results, load, run, trace, with_overrides
    from .optimizer.run import optimize
    from .scenario.schema import Scenario
    from .sweep import sweep

__all__ = [
    "Results", "Scenario", "__version__", "load", "optimize", "run", "sweep", "trace",
    "with_overrides",
]

_LAZY = {
    "Results": "stockout.api",
    "load": "stockout.api",
    "run": "stockout.api",
    "with_overrides": "stockout.api",
    "trace": "stockout.api",
    "sweep": "stockout.sweep",
    "optimize": "stockout.optimizer.run",
    "Scenario": "stockout.scenario.schema",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stockout' has no attribute {name!r}")
