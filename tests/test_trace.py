"""`stockout trace`: the story of individual orders, checked against a story written by hand.

The scenario is small enough to follow with pencil and paper: 2 units on hand, base stock S = 2,
a supplier with a constant 5-day lead time, and four scripted orders.

- day 1: order #1 wants 1; 2 on hand → shipped. Position 1 < 2 → order 1 unit, due day 6.
- day 2: order #2 wants 2; 1 on hand. It needs 1 more: the unit due day 6. Backorder quoted
  day 6, patience 10 → accepted. The free unit is set aside for it; position = on hand 1 +
  on order 1 − backlog 2 = 0 → order 2 units, due day 7.
- day 3: order #3 wants 1; nothing free. Units ahead: 2 owed − 1 set aside = 1, plus its own 1
  → needs 2 from the pipeline: day 6 brings 1, day 7 brings 2 → quote day 7, a 4-day wait;
  patience 1 → declined (no order placed: the position does not change).
- day 4: order #4 wants 1; needs 2 from the pipeline again → quote day 7, wait 3 ≤ patience 3
  → accepted; position −1 → order 1 unit, due day 9.
- day 6: 1 unit arrives → order #2 now has both units → shipped (waited 4, on time).
- day 7: 2 units arrive → order #4 shipped (waited 3, on time); 1 unit left on hand.
- day 9: 1 unit arrives: 2 on hand = S.
"""

from __future__ import annotations

# ruff: noqa: E501 - the expected story is one sentence a line, as the command prints it
import json
import subprocess
import sys
from pathlib import Path

from stockout import api
from stockout.scenario.load import scenario_from_dict

SCENARIO = {
    "scenario": {"name": "tiny-trace", "horizon_days": 20, "seed": 1},
    "customers": {"population": 100},
    "products": [{
        "id": "widget", "price": 10, "initial_stock": 2,
        "demand": {"orders_per_day": 0, "scripted_orders": [
            {"day": 1, "quantity": 1},
            {"day": 2, "quantity": 2, "patience_days": 10},
            {"day": 3, "quantity": 1, "patience_days": 1},
            {"day": 4, "quantity": 1, "patience_days": 3},
        ]},
        "replenishment": {"rule": "base_stock", "order_up_to": 2, "supplier": "acme"},
    }],
    "suppliers": [{"id": "acme", "lead_time_days": {"dist": "constant", "value": 5}}],
    "policies": [
        {"name": "backorder", "availability": "backorder"},
        {"name": "out-of-stock", "availability": "out_of_stock"},
    ],
}

EXPECTED_BACKORDER = """\
day 1.00 — order #1, 1 × widget: 2 on hand → shipped from stock
day 1.00 — inventory position 1 → orders 1 unit of widget from acme, expected day 6.00
day 2.00 — order #2, 2 × widget: only 1 on hand → offered backorder, ships by day 6.00; patience 10.0 days → accepted, paid now
day 2.00 — inventory position 0 → orders 2 units of widget from acme, expected day 7.00
day 3.00 — order #3, 1 × widget: none on hand → offered to ship by day 7.00 (a wait of 4.0 days); patience 1.0 days → declined, sale lost
day 4.00 — order #4, 1 × widget: none on hand → offered backorder, ships by day 7.00; patience 3.0 days → accepted, paid now
day 4.00 — inventory position 1 → orders 1 unit of widget from acme, expected day 9.00
day 6.00 — 1 unit of widget arrive from acme
day 6.00 — order #2 shipped (waited 4.00 days, on time)
day 7.00 — 2 units of widget arrive from acme
day 7.00 — order #4 shipped (waited 3.00 days, on time)
day 9.00 — 1 unit of widget arrive from acme
"""


def test_backorder_story_matches_the_hand_written_one() -> None:
    events = api.trace(scenario_from_dict(SCENARIO), "backorder", days=20)
    assert api.format_trace(events) == EXPECTED_BACKORDER


def test_out_of_stock_story_loses_the_orders_it_cannot_fill() -> None:
    events = api.trace(scenario_from_dict(SCENARIO), "out-of-stock", days=20)
    kinds = [(e.day, e.order, e.event) for e in events if e.order is not None]
    # day 2: 2 wanted, 1 on hand → lost; day 3: the unit is still there → filled;
    # day 4: nothing on hand → lost.
    assert kinds == [(1.0, 1, "filled"), (2.0, 2, "refused"), (3.0, 3, "filled"),
                     (4.0, 4, "refused")]


def test_trace_of_a_short_horizon_is_the_start_of_the_full_run() -> None:
    scenario = api.load(Path(__file__).parents[1] / "scenarios" / "quickstart.toml")
    short = api.trace(scenario, "backorder", days=20)
    long = [e for e in api.trace(scenario, "backorder", days=60) if e.day < 20]
    assert [e.text for e in short] == [e.text for e in long]


def test_trace_command_writes_json(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    from stockout.results_io import to_toml

    path.write_text(to_toml(SCENARIO), encoding="utf-8")
    out = tmp_path / "trace.json"
    done = subprocess.run(
        [sys.executable, "-m", "stockout", "trace", str(path), "--policy", "backorder",
         "--orders", "2", "--format", "json", "--out", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert {r["order"] for r in rows if r["order"] is not None} == {1, 2}
    assert rows[-1]["event"] == "shipped" and rows[-1]["order"] == 2


def test_trace_unknown_policy_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    from stockout.results_io import to_toml

    path.write_text(to_toml(SCENARIO), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "stockout", "trace", str(path), "--policy", "backordr"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 2
    assert "--policy" in done.stderr and "did you mean 'backorder'" in done.stderr
    assert "Traceback" not in done.stderr
