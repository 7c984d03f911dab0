"""A stock point's pipeline: the shipments on their way to it, and when the n-th unit comes.

Quotes (docs/concepts.md) ask one question of it: when is the ``need``-th unit still to come
expected, from what the business knows now? Units arriving go to the waiting orders first in,
first served, so that is when the pipeline, in order of expected arrival, has brought ``need``
units.

The record is a dict, shipment id -> (expected day, units), in the order shipments joined it (ids
grow in that order). Expected days are usually non-decreasing along it (``in_order``); a shipment
expected before the one added last breaks that, and ``disorder`` is then its id: once every
shipment before it has left, the pipeline is in order again. An in-order pipeline is walked from
whichever end is nearer the answer, resuming where the last walk stopped, or through a
:class:`~stockout.model.pipeline_index.PipelineIndex` when the walk would be long.

What the business knows: a shipment held on a closed lane is re-estimated with the closures
begun by the quote's time (``revisable``: shipment id -> expected departure), and one past its
expected day (random lead or transit times) is expected after its residual time given its age.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from heapq import heapify, heappop, heappush
from itertools import islice
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from .pipeline_index import BLOCK, LONG_WALK, SHORT, PipelineIndex

if TYPE_CHECKING:
    from .supply import Route

_DAY = itemgetter(0)  # an entry's expected day


def compact_in_place(d: dict[Any, Any]) -> None:
    """Rebuild ``d`` in place: the same entries in the same order, in a table sized for them.

    A dict does not shrink when entries are removed, and iterating it from the start steps over
    every slot emptied since its table last grew: after a peak (thousands of shipments ordered
    through an outage) every walk would pay for them.
    """
    items = list(d.items())
    d.clear()
    d.update(items)


class Pipeline:
    """The shipments on their way to one stock point (see the module docstring)."""

    __slots__ = (
        "entries", "units", "in_order", "disorder", "last_expected", "index", "walk_n",
        "walk_units", "walk_next", "revisable", "departing", "revised", "revised_known",
        "known_end", "known_from", "known_until", "route",
    )

    def __init__(self, route: Route | None) -> None:
        self.route = route
        self.entries: dict[int, tuple[float, int]] = {}
        self.units = 0
        self.in_order = True
        self.disorder = 0
        self.last_expected = -math.inf
        self.index: PipelineIndex | None = None
        # where the last walk from the start stopped: the walked prefix is every shipment with
        # an id below ``walk_next``, ``walk_n`` shipments holding ``walk_units`` units
        self.walk_n = self.walk_units = self.walk_next = 0
        self.revisable: dict[int, float] = {}
        # the revisable shipments as a heap of (expected departure, id), stale entries left in
        # (a shipment gone from ``revisable``) until they reach the top: the earliest departure
        self.departing: list[tuple[float, int]] = []
        # re-estimated arrivals, valid while the count of closures begun stays ``revised_known``
        self.revised: dict[int, float] = {}
        self.revised_known: object = 0
        # the end of the last closure known, and the times that answer holds for
        self.known_end = -math.inf
        self.known_from, self.known_until = math.inf, -math.inf

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, sid: int, expected: float, qty: int, departs: float | None = None) -> None:
        """Shipment ``sid`` of ``qty`` units joins, expected on day ``expected``; ``departs``:
        its expected departure on a lane that can close (its arrival is then revisable)."""
        self.entries[sid] = (expected, qty)
        self.units += qty
        if self.index is not None:
            self.index.add(sid, qty)
        if expected < self.last_expected:
            self.in_order = False
            self.disorder = sid
        self.last_expected = expected
        if departs is not None:
            self.revisable[sid] = departs
            heappush(self.departing, (departs, sid))

    def remove(self, sid: int) -> int:
        """Shipment ``sid`` leaves (arrived, lost or never shipped); returns its units."""
        q = self.entries.pop(sid)[1]
        self.units -= q
        if self.index is not None:
            self.index.remove(sid, q)
        if sid < self.walk_next:  # it was in the walked prefix
            self.walk_n -= 1
            self.walk_units -= q
        if self.revisable:
            self.revisable.pop(sid, None)
        return q

    def expected_of(self, sid: int) -> float:
        return self.entries[sid][0]

    # ------------------------------------------------------------------ the quote's question

    def day_for(self, t: float, need: int) -> float:
        """When the ``need``-th unit still to come is expected, 1 <= need <= ``units``."""
        entries = self.entries
        if entries.__sizeof__() > 128 * len(entries) + 1024:  # far more slots than entries
            compact_in_place(entries)
        if not self.in_order and next(iter(entries)) >= self.disorder:
            self.in_order = True  # every shipment added before the last one out of order left
            self.walk_n = self.walk_units = self.walk_next = 0
        if not self.in_order:
            return self._day_out_of_order(t, need)
        sid, found = self._find_in_order(need)
        found = self._revise(t, sid, found)
        route = self.route
        if found < t and route is not None and route.uncertain:
            return route.overdue(t, found)
        return found

    def _day_out_of_order(self, t: float, need: int) -> float:
        """``day_for`` on a pipeline out of order: sorted by expected day, then walked from the
        nearer end (shipments due the same day may come in any order: the answer is that day)."""
        entries, route = self.entries, self.route
        shipments = (self._revised(t, entries.items()) if self.revisable
                     else list(entries.values()))  # fmt: skip
        shipments.sort(key=_DAY)
        if route is not None and route.uncertain and shipments[0][0] < t:
            # the overdue ones, a prefix, are re-estimated and sorted in among the rest
            k = bisect_left(shipments, (t,))
            shipments[:k] = [(route.overdue(t, e), q) for e, q in shipments[:k]]
            shipments.sort(key=_DAY)
        excess = self.units - need
        if excess < need:  # the shipment where the units after it exceed excess
            after = 0
            for expected, q in reversed(shipments):
                after += q
                if after > excess:
                    return expected
            return shipments[0][0]
        cum = 0
        for expected, q in shipments:
            cum += q
            if cum >= need:
                return expected
        return shipments[-1][0]

    def _find_in_order(self, need: int) -> tuple[int, float]:
        """The shipment (id, expected day) that brings the ``need``-th unit, in an in-order
        pipeline: from the nearer end, or through the index if the walk would be long."""
        entries = self.entries
        excess = self.units - need
        if self._walk_is_deep(need, excess):
            if self.index is None:
                self.index = PipelineIndex(entries)
            sid, (found, _) = (self.index.from_end(entries, excess) if excess < need
                               else self.index.from_start(entries, need))  # fmt: skip
            return sid, found
        if excess < need:  # nearer the end: where the units after it drop to <= excess
            after = 0
            for sid, (found, q) in reversed(entries.items()):  # noqa: B007 - found is the answer
                after += q
                if after > excess:
                    break
            return sid, found
        # from the start, resuming where the last walk stopped if that is still short of need
        n, cum = self.walk_n, self.walk_units
        if cum >= need:
            n = cum = 0
        items = entries.items()
        for sid, (found, q) in islice(items, n, None) if n else items:  # noqa: B007
            cum += q
            if cum >= need:
                self.walk_n, self.walk_units, self.walk_next = n, cum - q, sid
                break
            n += 1
        return sid, found

    def _walk_is_deep(self, need: int, excess: int) -> bool:
        """Whether a walk would pass more shipments than is worth it without the index (which
        is built for a walk over LONG_WALK and dropped when the pipeline is short again)."""
        count = len(self.entries)
        if self.index is None:
            long = LONG_WALK
        elif count < SHORT:
            self.index = None
            long = LONG_WALK
        else:
            long = 2 * BLOCK
        if count <= long:
            return False
        if excess < need:
            return excess * count > long * self.units
        cum = self.walk_units if self.walk_units < need else 0
        return (need - cum) * count > long * self.units

    # ------------------------------------------------------------------ closures known

    def _revise(self, t: float, sid: int, found: float) -> float:
        """The found shipment's arrival re-estimated for the closures known at ``t``. In order,
        shipments leave in order too: only the oldest ones, leaving before the last known
        closure ends, can be held by it, and held they still arrive no later than those
        leaving after it, so only the shipment found needs re-estimating."""
        rev = self.revisable
        if not rev:
            return found
        departs = rev.get(sid)
        if departs is None or departs >= self._known_closures(t):
            return found
        if len(rev) != len(self.entries) and not self._held(sid):
            return found
        r = self.revised.get(sid)
        if r is None:
            r = self.revised[sid] = self.route.revise(t, found, departs)  # type: ignore[union-attr]
        return r

    def _held(self, sid: int) -> bool:
        """Whether ``sid`` is among the first shipments, every one of them revisable and leaving
        before the last known closure ends."""
        rev, lane_end = self.revisable, self.known_end
        for k in self.entries:
            departs = rev.get(k)
            if departs is None or departs >= lane_end:
                return False
            if k == sid:
                return True
        return False

    def _revised(self, t: float, items: Any) -> list[tuple[float, int]]:
        """Entries with arrivals re-estimated for the closures known at ``t``: those leaving
        before the last known closure ends (a shipment leaving after it keeps its estimate,
        which already holds the closures known when it was ordered)."""
        lane_end = self._known_closures(t)
        if self._earliest_departure() >= lane_end:  # none is held by a closure known now
            return [entry for _, entry in items]
        rev, route, revised = self.revisable, self.route, self.revised
        out = []
        for sid, (e, q) in items:
            departs = rev.get(sid)
            if departs is not None and departs < lane_end:
                r = revised.get(sid)
                if r is None:
                    r = revised[sid] = route.revise(t, e, departs)  # type: ignore[union-attr]
                e = r
            out.append((e, q))
        return out

    def _earliest_departure(self) -> float:
        """The earliest expected departure of a revisable shipment still on its way."""
        heap, rev = self.departing, self.revisable
        if len(heap) > 2 * len(rev) + 64:  # mostly stale: rebuild from what is left
            heap[:] = [(departs, sid) for sid, departs in rev.items()]
            heapify(heap)
        while heap and heap[0][1] not in rev:
            heappop(heap)
        return heap[0][0] if heap else math.inf

    def _known_closures(self, t: float) -> float:
        """The end of the last lane closure begun by ``t`` as known then; re-estimates made
        before a closure began are dropped. The answer holds from ``t`` to the start of the
        next closure; while a random closure is in progress its believed end moves with ``t``:
        the answer, and the arrivals re-estimated with it, hold at ``t`` alone."""
        if self.known_from <= t < self.known_until:
            return self.known_end
        closures = self.route.lane.closures  # type: ignore[union-attr]
        known, lane_end = closures.known(t)
        believed = closures.parts is not None and closures.believed_end(t) is not None
        key = (known, t) if believed else known
        if key != self.revised_known:
            self.revised.clear()
            self.revised_known = key
        starts = closures.starts
        self.known_from = t
        self.known_until = t if believed else starts[known] if known < len(starts) else math.inf
        self.known_end = lane_end
        return lane_end
