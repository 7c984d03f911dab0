"""Build the runtime model from a scenario, run one replication of one policy, return its record.

``build`` is the one place where configuration becomes runtime objects; ``simulate`` runs SimPy to
the horizon, closes the time-weighted statistics, checks the invariants of docs/glossary.md and
turns the counters into the glossary's metrics.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterator
from operator import attrgetter
from pathlib import Path
from typing import Any

import numpy as np
import pydantic_core
import simpy
from simpy.events import NORMAL, Timeout

from ..policies.availability import make_policy
from ..policies.replenishment import make_rule
from ..records import METRICS, SERIES, WAIT_EDGES, RunResult, WaitLog
from ..scenario.schema import Scenario, ScheduledRule
from ..streams import Streams
from . import kernel
from .agenda import REFILL, Agenda
from .demand import CHUNK_DAYS, DemandCandidates, pieces, scripted_orders
from .stockpoint import (
    DEADLINE,
    LOST,
    RECEIVE,
    WRITTEN_OUT_ARRIVE,
    WRITTEN_OUT_RECEIVE,
    StockPoint,
)
from .supply import LaneRun, Route, SupplierRun
from .windows import draw_windows

SAMPLE_BLOCK = 64  # time-series points written to the array at a time
MAX_POINTS = 2000  # time-series points per run, whatever the horizon
BLOCK = 2048  # candidates turned into Python numbers at a time (see ``_merged_chunks``)
KEEP_CANDIDATES = 1 << 18  # at most this many kept for the next policy (14 MB of arrays)


# what a time-series point reads of a stock point, in one call: three levels and two running
# counts, whose differences from point to point are the flows
_SAMPLED = attrgetter("on_hand", "backlog", "on_order", "shipped_total", "lost_total")
_READ = 5  # numbers read per stock point (and the population once per point)


class InvariantError(AssertionError):
    """A conservation law of docs/glossary.md ("Invariants") failed: a bug in stockout, never the
    user's input."""


class Population:
    """The active customers: churn removes one at a time, the daily step adds and removes more."""

    __slots__ = ("n", "n0", "at_warmup", "background_churned")

    def __init__(self, n0: int) -> None:
        self.n = n0
        self.n0 = n0
        self.at_warmup = n0
        self.background_churned = 0


def _merge_chunk(parts: list[tuple[int, tuple[np.ndarray | None, ...]]]) -> list[Any]:
    """One chunk of every product in ``parts`` (product index, its six columns), merged in
    time order (equal times in product order: the sort is stable), with the product index as a
    seventh column. Only one copy of the chunk's arrays is kept: the products' own arrays go
    once they are concatenated. A column that is None (the thresholds of candidates already
    thinned) stays None.
    """
    if len(parts) == 1:
        k, columns = parts.pop()
        return [*columns, np.full(len(columns[0]), k)]
    columns = [None if parts[0][1][j] is None
               else np.concatenate([c[j] for _, c in parts]) for j in range(6)]  # fmt: skip
    ks = np.repeat([k for k, _ in parts], [len(c[0]) for _, c in parts])
    parts.clear()
    order = np.argsort(columns[0], kind="stable")
    arrays = [None if c is None else c[order] for c in columns]
    columns.clear()
    arrays.append(ks[order])
    return arrays


def _blocks(arrays: list[Any], constant: dict[int, Any]) -> Iterator[list[Any]]:
    """A merged chunk's columns as lists of Python numbers, ``BLOCK`` candidates at a time (a
    None column is None for every candidate, column j in ``constant`` that value)."""
    for i in range(0, len(arrays[0]), BLOCK):
        yield [
            itertools.repeat(constant[j]) if j in constant
            else itertools.repeat(None) if a is None
            else a[i : i + BLOCK].tolist()
            for j, a in enumerate(arrays)
        ]  # fmt: skip


class _LastCandidates(threading.local):
    """The merged candidates of the last replication this thread simulated, when they were
    one chunk (``Model._merged_chunks``): the next policy of that replication (every policy
    sees the same candidates) reads them instead of drawing them again."""

    key: tuple[bytes, int, bool] | None = None
    arrays: list[Any] | None = None


_LAST = _LastCandidates()


def forget_candidates() -> None:
    """Drop the candidates kept for the next policy (tests that patch how they are drawn)."""
    _LAST.key = _LAST.arrays = None


def _candidates_key(scenario: Scenario, replication: int) -> bytes | None:
    """Everything the candidates of a replication depend on, as bytes: the scenario's meta (seed,
    horizon), customers and products, and the replication. None if it cannot be serialised."""
    try:
        data = scenario.model_dump(include={"scenario", "customers", "products"})
        return pydantic_core.to_json([data, replication], inf_nan_mode="constants")
    except (TypeError, ValueError, pydantic_core.PydanticSerializationError):
        return None


class Model:
    """The runtime objects of one replication of one policy."""

    stockpoint_class: type[StockPoint] = StockPoint
    use_kernel = True  # the fast path of kernel.py where it applies (same results)

    def __init__(self, scenario: Scenario, policy_name: str, replication: int,
                 search_dir: Path | None = None, record_windows: bool = False) -> None:
        meta = scenario.scenario
        self.env = simpy.Environment()
        self.horizon = float(meta.horizon_days)
        self.warmup = float(meta.warmup_days)
        self.streams = Streams(meta.seed, replication)
        # what the candidates depend on, if they may be kept for the next policy (one chunk)
        self.candidates_key = (
            _candidates_key(scenario, replication) if meta.horizon_days <= CHUNK_DAYS else None
        )
        self.population = Population(scenario.customers.population)
        self._order_id = 0
        self.shipment_id = 0
        # Shipments ending and waiting orders' deadlines, entries (day, rank, stock point,
        # qty or order, kind) of the agenda (see ``stockpoint.DEADLINE_RANK``). They are applied
        # lazily, in that order, by ``flush(t)`` before anything else happens at or after their
        # day: every event handler flushes first, so the result is that of one SimPy event each,
        # without paying for one (at the very instant of another event, they come first). The
        # next one is always ``near[-1]`` (``agenda.Agenda``).
        self.agenda = Agenda()
        self.near = self.agenda.near
        self.backlog_total = 0
        self.max_backlog_total = 0
        self.windows: list[tuple[str, str, float, float]] = []
        n_days = max(1, math.ceil(self.horizon))
        self.n_days = n_days

        customers = scenario.customers
        self.p_background = -math.expm1(-customers.churn.background_per_year / 365.0)
        # The population no bad experience has touched, P(d) at the start of day d: it gains
        # the day's acquisitions and loses Binomial(P, p) to background churn. It is the same
        # for every policy, and the real population N never exceeds it (N loses the same share
        # of background churn, rounded, see ``_daily``), so P(d) / N0 bounds the demand rate.
        self.acquisitions: np.ndarray | None = None
        self.untouched: np.ndarray | None = None  # None: nobody joins or leaves by itself
        if customers.acquisition_per_day > 0 or self.p_background > 0:
            rng_pop = self.streams("population")
            joins = (
                rng_pop.poisson(customers.acquisition_per_day, n_days)
                if customers.acquisition_per_day > 0 else np.zeros(n_days, dtype=np.int64)
            )
            untouched = np.empty(n_days + 1, dtype=np.int64)
            leaves = np.zeros(n_days, dtype=np.int64)
            untouched[0] = customers.population
            for d in range(n_days):
                p = int(untouched[d])
                if self.p_background > 0 and p > 0:
                    leaves[d] = rng_pop.binomial(p, self.p_background)
                untouched[d + 1] = p + joins[d] - leaves[d]
            self.acquisitions, self.background = joins, leaves
            self.untouched = untouched
        churn = customers.churn
        self.population_varies = bool(
            customers.acquisition_per_day > 0 or self.p_background > 0 or churn.on_stockout
            or churn.on_declined_quote or churn.on_cancel or churn.on_late
        )

        policy_spec = scenario.policy(policy_name)
        policy = make_policy(policy_spec, search_dir)
        quote_q = getattr(policy_spec, "quote_percentile", None)
        suppliers = {s.id: SupplierRun(s, self.horizon, self.streams, quote_q)
                     for s in scenario.suppliers}  # fmt: skip
        lanes = {x.id: LaneRun(x, self.horizon, self.streams, quote_q) for x in scenario.lanes}
        for s in suppliers.values():
            self.windows += [("supplier", s.id, a, b) for a, b, _ in s.outages.raw]
        for x in lanes.values():
            self.windows += [("lane", x.id, a, b) for a, b, _ in x.closures.raw]

        self.products: list[StockPoint] = []
        self.periodic: list[tuple[StockPoint, float]] = []
        self.demand: list[tuple[StockPoint, DemandCandidates]] = []
        self.deliveries: list[tuple[StockPoint, float, int, int]] = []
        self.scripted: list[tuple[StockPoint, list[tuple[float, int, float, float]]]] = []
        handling = (scenario.costs.backorder_handling, scenario.costs.cancellation_handling)
        for product in scenario.products:
            rspec = scenario.replenishment_for(policy_name, product.id)
            supplier_id = getattr(rspec, "supplier", None)
            lane_id = getattr(rspec, "lane", None)
            route = None
            if supplier_id is not None and not isinstance(rspec, ScheduledRule):
                route = Route(suppliers[supplier_id], lanes.get(lane_id) if lane_id else None,
                              quote_q)
            review = float(getattr(rspec, "review_period_days", 0.0))
            sp = self.stockpoint_class(
                self, product.id, product.price, product.unit_cost, product.initial_stock,
                product.release_day, make_rule(rspec), review <= 0, route,
                float(getattr(rspec, "order_cost", 0.0)), policy, policy_name,
                customers.churn, handling,
                product.holding_cost_per_day, product.backorder_cost_per_day,
            )
            if product.salvage_value is not None:
                sp.salvage_value = product.salvage_value
            self.products.append(sp)
            if review > 0:
                self.periodic.append((sp, review))
            if isinstance(rspec, ScheduledRule):
                for d in rspec.deliveries:
                    if d.quantity > 0:
                        sid = self.next_shipment_id()
                        sp.pipeline[sid] = (d.day, d.quantity)  # known in advance: quotable
                        sp.pipeline_units += d.quantity
                        sp.pipeline_in_order = False  # in the order of the list, not of days
                        sp.disorder = sid
                        sp.last_expected = d.day
                        self.deliveries.append((sp, d.day, d.quantity, sid))
            spikes = draw_windows(
                product.demand.spikes, self.horizon,
                lambda i, pid=product.id: self.streams(f"spike:{pid}:{i}"),
            )
            self.windows += [("spike", product.id, a, b) for a, b, _ in spikes]
            patience = product.patience_days or customers.patience_days
            self.demand.append((sp, DemandCandidates(
                product, patience, self.horizon, spikes, self.untouched, customers.population,
                self.streams,
            )))
            if product.demand.scripted_orders:
                self.scripted.append((sp, scripted_orders(
                    product, patience, self.horizon, self.streams(f"scripted:{product.id}"),
                )))
        self.by_id = {sp.id: sp for sp in self.products}
        # a stock point with a receive of its own (a trace's) is called; the rest is inlined
        self.own_receive = any(type(sp).receive is not WRITTEN_OUT_RECEIVE for sp in self.products)

        # time series: levels at bucket ends, flows summed over buckets
        self.bucket = max(1, math.ceil(self.horizon / MAX_POINTS))
        n_points = int(self.horizon // self.bucket)
        self.days = np.arange(1, n_points + 1, dtype=float) * self.bucket
        self.next_point = 0  # the next time-series point to sample
        self.series = np.full((len(self.products) + 1, n_points, len(SERIES)), np.nan)
        # points read but not yet written to ``series``, flat: each point is every product's
        # _SAMPLED numbers, then the population
        self._samples: list[float] = []
        self._block_values = SAMPLE_BLOCK * (_READ * len(self.products) + 1)
        # the running counts (shipped, lost) at the last point written, and the prices
        self._counts_before = np.zeros((len(self.products), 2))
        self._prices = np.array([sp.price for sp in self.products], dtype=float)

    # ------------------------------------------------------------------ ids and helpers

    def next_order_id(self) -> int:
        self._order_id += 1
        return self._order_id

    def next_shipment_id(self) -> int:
        self.shipment_id += 1
        return self.shipment_id

    def churn(self, sp: StockPoint, t: float) -> None:
        """A customer leaves for good after a bad experience with product ``sp``."""
        pop = self.population
        if pop.n > 0:
            pop.n -= 1
            if sp.counting:
                sp.tally.churned += 1

    def next_review(self, sp: StockPoint, t: float) -> float:
        for p, period in self.periodic:
            if p is sp:
                return math.ceil(t / period - 1e-12) * period
        return t

    def flush(self, t: float) -> None:
        """Apply every shipment ending and every deadline at or before ``t``, in day order.

        A deadline cancels its order unless it has shipped (nearly all have)."""
        near = self.near
        own_receive = self.own_receive
        while near[-1][0] <= t:
            day, sid, sp, qty, kind = near.pop()
            if kind == RECEIVE:
                if own_receive:
                    sp.receive(day, qty, sid)
                    continue
                # StockPoint.receive(day, qty, sid), inlined: a call for nearly every customer
                area = qty * (sp.horizon - day)
                q = sp.pipeline.pop(sid)[1]
                sp.pipeline_units -= q
                if sp.pipeline_index is not None:
                    sp.pipeline_index.remove(sid, q)
                if sid < sp.walk_next:
                    sp.walk_n -= 1
                    sp.walk_units -= q
                if sp.revisable:
                    sp.revisable.pop(sid, None)
                sp.on_order -= qty
                sp.a_on_order -= area
                sp.on_hand += qty
                sp.a_on_hand += area
                sp.supplied_total += qty
                if sp.backlog_orders:
                    sp._allocate(day)  # noqa: SLF001 - receive's own steps
                if sp.notify and sp.on_hand - sp.reserved > 0:
                    sp._notify_returns(day)  # noqa: SLF001
            elif kind == DEADLINE:  # (day, rank, stock point, order, DEADLINE)
                if not qty.done:
                    sp.cancel(qty, day)
            elif kind == REFILL:  # the agenda's entries before its bound are used up
                self.agenda.refill()
            elif kind == LOST:
                sp.lose_in_transit(day, qty, sid)
            else:
                sp.cancel_shipment(day, qty, sid)

    # ------------------------------------------------------------------ processes

    def _merged_chunks(
        self, prethin: bool, constant: dict[int, Any] | None = None
    ) -> Iterator[list[list[Any]]]:
        """All products' candidates in time order, in blocks of lists (times, threshold, qty,
        patience, u_churn, u_notify, product index); with ``prethin``, the thresholds are a
        repeated None.

        Candidates of one chunk (a horizon of up to ``CHUNK_DAYS`` days) drawn in one piece are
        kept for the next policy of the replication (``_LastCandidates``), in this thread only:
        they cost as much as a tenth of a short run, and they are the same for every policy.

        Every product's chunks cover the same day ranges, so merging them chunk by chunk is
        merging the whole streams; a chunk of many candidates (all products together) is cut
        into pieces at the same days for every product (``demand.pieces``). A stable sort of
        the piece's times in numpy keeps equal times in product order. Arrays become Python
        numbers ``BLOCK`` candidates at a time, just before they are used: the loop then reads
        numbers still in the processor's cache, not a whole chunk's worth (megabytes) made long
        before.
        """
        key = None if self.candidates_key is None else (self.candidates_key, prethin)
        if key is not None and _LAST.key == key:
            yield from _blocks(_LAST.arrays, constant or {})
            return
        forget_candidates()  # another replication's: not needed again
        demand = [(k, c) for k, (_, c) in enumerate(self.demand) if c.base > 0]
        n_days = max((c.n_days for _, c in demand), default=0)
        for d0 in range(0, n_days, CHUNK_DAYS):
            drawn = [(k, c, *c.counts(d0)) for k, c in demand]
            cuts = pieces(sum(counts for *_, counts in drawn))
            for a, b in cuts:
                chunk = []
                for k, c, bound, counts in drawn:
                    part = c.draw(d0, bound, counts, a, b, prethin)
                    if part is not None:
                        chunk.append((k, part[1:]))
                if chunk:
                    arrays = _merge_chunk(chunk)
                    if (key is not None and n_days <= CHUNK_DAYS and len(cuts) == 1
                            and len(arrays[0]) <= KEEP_CANDIDATES):
                        _LAST.key, _LAST.arrays = key, arrays  # the whole stream: keep it
                    yield from _blocks(arrays, constant or {})

    def _merged_arrivals(self):  # noqa: ANN202
        """All products' candidates in one time-ordered stream, handled by one process.

        Candidates are handled inline, without a SimPy event, while no other event is due
        before them (the queue always holds the daily step and the horizon, so its head is
        defined); otherwise the process waits for them. One process for all products: with one
        per product, each product's next arrival would wait behind the others' pending
        timeouts and nearly every customer would cost a SimPy event. When the population
        cannot change, thinning was already done in numpy and every candidate is an order.
        ``StockPoint.arrive`` is written out in the loop, unless a stock point has its own.
        (A single product on a simple route takes the fast path of ``kernel.py`` instead.)
        """
        env = self.env
        queue = env._queue  # noqa: SLF001 - reading the head of SimPy's queue, like env.peek()
        pop = self.population
        thin_live = self.population_varies
        sps = [sp for sp, _ in self.demand]
        arrive = [sp.arrive for sp in sps]
        # a stock point with an arrive of its own (a trace's) is called; the rest is inlined
        own_arrive = any(type(sp).arrive is not WRITTEN_OUT_ARRIVE for sp in sps)
        near, flush = self.near, self.flush  # the agenda's list of entries is never replaced
        # the time of SimPy's next event: only other processes schedule events, and they run
        # only while this one waits
        next_event = queue[0][0]
        # columns nothing reads are a repeated value instead of numbers made for each candidate:
        # u_notify without notify-me, u_churn without churn (1.0: below no probability of 0)
        constant = {}
        if not any(sp.notify_share for sp in sps):
            constant[5] = 1.0
        if not any(sp.p_stockout or sp.p_declined or sp.p_cancel or sp.p_late for sp in sps):
            constant[4] = 1.0
        horizon = self.horizon  # every stock point's
        for columns in self._merged_chunks(not thin_live, constant):
            for t, h, q, p, uc, un, k in zip(*columns):  # noqa: B905 - same lengths
                if t >= next_event and self._must_wait(t):  # another event comes first
                    yield Timeout(env, t - env.now)  # let SimPy run it
                    next_event = queue[0][0]
                if thin_live and h >= pop.n:  # not an order at today's population
                    continue
                if own_arrive:
                    arrive[k](t, q, p, uc, un)
                    continue
                # StockPoint.arrive, inlined (a call per customer was 3% of a rich run)
                sp = sps[k]
                if near[-1][0] <= t:  # a shipment or a deadline is due
                    flush(t)
                if sp.released and sp.on_hand - sp.reserved >= q and not sp.backlog_orders:
                    sp.on_hand -= q
                    sp.a_on_hand -= q * (horizon - t)
                    sp.shipped_total += q
                    sp.filled += 1
                    sp.filled_units += q
                    if sp.continuous:  # review(t), inlined
                        position = sp.on_hand + sp.on_order - sp.backlog
                        if position <= sp.rule.trigger:
                            up_to = sp.up_to
                            q = (up_to - position if up_to is not None
                                 else sp.rule.order_quantity(position))  # fmt: skip
                            if q > 0:
                                sp.place_order(t, q)
                else:
                    sp._shortage(t, q, p, uc, un)  # noqa: SLF001 - arrive's own other branch

    def _must_wait(self, t: float) -> bool:
        """Whether the arrival process must let SimPy run an event due before a customer at
        ``t``. If none is, the clock is set to where a wait would have resumed it
        (``now + (t - now)``, which rounding can put a hair off ``t``; its timeout would be
        scheduled at normal priority after everything already there), and the process goes on
        without a SimPy event."""
        env = self.env
        now = env._now  # noqa: SLF001
        resume = now + (t - now)
        when, priority, _, _ = env._queue[0]  # noqa: SLF001 - SimPy's heap of (time, priority, id, event)
        if when > resume or (when == resume and priority > NORMAL):
            env._now = resume  # noqa: SLF001 - where the wait would have resumed
            return False
        return True

    def _scripted(self, sp: StockPoint, orders: list[tuple[float, int, float, float]]):  # noqa: ANN202
        env = self.env
        for day, qty, patience, u_churn in orders:
            if day > env.now:
                yield Timeout(env, day - env.now)
            sp.arrive(day, qty, patience, u_churn, 1.0)

    def _daily(self):  # noqa: ANN202
        """Population dynamics once a day; time-series samples at each bucket end.

        Without population dynamics only the bucket ends matter: the process sleeps from one to
        the next (receipts are applied lazily, so skipping the days in between changes nothing,
        and the arrival loop hands its state over far less often)."""
        env = self.env
        pop = self.population
        bucket = self.bucket
        n_points = len(self.days)
        acquisitions, untouched = self.acquisitions, self.untouched
        if untouched is None:
            while self.next_point < n_points:
                yield Timeout(env, (self.next_point + 1) * bucket - env.now)
                self.flush(env.now)
                self._sample(self.next_point)
                self.next_point += 1
            return
        # as Python ints: read one of each a day, a numpy scalar costs more to read and to use
        acquisitions, untouched = acquisitions.tolist(), untouched.tolist()
        background = self.background.tolist()
        day = 0
        while True:
            yield Timeout(env, 1.0)
            day += 1
            self.flush(env.now)
            if day - 1 < len(acquisitions):
                d = day - 1
                # the real population loses its share of the untouched one's background churn
                share = pop.n / untouched[d] if untouched[d] else 0.0
                gone = min(pop.n, round(int(background[d]) * share))
                pop.n += int(acquisitions[d]) - gone
                if day > self.warmup:
                    pop.background_churned += gone
            if day % bucket == 0 and self.next_point < n_points:
                self._sample(self.next_point)
                self.next_point += 1

    def _sample(self, point: int) -> None:
        """Read every product's levels and running counts at time-series point ``point``, and
        the population, into one flat buffer of plain Python numbers (numpy's per-call
        overhead would cost more than the reading); ``_write_samples`` turns them into the
        series, many points at a time."""
        samples = self._samples
        for sp in self.products:
            samples += _SAMPLED(sp)
        samples.append(self.population.n)
        if len(samples) == self._block_values:
            self._write_samples(point + 1)

    def _write_samples(self, end: int) -> None:
        """Write the points read since the last write, which end before ``end``, into
        ``series``: one numpy assignment for many points (one per point cost more than the
        reading itself). Flows are the differences of the running counts from point to point
        (revenue at each product's price); totals add the products in their order, the same
        additions as one by one (``cumsum`` adds in sequence)."""
        samples = self._samples
        if not samples:
            return
        n = len(self.products)
        raw = np.array(samples, dtype=float).reshape(-1, _READ * n + 1)
        samples.clear()
        points = len(raw)
        read = raw[:, :-1].reshape(points, n, _READ)
        counts = read[:, :, 3:5]  # shipped, lost
        before = np.concatenate([self._counts_before[None], counts[:-1]])
        self._counts_before = counts[-1].copy()
        block = np.empty((points, n + 1, len(SERIES)))
        products = block[:, :n]
        products[:, :, 0:3] = read[:, :, 0:3]  # on hand, backlog, on order
        products[:, :, 3] = np.nan  # the population is the total's alone
        products[:, :, 4] = (counts[:, :, 0] - before[:, :, 0]) * self._prices  # revenue kept
        products[:, :, 5] = counts[:, :, 1] - before[:, :, 1]  # lost orders
        block[:, n] = np.cumsum(products, axis=1)[:, -1]
        block[:, n, 3] = raw[:, -1]
        self.series[:, end - points : end] = block.transpose(1, 0, 2)

    def _periodic_review(self, slot: int, sp: StockPoint, period: float):  # noqa: ANN202
        env = self.env
        k = 0
        while True:
            self.flush(env.now)
            sp.review(env.now)
            if k == 0 and self.warmup <= 0:
                sp.exclude_opening_review()  # (0, horizon] holds the reviews at R, ..., horizon
            k += 1
            self.review_due[slot] = k * period
            yield Timeout(env, k * period - env.now)

    def _reviews_at_horizon(self) -> None:
        """The periodic reviews due at the horizon itself. The run covers (0, horizon] and the
        statistics (warm-up, horizon], but SimPy stops before the events of that instant: without
        these, a window of n review periods would hold n − 1 reviews (its first one falls on the
        warm-up's end, before the window), and ordering and purchase costs per day would miss
        one review's worth. A review due a hair past the horizon by rounding (k · R) is the same
        review."""
        horizon = self.horizon
        for (sp, _), due in zip(self.periodic, self.review_due, strict=True):
            if due <= horizon + 1e-9 * max(1.0, horizon):
                sp.review(horizon)

    def _at(self, day: float, fn: Any, *args: Any) -> None:
        if day < self.horizon:
            ev = Timeout(self.env, day - self.env.now)
            ev.callbacks.append(lambda _ev: fn(*args))

    def _end_warmup(self) -> None:
        self.flush(self.warmup)
        for sp in self.products:
            sp.reset_window(self.warmup)
        self.max_backlog_total = self.backlog_total
        self.population.at_warmup = self.population.n

    def run(self) -> None:
        env = self.env
        if self.warmup > 0 and self.warmup < self.horizon:
            # after every other event of that instant: statistics cover (warmup, horizon]
            ev = simpy.Event(env)
            ev._ok = True  # noqa: SLF001 - a bare event scheduled by hand, as Timeout does
            ev._value = None  # noqa: SLF001
            ev.callbacks.append(lambda _ev: self._end_warmup())
            env.schedule(ev, priority=2, delay=self.warmup)
        for sp in self.products:
            if not sp.released:
                self._at(sp.release_day, sp.release, sp.release_day)
            if sp.continuous:
                sp.review(0.0)
        self.review_due = [0.0] * len(self.periodic)  # the day of each one's next review
        for slot, (sp, period) in enumerate(self.periodic):
            env.process(self._periodic_review(slot, sp, period))
        for sp, day, qty, sid in self.deliveries:
            self._at(day, self._deliver, sp, day, qty, sid)
        env.process(self._daily())
        if len(self.demand) == 1 and self.use_kernel and kernel.applies(self, self.demand[0][0]):
            env.process(kernel.arrivals(self, *self.demand[0]))
        elif self.demand:
            env.process(self._merged_arrivals())
        for sp, orders in self.scripted:
            env.process(self._scripted(sp, orders))
        env.run(until=self.horizon)
        self.flush(self.horizon)
        self._reviews_at_horizon()
        # a bucket ending exactly at the horizon: the run stops before that day's step runs
        while self.next_point < len(self.days):
            self._sample(self.next_point)
            self.next_point += 1
        self._write_samples(self.next_point)

    def _deliver(self, sp: StockPoint, day: float, qty: int, sid: int) -> None:
        self.flush(day)
        sp.replenishment_orders += 1
        sp.units_ordered += qty
        sp.receive(day, qty, None)
        sp._pipeline_pop(sid)  # noqa: SLF001 - the model's own delivery of a known shipment


# ---------------------------------------------------------------------- results


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def _product_metrics(sp: StockPoint, span: float, n_start: int) -> dict[str, float]:
    t = sp.tally
    w = sp.window()
    pending_units = sum(o.remaining for o in sp.queue if not o.done and o.counted)
    orders = w["filled"] + t.backorders + t.preorders + t.lost + t.recovered
    units = w["filled_units"] + t.other_units
    shipped = w["filled_units"] + t.partial_on_arrival + t.late_units + t.recovered_units
    price = sp.price
    storage = sp.holding_cost * sp.a_on_hand
    ordering = sp.order_cost * w["replenishment_orders"]
    handling = (sp.backorder_handling * (t.backorders + t.preorders)
                + sp.cancellation_handling * t.cancelled)
    backlog_cost = sp.backorder_cost * sp.a_backlog
    return {
        "orders": orders,
        "units_demanded": units,
        "potential_revenue": units * price,
        "revenue_kept": shipped * price,
        "revenue_lost_stockout": t.lost_units * price,
        "revenue_lost_cancelled": t.cancelled_units * price,
        "revenue_pending": pending_units * price,
        "fill_rate": _ratio(w["filled"], orders),
        "unit_fill_rate": _ratio(w["filled_units"] + t.partial_on_arrival, units),
        "backorders": t.backorders,
        "preorders": t.preorders,
        "cancellations": t.cancelled,
        "lost_orders": t.lost,
        "mean_wait_days": _ratio(t.wait_sum, t.shipped_late),
        "p95_wait_days": t.waits.quantile(0.95),
        "avg_backlog_units": sp.a_backlog / span,
        "max_backlog_units": sp.max_backlog,
        "quote_on_time_rate": _ratio(t.on_time, t.shipped_late),
        "avg_on_hand": sp.a_on_hand / span,
        "storage_cost": storage,
        "ordering_cost": ordering,
        "purchase_cost": (w["units_ordered"] - w["never_shipped"]) * sp.unit_cost,
        "handling_cost": handling,
        "backlog_cost": backlog_cost,
        "gross_profit": shipped * (price - sp.unit_cost) - storage - ordering - handling
        - backlog_cost - leftover_write_down(sp),
        "churned_customers": t.churned,
        "churn_rate": _ratio(t.churned, n_start),
        "active_customers_end": math.nan,
        "customer_cash_held": sp.a_cash / span,
        "units_shipped": shipped,
        "units_received": w["supplied"] - w["lost_in_transit"],
        "lost_in_transit": w["lost_in_transit"],
        "recovered_orders": t.recovered,
        "leftover_units": sp.on_hand,
    }


def leftover_write_down(sp: StockPoint) -> float:
    """What the stock left on hand at the horizon loses against its cost: (unit cost − salvage
    value) × units on hand (0 by default, when the salvage value is the unit cost; negative
    when leftovers sell above cost)."""
    return (sp.unit_cost - sp.salvage_value) * sp.on_hand


_SUMMED = (
    "orders", "units_demanded", "potential_revenue", "revenue_kept", "revenue_lost_stockout",
    "revenue_lost_cancelled", "revenue_pending", "backorders", "preorders", "cancellations",
    "lost_orders", "avg_backlog_units", "avg_on_hand", "storage_cost", "ordering_cost",
    "purchase_cost", "handling_cost", "backlog_cost", "gross_profit", "churned_customers",
    "customer_cash_held", "units_shipped", "units_received", "lost_in_transit",
    "recovered_orders", "leftover_units",
)


def _total_metrics(model: Model, per: dict[str, dict[str, float]]) -> dict[str, float]:
    sps = model.products
    total = {m: float(sum(per[sp.id][m] for sp in sps)) for m in _SUMMED}
    tallies = [sp.tally for sp in sps]
    shipped_late = sum(t.shipped_late for t in tallies)
    pop = model.population
    total["churned_customers"] += pop.background_churned
    waits = WaitLog.merged([t.waits for t in tallies])
    windows = [sp.window() for sp in sps]
    filled_units = sum(w["filled_units"] for w in windows) + sum(
        t.partial_on_arrival for t in tallies
    )
    total.update({
        "fill_rate": _ratio(sum(w["filled"] for w in windows), total["orders"]),
        "unit_fill_rate": _ratio(filled_units, total["units_demanded"]),
        "mean_wait_days": _ratio(sum(t.wait_sum for t in tallies), shipped_late),
        "p95_wait_days": waits.quantile(0.95),
        "max_backlog_units": model.max_backlog_total,
        "quote_on_time_rate": _ratio(sum(t.on_time for t in tallies), shipped_late),
        "churn_rate": _ratio(total["churned_customers"], pop.at_warmup),
        "active_customers_end": pop.n,
    })
    return {m: float(total[m]) for m in METRICS}


def check_invariants(model: Model, per: dict[str, dict[str, float]]) -> None:
    """The conservation laws of docs/glossary.md ("Invariants"); a failure is a bug and stops the
    run loudly."""
    problems = []
    for sp in model.products:
        waiting = [o for o in sp.queue if not o.done]
        if sp.initial_stock + sp.supplied_total != (
            sp.shipped_total + sp.on_hand + sp.lost_in_transit_total
        ):
            problems.append(f"{sp.id}: units in != units out")
        if sp.on_hand < 0 or not (0 <= sp.reserved <= sp.on_hand):
            problems.append(f"{sp.id}: on hand {sp.on_hand}, reserved {sp.reserved}")
        if sp.backlog != sum(o.remaining for o in waiting) or sp.backlog_orders != len(waiting):
            problems.append(f"{sp.id}: backlog counters disagree with the queue")
        if sp.waiting_total != sp.ends[0] + sp.ends[2] + len(waiting):
            problems.append(f"{sp.id}: a waiting order ended in no state or in two")
        t = sp.tally
        pending = sum(1 for o in waiting if o.counted)
        if t.backorders + t.preorders != t.shipped_late + t.cancelled + pending:
            problems.append(f"{sp.id}: cohort waiting orders do not add up")
        m = per[sp.id]
        parts = (m["revenue_kept"] + m["revenue_lost_stockout"] + m["revenue_lost_cancelled"]
                 + m["revenue_pending"])
        if not math.isclose(m["potential_revenue"], parts, rel_tol=1e-9, abs_tol=1e-6):
            problems.append(f"{sp.id}: potential revenue {m['potential_revenue']} != {parts}")
    if problems:
        raise InvariantError("invariant violated: " + "; ".join(problems))


def simulate(
    scenario: Scenario,
    policy_name: str,
    replication: int,
    search_dir: Path | None = None,
) -> RunResult:
    """Run replication ``replication`` of policy ``policy_name`` and return its record."""
    model = Model(scenario, policy_name, replication, search_dir)
    model.run()
    span = model.horizon - model.warmup
    n_start = model.population.at_warmup
    per = {sp.id: _product_metrics(sp, span, n_start) for sp in model.products}
    check_invariants(model, per)
    per["all"] = _total_metrics(model, per)
    ids = [sp.id for sp in model.products] + ["all"]
    logs = [sp.tally.waits for sp in model.products]
    waits = {sp.id: log.histogram(WAIT_EDGES) for sp, log in zip(model.products, logs, strict=True)}
    waits["all"] = WaitLog.merged(logs).histogram(WAIT_EDGES)
    return RunResult(
        policy=policy_name,
        replication=replication,
        metrics=per,
        days=model.days,
        series={pid: model.series[k] for k, pid in enumerate(ids)},
        waits=waits,
        windows=sorted(model.windows, key=lambda w: (w[2], w[0], w[1])),
    )
