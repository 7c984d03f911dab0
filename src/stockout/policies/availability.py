"""Availability policies: what a customer is offered when an order cannot be filled from stock.

A policy is a small object with a few attributes and one method, ``on_shortage(s) -> Offer``. The
model calls it when an order arrives and the product cannot fill it completely from free stock, or
arrives before the product's release day; the model applies the decision (queue, quote, refuse).
The three built-in policies use exactly the interface a user's own policy implements::

    # my_policies.py, next to the scenario file
    from stockout.policies.availability import Offer, Shortage

    class CapByBacklog:
        '''Backorder while fewer than `limit` units wait, else show out of stock.'''
        partial_shipments = False
        payment = "at_order"          # or "at_shipment"
        notify_me_share = 0.0

        def __init__(self, limit: int = 50):
            self.limit = limit

        def on_shortage(self, s: Shortage) -> Offer:
            if not s.released or s.backlog_units + s.quantity > self.limit:
                return Offer.refuse()
            return Offer.backorder(s.quote_day)

    # scenario.toml
    # [[policies]]
    # name = "capped"
    # availability = "custom"
    # class = "my_policies:CapByBacklog"
    # options = { limit = 80 }

``on_shortage`` must be a pure decision: it must not mutate the Shortage, and it must return an
Offer; the model checks what it returns and stops the run with an error naming the policy if the
decision is impossible (a quote in the past, something that is not an Offer).
"""

from __future__ import annotations

import importlib
import math
import numbers
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from ..scenario.schema import BackorderPolicy, CustomPolicy, OutOfStockPolicy, PreorderPolicy
from .errors import PolicyError as PolicyError
from .errors import module_files as module_files


class OfferKind(IntEnum):
    """What a customer is offered when stock is short."""

    REFUSE = 0  # shown out of stock: the sale is lost
    BACKORDER = 1  # taken to wait, shipped when stock arrives
    PREORDER = 2  # taken before the release day, shipped at release


REFUSE, BACKORDER, PREORDER = OfferKind.REFUSE, OfferKind.BACKORDER, OfferKind.PREORDER


@dataclass(frozen=True, slots=True)
class Offer:
    """A policy's decision: refuse the order, or offer to take it with a quoted ship day."""

    kind: OfferKind
    quote_day: float = 0.0

    @staticmethod
    def refuse() -> Offer:
        """Show the item out of stock: the sale is lost."""
        return _REFUSE

    @staticmethod
    def backorder(quote_day: float) -> Offer:
        """Take the order to wait, promising to ship by ``quote_day`` (absolute day)."""
        return Offer(BACKORDER, quote_day)

    @staticmethod
    def preorder(quote_day: float) -> Offer:
        """Take a pre-order for an unreleased product, shipping by ``quote_day``."""
        return Offer(PREORDER, quote_day)


_REFUSE = Offer(REFUSE)


class Shortage:
    """What a policy sees when an order cannot be filled from free stock on arrival.

    ``quote_day`` is the model's estimate of when this order could ship if taken, from what the
    business knows now: free stock, the units owed to the orders ahead of it, the scheduled
    arrivals in the pipeline and, beyond them, the nominal replenishment time. It carries no
    buffer: adding one is the policy's choice. It is computed the first time a policy reads it,
    so a policy that never looks (out of stock) costs nothing.

    Fields: ``day, product, quantity, available, backlog_units, backlog_orders,
    preorders_taken, released, release_day, quote_day``.
    """

    __slots__ = (
        "day", "product", "quantity", "available", "backlog_units", "backlog_orders",
        "preorders_taken", "released", "release_day", "_quote_day", "_quote_fn",
    )

    def __init__(
        self, day: float, product: str, quantity: int, available: int, backlog_units: int,
        backlog_orders: int, preorders_taken: int, released: bool, release_day: float,
        quote_day: float | None = None, *, quote_fn: Callable[[], float] | None = None,
    ) -> None:
        if quote_day is None and quote_fn is None:
            raise TypeError("Shortage needs quote_day or quote_fn")
        self.day = day
        self.product = product
        self.quantity = quantity
        self.available = available
        self.backlog_units = backlog_units
        self.backlog_orders = backlog_orders
        self.preorders_taken = preorders_taken
        self.released = released
        self.release_day = release_day
        self._quote_day = quote_day
        self._quote_fn = quote_fn

    @property
    def quote_day(self) -> float:
        if self._quote_day is None:
            self._quote_day = self._quote_fn()  # type: ignore[misc]
        return self._quote_day

    @quote_day.setter
    def quote_day(self, value: float) -> None:  # the view is the policy's to scribble on
        self._quote_day = value

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={getattr(self, k)!r}" for k in (
                "day", "product", "quantity", "available", "backlog_units", "backlog_orders",
                "preorders_taken", "released", "release_day", "quote_day",
            )
        )
        return f"Shortage({fields})"


@runtime_checkable
class AvailabilityPolicy(Protocol):
    """The interface every availability policy implements (built-in or a user's)."""

    partial_shipments: bool
    payment: Literal["at_order", "at_shipment"]
    notify_me_share: float

    def on_shortage(self, s: Shortage) -> Offer: ...


class Backorder:
    """Take the order and ship it when stock arrives (FIFO), within the optional caps."""

    def __init__(
        self,
        max_quoted_wait_days: float | None = None,
        max_backlog_units: int | None = None,
        quote_buffer_days: float = 0.0,
        partial_shipments: bool = False,
        payment: Literal["at_order", "at_shipment"] = "at_order",
    ) -> None:
        self.max_quoted_wait_days = max_quoted_wait_days
        self.max_backlog_units = max_backlog_units
        self.quote_buffer_days = quote_buffer_days
        self.partial_shipments = partial_shipments
        self.payment = payment
        self.notify_me_share = 0.0

    def on_shortage(self, s: Shortage) -> Offer:
        if not s.released:
            return _REFUSE
        quote = self.decide(s.day, s.quantity, s.available, s.backlog_units, s.quote_day)
        return _REFUSE if quote is None else Offer(BACKORDER, quote)

    def decide(
        self, day: float, quantity: int, available: int, backlog_units: int, quote_day: float
    ) -> float | None:
        """The decision for a released product: the promised ship day, or None to refuse."""
        quote = quote_day + self.quote_buffer_days
        if self.max_quoted_wait_days is not None and quote - day > self.max_quoted_wait_days:
            return None
        if self.max_backlog_units is not None:
            owed_here = quantity - (available if self.partial_shipments else 0)
            if backlog_units + owed_here > self.max_backlog_units:
                return None
        return quote


class OutOfStock:
    """Disable purchase when stock is short: the sale is lost (optionally, notify me)."""

    partial_shipments = False
    payment: Literal["at_order", "at_shipment"] = "at_shipment"

    def __init__(self, notify_me_share: float = 0.0) -> None:
        self.notify_me_share = notify_me_share

    def on_shortage(self, s: Shortage) -> Offer:
        return _REFUSE


class Preorder:
    """Before release, take pre-orders that ship at release; after it, backorder or out of stock."""

    def __init__(
        self,
        after_release: Literal["backorder", "out_of_stock"] = "backorder",
        max_preorders: int | None = None,
        max_quoted_wait_days: float | None = None,
        max_backlog_units: int | None = None,
        quote_buffer_days: float = 0.0,
        partial_shipments: bool = False,
        payment: Literal["at_order", "at_shipment"] = "at_order",
        notify_me_share: float = 0.0,
    ) -> None:
        self.max_preorders = max_preorders
        self.quote_buffer_days = quote_buffer_days
        self.partial_shipments = partial_shipments
        self.payment = payment
        self.after: Backorder | OutOfStock
        if after_release == "backorder":
            self.after = Backorder(
                max_quoted_wait_days, max_backlog_units, quote_buffer_days, partial_shipments,
                payment,
            )
            self.notify_me_share = 0.0
        else:
            self.after = OutOfStock(notify_me_share)
            self.notify_me_share = notify_me_share

    def on_shortage(self, s: Shortage) -> Offer:
        if s.released:
            return self.after.on_shortage(s)
        if self.max_preorders is not None and s.preorders_taken >= self.max_preorders:
            return _REFUSE
        return Offer(PREORDER, max(s.quote_day, s.release_day) + self.quote_buffer_days)


def _stamp(top: str, search_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Where and when the files of module ``top`` in ``search_dir`` were last written; empty if
    the folder has no such module."""
    stats = [(f.resolve(), f.stat()) for f in module_files(top, search_dir)]
    return tuple((str(path), st.st_mtime_ns, st.st_size) for path, st in stats)


def _forget_if_changed(top: str, stamp: tuple[tuple[str, int, int], ...]) -> None:
    """Drop module ``top`` (and its submodules) from the import cache if this function's caller
    imported it from files that have changed or moved since: an edited policy in a notebook, or
    on a long-lived Dask worker the policy of another run. Modules imported otherwise are left
    alone."""
    cached = sys.modules.get(top)
    old = getattr(cached, "__stockout_stamp__", None)
    if cached is None or old is None or old == stamp:
        return
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def load_class(class_path: str, search_dir: Path | None = None) -> type:
    """The policy class ``module:Class``, from a module in ``search_dir`` (the scenario file's
    folder) or an installed package's ``stockout.policies`` entry point, checked to be a policy
    class before anything of it is called (see :mod:`stockout.trust`).

    A module found in ``search_dir`` is imported again when its files have changed since it was
    imported here, so a run always uses the policy as it is on disk now.
    """
    from ..trust import resolve_class

    top = class_path.partition(":")[0].split(".")[0]
    stamp = _stamp(top, search_dir) if search_dir is not None else ()
    if stamp:
        _forget_if_changed(top, stamp)
    found = resolve_class(class_path, search_dir)
    if stamp and top in sys.modules:
        try:
            sys.modules[top].__stockout_stamp__ = stamp  # type: ignore[attr-defined]
        except (AttributeError, TypeError):  # an odd module object: it is not refreshed
            pass
    return found


class UserPolicy:
    """A user's policy as the model sees it: every decision passes through, and whatever goes
    wrong in the user's code (an exception, a decision that is not an Offer, a quote that is not
    a number) becomes a :class:`PolicyError` naming the policy, the day and the product."""

    __slots__ = ("inner", "name", "partial_shipments", "payment", "notify_me_share")

    def __init__(self, inner: Any, name: str) -> None:
        self.inner = inner
        self.name = name
        self.partial_shipments = inner.partial_shipments
        self.payment = inner.payment
        self.notify_me_share = inner.notify_me_share

    def on_shortage(self, s: Shortage) -> Offer:
        try:
            offer = self.inner.on_shortage(s)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - the user's code failed (even a bare
            # BaseException, or SystemExit: it is the policy's failure, not a request to stop)
            raise PolicyError(
                f"policy '{self.name}': on_shortage raised {type(exc).__name__}: {exc} "
                f"(day {s.day:g}, product '{s.product}')"
            ) from exc
        if not isinstance(offer, Offer):
            raise PolicyError(
                f"policy '{self.name}': on_shortage returned {offer!r:.200}, not an Offer "
                f"(use Offer.refuse(), Offer.backorder(day) or Offer.preorder(day))"
            )
        quote = offer.quote_day
        if offer.kind != REFUSE and (
            isinstance(quote, bool) or not isinstance(quote, numbers.Real) or math.isnan(quote)
        ):
            raise PolicyError(
                f"policy '{self.name}': on_shortage quoted ship day {quote!r:.200}, not a "
                f"number (day {s.day:g}, product '{s.product}')"
            )
        return offer


def _backorder(spec: BackorderPolicy, search_dir: Path | None) -> AvailabilityPolicy:
    return Backorder(
        spec.max_quoted_wait_days, spec.max_backlog_units, spec.quote_buffer_days,
        spec.partial_shipments, spec.payment,
    )


def _out_of_stock(spec: OutOfStockPolicy, search_dir: Path | None) -> AvailabilityPolicy:
    return OutOfStock(spec.notify_me_share)


def _preorder(spec: PreorderPolicy, search_dir: Path | None) -> AvailabilityPolicy:
    return Preorder(
        spec.after_release, spec.max_preorders, spec.max_quoted_wait_days,
        spec.max_backlog_units, spec.quote_buffer_days, spec.partial_shipments,
        spec.payment, spec.notify_me_share,
    )


def _custom(spec: CustomPolicy, search_dir: Path | None) -> AvailabilityPolicy:
    try:
        cls = load_class(spec.class_path, search_dir)
    except PolicyError as exc:
        raise PolicyError(f"policy '{spec.name}': {exc}") from exc.__cause__
    try:
        policy = cls(**spec.options)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the user's constructor failed
        raise PolicyError(
            f"policy '{spec.name}': {spec.class_path}(**options) failed: {exc}"
        ) from exc
    for attr, default in (
        ("partial_shipments", False), ("payment", "at_order"), ("notify_me_share", 0.0),
    ):
        if not hasattr(policy, attr):
            try:
                setattr(policy, attr, default)
            except Exception:  # noqa: BLE001
                pass
    _check_custom(policy, spec)
    return UserPolicy(policy, spec.name)


def _check_custom(policy: Any, spec: CustomPolicy) -> None:
    """A user's policy object has the interface's method and attributes, with valid values."""
    if not callable(getattr(policy, "on_shortage", None)):
        raise PolicyError(
            f"policy '{spec.name}': {spec.class_path} has no method on_shortage(shortage)"
        )
    if getattr(policy, "payment", None) not in ("at_order", "at_shipment"):
        raise PolicyError(
            f"policy '{spec.name}': payment must be 'at_order' or 'at_shipment', "
            f"got {getattr(policy, 'payment', None)!r}"
        )
    partial = getattr(policy, "partial_shipments", None)
    if not isinstance(partial, bool):
        raise PolicyError(
            f"policy '{spec.name}': partial_shipments must be true or false, "
            f"got {partial!r:.100}"
        )
    share = getattr(policy, "notify_me_share", None)
    if isinstance(share, bool) or not isinstance(share, numbers.Real) or not 0 <= share <= 1:
        raise PolicyError(
            f"policy '{spec.name}': notify_me_share must be a number from 0 to 1, "
            f"got {share!r:.100}"
        )


# The availability policies by the scenario's tag (``availability = "..."``): a new built-in
# policy is a class above and one entry here (plus its schema entry in scenario/schema.py).
POLICIES: dict[str, Callable[[Any, Path | None], AvailabilityPolicy]] = {
    "backorder": _backorder,
    "out_of_stock": _out_of_stock,
    "preorder": _preorder,
    "custom": _custom,
}


def make_policy(spec: Any, search_dir: Path | None = None) -> AvailabilityPolicy:
    """Build the runtime policy object from its scenario entry, by its tag."""
    build = POLICIES.get(getattr(spec, "availability", None))
    if build is None:
        raise TypeError(f"unknown policy spec {spec!r}")
    return build(spec, search_dir)
