"""The SimPy processes of a run: customers, reviews, the daily clock, windows, scripted orders.

Each is a generator function that receives what it works on (SimPy's ``car(env, ...)`` style);
``Model.start`` starts them. One-off events (the warm-up's end, a release, a scheduled delivery,
a shipment's end, a patience deadline) and the customers are timeouts with a plain callback
(``Timeout(env, delay).callbacks.append(fn)``): a whole process would read no better.

A process of your own is started the same way, with ``simulate(..., processes=[fn])`` or
``model.env.process(...)`` before ``model.run()``: see docs/howto-simpy-process.md.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import Timeout

if TYPE_CHECKING:
    from .population import Population
    from .series import Series
    from .stockpoint import StockPoint

Process = Generator[simpy.Event, Any, None]


class Customers:
    """Customers of one stock point, each a SimPy timeout whose callback brings the customer
    in and schedules the next one (a process would add a generator's resumption per customer,
    a third of an event's cost, and read no better).

    Candidates come in chunks of columns (times, threshold, quantity, patience, u_churn,
    u_notify) drawn in numpy batches (``demand.py``); while the population can change, a
    candidate is an order only if the population at its time exceeds its threshold (thinning).
    """

    __slots__ = (
        "candidates",
        "env",
        "live",
        "next",
        "population",
        "sp",
    )

    def __init__(self, env: simpy.Environment, sp: StockPoint, chunks: Iterable[tuple],
                 population: Population) -> None:
        self.env, self.sp, self.population = env, sp, population
        self.live = population.varies
        self.candidates = chain.from_iterable(
            zip(times, threshold or repeat(0), qty, patience, u_churn, u_notify or repeat(1.0))  # noqa: B905
            for times, threshold, qty, patience, u_churn, u_notify in chunks
        )
        self.next: tuple | None = None
        self._schedule()

    def _schedule(self) -> None:
        """The next customer's timeout, if there is one."""
        self.next = candidate = next(self.candidates, None)
        if candidate is not None:
            env = self.env
            Timeout(env, candidate[0] - env.now).callbacks.append(self._arrive)

    def _arrive(self, _event: simpy.Event) -> None:
        t, h, q, p, uc, un = self.next  # type: ignore[misc]
        if not self.live or h < self.population.n:
            self.sp.arrive(t, q, p, uc, un)
        self._schedule()


def scripted(env: simpy.Environment, sp: StockPoint,
             orders: list[tuple[float, int, float, float]]) -> Process:
    """Orders written in the scenario (day, quantity, patience, u_churn)."""
    for day, qty, patience, u_churn in orders:
        if day > env.now:
            yield env.timeout(day - env.now)
        sp.arrive(day, qty, patience, u_churn, 1.0)


def periodic_review(env: simpy.Environment, sp: StockPoint, period: float) -> Process:
    """Reviews at days 0, R, 2R, ... (k · R, not a running sum: no drift)."""
    k = 0
    while True:
        sp.review(env.now)
        k += 1
        sp.next_review = k * period
        yield env.timeout(sp.next_review - env.now)


def clock(env: simpy.Environment, population: Population, series: Series,
          warmup: float) -> Process:
    """Once a day the population's step (if it changes by itself); at each bucket's end a
    time-series point. Without population dynamics it sleeps from one bucket's end to the
    next."""
    if population.acquisitions is None:
        while series.next_point < len(series):
            yield env.timeout((series.next_point + 1) * series.bucket - env.now)
            series.sample()
        return
    day = 0
    while True:
        yield env.timeout(1.0)
        day += 1
        population.day_step(day - 1, day > warmup)
        if day % series.bucket == 0 and series.next_point < len(series):
            series.sample()


def demand_history(env: simpy.Environment, sp: StockPoint) -> Process:
    """For rules that read recent demand: the recorded demand at the start of each day."""
    while True:
        sp.demand_days.append(sp.demand_recorded)
        yield env.timeout(1.0)


def windows(env: simpy.Environment, spans: list[tuple[float, float, float]],
            begins: Callable[[float, float], None],
            ends: Callable[[], None]) -> Process:
    """Time windows (outages, closures, spikes) as they happen: ``begins(start, end)`` when
    one begins, ``ends()`` when it ends (they may overlap)."""
    for start, end, _ in spans:
        if start > env.now:
            yield env.timeout(start - env.now)
        begins(start, end)
        env.timeout(end - env.now).callbacks.append(lambda _event: ends())


def at(env: simpy.Environment, day: float, fn: Callable[[Any], None], value: Any = None) -> None:
    """Call ``fn(event)`` on ``day`` (``event.value`` is ``value``)."""
    env.timeout(max(day - env.now, 0.0), value).callbacks.append(fn)
