"""The fast path for one product on a simple route: the arrival loop with the hot state in locals.

The ordinary arrival loop calls ``StockPoint.arrive`` for every customer, which calls the
replenishment rule and ``place_order``, applies due receipts through ``Model.flush`` and
``StockPoint.receive``, and, when stock is short, builds a ``Shortage`` view, asks the policy,
checks its offer, queues an ``Order`` and later allocates receipts to it: some ten Python calls and
a hundred attribute reads and writes per customer. This loop does the same for the common cases,
in one function, with the levels and counters it touches in local variables:

- a receipt due before the customer: on hand, out of the pipeline, and given to the waiting
  orders first in, first served (shipped, the wait recorded, the order completed);
- a customer the free stock can serve: shipped, and under continuous review the rule's order
  placed on the route (no production line, outage or closure: arrival = now + lead + transit);
- under the built-in backorder policy, a customer who finds too little: quoted, then refused
  (a cap) or queued, with the deadline of their patience; under the built-in out-of-stock
  policy: the sale lost, or the customer waiting to be notified.

Deadlines of orders already shipped are dropped as they come due. Everything else (another
policy, a deadline that cancels, a receipt while someone waits to be notified, a shipment that
ends otherwise, free stock to set aside for a new order) goes through the stock point's own
methods, after the locals are written back; and they are written back before every yield to
SimPy, so that other events (the daily step, the warm-up's end, reviews) see and change the real
state. The results are identical to the ordinary loop, floating-point operation for operation
(``tests/test_kernel.py`` compares them field by field), so the code below mirrors
``StockPoint.arrive``, ``_shortage``, ``quote``, ``receive``, ``_allocate``, ``_ship`` and
``_complete`` line by line: a change there must be made here too.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from ..policies.availability import BACKORDER, Backorder, OutOfStock
from ..scenario.schema import Constant
from .agenda import REFILL
from .pipeline_index import BLOCK, LONG_WALK, SHORT, PipelineIndex
from .stockpoint import DEADLINE, DEADLINE_RANK, EPS, RECEIVE, Order, StockPoint, compact_in_place

if TYPE_CHECKING:
    from .demand import DemandCandidates
    from .run import Model

INF = math.inf


def applies(model: Model, sp: StockPoint) -> bool:
    """Whether the fast path may run this product: the only product, on a simple route."""
    route = sp.route
    return (
        type(sp) is StockPoint  # a subclass (the trace's) overrides what this loop inlines
        and len(model.demand) == 1 and route is not None and route.simple
    )


# The hot state, loaded into locals and stored back in this order. ``released`` and ``counting``
# change only in other events (the release day, the end of the warm-up): loaded, never stored.
# The model's backlog total and its maximum are this product's (it is the only one).
def _load(sp: StockPoint) -> tuple[Any, ...]:
    return (
        sp.on_hand, sp.a_on_hand, sp.on_order, sp.a_on_order, sp.shipped_total, sp.filled,
        sp.filled_units, sp.supplied_total, sp.pipeline_units, sp.replenishment_orders,
        sp.units_ordered, sp.backlog, sp.a_backlog, sp.max_backlog, sp.backlog_orders,
        sp.reserved, sp.cash, sp.a_cash, sp.model.shipment_id, sp.released, sp.counting,
    )


def _store(sp: StockPoint, values: tuple[Any, ...]) -> None:
    model = sp.model
    (
        sp.on_hand, sp.a_on_hand, sp.on_order, sp.a_on_order, sp.shipped_total, sp.filled,
        sp.filled_units, sp.supplied_total, sp.pipeline_units, sp.replenishment_orders,
        sp.units_ordered, sp.backlog, sp.a_backlog, sp.max_backlog, sp.backlog_orders,
        sp.reserved, sp.cash, sp.a_cash, model.shipment_id,
    ) = values
    model.backlog_total = sp.backlog
    model.max_backlog_total = sp.max_backlog
    # shipments left the pipeline here without updating the quote walk's prefix: start afresh
    sp.walk_n = sp.walk_units = sp.walk_next = 0


def _constant(spec: object) -> float | None:
    """The value of a constant distribution (what its sampler would hand out), else None."""
    return float(spec.value) if isinstance(spec, Constant) else None


def arrivals(
    model: Model, sp: StockPoint, candidates: DemandCandidates
) -> Generator[Timeout, Any, None]:
    """The SimPy process of the product's customers (see the module docstring)."""
    env = model.env
    queue = env._queue  # noqa: SLF001 - reading the head of SimPy's queue, like env.peek()
    must_wait = model._must_wait  # noqa: SLF001
    agenda = model.agenda
    near = agenda.near  # the next entry of the agenda is near[-1]
    pop = model.population
    thin_live = model.population_varies
    horizon = sp.horizon
    price = sp.price
    tally = sp.tally
    ends = sp.ends
    waiting = sp.queue
    waits = tally.waits
    wait_cap = waits.CAP
    notify = sp.notify
    partial = sp.partial
    prepay = sp.prepay
    p_late, p_stockout, p_declined = sp.p_late, sp.p_stockout, sp.p_declined
    # the replenishment rule: order-up-to inline, any other through its method
    rule = sp.rule.order_quantity
    up_to = sp.up_to
    continuous = sp.continuous
    route = sp.route
    assert route is not None
    leads, transits = route.leads, route.transits
    lead_c = _constant(route.supplier.lead_spec)
    transit_c = 0.0 if transits is None else _constant(route.lane.transit_spec)  # type: ignore[union-attr]
    if transit_c == 0.0:
        transits = None
    quote_days, moq, uncertain = route.quote_days, route.min_order_qty, route.uncertain
    pipeline = sp.pipeline
    index = sp.pipeline_index  # built by a long walk; from then on kept by every join and leave
    receive = RECEIVE
    # the built-in backorder and out-of-stock policies are decided here; any other policy is
    # asked through the Shortage view
    policy = sp.policy
    inline_policy = type(policy) is Backorder and not sp.notify_share
    refuse_all = type(policy) is OutOfStock
    notify_share = sp.notify_share
    if inline_policy:
        buffer = policy.quote_buffer_days
        max_wait = policy.max_quoted_wait_days
        max_units = policy.max_backlog_units

    # With a constant lead (and transit) time, receipts of the orders placed here arrive in the
    # order they were placed: they wait in a FIFO instead of the model's agenda, and move to
    # the agenda (``hand_over``) before anything else could apply them: other events, the slow
    # path.
    fifo: deque[tuple[float, int, StockPoint, int, int]] | None = (
        deque() if lead_c is not None and (transits is None or transit_c is not None) else None
    )

    def hand_over(upto: float) -> float:
        """Move the receipts due by ``upto`` from the FIFO to the model's agenda; return the
        day of the FIFO's new head."""
        while fifo and fifo[0][0] <= upto:
            agenda.push(fifo.popleft())
        return fifo[0][0] if fifo else INF

    (on_hand, a_on_hand, on_order, a_on_order, shipped, filled, filled_units,
     supplied, pipeline_units, n_orders, units_ordered, backlog, a_backlog,
     max_backlog, backlog_orders, reserved, cash, a_cash, sid, released,
     counting) = _load(sp)
    # the time of SimPy's next event: only other processes schedule events, and they run only
    # while this one waits; the day of the agenda's next entry (near[-1][0]), read again
    # whenever the agenda may have changed; the day of the FIFO's head (infinite when empty)
    next_event = queue[0][0]
    agenda_next = near[-1][0]
    fifo_next = INF
    for times, threshold, qty, patience, u_churn, u_notify in candidates.chunks(
        prethin=not thin_live, notify=bool(sp.notify_share),
        churn=bool(p_late or p_stockout or p_declined or sp.p_cancel),
    ):
        for i, t in enumerate(times):
            # another event comes first: hand the state over, let it run
            if t >= next_event and must_wait(t):
                _store(sp, (on_hand, a_on_hand, on_order, a_on_order, shipped, filled, filled_units,
                            supplied, pipeline_units, n_orders, units_ordered, backlog, a_backlog,
                            max_backlog, backlog_orders, reserved, cash, a_cash, sid))
                if fifo:
                    fifo_next = hand_over(t)  # events before t apply what is due by their time
                yield Timeout(env, t - env.now)
                (on_hand, a_on_hand, on_order, a_on_order, shipped, filled, filled_units,
                 supplied, pipeline_units, n_orders, units_ordered, backlog, a_backlog,
                 max_backlog, backlog_orders, reserved, cash, a_cash, sid, released,
                 counting) = _load(sp)
                index = sp.pipeline_index
                next_event = queue[0][0]
                agenda_next = near[-1][0]
            if thin_live and threshold[i] >= pop.n:  # not an order at today's population
                continue

            # ---- receipts due by this customer, oldest first (StockPoint.receive, _allocate):
            # the earlier of the FIFO's head and the agenda's, in (day, rank) order
            blocked = False  # one the slow path must apply
            while True:
                if fifo_next < agenda_next or (
                    fifo_next == agenda_next and fifo_next <= t and fifo[0] < near[-1]  # type: ignore[index]
                ):
                    if fifo_next > t:
                        break
                    if notify:  # someone waits to be notified of the receipt
                        blocked = True
                        break
                    day, ship_id, _, q_in, _ = fifo.popleft()  # type: ignore[union-attr]
                    fifo_next = fifo[0][0] if fifo else INF  # type: ignore[index]
                else:
                    if agenda_next > t:
                        break
                    day, ship_id, _, q_in, kind = near[-1]
                    if kind == DEADLINE and q_in.done:  # the order has shipped: nothing to do
                        near.pop()
                        agenda_next = near[-1][0]
                        continue
                    if kind == REFILL:  # the agenda's entries before its bound are used up
                        near.pop()
                        agenda.refill()
                        agenda_next = near[-1][0]
                        continue
                    if kind != receive or notify:
                        blocked = True
                        break
                    near.pop()
                    agenda_next = near[-1][0]
                del pipeline[ship_id]  # a simple route: the entry's quantity is the receipt's
                pipeline_units -= q_in
                if index is not None:
                    index.remove(ship_id, q_in)
                rest = horizon - day
                on_order -= q_in
                a_on_order -= q_in * rest
                on_hand += q_in
                a_on_hand += q_in * rest
                supplied += q_in
                if not (backlog_orders and released):
                    continue
                while waiting:  # _allocate: the oldest waiting orders first
                    order = waiting[0]
                    if order.done:
                        waiting.popleft()
                        continue
                    free = on_hand - reserved
                    if free <= 0:
                        break
                    if partial:
                        units = min(free, order.remaining)
                    else:  # whole orders only: set free stock aside until the order is complete
                        units = order.remaining
                        allocated = order.allocated
                        if free + allocated < units:
                            order.allocated = allocated + free
                            reserved += free
                            break
                        if allocated:
                            reserved -= allocated
                            order.allocated = 0
                    # _ship
                    on_hand -= units
                    a_on_hand -= units * rest
                    shipped += units
                    order.remaining -= units
                    backlog -= units
                    a_backlog += -units * rest
                    if order.prepaid:
                        amount = -units * price
                        cash += amount
                        a_cash += amount * rest
                    if order.counted:
                        tally.late_units += units
                    if order.remaining == 0:  # _complete
                        order.done = True
                        backlog_orders -= 1
                        ends[0] += 1
                        late = day > order.quote + EPS
                        if order.counted:
                            tally.shipped_late += 1
                            wait = day - order.day
                            tally.wait_sum += wait
                            values = waits.values  # WaitLog.add, inline
                            values.append(wait)
                            if len(values) >= wait_cap:
                                waits._fold()  # noqa: SLF001
                            if not late:
                                tally.on_time += 1
                        if late and order.u_churn < p_late:
                            model.churn(sp, day)
                        waiting.popleft()

            q = qty[i]
            if not blocked and released and on_hand - reserved >= q and not backlog_orders:
                # ---- filled from stock
                on_hand -= q
                a_on_hand -= q * (horizon - t)
                shipped += q
                filled += 1
                filled_units += q
                if not continuous:
                    continue
            elif blocked or not (
                refuse_all or (inline_policy and released and (partial or on_hand - reserved <= 0))
            ):
                # ---- the slow path: the stock point's own methods, on its real state
                _store(sp, (on_hand, a_on_hand, on_order, a_on_order, shipped, filled, filled_units,
                            supplied, pipeline_units, n_orders, units_ordered, backlog, a_backlog,
                            max_backlog, backlog_orders, reserved, cash, a_cash, sid))
                if fifo:
                    fifo_next = hand_over(t)
                sp.arrive(t, q, patience[i], u_churn[i],
                          1.0 if u_notify is None else u_notify[i])
                (on_hand, a_on_hand, on_order, a_on_order, shipped, filled, filled_units,
                 supplied, pipeline_units, n_orders, units_ordered, backlog, a_backlog,
                 max_backlog, backlog_orders, reserved, cash, a_cash, sid, released,
                 counting) = _load(sp)
                index = sp.pipeline_index
                agenda_next = near[-1][0]
                continue
            elif refuse_all:
                # ---- a shortage under the built-in out-of-stock policy: the sale is lost
                # (_shortage with a refusal), unless the customer asks to be notified
                if counting:
                    tally.other_units += q
                    tally.lost += 1
                    tally.lost_units += q
                ends[1] += 1
                sp.lost_total += 1
                if not released:
                    continue  # the product does not exist yet: no disappointment, no churn
                if notify_share and u_notify[i] < notify_share:  # type: ignore[index]
                    notify.append((t, q, patience[i], counting))
                    continue
                if u_churn[i] < p_stockout:
                    model.churn(sp, t)
                continue
            else:
                # ---- a shortage under the built-in backorder policy (_shortage, quote and
                # Backorder.on_shortage); free stock to set aside goes the slow way
                free = on_hand - reserved if on_hand - reserved > 0 else 0
                # quote: when the units still to come for this order are expected
                need = backlog + q - on_hand
                if need <= 0:
                    quote = t
                elif pipeline and need <= pipeline_units and sp.pipeline_in_order:
                    # _pipeline_day, in order, nothing revisable
                    n_ship = len(pipeline)
                    if pipeline.__sizeof__() > 128 * n_ship + 1024:
                        compact_in_place(pipeline)  # slots emptied by a peak slow the walk
                    excess = pipeline_units - need
                    found = None
                    # a long walk goes through the index (_pipeline_day)
                    if index is None:
                        deep = n_ship > LONG_WALK and (
                            (excess if excess < need else need) * n_ship
                            > LONG_WALK * pipeline_units
                        )
                    elif n_ship < SHORT:
                        index = sp.pipeline_index = None  # short again: walk it
                        deep = False
                    else:
                        deep = (excess if excess < need else need) * n_ship > (
                            2 * BLOCK * pipeline_units
                        )
                    if deep:
                        if index is None:
                            index = sp.pipeline_index = PipelineIndex(pipeline)
                        found = (index.from_end(pipeline, excess) if excess < need
                                 else index.from_start(pipeline, need))[1][0]  # fmt: skip
                    elif excess < need:
                        after = 0
                        for expected, qq in reversed(pipeline.values()):
                            after += qq
                            if after > excess:
                                found = expected
                                break
                    else:
                        cum = 0
                        for expected, qq in pipeline.values():
                            cum += qq
                            if cum >= need:
                                found = expected
                                break
                    if found < t and uncertain:  # type: ignore[operator]
                        found = route.overdue(t, found)  # type: ignore[arg-type]
                    quote = found if found > t else t  # type: ignore[operator]
                else:
                    # what StockPoint.quote reads of the hot state (the walk starts afresh:
                    # shipments left the pipeline here without updating its walked prefix)
                    sp.on_hand, sp.backlog, sp.pipeline_units = on_hand, backlog, pipeline_units
                    sp.walk_n = sp.walk_units = sp.walk_next = 0
                    quote = sp.quote(t, q)
                quote = quote + buffer
                if counting:
                    tally.other_units += q
                refused = (
                    (max_wait is not None and quote - t > max_wait)
                    or (max_units is not None
                        and backlog + q - (free if partial else 0) > max_units)
                )
                if refused or quote - t > patience[i]:
                    ends[1] += 1
                    sp.lost_total += 1
                    if counting:
                        tally.lost += 1
                        tally.lost_units += q
                    if u_churn[i] < (p_stockout if refused else p_declined):
                        model.churn(sp, t)
                    continue
                model._order_id += 1  # noqa: SLF001 - Model.next_order_id, inline
                order = Order(model._order_id, t, q, quote, counting, prepay,  # noqa: SLF001
                              BACKORDER, u_churn[i])
                if counting:
                    tally.backorders += 1
                if partial and free > 0:
                    on_hand -= free
                    a_on_hand -= free * (horizon - t)
                    shipped += free
                    order.remaining -= free
                    if counting:
                        tally.partial_on_arrival += free
                waiting.append(order)
                sp.waiting_total += 1
                backlog_orders += 1
                units = order.remaining  # _backlog_add
                backlog += units
                a_backlog += units * (horizon - t)
                if units > 0 and backlog > max_backlog:
                    max_backlog = backlog
                if prepay:
                    amount = units * price
                    cash += amount
                    a_cash += amount * (horizon - t)
                if patience[i] < INF and t + patience[i] < horizon:
                    agenda.push((t + patience[i], DEADLINE_RANK + order.id, sp, order, DEADLINE))
                    agenda_next = near[-1][0]
                if not continuous:
                    continue
            # ---- continuous review after a fill or a backorder (review and place_order)
            position = on_hand + on_order - backlog
            if up_to is not None:
                order_qty = up_to - position if position < up_to else 0
            else:
                order_qty = rule(position)
            if order_qty > 0:
                if order_qty < moq:
                    order_qty = moq
                on_order += order_qty
                a_on_order += order_qty * (horizon - t)
                n_orders += 1
                units_ordered += order_qty
                sid += 1
                pipeline[sid] = (t + quote_days, order_qty)
                pipeline_units += order_qty
                if index is not None:
                    index.add(sid, order_qty)
                if fifo is not None:
                    arrival = t + lead_c  # type: ignore[operator]
                    if transits is not None:
                        arrival += transit_c  # type: ignore[operator]
                    if arrival < horizon:
                        if not fifo:
                            fifo_next = arrival
                        fifo.append((arrival, sid, sp, order_qty, receive))
                else:
                    arrival = t + (next(leads) if lead_c is None else lead_c)
                    if transits is not None:
                        arrival += next(transits) if transit_c is None else transit_c
                    if arrival < horizon:  # (Agenda.push, inlined)
                        if arrival >= agenda.bound:
                            agenda.far.append((arrival, sid, sp, order_qty, receive))
                        else:
                            agenda.insert((arrival, sid, sp, order_qty, receive))
                            agenda_next = near[-1][0]
    _store(sp, (on_hand, a_on_hand, on_order, a_on_order, shipped, filled, filled_units,
                supplied, pipeline_units, n_orders, units_ordered, backlog, a_backlog,
                max_backlog, backlog_orders, reserved, cash, a_cash, sid))
    if fifo:
        hand_over(math.inf)
