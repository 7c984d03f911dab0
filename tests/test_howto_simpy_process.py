"""docs/howto-simpy-process.md: its Python blocks run as written, and the flash sale does what
the page says (about 200 extra orders, a lower fill rate), using public attributes only."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "howto-simpy-process.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


@pytest.fixture(scope="module")
def namespace() -> dict:
    old = Path.cwd()
    os.chdir(ROOT)  # the page's paths are relative to the checkout
    try:
        ns: dict = {}
        for block in python_blocks():
            exec(compile(block, str(PAGE), "exec"), ns)  # noqa: S102 - the page's own code
        return ns
    finally:
        os.chdir(old)


def test_the_page_has_its_examples() -> None:
    assert len(python_blocks()) == 3


def test_the_flash_sale_adds_its_customers(namespace: dict) -> None:
    """The sale brings Poisson(40 × 5 = 200) customers after the warm-up, each an order; the
    usual customers are the same in both runs (common random numbers)."""
    base, sale = namespace["base"].metrics["grinder"], namespace["sale"].metrics["grinder"]
    extra = sale["orders"] - base["orders"]
    assert abs(extra - 200) <= 5 * math.sqrt(200), extra
    assert sale["fill_rate"] < base["fill_rate"]
    assert namespace["big"].count >= 0


def test_the_corner_shop_sells_and_the_warehouse_serves_it(namespace: dict) -> None:
    two = namespace["two"].metrics
    assert two["grinder"]["orders"] == 0
    # the same customers (common random numbers), but for churn that depends on the service
    usual = namespace["base"].metrics["grinder"]["orders"]
    assert abs(two["grinder@shop"]["orders"] - usual) <= 0.03 * usual
    assert two["grinder@shop"]["units_received"] > 0


def test_the_example_uses_public_attributes_only() -> None:
    code = "\n".join(python_blocks())
    assert not re.search(r"\._[a-z]", code)
