"""What is searched and for what: integer stock parameters, the objective and the constraints.

A searched parameter is written like a sweep path, through the product's replenishment table::

    products.widget.replenishment.order_up_to=60..140..5
    products.widget.replenishment.reorder_point=20..80
    products.widget.replenishment.order_quantity=10..60
    products.drop.replenishment.deliveries.0.quantity=100..400..10

For each policy, a candidate is a variant of the scenario in which the value is that policy's own
override of the parameter (``[policies.replenishment.<product>]``), so a policy's other overrides
stay as they are. Objective and constraints are on the mean of a metric of the product ``all``.

>>> parse_search("products.w.replenishment.order_up_to=10..20..5")
SearchSpec(path='products.w.replenishment.order_up_to', lo=10, hi=20, step=5)
>>> parse_constraint("fill_rate>=0.95")
Constraint(metric='fill_rate', sense='>=', value=0.95, tolerance=0.0095)
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..records import METRICS
from ..scenario.errors import Problem, ScenarioError, did_you_mean
from ..scenario.load import scenario_from_dict
from ..scenario.schema import Scenario
from ..sweep import dotted, resolve_path

#: Keys of a replenishment table that are integer stock parameters.
STOCK_KEYS = ("order_up_to", "reorder_point", "order_quantity")
#: Parameters in which a fill rate grows with the value (sample path, under CRN): bisection.
STOCK_LEVELS = ("order_up_to", "reorder_point", "quantity")
#: Metrics whose mean grows with a stock level, so ``METRIC>=X`` holds above a threshold.
MONOTONE_METRICS = ("fill_rate", "unit_fill_rate")

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_CONSTRAINT = re.compile(
    rf"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|=>|=<)\s*({_NUMBER})\s*(?:(?:\+-|±)\s*({_NUMBER}))?\s*$"
)


def _bad(option: str, where: str, message: str, source: str = "<command line>") -> ScenarioError:
    return ScenarioError([Problem(source, f"{option} {where}".strip(), message)])


@dataclass(frozen=True)
class SearchSpec:
    """One searched parameter: the values ``lo, lo + step, ..., <= hi``."""

    path: str
    lo: int
    hi: int
    step: int = 1

    @property
    def values(self) -> list[int]:
        return list(range(self.lo, self.hi + 1, self.step))


def _integer(text: str, option: str, where: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise _bad(option, where, f"{what} must be a whole number, not {text.strip()!r}") from None


def parse_search(text: str) -> SearchSpec:
    """``PATH=LO..HI`` or ``PATH=LO..HI..STEP`` (whole numbers, LO <= HI, STEP >= 1)."""
    path, sep, rng = text.partition("=")
    path = dotted(path)
    if not sep or not path:
        raise _bad("--search", text, "expected PATH=LO..HI[..STEP], e.g. "
                   "products.widget.replenishment.order_up_to=50..150..5")
    parts = rng.split("..")
    if len(parts) not in (2, 3):
        raise _bad("--search", path, f"expected LO..HI or LO..HI..STEP, not {rng!r}")
    lo = _integer(parts[0], "--search", path, "LO")
    hi = _integer(parts[1], "--search", path, "HI")
    step = _integer(parts[2], "--search", path, "STEP") if len(parts) == 3 else 1
    if lo > hi:
        raise _bad("--search", path, f"LO ({lo}) is above HI ({hi})")
    if step < 1:
        raise _bad("--search", path, f"STEP must be at least 1, not {step}")
    return SearchSpec(path, lo, hi, step)


@dataclass(frozen=True)
class Objective:
    """The metric to optimise and its direction."""

    metric: str = "gross_profit"
    maximize: bool = True

    @property
    def sign(self) -> float:
        return 1.0 if self.maximize else -1.0

    @property
    def label(self) -> str:
        return f"{'maximize' if self.maximize else 'minimize'} {self.metric}"


@dataclass(frozen=True)
class Constraint:
    """``mean(metric) >= value`` or ``<= value``, decided within ``tolerance``: a candidate whose
    mean is beyond the threshold by more than the tolerance must be kept out; one within it may
    go either way."""

    metric: str
    sense: str
    value: float
    tolerance: float

    @property
    def label(self) -> str:
        return f"{self.metric}{self.sense}{self.value:g}"

    def slack(self, mean: float) -> float:
        """How far a mean is on the wrong side of the threshold (<= 0: satisfied)."""
        return self.value - mean if self.sense == ">=" else mean - self.value


def check_metric(metric: str, option: str) -> str:
    if metric not in METRICS:
        raise _bad(option, metric, f"unknown metric '{metric}'{did_you_mean(metric, METRICS)} "
                   "(the metrics are the columns of summary.csv: docs/glossary.md)")
    return metric


def parse_constraint(text: str) -> Constraint:
    """``METRIC>=VALUE`` or ``METRIC<=VALUE``, optionally ``+-TOL`` (default 1% of |VALUE|, or
    0.01 when VALUE is 0)."""
    match = _CONSTRAINT.match(text)
    if match is None:
        raise _bad("--subject-to", repr(text), "expected METRIC>=VALUE or METRIC<=VALUE, "
                   "optionally +-TOLERANCE (e.g. 'fill_rate>=0.95' or 'mean_wait_days<=3+-0.1')")
    metric, sense, value, tol = match.groups()
    check_metric(metric, "--subject-to")
    sense = {"=>": ">=", "=<": "<="}.get(sense, sense)
    number = float(value)
    tolerance = float(tol) if tol is not None else (0.01 * abs(number) or 0.01)
    if not (math.isfinite(number) and math.isfinite(tolerance) and tolerance > 0):
        raise _bad("--subject-to", repr(text), "the value must be finite and the tolerance above 0")
    return Constraint(metric, sense, number, tolerance)


# ---------------------------------------------------------------------------------------------
# Where a searched value goes in the scenario
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The product and the replenishment key (or delivery) a search path names."""

    spec: SearchSpec
    product: str
    key: str  # order_up_to, reorder_point, order_quantity or quantity
    delivery: int | None = None

    @property
    def monotone(self) -> bool:
        return self.key in STOCK_LEVELS


def resolve_targets(scenario: Scenario, specs: Sequence[SearchSpec], source: str) -> list[Target]:
    """Check that each path names an integer stock parameter; every problem reported at once."""
    full = scenario.model_dump(by_alias=True)
    problems: list[Problem] = []
    targets: list[Target] = []
    if not specs or len(specs) > 2:
        problems.append(Problem(source, "--search", "search one or two parameters"))
    if len({s.path for s in specs}) < len(specs):
        problems.append(Problem(source, "--search", "the same parameter is searched twice"))
    for spec in specs:
        try:
            where = resolve_path(full, spec.path, "--search")
        except ScenarioError as error:
            problems += [Problem(source, f"--search {p.key_path}", p.message)
                         for p in error.problems]
            continue
        target = _target(full, spec, where)
        if target is None:
            problems.append(Problem(source, f"--search {spec.path}", (
                "is not an integer stock parameter: search a product's replenishment "
                f"{', '.join(STOCK_KEYS)}, or a scheduled delivery's quantity "
                "(products.ID.replenishment.deliveries.N.quantity)")))
        else:
            targets.append(target)
    if problems:
        raise ScenarioError(problems)
    return targets


def _target(full: Mapping[str, Any], spec: SearchSpec, where: tuple[Any, ...]) -> Target | None:
    if len(where) < 4 or where[0] != "products" or where[2] != "replenishment":
        return None
    product = full["products"][where[1]]["id"]
    if len(where) == 4 and where[3] in STOCK_KEYS:
        return Target(spec, product, str(where[3]))
    if len(where) == 6 and where[3] == "deliveries" and where[5] == "quantity":
        return Target(spec, product, "quantity", int(where[4]))
    return None


def check_policies(scenario: Scenario, targets: Sequence[Target], source: str) -> None:
    """Each policy's own rule (its override merged in) must have the searched keys."""
    problems: list[Problem] = []
    for policy in scenario.policies:
        for t in targets:
            rule = scenario.replenishment_for(policy.name, t.product).model_dump()
            has = (t.key in rule if t.delivery is None
                   else t.delivery < len(rule.get("deliveries") or []))
            if not has:
                problems.append(Problem(source, f"--search {t.spec.path}", (
                    f"policy '{policy.name}' replenishes {t.product} by rule "
                    f"'{rule.get('rule')}', which has no such parameter: leave the policy out "
                    "with --policies")))
    if problems:
        raise ScenarioError(problems)


def current_value(scenario: Scenario, policy: str, target: Target) -> int:
    """The value the policy has now (its override, else the product's)."""
    rule = scenario.replenishment_for(policy, target.product).model_dump()
    if target.delivery is None:
        return int(rule[target.key])
    return int(rule["deliveries"][target.delivery]["quantity"])


def set_override(
    data: dict[str, Any], scenario: Scenario, policy: str, values: Mapping[Target, int]
) -> None:
    """Write ``values`` as the policy's override in ``data`` (a dump of the scenario)."""
    entry = next(p for p in data["policies"] if p["name"] == policy)
    overrides = entry.setdefault("replenishment", {})
    for target, value in values.items():
        override = overrides.setdefault(target.product, {})
        if target.delivery is None:
            override[target.key] = int(value)
        else:
            if "deliveries" not in override:
                rule = scenario.replenishment_for(policy, target.product)
                override["deliveries"] = [d.model_dump() for d in rule.deliveries]
            override["deliveries"][target.delivery]["quantity"] = int(value)


def policy_variant(
    scenario: Scenario, policy: str, values: Mapping[Target, int], source: str
) -> Scenario:
    """The scenario with only ``policy``, at the searched ``values`` (validated again)."""
    data = scenario.model_dump(by_alias=True, exclude_unset=True)
    data["policies"] = [copy.deepcopy(p) for p in data.get("policies", _default_dumps(scenario))
                        if p["name"] == policy]
    data.setdefault("scenario", {})["baseline"] = policy
    set_override(data, scenario, policy, values)
    label = ", ".join(f"{t.spec.path}={v}" for t, v in values.items())
    return scenario_from_dict(data, f"{source} (policy {policy} at {label})")


def at_optima(
    scenario: Scenario, optima: Mapping[str, Mapping[Target, int]], source: str
) -> Scenario:
    """The scenario with every policy at its own searched values."""
    data = scenario.model_dump(by_alias=True, exclude_unset=True)
    data["policies"] = copy.deepcopy(data.get("policies", _default_dumps(scenario)))
    for policy, values in optima.items():
        set_override(data, scenario, policy, values)
    return scenario_from_dict(data, f"{source} (each policy at its optimum)")


def _default_dumps(scenario: Scenario) -> list[dict[str, Any]]:
    return [p.model_dump(by_alias=True, exclude_none=True) for p in scenario.policies]
