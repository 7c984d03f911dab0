"""Demand candidates: a Poisson process thinned to the time-varying rate.

The rate of product p at time t is

    orders_per_day · season(t) · spikes(t) · N(t) / N0

with N(t) the active population (which depends on the policy through churn). Candidates are drawn
day by day at an upper bound of that rate that does not depend on the policy: the profile's
largest value that day (season, weekday, month, trend), the largest product of spike multipliers
in force during the day (``SpikeBound``), and the population untouched by bad experiences. A chunk
of days with more candidates than ``MAX_CANDIDATES`` is drawn in pieces.
Each candidate carries everything about the customer (the population it needs to become an order,
quantity, patience and the uniforms of their later choices), drawn in numpy batches from streams
named after the product, so every policy in a replication sees exactly the same candidates (common
random numbers). A candidate with thinning uniform u becomes an order when u < ratio · N(t) / N0,
where ratio is the policy-independent part of rate / bound: that is, when N(t) exceeds its
*threshold* u · N0 / ratio, computed here. No policy's population exceeds the untouched one, so a
candidate whose threshold reaches it is dropped here, for every policy alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from ..distributions import batch_drawer
from ..scenario.schema import MAX_ORDER_QUANTITY, Constant, Product
from .windows import SpikeBound

CHUNK_DAYS = 512
MAX_CANDIDATES = 1 << 20  # candidates drawn at a time: a chunk with more comes in pieces
MONTH_DAYS = 365.0 / 12
TINY_PERIOD = 1e-6  # days: a seasonality period below this has its phases reduced exactly
MAX_ORDERS_PER_DAY = 1e10  # candidates a day: far beyond any machine's memory, far below
# numpy's largest Poisson mean (about 9e18), and never infinite or nan


class DemandTooLarge(MemoryError):
    """A product's demand at its peak is more than can be simulated (a MemoryError: the
    command line reports it as bad input, with what to make smaller)."""


class DemandCandidates:
    """Chunks of candidate customers for one product over [0, horizon)."""

    def __init__(
        self,
        product: Product,
        patience_spec: object | None,
        horizon: float,
        spikes: list[tuple[float, float, float]],
        untouched_by_day: np.ndarray | None,
        population: int,
        rng_for: Callable[[str], np.random.Generator],
    ) -> None:
        d = product.demand
        self.base = d.orders_per_day
        self.season = d.seasonality
        self.spikes = spikes
        self.spike_bound = SpikeBound(spikes)
        self.spike_starts = np.array([a for a, _, _ in spikes], dtype=float)
        self.spike_ends = np.array([b for _, b, _ in spikes], dtype=float)
        self.horizon = horizon
        self.n_days = max(1, math.ceil(horizon))
        # the population untouched by bad experiences at the start of each day (None: constant):
        # it bounds N(t) from above during the day, the same for every policy
        self.untouched = untouched_by_day
        self.n0 = population
        self.quantity = batch_drawer(d.quantity)
        self.constant_quantity = isinstance(d.quantity, Constant)
        self.patience = None if patience_spec is None else batch_drawer(patience_spec)
        pid = product.id
        self.product_id = pid
        self._rng_for = rng_for  # the streams are made when first drawn from (``_stream``)
        self._streams: dict[str, np.random.Generator] = {}
        self.trend = d.trend_per_year / 365.0

    def _stream(self, purpose: str) -> np.random.Generator:
        """The product's stream for ``purpose`` ("demand", "thinning", "quantity", "patience",
        "choices"), made on first use (making one costs tens of µs)."""
        rng = self._streams.get(purpose)
        if rng is None:
            rng = self._streams[purpose] = self._rng_for(f"{purpose}:{self.product_id}")
        return rng

    def _profile(self, t: np.ndarray) -> np.ndarray | None:
        """Seasonality, weekday and monthly profiles and trend at times t (None: all 1)."""
        s, out = self.season, None
        if s is not None:
            if s.amplitude > 0:
                out = 1.0 + s.amplitude * np.cos(2 * np.pi * self._phase(t))
            if s.weekday is not None:
                w = np.asarray(s.weekday)[np.floor(t).astype(np.int64) % 7]
                out = w if out is None else out * w
            if s.monthly is not None:
                m = np.asarray(s.monthly)[np.floor(t / MONTH_DAYS).astype(np.int64) % 12]
                out = m if out is None else out * m
        if self.trend:
            g = np.maximum(0.0, 1.0 + self.trend * t)
            out = g if out is None else out * g
        return out

    def _phase(self, t: np.ndarray) -> np.ndarray:
        """(t - peak_day) / period_days, less whole periods: a peak_day far from the horizon
        or a tiny period would otherwise overflow the cosine's argument to inf (cos: nan)."""
        s = self.season
        assert s is not None
        peak = math.fmod(s.peak_day, s.period_days)  # the same peaks, near day 0
        if s.period_days < TINY_PERIOD:
            return np.fmod(t - peak, s.period_days) / s.period_days
        return (t - peak) / s.period_days

    def _profile_bound(self, d0: int, d1: int) -> np.ndarray | float:
        """Per day d in [d0, d1): an upper bound of the profile on [d, d+1)."""
        s, bound = self.season, 1.0
        days = np.arange(d0, d1, dtype=float)
        if s is not None:
            if s.amplitude > 0:
                # the cosine's largest value on [d, d+1]: 1 if a peak falls in it, else the larger
                # of its values at the two ends (bounding every day by the seasonal peak made
                # candidates that thinning threw away, a share of about amplitude / (1 + it))
                u0, u1 = self._phase(days), self._phase(days + 1)
                if s.period_days < TINY_PERIOD:  # many periods a day: a peak falls in each
                    u1 = u0 + 1 / s.period_days
                with np.errstate(invalid="ignore", over="ignore"):
                    ends = np.maximum(np.cos(2 * np.pi * u0), np.cos(2 * np.pi * u1))
                top = np.where(np.ceil(u0) <= u1, 1.0, ends)
                bound = 1.0 + s.amplitude * np.minimum(top + 1e-9, 1.0)
            if s.weekday is not None:
                bound = bound * np.asarray(s.weekday)[np.arange(d0, d1) % 7]
            if s.monthly is not None:
                monthly = np.asarray(s.monthly)
                first = monthly[np.floor(days / MONTH_DAYS).astype(np.int64) % 12]
                last = monthly[np.floor((days + 1) / MONTH_DAYS).astype(np.int64) % 12]
                bound = bound * np.maximum(first, last)
        if self.trend:
            start = np.maximum(0.0, 1.0 + self.trend * days)
            end = np.maximum(0.0, 1.0 + self.trend * (days + 1))
            bound = bound * np.maximum(start, end)
        return bound

    def chunks(
        self, prethin: bool = False, notify: bool = True, churn: bool = True
    ) -> Iterator[tuple[list | None, ...]]:
        """Yield (times, threshold, quantity, patience, u_churn, u_notify) as lists.

        A candidate becomes an order when the population at its time exceeds its ``threshold``
        (see the module docstring). With ``prethin`` (the population never changes, so N(t) =
        N0), candidates are thinned here and only the orders are yielded: the same orders the
        live test would keep, since it draws the same uniforms; ``threshold`` is then None
        (nothing reads it), and so is ``u_notify`` without ``notify`` (a policy without
        notify-me); without
        ``churn`` (no bad experience ever makes a customer leave) ``u_churn`` is all 1.0, which
        no churn probability of 0 can select. The uniforms are drawn all the same, so the streams
        stay common to every policy. Turning
        arrays into lists of Python numbers is most of the cost of a chunk, so a column known to
        be constant (no patience, a constant quantity) is a repeated value.
        """
        for _, times, threshold, qty, patience, u_churn, u_notify in self.chunk_arrays(prethin):
            n = len(times)
            yield (
                times.tolist(),
                None if threshold is None else threshold.tolist(),
                [qty[0].item()] * n if self.constant_quantity and n else qty.tolist(),
                [math.inf] * n if self.patience is None else patience.tolist(),
                u_churn.tolist() if churn else [1.0] * n,
                u_notify.tolist() if notify else None,
            )

    def chunk_arrays(self, prethin: bool = False) -> Iterator[tuple[int, np.ndarray, ...]]:
        """As ``chunks``, as numpy arrays after the first day ``d0`` of their chunk: (d0, times,
        ...); a chunk of more than ``MAX_CANDIDATES`` candidates comes in pieces (``pieces``).

        Every product's chunks cover the same day ranges [d0, d0 + CHUNK_DAYS) (a chunk without
        candidates is skipped); the model merges the products chunk by chunk in numpy, with
        ``counts`` and ``draw``, cutting every product's chunk at the same days.
        """
        if self.base <= 0:
            return
        for d0 in range(0, self.n_days, CHUNK_DAYS):
            bound, counts = self.counts(d0)
            for a, b in pieces(counts):
                drawn = self.draw(d0, bound, counts, a, b, prethin)
                if drawn is not None:
                    yield drawn

    def counts(self, d0: int) -> tuple[np.ndarray, np.ndarray]:
        """The rate's bound on each day of the chunk that starts on day ``d0``, and the number
        of candidates drawn for each (Poisson)."""
        # Whole chunks are drawn even past the horizon, so a shorter horizon sees exactly the
        # first days of a longer one (a trace of 30 days tells the start of the full run).
        d1 = d0 + CHUNK_DAYS
        with np.errstate(over="ignore"):  # an infinite bound is reported just below
            bound = self.base * self._profile_bound(d0, d1) * self.spike_bound.bound(d0, d1)
            if self.untouched is not None:
                days = np.minimum(np.arange(d0, d1), len(self.untouched) - 1)
                bound = bound * (self.untouched[days] / self.n0)
        peak = float(np.max(bound))
        if not peak <= MAX_ORDERS_PER_DAY:  # (nan included)
            day = d0 + int(np.argmax(np.nan_to_num(bound, nan=np.inf)))
            raise DemandTooLarge(
                f"product '{self.product_id}' would get {peak:.3g} orders a day around day "
                f"{day}; at most {MAX_ORDERS_PER_DAY:.0e} can be simulated"
            )
        return bound, self._stream("demand").poisson(bound)

    def draw(
        self, d0: int, bound: np.ndarray, counts: np.ndarray, a: int, b: int, prethin: bool
    ) -> tuple[int, np.ndarray, ...] | None:
        """The candidates of days [d0 + a, d0 + b) of the chunk (``counts``), before the
        horizon, as (d0, times, threshold, quantity, patience, u_churn, u_notify); None if
        there are none. With ``prethin`` the candidates that are not orders are dropped and
        ``threshold`` is None; without it, only those that no population can make orders. The
        pieces of a chunk are drawn in order: the streams then hand out the same numbers as for
        the whole chunk at once."""
        n = int(counts[a:b].sum())
        if n == 0 or d0 + a >= self.horizon:
            return None  # (nothing is drawn after the horizon: no later draw depends on it)
        day = np.repeat(np.arange(d0 + a, d0 + b, dtype=float), counts[a:b])
        times = np.sort(day + self._stream("demand").random(n))
        keep = times < self.horizon
        times = times[keep]
        n = len(times)
        if n == 0:
            return None
        day_idx = times.astype(np.int64)
        # policy-independent part of rate / bound; the population factor is applied live
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = self.base / (bound[day_idx - d0])
        profile = self._profile(times)
        if profile is not None:
            ratio = ratio * profile
        spikes = self.spikes
        if spikes:  # the windows overlapping these candidates' times (there may be 10^5 in all)
            near = np.flatnonzero((self.spike_starts <= times[-1]) & (self.spike_ends > times[0]))
            for j in near.tolist():
                start, end, m = spikes[j]
                lo, hi = np.searchsorted(times, [start, end])
                if hi > lo:
                    ratio[lo:hi] *= m
        thin_u = self._stream("thinning").random(n)
        # a heavy tail may draw beyond any real order (and beyond int64): capped
        drawn = np.rint(self.quantity(self._stream("quantity"), n))
        qty = np.clip(drawn, 1, MAX_ORDER_QUANTITY).astype(np.int64)
        if self.patience is None:
            patience = np.full(n, math.inf)
        else:
            patience = self.patience(self._stream("patience"), n)
        u_churn = self._stream("choices").random(n)
        u_notify = self._stream("choices").random(n)
        if prethin:
            threshold = None
            keep = thin_u < ratio
        else:
            # the population it needs: an order when N(t) > u · N0 / ratio (never if ratio is 0)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # inf: never
                threshold = np.where(ratio > 0, thin_u * self.n0 / ratio, np.inf)
            keep = threshold < self._population_bound(day_idx)
        if not keep.all():
            times, qty, patience = times[keep], qty[keep], patience[keep]
            u_churn, u_notify = u_churn[keep], u_notify[keep]
            if threshold is not None:
                threshold = threshold[keep]
        if threshold is not None:
            # compared with the population, an int, for every candidate: as ints too, the
            # interpreter compares them on its fast path (a float against an int is not), and
            # for an integer n, floor(h) >= n exactly when h >= n. Every threshold kept is below
            # a population, at most 10^9 plus acquisitions: far inside int64.
            threshold = np.floor(threshold).astype(np.int64)
        return d0, times, threshold, qty, patience, u_churn, u_notify

    def _population_bound(self, day_idx: np.ndarray) -> np.ndarray | int:
        """An upper bound of every policy's population N(t) at candidates of days ``day_idx``.

        The untouched population of the day and of the day before: a candidate at the very
        start of a day may come before that day's step (``Model._daily``)."""
        if self.untouched is None:
            return self.n0
        last = len(self.untouched) - 1
        today = self.untouched[np.minimum(day_idx, last)]
        return np.maximum(today, self.untouched[np.clip(day_idx - 1, 0, last)])


def pieces(counts: np.ndarray) -> list[tuple[int, int]]:
    """A chunk's days (by index) in consecutive pieces of at most ``MAX_CANDIDATES`` candidates
    (a day with more is a piece by itself), so that a high rate does not hold hundreds of days'
    worth of candidates in memory at once (a whole chunk at 10^5 orders a day peaked at 1.3 GB).
    A chunk within the limit is one piece."""
    total = np.cumsum(counts)
    if len(total) == 0 or total[-1] <= MAX_CANDIDATES:
        return [(0, len(counts))]
    out, a, taken = [], 0, 0
    while a < len(counts):
        # the last day b - 1 such that the piece [a, b) holds at most MAX_CANDIDATES
        b = int(np.searchsorted(total, taken + MAX_CANDIDATES, side="right"))
        b = max(b, a + 1)
        out.append((a, b))
        taken = int(total[b - 1])
        a = b
    return out


def scripted_orders(
    product: Product, patience_spec: object | None, horizon: float, rng: np.random.Generator
) -> list[tuple[float, int, float, float]]:
    """The product's scripted orders before the horizon, as sorted (day, qty, patience, u_churn).

    A scripted order without its own patience draws one like any customer; each draws the uniform
    that decides whether a bad experience makes that customer leave.
    """
    orders = sorted(
        (o for o in product.demand.scripted_orders if o.day < horizon), key=lambda o: o.day
    )
    n = len(orders)
    drawn = (
        np.full(n, math.inf) if patience_spec is None else batch_drawer(patience_spec)(rng, n)
    )
    u_churn = rng.random(n)
    return [
        (o.day, o.quantity, o.patience_days if o.patience_days is not None else float(p), float(u))
        for o, p, u in zip(orders, drawn, u_churn, strict=True)
    ]
