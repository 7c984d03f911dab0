"""One product at the stocking location: on hand, the FIFO queue of waiting orders, the pipeline.

The stock point applies decisions; it does not make them. What to offer a customer when stock is
short comes from the availability policy, how much to reorder from the replenishment rule.

Hot path: an order filled from stock touches a handful of counters and, under continuous review,
asks the rule for an order. Waiting orders are the only per-order objects. Every mutation of a
level (on hand, backlog, on order, cash held) first closes the time-weighted areas up to now
(``_advance``), so averages are exact, not sampled.

Accounting conventions (DESIGN §3): order-based statistics belong to the orders *arriving* after
the warm-up (a cohort: ``Order.counted``), wherever their outcome happens; levels and costs in time
are integrated over (warm-up, horizon]; replenishment orders count when placed after the warm-up.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from ..policies.availability import BACKORDER, PREORDER, REFUSE, Offer, PolicyError, Shortage

if TYPE_CHECKING:
    from .run import Model
    from .supply import Route

EPS = 1e-9


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
        "orders", "units", "filled", "units_on_arrival", "backorders", "preorders", "lost",
        "cancelled", "shipped_late", "kept", "lost_stockout", "lost_cancelled", "units_shipped",
        "on_time", "wait_sum", "waits", "churned",
    )

    def __init__(self) -> None:
        self.orders = self.units = self.filled = self.units_on_arrival = 0
        self.backorders = self.preorders = self.lost = self.cancelled = self.shipped_late = 0
        self.kept = self.lost_stockout = self.lost_cancelled = 0.0
        self.units_shipped = self.on_time = 0
        self.wait_sum = 0.0
        self.waits = array("d")
        self.churned = 0


class StockPoint:
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
        self.id = pid
        self.price = price
        self.unit_cost = unit_cost
        self.release_day = release_day
        self.released = release_day <= 0
        self.rule = rule
        self.continuous = continuous
        self.route = route
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
        self.pipeline: dict[int, list[float]] = {}  # shipment id -> [expected day, qty]
        self.notify: deque[tuple[float, int, float, float]] = deque()
        self.preorders_taken = 0

        # time-weighted areas since the last reset, closed up to self.t
        self.t = 0.0
        self.a_on_hand = self.a_backlog = self.a_on_order = self.a_cash = 0.0
        self.max_backlog = 0
        # time-based counts since the warm-up
        self.replenishment_orders = 0
        self.units_ordered = 0
        self.purchase_cost = 0.0
        # whole-run counts for the invariants
        self.initial_stock = initial_stock
        self.received_total = 0
        self.shipped_total = 0
        self.lost_in_transit_total = 0
        self.lost_in_transit = 0
        self.units_received = 0
        self.orders_total = 0
        self.ends = [0, 0, 0, 0]  # filled, shipped after waiting, lost, cancelled (whole run)
        # flows for the time series, reset at each sample
        self.flow_revenue = 0.0
        self.flow_lost = 0
        self.tally = Tally()
        self.warmup = model.warmup

    # ------------------------------------------------------------------ levels

    def _advance(self, t: float) -> None:
        dt = t - self.t
        if dt > 0:
            self.a_on_hand += self.on_hand * dt
            self.a_backlog += self.backlog * dt
            self.a_on_order += self.on_order * dt
            self.a_cash += self.cash * dt
            self.t = t

    def reset_window(self, t: float) -> None:
        """Start the statistics window at ``t`` (the end of the warm-up)."""
        self._advance(t)
        self.a_on_hand = self.a_backlog = self.a_on_order = self.a_cash = 0.0
        self.max_backlog = self.backlog
        self.replenishment_orders = 0
        self.units_ordered = 0
        self.purchase_cost = 0.0
        self.units_received = 0
        self.lost_in_transit = 0

    def position(self) -> int:
        return self.on_hand + self.on_order - self.backlog

    # ------------------------------------------------------------------ customers

    def arrive(
        self, t: float, qty: int, patience: float, u_churn: float, u_notify: float,
        returning: bool = False,
    ) -> None:
        """A customer order of ``qty`` units arrives at ``t``."""
        counted = t > self.warmup
        tally = self.tally
        self.orders_total += 1
        if counted:
            tally.orders += 1
            tally.units += qty
        free = self.on_hand - self.reserved
        if self.released and free >= qty and not self.backlog_orders:
            # filled from stock on arrival
            self._advance(t)
            self.on_hand -= qty
            self.shipped_total += qty
            revenue = qty * self.price
            self.flow_revenue += revenue
            self.ends[0] += 1
            if counted:
                tally.filled += 1
                tally.units_on_arrival += qty
                tally.units_shipped += qty
                tally.kept += revenue
            if self.continuous:
                self.review(t)
            return
        self._shortage(t, qty, patience, u_churn, u_notify, returning, counted, free)

    def _shortage(
        self, t: float, qty: int, patience: float, u_churn: float, u_notify: float,
        returning: bool, counted: bool, free: int,
    ) -> None:
        free = max(free, 0) if self.released else 0
        quote = self.quote(t, qty, free)
        view = Shortage(
            t, self.id, qty, free, self.backlog, self.backlog_orders, self.preorders_taken,
            self.released, self.release_day, quote,
        )
        offer = self.policy.on_shortage(view)
        kind = self._check_offer(offer, t)
        tally = self.tally
        if kind == REFUSE or offer.quote_day - t > patience:
            declined = kind != REFUSE
            self.ends[2] += 1
            self.flow_lost += 1
            if counted:
                tally.lost += 1
                tally.lost_stockout += qty * self.price
            if not self.released and not declined:
                return  # the product does not exist yet: no disappointment, no churn
            if not declined and not returning and self.notify_share and u_notify < self.notify_share:
                self.notify.append((t, qty, patience, u_churn))
                return
            p = self.p_declined if declined else self.p_stockout
            if u_churn < p:
                self.model.churn(self, t)
            return
        # accepted to wait
        self._advance(t)
        order = Order(
            self.model.next_order_id(), t, qty, offer.quote_day, counted, self.prepay, kind,
            u_churn,
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
            self.shipped_total += free
            order.remaining -= free
            revenue = free * self.price
            self.flow_revenue += revenue
            if counted:
                tally.units_on_arrival += free
                tally.units_shipped += free
                tally.kept += revenue
        self.queue.append(order)
        self.backlog_orders += 1
        self.backlog += order.remaining
        if self.backlog > self.max_backlog:
            self.max_backlog = self.backlog
        self.model.backlog_changed(order.remaining)
        if self.prepay:
            self.cash += order.remaining * self.price
        if patience < math.inf and t + patience < self.model.horizon:
            ev = Timeout(self.env, t + patience - self.env.now, order)
            ev.callbacks.append(self._on_deadline)
        if not self.partial and free > 0:
            # set free stock aside for this order (it is at the head: nobody else waits)
            self._allocate(t)
        if self.continuous:
            self.review(t)

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

    def quote(self, t: float, qty: int, free: int) -> float:
        """Earliest day this order could ship if taken, from what is known now (no buffer)."""
        need = self.backlog - self.reserved + qty - free
        ready = t if self.released else max(t, self.release_day)
        if need <= 0:
            return ready
        if self.pipeline:
            cum = 0
            for expected, q in sorted(self.pipeline.values()):
                cum += q
                if cum >= need:
                    return max(expected, ready)
            need -= cum
        if self.route is None:
            return math.inf
        order_day = self.model.next_review(self, t)
        return max(self.route.expected(t, order_day, int(need)), ready)

    def _on_deadline(self, event: Timeout) -> None:
        order: Order = event._value  # noqa: SLF001 - simpy keeps the payload here
        if order.done:
            return
        self.cancel(order, self.env.now)

    def cancel(self, order: Order, t: float) -> None:
        """The customer cancels a waiting order: refund, free what was set aside for it."""
        self._advance(t)
        order.done = True
        self.backlog_orders -= 1
        self.backlog -= order.remaining
        self.model.backlog_changed(-order.remaining)
        if order.allocated:
            self.reserved -= order.allocated
            order.allocated = 0
        if order.prepaid:
            self.cash -= order.remaining * self.price
        self.ends[3] += 1
        if order.counted:
            tally = self.tally
            tally.cancelled += 1
            tally.lost_cancelled += order.remaining * self.price
        if order.u_churn < self.p_cancel:
            self.model.churn(self, t)
        self._allocate(t)
        if self.continuous:
            self.review(t)

    # ------------------------------------------------------------------ stock

    def receive(self, t: float, qty: int, shipment: int | None) -> None:
        """Goods arrive: put them on hand and give them to the oldest waiting orders first."""
        self._advance(t)
        if shipment is not None:
            self.pipeline.pop(shipment, None)
            self.on_order -= qty
        self.on_hand += qty
        self.received_total += qty
        self.units_received += qty
        self._allocate(t)
        if self.notify and self.on_hand - self.reserved > 0:
            self._notify_returns(t)

    def lose_in_transit(self, t: float, qty: int, shipment: int) -> None:
        self._advance(t)
        self.pipeline.pop(shipment, None)
        self.on_order -= qty
        self.lost_in_transit_total += qty
        self.lost_in_transit += qty
        if self.continuous:
            self.review(t)

    def release(self, t: float) -> None:
        """The release day: the product exists from now on; waiting pre-orders can ship."""
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
                give = min(free, order.remaining)
                self._ship(order, give, t)
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

    def _ship(self, order: Order, units: int, t: float) -> None:
        self._advance(t)
        self.on_hand -= units
        self.shipped_total += units
        order.remaining -= units
        self.backlog -= units
        self.model.backlog_changed(-units)
        revenue = units * self.price
        self.flow_revenue += revenue
        if order.prepaid:
            self.cash -= revenue
        if order.counted:
            self.tally.kept += revenue
            self.tally.units_shipped += units

    def _complete(self, order: Order, t: float) -> None:
        order.done = True
        self.backlog_orders -= 1
        self.ends[1] += 1
        late = t > order.quote + EPS
        if order.counted:
            tally = self.tally
            tally.shipped_late += 1
            wait = t - order.day
            tally.wait_sum += wait
            tally.waits.append(wait)
            if not late:
                tally.on_time += 1
        if late and order.u_churn < self.p_late:
            self.model.churn(self, t)

    def _notify_returns(self, t: float) -> None:
        """Customers who asked to be notified come back now, oldest first, while stock lasts."""
        while self.notify and self.on_hand - self.reserved > 0:
            day, qty, patience, u_churn = self.notify.popleft()
            if t - day > patience:
                continue
            self.arrive(t, qty, patience - (t - day), u_churn, 1.0, returning=True)

    # ------------------------------------------------------------------ replenishment

    def review(self, t: float) -> None:
        """Apply the replenishment rule to the current inventory position."""
        qty = self.rule.order_quantity(self.on_hand + self.on_order - self.backlog)
        if qty > 0:
            self.place_order(t, qty)

    def place_order(self, t: float, qty: int) -> None:
        route = self.route
        if route is None:
            return
        moq = route.supplier.min_order_qty
        if qty < moq:
            qty = moq
        self._advance(t)
        arrival, expected = route.place(t, qty)
        sid = self.model.next_shipment_id()
        self.on_order += qty
        self.pipeline[sid] = [expected, qty]
        if t > self.warmup:
            self.replenishment_orders += 1
            self.units_ordered += qty
            self.purchase_cost += qty * self.unit_cost
        self.model.schedule_receipt(self, arrival, qty, sid)
