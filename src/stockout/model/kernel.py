"""The fast path for one product on a simple route: the arrival loop with the hot state in locals.

The ordinary arrival loop calls ``StockPoint.arrive`` for every customer, which calls the
replenishment rule and ``place_order``, and applies due receipts through ``Model.flush`` and
``StockPoint.receive``: five Python calls and some eighty attribute reads and writes per customer.
This loop does the same for the common case, in one function, with the levels and counters it
touches in local variables:

- a receipt due before the customer, for a product with no waiting orders and nobody waiting to
  be notified: goods on hand, out of the pipeline;
- a customer the free stock can serve: shipped, and under continuous review the rule's order
  placed on the route (no production line, outage or closure: arrival = now + lead + transit).

Everything else (a shortage, a receipt that must be allocated to waiting orders, another kind of
shipment end) goes through the stock point's own methods, after the locals are written back; and
they are written back before every yield to SimPy, so that other events (the daily step, warm-up,
deadlines, reviews) see and change the real state. The results are identical to the ordinary loop
(``tests/test_kernel.py`` compares them field by field).
"""

from __future__ import annotations

from collections.abc import Generator
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from .stockpoint import RECEIVE, StockPoint

if TYPE_CHECKING:
    from .demand import DemandCandidates
    from .run import Model

_HOT = (
    "on_hand", "a_on_hand", "on_order", "a_on_order", "shipped_total", "filled", "filled_units",
    "supplied_total", "pipeline_units", "replenishment_orders", "units_ordered",
)


def applies(model: Model, sp: StockPoint) -> bool:
    """Whether the fast path may run this product: the only product, on a simple route."""
    route = sp.route
    return (
        type(sp) is StockPoint  # a subclass (the trace's) overrides what this loop inlines
        and len(model.demand) == 1 and route is not None and route.simple
    )


def _load(sp: StockPoint) -> tuple[Any, ...]:
    """The hot state (the names of ``_HOT``, in order)."""
    return (
        sp.on_hand, sp.a_on_hand, sp.on_order, sp.a_on_order, sp.shipped_total, sp.filled,
        sp.filled_units, sp.supplied_total, sp.pipeline_units, sp.replenishment_orders,
        sp.units_ordered,
    )


def _store(sp: StockPoint, values: tuple[Any, ...]) -> None:
    (
        sp.on_hand, sp.a_on_hand, sp.on_order, sp.a_on_order, sp.shipped_total, sp.filled,
        sp.filled_units, sp.supplied_total, sp.pipeline_units, sp.replenishment_orders,
        sp.units_ordered,
    ) = values


def arrivals(
    model: Model, sp: StockPoint, candidates: DemandCandidates
) -> Generator[Timeout, Any, None]:
    """The SimPy process of the product's customers (see the module docstring)."""
    env = model.env
    queue = env._queue  # noqa: SLF001 - reading the head of SimPy's queue, like env.peek()
    receipts = model.receipts
    pop = model.population
    inv_n0 = 1.0 / pop.n0
    thin_live = model.population_varies
    horizon = sp.horizon
    rule = sp.rule.order_quantity
    continuous = sp.continuous
    route = sp.route
    assert route is not None
    lead, transit = route.lead, route.transit
    quote_days, moq = route.quote_days, route.min_order_qty
    pipeline = sp.pipeline
    (on_hand, a_on_hand, on_order, a_on_order, shipped, filled, filled_units, supplied,
     pipeline_units, n_orders, units_ordered) = _load(sp)
    sid = model.shipment_id
    for times, ratio, thin, qty, patience, u_churn, u_notify in candidates.chunks(
        prethin=not thin_live
    ):
        for i, t in enumerate(times):
            if t >= queue[0][0]:  # another event comes first: hand the state over, let it run
                _store(sp, (on_hand, a_on_hand, on_order, a_on_order, shipped, filled,
                            filled_units, supplied, pipeline_units, n_orders, units_ordered))
                model.shipment_id = sid
                yield Timeout(env, t - env.now)
                (on_hand, a_on_hand, on_order, a_on_order, shipped, filled, filled_units,
                 supplied, pipeline_units, n_orders, units_ordered) = _load(sp)
                sid = model.shipment_id
            if thin_live and thin[i] >= ratio[i] * pop.n * inv_n0:
                continue
            # receipts due before this customer
            while receipts and receipts[0][0] <= t:
                day, ship_id, _, q_in, kind = receipts[0]
                if kind != RECEIVE or sp.backlog_orders or sp.notify:
                    break  # the stock point's own methods must handle it (below)
                heappop(receipts)
                pipeline_units -= pipeline.pop(ship_id)[1]
                rest = horizon - day
                on_order -= q_in
                a_on_order -= q_in * rest
                on_hand += q_in
                a_on_hand += q_in * rest
                supplied += q_in
            q = qty[i]
            if (
                on_hand - sp.reserved >= q and not sp.backlog_orders and sp.released
                and not (receipts and receipts[0][0] <= t)
            ):
                on_hand -= q
                a_on_hand -= q * (horizon - t)
                shipped += q
                filled += 1
                filled_units += q
                if continuous:
                    order = rule(on_hand + on_order - sp.backlog)
                    if order > 0:
                        if order < moq:
                            order = moq
                        on_order += order
                        a_on_order += order * (horizon - t)
                        n_orders += 1
                        units_ordered += order
                        arrival = t + lead()
                        if transit is not None:
                            arrival += transit()
                        sid += 1
                        pipeline[sid] = (t + quote_days, order)
                        pipeline_units += order
                        if arrival < horizon:
                            heappush(receipts, (arrival, sid, sp, order, RECEIVE))
                continue
            # the slow path: the stock point's own methods, on its real state
            _store(sp, (on_hand, a_on_hand, on_order, a_on_order, shipped, filled,
                        filled_units, supplied, pipeline_units, n_orders, units_ordered))
            model.shipment_id = sid
            sp.arrive(t, q, patience[i], u_churn[i], u_notify[i])
            (on_hand, a_on_hand, on_order, a_on_order, shipped, filled, filled_units,
             supplied, pipeline_units, n_orders, units_ordered) = _load(sp)
            sid = model.shipment_id
    _store(sp, (on_hand, a_on_hand, on_order, a_on_order, shipped, filled, filled_units,
                supplied, pipeline_units, n_orders, units_ordered))
    model.shipment_id = sid
