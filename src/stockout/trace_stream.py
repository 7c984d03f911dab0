"""``stockout trace`` without holding the whole story in memory.

A long horizon (or ``--orders 1000000000``) narrates millions of events. They are collected in a
bounded buffer; older events go to sorted runs in a private temporary folder, and the output is
a merge of those runs: the same events in the same order as :func:`stockout.model.trace.trace`
(day order, same-day events in the order they happened), written as they come. Memory holds at
most :data:`CHUNK` events (twice, briefly) plus one per run.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import pickle
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .model.trace import TraceEvent, run_traced
from .scenario.schema import Scenario

__all__ = ["CHUNK", "EventSpool", "stream_trace", "write_trace"]

#: Events kept in memory before the oldest are sorted and written to a run on disk.
CHUNK = 50_000
#: Recent events never spilled: the model inserts an order's own line a few events back.
KEEP = 1_000

FIELDS = ["day", "product", "order", "event", "quantity", "text"]


class EventSpool:
    """The trace's event log (``append``, ``insert``, ``len``), spilling old events to disk."""

    def __init__(self, folder: Path, orders: int | None = None) -> None:
        self.folder = folder
        self.buffer: list[TraceEvent] = []
        self.spilled = 0
        self.runs: list[Path] = []
        self.orders = orders
        self.last_settled = 0.0  # the last day an event of the first N orders happened

    def __len__(self) -> int:
        return self.spilled + len(self.buffer)

    def append(self, event: TraceEvent) -> None:
        self.buffer.append(event)
        if len(self.buffer) >= CHUNK + KEEP:
            self._spill(CHUNK)

    def insert(self, at: int, event: TraceEvent) -> None:
        self.buffer.insert(max(at - self.spilled, 0), event)

    def _spill(self, count: int) -> None:
        chunk, self.buffer = self.buffer[:count], self.buffer[count:]
        keyed = sorted(
            ((e.day, self.spilled + i, e) for i, e in enumerate(chunk)), key=lambda k: k[:2]
        )
        path = self.folder / f"run-{len(self.runs):06d}.pickle"
        with open(path, "wb") as handle:
            for item in keyed:
                self._note(item[2])
                pickle.dump(item, handle, protocol=pickle.HIGHEST_PROTOCOL)
        self.runs.append(path)
        self.spilled += count

    def _note(self, event: TraceEvent) -> None:
        if self.orders is not None and event.order is not None and event.order <= self.orders:
            self.last_settled = max(self.last_settled, event.day)

    def events(self) -> Iterator[TraceEvent]:
        """Every event in day order (stable), the ``orders`` filter applied."""
        self._spill(len(self.buffer))
        streams = [_read_run(path) for path in self.runs]
        for _, _, event in heapq.merge(*streams, key=lambda k: k[:2]):
            if self.orders is None or _kept(event, self.orders, self.last_settled):
                yield event


def _kept(event: TraceEvent, orders: int, last: float) -> bool:
    if event.order is not None:
        return event.order <= orders
    return event.day <= last


def _read_run(path: Path) -> Iterator[tuple[float, int, TraceEvent]]:
    with open(path, "rb") as handle:
        while True:
            try:
                yield pickle.load(handle)  # noqa: S301 - our own file, in our private folder
            except EOFError:
                return


def stream_trace(
    scenario: Scenario,
    policy: str,
    *,
    replication: int = 0,
    days: float | None = None,
    orders: int | None = None,
    search_dir: Path | None = None,
) -> Iterator[TraceEvent]:
    """The events of :func:`stockout.model.trace.trace`, in its order, from bounded memory."""
    with tempfile.TemporaryDirectory(prefix="stockout-trace-") as folder:
        spool = EventSpool(Path(folder), orders)
        run_traced(scenario, policy, spool, replication=replication, days=days,
                   search_dir=search_dir)
        yield from spool.events()


def write_trace(
    events: Iterator[TraceEvent], fmt: str, out: IO[str], clean: Callable[[str], str] = str
) -> int:
    """Write ``events`` as text (a sentence a line), CSV or JSON, as they come; return how many.

    The output is the same as :func:`stockout.api.format_trace` of the same events; ``clean``
    is applied to everything written (terminal escapes, for output to a terminal).
    """
    count = 0
    if fmt == "csv":
        out.write(clean(",".join(FIELDS) + "\n"))
    elif fmt == "json":
        out.write("[")
    for event in events:
        out.write(clean(_formatted(event, fmt, first=count == 0)))
        count += 1
    if fmt == "json":
        out.write("\n]\n" if count else "]\n")
    return count


def _formatted(event: TraceEvent, fmt: str, *, first: bool) -> str:
    if fmt == "text":
        return event.text + "\n"
    row: dict[str, Any] = event.as_dict()
    if fmt == "json":
        body = json.dumps(row, indent=1, ensure_ascii=False).replace("\n", "\n ")
        return ("\n " if first else ",\n ") + body
    buf = io.StringIO()
    csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n").writerow(row)
    return buf.getvalue()
