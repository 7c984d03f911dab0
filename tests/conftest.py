"""Shared helpers for the model and validation tests.

``make_scenario(**overrides)`` builds the plain dict of a one-product scenario with everything the
theory does not have switched off (no churn, no seasonality or spikes, no disruptions, infinite
capacity and patience); ``scenario(**overrides)`` validates it into a :class:`Scenario`.
``ci(values)`` is the mean and 95% Student-t half-width over replications;
``assert_close_to_theory`` applies the 2 × half-width rule (docs/validation.md, "How the tolerance
is set").
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from stockout.scenario.schema import Scenario

CHECKOUT_RESULTS = Path(__file__).resolve().parents[1] / "results"


def _entries(folder: Path) -> set[str]:
    """Every path under ``folder`` (relative), folders included: an empty folder counts."""
    if not folder.is_dir():
        return set()
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture(scope="session", autouse=True)
def _checkout_results_untouched() -> Iterator[None]:
    """Tests write under a temporary folder, never into the checkout's results/: the session
    fails (an error at its last test) if results/ gained anything, an empty folder included."""
    before = _entries(CHECKOUT_RESULTS)
    yield
    gained = sorted(_entries(CHECKOUT_RESULTS) - before)
    assert not gained, (
        f"the tests wrote into {CHECKOUT_RESULTS}: {', '.join(gained[:10])}; "
        "write under tmp_path (--out or --results-root) instead"
    )


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it; nested dicts merge, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def make_scenario(
    *,
    orders_per_day: float = 5.0,
    order_up_to: int = 10,
    initial_stock: int | None = None,
    lead_time_days: Mapping[str, Any] | None = None,
    availability: str | Mapping[str, Any] = "backorder",
    horizon_days: float = 100.0,
    warmup_days: float = 0.0,
    replications: int = 1,
    seed: int = 1,
    replenishment: Mapping[str, Any] | None = None,
    product: Mapping[str, Any] | None = None,
    supplier: Mapping[str, Any] | None = None,
    policies: list[Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A one-product ("w"), one-supplier ("s") scenario dict.

    Defaults: continuous-review base stock up to ``order_up_to`` starting with that much on hand,
    constant lead time 1 day, unit demand, one policy named "p" with ``availability`` (a string or
    a full policy table), no churn / seasonality / spikes / disruptions / capacity, patience
    infinite. ``replenishment``, ``product`` and ``supplier`` are merged over the defaults
    (``replenishment`` replaces the rule table when it names another rule); ``policies`` replaces
    the policy list; ``extra`` is deep-merged over the whole dict last.
    """
    rule: dict[str, Any] = {"rule": "base_stock", "order_up_to": order_up_to, "supplier": "s"}
    if replenishment is not None:
        if "rule" in replenishment and replenishment["rule"] != "base_stock":
            rule = {"supplier": "s"} if replenishment["rule"] not in ("none", "scheduled") else {}
        rule = deep_merge(rule, replenishment)
    prod: dict[str, Any] = {
        "id": "w",
        "price": 1.0,
        "initial_stock": order_up_to if initial_stock is None else initial_stock,
        "demand": {"orders_per_day": orders_per_day},
        "replenishment": rule,
    }
    if product:
        prod = deep_merge(prod, product)
    sup: dict[str, Any] = {
        "id": "s",
        "lead_time_days": dict(lead_time_days or {"dist": "constant", "value": 1.0}),
    }
    if supplier:
        sup = deep_merge(sup, supplier)
    if policies is None:
        pol = (
            {"name": "p", "availability": availability}
            if isinstance(availability, str)
            else {"name": "p", **availability}
        )
        policies = [pol]
    data: dict[str, Any] = {
        "scenario": {
            "name": "test",
            "horizon_days": horizon_days,
            "warmup_days": warmup_days,
            "replications": replications,
            "seed": seed,
        },
        "products": [prod],
        "suppliers": [sup],
        "policies": [dict(p) for p in policies],
    }
    if extra:
        data = deep_merge(data, extra)
    return data


def scenario(**overrides: Any) -> Scenario:
    """``make_scenario(**overrides)`` validated."""
    return Scenario.model_validate(make_scenario(**overrides))


def ci(values: Iterable[float]) -> tuple[float, float]:
    """Mean and 95% Student-t confidence half-width over independent replications."""
    x = np.asarray(list(values), dtype=float)
    n = len(x)
    if n < 2:
        raise ValueError("need at least two replications for an interval")
    half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return float(x.mean()), float(half)


def assert_close_to_theory(
    values: Iterable[float], theory: float, what: str, *, floor: float = 0.0
) -> None:
    """|mean − theory| ≤ 2 × (95% half-width) (docs/validation.md). ``floor`` only guards a
    half-width of exactly 0 (a metric that is deterministic in the run), never widens a real
    interval."""
    mean, half = ci(values)
    tol = max(2.0 * half, floor)
    assert abs(mean - theory) <= tol, (
        f"{what}: simulated {mean:.6g} ± {half:.3g} (95% CI), theory {theory:.6g}, "
        f"|diff| {abs(mean - theory):.3g} > 2h = {tol:.3g}"
    )


@pytest.fixture
def make() -> Any:
    """The scenario builder as a fixture, for tests that prefer fixtures to imports."""
    return make_scenario
