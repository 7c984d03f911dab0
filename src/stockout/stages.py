"""Wall time of the stages of one command: load, simulate, summarise, time series, report, write.

``stockout run`` and ``stockout sweep`` wrap each stage in :func:`stage`; the times add up in
:data:`TIMES` for the life of the process. With the environment variable ``STOCKOUT_TIMINGS`` set
to a file path, the command writes them there as JSON when it ends: the end-to-end benchmark
(``benchmarks/bench_end_to_end.py``) sets each stage beside the simulation's own time, measured in
the same process.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Stage name -> seconds, in the order the stages first ran.
TIMES: dict[str, float] = {}
ENV = "STOCKOUT_TIMINGS"


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the wall time of the block to ``TIMES[name]`` (also when it raises)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        TIMES[name] = TIMES.get(name, 0.0) + time.perf_counter() - start


def dump(started: float) -> None:
    """Write ``TIMES`` and the time since ``started`` (``time.perf_counter``) to the file named by
    ``STOCKOUT_TIMINGS``, if set; a failure to write is ignored (timings are a diagnostic)."""
    path = os.environ.get(ENV)
    if not path:
        return
    data = {"stages": dict(TIMES), "command_seconds": time.perf_counter() - started}
    try:
        Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError:
        pass
