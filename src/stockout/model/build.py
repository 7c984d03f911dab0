"""Scenario -> runtime objects: the one place where configuration becomes a SimPy model.

A :class:`Model` holds one replication of one policy: the SimPy environment, the population, the
suppliers and lanes, and a stock point per (location, product) with its route (a supplier and an
optional lane to the location, or a transfer from another location's stock point), rule, policy
and recorder. The scenario format has one location, ``MAIN``; from Python, ``add_location`` adds
a second one supplied by it (the customers may buy there instead).

Build it, add processes of your own if you like (``model.env.process(...)``), then ``run()``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import simpy

from ..distributions import mean_of, variance_of
from ..policies.availability import make_policy
from ..policies.forecast import Plan
from ..policies.replenishment import make_rule
from ..scenario.schema import Scenario, ScheduledRule
from ..streams import Streams
from . import processes
from .demand import DemandCandidates, scripted_orders
from .demand_record import PeriodVariance
from .population import Population
from .recorder import Fanout, Recorder
from .series import Series
from .stockpoint import Network, StockPoint
from .supply import LaneRun, Route, SupplierRun, Transfer
from .tally import Tally
from .windows import draw_windows

MAIN = "main"  # the scenario's one stocking location


class Model:
    """The runtime objects of one replication of one policy (see the module docstring).

    Public attributes: ``env`` (the SimPy environment), ``horizon``, ``warmup``, ``population``
    (``n``: active customers), ``stock_points`` ({(location, product id): StockPoint}),
    ``suppliers`` and ``lanes`` (by id), ``windows`` (the windows begun so far: (kind, id, start,
    end)), ``tallies`` (the metrics' recorders, by stock point, with what the business's data
    shows of demand: ``tally.py``).
    """

    def __init__(self, scenario: Scenario, policy_name: str, replication: int,
                 search_dir: Path | None = None, recorder: Recorder | None = None) -> None:
        meta = scenario.scenario
        self.env = simpy.Environment()
        self.scenario = scenario
        self.recorder = recorder  # the caller's, beside each stock point's tally
        self.horizon = float(meta.horizon_days)
        self.warmup = float(meta.warmup_days)
        self.streams = Streams(meta.seed, replication)
        n_days = max(1, math.ceil(self.horizon))
        self.population = Population(scenario.customers, n_days, self.streams)
        self.network = Network(self.env, self.horizon, self.warmup, self.population)
        self.windows: list[tuple[str, str, float, float]] = []
        spec = scenario.policy(policy_name)
        quantile = getattr(spec, "quote_percentile", None)
        self.suppliers = {s.id: SupplierRun(s, self.horizon, self.streams, quantile)
                          for s in scenario.suppliers}
        self.lanes = {x.id: LaneRun(x, self.horizon, self.streams, quantile)
                      for x in scenario.lanes}
        policy = make_policy(spec, search_dir)
        self.stock_points: dict[tuple[str, str], StockPoint] = {}
        self.tallies: list[Tally] = []  # the metrics' recorders
        self.total_periods = _shared_periods(scenario, policy_name, self.warmup, self.horizon)
        self.demand: list[tuple[StockPoint, DemandCandidates]] = []
        self.scripted: list[tuple[StockPoint, list[tuple[float, int, float, float]]]] = []
        self.spikes: list[tuple[str, list[tuple[float, float, float]]]] = []
        for product in scenario.products:
            tally = Tally(self.warmup)
            sp = self._stock_point(scenario, policy_name, product, policy,
                                   tally if recorder is None else Fanout(tally, recorder))
            self._demand_record(sp, tally, product)
            self.tallies.append(tally)
            self.stock_points[(MAIN, product.id)] = sp
            self._demand(scenario, sp, product)
        self.products = list(self.stock_points.values())
        self.series = Series(self.products, self.population, self.horizon)

    def _stock_point(self, scenario: Scenario, policy_name: str, product: Any, policy: Any,
                     recorder: Recorder) -> StockPoint:
        """The product's stock point at the main location, with its route and rule."""
        rspec = scenario.replenishment_for(policy_name, product.id)
        supplier_id = getattr(rspec, "supplier", None)
        lane_id = getattr(rspec, "lane", None)
        route = None
        if supplier_id is not None and not isinstance(rspec, ScheduledRule):
            route = Route(self.suppliers[supplier_id], self.lanes.get(lane_id) if lane_id else None,
                          getattr(scenario.policy(policy_name), "quote_percentile", None))
        review = float(getattr(rspec, "review_period_days", 0.0))
        handling = (scenario.costs.backorder_handling, scenario.costs.cancellation_handling)
        sp = StockPoint(
            self.network, MAIN, product, make_rule(rspec), review <= 0, route,
            float(getattr(rspec, "order_cost", 0.0)), policy, policy_name,
            scenario.customers.churn, handling, recorder,
        )
        sp.review_period = review
        if product.salvage_value is not None:
            sp.salvage_value = product.salvage_value
        if isinstance(rspec, ScheduledRule):
            for d in rspec.deliveries:
                if d.quantity > 0:  # known in advance: in the pipeline, quotable
                    self.network.shipment_ids += 1
                    sid = self.network.shipment_ids
                    sp.pipeline.add(sid, d.day, d.quantity)
                    sp.deliveries.append((d.day, sid))
        return sp

    def _demand_record(self, sp: StockPoint, record: Tally, product: Any) -> None:
        """The tally's demand records of ``sp``; a forecast rule's plan."""
        periods = []
        if sp.review_period > 0:
            periods.append(PeriodVariance(sp.review_period, self.warmup, self.horizon))
            if self.total_periods is not None:
                periods.append(self.total_periods)
        record.attach(sp, periods)
        sp.demand_record = record
        start = getattr(sp.rule, "start", None)  # a rule that plans (policies/forecast.py)
        if start is not None:
            lead = 0.0 if sp.route is None else sp.route.mean_days
            rate = product.demand.orders_per_day
            q = product.demand.quantity
            start(Plan(lead, rate * mean_of(q), rate * (variance_of(q) + mean_of(q) ** 2)))

    def _demand(self, scenario: Scenario, sp: StockPoint, product: Any) -> None:
        spikes = draw_windows(
            product.demand.spikes, self.horizon,
            lambda i, pid=product.id: self.streams(f"spike:{pid}:{i}"),
        )
        self.spikes.append((product.id, spikes))
        patience = product.patience_days or scenario.customers.patience_days
        self.demand.append((sp, DemandCandidates(
            product, patience, self.horizon, spikes, self.population.untouched,
            scenario.customers.population, self.streams,
        )))
        if product.demand.scripted_orders:
            self.scripted.append((sp, scripted_orders(
                product, patience, self.horizon, self.streams(f"scripted:{product.id}"),
            )))

    def add_location(self, location: str, product: str, rule: Any, transit_days: float, *,
                     initial_stock: int = 0, upstream: str = MAIN,
                     customers: bool = True) -> StockPoint:
        """A second stocking location for ``product``, supplied by the stock point at
        ``upstream`` (``supply.Transfer``: each order waits there in line with that location's
        orders, then takes ``transit_days``), under the replenishment rule ``rule`` (for
        instance ``policies.replenishment.OrderUpTo(S)``) reviewed continuously, starting with
        ``initial_stock`` on hand. With ``customers``, the product's customers buy here instead
        of at ``upstream``, which becomes the warehouse that serves this location. It takes the
        upstream's availability policy and costs. Call it before ``run()``; the results name it
        ``product@location``.
        """
        if (location, product) in self.stock_points:
            raise ValueError(f"'{product}' already has a stock point at '{location}'")
        up = self.stock_point(product, upstream)
        spec = next(p for p in self.scenario.products if p.id == product)
        tally = Tally(self.warmup)
        sp = StockPoint(
            self.network, location, spec.model_copy(update={"initial_stock": initial_stock}),
            rule, True, Transfer(up, transit_days), 0.0, up.policy, up.policy_name,
            self.scenario.customers.churn, (up.backorder_handling, up.cancellation_handling),
            tally if self.recorder is None else Fanout(tally, self.recorder),
        )
        sp.name = f"{product}@{location}"
        tally.attach(sp, [])
        sp.demand_record = tally
        self.stock_points[(location, product)] = sp
        self.products.append(sp)
        self.tallies.append(tally)
        if customers:
            self.demand = [(sp if s is up else s, c) for s, c in self.demand]
            self.scripted = [(sp if s is up else s, o) for s, o in self.scripted]
        self.series = Series(self.products, self.population, self.horizon)
        return sp

    def stock_point(self, product: str, location: str = MAIN) -> StockPoint:
        """The stock point of ``product`` at ``location``."""
        return self.stock_points[(location, product)]

    # ------------------------------------------------------------------ the run

    def end_warmup(self, _event: Any = None) -> None:
        """The levels' integrals start now (the window's counts start by time: ``Tally``)."""
        t = self.env.now
        for sp, tally in zip(self.products, self.tallies, strict=True):
            sp.start_window(t)
            tally.start_window(t)
        self.network.max_backlog_total = self.network.backlog_total
        self.population.at_warmup = self.population.n

    def start(self) -> None:
        """Schedule the run's events and start its processes."""
        env = self.env
        if 0 < self.warmup < self.horizon:
            processes.at(env, self.warmup, self.end_warmup)
        self._start_windows()
        notify = any(sp.notify_share or sp.capture_share for sp in self.products)
        churn = any(sp.p_stockout or sp.p_declined or sp.p_cancel or sp.p_late
                    for sp in self.products)
        for sp in self.products:
            if not sp.released:
                processes.at(env, sp.release_day, lambda _e, sp=sp: sp.release(env.now))
            if sp.continuous:
                sp.review(0.0)
            else:
                env.process(processes.periodic_review(env, sp, sp.review_period))
            for day, sid in sp.deliveries:
                if day < self.horizon:
                    processes.at(env, day, sp.deliver, sid)
            if getattr(sp.rule, "history_days", 0):
                env.process(processes.demand_history(env, sp))
        for sp, candidates in self.demand:
            if candidates.base > 0:
                chunks = candidates.chunks(not self.population.varies, notify, churn)
                processes.Customers(env, sp, chunks, self.population)
        for sp, orders in self.scripted:
            env.process(processes.scripted(env, sp, orders))
        env.process(processes.clock(env, self.population, self.series, self.warmup))

    def _start_windows(self) -> None:
        """Outages, closures and spikes as processes that mark them as they begin and end."""
        env = self.env
        for kind, owner, spans in (
            [("supplier", s, s.windows) for s in self.suppliers.values()]
            + [("lane", x, x.windows) for x in self.lanes.values()]
        ):
            if spans:
                env.process(processes.windows(env, spans, self._begins(kind, owner),
                                              self._ends(owner)))
        for pid, spans in self.spikes:
            if spans:
                env.process(processes.windows(env, spans, self._begins("spike", pid),
                                              lambda: None))

    def _begins(self, kind: str, owner: Any) -> Any:
        name = owner if isinstance(owner, str) else owner.id

        def begins(start: float, end: float) -> None:
            self.windows.append((kind, name, start, end))
            if not isinstance(owner, str):
                owner.close(self.env)
        return begins

    def _ends(self, owner: Any) -> Any:
        def ends() -> None:
            owner.reopen(self.env)
        return ends

    def run(self) -> None:
        """Start the run's processes and run SimPy to the horizon."""
        self.start()
        self.env.run(until=self.horizon)
        self._reviews_at_horizon()
        self.series.finish()
        for record in self.tallies:
            for periods in record.periods[:1]:
                periods.finish()
        if self.total_periods is not None:
            self.total_periods.finish()

    def _reviews_at_horizon(self) -> None:
        """The periodic reviews due at the horizon itself: the window (warm-up, horizon] holds
        them, but SimPy stops before the events of that instant. (A review due a hair past the
        horizon by rounding, k · R, is the same review.)"""
        tolerance = 1e-9 * max(1.0, self.horizon)
        for sp in self.products:
            if sp.review_period > 0 and sp.next_review <= self.horizon + tolerance:
                sp.review(self.horizon)


def _shared_periods(scenario: Scenario, policy_name: str, warmup: float,
                    horizon: float) -> PeriodVariance | None:
    """The total's per-period demand and orders, when every product is reviewed on one period
    (else the total has no bullwhip ratio)."""
    periods = {float(getattr(scenario.replenishment_for(policy_name, p.id),
                             "review_period_days", 0.0)) for p in scenario.products}
    if len(periods) != 1 or not (period := periods.pop()) > 0:
        return None
    return PeriodVariance(period, warmup, horizon)

