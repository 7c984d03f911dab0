"""Loading valid scenarios: the shared format file, plain dicts, line lookup, the JSON Schema."""

from __future__ import annotations

import json
import math
import pickle
import tomllib
from pathlib import Path

import pytest

from stockout.scenario.jsonschema import json_schema
from stockout.scenario.load import (
    key_lines,
    load_scenario,
    load_scenario_text,
    scenario_from_dict,
)
from stockout.scenario.schema import BackorderPolicy, SSRule

FIXTURES = Path(__file__).parent / "fixtures"
FORMAT = FIXTURES / "scenario-format.toml"
SHARED_FORMAT = Path("/work/shared/scenario-format.toml")

MINIMAL = """
[scenario]
name = "minimal"
horizon_days = 30

[[products]]
id = "a"
price = 1

[products.demand]
orders_per_day = 2
"""


def test_the_format_file_is_the_shared_one_unchanged() -> None:
    if not SHARED_FORMAT.exists():
        pytest.skip("the shared format file is not on this machine")
    assert FORMAT.read_bytes() == SHARED_FORMAT.read_bytes()


def test_the_format_file_loads_with_every_key_as_written() -> None:
    s = load_scenario(FORMAT)
    assert s.scenario.name == "format-tour"
    assert s.scenario.horizon_days == 400 and s.scenario.warmup_days == 30
    assert s.baseline == "out-of-stock"
    assert [p.name for p in s.policies] == [
        "backorder",
        "out-of-stock",
        "lean-backorder",
        "preorder",
    ]
    (widget,) = s.products
    assert widget.id == "widget" and widget.price == 40.0 and widget.initial_stock == 120
    assert isinstance(widget.replenishment, SSRule)
    assert (widget.replenishment.reorder_point, widget.replenishment.order_up_to) == (60, 200)
    assert widget.replenishment.supplier == "acme" and widget.replenishment.lane == "road"
    assert s.supplier("acme").lead_time_days.dist == "gamma"
    assert s.supplier("acme").outages[0].end_day == 100
    assert len(s.lane("road").disruptions) == 2
    assert s.customers.churn.on_cancel == 0.30
    backorder = s.policy("backorder")
    assert isinstance(backorder, BackorderPolicy) and backorder.max_quoted_wait_days == 30


def test_a_policy_override_is_merged_into_the_products_rule() -> None:
    s = load_scenario(FORMAT)
    lean = s.replenishment_for("lean-backorder", "widget")
    assert (lean.rule, lean.reorder_point, lean.order_up_to) == ("s_S", 20, 80)
    assert lean.supplier == "acme" and lean.order_cost == 25.0
    assert s.replenishment_for("backorder", "widget") == s.products[0].replenishment


def test_text_and_path_give_the_same_scenario(tmp_path: Path) -> None:
    text = FORMAT.read_text(encoding="utf-8")
    assert load_scenario_text(text, "x.toml") == load_scenario(FORMAT)
    copy = tmp_path / "copy.toml"
    copy.write_text(text, encoding="utf-8")
    assert load_scenario(str(copy)) == load_scenario(copy)


def test_a_minimal_scenario_gets_the_documented_defaults() -> None:
    s = load_scenario_text(MINIMAL)
    assert [p.name for p in s.policies] == ["backorder", "out-of-stock"]
    assert s.baseline == "backorder"
    assert s.products[0].replenishment.rule == "none"
    assert s.scenario.replications == 1 and s.suppliers == [] and s.lanes == []


def test_the_baseline_may_name_a_default_policy() -> None:
    text = MINIMAL.replace("horizon_days = 30", 'horizon_days = 30\nbaseline = "out-of-stock"')
    assert load_scenario_text(text).baseline == "out-of-stock"


def test_extreme_but_legal_inputs_load() -> None:
    text = MINIMAL.replace("price = 1", "price = 1\nrelease_day = 1000") + (
        '\n[customers]\npatience_days = { dist = "constant", value = inf }\n'
    )
    s = load_scenario_text(text)
    assert s.products[0].release_day == 1000  # released after the horizon: legal
    assert math.isinf(s.customers.patience_days.value)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_scenario(path).scenario.name == "minimal"


def test_a_dict_as_toml_gives_it_validates_like_the_file() -> None:
    data = tomllib.loads(FORMAT.read_text(encoding="utf-8"))
    assert scenario_from_dict(data) == load_scenario(FORMAT)


@pytest.mark.parametrize("by_alias", [False, True])
def test_a_dumped_scenario_validates_again_to_an_equal_one(by_alias: bool) -> None:
    s = load_scenario(FORMAT)
    assert scenario_from_dict(s.model_dump(by_alias=by_alias, exclude_none=True)) == s


def test_a_custom_policy_names_its_class_with_the_class_key() -> None:
    text = MINIMAL + (
        '\n[[policies]]\nname = "mine"\navailability = "custom"\n'
        'class = "my_pkg.policies:Lean"\noptions = { depth = 3 }\n'
    )
    policy = load_scenario_text(text).policy("mine")
    assert policy.class_path == "my_pkg.policies:Lean" and policy.options == {"depth": 3}


def test_a_validated_scenario_pickles() -> None:
    s = load_scenario(FORMAT)
    assert pickle.loads(pickle.dumps(s)) == s


# ---- where keys are ----


def test_key_lines_follow_tables_arrays_of_tables_and_inline_tables() -> None:
    text = FORMAT.read_text(encoding="utf-8")
    lines = key_lines(text)
    numbered = text.splitlines()

    def line_with(snippet: str, start: int = 0) -> int:
        return next(i for i, t in enumerate(numbered, 1) if i > start and snippet in t)

    assert lines[("scenario", "name")] == line_with('name = "format-tour"')
    assert lines[("products", 0)] == line_with("[[products]]")
    assert lines[("products", 0, "replenishment", "order_up_to")] == line_with("order_up_to = 200")
    spikes = line_with("spikes = [")
    assert lines[("products", 0, "demand", "spikes", 0, "multiplier")] == spikes
    assert lines[("suppliers", 0, "lead_time_days", "cv")] == line_with("cv = 0.3 }")
    second = line_with("[[lanes.disruptions]]", line_with("[[lanes.disruptions]]"))
    assert lines[("lanes", 0, "disruptions", 1)] == second
    assert lines[("lanes", 0, "disruptions", 1, "duration_days", "high")] == second + 2
    override = line_with("[policies.replenishment.widget]")
    assert lines[("policies", 2, "replenishment", "widget", "order_up_to")] == override + 2
    assert lines[("policies", 3, "after_release")] == line_with('after_release = "backorder"')


def test_key_lines_skip_multiline_strings_and_quoted_keys() -> None:
    text = (
        'a = """\nb = 1\n[not.a.table]\n"""\n'
        "'c' = '''x\n'''\n"
        '"d.e" = [\n  1,  # one\n  { f = "}" },\n]\n'
        "[t]\ng.h = 2\n"
    )
    tomllib.loads(text)  # the text is valid TOML
    lines = key_lines(text)
    assert ("b",) not in lines and ("not", "a", "table") not in lines
    assert lines[("c",)] == 5
    assert lines[("d.e",)] == 7
    assert lines[("d.e", 1, "f")] == 9
    assert lines[("t", "g", "h")] == 12


def test_key_lines_never_fail_on_broken_text() -> None:
    assert key_lines('[a\nb = = {"\n') == {}
    assert key_lines("x = 1\ny = [1, 2") == {("x",): 1, ("y",): 2, ("y", 0): 2, ("y", 1): 2}


# ---- JSON Schema ----


def test_the_json_schema_is_json_with_a_dialect_and_a_title() -> None:
    schema = json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["title"] == "stockout scenario"
    again = json.loads(json.dumps(schema, allow_nan=False))
    assert again == schema
    assert set(schema["required"]) == {"scenario", "products"}
    assert schema["additionalProperties"] is False


def test_the_json_schema_writes_keys_as_files_do() -> None:
    custom = json_schema()["$defs"]["CustomPolicy"]
    assert "class" in custom["properties"] and "class_path" not in custom["properties"]
    assert "class" in custom["required"]
    product = json_schema()["$defs"]["Product"]["properties"]
    assert "holding_cost_per_day" in product
