"""A second stocking location, configured through the Python API (``Model.add_location``): a
store replenished from the main location's stock (a warehouse), against closed forms.

With Poisson demand of one unit per order, backorders and base stock S under continuous review,
an order is filled on arrival with probability P(D ≤ S − 1), D ~ Poisson(λ · lead time) (PASTA
and the base-stock identity: net stock = S − demand over the last lead time). The store's lead
time is the transit alone when the warehouse always has stock, and the warehouse's supplier lead
time plus the transit when the warehouse holds nothing and orders each transfer from its
supplier (make to order).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import assert_close_to_theory
from scipy import stats

from stockout.model.run import simulate
from stockout.policies.replenishment import OrderUpTo
from stockout.scenario.load import scenario_from_dict

RATE = 20.0


def warehouse(stock: int, rule: dict[str, Any], partial: bool = False) -> Any:
    return scenario_from_dict({
        "scenario": {"name": "two-locations", "horizon_days": 1500, "warmup_days": 30,
                     "seed": 11},
        "products": [{"id": "sku", "price": 10, "initial_stock": stock,
                      "demand": {"orders_per_day": RATE}, "replenishment": rule}],
        "suppliers": [{"id": "maker", "lead_time_days": {"dist": "constant", "value": 3}}],
        "policies": [{"name": "backorder", "availability": "backorder",
                      "partial_shipments": partial}],
    })


def store_fill_rates(scenario: Any, S: int, transit: float, reps: int = 8) -> list[float]:
    def store(model: Any) -> None:
        model.add_location("store", "sku", OrderUpTo(S), transit, initial_stock=S)

    results = [simulate(scenario, "backorder", r, processes=[store]) for r in range(reps)]
    for result in results:  # every customer bought at the store, none at the warehouse
        assert result.metrics["sku"]["orders"] == 0
        assert result.metrics["sku@store"]["orders"] > 0.9 * RATE * 1470
    return [r.metrics["sku@store"]["fill_rate"] for r in results]


def test_a_store_supplied_by_a_warehouse_with_ample_stock_has_the_transit_as_lead_time() -> None:
    fills = store_fill_rates(warehouse(10**7, {"rule": "none"}), S=25, transit=1.0)
    assert_close_to_theory(fills, stats.poisson.cdf(24, RATE * 1.0), "store fill rate")


def test_through_an_empty_make_to_order_warehouse_the_lead_times_add_up() -> None:
    """Each store order waits at the warehouse for the supplier (3 days), then travels 1."""
    rule = {"rule": "make_to_order", "supplier": "maker"}
    fills = store_fill_rates(warehouse(0, rule), S=85, transit=1.0)
    assert_close_to_theory(fills, stats.poisson.cdf(84, RATE * 4.0), "store fill rate")
    # (with the transit alone as lead time the fill rate would be about 1)
    assert stats.poisson.cdf(84, RATE * 1.0) > 0.999


def test_transfers_are_flows_not_customers() -> None:
    """The warehouse's metrics count no customer order, ship every unit the store receives (or
    has on the way) and the store's replenishment orders are the transfers."""
    def store(model: Any) -> None:
        model.add_location("store", "sku", OrderUpTo(30), 2.0, initial_stock=30)

    scenario = warehouse(0, {"rule": "make_to_order", "supplier": "maker"})
    result = simulate(scenario, "backorder", 0, processes=[store])
    dc, shop = result.metrics["sku"], result.metrics["sku@store"]
    assert dc["orders"] == dc["backorders"] == dc["revenue_kept"] == 0
    assert shop["units_received"] <= dc["units_received"] <= shop["units_received"] + 200
    assert shop["units_received"] == pytest.approx(shop["units_shipped"], abs=200)


def test_a_recorder_hears_the_new_location_too() -> None:
    """A recorder passed to ``simulate`` hears every stock point, the one added by
    ``add_location`` included: the store's receipts are the warehouse's transfers."""
    from stockout.model import Recorder

    class Receipts(Recorder):
        def __init__(self) -> None:
            self.units: dict[str, int] = {}

        def received(self, sp: Any, t: float, qty: int, source: Any) -> None:
            self.units[f"{sp.name} from {source}"] = self.units.get(f"{sp.name} from {source}",
                                                                    0) + qty

    def store(model: Any) -> None:
        model.add_location("store", "sku", OrderUpTo(30), 2.0, initial_stock=30)

    heard = Receipts()
    scenario = warehouse(0, {"rule": "make_to_order", "supplier": "maker"})
    simulate(scenario, "backorder", 0, recorder=heard, processes=[store])
    assert set(heard.units) == {"sku from maker", "sku@store from main"}
    assert 0 < heard.units["sku from maker"] - heard.units["sku@store from main"] <= 200


def test_a_late_transfer_is_expected_at_least_a_transit_away() -> None:
    """The warehouse quotes its supplier's 3 days on day 1, not knowing the outage [2, 6) yet:
    the store expects the transfer on day 5, and it arrives on day 9 (the supplier's lead
    pauses 4 days, the transit takes 1). A customer at the store on day 5.5 is quoted at least
    a transit away (day 6.5), not 'now' for goods still at the supplier."""
    from stockout.model import Recorder

    class Quotes(Recorder):
        def __init__(self) -> None:
            self.quotes: list[tuple[str, float, float]] = []

        def queued(self, sp: Any, t: float, order: Any, *rest: Any) -> None:
            self.quotes.append((sp.name, t, order.quote))

        def received(self, sp: Any, t: float, qty: int, source: Any) -> None:
            self.quotes.append((f"{sp.name} received", t, math.nan))

    scenario = scenario_from_dict({
        "scenario": {"name": "late-transfer", "horizon_days": 20, "seed": 1},
        "products": [{"id": "sku", "price": 10, "initial_stock": 0,
                      "demand": {"orders_per_day": 0,
                                 "scripted_orders": [{"day": 1}, {"day": 5.5}]},
                      "replenishment": {"rule": "make_to_order", "supplier": "maker"}}],
        "suppliers": [{"id": "maker", "lead_time_days": {"dist": "constant", "value": 3},
                       "outages": [{"start_day": 2, "end_day": 6}]}],
        "policies": [{"name": "backorder", "availability": "backorder"}],
    })

    def store(model: Any) -> None:
        model.add_location("store", "sku", OrderUpTo(1), 1.0, initial_stock=1)

    heard = Quotes()
    simulate(scenario, "backorder", 0, recorder=heard, processes=[store])
    store_quotes = [(t, q) for name, t, q in heard.quotes if name == "sku@store"]
    assert store_quotes == [(5.5, 6.5)]
    assert ("sku@store received", 9.0) in [(name, t) for name, t, _ in heard.quotes]


def test_a_warehouse_that_ships_in_parts_is_refused() -> None:
    scenario = warehouse(100, {"rule": "none"}, partial=True)

    def store(model: Any) -> None:
        model.add_location("store", "sku", OrderUpTo(30), 2.0)

    with pytest.raises(ValueError, match="ship orders whole"):
        simulate(scenario, "backorder", 0, processes=[store])
