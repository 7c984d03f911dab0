"""The recorder seam: what a stock point reports as it works, to whoever listens.

A stock point calls one method of its recorder for each thing that happens to it; the recorder
does nothing by default (like Ciw's state trackers and desmod's probes). The model's own metrics
and demand records come from one recorder (``tally.Tally``), the story of ``stockout trace`` from
another (``trace.TraceRecorder``), and tests log events with a recorder of their own. A recorder
observes; it never changes the stock point.

Arguments: ``sp`` the stock point, ``t`` the time; ``order`` a waiting order
(:class:`~stockout.model.orders.WaitingOrder`); ``qty`` units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..policies.availability import Offer
    from .orders import WaitingOrder
    from .stockpoint import StockPoint


class Recorder:
    """Do-nothing hooks; subclass and override the ones you need."""

    __slots__ = ()

    def filled(self, sp: StockPoint, t: float, qty: int) -> None:
        """An order of ``qty`` units was filled from stock on arrival."""

    def queued(self, sp: StockPoint, t: float, order: WaitingOrder, patience: float,
               free: int, shipped_now: int) -> None:
        """An order was accepted to wait (``order.kind``: backorder or pre-order); ``free``
        units were free on arrival, ``shipped_now`` of them shipped at once (partial)."""

    def lost(self, sp: StockPoint, t: float, qty: int, offer: Offer, patience: float,
             free: int, notify: bool) -> None:
        """An order was refused (``offer.kind`` REFUSE) or its quote declined; ``notify``: the
        customer asked to be told when the product is back."""

    def shipped(self, sp: StockPoint, t: float, order: WaitingOrder, qty: int) -> None:
        """``qty`` units were shipped to a waiting order."""

    def completed(self, sp: StockPoint, t: float, order: WaitingOrder) -> None:
        """A waiting order was shipped in full."""

    def cancelled(self, sp: StockPoint, t: float, order: WaitingOrder, qty: int) -> None:
        """A waiting order was cancelled by its customer with ``qty`` units unshipped."""

    def recovered(self, sp: StockPoint, t: float, day: float, qty: int, counted: bool) -> None:
        """A customer turned away on ``day`` and notified of the restock came back and bought."""

    def received(self, sp: StockPoint, t: float, qty: int, source: str) -> None:
        """A shipment of ``qty`` units arrived from ``source`` (a supplier)."""

    def delivered(self, sp: StockPoint, t: float, qty: int) -> None:
        """A scheduled delivery of ``qty`` units arrived (rule 'scheduled')."""

    def reordered(self, sp: StockPoint, t: float, qty: int, position: int,
                  expected: float) -> None:
        """A replenishment order of ``qty`` units was placed at inventory position
        ``position``; its first shipment is expected on day ``expected``."""

    def short_shipped(self, sp: StockPoint, t: float, qty: int) -> None:
        """The supplier will never ship ``qty`` units of an order (known when it is placed)."""

    def lost_in_transit(self, sp: StockPoint, t: float, qty: int) -> None:
        """A shipment of ``qty`` units was lost on the way."""

    def churned(self, sp: StockPoint, t: float, active: int) -> None:
        """A customer left for good after a bad experience; ``active`` customers remain."""

    def released(self, sp: StockPoint, t: float) -> None:
        """The product was released."""


class Fanout(Recorder):
    """Every hook of several recorders, in order (the tally, then a trace or a test's log)."""

    def __init__(self, *recorders: Recorder) -> None:
        self.recorders = recorders
        for name in _HOOKS:
            bound = [getattr(r, name) for r in recorders
                     if getattr(type(r), name) is not getattr(Recorder, name)]
            setattr(self, name, _fan(bound))


_HOOKS = [n for n in vars(Recorder) if not n.startswith("_")]


def _fan(bound: list[Any]) -> Any:
    def call(*args: Any) -> None:
        for hook in bound:
            hook(*args)
    return call
