# ruff: noqa: E501  (the table of meanings reads best one key per line)
"""Generate docs/reference-scenario.md from the scenario schema (the pydantic models).

    python docs/tools/gen_reference.py            # rewrite docs/reference-scenario.md
    python docs/tools/gen_reference.py --check    # exit 1 if the committed file is stale

Every key of every table, with its type, default, constraints and meaning, is read from the JSON
Schema that pydantic derives from ``stockout.scenario.schema`` (so it cannot drift); the meanings
below add the words the models do not carry. A key without a meaning here is still listed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from stockout import api

OUT = Path(__file__).resolve().parents[1] / "reference-scenario.md"

# table title, $defs name, how it is written in TOML
SECTIONS = [
    ("[scenario]", "ScenarioMeta"),
    ("[customers]", "Customers"),
    ("[customers.churn]", "Churn"),
    ("[[products]]", "Product"),
    ("[products.demand]", "Demand"),
    ("seasonality = {...}", "Seasonality"),
    ("spikes = [{...}] (scheduled)", "Spike"),
    ("spikes = [{...}] (random)", "RandomSpikes"),
    ("[products.replenishment] rule = \"base_stock\"", "BaseStockRule"),
    ("[products.replenishment] rule = \"s_S\"", "SSRule"),
    ("[products.replenishment] rule = \"r_Q\"", "RQRule"),
    ("[products.replenishment] rule = \"periodic\"", "PeriodicRule"),
    ("[products.replenishment] rule = \"make_to_order\"", "MakeToOrderRule"),
    ("[products.replenishment] rule = \"forecast\"", "ForecastRule"),
    ("[products.replenishment] rule = \"scheduled\"", "ScheduledRule"),
    ("deliveries = [{...}]", "Delivery"),
    ("[products.replenishment] rule = \"none\"", "NoRule"),
    ("[[suppliers]]", "Supplier"),
    ("[[lanes]]", "Lane"),
    ("outages / disruptions (scheduled window)", "Window"),
    ("outages / disruptions (random windows)", "RandomWindows"),
    ("[costs]", "Costs"),
    ("[[policies]] availability = \"backorder\"", "BackorderPolicy"),
    ("[[policies]] availability = \"out_of_stock\"", "OutOfStockPolicy"),
    ("[[policies]] availability = \"preorder\"", "PreorderPolicy"),
    ("[[policies]] availability = \"custom\"", "CustomPolicy"),
]

MEANING = {
    "ScenarioMeta.name": "Used in result folder names (letters, digits, `.`, `_`, `-`).",
    "ScenarioMeta.title": "One line shown at the top of the report.",
    "ScenarioMeta.description": "The business story and what to look at (Markdown), shown in the report.",
    "ScenarioMeta.horizon_days": "Total simulated time, warm-up included.",
    "ScenarioMeta.warmup_days": "Statistics cover orders arriving, and time, in (warmup_days, horizon_days].",
    "ScenarioMeta.replications": "Independent replications per policy (common random numbers across policies).",
    "ScenarioMeta.seed": "Master random seed: same seed, same results, with any number of workers.",
    "ScenarioMeta.baseline": "The policy every other is compared against (default: the first policy).",
    "Customers.population": "Active customers at day 0; demand rates are for this size.",
    "Customers.patience_days": "Longest wait a customer accepts (a distribution). Omitted: infinitely patient.",
    "Customers.acquisition_per_day": "New customers joining the population per day (Poisson).",
    "Customers.churn": "The `[customers.churn]` table.",
    "Churn.on_stockout": "Probability a customer leaves for good after meeting an out-of-stock item.",
    "Churn.on_declined_quote": "... after being quoted a wait longer than their patience.",
    "Churn.on_cancel": "... after cancelling a waiting order.",
    "Churn.on_late": "... after receiving an order later than its quoted date.",
    "Churn.background_per_year": "Share of the population leaving per year for reasons not modelled.",
    "Product.id": "Product id (SKU), used in results and in policies' overrides.",
    "Product.price": "Price per unit.",
    "Product.unit_cost": "Cost per unit bought.",
    "Product.salvage_value": "What a unit left on hand at the horizon is worth (a clearance price, or 0 if thrown away). `gross_profit` is charged (unit_cost − salvage_value) per unit left. Omitted: `unit_cost` (a continuing business keeps its stock at cost: no charge).",
    "Product.holding_cost_per_day": "Storage cost per unit on hand per day (h).",
    "Product.backorder_cost_per_day": "Shortage (goodwill) cost per unit waiting per day (p).",
    "Product.initial_stock": "Units on hand at day 0.",
    "Product.release_day": "Before this day the product does not exist yet (pre-orders).",
    "Product.lost_demand_recorded": "Share of the customers refused as \"out of stock\" (and not signed up for notify-me, which is always recorded) whose visit the shop records: their demand counts in `recorded_demand_units` and in what a forecast learns.",
    "Product.patience_days": "Overrides `customers.patience_days` for this product.",
    "Product.demand": "The `[products.demand]` table.",
    "Product.replenishment": "The `[products.replenishment]` table (a rule, see below). Default: none.",
    "Demand.orders_per_day": "Poisson rate at full population, before seasonality and spikes (λ).",
    "Demand.quantity": "Units per order (a distribution).",
    "Demand.seasonality": "Rate multiplier 1 + amplitude·cos(2π(t − peak_day)/period_days).",
    "Demand.spikes": "Windows in which the rate is multiplied: scheduled or random.",
    "Seasonality.amplitude": "0 = flat, 1 = the rate falls to 0 at the trough.",
    "Seasonality.period_days": "Length of one cycle.",
    "Seasonality.peak_day": "Day of the highest rate.",
    "Spike.start_day": "First day of the spike.",
    "Spike.end_day": "End of the spike (exclusive).",
    "Spike.multiplier": "The arrival rate is multiplied by this during the spike.",
    "RandomSpikes.every_days": "Time from the end of one spike to the next onset (a distribution).",
    "RandomSpikes.duration_days": "Length of each spike (a distribution).",
    "RandomSpikes.start_day": "No spike starts before this day.",
    "RandomSpikes.multiplier": "The arrival rate is multiplied by this during a spike.",
    "order_up_to": "S: order up to this inventory position.",
    "reorder_point": "s or r: order when the inventory position is at or below this.",
    "order_quantity": "Q: order enough multiples of Q to lift the position above r.",
    "review_period_days": "0 = continuous review; R > 0 = review at days 0, R, 2R, ... (the statistics window holds n reviews in n periods: with no warm-up, the one of day 0 is before it).",
    "order_cost": "Fixed cost per replenishment order (K).",
    "supplier": "Id of the `[[suppliers]]` entry that fills the orders.",
    "lane": "Id of the `[[lanes]]` entry goods travel on (none: no transit time).",
    "rule": "The replenishment rule (the tag that selects this table).",
    "ForecastRule.review_period_days": "R > 0: reviews at days 0, R, 2R, ... (a forecast rule always reviews periodically).",
    "ForecastRule.method": "`moving_average` (over `window_days`) or `exponential_smoothing` (weight `alpha`).",
    "ForecastRule.window_days": "Moving average over this many days: a whole number of review periods, p = window_days / R. Default 28. Only with `moving_average`.",
    "ForecastRule.alpha": "Exponential smoothing weight α (0 < α ≤ 1). Default 0.3. Only with `exponential_smoothing`.",
    "ForecastRule.estimator": "`recorded`: the units recorded per day; `in_stock_corrected`: the units recorded while in stock per day in stock (recorded demand per day ÷ share of time in stock).",
    "ForecastRule.safety_z": "z: safety stock = z × the forecast error's standard deviation over the mean lead time + review period.",
    "ScheduledRule.deliveries": "Fixed quantities arriving on fixed days (known in advance: quotable).",
    "Delivery.day": "Day the delivery arrives.",
    "Delivery.quantity": "Units delivered.",
    "Supplier.id": "Supplier id.",
    "Supplier.lead_time_days": "Production/lead time per order, drawn independently (a distribution).",
    "Supplier.capacity_per_day": "One production line making a unit in 1/capacity days; orders queue FIFO; the lead time runs after production. Omitted: infinite.",
    "Supplier.production_time_days": "Instead of `capacity_per_day`: one production line whose time to make a unit is drawn from this distribution, independently for every unit (an order of q units takes the sum of q draws; above 2^20 units a normal time with that sum's mean and variance). Orders queue FIFO; quotes plan with the mean. Exponential with unit make-to-order orders: M/M/1. Omitted: `capacity_per_day`, or infinite.",
    "Supplier.min_order_qty": "Smaller orders are raised to this.",
    "Supplier.outages": "Windows in which the supplier produces nothing (scheduled or random).",
    "Supplier.short_shipment_probability": "Probability an order arrives short.",
    "Supplier.short_shipment_share": "Share of the units a short shipment carries.",
    "Supplier.short_shipment_remainder": "The rest arrives one more lead time later (`later`) or never (`never`, not paid for).",
    "Lane.id": "Lane id.",
    "Lane.transit_days": "Transit time per shipment (a distribution).",
    "Lane.disruptions": "Windows in which nothing moves on the lane (scheduled or random).",
    "Lane.loss_probability": "Probability a shipment is lost in transit (all its units).",
    "Window.start_day": "Start of the window.",
    "Window.end_day": "End of the window (exclusive). Known to quotes once the window has begun (it was announced).",
    "RandomWindows.every_days": "Time from the end of one window to the next onset (a distribution).",
    "RandomWindows.duration_days": "Length of each window (a distribution). Nobody knows a window's length until it ends: while one is in progress, quotes assume it lasts its expected remaining duration given how long it has lasted, E[D − a | D > a] (with `quote_percentile` q, the q-quantile of D − a given D > a).",
    "RandomWindows.start_day": "No window starts before this day.",
    "Costs.backorder_handling": "Cost per order accepted to wait.",
    "Costs.cancellation_handling": "Cost per cancelled order (refunds, support).",
    "name": "Policy name, shown in results.",
    "availability": "The availability rule (the tag that selects this table).",
    "replenishment": "Per-product overrides of `[products.replenishment]`: `[policies.replenishment.<product id>]`.",
    "max_quoted_wait_days": "Beyond this quoted wait the item is shown out of stock.",
    "max_backlog_units": "Beyond this many units waiting the item is shown out of stock.",
    "quote_buffer_days": "Added to the computed ship date.",
    "quote_percentile": "Quote with this quantile of lead and transit times instead of their means (and of the remaining duration of a random outage or closure in progress).",
    "partial_shipments": "Ship what is on hand now, the rest later.",
    "payment": "`at_order` (prepaid: cash held) or `at_shipment`.",
    "notify_me_share": "Share of refused customers who come back when stock arrives (if still patient).",
    "after_release": "What applies after the release day: `backorder` or `out_of_stock`.",
    "max_preorders": "At most this many pre-orders are taken.",
    "class": "`module:ClassName` of a policy class (module looked up next to the scenario first).",
    "options": "Keyword arguments for the class.",
}


def _type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        return f"table ({prop['$ref'].rsplit('/', 1)[1]})"
    if "const" in prop:
        return f"`\"{prop['const']}\"`"
    if "enum" in prop:
        return " \\| ".join(f"`\"{v}\"`" for v in prop["enum"])
    if "discriminator" in prop:
        tag = prop["discriminator"]["propertyName"]
        return f"{'distribution' if tag == 'dist' else tag + ' table'}"
    for key in ("anyOf", "oneOf"):
        if key in prop:
            parts = [_type(p, defs) for p in prop[key] if p.get("type") != "null"]
            return " or ".join(dict.fromkeys(parts))
    t = prop.get("type")
    if t == "array":
        return f"list of {_type(prop.get('items', {}), defs)}"
    if t == "object":
        return "table"
    return {"number": "number", "integer": "integer", "string": "string", "boolean": "boolean"}.get(
        str(t), str(t)
    )


def _constraints(prop: dict[str, Any]) -> str:
    out = []
    for p in [prop, *prop.get("anyOf", [])]:
        for key, sym in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"),
                         ("exclusiveMaximum", "<"), ("minLength", "length ≥"),
                         ("maxLength", "length ≤"), ("minItems", "items ≥"),
                         ("maxItems", "items ≤")):
            if key in p:
                out.append(f"{sym} {p[key]:g}" if isinstance(p[key], float) else f"{sym} {p[key]}")
        if "pattern" in p:
            out.append(f"matches `{p['pattern']}`")
    return ", ".join(out)


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in prop:
        return ""
    d = prop["default"]
    if d is None:
        return "none"
    if isinstance(d, dict) and "dist" in d:
        return "`" + json.dumps(d).replace('"', "'") + "`"
    if isinstance(d, dict | list):
        return "`[]`" if d == [] else "(see its table)"
    if isinstance(d, bool):
        return f"`{str(d).lower()}`"
    if isinstance(d, str):
        return f"`\"{d}\"`"
    return f"`{d:g}`" if isinstance(d, float) else f"`{d}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(title: str, name: str, defs: dict, glossary: bool) -> list[str]:
    """The section of one table of the format: its description, then a row per key (meanings
    from the glossary above when ``glossary``, else from the schema's descriptions)."""
    d = defs[name]
    lines = ["", f"### `{title}`", ""]
    if d.get("description"):
        lines += [" ".join(d["description"].split()), ""]
    lines += ["| key | type | default | constraints | meaning |",
              "| --- | --- | --- | --- | --- |"]
    required = set(d.get("required", []))
    for key, prop in d["properties"].items():
        meaning = prop.get("description", "")
        if glossary:
            meaning = MEANING.get(f"{name}.{key}", MEANING.get(key, meaning))
        lines.append(
            f"| `{key}` | {_cell(_type(prop, defs))} | {_default(prop, key in required)} "
            f"| {_cell(_constraints(prop))} | {_cell(meaning)} |"
        )
    return lines


def render() -> str:
    schema = api.json_schema()
    defs = schema["$defs"]
    lines = [
        "<!-- GENERATED by docs/tools/gen_reference.py from the scenario schema: do not edit. -->",
        "# Scenario file reference",
        "",
        "Every key of a scenario file, generated from the schema that validates it (so it cannot",
        "drift). Times are in days, money in one currency, rates per day. Unknown keys are errors.",
        "For a guided introduction see [howto-write-a-scenario.md](howto-write-a-scenario.md); for",
        "editor completion, the JSON Schema is [scenario.schema.json](scenario.schema.json).",
        "",
        "## Distributions",
        "",
        "Written the same way everywhere, as an inline table with a `dist` tag:",
        "",
        "| `dist` | keys | meaning |",
        "| --- | --- | --- |",
    ]
    for kind in ("Constant", "Uniform", "Triangular", "Exponential", "Normal", "Lognormal",
                 "Gamma", "Poisson", "Geometric", "Empirical"):
        d = defs[kind]
        keys = ", ".join(f"`{k}`" for k in d["properties"] if k != "dist")
        tag = d["properties"]["dist"].get("const", kind.lower())
        lines.append(f"| `{tag}` | {keys} | {_cell(d.get('description', kind))} |")
    lines.append("")
    lines.append("## Tables")
    for title, name in SECTIONS:
        if name not in defs:
            continue
        lines += _table(title, name, defs, glossary=True)
    others = sorted(set(defs) - {n for _, n in SECTIONS} - {
        "Constant", "Uniform", "Triangular", "Exponential", "Normal", "Lognormal", "Gamma",
        "Poisson", "Geometric", "Empirical"})
    for name in others:
        lines += _table(name, name, defs, glossary=False)
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        return 0 if OUT.read_text(encoding="utf-8") == text else 1
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
