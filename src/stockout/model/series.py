"""The time series of a run: levels at bucket ends, flows summed over buckets
(docs/glossary.md).

One point per day, or per coarser bucket on long horizons, so a run keeps at most
``MAX_POINTS`` points whatever its length. A point reads every stock point's levels and running
counts as plain Python numbers into a flat buffer; every ``SAMPLE_BLOCK`` points the buffer
becomes rows of the series array in one numpy assignment.
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from ..records import SERIES

if TYPE_CHECKING:
    from .stockpoint import StockPoint

SAMPLE_BLOCK = 64  # points written to the array at a time
MAX_POINTS = 2000  # points per run, whatever the horizon

# what a point reads of a stock point: three levels and four running counts, whose differences
# from point to point are the flows, and the forecast (tally.py)
_SAMPLED = attrgetter("on_hand", "backlog", "on_order", "shipped_total", "lost_total",
                      "demand_record.units", "demand_record.recorded_units",
                      "demand_record.forecast")
_READ = 8


class Series:
    """The time series of every stock point and of their total."""

    def __init__(self, sps: list[StockPoint], population: Any, horizon: float) -> None:
        self.sps = sps
        self.population = population
        self.bucket = max(1, math.ceil(horizon / MAX_POINTS))
        n_points = int(horizon // self.bucket)
        self.days = np.arange(1, n_points + 1, dtype=float) * self.bucket
        self.next_point = 0
        self.values = np.full((len(sps) + 1, n_points, len(SERIES)), np.nan)
        self._samples: list[float] = []
        self._block_values = SAMPLE_BLOCK * (_READ * len(sps) + 1)
        self._counts_before = np.zeros((len(sps), 4))
        self._prices = np.array([sp.price for sp in sps], dtype=float)

    def __len__(self) -> int:
        return len(self.days)

    def sample(self) -> None:
        """Read the next point (at its bucket's end)."""
        samples = self._samples
        for sp in self.sps:
            samples += _SAMPLED(sp)
        samples.append(self.population.n)
        self.next_point += 1
        if len(samples) == self._block_values:
            self._write()

    def finish(self) -> None:
        """The points due at the horizon itself (the run stops before that instant), and the
        points not yet written."""
        while self.next_point < len(self.days):
            self.sample()
        self._write()

    def _write(self) -> None:
        """Write the points read since the last write into ``values``. Flows are the
        differences of the running counts from point to point (revenue at each product's
        price); totals add the products in their order."""
        samples = self._samples
        if not samples:
            return
        n = len(self.sps)
        raw = np.array(samples, dtype=float).reshape(-1, _READ * n + 1)
        samples.clear()
        points = len(raw)
        end = self.next_point
        read = raw[:, :-1].reshape(points, n, _READ)
        counts = read[:, :, 3:7]  # shipped, lost, demanded, recorded
        before = np.concatenate([self._counts_before[None], counts[:-1]])
        self._counts_before = counts[-1].copy()
        block = np.empty((points, n + 1, len(SERIES)))
        products = block[:, :n]
        products[:, :, 0:3] = read[:, :, 0:3]  # on hand, backlog, on order
        products[:, :, 3] = np.nan  # the population is the total's alone
        products[:, :, 4] = (counts[:, :, 0] - before[:, :, 0]) * self._prices  # revenue kept
        products[:, :, 5] = counts[:, :, 1] - before[:, :, 1]  # lost orders
        products[:, :, 6:8] = (counts[:, :, 2:4] - before[:, :, 2:4]) / self.bucket  # per day
        products[:, :, 8] = read[:, :, 7]  # the forecast per day
        block[:, n] = np.cumsum(products, axis=1)[:, -1]
        block[:, n, 3] = raw[:, -1]
        self.values[:, end - points : end] = block.transpose(1, 0, 2)
