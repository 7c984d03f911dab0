"""The Python API: loading, variants without mutation, and runs of the real model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import stockout
from stockout.api import Results, load, run, with_overrides
from stockout.records import METRICS
from stockout.scenario.errors import ScenarioError

FIXTURE = Path(__file__).parent / "fixtures" / "scenario-format.toml"


def small(**meta: Any) -> dict[str, Any]:
    """A small but busy scenario: stock-outs, backorders, cancellations, a lane closure."""
    return {
        "scenario": {"name": "small", "horizon_days": 60, "warmup_days": 5, "replications": 3,
                     "seed": 5, **meta},
        "customers": {"patience_days": {"dist": "exponential", "mean": 6},
                      "churn": {"on_stockout": 0.1, "on_cancel": 0.2}},
        "products": [{
            "id": "widget", "price": 10, "unit_cost": 4, "holding_cost_per_day": 0.05,
            "initial_stock": 10,
            "demand": {"orders_per_day": 4},
            "replenishment": {"rule": "s_S", "reorder_point": 5, "order_up_to": 30,
                              "supplier": "acme", "lane": "sea"},
        }],
        "suppliers": [{"id": "acme", "lead_time_days": {"dist": "gamma", "mean": 4, "cv": 0.3}}],
        "lanes": [{"id": "sea", "disruptions": [{"start_day": 20, "end_day": 30}]}],
        "policies": [
            {"name": "backorder", "availability": "backorder"},
            {"name": "out-of-stock", "availability": "out_of_stock"},
            {"name": "lean", "availability": "backorder",
             "replenishment": {"widget": {"order_up_to": 15}}},
        ],
    }  # fmt: skip


# ---- load and variants --------------------------------------------------------------------


def test_load_from_path_dict_and_scenario() -> None:
    from_file = load(FIXTURE)
    assert load(str(FIXTURE)) == from_file
    assert load(from_file) is from_file
    assert load(small()).scenario.name == "small"
    assert stockout.load is load  # re-exported


def test_the_whole_api_is_importable_from_the_package() -> None:
    """What the docs call as ``stockout.<name>`` exists: every public name of stockout.api (the
    docs' ``stockout.scenario_dict`` once raised AttributeError)."""
    import stockout.api as api

    for name in api.__all__:
        assert name in stockout.__all__ and name in dir(stockout), name
        assert getattr(stockout, name) is getattr(api, name), name
    assert stockout.scenario_dict(load(small()))["scenario"]["name"] == "small"
    from stockout.scenario.errors import ScenarioError as Error

    assert stockout.ScenarioError is Error
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = stockout.nope


def test_load_reports_problems() -> None:
    bad = small()
    bad["products"][0]["price"] = -1
    with pytest.raises(ScenarioError, match=r"price"):
        load(bad)


def test_with_overrides_never_mutates() -> None:
    base = load(small())
    before = base.model_dump()
    variant = with_overrides(base, replications=7, seed=9, horizon_days=90.5)
    assert base.model_dump() == before
    meta = variant.scenario
    assert (meta.replications, meta.seed, meta.horizon_days) == (7, 9, 90.5)
    assert variant.products == base.products and variant.policies == base.policies
    assert with_overrides(base) == base


def test_with_overrides_keeps_default_policies() -> None:
    data = small()
    del data["policies"]
    base = load(data)
    variant = with_overrides(base, seed=1, policies=["out-of-stock"])
    assert [p.name for p in variant.policies] == ["out-of-stock"]


def test_policies_filter_in_the_given_order_and_baseline() -> None:
    base = load(small(baseline="out-of-stock"))
    variant = with_overrides(base, policies=["lean", "out-of-stock"])
    assert [p.name for p in variant.policies] == ["lean", "out-of-stock"]
    assert variant.baseline == "out-of-stock"  # kept
    assert variant.policy("lean").replenishment == {"widget": {"order_up_to": 15}}
    dropped = with_overrides(base, policies=["lean", "backorder"])
    assert dropped.baseline == "lean"  # baseline filtered out: the first remaining
    implicit = with_overrides(load(small()), policies=["lean", "backorder"])
    assert implicit.baseline == "backorder"  # the implicit baseline (first policy) is kept


def test_unknown_policy_names_the_option() -> None:
    with pytest.raises(ScenarioError) as caught:
        with_overrides(load(small()), policies=["lean", "bakorder", "nope"], source="shop.toml")
    text = str(caught.value)
    assert "shop.toml: --policies: unknown policy 'bakorder'; did you mean 'backorder'?" in text
    assert "unknown policy 'nope'" in text
    with pytest.raises(ScenarioError, match="--policies"):
        with_overrides(load(small()), policies=[])


def test_override_that_breaks_the_scenario_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match=r"warmup_days.*\(--horizon set horizon_days\)"):
        with_overrides(load(small()), horizon_days=2)
    # a bad value is named by the option that gave it
    with pytest.raises(ScenarioError) as caught:
        with_overrides(load(small()), horizon_days=float("nan"), source="shop.toml")
    assert "shop.toml: --horizon (scenario.horizon_days): must be a number" in str(caught.value)
    with pytest.raises(ScenarioError, match="replications"):
        with_overrides(load(small()), replications=0)


# ---- runs of the real model ---------------------------------------------------------------


def test_run_gives_the_tables() -> None:
    calls: list[tuple[int, int]] = []
    results = run(load(small()), progress=lambda done, total: calls.append((done, total)))
    assert isinstance(results, Results)
    assert calls[-1] == (9, 9)
    assert len(results.runs) == 9
    assert results.policies == ["backorder", "out-of-stock", "lean"]
    assert results.baseline == "backorder"
    assert list(results.replications.columns) == ["replication", "policy", "product", *METRICS]
    assert len(results.replications) == 3 * 3 * 2  # reps x policies x (widget, all)
    assert len(results.summary) == 3 * 2 * len(METRICS)
    assert results.summary is results.summary  # computed once
    assert {"on_hand", "backlog_units"} <= set(results.timeseries["series"])
    assert results.windows[["kind", "id", "start_day", "end_day"]].values.tolist()[:1] == [
        ["lane", "sea", 20.0, 30.0]
    ]
    table = results.compare()
    assert set(table["policy"]) == {"out-of-stock", "lean"}


def test_same_seed_same_summary_and_other_seed_differs() -> None:
    scenario = load(small())
    a, b = run(scenario), run(scenario)
    pd.testing.assert_frame_equal(a.replications, b.replications)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    c = run(with_overrides(scenario, seed=6))
    assert not a.replications.equals(c.replications)


def test_jobs_do_not_change_results() -> None:
    scenario = load(small())
    one, two = run(scenario, jobs=1), run(scenario, jobs=2)
    pd.testing.assert_frame_equal(one.replications, two.replications)
    pd.testing.assert_frame_equal(one.timeseries, two.timeseries)
    pd.testing.assert_frame_equal(one.waits, two.waits)


def test_run_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    results = run(small())
    _ = results.summary, results.timeseries, results.waits, results.windows
    assert list(tmp_path.iterdir()) == []


def test_stockout_sweep_runs_a_sweep_every_time_it_is_called() -> None:
    """``stockout.sweep`` is the function and the module of the same name: once the module had
    been imported (by the first call, or by anything else), the package attribute was the
    module, and a second ``stockout.sweep(...)`` in a notebook failed: 'module' object is not
    callable."""
    import importlib

    importlib.import_module("stockout.sweep")
    scenario = load(small(replications=2, horizon_days=20))
    vary = {"customers.patience_days.mean": [3.0, 9.0]}
    for _ in range(2):
        result = stockout.sweep(scenario, vary)
        assert list(result.points["customers.patience_days.mean"]) == [3.0, 9.0]
