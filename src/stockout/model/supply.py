"""Suppliers and transport lanes: when an order placed now arrives, and when we expect it to.

An order's time at its supplier is decided when it is placed: production on the supplier's line
(FIFO, 1/capacity days a unit or a random time per unit), then the lead time, both paused by the
supplier's outages (their windows are drawn when the run starts). Then the goods travel on the
lane, if there is one: a lane that can close carries its shipments itself (:class:`LaneRun`),
holding them while it is closed and letting each go on with its remaining transit when it
reopens; its closures, like the outages, are SimPy processes (``processes.windows``) that close
and reopen it. A shipment's arrival is one SimPy event (``StockPoint.add_shipment``).

The *expected* arrival uses only what the business knows when it asks: the supplier's queue,
the windows already begun (a scheduled one with its end, a random one in progress with its
expected remaining duration given its age: ``Blackouts``), and mean production, lead and
transit times (or, for a pessimistic quote, a percentile of the lead and transit times and of
the remaining duration).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from enum import IntEnum
from itertools import islice
from typing import TYPE_CHECKING

import numpy as np
import simpy
from simpy.events import Timeout

from ..distributions import (
    Sampler,
    batch_drawer,
    mean_of,
    quantile_of,
    sorted_with_tail_means,
    uniforms,
    variance_of,
)
from ..scenario.schema import Constant, Lane, RandomWindows, Supplier
from .windows import Blackouts, draw_windows, merge

if TYPE_CHECKING:
    from .stockpoint import StockPoint

RngFor = Callable[[str], np.random.Generator]
End = Callable[[simpy.Event], None]  # what ends a shipment (``StockPoint._ends``)


class ShipmentEnd(IntEnum):
    """How a shipment leaves the pipeline."""

    RECEIVED = 0
    LOST = 1  # lost in transit
    NEVER_SHIPPED = 2  # the part of a short shipment the supplier will never send


RECEIVED, LOST, NEVER_SHIPPED = ShipmentEnd.RECEIVED, ShipmentEnd.LOST, ShipmentEnd.NEVER_SHIPPED

# An order of at most this many units on a line with a random unit time takes the exact sum of
# its units' times; a larger one a normal time with the sum's mean and variance (the central
# limit theorem: summing billions of draws one by one would take minutes per order).
EXACT_UNITS = 1 << 20

_RESIDUALS: dict[str, tuple[list[float], list[float]]] = {}


def _residual_table(lead: object, transit: object | None) -> tuple[list[float], list[float]]:
    """Lead-plus-transit times, sorted (a large fixed-seed sample), and the mean of each tail.

    Cached by the specs' text, like ``quantile_of``: the table depends on nothing else, and
    drawing and sorting it took longer than a short run's quotes."""
    key = f"{lead!r}|{transit!r}"
    table = _RESIDUALS.get(key)
    if table is None:
        rng = np.random.Generator(np.random.PCG64(20261126))
        total = batch_drawer(lead)(rng, 8192)
        if transit is not None:
            total = total + batch_drawer(transit)(rng, 8192)
        table = sorted_with_tail_means(total)
        if len(_RESIDUALS) > 1024:
            _RESIDUALS.clear()
        _RESIDUALS[key] = table
    return table


def _windows(
    specs: list, horizon: float, rng_for: RngFor, prefix: str, quantile: float | None
) -> tuple[list[tuple[float, float, float]], Blackouts]:
    """The windows of one supplier or lane (sorted (start, end, 1.0)), and the union of them as
    :class:`Blackouts`, which knows what a business knows of them at a given time (a random
    window in progress believed to last its expected remaining duration, or with ``quantile``
    that quantile of it)."""
    raw: list[tuple[float, float, float]] = []
    parts: list[tuple[float, float, object | None]] = []  # with each one's duration spec
    for i, spec in enumerate(specs):  # one spec at a time, each from its own stream
        drawn = draw_windows([spec], horizon, lambda _j, i=i: rng_for(f"{prefix}:{i}"))
        raw += drawn
        duration = spec.duration_days if isinstance(spec, RandomWindows) else None
        parts += [(a, b, duration) for a, b, _ in drawn]
    raw.sort()
    return raw, Blackouts(merge(raw), parts, quantile)


class SupplierRun:
    """A supplier during one run: its production line, lead times and outages."""

    def __init__(
        self, spec: Supplier, horizon: float, rng_for: RngFor, quantile: float | None = None
    ) -> None:
        self.id = spec.id
        self.lead = Sampler(spec.lead_time_days, rng_for(f"lead:{spec.id}"))
        self.lead_spec = spec.lead_time_days
        unit = spec.production_time_days
        # the time to make a unit: what quotes plan with (with a random one, its mean)
        self.unit_days = (1.0 / spec.capacity_per_day if spec.capacity_per_day
                          else mean_of(unit) if unit is not None else 0.0)  # fmt: skip
        # a random unit time, drawn for every unit made
        random_unit = unit is not None and not isinstance(unit, Constant)
        self.production = Sampler(unit, rng_for(f"production:{spec.id}")) if random_unit else None
        self._unit_spec, self._rng_for = unit, rng_for
        self._many: np.random.Generator | None = None  # (for orders above EXACT_UNITS units)
        self.min_order_qty = spec.min_order_qty or 0
        self.busy_until = 0.0
        self.windows, self.outages = _windows(
            spec.outages, horizon, rng_for, f"outage:{spec.id}", quantile
        )
        self.down = 0  # outages in progress
        self.p_short = spec.short_shipment_probability
        self.short_share = spec.short_shipment_share
        self.short_later = spec.short_shipment_remainder == "later"
        self.u_short = uniforms(rng_for(f"short:{spec.id}"))

    def close(self, env: simpy.Environment) -> None:
        """An outage begins (production and lead times already pause for it: ``finish``)."""
        self.down += 1

    def reopen(self, env: simpy.Environment) -> None:
        self.down -= 1

    def work(self, qty: int) -> float:
        """The time the line takes to make ``qty`` units with a random unit time: the sum of
        ``qty`` draws (beyond ``EXACT_UNITS``, a normal time with that sum's mean and variance,
        never below 0)."""
        assert self.production is not None
        if qty <= EXACT_UNITS:
            return math.fsum(islice(self.production.it, qty))
        if self._many is None:
            self._many = self._rng_for(f"production-many:{self.id}")
        mean = qty * self.unit_days
        sd = math.sqrt(qty * variance_of(self._unit_spec))
        return max(0.0, float(self._many.normal(mean, sd)))


class LaneRun:
    """A transport lane during one run: transit times and closures.

    A lane that can close carries its shipments itself: each travels its transit time while the
    lane is open; when the lane closes (``close``, from its closures' process) the goods on it
    stop where they are, and those still to leave wait; when it reopens (``reopen``) each goes
    on with the transit it has left. A lane that never closes leaves each shipment one SimPy
    event, its arrival (``StockPoint.add_shipment``).
    """

    def __init__(
        self, spec: Lane, horizon: float, rng_for: RngFor, quantile: float | None = None
    ) -> None:
        self.windows, self.closures = _windows(
            spec.disruptions, horizon, rng_for, f"disruption:{spec.id}", quantile
        )
        self.id = spec.id
        self.horizon = horizon
        self.transit_spec = spec.transit_days
        self.transit = Sampler(spec.transit_days, rng_for(f"transit:{spec.id}"))
        self.down = 0  # closures in progress
        self.p_loss = spec.loss_probability
        self.u_loss = uniforms(rng_for(f"loss:{spec.id}"))
        # the shipments it carries, by id: on their way (or still to leave) while it is open,
        # as (leaves, arrives, the stock point's end of it, the SimPy event of its arrival) ...
        self.carried: dict[int, tuple[float, float, End, simpy.Event]] = {}
        # ... and while it is closed, as (leaves, transit still to go, the end of it)
        self.held: dict[int, tuple[float, float, End]] = {}

    def carry(self, env: simpy.Environment, sid: int, ready: float, transit: float,
              arrive: End) -> None:
        """Shipment ``sid`` leaves at ``ready`` and travels ``transit`` days of open lane;
        ``arrive(event)`` when it arrives (``event.value``: ``sid``)."""
        if self.down:  # closed: it leaves when the lane reopens
            self.held[sid] = (ready, transit, arrive)
        else:
            self._send(env, sid, ready, ready + transit, arrive)

    def _send(self, env: simpy.Environment, sid: int, ready: float, due: float,
              arrive: End) -> None:
        if due < self.horizon:
            event = Timeout(env, due - env.now, sid)
            event.callbacks.append(self._arrives)
            self.carried[sid] = (ready, due, arrive, event)

    def _arrives(self, event: simpy.Event) -> None:
        sid = event.value
        shipment = self.carried.get(sid)
        if shipment is not None and shipment[3] is event:  # (not one the lane held since)
            del self.carried[sid]
            shipment[2](event)

    def close(self, env: simpy.Environment) -> None:
        """A closure begins: the goods on the lane stop, those to leave will wait."""
        self.down += 1
        if self.down > 1:
            return
        now = env.now
        carried, held = self.carried, self.held
        for sid, (ready, due, arrive, _event) in list(carried.items()):
            if due > now:  # (arriving now: arrived)
                held[sid] = (ready, due - (ready if ready > now else now), arrive)
                del carried[sid]

    def reopen(self, env: simpy.Environment) -> None:
        """A closure ends: once none is left, every held shipment goes on."""
        self.down -= 1
        if self.down:
            return
        now = env.now
        for sid, (ready, transit, arrive) in self.held.items():
            start = ready if ready > now else now
            self._send(env, sid, ready, start + transit, arrive)
        self.held.clear()


class Route:
    """Where one stock point's replenishment orders come from: a source (a supplier; later
    another location) and an optional lane to the stock point's location."""

    __slots__ = (
        "_closures",
        "_outages",
        "_residual",
        "lane",
        "lane_closes",
        "lead_quote",
        "leads",
        "min_order_qty",
        "quote_days",
        "quote_quantile",
        "source",
        "supplier",
        "transit_quote",
        "transits",
        "uncertain",
    )

    def __init__(
        self, supplier: SupplierRun, lane: LaneRun | None, quote_quantile: float | None = None
    ) -> None:
        self.supplier = supplier
        self.lane = lane
        self.source = supplier.id
        self.min_order_qty = supplier.min_order_qty
        self.leads = supplier.lead.it  # draws, each taken by ``next(...)``
        self.transits = lane.transit.it if lane else None
        self.lane_closes = bool(lane and lane.closures)  # shipments can be held on the way
        if quote_quantile is None:
            self.lead_quote = supplier.lead.mean
            self.transit_quote = lane.transit.mean if lane else 0.0
        else:
            self.lead_quote = quantile_of(supplier.lead_spec, quote_quantile)
            self.transit_quote = quantile_of(lane.transit_spec, quote_quantile) if lane else 0.0
        self.quote_days = self.lead_quote + self.transit_quote
        self.quote_quantile = quote_quantile
        # random lead or transit times: a shipment can be overdue, and its residual is estimated
        self.uncertain = not isinstance(supplier.lead_spec, Constant) or (
            lane is not None and not isinstance(lane.transit_spec, Constant)
        )
        self._residual: tuple[list[float], list[float]] | None = None
        # outages to work around (None: none at all, ``finish(a, b)`` is ``a + b``)
        self._outages = supplier.outages if supplier.outages else None
        self._closures = lane.closures if lane is not None else None

    @property
    def mean_days(self) -> float:
        """The mean lead and transit time (what a forecast rule plans with)."""
        return self.supplier.lead.mean + (self.lane.transit.mean if self.lane else 0.0)

    def overdue(self, now: float, expected: float) -> float:
        """Expected arrival of a shipment still under way at ``now`` though expected at
        ``expected``: its age is now − (expected − quoted time), and it arrives after the mean
        (or the quote's quantile) of the lead-plus-transit time given that it exceeds that age."""
        if self._residual is None:
            self._residual = _residual_table(
                self.supplier.lead_spec, self.lane.transit_spec if self.lane else None
            )
        total, tail_mean = self._residual
        age = now - (expected - self.quote_days)
        i = bisect_right(total, age)
        if i >= len(total):
            return now
        if self.quote_quantile is None:
            return now + tail_mean[i] - age
        j = i + int(self.quote_quantile * (len(total) - 1 - i))
        return now + total[j] - age

    def place(self, sp: StockPoint, t: float, qty: int) -> float:
        """Place an order of ``qty`` units for ``sp`` at ``t``: its shipments join ``sp``'s
        pipeline. Returns the day the (first) shipment is expected."""
        ready, expected = self._ready(t, qty)
        supplier = self.supplier
        p_short = supplier.p_short
        if p_short > 0.0 and next(supplier.u_short) < p_short:  # a short shipment
            short = qty - int(qty * supplier.short_share)
            self._ship(sp, ready, expected, qty - short)
            if supplier.short_later:
                # the rest is made and sent one more lead time after the first part is ready;
                # the business learns of the shortfall then: it expects the rest a quoted lead
                # time after the first part
                later = supplier.outages.finish(ready, next(supplier.lead.it))
                self._ship(sp, later, expected + self.lead_quote, short)
            else:
                sp.never_ships(t, ready, expected, short)
            return expected
        self._ship(sp, ready, expected, qty)
        return expected

    def _ready(self, t: float, qty: int) -> tuple[float, float]:
        """When an order of ``qty`` units placed at ``t`` is ready to leave the supplier, and
        when it is expected at the stock point (from what is known at ``t``): production on
        the line (first in, first out), then the lead time, both paused by outages."""
        supplier = self.supplier
        outages = self._outages
        busy = supplier.busy_until
        start = busy if busy > t else t
        work = qty * supplier.unit_days  # planned: with a random unit time, at its mean
        lead = next(self.leads)
        made = supplier.work(qty) if supplier.production is not None else work
        if outages is not None:
            expected = outages.finish(outages.finish(start, work, t), self.lead_quote, t)
            done = outages.finish(start, made)
            ready = outages.finish(done, lead)
        else:
            expected = start + work + self.lead_quote
            done = start + made
            ready = done + lead
        if supplier.unit_days:
            supplier.busy_until = done
        if self._closures is not None:  # expected arrival, with the closures known at t
            expected = self._closures.finish(expected, self.transit_quote, t)
        return ready, expected

    def _ship(self, sp: StockPoint, ready: float, expected: float, qty: int) -> None:
        """A shipment of ``qty`` units leaves at ``ready``: on the lane (held while it is
        closed, perhaps lost on the way) to ``sp``."""
        if qty <= 0:
            return
        lane = self.lane
        if lane is None:
            sp.add_shipment(ready, expected, qty, RECEIVED)
            return
        transit = next(self.transits)  # type: ignore[arg-type]
        lost = lane.p_loss > 0 and next(lane.u_loss) < lane.p_loss
        end = LOST if lost else RECEIVED
        if self.lane_closes:  # the lane carries it (``LaneRun.carry``)
            sp.add_shipment(ready, expected, qty, end, expected - self.transit_quote, transit)
        else:
            sp.add_shipment(ready + transit, expected, qty, end)

    def revise(self, now: float, expected: float, departs: float) -> float:
        """Re-estimate a shipment's arrival at ``now`` with the closures known by then (goods
        in transit are held while the lane is closed)."""
        assert self.lane is not None
        arrival = self.lane.closures.finish(departs, self.transit_quote, now)
        return arrival if arrival > expected else expected  # max(expected, arrival)

    def expected(self, now: float, t: float, qty: int) -> float:
        """Expected arrival of ``qty`` units ordered at ``t`` (>= now), as known at ``now``: the
        supplier's line, its outages and the lane's closures as known at ``now``, and the
        quoted lead and transit times."""
        supplier = self.supplier
        finish = supplier.outages.finish
        start = max(t, supplier.busy_until)
        ready = finish(finish(start, qty * supplier.unit_days, now), self.lead_quote, now)
        if self.lane is None:
            return ready
        return self.lane.closures.finish(ready, self.transit_quote, now)


class Transfer:
    """A route from another location: each replenishment order is an order on the upstream
    stock point (``StockPoint.transfer``), in line with its customers' orders, shipped whole
    when its turn and the stock come, then ``transit_days`` on the way. The downstream stock
    point expects it after the upstream's own quote for it (``StockPoint.quote``) plus the
    transit.

    The upstream must ship orders whole (its policy without partial shipments): a shipment
    joins the downstream pipeline whole when it is ordered.
    """

    __slots__ = ("lead_quote", "mean_days", "quote_days", "source", "transit_quote", "upstream")

    lane = None  # (a fixed transit time: no lane to close)
    lane_closes = False
    uncertain = True  # the upstream's quote may prove late: see ``overdue``
    min_order_qty = 0

    def __init__(self, upstream: StockPoint, transit_days: float) -> None:
        if upstream.partial:
            raise ValueError(
                f"a location supplied by '{upstream.name}' needs it to ship orders whole: its "
                f"policy '{upstream.policy_name}' has partial shipments"
            )
        self.upstream = upstream
        self.source = upstream.location
        self.lead_quote = 0.0
        self.transit_quote = self.quote_days = self.mean_days = float(transit_days)

    def place(self, sp: StockPoint, t: float, qty: int) -> float:
        """Order ``qty`` units for ``sp`` at ``t`` from the upstream stock point; returns the
        day they are expected."""
        expected = self.upstream.quote(t, qty) + self.transit_quote
        sid = sp.add_shipment(None, expected, qty, RECEIVED)
        transit = self.transit_quote

        def ship_to(day: float, units: int) -> None:  # (the whole order: units == qty)
            sp.schedule_end(sid, day + transit, RECEIVED)

        self.upstream.transfer(t, qty, ship_to)
        return expected

    def expected(self, now: float, t: float, qty: int) -> float:
        """Expected arrival of ``qty`` units ordered at ``t`` (>= now), as known at ``now``."""
        return max(t, self.upstream.quote(now, qty)) + self.transit_quote

    def overdue(self, now: float, expected: float) -> float:
        """Expected arrival of a transfer still to come at ``now`` though expected at
        ``expected``: at least a transit away (it may still wait upstream)."""
        return now + self.transit_quote
