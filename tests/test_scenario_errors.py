"""Bad scenarios: every problem is a ScenarioError naming the file, the key path and the line.

Each test breaks the shared format file in one place (``broken``) and checks what the planner is
told, so the format file itself is the baseline that must keep loading.
"""

from __future__ import annotations

import os
import pickle
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

import stockout.scenario.load as scenario_load
from stockout.scenario.errors import Problem, ScenarioError
from stockout.scenario.load import load_scenario, load_scenario_text, scenario_from_dict
from stockout.scenario.schema import Scenario, ScenarioReferenceError

FIXTURES = Path(__file__).parent / "fixtures"
FORMAT_TEXT = (FIXTURES / "scenario-format.toml").read_text(encoding="utf-8")


def broken(tmp_path: Path, old: str, new: str) -> tuple[ScenarioError, Path, str]:
    """Write the format file with ``old`` replaced once by ``new``; load it; return the error."""
    assert FORMAT_TEXT.count(old) == 1, f"{old!r} must occur once in the format file"
    text = FORMAT_TEXT.replace(old, new)
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return caught.value, path, text


def line_of(text: str, snippet: str) -> int:
    """The line of the one place ``snippet`` is in ``text`` (its last line if it has several)."""
    assert text.count(snippet) == 1, snippet
    return text[: text.index(snippet) + len(snippet)].count("\n") + 1


def only(error: ScenarioError) -> Problem:
    assert len(error.problems) == 1, str(error)
    return error.problems[0]


# ---- the error object ----


def test_scenario_error_is_a_value_error_listing_located_problems() -> None:
    error = ScenarioError(
        [
            Problem("a.toml", "products[widget].price", "must be at least 0, got -5", 12),
            Problem("a.toml", "scenario.name", "required key is missing"),
            Problem("a.toml", "", "no such file"),
        ]
    )
    assert isinstance(error, ValueError)
    assert str(error).splitlines() == [
        "a.toml:12: products[widget].price: must be at least 0, got -5",
        "a.toml: scenario.name: required key is missing",
        "a.toml: no such file",
    ]
    assert error.file == "a.toml"
    again = pickle.loads(pickle.dumps(error))
    assert again.problems == error.problems and str(again) == str(error)


def test_a_scenario_error_needs_a_problem() -> None:
    with pytest.raises(ValueError):
        ScenarioError([])


# ---- keys ----


def test_a_typo_in_a_key_names_the_key_and_suggests_the_right_one(tmp_path: Path) -> None:
    error, path, text = broken(tmp_path, "unit_cost = 18.0", "unit_cots = 18.0")
    problem = only(error)
    assert problem.file == str(path)
    assert problem.key_path == "products[widget].unit_cots"
    assert "did you mean 'unit_cost'?" in problem.message
    assert problem.line == line_of(text, "unit_cots")
    assert str(error) == f"{path}:{problem.line}: {problem.key_path}: {problem.message}"


def test_a_typo_inside_a_distribution_is_checked_against_that_kind(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, "mean = 7, cv = 0.3 }   #", "mean = 7, cvv = 0.3 }   #")
    by_path = {p.key_path: p for p in error.problems}
    assert "did you mean 'cv'?" in by_path["suppliers[acme].lead_time_days.cvv"].message
    assert by_path["suppliers[acme].lead_time_days.cv"].message == "required key is missing"
    assert {p.line for p in error.problems} == {line_of(text, "cvv")}


def test_a_typo_in_a_scheduled_window_is_not_drowned_by_the_random_kind(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, "multiplier = 3.0", "multipler = 3.0")
    paths = sorted(p.key_path for p in error.problems)
    assert paths == [
        "products[widget].demand.spikes[0].multipler",
        "products[widget].demand.spikes[0].multiplier",
    ]
    assert all("every_days" not in p.message for p in error.problems)


CLOSURES = ('every_days = { dist = "exponential", mean = 120 }\n'
            'duration_days = { dist = "uniform", low = 3, high = 10 }')


def test_random_windows_too_dense_to_draw_are_an_error_not_a_crash(tmp_path: Path) -> None:
    # closures every 1e-6 days (a slip of units) would be some 10**8 windows in 400 days:
    # reported at load time with the file, line and key, not a failure midway through a run
    error, path, text = broken(
        tmp_path,
        CLOSURES, 'every_days = { dist = "exponential", mean = 1e-6 }\n'
        'duration_days = { dist = "constant", value = 1e-6 }',
    )
    problem = only(error)
    assert problem.file == str(path)
    assert problem.key_path == "lanes[road].disruptions[1].every_days"
    assert problem.line == line_of(text, 'mean = 1e-6 }')
    assert "200,000,000 windows" in problem.message and "at most 100,000" in problem.message
    assert "longer" in problem.message


def test_random_windows_just_within_the_limit_load(tmp_path: Path) -> None:
    # 400 days / (0.002 + 0.002) days = 100,000 windows on average: allowed
    text = FORMAT_TEXT.replace(
        CLOSURES, 'every_days = { dist = "exponential", mean = 0.002 }\n'
        'duration_days = { dist = "constant", value = 0.002 }',
    )
    assert text != FORMAT_TEXT
    load_scenario_text(text, "ok.toml")


def test_an_unknown_table_is_an_error_with_a_hint(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, "[costs]", "[cost]")
    problem = only(error)
    assert problem.key_path == "cost" and "did you mean 'costs'?" in problem.message
    assert problem.line == line_of(text, "[cost]")


# ---- values ----


def test_a_string_where_a_number_belongs(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, "price = 40.0", 'price = "abc"')
    problem = only(error)
    assert problem.key_path == "products[widget].price"
    assert problem.message == "expected a number, got the string 'abc'"
    assert problem.line == line_of(text, 'price = "abc"')


def test_a_number_in_quotes_is_not_silently_converted(tmp_path: Path) -> None:
    error, _, _ = broken(tmp_path, "initial_stock = 120", 'initial_stock = "120"')
    assert only(error).message == "expected a whole number, got the string '120'"


def test_a_fraction_where_a_count_belongs(tmp_path: Path) -> None:
    error, _, _ = broken(tmp_path, "initial_stock = 120", "initial_stock = 120.5")
    assert only(error).message == "expected a whole number, got 120.5"


def test_true_is_not_a_number(tmp_path: Path) -> None:
    error, _, _ = broken(tmp_path, "initial_stock = 120", "initial_stock = true")
    assert only(error).message == "expected a whole number, got true"


def test_a_negative_price(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, "price = 40.0", "price = -5")
    problem = only(error)
    assert (problem.key_path, problem.message) == (
        "products[widget].price",
        "must be at least 0, got -5",
    )
    assert problem.line == line_of(text, "price = -5")


def test_a_wrong_choice_lists_the_valid_ones(tmp_path: Path) -> None:
    error, _, _ = broken(tmp_path, 'payment = "at_order"', 'payment = "at_ordr"')
    problem = only(error)
    assert problem.key_path == "policies[backorder].payment"
    assert "'at_order' or 'at_shipment'" in problem.message
    assert "did you mean 'at_order'?" in problem.message


def test_nan_is_rejected_everywhere(tmp_path: Path) -> None:
    error, _, text = broken(
        tmp_path,
        'quantity = { dist = "constant", value = 1 }',
        'quantity = { dist = "constant", value = nan }',
    )
    problem = only(error)
    assert problem.key_path == "products[widget].demand.quantity.value"
    assert "nan" in problem.message
    assert problem.line == line_of(text, "value = nan")


def test_nan_in_a_custom_policys_free_options_is_rejected_too() -> None:
    text = FORMAT_TEXT + (
        '\n[[policies]]\nname = "mine"\navailability = "custom"\nclass = "m:C"\n'
        "options = { depth = nan }\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, "s.toml")
    assert only(caught.value).key_path == "policies[mine].options.depth"


def test_inf_is_rejected_where_the_schema_wants_a_finite_number(tmp_path: Path) -> None:
    error, _, _ = broken(tmp_path, "price = 40.0", "price = inf")
    assert only(error).message == "must be a finite number, got inf"


def test_huge_integers_are_reported_not_crashed_on(tmp_path: Path) -> None:
    error, _, _ = broken(
        tmp_path, "initial_stock = 120", "initial_stock = " + "9" * 5000
    )  # beyond Python's 4300-digit int-to-text limit
    (problem,) = error.problems
    assert "not valid TOML" in problem.message or "at most" in problem.message
    error, _, _ = broken(tmp_path, "price = 40.0", "price = " + "9" * 400)
    assert only(error).message.startswith("the number is too large")
    error, _, _ = broken(tmp_path, "initial_stock = 120", "initial_stock = " + "9" * 100)
    assert only(error).message.startswith("must be at most 1000000000000, got a number")


def test_a_malformed_custom_policy_class_path(tmp_path: Path) -> None:
    text = FORMAT_TEXT + '\n[[policies]]\nname = "mine"\navailability = "custom"\nclass = "m.C"\n'
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, "s.toml")
    problem = only(caught.value)
    assert problem.key_path == "policies[mine].class"
    assert "'module:ClassName'" in problem.message
    assert problem.line == line_of(text, 'class = "m.C"')


# ---- kinds ----


def test_an_unknown_distribution_lists_the_kinds_and_suggests_one(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, 'days = { dist = "gamma"', 'days = { dist = "gama"')
    problem = only(error)
    assert problem.key_path == "suppliers[acme].lead_time_days.dist"
    assert "unknown distribution 'gama'" in problem.message
    assert "did you mean 'gamma'?" in problem.message
    assert "lognormal" in problem.message and "empirical" in problem.message
    assert problem.line == line_of(text, '"gama"')


def test_an_unknown_rule_lists_the_rules(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, 'rule = "s_S" ', 'rule = "sS" ')
    problem = only(error)
    assert problem.key_path == "products[widget].replenishment.rule"
    assert "did you mean 's_S'?" in problem.message and "make_to_order" in problem.message
    assert problem.line == line_of(text, 'rule = "sS"')


def test_an_unknown_availability_policy(tmp_path: Path) -> None:
    error, _, _ = broken(tmp_path, 'availability = "preorder"', 'availability = "pre-order"')
    problem = only(error)
    assert problem.key_path == "policies[preorder].availability"
    assert "did you mean 'preorder'?" in problem.message


def test_a_distribution_without_its_kind(tmp_path: Path) -> None:
    error, _, _ = broken(
        tmp_path,
        'transit_days = { dist = "uniform", low = 1, high = 3 }',
        "transit_days = { low = 1, high = 3 }",
    )
    problem = only(error)
    assert problem.key_path == "lanes[road].transit_days.dist"
    assert "say which distribution" in problem.message


def test_a_bare_number_where_a_distribution_belongs(tmp_path: Path) -> None:
    error, _, _ = broken(
        tmp_path,
        'patience_days = { dist = "exponential", mean = 10 }',
        "patience_days = 10",
    )
    problem = only(error)
    assert problem.key_path == "customers.patience_days"
    assert 'dist = "gamma"' in problem.message and problem.message.endswith("got 10")


# ---- checks between keys ----


def test_s_at_or_above_S(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, "reorder_point = 60 ", "reorder_point = 200 ")
    problem = only(error)
    assert problem.key_path == "products[widget].replenishment.reorder_point"
    assert "must be below order_up_to (200)" in problem.message
    assert problem.line == line_of(text, "reorder_point = 200")


def test_s_at_or_above_S_in_a_policy_override(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, "reorder_point = 20\n", "reorder_point = 80\n")
    problem = only(error)
    assert problem.key_path == "policies[lean-backorder].replenishment.widget.reorder_point"
    assert "must be below order_up_to (80)" in problem.message
    assert problem.line == line_of(text, "reorder_point = 80")


def test_a_typo_in_a_policy_override(tmp_path: Path) -> None:
    error, _, _ = broken(tmp_path, "reorder_point = 20\n", "reorder_pont = 20\n")
    problem = only(error)
    assert problem.key_path == "policies[lean-backorder].replenishment.widget.reorder_pont"
    assert "did you mean 'reorder_point'?" in problem.message


def test_an_override_that_switches_rule_must_complete_it(tmp_path: Path) -> None:
    error, _, text = broken(
        tmp_path, "reorder_point = 20\norder_up_to = 80", 'rule = "r_Q"\nreorder_point = 20'
    )
    problem = only(error)
    assert problem.key_path == "policies[lean-backorder].replenishment.widget.order_quantity"
    assert problem.message == "required key is missing"
    assert problem.line == line_of(text, "[policies.replenishment.widget]")


def test_an_override_for_a_product_that_does_not_exist(tmp_path: Path) -> None:
    error, _, _ = broken(
        tmp_path, "[policies.replenishment.widget]", "[policies.replenishment.wigdet]"
    )
    problem = only(error)
    assert problem.key_path == "policies[lean-backorder].replenishment.wigdet"
    assert "no product with id 'wigdet'; did you mean 'widget'?" in problem.message


def test_warmup_must_end_before_the_horizon(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, "warmup_days = 30 ", "warmup_days = 400 ")
    problem = only(error)
    assert problem.key_path == "scenario.warmup_days"
    assert problem.line == line_of(text, "warmup_days = 400")


def test_a_window_that_ends_before_it_starts(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, "end_day = 100", "end_day = 80")
    problem = only(error)
    assert problem.key_path == "suppliers[acme].outages[0].end_day"
    assert problem.message == "end_day (80.0) must be after start_day (90.0)"
    assert problem.line == line_of(text, "end_day = 80")


def test_a_window_before_day_zero(tmp_path: Path) -> None:
    error, _, _ = broken(tmp_path, "start_day = 90", "start_day = -1")
    assert only(error).key_path == "suppliers[acme].outages[0].start_day"


# ---- references ----


def test_an_unknown_supplier(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, 'supplier = "acme"', 'supplier = "acmee"')
    problem = only(error)
    assert problem.key_path == "products[widget].replenishment.supplier"
    assert "no supplier with id 'acmee'; did you mean 'acme'?" in problem.message
    assert problem.line == line_of(text, 'supplier = "acmee"')


def test_a_rule_that_orders_needs_a_supplier(tmp_path: Path) -> None:
    error, _, _ = broken(tmp_path, 'supplier = "acme"', "")
    problem = only(error)
    assert problem.key_path == "products[widget].replenishment.supplier"
    assert "rule 's_S' needs a supplier" in problem.message


def test_an_unknown_lane(tmp_path: Path) -> None:
    error, _, _ = broken(tmp_path, 'lane = "road" ', 'lane = "rail" ')
    problem = only(error)
    assert problem.key_path == "products[widget].replenishment.lane"
    assert "no lane with id 'rail'" in problem.message


def test_a_duplicate_product_id(tmp_path: Path) -> None:
    second = '[[products]]\nid = "widget"\nprice = 1\n[products.demand]\norders_per_day = 1\n\n'
    error, _, text = broken(tmp_path, "[[suppliers]]", second + "[[suppliers]]")
    problem = only(error)
    assert problem.key_path == "products[widget].id"
    assert "duplicate product id 'widget'" in problem.message
    assert problem.line == text.splitlines().index('id = "widget"', 40) + 1


def test_a_duplicate_policy_name(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, 'name = "preorder"', 'name = "backorder"')
    problem = only(error)
    assert problem.key_path == "policies[backorder].name"
    assert problem.line == line_of(text, 'name = "backorder"\navailability = "preorder"') - 1


def test_a_baseline_that_names_no_policy(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, 'baseline = "out-of-stock"', 'baseline = "out-of-stok"')
    problem = only(error)
    assert problem.key_path == "scenario.baseline"
    assert "no policy named 'out-of-stok'; did you mean 'out-of-stock'?" in problem.message
    assert problem.line == line_of(text, "baseline =")


# ---- the file itself ----


def test_broken_toml_gives_its_line_and_column(tmp_path: Path) -> None:
    error, _, text = broken(tmp_path, "price = 40.0", "price = ")
    problem = only(error)
    assert problem.message.startswith("not valid TOML: ")
    assert re.search(r"\(column \d+\)$", problem.message)
    assert problem.line == line_of(text, "price = ")


@pytest.mark.parametrize("content", ["", "  \n\n", "# only a comment\n"])
def test_an_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    problem = only(caught.value)
    assert problem.file == str(path) and problem.line is None
    assert problem.message.startswith("the file is empty: a scenario needs at least [scenario]")


def test_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: is not a text file")


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[scenario]\nname = "café"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    problem = only(caught.value)
    assert "not UTF-8" in problem.message and problem.line == 2


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == f"{path}: no such file"


def test_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a directory, not a scenario file"


def test_a_file_that_cannot_be_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.toml"
    path.write_text(FORMAT_TEXT, encoding="utf-8")

    def denied(self: Path, source: str) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(scenario_load, "_read_bounded", denied)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == f"{path}: permission denied: the file cannot be read"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_a_file_without_read_permission(tmp_path: Path) -> None:
    path = tmp_path / "locked.toml"
    path.write_text(FORMAT_TEXT, encoding="utf-8")
    path.chmod(0)
    with pytest.raises(ScenarioError, match="permission denied"):
        load_scenario(path)


def test_data_that_is_not_a_table() -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict([1, 2])  # type: ignore[arg-type]
    assert str(caught.value) == "<dict>: expected a table of scenario keys, got a list"


# ---- all at once ----


def test_every_problem_in_a_file_is_reported_at_once() -> None:
    path = FIXTURES / "bad" / "many-problems.toml"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    found = [(p.line, p.key_path) for p in caught.value.problems]
    assert found == [
        (7, "scenario.baseline"),
        (11, "products[widget].price"),
        (12, "products[widget].unit_cots"),
        (15, "products[widget].demand.orders_per_day"),
        (19, "products[widget].replenishment.reorder_point"),
        (21, "products[widget].replenishment.supplier"),
        (25, "suppliers[acme].lead_time_days.dist"),
        (32, "policies[backorder].name"),
    ]
    lines = str(caught.value).splitlines()
    assert len(lines) == 8 and all(line.startswith(f"{path}:") for line in lines)


def test_dict_problems_have_paths_but_no_lines() -> None:
    data: dict[str, Any] = tomllib.loads(FORMAT_TEXT)
    data["products"][0]["price"] = -1
    data["products"][0]["replenishment"]["supplier"] = "nobody"
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data, "variant")
    assert [(p.file, p.key_path, p.line) for p in caught.value.problems] == [
        ("variant", "products[widget].price", None),
        ("variant", "products[widget].replenishment.supplier", None),
    ]


def test_the_schema_itself_checks_references_for_every_caller() -> None:
    data: dict[str, Any] = tomllib.loads(FORMAT_TEXT)
    data["scenario"]["baseline"] = "nobody"
    data["lanes"][0]["id"] = "rail"
    with pytest.raises(ValueError) as caught:
        Scenario.model_validate(data)
    cause = caught.value.errors()[0]["ctx"]["error"]  # type: ignore[attr-defined]
    assert isinstance(cause, ScenarioReferenceError)
    assert [p.path for p in cause.problems] == [
        ("products", 0, "replenishment", "lane"),
        ("scenario", "baseline"),
    ]
