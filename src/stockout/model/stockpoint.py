"""One product at the stocking location: on hand, the FIFO queue of waiting orders, the pipeline.

The stock point applies decisions; it does not make them. What to offer a customer when stock is
short comes from the availability policy, how much to reorder from the replenishment rule.

Hot path: an order filled from stock touches a handful of counters and, under continuous review,
asks the rule for an order. Waiting orders are the only per-order objects.

Time-weighted levels (on hand, backlog, on order, cash held) are exact, not sampled, and cost one
multiply-add per change: the integral of a level L over (w, H] is L(w)·(H − w) + Σ ΔL·(H − t) over
its changes ΔL at times t in (w, H], so each change adds ``delta * (horizon - t)`` to the level's
area and nothing needs closing at the horizon.

Accounting conventions (docs/glossary.md, "Conventions"): order-based statistics belong to the
orders *arriving* after the warm-up (a cohort: ``Order.counted``), wherever their outcome happens;
levels and costs in time are integrated over (warm-up, horizon]; replenishment orders count when
placed after the warm-up.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from itertools import islice
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from ..policies.availability import (
    BACKORDER,
    PREORDER,
    REFUSE,
    Backorder,
    Offer,
    OutOfStock,
    PolicyError,
    Preorder,
    Shortage,
)
from ..policies.replenishment import OrderUpTo
from ..records import WaitLog
from .pipeline_index import BLOCK, LONG_WALK, SHORT, PipelineIndex

if TYPE_CHECKING:
    from .run import Model
    from .supply import Route

EPS = 1e-9
RECEIVE, LOST, NEVER_SHIPPED = 0, 1, 2  # how a shipment ends
DEADLINE = 3  # a waiting order's patience runs out (``Model.flush``)
# Entries of ``Model.agenda`` sort by (day, rank): a shipment's rank is its id, a deadline's
# this plus its order's id, so at the same instant shipments end first (an order whose goods
# arrive as its customer's patience runs out ships), deadlines in the order they were set.
DEADLINE_RANK = 1 << 62


_DAY = itemgetter(0)  # a pipeline entry's expected day


def compact_in_place(d: dict[Any, Any]) -> None:
    """Rebuild ``d`` in place: the same entries in the same order, in a table sized for them.

    A dict does not shrink when entries are removed, and iterating it from the start steps over
    every slot emptied since its table last grew. The pipeline gains shipments at one end and
    loses them mostly at the other, so after a peak (thousands of shipments ordered through an
    outage) its first entry can lie behind thousands of empty slots, and every quote walking
    it pays for them. ``_pipeline_day`` compacts it when its table is far larger than its
    entries need (a steady pipeline's table stays within about twice that).
    """
    items = list(d.items())
    d.clear()
    d.update(items)


class Order:
    """An order that waits (backorder or pre-order). Filled-from-stock orders are never objects."""

    __slots__ = (
        "id", "day", "qty", "remaining", "allocated", "quote", "counted", "prepaid", "kind",
        "u_churn", "done",
    )

    def __init__(
        self, oid: int, day: float, qty: int, quote: float, counted: bool, prepaid: bool,
        kind: int, u_churn: float,
    ) -> None:
        self.id = oid
        self.day = day
        self.qty = qty
        self.remaining = qty  # units not yet shipped
        self.allocated = 0  # units set aside for it on hand (no partial shipments)
        self.quote = quote
        self.counted = counted
        self.prepaid = prepaid
        self.kind = kind
        self.u_churn = u_churn
        self.done = False


class Tally:
    """Per-product counts over the cohort of orders arriving after the warm-up."""

    __slots__ = (
        "other_units", "backorders", "preorders", "lost", "cancelled", "shipped_late",
        "partial_on_arrival", "late_units", "lost_units", "cancelled_units", "on_time",
        "recovered", "recovered_units",
        "wait_sum", "waits", "churned",
    )

    # Orders filled from stock on arrival are counted on the StockPoint itself (filled,
    # filled_units): the hot path. Everything here is updated on slower paths only.
    def __init__(self) -> None:
        self.other_units = 0  # units of orders not filled from stock on arrival
        self.backorders = self.preorders = self.lost = self.cancelled = self.shipped_late = 0
        self.partial_on_arrival = 0  # units shipped on arrival from orders that then waited
        self.late_units = 0  # units shipped to orders after they waited
        self.lost_units = self.cancelled_units = 0
        self.recovered = self.recovered_units = 0  # refused, notified, came back and bought
        self.on_time = 0
        self.wait_sum = 0.0
        self.waits = WaitLog()
        self.churned = 0


class StockPoint:
    """One product at the location (see the module docstring). Slotted: it is the hot path."""

    __slots__ = (
        "_mark",
        "a_backlog",
        "a_cash",
        "a_on_hand",
        "a_on_order",
        "backlog",
        "backlog_orders",
        "backorder_cost",
        "backorder_handling",
        "cancellation_handling",
        "cash",
        "continuous",
        "counting",
        "disorder",
        "ends",
        "env",
        "filled",
        "filled_units",
        "holding_cost",
        "horizon",
        "id",
        "initial_stock",
        "known_end",
        "known_from",
        "known_until",
        "last_expected",
        "lost_in_transit_total",
        "lost_total",
        "max_backlog",
        "model",
        "never_shipped",
        "notify",
        "notify_share",
        "on_hand",
        "on_order",
        "order_cost",
        "p_cancel",
        "p_declined",
        "p_late",
        "p_stockout",
        "partial",
        "pipeline",
        "pipeline_index",
        "pipeline_in_order",
        "pipeline_units",
        "policy",
        "policy_name",
        "preorders_taken",
        "prepay",
        "price",
        "queue",
        "release_day",
        "released",
        "replenishment_orders",
        "reserved",
        "revised",
        "revised_known",
        "revisable",
        "route",
        "rule",
        "salvage_value",
        "up_to",
        "shipped_total",
        "supplied_total",
        "tally",
        "unit_cost",
        "units_ordered",
        "waiting_total",
        "walk_n",
        "walk_next",
        "walk_units",
        "warmup",
    )

    def __init__(
        self,
        model: Model,
        pid: str,
        price: float,
        unit_cost: float,
        initial_stock: int,
        release_day: float,
        rule: Any,
        continuous: bool,
        route: Route | None,
        order_cost: float,
        policy: Any,
        policy_name: str,
        churn: Any,
        handling: tuple[float, float],
        holding_cost: float,
        backorder_cost: float,
    ) -> None:
        self.model = model
        self.env = model.env
        self.horizon = model.horizon
        self.warmup = model.warmup
        self.id = pid
        self.price = price
        self.unit_cost = unit_cost
        self.salvage_value = unit_cost  # a unit left at the horizon: set by the model
        self.release_day = release_day
        self.released = release_day <= 0
        self.rule = rule
        # base stock's order-up-to level: its order quantity is computed inline on the hot path
        self.up_to = rule.S if type(rule) is OrderUpTo else None
        self.continuous = continuous
        self.route = route
        if route is not None:  # its ``place`` writes out add_shipment, unless this has its own
            route.inline_shipments = type(self).add_shipment is WRITTEN_OUT_ADD_SHIPMENT
        self.order_cost = order_cost
        self.policy = policy
        self.policy_name = policy_name
        self.partial = bool(policy.partial_shipments)
        self.prepay = policy.payment == "at_order"
        self.notify_share = float(getattr(policy, "notify_me_share", 0.0) or 0.0)
        self.p_stockout, self.p_declined = churn.on_stockout, churn.on_declined_quote
        self.p_cancel, self.p_late = churn.on_cancel, churn.on_late
        self.backorder_handling, self.cancellation_handling = handling
        self.holding_cost = holding_cost  # per unit on hand per day
        self.backorder_cost = backorder_cost  # per unit waiting per day

        # state
        self.on_hand = initial_stock
        self.reserved = 0  # on hand but set aside for the head of the queue
        self.backlog = 0  # units owed to waiting orders
        self.backlog_orders = 0
        self.on_order = 0
        self.cash = 0.0  # prepayments held for unshipped units
        self.queue: deque[Order] = deque()
        self.pipeline: dict[int, tuple[float, int]] = {}  # shipment id -> (expected day, qty)
        # Whether the pipeline's expected days are in non-decreasing order. A shipment expected
        # before the one added last breaks it, and ``disorder`` is then its id: the shipments
        # from there on were added in order, so once every one before it has left, the pipeline
        # is in order again (``_pipeline_day`` checks).
        self.pipeline_in_order = True
        self.disorder = 0
        self.pipeline_units = 0  # units in the pipeline (on order, plus known scheduled deliveries)
        # Built by the first quote whose walk would be long (``pipeline_index``), then kept up
        # to date by every shipment joining or leaving the pipeline, until it is short again.
        self.pipeline_index: PipelineIndex | None = None
        # Where the last quote's walk of the pipeline stopped (``_pipeline_day``): the walked
        # prefix is every shipment with an id below ``walk_next`` (ids grow in the pipeline's
        # order), ``walk_n`` shipments holding ``walk_units`` units. Kept up to date as
        # shipments leave (``_pipeline_pop``), so the next quote resumes there.
        self.walk_n = self.walk_units = self.walk_next = 0
        # shipments on a lane with closures: shipment id -> expected departure, so quotes can
        # re-estimate their arrival with the closures known at the time of the quote
        self.revisable: dict[int, float] = {}
        # their arrivals as re-estimated by ``route.revise``, valid while the count of closures
        # begun stays ``revised_known``: a re-estimate depends on the quote's time through it alone
        self.revised: dict[int, float] = {}
        self.revised_known = 0
        # what ``_known_closures`` last answered, and the times it holds for (none yet)
        self.known_end = -math.inf
        self.known_from, self.known_until = math.inf, -math.inf
        self.last_expected = -math.inf
        self.notify: deque[tuple[float, int, float, float]] = deque()
        self.preorders_taken = 0

        # time-weighted areas over (warm-up, horizon] (see the module docstring)
        span = self.horizon
        self.a_on_hand = initial_stock * span
        self.a_backlog = self.a_on_order = self.a_cash = 0.0
        self.max_backlog = 0
        # whole-run counts for the invariants
        self.initial_stock = initial_stock
        self.shipped_total = 0
        self.supplied_total = 0  # units that left suppliers and ended their trip (arrived or lost)
        self.lost_in_transit_total = 0
        # Whole-run counters, updated without asking whether the warm-up is over; the window's
        # share is the value at the horizon minus the value at the end of the warm-up
        # (``window``). Orders filled on arrival belong to the cohort exactly when they are
        # filled after the warm-up.
        self.filled = 0
        self.filled_units = 0
        self.replenishment_orders = 0
        self.units_ordered = 0
        self.never_shipped = 0  # units ordered that suppliers will never ship (short shipments)
        self.counting = model.warmup <= 0  # past the warm-up: orders belong to the cohort
        self._mark = self._counters()
        self.waiting_total = 0  # orders ever accepted to wait
        self.ends = [0, 0, 0, 0]  # shipped after waiting, lost, cancelled, recovered (whole run)
        self.lost_total = 0  # orders lost, whole run (the time series' running count)
        self.tally = Tally()

    # ------------------------------------------------------------------ levels

    def reset_window(self, t: float) -> None:
        """Start the statistics window at ``t`` (the end of the warm-up)."""
        rest = self.horizon - t
        self.a_on_hand = self.on_hand * rest
        self.a_backlog = self.backlog * rest
        self.a_on_order = self.on_order * rest
        self.a_cash = self.cash * rest
        self.max_backlog = self.backlog
        self.counting = True
        self._mark = self._counters()

    def exclude_opening_review(self) -> None:
        """Leave the periodic review of day 0 out of a run with no warm-up. The window is
        (0, horizon], like (warm-up, horizon] with one: a review on its first instant belongs
        before it, so n review periods hold n reviews (those at R, 2R, ..., the horizon), with
        a warm-up or without. The order it placed stays on order (and in the on-order level);
        only its count, units and never-shipped units leave the window's counters."""
        mark = list(self._mark)
        now = self._counters()
        for k in (2, 3, 4):  # replenishment_orders, units_ordered, never_shipped
            mark[k] = now[k]
        self._mark = tuple(mark)

    def _counters(self) -> tuple[int, ...]:
        return (
            self.filled, self.filled_units, self.replenishment_orders, self.units_ordered,
            self.never_shipped, self.supplied_total, self.lost_in_transit_total,
        )

    def window(self) -> dict[str, int]:
        """The whole-run counters' growth over (warm-up, horizon]."""
        now, mark = self._counters(), self._mark
        names = ("filled", "filled_units", "replenishment_orders", "units_ordered",
                 "never_shipped", "supplied", "lost_in_transit")
        return {k: a - b for k, a, b in zip(names, now, mark, strict=True)}

    def position(self) -> int:
        return self.on_hand + self.on_order - self.backlog

    def _backlog_add(self, units: int, t: float) -> None:
        self.backlog += units
        self.a_backlog += units * (self.horizon - t)
        if units > 0 and self.backlog > self.max_backlog:
            self.max_backlog = self.backlog
        model = self.model  # the model's total and its maximum: every wait begins and ends here
        model.backlog_total += units
        if model.backlog_total > model.max_backlog_total:
            model.max_backlog_total = model.backlog_total

    def _cash_add(self, amount: float, t: float) -> None:
        self.cash += amount
        self.a_cash += amount * (self.horizon - t)

    # ------------------------------------------------------------------ customers

    def arrive(
        self, t: float, qty: int, patience: float, u_churn: float, u_notify: float
    ) -> None:
        """A customer order of ``qty`` units arrives at ``t``."""
        model = self.model
        if model.near[-1][0] <= t:  # a shipment or a deadline is due
            model.flush(t)
        if self.released and self.on_hand - self.reserved >= qty and not self.backlog_orders:
            # filled from stock on arrival: the hot path
            self.on_hand -= qty
            self.a_on_hand -= qty * (self.horizon - t)
            self.shipped_total += qty
            self.filled += 1
            self.filled_units += qty
            if self.continuous:  # review(t), inlined
                position = self.on_hand + self.on_order - self.backlog
                if position <= self.rule.trigger:
                    up_to = self.up_to
                    qty = (up_to - position if up_to is not None
                           else self.rule.order_quantity(position))  # fmt: skip
                    if qty > 0:
                        self.place_order(t, qty)
            return
        self._shortage(t, qty, patience, u_churn, u_notify)

    def _shortage(
        self, t: float, qty: int, patience: float, u_churn: float, u_notify: float
    ) -> None:
        counted = self.counting
        free = self.on_hand - self.reserved if self.released else 0
        if free < 0:
            free = 0
        # The built-in policies after the release decide without the Shortage view and the
        # Offer (the same decision: Backorder.on_shortage calls the same ``decide``)
        policy = self.policy
        if type(policy) is Preorder and self.released:
            policy = policy.after
        if type(policy) is OutOfStock:
            kind, quote_day = REFUSE, 0.0
        elif type(policy) is Backorder and self.released:
            promised = policy.decide(t, qty, free, self.backlog, self.quote(t, qty))
            kind, quote_day = (REFUSE, 0.0) if promised is None else (BACKORDER, promised)
        else:
            view = Shortage(
                t, self.id, qty, free, self.backlog, self.backlog_orders, self.preorders_taken,
                self.released, self.release_day, quote_fn=lambda: self.quote(t, qty),
            )
            offer = self.policy.on_shortage(view)
            kind = self._check_offer(offer, t)
            quote_day = offer.quote_day
        tally = self.tally
        if counted:
            tally.other_units += qty
        if kind == REFUSE or quote_day - t > patience:
            declined = kind != REFUSE
            self.ends[1] += 1
            self.lost_total += 1
            if counted:
                tally.lost += 1
                tally.lost_units += qty
            if not self.released and not declined:
                return  # the product does not exist yet: no disappointment, no churn
            if not declined and self.notify_share and u_notify < self.notify_share:
                # asks to be told when it is back: no churn now; the sale may be recovered
                self.notify.append((t, qty, patience, counted))
                return
            p = self.p_declined if declined else self.p_stockout
            if u_churn < p:
                self.model.churn(self, t)
            return
        # accepted to wait
        order = Order(
            self.new_order_id(), t, qty, quote_day, counted, self.prepay, kind, u_churn,
        )
        if counted:
            if kind == PREORDER:
                tally.preorders += 1
            else:
                tally.backorders += 1
        if kind == PREORDER:
            self.preorders_taken += 1
        if self.partial and free > 0:
            self.on_hand -= free
            self.a_on_hand -= free * (self.horizon - t)
            self.shipped_total += free
            order.remaining -= free
            if counted:
                tally.partial_on_arrival += free
        self.queue.append(order)
        self.waiting_total += 1
        self.backlog_orders += 1
        # _backlog_add(units, t) and _cash_add(units * price, t), inlined: every waiting order
        units = order.remaining
        rest = self.horizon - t
        backlog = self.backlog = self.backlog + units
        self.a_backlog += units * rest
        if units > 0 and backlog > self.max_backlog:
            self.max_backlog = backlog
        model = self.model
        model.backlog_total += units
        if model.backlog_total > model.max_backlog_total:
            model.max_backlog_total = model.backlog_total
        if self.prepay:
            amount = units * self.price
            self.cash += amount
            self.a_cash += amount * rest
        deadline = t + patience
        if deadline < self.horizon:  # (an infinite patience never comes due; Agenda.push inlined)
            agenda = model.agenda
            entry = (deadline, DEADLINE_RANK + order.id, self, order, DEADLINE)
            if deadline >= agenda.bound:
                agenda.far.append(entry)
            else:
                agenda.insert(entry)
        if not self.partial and free > 0:
            # set free stock aside for this order (it is at the head: nobody else waits)
            self._allocate(t)
        if self.continuous:
            self.review(t)

    def new_order_id(self) -> int:
        model = self.model  # Model.next_order_id, inlined: one call, not two, per waiting order
        model._order_id += 1  # noqa: SLF001
        return model._order_id  # noqa: SLF001

    def _check_offer(self, offer: Any, t: float) -> int:
        if not isinstance(offer, Offer):
            raise PolicyError(
                f"policy '{self.policy_name}': on_shortage returned {offer!r}, not an Offer"
            )
        kind = offer.kind
        if kind not in (REFUSE, BACKORDER, PREORDER):
            raise PolicyError(f"policy '{self.policy_name}': unknown offer kind {kind!r}")
        if kind != REFUSE and not (offer.quote_day >= t - EPS):
            raise PolicyError(
                f"policy '{self.policy_name}': quoted ship day {offer.quote_day} is before the "
                f"order's day {t} for product '{self.id}'"
            )
        return kind

    def quote(self, t: float, qty: int) -> float:
        """Earliest day this order could ship if taken, from what is known now (no buffer).

        The units still to come for it are everything owed to the orders ahead plus its own
        quantity, less what is on hand (before the release, on-hand stock waits for the
        release day and then goes to the orders in line, oldest first)."""
        need = self.backlog + qty - self.on_hand
        ready = t if self.released else max(t, self.release_day)
        if need <= 0:
            return ready
        if self.pipeline:
            units = self.pipeline_units
            if need <= units:
                day = self._pipeline_day(t, need)
                return day if day >= ready else ready  # max(day, ready)
            need -= units  # all of it is spoken for: no need to look at each
        if self.route is None:
            return math.inf
        order_day = self.model.next_review(self, t)
        return max(self.route.expected(t, order_day, int(need)), ready)

    def _pipeline_day(self, t: float, need: int) -> float:
        """When the ``need``-th unit still to come is expected, 1 <= need <= pipeline units.

        Units arriving go to the waiting orders first in, first served, so that is when the
        pipeline, in order of expected arrival, has brought ``need`` units. A pipeline kept in
        that order (the usual case) is walked from whichever end is nearer the answer, so a
        long pipeline costs little (base stock: the answer is S units from the end). A shipment
        past its expected day is late, not arriving this instant: with random lead or transit
        times it is expected after the residual time given how long it has been under way.
        """
        route = self.route
        pipeline = self.pipeline
        if pipeline.__sizeof__() > 128 * len(pipeline) + 1024:  # sys.getsizeof, minus its overhead
            compact_in_place(pipeline)
        if not self.pipeline_in_order and next(iter(pipeline)) >= self.disorder:
            # every shipment added before the last one out of order has left
            self.pipeline_in_order = True
            self.walk_n = self.walk_units = self.walk_next = 0
        if not self.pipeline_in_order:
            # Out of order (a short shipment's rest is expected after shipments ordered later):
            # sorted by expected arrival, then walked from the nearer end
            # (sorted by the day alone, compared as floats: shipments due the same day may come
            # in any order, the walk's answer is that day either way)
            shipments = (self._revised(t, pipeline.items()) if self.revisable
                         else list(pipeline.values()))  # fmt: skip
            shipments.sort(key=_DAY)
            if route is not None and route.uncertain and shipments[0][0] < t:
                # the overdue ones, a prefix, are re-estimated and sorted in among the rest
                k = bisect_left(shipments, (t,))
                overdue = route.overdue
                shipments[:k] = [(overdue(t, e), q) for e, q in shipments[:k]]
                shipments.sort(key=_DAY)
            excess = self.pipeline_units - need
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
        units = self.pipeline_units
        excess = units - need
        # A walk expected to pass more than ``long`` shipments goes through the index: built
        # for a walk over LONG_WALK, dropped when the pipeline is short again.
        index = self.pipeline_index
        count = len(pipeline)
        if index is None:
            long = LONG_WALK
        elif count < SHORT:
            index = self.pipeline_index = None
            long = LONG_WALK
        else:
            long = 2 * BLOCK
        if count <= long:
            deep = False
        elif excess < need:
            deep = excess * count > long * units
        else:  # even resumed
            cum = self.walk_units if self.walk_units < need else 0
            deep = (need - cum) * count > long * units
        if deep:
            if index is None:
                index = self.pipeline_index = PipelineIndex(pipeline)
            sid, (found, q) = (index.from_end(pipeline, excess) if excess < need
                               else index.from_start(pipeline, need))  # fmt: skip
        elif excess < need:  # nearer the end: the entry where the units after it drop to <= excess
            after = 0
            for sid, (found, q) in reversed(pipeline.items()):  # noqa: B007 - found is the answer
                after += q
                if after > excess:
                    break
        else:
            # From the start: the entry where the running sum of units reaches ``need``. The
            # walk resumes where the last one stopped when that is still short of ``need``
            # (consecutive quotes ask for more and more as the backlog grows): the entries
            # before it are skipped by ``islice``, in C.
            n, cum = self.walk_n, self.walk_units
            if cum >= need:
                n = cum = 0
            items = pipeline.items()
            for sid, (found, q) in islice(items, n, None) if n else items:  # noqa: B007
                cum += q
                if cum >= need:
                    self.walk_n, self.walk_units, self.walk_next = n, cum - q, sid
                    break
                n += 1
        rev = self.revisable
        if rev:
            # In order, shipments leave in order too: only the oldest ones, leaving before the
            # last known closure ends, can be held by it; held, they still arrive no later
            # than those leaving after it, so the order is kept, and only the arrival of the
            # shipment found needs re-estimating.
            departs = rev.get(sid)
            if departs is not None and departs < (
                self.known_end if self.known_from <= t < self.known_until  # the usual case
                else self._known_closures(t)
            ) and (len(rev) == len(pipeline) or self._held(sid)):
                r = self.revised.get(sid)
                if r is None:
                    r = self.revised[sid] = route.revise(t, found, departs)  # type: ignore[union-attr]
                found = r
        if found < t and route is not None and route.uncertain:
            return route.overdue(t, found)
        return found

    def _held(self, sid: int) -> bool:
        """Whether shipment ``sid`` is among the first shipments of the pipeline, every one of
        them revisable and leaving before the last known closure ends (``known_end``, as kept
        for the quote's time). Asked only when some shipment in the pipeline is not revisable
        (the part of a short shipment that will never come)."""
        rev, lane_end = self.revisable, self.known_end
        for k in self.pipeline:
            departs = rev.get(k)
            if departs is None or departs >= lane_end:
                return False
            if k == sid:
                return True
        return False

    def _revised(self, t: float, items: Any) -> list[tuple[float, int]]:
        """Pipeline entries with arrivals re-estimated for the closures known at ``t``."""
        rev, route = self.revisable, self.route
        if not rev:
            return [entry for _, entry in items]
        # A shipment leaving after the last closure known at ``t`` is held by none:
        # ``route.revise`` would give max(e, departs + transit quote), so that is computed here.
        lane_end = self._known_closures(t)
        transit = route.transit_quote  # type: ignore[union-attr]
        revised = self.revised
        out = []
        for sid, (e, q) in items:
            departs = rev.get(sid)
            if departs is not None:
                if departs >= lane_end:
                    arrival = departs + transit
                    if arrival > e:
                        e = arrival
                else:
                    r = revised.get(sid)
                    if r is None:
                        r = revised[sid] = route.revise(t, e, departs)  # type: ignore[union-attr]
                    e = r
            out.append((e, q))
        return out

    def _known_closures(self, t: float) -> float:
        """The end of the last lane closure begun by ``t``. The re-estimated arrivals kept in
        ``revised`` are dropped when a closure has begun since they were computed; only
        shipments held by a known closure are re-estimated, so few are kept.

        The answer holds from ``t`` to the start of the next closure (``known_from``,
        ``known_until``): quotes in between are answered without a search. While a random
        closure is in progress its believed end moves with ``t``: the answer, and the arrivals
        re-estimated with it, hold at ``t`` alone."""
        if self.known_from <= t < self.known_until:
            return self.known_end
        closures = self.route.lane.closures.all  # type: ignore[union-attr]
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

    def cancel(self, order: Order, t: float) -> None:
        """The customer cancels a waiting order: refund, free what was set aside for it."""
        order.done = True
        self.backlog_orders -= 1
        self._backlog_add(-order.remaining, t)
        if order.allocated:
            self.reserved -= order.allocated
            order.allocated = 0
        if order.prepaid:
            self._cash_add(-order.remaining * self.price, t)
        self.ends[2] += 1
        if order.counted:
            tally = self.tally
            tally.cancelled += 1
            tally.cancelled_units += order.remaining
        if order.u_churn < self.p_cancel:
            self.model.churn(self, t)
        self._allocate(t)
        if self.continuous:
            self.review(t)

    # ------------------------------------------------------------------ stock

    def receive(self, t: float, qty: int, shipment: int | None) -> None:
        """Goods arrive: put them on hand and give them to the oldest waiting orders first."""
        area = qty * (self.horizon - t)  # what the units add to on-hand's area to the horizon
        if shipment is not None:
            q = self.pipeline.pop(shipment)[1]  # _pipeline_pop(shipment), inlined
            self.pipeline_units -= q
            if self.pipeline_index is not None:
                self.pipeline_index.remove(shipment, q)
            if shipment < self.walk_next:
                self.walk_n -= 1
                self.walk_units -= q
            if self.revisable:
                self.revisable.pop(shipment, None)
            self.on_order -= qty
            self.a_on_order -= area  # and take from on-order's
        self.on_hand += qty
        self.a_on_hand += area
        self.supplied_total += qty
        if self.backlog_orders:
            self._allocate(t)
        if self.notify and self.on_hand - self.reserved > 0:
            self._notify_returns(t)

    def _pipeline_pop(self, shipment: int) -> None:
        """Shipment ``shipment`` leaves the pipeline (arrived, lost or cancelled)."""
        q = self.pipeline.pop(shipment)[1]
        self.pipeline_units -= q
        if self.pipeline_index is not None:
            self.pipeline_index.remove(shipment, q)
        if shipment < self.walk_next:  # it was in the walked prefix
            self.walk_n -= 1
            self.walk_units -= q

    def lose_in_transit(self, t: float, qty: int, shipment: int) -> None:
        """A shipment is lost on the way: it leaves the pipeline and never arrives."""
        self._pipeline_pop(shipment)
        self.revisable.pop(shipment, None)
        self.on_order -= qty
        self.a_on_order -= qty * (self.horizon - t)
        self.lost_in_transit_total += qty
        self.supplied_total += qty
        if self.continuous:
            self.review(t)

    def cancel_shipment(self, t: float, qty: int, shipment: int) -> None:
        """Units the supplier will never ship (a short shipment): they leave the pipeline."""
        self._pipeline_pop(shipment)
        self.on_order -= qty
        self.a_on_order -= qty * (self.horizon - t)
        if self.continuous:
            self.review(t)

    def release(self, t: float) -> None:
        """The release day: the product exists from now on; waiting pre-orders can ship."""
        self.model.flush(t)
        self.released = True
        self._allocate(t)

    def _allocate(self, t: float) -> None:
        if not self.released:
            return
        queue = self.queue
        while queue:
            order = queue[0]
            if order.done:
                queue.popleft()
                continue
            free = self.on_hand - self.reserved
            if free <= 0:
                return
            if self.partial:
                give = order.remaining
                if free < give:
                    give = free
                self._ship(order, give, t)
            else:
                give = order.remaining - order.allocated
                if free < give:
                    give = free
                order.allocated += give
                self.reserved += give
                if order.allocated < order.remaining:
                    return
                self.reserved -= order.allocated
                order.allocated = 0
                self._ship(order, order.remaining, t)
            if order.remaining == 0:
                self._complete(order, t)
                queue.popleft()

    def _ship(self, order: Order, units: int, t: float) -> None:
        rest = self.horizon - t
        self.on_hand -= units
        self.a_on_hand -= units * rest
        self.shipped_total += units
        order.remaining -= units
        # _backlog_add(-units, t), inlined (a lower backlog sets no maximum)
        self.backlog -= units
        self.a_backlog += -units * rest
        self.model.backlog_total -= units
        if order.prepaid:  # _cash_add(-units * price, t), inlined
            amount = -units * self.price
            self.cash += amount
            self.a_cash += amount * rest
        if order.counted:
            self.tally.late_units += units

    def _complete(self, order: Order, t: float) -> None:
        order.done = True
        self.backlog_orders -= 1
        self.ends[0] += 1
        late = t > order.quote + EPS
        if order.counted:
            tally = self.tally
            tally.shipped_late += 1
            wait = t - order.day
            tally.wait_sum += wait
            tally.waits.add(wait)
            if not late:
                tally.on_time += 1
        if late and order.u_churn < self.p_late:
            self.model.churn(self, t)

    def _notify_returns(self, t: float) -> None:
        """Customers who asked to be notified come back now, oldest first, while stock lasts.

        A customer still within their patience buys if enough is free: their refused order
        becomes a recovered sale (no longer lost; the same order, not a new one). One who finds
        too little, or whose patience ran out, stays lost. Each is notified once.
        """
        while self.notify and self.on_hand - self.reserved > 0 and not self.backlog_orders:
            day, qty, patience, counted = self.notify.popleft()
            if t - day > patience or self.on_hand - self.reserved < qty:
                continue
            self.on_hand -= qty
            self.a_on_hand -= qty * (self.horizon - t)
            self.shipped_total += qty
            self.ends[1] -= 1
            self.ends[3] += 1
            if counted:
                tally = self.tally
                tally.lost -= 1
                tally.lost_units -= qty
                tally.recovered += 1
                tally.recovered_units += qty
            self.recovered_sale(t, day, qty)
            if self.continuous:
                self.review(t)

    def recovered_sale(self, t: float, day: float, qty: int) -> None:
        """Hook: a notified customer came back and bought (the trace narrates it)."""

    # ------------------------------------------------------------------ replenishment

    def review(self, t: float) -> None:
        """Apply the replenishment rule to the current inventory position."""
        position = self.on_hand + self.on_order - self.backlog
        if position <= self.rule.trigger:  # the rule may order
            up_to = self.up_to
            qty = up_to - position if up_to is not None else self.rule.order_quantity(position)
            if qty > 0:
                self.place_order(t, qty)

    def place_order(self, t: float, qty: int) -> None:
        route = self.route
        if route is None:
            return
        if qty < route.min_order_qty:
            qty = route.min_order_qty
        self.on_order += qty
        self.a_on_order += qty * (self.horizon - t)
        self.replenishment_orders += 1
        self.units_ordered += qty
        if route.simple:  # add_shipment, inlined: this is the hot path of every base-stock run
            arrival = t + next(route.leads)
            if route.transits is not None:
                arrival += next(route.transits)
            model = self.model
            model.shipment_id += 1
            sid = model.shipment_id
            self.pipeline[sid] = (t + route.quote_days, qty)  # expected days never decrease here
            self.pipeline_units += qty
            if self.pipeline_index is not None:
                self.pipeline_index.add(sid, qty)
            if arrival < self.horizon:  # (Agenda.push, inlined)
                agenda = model.agenda
                if arrival >= agenda.bound:
                    agenda.far.append((arrival, sid, self, qty, RECEIVE))
                else:
                    agenda.insert((arrival, sid, self, qty, RECEIVE))
        else:
            route.place(self, t, qty)

    def add_shipment(self, arrival: float, expected: float, qty: int, kind: int) -> int:
        """A shipment of ``qty`` joins the pipeline; it ends (``kind``) at ``arrival``. Returns
        its id."""
        model = self.model
        model.shipment_id += 1
        sid = model.shipment_id
        self.pipeline[sid] = (expected, qty)
        self.pipeline_units += qty
        if self.pipeline_index is not None:
            self.pipeline_index.add(sid, qty)
        if expected < self.last_expected:
            self.pipeline_in_order = False
            self.disorder = sid
        self.last_expected = expected
        if arrival < self.horizon:  # else it is still on order at the horizon
            agenda = model.agenda  # (Agenda.push, inlined)
            if arrival >= agenda.bound:
                agenda.far.append((arrival, sid, self, qty, kind))
            else:
                agenda.insert((arrival, sid, self, qty, kind))
        return sid


# The methods as defined above. Hot paths write them out (the arrival loop ``arrive``,
# ``Model.flush`` ``receive``, ``Route.place`` ``add_shipment``) for a stock point whose class
# still has these very functions; one whose class (or a patch) replaces one is called instead.
WRITTEN_OUT_ARRIVE = StockPoint.arrive
WRITTEN_OUT_RECEIVE = StockPoint.receive
WRITTEN_OUT_ADD_SHIPMENT = StockPoint.add_shipment
