"""An index over a deep pipeline, so that quotes do not walk every shipment in it.

A quote asks when the ``need``-th unit still to come arrives: in a pipeline kept in order of
expected arrival, that is the shipment where the running sum of units reaches ``need``
(``StockPoint._pipeline_day`` walks from whichever end is nearer). In an under-stocked system,
where the backlog outgrows the order-up-to level S, the answer lies S units from the end of a
pipeline that holds a lead time's worth of orders: with 100 orders a day, a 30-day lead time and
S = 1,000, every quote walked a thousand shipments and the run took 25 times as long as with
S = 4,000; at 10^5 orders a day, a quote walked tens of thousands.

The pipeline (a dict: shipment id -> (expected day, units), in the order shipments joined it;
ids grow in that order) stays the record. The index cuts that order into blocks of up to
``BLOCK`` consecutive shipments and keeps each block's first id, its ids and its units still in
the pipeline, with a Fenwick tree (binary indexed tree) over the blocks' units. A shipment joins
the last block; one that leaves (anywhere: with random lead times arrivals are not in order) is
subtracted from its block, found by bisecting the first ids, and its id stays in the block's
list, skipped by the walk. The block where a running sum of units reaches a level is found in
the tree in O(log n) steps, and only that block is walked: a quote costs O(log n + BLOCK)
instead of O(n), and a shipment joining or leaving O(log n). Blocks emptied at the front are
dropped when they are half of all blocks (the index is rebuilt from the live ones), so its size
follows the pipeline's.

It finds exactly the shipment the walk over the dict finds. A stock point builds its index the
first time a quote's walk would be long, and drops it when its pipeline is short again: runs
whose walks stay short never build one and pay nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

BLOCK = 32  # shipments per block
LONG_WALK = 384  # shipments: a walk expected to be longer than this goes through the index
SHORT = 128  # shipments: a pipeline this short again drops its index

Entry = tuple[float, int]  # (expected day, units)


class PipelineIndex:
    """Units of a pipeline by blocks of consecutive shipments (see the module's docstring)."""

    __slots__ = ("firsts", "ids", "units", "live", "tree", "size", "head", "total")

    def __init__(self, pipeline: dict[int, Entry]) -> None:
        self.firsts: list[int] = []  # the first id of each block (increasing)
        self.ids: list[list[int]] = []  # each block's ids, departed ones included
        self.units: list[int] = []  # each block's units still in the pipeline
        self.live: list[int] = []  # each block's shipments still in the pipeline
        block: list[int] = []
        for sid, (_, q) in pipeline.items():
            if len(block) == BLOCK:
                block = []
            if not block:
                self.firsts.append(sid)
                self.ids.append(block)
                self.units.append(0)
                self.live.append(0)
            block.append(sid)
            self.units[-1] += q
            self.live[-1] += 1
        self._build()

    def _build(self) -> None:
        """The Fenwick tree over the blocks' units, with room for as many blocks again."""
        size = 16
        while size < 2 * len(self.units):
            size *= 2
        tree = [0] * (size + 1)
        tree[1 : len(self.units) + 1] = self.units
        for k in range(1, size + 1):  # each node passes its sum to its parent: O(size)
            parent = k + (k & -k)
            if parent <= size:
                tree[parent] += tree[k]
        self.tree, self.size, self.head = tree, size, 0
        self.total = sum(self.units)

    def _block_reaching(self, level: int) -> tuple[int, int]:
        """(the first block whose units, with all before it, reach ``level``; the units before
        it). The number of blocks if none does."""
        tree = self.tree
        pos, rest = 0, level
        step = self.size
        while step:
            nxt = pos + step
            if nxt <= self.size and tree[nxt] < rest:
                pos = nxt
                rest -= tree[nxt]
            step >>= 1
        return pos, level - rest

    def add(self, sid: int, q: int) -> None:
        """Shipment ``sid`` (an id above every one before it) joins with ``q`` units."""
        ids = self.ids
        if ids and len(ids[-1]) < BLOCK and self.live[-1]:  # not a block emptied before
            ids[-1].append(sid)
            self.units[-1] += q
            self.live[-1] += 1
        else:
            if len(ids) == self.size:  # no room left in the tree: rebuild it larger
                self._compact()
                if len(ids) >= self.size // 2:
                    self._build()
            self.firsts.append(sid)
            ids.append([sid])
            self.units.append(q)
            self.live.append(1)
        tree, size = self.tree, self.size
        k = len(ids)  # the last block's node in the tree (1-based)
        while k <= size:
            tree[k] += q
            k += k & -k
        self.total += q

    def remove(self, sid: int, q: int) -> None:
        """Shipment ``sid``, of ``q`` units, leaves the pipeline."""
        i = bisect_right(self.firsts, sid) - 1
        self.units[i] -= q
        tree, size = self.tree, self.size
        k = i + 1
        while k <= size:
            tree[k] -= q
            k += k & -k
        self.total -= q
        live = self.live[i] - 1
        self.live[i] = live
        if not live:
            self.ids[i] = []  # its ids are all gone
            if i == self.head:
                head, n = i + 1, len(self.live)
                while head < n and not self.live[head]:
                    head += 1
                self.head = head
                if head >= 64 and 2 * head >= n:  # the dead front is half of all blocks
                    self._compact()

    def _compact(self) -> None:
        """Drop the blocks before ``head`` (all emptied)."""
        h = self.head
        if h:
            del self.firsts[:h], self.ids[:h], self.units[:h], self.live[:h]
            self._build()

    def from_end(self, pipeline: dict[int, Entry], excess: int) -> tuple[int, Entry]:
        """The shipment where the units of the shipments after it, itself included, first
        exceed ``excess`` (the first shipment if none does), and its entry.

        The block holding it is the first whose running sum from the start reaches
        total − excess (the units after it are then <= excess, and with it > excess)."""
        i, before = self._block_reaching(self.total - excess)
        i = min(max(i, self.head), len(self.ids) - 1)
        after = self.total - before - self.units[i]
        get = pipeline.get
        found: Any = None
        for sid in reversed(self.ids[i]):
            entry = get(sid)
            if entry is not None:
                found = sid, entry
                after += entry[1]
                if after > excess:
                    return found
        # no shipment does: the first shipment, where the plain walk from the end ends
        return found if found is not None else next(iter(pipeline.items()))

    def from_start(self, pipeline: dict[int, Entry], need: int) -> tuple[int, Entry]:
        """The shipment where the running sum of units from the first shipment reaches
        ``need`` (the last shipment if it never does), and its entry."""
        i, cum = self._block_reaching(need)
        if i >= len(self.ids):  # never reached: the last shipment, where the plain walk ends
            sid = next(reversed(pipeline))
            return sid, pipeline[sid]
        get = pipeline.get
        for sid in self.ids[i]:
            entry = get(sid)
            if entry is not None:
                cum += entry[1]
                if cum >= need:
                    return sid, entry
        raise AssertionError("pipeline index out of step with the pipeline")

    def check(self, pipeline: dict[int, Entry]) -> None:
        """Raise AssertionError unless the index describes ``pipeline`` (for tests)."""
        live = [[s for s in block if s in pipeline] for block in self.ids]
        assert [s for block in live for s in block] == list(pipeline), "ids out of step"
        assert self.live == [len(b) for b in live], "counts out of step"
        assert self.units == [sum(pipeline[s][1] for s in b) for b in live], "units out of step"
        assert not any(self.live[: self.head]) and (self.head == len(self.live)
                                                    or self.live[self.head]), "head"  # fmt: skip
        assert self.firsts == sorted(self.firsts) and self.total == sum(self.units)
        for i in range(len(self.units) + 1):  # every prefix sum, from the tree
            k, s = i, 0
            while k:
                s += self.tree[k]
                k -= k & -k
            assert s == sum(self.units[:i]), "tree out of step"
