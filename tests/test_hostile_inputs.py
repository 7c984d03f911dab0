"""Hostile inputs found by an audit: each exits 2 with a located message (or runs correctly),
never an internal error, a hang, silent nonsense, or lost work.

- distribution parameters that validate one by one but cannot be drawn (a gamma's shape
  1/cv² overflowing, a Poisson mean past numpy's limit, weights whose sum is infinite), and
  customer orders of more units than an int64 holds;
- a truncated normal far below 0 (redrawing took millions of rounds: a hang);
- demand whose peak is infinite (multipliers of 1e308): exit 2 with the memory advice;
- a seasonality whose peak_day or period overflowed the cosine (nan: demand silently 0);
- a review period so short the run never ends.

Output and folders: ``test_hostile_outputs.py``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from stockout import api
from stockout.cli import main
from stockout.distributions import batch_drawer, mean_of
from stockout.results_io import to_toml
from stockout.scenario.schema import Normal


def base(**products: Any) -> dict[str, Any]:
    product: dict[str, Any] = {
        "id": "w", "price": 10.0, "initial_stock": 10,
        "demand": {"orders_per_day": 3.0},
        "replenishment": {"rule": "s_S", "reorder_point": 3, "order_up_to": 10, "supplier": "s"},
    }  # fmt: skip
    product.update(products)
    return {
        "scenario": {"name": "hostile", "horizon_days": 20.0, "replications": 2, "seed": 1},
        "products": [product],
        "suppliers": [{"id": "s", "lead_time_days": {"dist": "constant", "value": 2.0}}],
        "policies": [{"name": "bo", "availability": "backorder"}],
    }


def write(tmp_path: Path, data: dict[str, Any], name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    text = out + err
    assert "Traceback" not in text and "internal error" not in text, text
    return code, text


def run_args(path: Path, out: Path) -> list[object]:
    return ["run", path, "--jobs", "1", "--no-report", "-q", "--out", out]


# ---- distributions that validate key by key but cannot be drawn ----------------------------

LEAD = ("suppliers", 0, "lead_time_days")


@pytest.mark.parametrize(
    ("spec", "key", "says"),
    [
        ({"dist": "gamma", "mean": 5, "cv": 1e-300}, "cv", "too small for a gamma"),
        ({"dist": "gamma", "mean": 5, "cv": 1e300}, "cv", "too large for a gamma"),
        ({"dist": "lognormal", "mean": 5, "cv": 1e300}, "cv", "too large for a lognormal"),
        ({"dist": "poisson", "mean": 1e300}, "mean", "must be at most"),
        ({"dist": "empirical", "values": [1, 2], "weights": [1e308, 1e308]}, "weights",
         "scale them down"),
    ],
    ids=["gamma-tiny-cv", "gamma-huge-cv", "lognormal-huge-cv", "poisson-huge", "weights-inf"],
)
def test_undrawable_distributions_are_load_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: dict[str, Any], key: str, says: str
) -> None:
    data = base()
    data["suppliers"][0]["lead_time_days"] = spec
    path = write(tmp_path, data)
    code, text = cli(capsys, *run_args(path, tmp_path / "out"))
    assert code == 2
    assert f"{path}:" in text and f"suppliers[s].lead_time_days.{key}:" in text and says in text


@pytest.mark.parametrize(
    "quantity",
    [{"dist": "constant", "value": 1e300}, {"dist": "constant", "value": float("inf")},
     {"dist": "lognormal", "mean": 1e15, "cv": 1.0}],
    ids=["constant-1e300", "constant-inf", "lognormal-1e15"],
)
def test_orders_of_more_units_than_can_be_counted_are_load_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], quantity: dict[str, Any]
) -> None:
    data = base()
    data["products"][0]["demand"]["quantity"] = quantity
    path = write(tmp_path, data)
    code, text = cli(capsys, "validate", path)
    assert code == 2
    assert "products[w].demand.quantity: quantity is units per order" in text
    assert "at most 1,000,000,000" in text


def test_a_truncated_normal_far_below_zero_is_drawn_at_once() -> None:
    import numpy as np

    spec = Normal(dist="normal", mean=-4.9, sd=1.0)
    started = time.perf_counter()
    draws = batch_drawer(spec)(np.random.default_rng(3), 20_000)
    assert time.perf_counter() - started < 2.0  # redrawing the negatives took minutes
    assert (draws >= 0).all()
    # E[X | X >= 0] (mean_of computes it exactly); its sd is about 0.19 here
    assert abs(draws.mean() - mean_of(spec)) < 0.01


# ---- demand and time that overflow ---------------------------------------------------------


@pytest.mark.parametrize(
    "demand",
    [{"orders_per_day": 3.0, "seasonality": {"weekday": [1e308] * 7}},
     {"orders_per_day": 3.0, "spikes": [{"start_day": 0, "end_day": 20, "multiplier": 1e308}]}],
    ids=["weekday-1e308", "spike-1e308"],
)
def test_an_infinite_demand_peak_is_bad_input_with_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], demand: dict[str, Any]
) -> None:
    path = write(tmp_path, base(demand=demand))
    code, text = cli(capsys, *run_args(path, tmp_path / "out"))
    assert code == 2
    assert "product 'w' would get inf orders a day" in text and "make them smaller" in text
    assert "RuntimeWarning" not in text


def _orders(data: dict[str, Any]) -> float:
    rows = api.run(data).summary
    pick = rows[(rows["product"] == "all") & (rows["metric"] == "orders")]
    return float(pick["mean"].iloc[0])


def test_seasonality_far_peak_day_or_tiny_period_keeps_its_demand() -> None:
    def seasonal(**season: Any) -> dict[str, Any]:
        return base(demand={"orders_per_day": 3.0, "seasonality": {"amplitude": 0.5, **season}})

    near = _orders(seasonal(peak_day=340.0, period_days=365.0))
    # the same peaks, 10^12 years later: the same candidates, the same orders
    assert _orders(seasonal(peak_day=340.0 + 365.0 * 10**12, period_days=365.0)) == near
    assert _orders(seasonal(peak_day=1e308)) > 0  # was nan: every order thinned away
    assert _orders(seasonal(period_days=1e-300)) > 0


def test_a_review_period_too_short_to_finish_is_a_load_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base()
    data["products"][0]["replenishment"] = {
        "rule": "periodic", "review_period_days": 1e-300, "order_up_to": 5, "supplier": "s"}
    data["policies"].append({"name": "fast", "availability": "backorder", "replenishment": {
        "w": {"review_period_days": 1e-9}}})
    path = write(tmp_path, data)
    code, text = cli(capsys, "validate", path)
    assert code == 2
    assert "products[w].replenishment.review_period_days: a review every 1e-300 days" in text
    assert "policies[fast].replenishment.w.review_period_days: a review every 1e-09 days" in text
    assert "make review_period_days at least 2e-06 days" in text


