"""The scenario format as frozen pydantic models.

Key names and meanings follow ``scenario-format.toml`` exactly; the format may grow, never rename.
Distributions, replenishment rules and availability policies are tagged unions: each kind has its
own model, so a typo or a key that does not belong to the kind is a load error, not a silent
default. Cross-references (supplier, lane, policy names, baseline) are checked in
:class:`Scenario`'s validators, every problem reported at once with its key path.

This module imports nothing from the rest of stockout and never SimPy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from stockout.scenario.errors import did_you_mean

NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PosFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
NonNegInt = Annotated[int, Field(ge=0, le=10**12)]
#: An amount of money per unit, order or day: bounded, so that sums over a run stay finite
#: (a price of 1e308 made every money metric inf).
MAX_MONEY = 1e12
Money = Annotated[float, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------------------------
# Distributions: { dist = "gamma", mean = 7, cv = 0.3 }
# --------------------------------------------------------------------------------------------


class Constant(_Model):
    """Always ``value``. ``value = inf`` is allowed (an infinitely patient customer)."""

    dist: Literal["constant"]
    value: Annotated[float, Field(ge=0, allow_inf_nan=True)]

    @field_validator("value")
    @classmethod
    def _not_nan(cls, v: float) -> float:
        if math.isnan(v):
            raise ValueError("value must be a number, not nan")
        return v

    @property
    def mean(self) -> float:
        return self.value


class Uniform(_Model):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: NonNegFloat
    high: NonNegFloat

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be at least low ({self.low})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


class Triangular(_Model):
    """Triangular on [low, high] with its mode at ``mode``."""

    dist: Literal["triangular"]
    low: NonNegFloat
    mode: NonNegFloat
    high: NonNegFloat

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high):
            raise ValueError(
                f"need low <= mode <= high, got low={self.low}, mode={self.mode}, high={self.high}"
            )
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3


class Exponential(_Model):
    dist: Literal["exponential"]
    mean: PosFloat


class Normal(_Model):
    """Normal(mean, sd) truncated at 0 (negative draws are redrawn)."""

    dist: Literal["normal"]
    mean: Annotated[float, Field(allow_inf_nan=False)]
    sd: NonNegFloat

    @model_validator(mode="after")
    def _mass_above_zero(self) -> Normal:
        if self.sd == 0 and self.mean < 0:
            raise ValueError("with sd = 0 the mean must be at least 0")
        if self.sd > 0 and self.mean < -5 * self.sd:
            raise ValueError("mean is so far below 0 that the truncated normal has no mass")
        return self


class Lognormal(_Model):
    """Lognormal with the given mean and coefficient of variation (sd / mean)."""

    dist: Literal["lognormal"]
    mean: PosFloat
    cv: NonNegFloat

    @model_validator(mode="after")
    def _drawable(self) -> Lognormal:
        if not math.isfinite(math.log1p(self.cv * self.cv)):
            raise ValueError(f"cv ({self.cv:g}) is too large for a lognormal: use at most 1e100")
        return self


class Gamma(_Model):
    """Gamma with the given mean and coefficient of variation (sd / mean)."""

    dist: Literal["gamma"]
    mean: PosFloat
    cv: PosFloat

    @model_validator(mode="after")
    def _drawable(self) -> Gamma:
        # the sampler's shape 1 / cv^2 and scale mean * cv^2 must be positive, finite numbers
        cv2 = self.cv * self.cv
        shape = 1.0 / cv2 if cv2 > 0 else math.inf
        scale = self.mean * cv2
        if not (math.isfinite(shape) and math.isfinite(scale) and shape > 0 and scale > 0):
            raise ValueError(
                f"cv ({self.cv:g}) is too {'small' if self.cv < 1 else 'large'} for a gamma "
                f"with mean {self.mean:g} (it cannot be drawn): use a cv between 1e-100 and "
                '1e100, or { dist = "constant", value = ... } for no spread'
            )
        return self


MAX_POISSON_MEAN = 1e15  # numpy draws Poisson variates up to about 9e18; far past any use


class Poisson(_Model):
    dist: Literal["poisson"]
    mean: Annotated[float, Field(ge=0, le=MAX_POISSON_MEAN, allow_inf_nan=False)]


class Geometric(_Model):
    """Geometric on 1, 2, 3, ... with the given mean (success probability 1 / mean)."""

    dist: Literal["geometric"]
    mean: Annotated[float, Field(ge=1, allow_inf_nan=False)]


class Empirical(_Model):
    """Draws one of ``values`` with probabilities proportional to ``weights`` (equal if omitted)."""

    dist: Literal["empirical"]
    values: Annotated[list[NonNegFloat], Field(min_length=1, max_length=100_000)]
    weights: list[NonNegFloat] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}"
                )
            total = sum(self.weights)
            if total <= 0:
                raise ValueError("weights must not all be 0")
            if not math.isfinite(total):
                raise ValueError(
                    "weights are too large to add up (their sum is not a finite number): "
                    "scale them down, only their ratios matter"
                )
        return self

    @property
    def mean(self) -> float:
        w = self.weights or [1.0] * len(self.values)
        total = sum(w)
        mean = sum(v * x for v, x in zip(self.values, w, strict=True)) / total
        if math.isinf(mean):  # the products overflowed: weigh first (the same mean, finite)
            mean = sum(v * (x / total) for v, x in zip(self.values, w, strict=True))
        return mean


Distribution = Annotated[
    Constant
    | Uniform
    | Triangular
    | Exponential
    | Normal
    | Lognormal
    | Gamma
    | Poisson
    | Geometric
    | Empirical,
    Field(discriminator="dist"),
]

DIST_KINDS = (
    "constant",
    "uniform",
    "triangular",
    "exponential",
    "normal",
    "lognormal",
    "gamma",
    "poisson",
    "geometric",
    "empirical",
)


# --------------------------------------------------------------------------------------------
# Time windows: scheduled { start_day, end_day } or random { every_days, duration_days }
# --------------------------------------------------------------------------------------------


class Window(_Model):
    """A scheduled window [start_day, end_day)."""

    start_day: NonNegFloat
    end_day: NonNegFloat

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end_day <= self.start_day:
            raise ValueError(
                f"end_day ({self.end_day}) must be after start_day ({self.start_day})"
            )
        return self


class RandomWindows(_Model):
    """Random windows: onsets every ``every_days`` (time from one window's end to the next
    onset), each lasting ``duration_days``; from ``start_day`` on. At most 100,000 windows
    over the horizon on average: the mean of ``every_days`` plus that of ``duration_days`` must
    be at least (horizon − ``start_day``) / 100,000."""

    every_days: Distribution
    duration_days: Distribution
    start_day: NonNegFloat = 0.0


class Spike(Window):
    """A scheduled demand spike: the arrival rate is multiplied by ``multiplier`` in the window."""

    multiplier: NonNegFloat


class RandomSpikes(RandomWindows):
    multiplier: NonNegFloat


# --------------------------------------------------------------------------------------------
# Scenario sections
# --------------------------------------------------------------------------------------------


class ScenarioMeta(_Model):
    name: Annotated[
        str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    ]
    title: str = ""
    description: str = ""
    horizon_days: Annotated[float, Field(gt=0, le=1e8, allow_inf_nan=False)]
    warmup_days: NonNegFloat = 0.0
    replications: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    baseline: str | None = None

    @model_validator(mode="after")
    def _warmup_before_horizon(self) -> ScenarioMeta:
        if self.warmup_days >= self.horizon_days:
            raise ValueError(
                f"warmup_days ({self.warmup_days}) must be less than horizon_days "
                f"({self.horizon_days}): statistics cover (warmup_days, horizon_days]"
            )
        return self


class Churn(_Model):
    on_stockout: Probability = 0.0
    on_declined_quote: Probability = 0.0
    on_cancel: Probability = 0.0
    on_late: Probability = 0.0
    background_per_year: NonNegFloat = 0.0


class Customers(_Model):
    population: Annotated[int, Field(ge=1, le=10**9)] = 1000
    patience_days: Distribution | None = None  # None: infinitely patient
    # at most 10^9 a day, as for the population: more would overflow the population's count
    acquisition_per_day: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] = 0.0
    churn: Churn = Churn()


class Seasonality(_Model):
    """Rate multiplier 1 + amplitude * cos(2 pi (t - peak_day) / period_days), times optional
    profiles: ``weekday`` (7 multipliers; day t falls on weekday floor(t) mod 7) and ``monthly``
    (12 multipliers; months of 365/12 days, day 0 starts month 0)."""

    amplitude: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0
    period_days: PosFloat = 365.0
    peak_day: Annotated[float, Field(allow_inf_nan=False)] = 0.0
    weekday: Annotated[list[NonNegFloat], Field(min_length=7, max_length=7)] | None = None
    monthly: Annotated[list[NonNegFloat], Field(min_length=12, max_length=12)] | None = None


class ScriptedOrder(_Model):
    """One customer order at a fixed day, on top of the random demand (for teaching and tests)."""

    day: NonNegFloat
    quantity: Annotated[int, Field(ge=1, le=10**9)] = 1
    # longest wait this customer accepts; omitted: drawn like any other customer's
    patience_days: Annotated[float, Field(ge=0, allow_inf_nan=True)] | None = None

    @field_validator("patience_days")
    @classmethod
    def _not_nan(cls, v: float | None) -> float | None:
        if v is not None and math.isnan(v):
            raise ValueError("patience_days must be a number, not nan")
        return v


class Demand(_Model):
    orders_per_day: Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False)]
    quantity: Distribution = Constant(dist="constant", value=1)
    seasonality: Seasonality | None = None
    spikes: list[Spike | RandomSpikes] = []
    scripted_orders: Annotated[list[ScriptedOrder], Field(max_length=1_000_000)] = []
    # linear trend: the rate is multiplied by max(0, 1 + trend_per_year * t / 365)
    trend_per_year: Annotated[float, Field(ge=-100, le=100, allow_inf_nan=False)] = 0.0

    @model_validator(mode="after")
    def _quantity_is_a_number_of_units(self) -> Demand:
        size = _typical_size(self.quantity)
        if not size <= MAX_ORDER_QUANTITY:
            raise ValueError(
                f"quantity is units per order: this distribution gives orders of about "
                f"{size:.3g} units; at most {MAX_ORDER_QUANTITY:,} are allowed "
                "(orders_per_day sets how many orders there are)"
            )
        return self


MAX_ORDER_QUANTITY = 10**9  # units in one customer order (as for scripted orders)


def _typical_size(spec: Any) -> float:
    """A value the distribution ``spec`` reaches without being unlikely (for range checks)."""
    if isinstance(spec, Constant):
        return spec.value
    if isinstance(spec, Uniform | Triangular):
        return spec.high
    if isinstance(spec, Normal):
        return max(spec.mean, 0.0) + spec.sd
    if isinstance(spec, Empirical):
        return max(spec.values)
    return float(spec.mean)


class Delivery(_Model):
    day: NonNegFloat
    quantity: NonNegInt


class _Rule(_Model):
    review_period_days: NonNegFloat = 0.0
    order_cost: Money = 0.0
    supplier: str | None = None
    lane: str | None = None


class BaseStockRule(_Rule):
    """Order up to S whenever the inventory position is below S."""

    rule: Literal["base_stock"]
    order_up_to: NonNegInt


class SSRule(_Rule):
    """(s, S): when the position is at or below s, order up to S."""

    rule: Literal["s_S"]
    reorder_point: Annotated[int, Field(ge=-(10**12), le=10**12)]
    order_up_to: NonNegInt

    @model_validator(mode="after")
    def _s_below_S(self) -> SSRule:
        if self.reorder_point >= self.order_up_to:
            raise ValueError(
                f"reorder_point ({self.reorder_point}) must be below order_up_to "
                f"({self.order_up_to})"
            )
        return self


class RQRule(_Rule):
    """(r, Q): at or below r, order enough multiples of Q to lift the position above r."""

    rule: Literal["r_Q"]
    reorder_point: Annotated[int, Field(ge=-(10**12), le=10**12)]
    order_quantity: Annotated[int, Field(ge=1, le=10**12)]


class PeriodicRule(_Rule):
    """(R, S): every review_period_days, order up to S."""

    rule: Literal["periodic"]
    order_up_to: NonNegInt

    @model_validator(mode="after")
    def _needs_period(self) -> PeriodicRule:
        if self.review_period_days <= 0:
            raise ValueError("rule 'periodic' needs review_period_days > 0")
        return self


class MakeToOrderRule(_Rule):
    """Each unit owed to a waiting customer triggers a production order for it."""

    rule: Literal["make_to_order"]


class ForecastRule(_Rule):
    """Periodic review up to a forecast of the demand the business records. At each review
    (days 0, R, 2R, ...) the rule first takes in the period just ended, then orders
    max(0, ⌈level⌉ − inventory position), never a negative order, with level = f × (ℓ + R) +
    safety_z × σ × √(ℓ + R): f the forecast demand per day, ℓ the mean lead time (the supplier's
    mean lead time plus the lane's mean transit time), R the review period, σ² the forecast
    error's variance per day. Each period teaches n units over d days: the units recorded and
    R (estimator "recorded"), or the units recorded while in stock and the days in stock
    ("in_stock_corrected"). f = S(n) / S(d), where S sums the last window_days / R periods
    (moving_average) or smooths, S ← α·x + (1 − α)·S (exponential_smoothing); a period's error
    is e = n − f·d (f before the period) and σ² = S(e²) / S(d). Before any data, the window
    (or the smoothed state) holds periods of the plan: f₀ = orders_per_day × mean quantity and
    σ₀² = orders_per_day × E[quantity²] per day."""

    rule: Literal["forecast"]
    method: Literal["moving_average", "exponential_smoothing"] = "moving_average"
    window_days: PosFloat | None = None  # moving average (default 28 days)
    alpha: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = None  # smoothing (0.3)
    estimator: Literal["recorded", "in_stock_corrected"] = "recorded"
    safety_z: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] = 0.0

    @model_validator(mode="after")
    def _method_keys(self) -> ForecastRule:
        period = self.review_period_days
        if period <= 0:
            raise ValueError("rule 'forecast' needs review_period_days > 0 (it reviews "
                             "periodically)")
        if self.method == "moving_average" and self.alpha is not None:
            raise ValueError("alpha is for method 'exponential_smoothing'; a moving average "
                             "takes window_days")
        if self.method == "exponential_smoothing" and self.window_days is not None:
            raise ValueError("window_days is for method 'moving_average'; exponential "
                             "smoothing takes alpha")
        periods = self.window / period
        if self.method == "moving_average" and (
                periods < 1 - 1e-9 or abs(periods - round(periods)) > 1e-9):
            below = max(1, math.floor(periods)) * period
            raise ValueError(
                f"window_days ({self.window:g}) must be a whole number of review periods "
                f"({period:g} days): e.g. {below:g} or {below + period:g}")
        return self

    @property
    def window(self) -> float:
        """The moving average's window in days (default 28)."""
        return 28.0 if self.window_days is None else self.window_days

    @property
    def smoothing(self) -> float:
        """The exponential smoothing weight (default 0.3)."""
        return 0.3 if self.alpha is None else self.alpha


class ScheduledRule(_Model):
    """Fixed quantities arrive on fixed days (limited editions, drops)."""

    rule: Literal["scheduled"]
    deliveries: list[Delivery] = []
    supplier: str | None = None
    lane: str | None = None
    order_cost: Money = 0.0


class NoRule(_Model):
    rule: Literal["none"]


Replenishment = Annotated[
    BaseStockRule | SSRule | RQRule | PeriodicRule | MakeToOrderRule | ForecastRule
    | ScheduledRule | NoRule,
    Field(discriminator="rule"),
]

RULE_KINDS = ("base_stock", "s_S", "r_Q", "periodic", "make_to_order", "forecast", "scheduled",
              "none")


class Product(_Model):
    id: Annotated[str, Field(min_length=1, max_length=100)]
    price: Money
    unit_cost: Money = 0.0
    # what a unit left on hand at the horizon is worth (clearance price, scrap value); by
    # default its cost: a continuing business keeps it as stock worth what it paid
    salvage_value: Money | None = None
    holding_cost_per_day: Money = 0.0
    backorder_cost_per_day: Money = 0.0
    initial_stock: NonNegInt = 0
    release_day: NonNegFloat = 0.0
    # share of customers meeting "out of stock" whose visit the shop records (docs/glossary.md)
    lost_demand_recorded: Probability = 0.0
    patience_days: Distribution | None = None  # overrides customers.patience_days
    demand: Demand
    replenishment: Replenishment = NoRule(rule="none")


class Supplier(_Model):
    id: Annotated[str, Field(min_length=1, max_length=100)]
    lead_time_days: Distribution = Constant(dist="constant", value=0)
    capacity_per_day: PosFloat | None = None
    # One production line whose time to make a unit is random (capacity_per_day = c is the
    # constant 1/c): an order of q units takes the sum of q such times (M/G/1 make-to-order with
    # unit orders; exponential: M/M/1).
    production_time_days: Distribution | None = None
    min_order_qty: Annotated[int, Field(ge=1, le=10**12)] | None = None
    outages: list[Window | RandomWindows] = []
    # Short shipments: with this probability an order arrives short, with only
    # short_shipment_share of its units; the rest arrives one more lead time later ("later") or
    # never ("never": those units are not paid for).
    short_shipment_probability: Probability = 0.0
    short_shipment_share: Probability = 0.5
    short_shipment_remainder: Literal["later", "never"] = "later"

    @model_validator(mode="after")
    def _one_line(self) -> Supplier:
        if self.capacity_per_day is not None and self.production_time_days is not None:
            raise ValueError(
                "capacity_per_day and production_time_days both describe the production line: "
                "give one (capacity_per_day = c is production_time_days = "
                "{ dist = \"constant\", value = 1/c })"
            )
        return self


class Lane(_Model):
    id: Annotated[str, Field(min_length=1, max_length=100)]
    transit_days: Distribution = Constant(dist="constant", value=0)
    disruptions: list[Window | RandomWindows] = []
    loss_probability: Probability = 0.0  # a shipment is lost in transit (all its units)


class Costs(_Model):
    backorder_handling: Money = 0.0
    cancellation_handling: Money = 0.0


# --------------------------------------------------------------------------------------------
# Availability policies
# --------------------------------------------------------------------------------------------

Payment = Literal["at_order", "at_shipment"]


class _Policy(_Model):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    # Per-product partial overrides of [products.replenishment]; merged and validated by Scenario.
    replenishment: dict[str, dict[str, Any]] = {}


class BackorderPolicy(_Policy):
    availability: Literal["backorder"]
    max_quoted_wait_days: NonNegFloat | None = None
    max_backlog_units: NonNegInt | None = None
    quote_buffer_days: NonNegFloat = 0.0
    # Quote with this quantile of lead and transit times instead of their means (pessimism).
    quote_percentile: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] | None = None
    partial_shipments: bool = False
    payment: Payment = "at_order"


class OutOfStockPolicy(_Policy):
    availability: Literal["out_of_stock"]
    notify_me_share: Probability = 0.0


class PreorderPolicy(_Policy):
    availability: Literal["preorder"]
    after_release: Literal["backorder", "out_of_stock"] = "backorder"
    max_preorders: NonNegInt | None = None
    max_quoted_wait_days: NonNegFloat | None = None
    max_backlog_units: NonNegInt | None = None
    quote_buffer_days: NonNegFloat = 0.0
    # Quote with this quantile of lead and transit times instead of their means (pessimism).
    quote_percentile: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] | None = None
    partial_shipments: bool = False
    payment: Payment = "at_order"
    notify_me_share: Probability = 0.0


class CustomPolicy(_Policy):
    """A user's policy class, ``class = "module:ClassName"``, built with ``options``."""

    availability: Literal["custom"]
    class_path: Annotated[str, Field(alias="class", pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")]
    options: dict[str, Any] = {}


Policy = Annotated[
    BackorderPolicy | OutOfStockPolicy | PreorderPolicy | CustomPolicy,
    Field(discriminator="availability"),
]

AVAILABILITY_KINDS = ("backorder", "out_of_stock", "preorder", "custom")


def _default_policies() -> list[Any]:
    return [
        BackorderPolicy(name="backorder", availability="backorder"),
        OutOfStockPolicy(name="out-of-stock", availability="out_of_stock"),
    ]


class Scenario(_Model):
    scenario: ScenarioMeta
    customers: Customers = Customers()
    products: Annotated[list[Product], Field(min_length=1, max_length=10_000)]
    suppliers: list[Supplier] = []
    lanes: list[Lane] = []
    costs: Costs = Costs()
    policies: Annotated[list[Policy], Field(min_length=1)] = Field(
        default_factory=_default_policies
    )

    @model_validator(mode="after")
    def _references_hold(self) -> Scenario:
        problems = reference_problems(self.model_dump(by_alias=True, exclude_unset=True))
        if problems:
            raise ScenarioReferenceError(problems)
        return self

    # ---- lookups used by the model builder (no validation logic here) ----

    @property
    def baseline(self) -> str:
        return self.scenario.baseline or self.policies[0].name

    def policy(self, name: str) -> Any:
        for p in self.policies:
            if p.name == name:
                return p
        raise KeyError(name)

    def supplier(self, supplier_id: str) -> Supplier:
        return next(s for s in self.suppliers if s.id == supplier_id)

    def lane(self, lane_id: str) -> Lane:
        return next(x for x in self.lanes if x.id == lane_id)

    def replenishment_for(self, policy_name: str, product_id: str) -> Any:
        """The product's replenishment settings with the policy's overrides merged in."""
        product = next(p for p in self.products if p.id == product_id)
        override = self.policy(policy_name).replenishment.get(product_id)
        if not override:
            return product.replenishment
        return _REPLENISHMENT_ADAPTER.validate_python(
            merge_replenishment(product.replenishment.model_dump(exclude_unset=True), override)
        )


def merge_replenishment(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Overlay a policy's per-product override on a product's replenishment table.

    When the override switches to another rule, the base table's rule-specific keys are dropped
    (they may not belong to the new rule); supplier and lane are kept. Likewise a forecast's
    switch to another method drops the old method's parameter (window_days or alpha).
    """
    if "rule" in override and override["rule"] != base.get("rule"):
        base = {k: v for k, v in base.items() if k in ("supplier", "lane", "order_cost")}
    if "method" in override and override["method"] != base.get("method", "moving_average"):
        base = {k: v for k, v in base.items() if k not in ("window_days", "alpha")}
    return {**base, **override}


from pydantic import TypeAdapter  # noqa: E402

_REPLENISHMENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Replenishment)


# --------------------------------------------------------------------------------------------
# Cross-references: checked on plain data, so the loader can also run them on a file whose
# fields failed validation and report every problem at once.
# --------------------------------------------------------------------------------------------

DataPath = tuple[str | int, ...]

_NEEDS_NO_SUPPLIER = ("none", "scheduled")


@dataclass(frozen=True)
class ReferenceProblem:
    """A cross-field problem at ``path`` (keys and list indices into the scenario data).

    When ``error`` is set, the problem is a pydantic error from validating the table at ``path``
    against ``schema`` (a policy's replenishment override merged into the product's table);
    ``error["loc"]`` is then relative to ``path``.
    """

    path: DataPath
    message: str
    error: ErrorDetails | None = None
    schema: Any = None

    @property
    def full_path(self) -> DataPath:
        """``path``, extended by the error's location inside the table (its tag dropped)."""
        if self.error is None:
            return self.path
        return (*self.path, *self.error["loc"][1:])


class ScenarioReferenceError(ValueError):
    """Raised by :class:`Scenario`'s validator with every cross-reference problem found."""

    def __init__(self, problems: list[ReferenceProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{_dotted(p.full_path)}: {p.message}" for p in self.problems))


def _dotted(path: DataPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _items(value: Any) -> list[tuple[int, Mapping[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, Mapping)]


def _unique(
    items: list[tuple[int, Mapping[str, Any]]],
    section: str,
    key: str,
    what: str,
    problems: list[ReferenceProblem],
) -> list[str]:
    """The ids found under ``key``, in order; a problem for each one used a second time."""
    seen: list[str] = []
    for i, item in items:
        ident = item.get(key)
        if not isinstance(ident, str):
            continue
        if ident in seen:
            problems.append(
                ReferenceProblem(
                    (section, i, key),
                    f"duplicate {what} '{ident}': another entry of [[{section}]] already uses it",
                )
            )
        else:
            seen.append(ident)
    return seen


def _unknown(name: str, what: str, known: list[str], section: str) -> str:
    if not known:
        return f"no {what} '{name}': the scenario has no [[{section}]]"
    return (
        f"no {what} '{name}'{did_you_mean(name, known)} "
        f"(known: {', '.join(repr(k) for k in known)})"
    )


def _rule_references(
    rule: Mapping[str, Any],
    path: DataPath,
    suppliers: list[str],
    lanes: list[str],
    changed: set[str] | None = None,
) -> list[ReferenceProblem]:
    """Supplier and lane references of one replenishment table (only the ``changed`` keys'
    consequences, when given: an override does not repeat the product's own problems)."""

    def touched(*keys: str) -> bool:
        return changed is None or any(k in changed for k in keys)

    problems: list[ReferenceProblem] = []
    kind = rule.get("rule")
    supplier = rule.get("supplier")
    if supplier is None:
        if touched("rule", "supplier") and kind in RULE_KINDS and kind not in _NEEDS_NO_SUPPLIER:
            where = (
                f"one of {', '.join(repr(s) for s in suppliers)}"
                if suppliers
                else "and a [[suppliers]] table"
            )
            problems.append(
                ReferenceProblem(
                    (*path, "supplier"),
                    f"rule '{kind}' needs a supplier: add supplier = \"...\" ({where})",
                )
            )
    elif isinstance(supplier, str) and supplier not in suppliers and touched("supplier"):
        problems.append(
            ReferenceProblem(
                (*path, "supplier"), _unknown(supplier, "supplier with id", suppliers, "suppliers")
            )
        )
    lane = rule.get("lane")
    if isinstance(lane, str) and lane not in lanes and touched("lane"):
        problems.append(
            ReferenceProblem((*path, "lane"), _unknown(lane, "lane with id", lanes, "lanes"))
        )
    return problems


def _valid_rule(table: Mapping[str, Any]) -> bool:
    try:
        _REPLENISHMENT_ADAPTER.validate_python(dict(table), strict=True)
    except ValidationError:
        return False
    return True


def reference_problems(data: Mapping[str, Any]) -> list[ReferenceProblem]:
    """Every cross-reference problem of a scenario given as plain data (TOML or a model dump).

    Unique product, supplier and lane ids and policy names; suppliers and lanes named by
    replenishment tables exist (a supplier is required unless the rule is "none" or
    "scheduled"); the baseline names a policy; each policy's replenishment overrides name
    existing products and, merged into the product's table, give a valid rule.

    Tolerant of malformed data (anything of the wrong type is skipped: field validation
    reports it), so it can run on a scenario that failed field validation.
    """
    problems: list[ReferenceProblem] = []
    products = _items(data.get("products"))
    if "policies" in data:
        policies = _items(data["policies"])
    else:
        policies = list(enumerate(p.model_dump() for p in _default_policies()))
    product_ids = _unique(products, "products", "id", "product id", problems)
    suppliers = _unique(_items(data.get("suppliers")), "suppliers", "id", "supplier id", problems)
    lanes = _unique(_items(data.get("lanes")), "lanes", "id", "lane id", problems)
    policy_names = _unique(policies, "policies", "name", "policy name", problems)

    rules: dict[str, Mapping[str, Any]] = {}
    for i, product in products:
        rule = product.get("replenishment", {"rule": "none"})
        if not isinstance(rule, Mapping):
            continue
        rules.setdefault(str(product.get("id")), rule)
        problems += _rule_references(rule, ("products", i, "replenishment"), suppliers, lanes)

    meta = data.get("scenario")
    baseline = meta.get("baseline") if isinstance(meta, Mapping) else None
    if isinstance(baseline, str) and baseline not in policy_names:
        message = _unknown(baseline, "policy named", policy_names, "policies")
        problems.append(ReferenceProblem(("scenario", "baseline"), message))

    for i, policy in policies:
        overrides = policy.get("replenishment")
        if not isinstance(overrides, Mapping):
            continue
        for product_id, override in overrides.items():
            path: DataPath = ("policies", i, "replenishment", product_id)
            if product_id not in product_ids:
                message = _unknown(product_id, "product with id", product_ids, "products")
                problems.append(ReferenceProblem(path, message))
                continue
            base = rules.get(product_id)
            if not isinstance(override, Mapping) or base is None or not _valid_rule(base):
                continue  # field validation reports these
            merged = merge_replenishment(dict(base), dict(override))
            try:
                _REPLENISHMENT_ADAPTER.validate_python(merged, strict=True)
            except ValidationError as exc:
                problems += [
                    ReferenceProblem(path, err["msg"], err, Replenishment) for err in exc.errors()
                ]
            problems += _rule_references(merged, path, suppliers, lanes, set(override))

    horizon = meta.get("horizon_days") if isinstance(meta, Mapping) else None
    if isinstance(horizon, int | float) and math.isfinite(horizon):
        for i, product in products:
            rule = product.get("replenishment")
            if isinstance(rule, Mapping):
                problems += _review_density(rule, ("products", i, "replenishment"), horizon)
        for i, policy in policies:
            overrides = policy.get("replenishment")
            for product_id, override in (overrides or {}).items() if isinstance(
                    overrides, Mapping) else ():
                if isinstance(override, Mapping):
                    path = ("policies", i, "replenishment", product_id)
                    problems += _review_density(override, path, horizon)
        for section, key in (("products", "spikes"), ("suppliers", "outages"),
                             ("lanes", "disruptions")):
            for i, item in _items(data.get(section)):
                table = item.get("demand") if section == "products" else item
                windows = table.get(key) if isinstance(table, Mapping) else None
                base: DataPath = (section, i, "demand", key) if section == "products" else (
                    section, i, key)
                for j, window in _items(windows):
                    problems += _window_density(window, (*base, j), float(horizon))
    return problems


def _count(n: float) -> str:
    """A large count for a message: digits grouped, or a power of ten past 10^15."""
    return f"{n:,.0f}" if n < 1e15 else f"about {n:.1e}"


MAX_REVIEWS = 10_000_000  # periodic reviews of one product over the horizon


def _review_density(rule: Mapping[str, Any], path: DataPath, horizon: float
                    ) -> list[ReferenceProblem]:
    """A review period so short that the horizon holds more than ``MAX_REVIEWS`` reviews: the
    run would never end (a period of 1e-9 days is a mistake in the units, not a policy)."""
    period = rule.get("review_period_days")
    if not isinstance(period, int | float) or isinstance(period, bool) or not period > 0:
        return []
    if horizon / period <= MAX_REVIEWS:
        return []
    return [ReferenceProblem((*path, "review_period_days"), (
        f"a review every {period:.3g} days gives {_count(horizon / period)} reviews over the "
        f"horizon ({horizon:g} days); at most {MAX_REVIEWS:,} are allowed: make "
        f"review_period_days at least {horizon / MAX_REVIEWS:.3g} days (0 = continuous review)"
    ))]


def mean_of(spec: object) -> float:
    """The mean of a distribution spec (the truncated normal's mean is computed exactly)."""
    if isinstance(spec, Normal):
        if spec.sd == 0:
            return max(spec.mean, 0.0)
        # E[X | X >= 0] for X ~ N(mu, sd): mu + sd * phi(a) / (1 - Phi(a)), a = -mu / sd
        a = -spec.mean / spec.sd
        phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
        tail = 0.5 * math.erfc(a / math.sqrt(2))
        return spec.mean + spec.sd * phi / tail
    return float(spec.mean)  # type: ignore[attr-defined]


MAX_WINDOWS = 100_000  # expected random windows of one spec over the horizon
_DIST_ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)


def _window_density(window: Mapping[str, Any], path: DataPath, horizon: float
                    ) -> list[ReferenceProblem]:
    """A random window spec whose windows come so often that the horizon would hold more than
    ``MAX_WINDOWS`` of them (on average): drawing them all would take minutes and memory, and
    windows a millionth of a day apart are a mistake in the units, not a model."""
    if "every_days" not in window:
        return []
    try:
        every = mean_of(_DIST_ADAPTER.validate_python(window["every_days"]))
        duration = mean_of(_DIST_ADAPTER.validate_python(window.get("duration_days")))
    except (ValidationError, TypeError, ValueError):
        return []  # field validation reports these
    start = window.get("start_day", 0.0)
    span = horizon - (start if isinstance(start, int | float) else 0.0)
    cycle = max(every, 0.0) + max(duration, 0.0)
    if span <= 0 or cycle * MAX_WINDOWS >= span:
        return []
    expected = _count(span / cycle) if cycle > 0 else "endless"
    return [ReferenceProblem((*path, "every_days"), (
        f"windows every {every:.3g} days on average, each lasting {duration:.3g} days, give "
        f"{expected} windows over the horizon ({span:g} days); at most {MAX_WINDOWS:,} are "
        f"allowed: make every_days (or duration_days) longer, in days "
        f"(together at least {span / MAX_WINDOWS:.3g} on average)"
    ))]
