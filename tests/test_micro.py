"""Deterministic micro-scenarios with hand-computed timelines.

Random demand is switched off (``orders_per_day = 0``) and a hand-made sequence of customers is fed
to the model's stock point (``sp.arrive(t, qty, patience, u_churn, u_notify)``) from a SimPy
process of our own, inside the real ``simulate()`` (so the metrics and the run's own invariant
checks are the real ones), and a recorder of our own logs the events. Lead times are constant;
arrival times are chosen off the daily ticks so that no two events tie. Every expected number
below was computed by hand from the conventions of docs/glossary.md and docs/concepts.md
(offers, quotes, stock to the oldest waiting order first): the timeline is written out in each
test's docstring.

The event log records, in order: ``("arrive", t, qty, outcome, quote)`` with outcome "filled",
"lost", "backorder" or "preorder" (quote = the promised ship day of a waiting order, else None);
``("order", t, qty)`` replenishment orders placed (the quantity that went on order, after any
minimum order quantity); ``("receive", t, qty)``; ``("ship", order_day, units, t)`` units shipped
to a waiting order; ``("done", order_day, t)`` a waiting order completely shipped;
``("cancel", order_day, t)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import make_scenario

from stockout.model import Recorder, simulate
from stockout.records import SERIES
from stockout.scenario.schema import Scenario

INF = math.inf
ON_HAND = SERIES.index("on_hand")
BACKLOG = SERIES.index("backlog_units")
ON_ORDER = SERIES.index("on_order")
approx = pytest.approx


@dataclass(frozen=True)
class Customer:
    t: float
    qty: int = 1
    patience: float = INF
    u_churn: float = 1.0  # never below a churn probability: no churn unless a test asks
    u_notify: float = 1.0  # never asks to be notified unless a test asks


class LoggingRecorder(Recorder):
    """The event log of the module docstring, from the stock point's recorder seam."""

    def __init__(self) -> None:
        self.log: list[tuple] = []

    def filled(self, sp: Any, t: float, qty: int) -> None:
        self.log.append(("arrive", t, qty, "filled", None))

    def queued(self, sp: Any, t: float, order: Any, patience: float, free: int,
               shipped_now: int) -> None:
        kind = "preorder" if order.kind == 2 else "backorder"
        self.log.append(("arrive", t, order.qty, kind, order.quote))

    def lost(self, sp: Any, t: float, qty: int, offer: Any, patience: float, free: int,
             notify: bool) -> None:
        self.log.append(("arrive", t, qty, "lost", None))

    def reordered(self, sp: Any, t: float, qty: int, position: int, expected: float) -> None:
        self.log.append(("order", t, qty))

    def received(self, sp: Any, t: float, qty: int, source: str) -> None:
        self.log.append(("receive", t, qty))

    def delivered(self, sp: Any, t: float, qty: int) -> None:
        self.log.append(("receive", t, qty))

    def shipped(self, sp: Any, t: float, order: Any, qty: int) -> None:
        self.log.append(("ship", order.day, qty, t))

    def completed(self, sp: Any, t: float, order: Any) -> None:
        self.log.append(("done", order.day, t))

    def cancelled(self, sp: Any, t: float, order: Any, qty: int) -> None:
        self.log.append(("cancel", order.day, t))


def run_hand(
    monkeypatch: pytest.MonkeyPatch,
    data: dict[str, Any],
    customers: list[Customer],
    policy: str = "p",
    product: str = "w",
) -> tuple[dict[str, float], list[tuple], Any]:
    """Simulate ``data`` with exactly ``customers`` (no random demand); (metrics of ``product``,
    event log, RunResult)."""
    data["products"][0]["demand"]["orders_per_day"] = 0.0
    sc = Scenario.model_validate(data)
    recorder = LoggingRecorder()

    def feed(model: Any) -> Any:
        env, sp = model.env, model.stock_point(product)
        for c in customers:
            yield env.timeout(c.t - env.now)
            sp.arrive(c.t, c.qty, c.patience, c.u_churn, c.u_notify)

    result = simulate(sc, policy, 0, recorder=recorder, processes=[feed])
    return result.metrics[product], recorder.log, result


def kinds(log: list[tuple], *names: str) -> list[tuple]:
    return [e for e in log if e[0] in names]


def series(result: Any, col: int, product: str = "w") -> list[float]:
    """A level series sampled at the end of days 1, 2, ... (NaN where not sampled)."""
    return [float(x) for x in result.series[product][:, col]]


def close(got: list[tuple], want: list[tuple]) -> bool:
    """Logs equal, floats compared to 1e-9."""
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if len(g) != len(w):
            return False
        for a, b in zip(g, w, strict=True):
            if isinstance(b, float) and isinstance(a, (int, float)) and a is not None:
                if not math.isclose(a, b, abs_tol=1e-9):
                    return False
            elif a != b:
                return False
    return True


def assert_log(got: list[tuple], want: list[tuple]) -> None:
    assert close(got, want), "\n got: " + "\n      ".join(map(str, got)) + (
        "\nwant: " + "\n      ".join(map(str, want))
    )


# =============================================================================================
# Availability policies
# =============================================================================================


def test_backorder_fifo_quotes_and_base_stock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Base stock S = 2, continuous review, constant L = 3, start with 2 on hand, backorders.

      0.5 A filled (on hand 1), order 1 (due 3.5)    1.5 B filled (on hand 0), order 1 (due 4.5)
      1.9 C waits, quote 3.5 (first unit in the pipeline), order 1 (due 4.9)
      2.2 D waits, quote 4.5 (second unit), order 1 (due 5.2)
      3.5 receipt -> C ships (wait 1.6)              4.1 E waits, quote 4.9, order 1 (due 7.1)
      4.5 receipt -> D ships (wait 2.3)              4.9 receipt -> E ships (wait 0.8)
      5.2 receipt -> on hand 1                       7.1 receipt -> on hand 2; horizon 8.
    Backlog area = 0.3·1 + 1.3·2 + 0.6·1 + 0.4·2 + 0.4·1 = 4.7 = Σ waits (Little);
    on-hand area = 0.5·2 + 1·1 + 1.9·1 + 0.9·2 = 5.7.
    """
    data = make_scenario(order_up_to=2, lead_time_days={"dist": "constant", "value": 3.0},
                         horizon_days=8, availability="backorder",
                         replenishment={"order_cost": 10.0}, product={"unit_cost": 0.5})
    m, log, res = run_hand(monkeypatch, data, [Customer(t) for t in (0.5, 1.5, 1.9, 2.2, 4.1)])
    assert_log(kinds(log, "arrive"), [
        ("arrive", 0.5, 1, "filled", None), ("arrive", 1.5, 1, "filled", None),
        ("arrive", 1.9, 1, "backorder", 3.5), ("arrive", 2.2, 1, "backorder", 4.5),
        ("arrive", 4.1, 1, "backorder", 4.9),
    ])
    assert_log(kinds(log, "order"), [("order", t, 1) for t in (0.5, 1.5, 1.9, 2.2, 4.1)])
    assert_log(kinds(log, "done"), [("done", 1.9, 3.5), ("done", 2.2, 4.5), ("done", 4.1, 4.9)])
    assert_log(kinds(log, "receive"), [("receive", t, 1) for t in (3.5, 4.5, 4.9, 5.2, 7.1)])
    assert m["orders"] == 5 and m["backorders"] == 3 and m["lost_orders"] == 0
    assert m["fill_rate"] == approx(2 / 5)
    assert m["mean_wait_days"] == approx(4.7 / 3)
    assert m["p95_wait_days"] <= 2.3 + 1e-9 and m["p95_wait_days"] > 1.6
    assert m["quote_on_time_rate"] == 1.0
    assert m["max_backlog_units"] == 2
    assert m["avg_backlog_units"] == approx(4.7 / 8)
    assert m["avg_on_hand"] == approx(5.7 / 8)
    assert m["revenue_kept"] == approx(5.0) and m["revenue_pending"] == 0
    assert m["ordering_cost"] == approx(50.0) and m["purchase_cost"] == approx(2.5)
    assert series(res, ON_HAND)[:7] == [1, 0, 0, 0, 0, 1, 1]
    assert series(res, BACKLOG)[:7] == [0, 1, 2, 1, 0, 0, 0]
    assert series(res, ON_ORDER)[:7] == [1, 3, 4, 3, 2, 1, 1]


def test_out_of_stock_loses_the_sale_and_orders_nothing_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Base stock S = 1, L = 2, out of stock, churn on stockout 0.5.

      0.5 A filled, order 1 (due 2.5)   1.0 B refused (u_churn 0.3 < 0.5: churns); no order
      2.5 receipt -> on hand 1          3.2 C filled, order 1 (due 5.2); horizon 4.
    """
    data = make_scenario(order_up_to=1, lead_time_days={"dist": "constant", "value": 2.0},
                         horizon_days=4, availability="out_of_stock",
                         extra={"customers": {"population": 100, "churn": {"on_stockout": 0.5}}})
    m, log, res = run_hand(monkeypatch, data,
                           [Customer(0.5), Customer(1.0, u_churn=0.3), Customer(3.2)])
    assert_log(kinds(log, "arrive", "order", "receive"), [
        ("arrive", 0.5, 1, "filled", None), ("order", 0.5, 1), ("arrive", 1.0, 1, "lost", None),
        ("receive", 2.5, 1), ("arrive", 3.2, 1, "filled", None), ("order", 3.2, 1),
    ])
    assert m["orders"] == 3 and m["lost_orders"] == 1 and m["backorders"] == 0
    assert m["fill_rate"] == approx(2 / 3)
    assert m["revenue_lost_stockout"] == 1.0 and m["revenue_kept"] == 2.0
    assert m["avg_backlog_units"] == 0 and m["max_backlog_units"] == 0
    assert math.isnan(m["mean_wait_days"])
    assert m["churned_customers"] == 1
    assert res.metrics["all"]["active_customers_end"] == 99
    assert series(res, ON_HAND)[:3] == [0, 0, 1]


def test_out_of_stock_notify_me_returns_at_restock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of stock with notify-me share 1: B (u_notify 0 < 1) is refused at 1.0, asks to be
    notified, and comes back when the receipt lands at 2.5, taking the one unit; C (patience 1)
    asked too, but by the next receipt (4.5) its patience has run out: it never comes back.
    S = 1, L = 2, start 1 on hand: 0.5 A filled, order (due 2.5); 1.0 B refused; 1.2 C refused;
    2.5 receipt, B returns and is filled, order (due 4.5); horizon 5.
    """
    data = make_scenario(order_up_to=1, lead_time_days={"dist": "constant", "value": 2.0},
                         horizon_days=5,
                         availability={"availability": "out_of_stock", "notify_me_share": 1.0})
    m, log, res = run_hand(monkeypatch, data, [
        Customer(0.5), Customer(1.0, u_notify=0.0), Customer(1.2, patience=1.0, u_notify=0.0),
    ])
    assert_log(kinds(log, "arrive", "order", "receive"), [
        ("arrive", 0.5, 1, "filled", None), ("order", 0.5, 1),
        ("arrive", 1.0, 1, "lost", None), ("arrive", 1.2, 1, "lost", None),
        ("receive", 2.5, 1), ("order", 2.5, 1),
        ("receive", 4.5, 1),
    ])
    # B's refused order becomes a recovered sale (the same order, not a second one); C stays lost
    assert m["orders"] == 3 and m["recovered_orders"] == 1 and m["lost_orders"] == 1
    assert m["revenue_kept"] == 2.0 and m["units_shipped"] == 2
    assert m["revenue_lost_stockout"] == 1.0
    assert series(res, ON_HAND)[:4] == [0, 0, 0, 0]


def test_preorder_ships_at_release(monkeypatch: pytest.MonkeyPatch) -> None:
    """Release day 4.75; a scheduled delivery of 3 units on day 3.5 (before release).

      1.0 A pre-orders: quote max(3.5, release 4.75) = 4.75    2.2 B pre-orders, quote 4.75
      3.5 delivery: 3 on hand, but the product does not exist yet: nothing ships
      4.75 release -> A and B ship (waits 3.75 and 2.55)       6.3 C filled from stock; horizon 7.
    """
    data = make_scenario(initial_stock=0, horizon_days=7, availability="preorder",
                         replenishment={"rule": "scheduled",
                                        "deliveries": [{"day": 3.5, "quantity": 3}]},
                         product={"release_day": 4.75})
    m, log, res = run_hand(monkeypatch, data, [Customer(1.0), Customer(2.2), Customer(6.3)])
    assert_log(kinds(log, "arrive", "receive", "done"), [
        ("arrive", 1.0, 1, "preorder", 4.75), ("arrive", 2.2, 1, "preorder", 4.75),
        ("receive", 3.5, 3), ("done", 1.0, 4.75), ("done", 2.2, 4.75),
        ("arrive", 6.3, 1, "filled", None),
    ])
    assert m["preorders"] == 2 and m["backorders"] == 0 and m["orders"] == 3
    assert m["mean_wait_days"] == approx((3.75 + 2.55) / 2)
    assert m["quote_on_time_rate"] == 1.0
    assert m["fill_rate"] == approx(1 / 3)
    assert series(res, ON_HAND)[:6] == [0, 0, 0, 3, 1, 1]
    assert series(res, BACKLOG)[:6] == [1, 1, 2, 2, 0, 0]
    # payment at order (the default): the two pre-orders' money is held from order to release
    assert m["customer_cash_held"] == approx((3.75 + 2.55) / 7)


def test_preorder_quote_counts_stock_on_hand_before_release(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Quoted dates come from what is known: stock on hand (set aside for earlier pre-orders)
    and scheduled arrivals (docs/concepts.md, "Quotes"). Expected: quotes 5, 5, 8.5; the third
    ships at 8.5."""
    data = make_scenario(initial_stock=0, horizon_days=10, availability="preorder",
                         replenishment={"rule": "scheduled", "deliveries": [
                             {"day": 1.5, "quantity": 2}, {"day": 8.5, "quantity": 2}]},
                         product={"release_day": 5.0})
    m, log, _ = run_hand(monkeypatch, data,
                         [Customer(1.0), Customer(2.0), Customer(4.0, patience=10.0)])
    assert_log(kinds(log, "arrive"), [
        ("arrive", 1.0, 1, "preorder", 5.0), ("arrive", 2.0, 1, "preorder", 5.0),
        ("arrive", 4.0, 1, "preorder", 8.5),
    ])
    assert_log(kinds(log, "done"), [("done", 1.0, 5.0), ("done", 2.0, 5.0), ("done", 4.0, 8.5)])


@pytest.mark.parametrize("partial", [True, False])
def test_backorder_partial_and_complete_shipments(
    monkeypatch: pytest.MonkeyPatch, partial: bool
) -> None:
    """2 on hand, scheduled deliveries 2 on day 3.5 and 5 on day 6.5, horizon 8.
    A orders 3 at 1.0, B orders 4 at 2.2 (both wait: quotes 3.5 and 6.5).
    Partial shipments: A gets 2 at once, 1 at 3.5 (done); B gets 1 at 3.5, 3 at 6.5 (done);
      backlog area = 1·2.5 + 4·1.3 + 3·3.0 = 16.7; units shipped on arrival 2 of 7.
    Complete orders only: the 2 on hand are set aside for A; at 3.5 A ships 3 and the last unit is
      set aside for B; at 6.5 B ships 4; backlog area = 3·2.5 + 4·4.3 = 24.7.
    On hand at the end: 2 (both ways). Waits 2.5 and 4.3 either way."""
    data = make_scenario(initial_stock=2, horizon_days=8,
                         availability={"availability": "backorder",
                                       "partial_shipments": partial},
                         replenishment={"rule": "scheduled", "deliveries": [
                             {"day": 3.5, "quantity": 2}, {"day": 6.5, "quantity": 5}]})
    m, log, res = run_hand(monkeypatch, data, [Customer(1.0, qty=3), Customer(2.2, qty=4)])
    assert_log(kinds(log, "arrive"), [
        ("arrive", 1.0, 3, "backorder", 3.5), ("arrive", 2.2, 4, "backorder", 6.5),
    ])
    if partial:
        want = [("ship", 1.0, 1, 3.5), ("done", 1.0, 3.5), ("ship", 2.2, 1, 3.5),
                ("ship", 2.2, 3, 6.5), ("done", 2.2, 6.5)]
        assert m["unit_fill_rate"] == approx(2 / 7)
        assert m["avg_backlog_units"] == approx(16.7 / 8)
        assert series(res, ON_HAND)[:7] == [0, 0, 0, 0, 0, 0, 2]
        assert series(res, BACKLOG)[:7] == [1, 1, 5, 3, 3, 3, 0]
    else:
        want = [("ship", 1.0, 3, 3.5), ("done", 1.0, 3.5), ("ship", 2.2, 4, 6.5),
                ("done", 2.2, 6.5)]
        assert m["unit_fill_rate"] == 0.0
        assert m["avg_backlog_units"] == approx(24.7 / 8)
        assert series(res, ON_HAND)[:7] == [2, 2, 2, 1, 1, 1, 2]
        assert series(res, BACKLOG)[:7] == [3, 3, 7, 4, 4, 4, 0]
    assert_log(kinds(log, "ship", "done"), want)
    assert m["fill_rate"] == 0.0 and m["backorders"] == 2
    assert m["mean_wait_days"] == approx(3.4) and m["quote_on_time_rate"] == 1.0
    assert m["units_shipped"] == 7 and m["revenue_kept"] == 7.0
    assert m["max_backlog_units"] == (5 if partial else 7)


def test_cancellation_when_patience_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make-to-order, lead 0, lane transit 1 day, random lane closures with constant draws
    (onset 2 days after the previous end, 3 days long: [2, 5), [7, 10), ...) — unknown to the
    business until they begin, so quotes assume an open lane.
      1.5 A (patience 1.2) waits, quote 2.5; its unit leaves at 1.5, is held from 2 to 5 and
          lands at 5.5
      1.6 B (patience inf) waits, quote 2.6 (the second unit); lands at 5.6
      2.7 A's patience runs out: cancelled (churns: on_cancel 1)
      5.5 the first unit goes to B, the oldest waiting order (late: quoted 2.6)
      5.6 the second unit stays on hand; horizon 6.
    """
    data = make_scenario(initial_stock=0, horizon_days=6,
                         replenishment={"rule": "make_to_order", "lane": "l"},
                         lead_time_days={"dist": "constant", "value": 0.0},
                         extra={"lanes": [{"id": "l",
                                           "transit_days": {"dist": "constant", "value": 1.0},
                                           "disruptions": [{
                                               "every_days": {"dist": "constant", "value": 2.0},
                                               "duration_days": {"dist": "constant",
                                                                 "value": 3.0}}]}],
                                "customers": {"churn": {"on_cancel": 1.0}}})
    m, log, res = run_hand(monkeypatch, data,
                           [Customer(1.5, patience=1.2, u_churn=0.5), Customer(1.6)])
    assert_log(kinds(log, "arrive", "order", "cancel", "receive", "done"), [
        ("arrive", 1.5, 1, "backorder", 2.5), ("order", 1.5, 1),
        ("arrive", 1.6, 1, "backorder", 2.6), ("order", 1.6, 1),
        ("cancel", 1.5, 2.7),
        ("receive", 5.5, 1), ("done", 1.6, 5.5), ("receive", 5.6, 1),
    ])
    assert m["backorders"] == 2 and m["cancellations"] == 1
    assert m["revenue_lost_cancelled"] == 1.0 and m["revenue_kept"] == 1.0
    assert m["mean_wait_days"] == approx(3.9)
    assert m["quote_on_time_rate"] == 0.0
    assert m["churned_customers"] == 1
    assert res.metrics["all"]["churned_customers"] == 1
    assert series(res, ON_HAND)[:5] == [0, 0, 0, 0, 0]
    assert series(res, BACKLOG)[:5] == [0, 2, 1, 1, 1]


def test_goods_arriving_as_patience_runs_out_ship(monkeypatch: pytest.MonkeyPatch) -> None:
    """At the very instant a waiting customer's patience runs out, goods arriving for them ship
    first: the order is served, not cancelled. Make-to-order, constant lead 2, nothing on hand.
      0.5 A (patience 2) waits, quote 2.5; its unit lands at 2.5 = A's deadline: A ships
      1.0 B (patience 2) waits, quote 3.0; its unit lands at 3.0 = B's deadline: B ships
    """
    data = make_scenario(initial_stock=0, horizon_days=4,
                         replenishment={"rule": "make_to_order"},
                         lead_time_days={"dist": "constant", "value": 2.0})
    m, log, _ = run_hand(monkeypatch, data,
                         [Customer(0.5, patience=2.0), Customer(1.0, patience=2.0)])
    assert_log(kinds(log, "arrive", "cancel", "receive", "done"), [
        ("arrive", 0.5, 1, "backorder", 2.5), ("arrive", 1.0, 1, "backorder", 3.0),
        ("receive", 2.5, 1), ("done", 0.5, 2.5), ("receive", 3.0, 1), ("done", 1.0, 3.0),
    ])
    assert m["backorders"] == 2 and m["cancellations"] == 0 and m["quote_on_time_rate"] == 1.0


@pytest.mark.parametrize("buffer", [0.0, 0.6])
def test_max_quoted_wait_refuses(monkeypatch: pytest.MonkeyPatch, buffer: float) -> None:
    """Backorder with max_quoted_wait_days 2 (and a quote buffer of 0 or 0.6 days).
    Base stock S = 1, L = 3: 0.5 A filled, order (due 3.5); 1.0 B: quote 3.5 (+buffer), wait
    2.5 > 2: refused, nothing ordered; 1.8 C: quote 3.5 + buffer: wait 1.7 (accepted, ships 3.5,
    order due 4.8) or 2.3 with the buffer (refused)."""
    data = make_scenario(order_up_to=1, lead_time_days={"dist": "constant", "value": 3.0},
                         horizon_days=6,
                         availability={"availability": "backorder", "max_quoted_wait_days": 2.0,
                                       "quote_buffer_days": buffer})
    m, log, _ = run_hand(monkeypatch, data, [Customer(0.5), Customer(1.0), Customer(1.8)])
    if buffer == 0:
        want = [("arrive", 0.5, 1, "filled", None), ("order", 0.5, 1),
                ("arrive", 1.0, 1, "lost", None), ("arrive", 1.8, 1, "backorder", 3.5),
                ("order", 1.8, 1), ("receive", 3.5, 1), ("done", 1.8, 3.5), ("receive", 4.8, 1)]
        assert m["lost_orders"] == 1 and m["backorders"] == 1
        assert m["mean_wait_days"] == approx(1.7)
    else:
        want = [("arrive", 0.5, 1, "filled", None), ("order", 0.5, 1),
                ("arrive", 1.0, 1, "lost", None), ("arrive", 1.8, 1, "lost", None),
                ("receive", 3.5, 1)]
        assert m["lost_orders"] == 2 and m["backorders"] == 0
    assert_log(kinds(log, "arrive", "order", "receive", "done"), want)
    assert m["revenue_lost_stockout"] == m["lost_orders"]


def test_declined_quote_longer_than_patience(monkeypatch: pytest.MonkeyPatch) -> None:
    """A customer whose patience is shorter than the quoted wait leaves at once (lost, not a
    backorder) and churns with probability on_declined_quote. S = 1, L = 3: 0.5 A filled;
    1.0 B (patience 2) is quoted 3.5: wait 2.5 > 2, declines (u 0.1 < 0.2: churns)."""
    data = make_scenario(order_up_to=1, lead_time_days={"dist": "constant", "value": 3.0},
                         horizon_days=5,
                         extra={"customers": {"churn": {"on_declined_quote": 0.2}}})
    m, log, _ = run_hand(monkeypatch, data, [Customer(0.5), Customer(1.0, patience=2.0,
                                                                      u_churn=0.1)])
    assert_log(kinds(log, "arrive", "order"), [
        ("arrive", 0.5, 1, "filled", None), ("order", 0.5, 1), ("arrive", 1.0, 1, "lost", None),
    ])
    assert m["lost_orders"] == 1 and m["backorders"] == 0 and m["cancellations"] == 0
    assert m["churned_customers"] == 1


# =============================================================================================
# Replenishment rules
# =============================================================================================


def test_s_S_orders_up_to_S_at_or_below_s(monkeypatch: pytest.MonkeyPatch) -> None:
    """(s, S) = (2, 6), continuous review, L = 1.5, start 6 on hand, backorders.
    Unit orders at 0.5, 1.1, 1.5 (position 5, 4, 3: nothing); 1.9 (position 2 = s: order 4, due
    3.4); 2.2 (position 5); 4.1 an order of 3 (on hand 5 -> 2 = s: order 4, due 5.6);
    6.1 an order of 5 (on hand 6 -> 1, below s: order 5 up to 6, due 7.6)."""
    data = make_scenario(order_up_to=6, lead_time_days={"dist": "constant", "value": 1.5},
                         horizon_days=8,
                         replenishment={"rule": "s_S", "reorder_point": 2, "order_up_to": 6})
    m, log, res = run_hand(monkeypatch, data, [
        Customer(0.5), Customer(1.1), Customer(1.5), Customer(1.9), Customer(2.2),
        Customer(4.1, qty=3), Customer(6.1, qty=5)])
    assert_log(kinds(log, "order", "receive"), [
        ("order", 1.9, 4), ("receive", 3.4, 4), ("order", 4.1, 4), ("receive", 5.6, 4),
        ("order", 6.1, 5), ("receive", 7.6, 5),
    ])
    assert m["fill_rate"] == 1.0
    assert series(res, ON_HAND)[:7] == [5, 2, 1, 5, 2, 6, 1]


def test_r_Q_orders_multiples_of_Q_to_lift_position_above_r(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """(r, Q) = (2, 3), continuous review, L = 1.5, start 5 on hand, backorders.
      0.5 one unit (position 4)      1.1 two units (position 2 = r: order 1·3, due 2.6)
      1.3 one unit (position 4)      2.1 seven units: 1 on hand is set aside, 6 short; position
          1 + 3 − 7 = −3: order 2·3 = 6 (smallest n with −3 + 3n > 2), due 3.6; quote: 6 units
          needed, 3 in the pipeline due 2.6, the other 3 from a new order: 2.1 + 1.5 = 3.6
      2.6 receipt of 3 (set aside)   3.6 receipt of 6: the order of 7 ships, 3 left on hand."""
    data = make_scenario(initial_stock=5, lead_time_days={"dist": "constant", "value": 1.5},
                         horizon_days=5,
                         replenishment={"rule": "r_Q", "reorder_point": 2, "order_quantity": 3})
    m, log, res = run_hand(monkeypatch, data, [
        Customer(0.5), Customer(1.1, qty=2), Customer(1.3), Customer(2.1, qty=7)])
    assert_log(kinds(log, "order", "receive", "done"), [
        ("order", 1.1, 3), ("order", 2.1, 6), ("receive", 2.6, 3), ("receive", 3.6, 6),
        ("done", 2.1, 3.6),
    ])
    assert_log(kinds(log, "arrive")[-1:], [("arrive", 2.1, 7, "backorder", 3.6)])
    assert series(res, ON_HAND)[:4] == [4, 1, 4, 3]
    assert m["mean_wait_days"] == approx(1.5)


def test_periodic_review_at_0_R_2R(monkeypatch: pytest.MonkeyPatch) -> None:
    """Periodic (R, S) = (2, 5), L = 0.5, start 3 on hand. Reviews at 0, 2, 4, 6 only:
      0 position 3 -> order 2 (due 0.5)   0.7 one unit, 1.3 two units (no order between reviews)
      2 position 2 -> order 3 (due 2.5)   3.2 one unit
      4 position 4 -> order 1 (due 4.5)   5.2 two units   6 position 3 -> order 2 (due 6.5)
    With no warm-up the window is (0, 7]: the review of day 0 belongs before it, like the one
    at the end of a warm-up, so the window holds 3 orders (2, 4, 6) and their 6 units."""
    data = make_scenario(initial_stock=3, lead_time_days={"dist": "constant", "value": 0.5},
                         horizon_days=7,
                         replenishment={"rule": "periodic", "order_up_to": 5,
                                        "review_period_days": 2.0, "order_cost": 1.0})
    m, log, res = run_hand(monkeypatch, data, [
        Customer(0.7), Customer(1.3, qty=2), Customer(3.2), Customer(5.2, qty=2)])
    assert_log(kinds(log, "order"), [("order", 0.0, 2), ("order", 2.0, 3), ("order", 4.0, 1),
                                     ("order", 6.0, 2)])
    assert m["ordering_cost"] == 3.0
    assert series(res, ON_HAND)[:6] == [4, 2, 5, 4, 5, 3]


def test_make_to_order_line_capacity_fifo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make-to-order, one line at 2 units/day (0.5 day a unit), then a lead time of 1 day.
      0.2 A (1 unit): line 0.2-0.7, arrives 1.7; quote 1.7
      0.3 B (2 units): line 0.7-1.7 (behind A), arrives 2.7; quote 2.7
      2.1 C (1 unit): line 2.1-2.6, arrives 3.6; quote 3.6 (B's 2 units are B's)
    Waits 1.5, 2.4, 1.5: mean 1.8; every quote exact."""
    data = make_scenario(initial_stock=0, horizon_days=5, replenishment={"rule": "make_to_order"},
                         supplier={"capacity_per_day": 2.0})
    m, log, _ = run_hand(monkeypatch, data,
                         [Customer(0.2), Customer(0.3, qty=2), Customer(2.1)])
    assert_log(kinds(log, "arrive", "order", "done"), [
        ("arrive", 0.2, 1, "backorder", 1.7), ("order", 0.2, 1),
        ("arrive", 0.3, 2, "backorder", 2.7), ("order", 0.3, 2),
        ("done", 0.2, 1.7), ("arrive", 2.1, 1, "backorder", 3.6), ("order", 2.1, 1),
        ("done", 0.3, 2.7), ("done", 2.1, 3.6),
    ])
    assert m["fill_rate"] == 0.0 and m["mean_wait_days"] == approx(1.8)
    assert m["quote_on_time_rate"] == 1.0 and m["avg_on_hand"] == 0.0


def test_min_order_quantity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Base stock S = 3 with supplier MOQ 5, L = 1: 0.5 one unit -> position 2 < 3: the order of
    1 is raised to 5 (position 7); 0.8, 1.2 one unit each: position 6, 5 >= 3, no order."""
    data = make_scenario(order_up_to=3, horizon_days=3, supplier={"min_order_qty": 5})
    m, log, res = run_hand(monkeypatch, data, [Customer(0.5), Customer(0.8), Customer(1.2)])
    assert_log(kinds(log, "order", "receive"), [("order", 0.5, 5), ("receive", 1.5, 5)])
    assert series(res, ON_HAND)[:2] == [1, 5]


def test_scheduled_deliveries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scheduled rule: 3 units on day 2.5 and 2 on day 5.5 (order cost 4 each), 1 on hand, out of
    stock. 0.5 filled; 1.2 lost; 3.2 three units filled; 4.2 lost; 6.2 filled; horizon 7.
    No other replenishment order is ever placed."""
    data = make_scenario(initial_stock=1, horizon_days=7, availability="out_of_stock",
                         replenishment={"rule": "scheduled", "order_cost": 4.0, "deliveries": [
                             {"day": 2.5, "quantity": 3}, {"day": 5.5, "quantity": 2}]},
                         product={"unit_cost": 0.25})
    m, log, res = run_hand(monkeypatch, data, [
        Customer(0.5), Customer(1.2), Customer(3.2, qty=3), Customer(4.2), Customer(6.2)])
    assert kinds(log, "order") == []
    assert_log(kinds(log, "receive"), [("receive", 2.5, 3), ("receive", 5.5, 2)])
    assert [e[3] for e in kinds(log, "arrive")] == ["filled", "lost", "filled", "lost", "filled"]
    assert m["ordering_cost"] == 8.0 and m["purchase_cost"] == approx(1.25)
    assert series(res, ON_HAND)[:6] == [0, 0, 3, 0, 0, 2]


@pytest.mark.parametrize("availability", ["out_of_stock", "backorder"])
def test_rule_none(monkeypatch: pytest.MonkeyPatch, availability: str) -> None:
    """Rule none, 2 on hand, three unit orders at 0.5, 1.5, 2.5: two filled, the third finds
    nothing and no supply exists. Out of stock: lost. Backorder (infinite patience): accepted
    with an unbounded quote and still pending at the horizon (4)."""
    data = make_scenario(initial_stock=2, horizon_days=4, availability=availability,
                         replenishment={"rule": "none"})
    data["suppliers"] = []
    m, log, _ = run_hand(monkeypatch, data, [Customer(0.5), Customer(1.5), Customer(2.5)])
    assert kinds(log, "order") == [] and kinds(log, "receive") == []
    assert m["fill_rate"] == approx(2 / 3)
    if availability == "out_of_stock":
        assert m["lost_orders"] == 1 and m["revenue_pending"] == 0
    else:
        assert m["backorders"] == 1 and m["revenue_pending"] == 1.0
        assert m["avg_backlog_units"] == approx(1.5 / 4)


# =============================================================================================
# Accounting over the statistics window (warm-up, horizon]
# =============================================================================================


def test_never_shipped_units_credit_matches_the_window() -> None:
    """purchase_cost = units bought in (warm-up, horizon] × unit cost (docs/glossary.md): an order
    placed before the warm-up costs nothing in the window, so neither does a refund for part of
    it."""
    data = make_scenario(
        orders_per_day=0.0, initial_stock=0, horizon_days=8, warmup_days=3,
        replenishment={"rule": "periodic", "order_up_to": 4, "review_period_days": 100.0},
        lead_time_days={"dist": "constant", "value": 5.0},
        supplier={"short_shipment_probability": 1.0, "short_shipment_share": 0.5,
                  "short_shipment_remainder": "never"},
        product={"unit_cost": 1.0})
    m = simulate(Scenario.model_validate(data), "p", 0).metrics["w"]
    assert m["units_received"] == 2
    assert m["purchase_cost"] == 0.0
