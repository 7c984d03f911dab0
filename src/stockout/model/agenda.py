"""The model's agenda: shipments ending and waiting orders' deadlines, taken in time order.

Entries are tuples ``(day, rank, stock point, quantity or order, kind)`` whose ranks are all
different (see ``stockpoint.DEADLINE_RANK``); they are taken in (day, rank) order, exactly the
order a binary heap of them gives. A heap is the wrong shape for this traffic, though: nearly
every entry is scheduled a lead time or a customer's patience ahead, so the heap holds a lead
time's worth of entries (W2: about 1,500), and every pop sifts through ~log2(n) levels, each a
comparison of two tuples (two rich comparisons) scattered in memory: 7% of a W2 run was that one
``heappop``. The agenda keeps two parts instead:

- ``near``: the entries due before ``bound``, sorted latest first, so that the next entry is
  ``near[-1]`` and taking it is ``near.pop()``. At index 0, below them all, sits a marker
  ``(bound, -1, None, None, REFILL)``: it comes due when the entries before ``bound`` are used
  up, and whoever takes it calls :meth:`refill`. ``near`` is never empty, so the next entry's
  day is always ``near[-1][0]``; with nothing pending at all, that is the marker at infinity.
- ``far``: every other entry (day >= ``bound``), unsorted: scheduling one is an append.

``refill`` sorts ``far`` by day alone (floats compare several times faster than tuples, and
``far`` is partly sorted already: what the last refill left, then what was appended since),
moves its earliest part to ``near``, sorted by (day, rank) (one pass over a part already in
day order), and puts the marker at the new bound. An entry due before ``bound`` (rare: a
short patience, a short lead time) is inserted into ``near`` by bisection; if such entries pile
up, the later half of ``near`` goes back to ``far``.

A sort reads all of ``far`` to move at most ``MAX_PART`` entries, so with tens of thousands of
entries pending (thousands of orders a day, each a lead time of weeks away) every entry would be
read dozens of times over: 1.9 times a plain heap's instructions on 90,000 pending
(``benchmarks/bench_agenda.py``). When more than ``HEAP_FROM`` entries lie beyond ``near``, they
are kept in a binary heap instead (``heap``): a refill pushes the entries appended to ``far``
since the last one into it and pops the earliest ``HEAP_PART``, O(log n) an entry, as a plain
heap would (1.2 times its instructions, for the appends and ``near`` on top). It goes back to
sorting when fewer than a quarter of ``HEAP_FROM`` remain.

Scheduling, as the hot paths write it out::

    if day >= agenda.bound:
        agenda.far.append(entry)
    else:
        agenda.insert(entry)
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from heapq import heapify, heappop, heappush
from operator import itemgetter
from typing import Any

INF = math.inf
REFILL = 4  # the marker's kind (beside stockpoint's RECEIVE, LOST, NEVER_SHIPPED, DEADLINE)

Entry = tuple[float, int, Any, Any, int]
_DAY = itemgetter(0)


def _later_first(entry: Entry) -> float:
    return -entry[0]  # ``near`` is in increasing order of this


class Agenda:
    """Timed entries taken in (day, rank) order (see the module docstring)."""

    __slots__ = ("near", "far", "heap", "bound")

    MIN_PART = 64  # entries moved to ``near`` by a refill: half of ``far``, within these
    MAX_PART = 2048  # (a larger part makes inserting into ``near`` dearer)
    NEAR_LIMIT = 4 * MAX_PART  # ``near`` grown past this by inserts: its later half goes back
    HEAP_FROM = 2 * MAX_PART  # entries beyond ``near`` from which they are kept in a heap
    HEAP_PART = 256  # entries a refill takes from the heap (each costs the same whatever the
    # part: a short ``near`` leaves fewer entries due before the bound, and cheaper inserts)

    def __init__(self) -> None:
        self.bound = INF
        self.far: list[Entry] = []
        self.heap: list[Entry] = []  # empty unless more than HEAP_FROM entries are pending
        self.near: list[Entry] = [(INF, -1, None, None, REFILL)]

    def __len__(self) -> int:
        return len(self.near) - 1 + len(self.far) + len(self.heap)

    def push(self, entry: Entry) -> None:
        if entry[0] >= self.bound:
            self.far.append(entry)
        else:
            self.insert(entry)

    def insert(self, entry: Entry) -> None:
        """Schedule an entry due before ``bound``."""
        near = self.near
        day = entry[0]
        if not self.far and (len(near) == 1 or day > near[1][0]):
            # later than everything pending: it starts ``far``, and the marker moves to its day
            self.far.append(entry)
            self.bound = day
            near[0] = (day, -1, None, None, REFILL)
            return
        # bisection in near[1:], sorted latest first
        lo, hi = 1, len(near)
        while lo < hi:
            mid = (lo + hi) >> 1
            if near[mid] > entry:
                lo = mid + 1
            else:
                hi = mid
        near.insert(lo, entry)
        if len(near) > self.NEAR_LIMIT:
            self._spill()

    def refill(self) -> None:
        """The marker came due (and was taken): move the earliest entries beyond ``near`` to it."""
        far, near, heap = self.far, self.near, self.heap
        if heap or len(far) > self.HEAP_FROM:
            self._refill_from_heap()
            return
        # By day alone: ``list.sort`` then compares floats, not tuples (a tuple comparison
        # first asks whether the days are equal, then compares them again: several times the
        # cost). Only the part moved to ``near`` needs (day, rank) order, and it is sorted by
        # day already: its sort is one pass, unless entries share a day.
        far.sort(key=_DAY)
        n = len(far)
        k = min(max(n // 2, self.MIN_PART), self.MAX_PART, n)
        if k < n and far[k][0] == far[k - 1][0]:  # one day's entries stay together
            k = bisect_right(far, far[k - 1][0], k, n, key=_DAY)
        part = far[:k]
        del far[:k]
        part.sort(reverse=True)
        self.bound = bound = far[0][0] if far else INF
        near.append((bound, -1, None, None, REFILL))
        near.extend(part)

    def _refill_from_heap(self) -> None:
        """``refill`` with many entries pending: they wait in ``heap``, and only the entries
        appended to ``far`` since the last refill are pushed into it."""
        far, near, heap = self.far, self.near, self.heap
        if heap:
            for entry in far:
                heappush(heap, entry)
        else:
            heap.extend(far)
            heapify(heap)
        far.clear()
        n = len(heap)
        k = min(self.HEAP_PART, n)
        part = [heappop(heap) for _ in range(k)]
        day = part[-1][0]
        while heap and heap[0][0] == day:  # one day's entries stay together
            part.append(heappop(heap))
        part.reverse()
        self.bound = bound = heap[0][0] if heap else INF
        near.append((bound, -1, None, None, REFILL))
        near.extend(part)
        if len(heap) < self.HEAP_FROM // 4:  # few are left: back to sorting them
            far.extend(heap)
            heap.clear()

    def _spill(self) -> None:
        """``near`` grew by inserts (entries due before a bound set long ago): its later half
        goes to ``far``, and the bound moves down to the earliest entry moved. Entries of one
        day stay together, so the cut falls where the day changes (all of ``near`` goes when it
        holds one day only: those entries then come back in one refill)."""
        near = self.near
        n = len(near)
        cut = n // 2
        day = near[cut - 1][0]
        if near[cut][0] == day:  # one day's entries stay together: move them all, or none
            after = bisect_right(near, -day, cut, n, key=_later_first)  # the day's group ends
            if after < n:
                cut = after
            else:
                cut = bisect_left(near, -day, 1, cut, key=_later_first)  # where the group begins
                if cut <= 1:  # all due the same day: all go, and the bound comes down to it
                    cut = n
        moved = near[1:cut]
        self.far.extend(moved)
        self.bound = bound = moved[-1][0]
        near[:cut] = [(bound, -1, None, None, REFILL)]

    def check(self) -> None:
        """Assert the invariants (for tests): ``near`` latest first above its marker at
        ``bound``, every entry of ``far`` at or after ``bound``."""
        near, bound = self.near, self.bound
        assert near[0] == (bound, -1, None, None, REFILL), near[0]
        assert all(near[i] > near[i + 1] for i in range(len(near) - 1))
        assert all(e[0] < bound for e in near[1:])
        assert all(e[0] >= bound for e in self.far)
        assert all(e[0] >= bound for e in self.heap)
        assert bound < INF or not (self.far or self.heap)
        heap = self.heap
        assert all(heap[(i - 1) // 2] <= heap[i] for i in range(1, len(heap)))
