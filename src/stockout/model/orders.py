"""The records a stock point keeps of its customers: waiting orders and notify-me requests.

Orders filled from stock on arrival are never objects (they only move counters): a waiting order
is, for as long as it waits.
"""

from __future__ import annotations

from typing import NamedTuple

from ..policies.availability import OfferKind


class WaitingOrder:
    """An order accepted to wait (a backorder or a pre-order).

    Fields: ``id`` (numbered in the run), ``day`` it arrived, ``qty`` ordered, ``remaining``
    units not yet shipped, ``allocated`` units set aside for it on hand (without partial
    shipments), ``quote`` the promised ship day, ``counted`` whether it belongs to the cohort
    after the warm-up, ``prepaid`` whether it paid at order, ``kind`` BACKORDER or PREORDER,
    ``u_churn`` the uniform that decides whether a bad experience makes its customer leave,
    ``done`` whether it has left the queue (shipped or cancelled).
    """

    __slots__ = (
        "id", "day", "qty", "remaining", "allocated", "quote", "counted", "prepaid", "kind",
        "u_churn", "done",
    )

    def __init__(
        self, oid: int, day: float, qty: int, quote: float, counted: bool, prepaid: bool,
        kind: OfferKind, u_churn: float,
    ) -> None:
        self.id = oid
        self.day = day
        self.qty = qty
        self.remaining = qty
        self.allocated = 0
        self.quote = quote
        self.counted = counted
        self.prepaid = prepaid
        self.kind = kind
        self.u_churn = u_churn
        self.done = False


class NotifyRequest(NamedTuple):
    """A customer turned away who asked to be told when the product is back."""

    day: float
    qty: int
    patience: float
    counted: bool
