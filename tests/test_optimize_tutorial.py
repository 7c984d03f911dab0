"""The tutorial's step 6 (docs/tutorial.md, "With how much stock?"): its claims, checked.

At the quickstart's guessed stock, a patience of 2 days makes out-of-stock-deep the clear winner
on gross profit; with each policy at its own best (s, S), backorder and out of stock are not
told apart there, and at a patience of 14 days backorder wins clearly, with less stock.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import stockout
from stockout.sweep import sweep  # stockout.sweep is the module once it is imported

QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.toml"
SEARCH = ["products.grinder.replenishment.reorder_point=60..200..20",
          "products.grinder.replenishment.order_up_to=120..280..20"]


@pytest.mark.slow
def test_the_verdict_changes_once_both_policies_are_optimally_stocked() -> None:
    scenario = stockout.with_overrides(stockout.load(QUICKSTART),
                                       policies=["backorder", "out-of-stock"])
    result = stockout.optimize(scenario, SEARCH,
                               vary={"customers.patience_days.mean": [2, 14]}, jobs=2)
    winners = result.winners.set_index("customers.patience_days.mean")
    assert not bool(winners.loc[2, "clear"])  # a tie at short patience
    assert winners.loc[14, "winner"] == "backorder" and bool(winners.loc[14, "clear"])
    best = result.optimum.set_index(["customers.patience_days.mean", "policy"])
    s = "products.grinder.replenishment.reorder_point"
    assert best.loc[(14, "backorder"), s] < best.loc[(14, "out-of-stock"), s]  # reorders later

    short = sweep(stockout.with_overrides(
        stockout.load(QUICKSTART), policies=["backorder", "out-of-stock-deep"]),
        {"customers.patience_days.mean": [2]}, jobs=2)
    gross = short.winners.query("metric == 'gross_profit'").iloc[0]
    assert gross["winner"] == "out-of-stock-deep" and bool(gross["significant"])
