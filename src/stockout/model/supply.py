"""Suppliers and transport lanes: when an order placed now arrives, and when we expect it to.

Everything about a replenishment order's timing is decided when it is placed: production on the
supplier's line (FIFO, 1/capacity days a unit or a random time per unit, paused by outages),
then the lead time (paused by outages), then the transit on the lane (a shipment waits while the
lane is closed and goods in transit are held, resuming with their remaining transit time). The
model schedules one event, the receipt. The *expected* arrival uses only what the business knows
when it asks: the supplier's queue, the windows already begun (a scheduled one with its end, a
random one in progress with its expected remaining duration given its age: ``Blackouts``), and
mean production, lead and transit times (or, for a pessimistic quote, a percentile of the lead
and transit times and of the remaining duration).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING

import numpy as np

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
from .stockpoint import LOST, NEVER_SHIPPED, RECEIVE
from .windows import Blackouts, draw_windows, merge

if TYPE_CHECKING:
    from .stockpoint import StockPoint

RngFor = Callable[[str], np.random.Generator]

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


class _Windows:
    """All windows of one supplier or lane, and the part of them known at a given time (a
    random window in progress believed to last its expected remaining duration, or with
    ``quantile`` that quantile of it: see ``Blackouts``)."""

    __slots__ = ("all", "raw")

    def __init__(
        self, specs: list, horizon: float, rng_for: RngFor, prefix: str,
        quantile: float | None = None,
    ) -> None:
        raw: list[tuple[float, float, float]] = []
        parts: list[tuple[float, float, object | None]] = []  # with each one's duration spec
        for i, spec in enumerate(specs):  # one spec at a time, each from its own stream
            drawn = draw_windows([spec], horizon, lambda _j, i=i: rng_for(f"{prefix}:{i}"))
            raw += drawn
            duration = spec.duration_days if isinstance(spec, RandomWindows) else None
            parts += [(a, b, duration) for a, b, _ in drawn]
        raw.sort()
        self.raw = raw
        self.all = Blackouts(merge(raw), parts, quantile)

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
        self.outages = _Windows(spec.outages, horizon, rng_for, f"outage:{spec.id}", quantile)
        self.p_short = spec.short_shipment_probability
        self.short_share = spec.short_shipment_share
        self.short_later = spec.short_shipment_remainder == "later"
        self.u_short = uniforms(rng_for(f"short:{spec.id}"))

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
    """A transport lane during one run: transit times and closures."""

    def __init__(
        self, spec: Lane, horizon: float, rng_for: RngFor, quantile: float | None = None
    ) -> None:
        self.id = spec.id
        self.transit = Sampler(spec.transit_days, rng_for(f"transit:{spec.id}"))
        self.transit_spec = spec.transit_days
        self.closures = _Windows(
            spec.disruptions, horizon, rng_for, f"disruption:{spec.id}", quantile
        )
        self.p_loss = spec.loss_probability
        self.u_loss = uniforms(rng_for(f"loss:{spec.id}"))



class Route:
    """Where one product's replenishment orders come from: a supplier and an optional lane."""

    def __init__(
        self, supplier: SupplierRun, lane: LaneRun | None, quote_quantile: float | None = None
    ) -> None:
        self.supplier = supplier
        self.lane = lane
        self.min_order_qty = supplier.min_order_qty
        # the samplers' draws, each taken by ``next(...)``
        self.leads = supplier.lead.it
        self.transits = lane.transit.it if lane else None
        self.lane_closes = bool(lane and lane.closures.all)  # shipments can be held on the way
        # no line, no outages, no closures: arrival = now + lead (+ transit), nothing to walk
        self.simple = (
            not supplier.unit_days
            and not supplier.outages.all
            and not (lane and lane.closures.all)
            and not supplier.p_short
            and not (lane and lane.p_loss)
        )
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
        # what ``place`` reads for every order, bound once
        self._outages = supplier.outages.all
        self._closures = lane.closures.all if lane else None  # (empty: a lane never closed)
        self._p_loss = lane.p_loss if lane else 0.0
        self._u_loss = lane.u_loss if lane else None
        self._p_short = supplier.p_short
        # ``StockPoint.add_shipment`` is written out in ``place``, unless the stock point has
        # one of its own (it says so when it takes the route)
        self.inline_shipments = True

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

    # ``place`` and ``expected`` run for nearly every customer under continuous review, so their
    # steps are written out rather than split into small methods. Without outages or closures,
    # ``finish(a, b)`` is ``a + b``: no special case is needed for them.

    def place(self, sp: StockPoint, t: float, qty: int) -> None:
        """Place an order of ``qty`` units for ``sp`` at ``t`` and put it in the pipeline."""
        supplier = self.supplier
        outages = self._outages
        busy = supplier.busy_until
        start = busy if busy > t else t  # max(t, busy): the line is first in, first out
        work = qty * supplier.unit_days  # planned: with a random unit time, at its mean
        lead = next(self.leads)
        # Expected ready (from what is known at t, with the quoted lead time) and ready (what
        # happens): production on the line, then the lead time, both paused by outages. Times
        # are never negative, so [start, the later of the two] holds every step.
        done = start + work
        expected = done + self.lead_quote
        made = work
        if supplier.production is not None:  # what the line really takes
            made = supplier.work(qty)
            done = start + made
        ready = done + lead
        # Inside the kept gap between outages (``Blackouts``) from start to the later of the
        # two, no outage meets any step: ``finish(a, work)`` is ``a + work`` for each of them
        # (unless a random outage is in progress at t, believed to last past its real end)
        if not (outages.gap_start <= start
                and (expected if expected > ready else ready) < outages.gap_end
                and (outages.parts is None or t >= outages.gap_start)):
            finish = outages.finish  # an outage is near: the sums above may not hold
            expected = finish(finish(start, work, t), self.lead_quote, t)
            done = finish(start, made)
            ready = finish(done, lead)
        if supplier.unit_days:
            supplier.busy_until = done
        closures = self._closures
        if closures is not None:  # expected arrival, with the closures known at t
            # closures.finish(expected, self.transit_quote, t), its fast test inlined
            gap_end = closures.gap_end
            if closures.gap_start <= expected and (
                t < gap_end or (expected < gap_end and expected + self.transit_quote <= gap_end)
            ) and (closures.parts is None or t >= closures.gap_start):
                expected += self.transit_quote
            else:
                expected = closures.finish(expected, self.transit_quote, t)
        p_short = self._p_short
        if p_short > 0.0 and next(supplier.u_short) < p_short:  # a short shipment
            short = qty - int(qty * supplier.short_share)
            self._ship(sp, ready, expected, qty - short)
            if supplier.short_later:
                # the rest is made and sent one more lead time after the first part is ready
                later = outages.finish(ready, next(supplier.lead.it))
                # the business learns of the shortfall at the first delivery: expect the rest a
                # quoted lead time after it
                self._ship(sp, later, expected + self.lead_quote, short)
            else:
                sp.never_shipped += short  # known now, so the refund counts with the order
                sp.add_shipment(ready, expected, short, NEVER_SHIPPED)
            return
        # self._ship(sp, ready, expected, qty), inlined: under continuous review this runs for
        # nearly every customer
        kind = RECEIVE
        if self.lane is not None:
            # the trip, held while the lane is closed (closures.finish's fast test, inlined);
            # perhaps lost on the way
            transit = next(self.transits)  # type: ignore[arg-type]
            gap_end = closures.gap_end
            if closures.gap_start <= ready < gap_end and ready + transit <= gap_end:
                arrival = ready + transit
            else:
                arrival = closures.finish(ready, transit)
            p_loss = self._p_loss
            if p_loss > 0.0 and next(self._u_loss) < p_loss:  # type: ignore[arg-type]
                kind = LOST
        else:
            arrival = ready
        if self.inline_shipments:
            # sp.add_shipment(arrival, expected, qty, kind), inlined (a call for nearly every
            # customer under continuous review)
            model = sp.model
            model.shipment_id += 1
            sid = model.shipment_id
            sp.pipeline[sid] = (expected, qty)
            sp.pipeline_units += qty
            if sp.pipeline_index is not None:
                sp.pipeline_index.add(sid, qty)
            if expected < sp.last_expected:
                sp.pipeline_in_order = False
                sp.disorder = sid
            sp.last_expected = expected
            if arrival < sp.horizon:  # else it is still on order at the horizon
                agenda = model.agenda  # (Agenda.push, inlined)
                if arrival >= agenda.bound:
                    agenda.far.append((arrival, sid, sp, qty, kind))
                else:
                    agenda.insert((arrival, sid, sp, qty, kind))
        else:  # the stock point has an add_shipment of its own
            sid = sp.add_shipment(arrival, expected, qty, kind)
        if self.lane_closes:
            sp.revisable[sid] = expected - self.transit_quote

    def _ship(self, sp: StockPoint, ready: float, expected: float, qty: int) -> None:
        if qty <= 0:
            return
        lane = self.lane
        if lane is None:
            sp.add_shipment(ready, expected, qty, RECEIVE)
            return
        # the trip, held while the lane is closed; perhaps lost on the way
        arrival = lane.closures.all.finish(ready, next(lane.transit.it))
        lost = lane.p_loss > 0 and next(lane.u_loss) < lane.p_loss
        sid = sp.add_shipment(arrival, expected, qty, LOST if lost else RECEIVE)
        if self.lane_closes:
            sp.revisable[sid] = expected - self.transit_quote

    def revise(self, now: float, expected: float, departs: float) -> float:
        """Re-estimate a shipment's arrival at ``now`` with the closures known by then (goods
        in transit are held while the lane is closed)."""
        assert self.lane is not None
        arrival = self.lane.closures.all.finish(departs, self.transit_quote, now)
        return arrival if arrival > expected else expected  # max(expected, arrival)

    def expected(self, now: float, t: float, qty: int) -> float:
        """Expected arrival of ``qty`` units ordered at ``t`` (>= now), as known at ``now``: the
        supplier's line, its outages and the lane's closures as known at ``now``, and the
        quoted lead and transit times."""
        supplier = self.supplier
        finish = supplier.outages.all.finish
        busy = supplier.busy_until
        start = busy if busy > t else t  # max(t, busy)
        ready = finish(finish(start, qty * supplier.unit_days, now), self.lead_quote, now)
        if self.lane is None:
            return ready
        return self.lane.closures.all.finish(ready, self.transit_quote, now)
