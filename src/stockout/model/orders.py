"""The records a stock point keeps of its customers: waiting orders and notify-me requests.

Orders filled from stock on arrival are never objects (they only move counters): a waiting order
is, for as long as it waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from ..policies.availability import OfferKind


@dataclass(slots=True, eq=False)
class WaitingOrder:
    """An order accepted to wait (a backorder or a pre-order).

    Fields: ``id`` (numbered in the run), ``day`` it arrived, ``qty`` ordered, ``quote`` the
    promised ship day, ``counted`` whether it belongs to the cohort the statistics follow,
    ``prepaid`` whether it paid at order, ``kind`` BACKORDER or PREORDER, ``u_churn`` the
    uniform that decides whether a bad experience makes its customer leave; then ``remaining``
    units not yet shipped, ``allocated`` units set aside for it on hand (without partial
    shipments), ``done`` whether it has left the queue (shipped or cancelled); ``ship_to``, for
    an order from another location (``StockPoint.transfer``), what sends the goods on their way
    (called with the day and the units).
    """

    id: int
    day: float
    qty: int
    quote: float
    counted: bool
    prepaid: bool
    kind: OfferKind
    u_churn: float
    remaining: int = field(init=False)
    allocated: int = 0
    done: bool = False
    ship_to: Callable[[float, int], None] | None = None

    def __post_init__(self) -> None:
        self.remaining = self.qty


class NotifyRequest(NamedTuple):
    """A customer turned away who asked to be told when the product is back."""

    day: float
    qty: int
    patience: float
    counted: bool
