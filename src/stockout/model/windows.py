"""Time windows (closures, outages, spikes): drawing random ones and working around them."""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from ..distributions import batch_drawer, remaining_duration
from ..scenario.schema import RandomWindows, Window


def draw_windows(
    specs: list, horizon: float, rng_for: callable
) -> list[tuple[float, float, float]]:
    """Every window of ``specs`` that starts before ``horizon``, as sorted (start, end, value).

    ``value`` is a spike's multiplier (1.0 for closures and outages). Random windows of spec i are
    drawn from ``rng_for(i)``: onsets follow the previous window's end (or ``start_day``) after an
    ``every_days`` draw, and each lasts a ``duration_days`` draw.
    """
    out: list[tuple[float, float, float]] = []
    for i, spec in enumerate(specs):
        value = float(getattr(spec, "multiplier", 1.0))
        if isinstance(spec, Window):
            if spec.start_day < horizon:
                out.append((spec.start_day, spec.end_day, value))
        elif isinstance(spec, RandomWindows):
            rng = rng_for(i)
            gap, dur = batch_drawer(spec.every_days), batch_drawer(spec.duration_days)
            t = spec.start_day
            while t < horizon:
                gaps, durs = gap(rng, 256), dur(rng, 256)
                for g, d in zip(gaps.tolist(), durs.tolist(), strict=True):
                    start = t + g
                    if start >= horizon:
                        t = start
                        break
                    end = start + max(d, 0.0)
                    if end > start:
                        out.append((start, end, value))
                    # a zero gap and zero duration would never advance: force progress
                    t = end if end > t else t + 1e-9
                if len(out) > 1_000_000:
                    raise ValueError("random windows: more than a million windows in the horizon")
    out.sort()
    return out


def merge(windows: list[tuple[float, float, float]]) -> list[tuple[float, float]]:
    """Union of windows as sorted, disjoint (start, end) intervals."""
    merged: list[list[float]] = []
    for start, end, _ in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


class Blackouts:
    """Disjoint closed-for-work intervals with the one question the model asks of them.

    Windows are rare and far apart, and most questions are asked about times in the same gap
    between two of them (the one around the current day). The gap of the last question that
    started outside a window is kept, ``[gap_start, gap_end)``: work that starts in it and ends
    by its end meets no window, and is answered without a search.

    What a business knows at a time ``known_at``: the intervals begun by then. A scheduled
    window's end is known once it has begun (it was announced); a random one's is not, until it
    happens: while one is in progress, it is believed to last its expected remaining duration
    given how long it has lasted (``remaining_duration`` of its ``duration_days``; with
    ``quantile``, that quantile of the remaining duration). ``parts`` holds, for each interval
    made of at least one random window, its windows as (start, end, duration spec, or None for
    a scheduled one).
    """

    __slots__ = ("starts", "ends", "gap_start", "gap_end", "parts", "quantile")

    def __init__(
        self,
        intervals: list[tuple[float, float]],
        windows: list[tuple[float, float, object | None]] = (),  # type: ignore[assignment]
        quantile: float | None = None,
    ) -> None:
        self.starts = [a for a, _ in intervals]
        self.ends = [b for _, b in intervals]
        self.gap_start = -math.inf
        self.gap_end = self.starts[0] if self.starts else math.inf
        self.quantile = quantile
        parts: dict[int, list[tuple[float, float, object | None]]] = {}
        for w in windows:  # the interval holding each window: the last one begun by its start
            parts.setdefault(bisect_right(self.starts, w[0]) - 1, []).append(w)
        random = {i: p for i, p in parts.items() if any(spec is not None for _, _, spec in p)}
        self.parts = random or None  # None: every window is scheduled (nothing is believed)

    def believed_end(self, now: float) -> float | None:
        """The end of the interval in progress at ``now`` as believed then, if a random window
        in it is in progress (None otherwise: what is known is the truth). Each window of the
        interval begun by ``now`` counts: scheduled ones and random ones already over with their
        real end, a random one in progress with ``now`` + its expected remaining duration."""
        k = bisect_right(self.starts, now) - 1
        if k < 0 or now >= self.ends[k] or self.parts is None or k not in self.parts:
            return None
        best = -math.inf
        for start, end, spec in self.parts[k]:
            if start <= now:
                if spec is not None and end > now:
                    end = now + remaining_duration(spec, now - start, self.quantile)
                if end > best:
                    best = end
        return best

    def __bool__(self) -> bool:
        return bool(self.starts)

    def finish(self, start: float, work: float, known_at: float | None = None) -> float:
        """When ``work`` days of work starting at ``start`` end, pausing inside the intervals.

        Work begun inside an interval starts at its end; work that would end inside (or run
        through) one pauses there and resumes with its remaining time when it ends. With
        ``known_at``, only the intervals begun by then count (what a business knows then), a
        random one in progress then with its believed end (``believed_end``).
        """
        if known_at is not None and self.parts is not None:
            believed = self.believed_end(known_at)
            if believed is not None:
                return self._finish_believed(start, work, known_at, believed)
        end = start + work
        gap_end = self.gap_end
        if start >= self.gap_start and (
            # in the gap and done before the next window begins, or that window (and so every
            # later one) has not begun by ``known_at``: nothing known is in the way
            (start < gap_end and end <= gap_end)
            or (known_at is not None and known_at < gap_end)
        ):
            return end  # == the walk's answer: it would add nothing to start + work
        return self._walk(start, work, known_at)

    def _finish_believed(self, start: float, work: float, now: float, believed: float) -> float:
        """``finish(start, work, now)`` while the interval begun last by ``now`` (at s) is in
        progress, believed to end at ``believed``: the work meets the intervals before it as
        they were (over by s), then pauses from s (or its start, if later) to ``believed``."""
        n = bisect_right(self.starts, now)
        s = self.starts[n - 1]
        done = self._walk(start, work, now, n - 1)  # where the work ends with the others alone
        if done <= s:
            return done
        begin = start if start > s else s  # what is left of the work at max(start, s) ...
        return (start if start > believed else believed) + (done - begin)  # ... after the end

    def _walk(
        self, start: float, work: float, known_at: float | None, n: int | None = None
    ) -> float:
        """``finish`` the long way, through the windows in the way (the first ``n`` of them,
        given); keeps the gap of ``start``."""
        starts, ends = self.starts, self.ends
        k = bisect_right(starts, start)  # the windows begun by ``start``
        if k == 0 or start >= ends[k - 1]:  # ``start`` is between windows: remember that gap
            self.gap_start = ends[k - 1] if k else -math.inf
            self.gap_end = starts[k] if k < len(starts) else math.inf
        if n is None:
            n = len(starts) if known_at is None else bisect_right(starts, known_at)
        i = (k if k < n else n) - 1  # min(k, n): conditionals, not calls, in this loop
        t = start
        if i >= 0 and t < ends[i]:
            t = ends[i]
        i += 1
        remaining = work
        while i < n and t + remaining > starts[i]:
            gap = starts[i] - t
            if gap > 0.0:
                remaining -= gap
            end = ends[i]
            if end > t:
                t = end
            i += 1
        return t + remaining

    def known(self, now: float) -> tuple[int, float]:
        """How many intervals have begun by ``now``, and the end of the last of them as known
        then (-inf if none; ``believed_end`` while a random window in it is in progress). Work
        starting after that end is not delayed by anything known at ``now``; outside a random
        window in progress, ``finish(start, work, now)`` depends on ``now`` only through that
        count."""
        if self.parts is not None:
            believed = self.believed_end(now)
            if believed is not None:
                return bisect_right(self.starts, now), believed
        k = bisect_right(self.starts, now)
        return k, (self.ends[k - 1] if k else -math.inf)

class SpikeBound:
    """An upper bound, day by day, of the product of the spike multipliers in force.

    The multiplier at time t is the product of those of the windows containing t. Windows of one
    random spec never overlap, but many can touch the same day (short spikes close together):
    bounding a day by the product of every window touching it gave 50^7 for seven ×50 spikes of
    a second each in one day, and a draw of 6·10^10 candidates. Here the windows are swept once
    into stretches of constant product (``starts``, ``values``: the product of the multipliers
    above 1 on [starts[i], starts[i + 1])), and a day's bound is the largest value of the
    stretches touching it (at least 1).
    """

    __slots__ = ("starts", "values")

    def __init__(self, windows: list[tuple[float, float, float]]) -> None:
        events: dict[float, list[tuple[float, int]]] = {}
        for start, end, m in windows:
            if m > 1.0 and end > start:
                events.setdefault(start, []).append((m, 1))
                events.setdefault(end, []).append((m, -1))
        active: dict[float, int] = {}
        self.starts: list[float] = []
        self.values: list[float] = []
        for x in sorted(events):
            for m, step in events[x]:
                active[m] = active.get(m, 0) + step
                if not active[m]:
                    del active[m]
            value = math.prod(m**k for m, k in active.items()) if active else 1.0
            self.starts.append(x)
            self.values.append(value)

    def bound(self, d0: int, d1: int) -> np.ndarray:
        """For days d0 <= d < d1, the bound on [d, d + 1)."""
        out = np.ones(d1 - d0)
        starts, values = self.starts, self.values
        i = max(bisect_right(starts, d0) - 1, 0)
        while i < len(starts) and starts[i] < d1:
            value = values[i]
            if value > 1.0:
                end = starts[i + 1]  # a stretch above 1 always ends (every window does)
                lo, hi = max(int(starts[i]), d0), min(math.ceil(end), d1)
                if hi > lo:
                    np.maximum(out[lo - d0 : hi - d0], value, out=out[lo - d0 : hi - d0])
            i += 1
        return out
