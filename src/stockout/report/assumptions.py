"""The assumptions table: the key parameters of the scenario, in words a planner reads."""

from __future__ import annotations

from typing import Any


def _num(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int | float):
        return f"{x:,.10g}"
    return str(x)


def distribution(spec: Any) -> str:
    """``{dist = "gamma", mean = 7, cv = 0.3}`` -> ``gamma (mean 7, cv 0.3)``."""
    if not isinstance(spec, dict):
        return _num(spec)
    kind = spec.get("dist", "?")
    if kind == "constant":
        return _num(spec.get("value"))
    if kind == "empirical":
        return _empirical(spec)
    args = ", ".join(f"{k} {_num(v)}" for k, v in spec.items() if k != "dist")
    return f"{kind} ({args})"


MAX_LISTED = 12  # an empirical distribution's values shown before "… and N more"


def _empirical(spec: dict[str, Any]) -> str:
    """``1 (60%), 2 (30%), 3 (10%)``: the values with their probabilities (the first
    :data:`MAX_LISTED`, then how many more)."""
    values = list(spec.get("values", []))
    weights = [float(w) for w in spec.get("weights") or []]
    total = sum(weights)
    if len(weights) == len(values) and total > 0:
        items = [f"{_num(v)} ({w / total:.0%})" for v, w in zip(values, weights, strict=True)]
    else:
        items = [_num(v) for v in values]
    more = f" … and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    equal = "" if weights else ", equally likely"
    return f"one of {', '.join(items[:MAX_LISTED])}{more}{equal}"


def distribution_mean(spec: Any) -> float | None:
    """The mean of a distribution spec, for "nominal lead time" style comparisons."""
    if isinstance(spec, int | float):
        return float(spec)
    if not isinstance(spec, dict):
        return None
    kind = spec.get("dist")
    if "mean" in spec:
        return float(spec["mean"])
    if kind == "constant":
        return float(spec.get("value", 0))
    if kind == "uniform":
        return (float(spec["low"]) + float(spec["high"])) / 2
    if kind == "triangular":
        return (float(spec["low"]) + float(spec["mode"]) + float(spec["high"])) / 3
    if kind == "empirical":
        values = [float(v) for v in spec.get("values", [])]
        weights = [float(w) for w in spec.get("weights") or [1.0] * len(values)]
        total = sum(weights)
        return sum(v * w for v, w in zip(values, weights, strict=False)) / total if total else None
    return None


def _windows(items: list[Any]) -> str:
    parts = []
    for w in items:
        if "start_day" in w and "end_day" in w and "every_days" not in w:
            extra = f" ×{_num(w['multiplier'])}" if "multiplier" in w else ""
            parts.append(f"days {_num(w['start_day'])}–{_num(w['end_day'])}{extra}")
        else:
            parts.append(
                f"random: every {distribution(w.get('every_days'))}, "
                f"lasting {distribution(w.get('duration_days'))}"
            )
    return "; ".join(parts)


def _options(table: dict[str, Any], skip: tuple[str, ...]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {_num(v)}" for k, v in table.items()
                     if k not in skip and not isinstance(v, dict | list))  # fmt: skip


Row = tuple[str, str, str]  # (group, item, value)


def run_rows(scenario: dict[str, Any], manifest: dict[str, Any]) -> list[Row]:
    meta = scenario.get("scenario", {})
    customers = scenario.get("customers", {})
    churn = customers.get("churn", {})
    rows: list[Row] = [
        ("Run", "Horizon", f"{_num(manifest.get('horizon_days', meta.get('horizon_days')))} days"),
        ("Run", "Warm-up (not counted)",
         f"{_num(manifest.get('warmup_days', meta.get('warmup_days', 0)))} days"),
        ("Run", "Replications", _num(manifest.get("replications", meta.get("replications", 1)))),
        ("Run", "Seed", str(manifest.get("seed", meta.get("seed", 0)))),
        ("Run", "Baseline policy", str(manifest.get("baseline") or meta.get("baseline", ""))),
        ("Customers", "Population at day 0", _num(customers.get("population", 1000))),
        ("Customers", "Patience", distribution(customers["patience_days"])
         if "patience_days" in customers else "infinitely patient"),
        ("Customers", "New customers per day", _num(customers.get("acquisition_per_day", 0))),
    ]  # fmt: skip
    if churn:
        rows.append(("Customers", "Churn probabilities", _options(churn, ())))
    costs = scenario.get("costs", {})
    if costs:
        rows.append(("Costs", "Handling", _options(costs, ())))
    return rows


def product_rows(scenario: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for p in scenario.get("products", []):
        pid = str(p.get("id"))
        money = _options(p, ("id", "patience_days"))
        demand = p.get("demand", {})
        text = f"{_num(demand.get('orders_per_day'))} orders/day"
        if "quantity" in demand:
            text += f", quantity {distribution(demand['quantity'])}"
        if demand.get("seasonality"):
            text += f", seasonality ({_options(demand['seasonality'], ())})"
        if demand.get("spikes"):
            text += f", spikes {_windows(demand['spikes'])}"
        rows.append((f"Product {pid}", "Price and costs", money))
        rows.append((f"Product {pid}", "Demand", text))
        if "patience_days" in p:
            rows.append((f"Product {pid}", "Patience", distribution(p["patience_days"])))
        rep = p.get("replenishment", {"rule": "none"})
        rule = rep.get("rule", "none")
        if rule == "scheduled":
            deliveries = ", ".join(
                f"day {_num(d['day'])}: {_num(d['quantity'])}" for d in rep.get("deliveries", [])
            )
            rows.append((f"Product {pid}", "Replenishment", f"scheduled: {deliveries}"))
        else:
            rows.append((f"Product {pid}", "Replenishment", _replenishment(rep, rule)))
    return rows


def _replenishment(rep: dict[str, Any], rule: str) -> str:
    """``s_S, continuous review: order cost 20, ...`` (a review period of 0 days is continuous
    review, not a period)."""
    review = rep.get("review_period_days")
    if rule == "none":
        return "none"
    if review is None:
        how = rule
    elif float(review) > 0:
        how = f"{rule}, reviewed every {_num(review)} days"
    else:
        how = f"{rule}, continuous review"
    return f"{how}: {_options(rep, ('rule', 'review_period_days'))}".rstrip(": ")


def supply_rows(scenario: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for s in scenario.get("suppliers", []):
        text = f"lead time {distribution(s.get('lead_time_days', 0))}"
        if "capacity_per_day" in s:
            text += f", capacity {_num(s['capacity_per_day'])} units/day"
        if "production_time_days" in s:
            text += f", one line making a unit in {distribution(s['production_time_days'])} days"
        if "min_order_qty" in s:
            text += f", minimum order {_num(s['min_order_qty'])}"
        if s.get("outages"):
            text += f"; outages {_windows(s['outages'])}"
        rows.append(("Supply", f"Supplier {s.get('id')}", text))
    for lane in scenario.get("lanes", []):
        text = f"transit {distribution(lane.get('transit_days', 0))}"
        if lane.get("disruptions"):
            text += f"; disruptions {_windows(lane['disruptions'])}"
        rows.append(("Supply", f"Lane {lane.get('id')}", text))
    return rows


def policy_rows(scenario: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for p in scenario.get("policies", []):
        text = str(p.get("availability", "?"))
        options = _options(p, ("name", "availability"))
        if options:
            text += f": {options}"
        for product, override in (p.get("replenishment") or {}).items():
            text += f"; {product} replenishment {_options(override, ())}"
        rows.append(("Policies", str(p.get("name")), text))
    return rows


def assumption_rows(scenario: dict[str, Any], manifest: dict[str, Any]) -> list[Row]:
    return [
        *run_rows(scenario, manifest),
        *product_rows(scenario),
        *supply_rows(scenario),
        *policy_rows(scenario),
    ]


def nominal_lead_days(scenario: dict[str, Any], product_id: str) -> float | None:
    """Mean supplier lead time plus mean lane transit for a product, if the scenario says."""
    product = next(
        (p for p in scenario.get("products", []) if str(p.get("id")) == product_id), None
    )
    if product is None:
        return None
    rep = product.get("replenishment", {})
    supplier = next(
        (s for s in scenario.get("suppliers", []) if s.get("id") == rep.get("supplier")), None
    )
    lane = next((x for x in scenario.get("lanes", []) if x.get("id") == rep.get("lane")), None)
    if supplier is None:
        return None
    lead = distribution_mean(supplier.get("lead_time_days", 0)) or 0.0
    transit = distribution_mean(lane.get("transit_days", 0)) if lane else 0.0
    return lead + (transit or 0.0)
