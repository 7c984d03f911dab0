"""A stock point: one product at one location, with its on-hand stock, its FIFO queue of waiting
orders and its pipeline of shipments on the way.

The stock point applies decisions; it does not make them. What to offer a customer when stock is
short comes from the availability policy (``policies/availability.py``), how much to reorder from
the replenishment rule (``policies/replenishment.py``), where the goods come from from its route
(``supply.py``). Everything that happens is reported to its recorder (``recorder.py``): the
metrics' tally, the trace and tests listen there.

Time-weighted levels (on hand, backlog, on order, cash held) are exact, not sampled, and cost one
multiply-add per change: the integral of a level L over (w, H] is L(w)·(H − w) + Σ ΔL·(H − t) over
its changes ΔL at times t in (w, H], so each change adds ``delta * (horizon - t)`` to the level's
area and nothing needs closing at the horizon.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from ..policies.availability import BACKORDER, PREORDER, REFUSE, Offer, PolicyError, Shortage
from .orders import NotifyRequest, WaitingOrder
from .pipeline import Pipeline
from .supply import NEVER_SHIPPED, ShipmentEnd

if TYPE_CHECKING:
    import simpy

    from .recorder import Recorder
    from .supply import Route, Transfer

EPS = 1e-9


class Network:
    """What the stock points share: the clock, the horizon, the population, ids and totals."""

    __slots__ = (
        "backlog_total",
        "env",
        "horizon",
        "max_backlog_total",
        "order_ids",
        "population",
        "shipment_ids",
        "warmup",
    )

    def __init__(self, env: simpy.Environment, horizon: float, warmup: float,
                 population: Any) -> None:
        self.env = env
        self.horizon = horizon
        self.warmup = warmup
        self.population = population
        self.order_ids = 0
        self.shipment_ids = 0
        self.backlog_total = 0
        self.max_backlog_total = 0

    def churn(self, sp: StockPoint, t: float) -> None:
        """A customer leaves for good after a bad experience with ``sp``."""
        pop = self.population
        if pop.n > 0:
            pop.n -= 1
            sp.recorder.churned(sp, t, pop.n)


class StockPoint:
    """One product at one location (see the module docstring)."""

    __slots__ = (
        "_ends",
        "a_backlog",
        "a_cash",
        "a_on_hand",
        "a_on_order",
        "arrivals",
        "backlog",
        "backlog_orders",
        "backorder_cost",
        "backorder_handling",
        "cancellation_handling",
        "cancelled_total",
        "capture_share",
        "cash",
        "cohort_from",
        "completed_total",
        "context",
        "continuous",
        "deliveries",
        "demand_days",
        "demand_record",
        "demand_recorded",
        "env",
        "holding_cost",
        "horizon",
        "id",
        "initial_stock",
        "location",
        "lost_in_transit_total",
        "lost_total",
        "max_backlog",
        "name",
        "network",
        "next_review",
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
        "policy",
        "policy_name",
        "preorders_taken",
        "prepay",
        "price",
        "queue",
        "recorder",
        "recovered_total",
        "release_day",
        "released",
        "reserved",
        "review_period",
        "route",
        "rule",
        "salvage_value",
        "shipped_total",
        "source",
        "supplied_total",
        "unit_cost",
        "waiting_total",
    )

    def __init__(
        self, network: Network, location: str, product: Any, rule: Any, continuous: bool,
        route: Route | Transfer | None, order_cost: float, policy: Any, policy_name: str,
        churn: Any, handling: tuple[float, float], recorder: Recorder,
    ) -> None:
        self.network = network
        self.env = network.env
        self.horizon = network.horizon
        self.location = location
        self.id = product.id  # the product's id
        self.name = product.id  # in results: the product's id (at a second location, id@location)
        self.price = product.price
        self.unit_cost = product.unit_cost
        self.salvage_value = product.unit_cost  # a unit left at the horizon (issue 19)
        self.holding_cost = product.holding_cost_per_day  # per unit on hand per day
        self.backorder_cost = product.backorder_cost_per_day  # per unit waiting per day
        self.release_day = product.release_day
        self.released = product.release_day <= 0
        self.rule = rule
        self.continuous = continuous  # continuous review: the rule is asked at every change
        self.review_period = 0.0  # periodic review: days between reviews
        self.next_review = 0.0
        self.route = route
        self.order_cost = order_cost
        self.backorder_handling, self.cancellation_handling = handling
        self.policy = policy
        self.policy_name = policy_name
        self.partial = bool(policy.partial_shipments)
        self.prepay = policy.payment == "at_order"
        self.notify_share = float(getattr(policy, "notify_me_share", 0.0) or 0.0)
        # of the customers refused and not signed up for notify-me, the share the shop records
        self.capture_share = float(product.lost_demand_recorded)
        self.p_stockout, self.p_declined = churn.on_stockout, churn.on_declined_quote
        self.p_cancel, self.p_late = churn.on_cancel, churn.on_late
        self.recorder = recorder
        self.context = StockView(self)
        self.source = route.source if route is not None else None
        # what ends a shipment, by ShipmentEnd
        self._ends = (self._received, self._lost_in_transit, self._never_shipped)
        # orders arriving after this belong to the cohort the statistics follow
        self.cohort_from = network.warmup if network.warmup > 0 else -math.inf

        # state
        self.initial_stock = product.initial_stock
        self.on_hand = product.initial_stock
        self.reserved = 0  # on hand but set aside for the head of the queue
        self.backlog = 0  # units owed to waiting orders
        self.backlog_orders = 0
        self.on_order = 0
        self.cash = 0.0  # prepayments held for unshipped units
        self.queue: deque[WaitingOrder] = deque()
        self.pipeline = Pipeline(route)
        self.deliveries: list[tuple[float, int]] = []  # scheduled: (day, shipment id)
        self.notify: deque[NotifyRequest] = deque()
        self.preorders_taken = 0
        self.demand_recorded = 0  # units the business's own data shows (recorded demand)
        self.demand_days: deque[int] = deque(maxlen=366)  # demand_recorded at each day's start
        self.demand_record: Any = None  # its tally (tally.py; set by build.py)

        # time-weighted areas over (warm-up, horizon] (see the module docstring)
        self.a_on_hand = self.on_hand * self.horizon
        self.a_backlog = self.a_on_order = self.a_cash = 0.0
        self.max_backlog = 0
        # whole-run counts, for the invariants and the time series
        self.arrivals = 0
        self.shipped_total = 0
        self.supplied_total = 0  # units that left suppliers and ended their trip (arrived or lost)
        self.lost_in_transit_total = 0
        self.waiting_total = 0  # orders ever accepted to wait
        self.completed_total = 0  # waiting orders shipped in full
        self.cancelled_total = 0
        self.lost_total = 0  # orders refused or declined (less those recovered)
        self.recovered_total = 0

    # ------------------------------------------------------------------ levels

    def start_window(self, t: float) -> None:
        """Start the statistics window at ``t`` (the end of the warm-up)."""
        rest = self.horizon - t
        self.a_on_hand = self.on_hand * rest
        self.a_backlog = self.backlog * rest
        self.a_on_order = self.on_order * rest
        self.a_cash = self.cash * rest
        self.max_backlog = self.backlog

    def position(self) -> int:
        return self.on_hand + self.on_order - self.backlog

    def _on_hand_add(self, units: int, t: float) -> None:
        self.on_hand += units
        self.a_on_hand += units * (self.horizon - t)

    def _on_order_add(self, units: int, t: float) -> None:
        self.on_order += units
        self.a_on_order += units * (self.horizon - t)

    def _backlog_add(self, units: int, t: float) -> None:
        self.backlog += units
        self.a_backlog += units * (self.horizon - t)
        net = self.network
        net.backlog_total += units
        if units > 0:
            if self.backlog > self.max_backlog:
                self.max_backlog = self.backlog
            if net.backlog_total > net.max_backlog_total:
                net.max_backlog_total = net.backlog_total

    def _cash_add(self, amount: float, t: float) -> None:
        self.cash += amount
        self.a_cash += amount * (self.horizon - t)

    # ------------------------------------------------------------------ customers

    def arrive(
        self, t: float, qty: int, patience: float, u_churn: float = 1.0, u_notify: float = 1.0
    ) -> None:
        """A customer order of ``qty`` units arrives at ``t``. ``u_churn`` and ``u_notify`` are
        the uniforms that decide whether a bad experience makes them leave for good and whether
        they ask to be notified (1.0: never)."""
        self.arrivals += 1
        if self.released and self.on_hand - self.reserved >= qty and not self.backlog_orders:
            self.on_hand -= qty  # filled from stock (_on_hand_add, written for the hot path)
            self.a_on_hand -= qty * (self.horizon - t)
            self.shipped_total += qty
            self.demand_recorded += qty
            self.recorder.filled(self, t, qty)
            if self.continuous:
                self.review(t)
            return
        self._shortage(t, qty, patience, u_churn, u_notify)

    def _shortage(
        self, t: float, qty: int, patience: float, u_churn: float, u_notify: float
    ) -> None:
        """An order that free stock cannot fill: the policy's offer, the customer's choice."""
        free = max(self.on_hand - self.reserved, 0) if self.released else 0
        view = Shortage(
            t, self.id, qty, free, self.backlog, self.backlog_orders, self.preorders_taken,
            self.released, self.release_day, quote_fn=lambda: self.quote(t, qty),
        )
        offer = self._checked(self.policy.on_shortage(view), t)
        if offer.kind == REFUSE or offer.quote_day - t > patience:
            self._lose(t, qty, offer, patience, free, u_churn, u_notify)
        else:
            self._queue(t, qty, offer, patience, free, u_churn)

    def _lose(self, t: float, qty: int, offer: Offer, patience: float, free: int,
              u_churn: float, u_notify: float) -> None:
        declined = offer.kind != REFUSE
        self.lost_total += 1
        notify = (not declined and self.released and bool(self.notify_share)
                  and u_notify < self.notify_share)  # fmt: skip
        if declined or notify or (self.capture_share and self._captured(u_notify)):
            self.demand_recorded += qty  # a declined quote, a sign-up or a logged visit
        self.recorder.lost(self, t, qty, offer, patience, free, notify)
        if notify:  # asks to be told when it is back: no churn now; the sale may be recovered
            self.notify.append(NotifyRequest(t, qty, patience, t > self.cohort_from))
        elif self.released or declined:  # before the release, no disappointment
            if u_churn < (self.p_declined if declined else self.p_stockout):
                self.network.churn(self, t)

    def _captured(self, u: float) -> bool:
        """A refused customer's visit is recorded: with the share ``capture_share`` of those
        not signed up for notify-me, by the same uniform (u ≥ n is uniform on [n, 1), so the
        two choices are independent and a larger share records a superset)."""
        n, c = self.notify_share, self.capture_share
        return c >= 1 or (n <= u < 1 and u - n < c * (1 - n))

    def _queue(self, t: float, qty: int, offer: Offer, patience: float, free: int,
               u_churn: float) -> None:
        net = self.network
        net.order_ids += 1
        order = WaitingOrder(
            net.order_ids, t, qty, offer.quote_day, t > self.cohort_from, self.prepay, offer.kind,
            u_churn,
        )
        self.demand_recorded += qty
        if offer.kind == PREORDER:
            self.preorders_taken += 1
        shipped_now = 0
        if self.partial and free > 0:
            shipped_now = free
            self._on_hand_add(-free, t)
            self.shipped_total += free
            order.remaining -= free
        self._wait(order, t)
        if self.prepay:
            self._cash_add(order.remaining * self.price, t)
        self.recorder.queued(self, t, order, patience, free, shipped_now)
        if not self.partial and free > 0:
            self._allocate(t)  # set free stock aside for it (it is at the head: nobody waits)
        if self.continuous:
            self.review(t)
        if t + patience < self.horizon:  # (an infinite patience never comes due)
            Timeout(self.env, patience, order).callbacks.append(self._patience_ends)

    def _wait(self, order: WaitingOrder, t: float) -> None:
        """``order`` joins the line of waiting orders (first come, first served)."""
        self.queue.append(order)
        self.waiting_total += 1
        self.backlog_orders += 1
        self._backlog_add(order.remaining, t)

    def transfer(self, t: float, qty: int, ship_to: Callable[[float, int], None]) -> None:
        """Another location orders ``qty`` units from this one (``supply.Transfer``): the order
        waits in line with the customers' orders and ships whole when its turn and the stock
        come, at once if nobody waits and the stock is free. It is no customer: the metrics'
        cohort leaves it out (it counts in true demand) and it never churns. ``ship_to(day,
        units)`` sends the goods on their way."""
        net = self.network
        net.order_ids += 1
        order = WaitingOrder(net.order_ids, t, qty, math.inf, False, False, BACKORDER, 1.0,
                             ship_to=ship_to)
        self._wait(order, t)
        self.recorder.queued(self, t, order, math.inf, max(self.on_hand - self.reserved, 0), 0)
        self._allocate(t)
        if self.continuous:
            self.review(t)

    def _patience_ends(self, event: Any) -> None:
        """A waiting order's patience has run out. Goods arriving at this very instant ship
        first: the cancellation waits behind the events already due now."""
        if not event.value.done:
            self.env.timeout(0, event.value).callbacks.append(self._cancel_if_waiting)

    def _cancel_if_waiting(self, event: Any) -> None:
        if not event.value.done:
            self.cancel(event.value, self.env.now)

    def _checked(self, offer: Any, t: float) -> Offer:
        if not isinstance(offer, Offer):
            raise PolicyError(
                f"policy '{self.policy_name}': on_shortage returned {offer!r}, not an Offer"
            )
        if offer.kind not in (REFUSE, BACKORDER, PREORDER):
            raise PolicyError(f"policy '{self.policy_name}': unknown offer kind {offer.kind!r}")
        if offer.kind != REFUSE and not (offer.quote_day >= t - EPS):
            raise PolicyError(
                f"policy '{self.policy_name}': quoted ship day {offer.quote_day} is before the "
                f"order's day {t} for product '{self.id}'"
            )
        return offer

    def quote(self, t: float, qty: int) -> float:
        """Earliest day this order could ship if taken, from what is known now (no buffer).

        The units still to come for it are everything owed to the orders ahead plus its own
        quantity, less what is on hand (before the release, on-hand stock waits for the
        release day and then goes to the orders in line, oldest first)."""
        need = self.backlog + qty - self.on_hand
        ready = t if self.released else max(t, self.release_day)
        if need <= 0:
            return ready
        pipeline = self.pipeline
        if pipeline.units:
            if need <= pipeline.units:
                return max(pipeline.day_for(t, need), ready)
            need -= pipeline.units  # all of it is spoken for
        if self.route is None:
            return math.inf
        order_day = t
        if self.review_period > 0:  # the next review
            order_day = math.ceil(t / self.review_period - 1e-12) * self.review_period
        return max(self.route.expected(t, order_day, int(need)), ready)

    def cancel(self, order: WaitingOrder, t: float) -> None:
        """The customer cancels a waiting order: refund, free what was set aside for it."""
        order.done = True
        self.backlog_orders -= 1
        remaining = order.remaining
        self._backlog_add(-remaining, t)
        if order.allocated:
            self.reserved -= order.allocated
            order.allocated = 0
        if order.prepaid:
            self._cash_add(-remaining * self.price, t)
        self.cancelled_total += 1
        self.recorder.cancelled(self, t, order, remaining)
        if order.u_churn < self.p_cancel:
            self.network.churn(self, t)
        self._allocate(t)
        if self.continuous:
            self.review(t)

    # ------------------------------------------------------------------ stock

    def _stock_in(self, t: float, qty: int, area: float) -> None:
        """Goods arrive: put them on hand (``area``: what they add to on hand's integral) and
        give them to the oldest waiting orders first."""
        self.on_hand += qty
        self.a_on_hand += area
        self.supplied_total += qty
        if self.backlog_orders:
            self._allocate(t)
        if self.notify and self.on_hand - self.reserved > 0:
            self._notify_returns(t)

    def _received(self, event: Any) -> None:
        """A shipment's SimPy event: it arrives (from on order to on hand)."""
        t = self.env.now
        qty = self.pipeline.remove(event.value)
        area = qty * (self.horizon - t)
        self.on_order -= qty
        self.a_on_order -= area
        self.recorder.received(self, t, qty, self.source)
        self._stock_in(t, qty, area)

    def _lost_in_transit(self, event: Any) -> None:
        """A shipment's SimPy event: it was lost on the way."""
        t = self.env.now
        qty = self.pipeline.remove(event.value)
        self._on_order_add(-qty, t)
        self.lost_in_transit_total += qty
        self.supplied_total += qty
        self.recorder.lost_in_transit(self, t, qty)
        if self.continuous:
            self.review(t)

    def _never_shipped(self, event: Any) -> None:
        """The part of a short shipment that never comes leaves the pipeline."""
        t = self.env.now
        qty = self.pipeline.remove(event.value)
        self._on_order_add(-qty, t)
        if self.continuous:
            self.review(t)

    def deliver(self, event: Any) -> None:
        """A scheduled delivery (rule 'scheduled'): known in advance, it arrives on its day."""
        sid = event.value
        t = self.env.now
        qty = self.pipeline.remove(sid)
        self.recorder.delivered(self, t, qty)
        self._stock_in(t, qty, qty * (self.horizon - t))

    def release(self, t: float) -> None:
        """The release day: the product exists from now on; waiting pre-orders can ship."""
        self.released = True
        self.recorder.released(self, t)
        self._allocate(t)

    def _allocate(self, t: float) -> None:
        """Give free stock to the waiting orders, oldest first (FIFO)."""
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
                self._ship(order, min(free, order.remaining), t)
            else:
                give = min(free, order.remaining - order.allocated)
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

    def _ship(self, order: WaitingOrder, units: int, t: float) -> None:
        self._on_hand_add(-units, t)
        self.shipped_total += units
        order.remaining -= units
        self._backlog_add(-units, t)
        if order.prepaid:
            self._cash_add(-units * self.price, t)
        self.recorder.shipped(self, t, order, units)
        if order.ship_to is not None:
            order.ship_to(t, units)

    def _complete(self, order: WaitingOrder, t: float) -> None:
        order.done = True
        self.backlog_orders -= 1
        self.completed_total += 1
        self.recorder.completed(self, t, order)
        if t > order.quote + EPS and order.u_churn < self.p_late:
            self.network.churn(self, t)

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
            self._on_hand_add(-qty, t)
            self.shipped_total += qty
            self.lost_total -= 1
            self.recovered_total += 1
            self.recorder.recovered(self, t, day, qty, counted)
            if self.continuous:
                self.review(t)

    # ------------------------------------------------------------------ replenishment

    def review(self, t: float) -> None:
        """Ask the replenishment rule, at the current inventory position, and apply its order."""
        position = self.on_hand + self.on_order - self.backlog
        if position <= self.rule.trigger:  # the rule may order
            ctx = self.context
            ctx.time, ctx.position = t, position
            qty = self.rule.order_quantity(ctx)
            if qty > 0:
                self.place_order(t, qty, position)

    def place_order(self, t: float, qty: int, position: int) -> None:
        """Order ``qty`` units on the route (at least its minimum order quantity)."""
        route = self.route
        if route is None:
            return
        if qty < route.min_order_qty:
            qty = route.min_order_qty
        self.on_order += qty
        self.a_on_order += qty * (self.horizon - t)
        expected = route.place(self, t, qty)
        self.recorder.reordered(self, t, qty, position, expected)

    def add_shipment(self, arrival: float | None, expected: float, qty: int, end: ShipmentEnd,
                     departs: float | None = None, transit: float | None = None) -> int:
        """A shipment of ``qty`` units joins the pipeline, expected on day ``expected``; its
        SimPy event ends it (``end``) at ``arrival``, unless that is past the horizon. With
        ``transit``, ``arrival`` is when it leaves its supplier (expected to at ``departs``)
        on a lane that can close, which carries it from there (``LaneRun.carry``). Without an
        ``arrival`` its source schedules it later (``schedule_end``). Returns its id."""
        net = self.network
        net.shipment_ids += 1
        sid = net.shipment_ids
        self.pipeline.add(sid, expected, qty, departs)
        if transit is not None:
            self.route.lane.carry(self.env, sid, arrival, transit, self._ends[end])  # type: ignore
        elif arrival is not None:
            self.schedule_end(sid, arrival, end)
        return sid

    def schedule_end(self, sid: int, arrival: float, end: ShipmentEnd) -> None:
        """Shipment ``sid``'s SimPy event: it ends (``end``) at ``arrival``, unless that is past
        the horizon."""
        if arrival < self.horizon:
            env = self.env
            Timeout(env, arrival - env.now, sid).callbacks.append(self._ends[end])

    def never_ships(self, t: float, ready: float, expected: float, qty: int) -> None:
        """The part of a short shipment the supplier will never send: known now (the refund
        counts with the order), it leaves the pipeline when the rest is ready."""
        self.recorder.short_shipped(self, t, qty)
        self.add_shipment(ready, expected, qty, NEVER_SHIPPED)


class StockView:
    """What a replenishment rule may read of its stock point (``RuleContext``): the time and
    the inventory position of the review, and the levels and recent demand as they are."""

    __slots__ = ("_sp", "time", "position")

    def __init__(self, sp: StockPoint) -> None:
        self._sp = sp
        self.time = 0.0
        self.position = 0

    @property
    def on_hand(self) -> int:
        return self._sp.on_hand

    @property
    def on_order(self) -> int:
        return self._sp.on_order

    @property
    def backlog(self) -> int:
        return self._sp.backlog

    @property
    def demand(self) -> Any:
        """The business's own demand records (``tally.Tally``)."""
        return self._sp.demand_record

    def recent_demand(self, days: int) -> int:
        """Units of recorded demand (filled, waiting and declined orders) over the last
        ``days`` whole days (fewer at the start of the run; at most 365)."""
        sp = self._sp
        history = sp.demand_days
        if not history:
            return sp.demand_recorded
        back = min(days, len(history))
        return sp.demand_recorded - history[-back]
