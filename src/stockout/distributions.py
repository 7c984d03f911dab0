"""Samplers built from the scenario's distribution specs.

Each sampler draws from its own generator in numpy batches and hands out plain Python floats one at
a time (``sampler()``), so the event loop never pays for a per-draw numpy call. ``sampler.draw(n)``
returns a numpy array for vectorised use.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterator
from itertools import chain, repeat

import numpy as np
from scipy import special

from .scenario.schema import (
    Constant,
    Empirical,
    Exponential,
    Gamma,
    Geometric,
    Lognormal,
    Normal,
    Poisson,
    Triangular,
    Uniform,
    mean_of,  # (the scenario layer's: its checks need the mean too)
)

BATCH = 4096


def _truncated_normal(rng: np.random.Generator, mean: float, sd: float, n: int) -> np.ndarray:
    """Normal(mean, sd) conditioned on being >= 0: by redrawing the negative values, or, when
    most draws would be negative (mean below -sd), by inverting the upper tail's distribution
    function (redrawing would take millions of rounds with the mean 5 sd below 0)."""
    a = -mean / sd  # the truncation point, in standard deviations
    if a > 1.0:
        tail = float(special.ndtr(-a))  # P(Z >= a)
        z = -special.ndtri((1.0 - rng.random(n)) * tail)  # Z >= a, by inversion
        return np.maximum(mean + sd * z, 0.0)
    out = rng.normal(mean, sd, n)
    bad = out < 0
    while bad.any():
        out[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = out < 0
    return out


def batch_drawer(spec: object) -> Callable[[np.random.Generator, int], np.ndarray]:
    """A function (rng, n) -> n draws from the distribution ``spec``."""
    match spec:
        case Constant(value=v):
            return lambda rng, n: np.full(n, v)
        case Uniform(low=lo, high=hi):
            return lambda rng, n: rng.uniform(lo, hi, n)
        case Triangular(low=lo, mode=mo, high=hi):
            if lo == hi:
                return lambda rng, n: np.full(n, lo)
            return lambda rng, n: rng.triangular(lo, mo, hi, n)
        case Exponential(mean=m):
            return lambda rng, n: rng.exponential(m, n)
        case Normal(mean=m, sd=s):
            if s == 0:
                return lambda rng, n: np.full(n, max(m, 0.0))
            return lambda rng, n: _truncated_normal(rng, m, s, n)
        case Lognormal(mean=m, cv=cv):
            sigma2 = math.log1p(cv * cv)
            mu, sigma = math.log(m) - sigma2 / 2, math.sqrt(sigma2)
            return lambda rng, n: rng.lognormal(mu, sigma, n)
        case Gamma(mean=m, cv=cv):
            shape, scale = 1.0 / (cv * cv), m * cv * cv
            return lambda rng, n: rng.gamma(shape, scale, n)
        case Poisson(mean=m):
            return lambda rng, n: rng.poisson(m, n).astype(float)
        case Geometric(mean=m):
            p = 1.0 / m
            return lambda rng, n: rng.geometric(p, n).astype(float)
        case Empirical(values=vals, weights=w):
            values = np.asarray(vals, dtype=float)
            probs = None if w is None else np.asarray(w, dtype=float) / sum(w)
            return lambda rng, n: rng.choice(values, size=n, p=probs)
    raise TypeError(f"not a distribution spec: {spec!r}")


_SAMPLED_STATS: dict[str, float] = {}


def _of_sample(key: str, spec: object, stat: Callable[[np.ndarray], object]) -> float:
    """``stat`` of a large fixed-seed sample of ``spec``, cached by ``key`` (the spec's text and
    what is asked of it): specs are frozen, so a process computes each one once."""
    if key not in _SAMPLED_STATS:
        if len(_SAMPLED_STATS) > 1024:
            _SAMPLED_STATS.clear()
        rng = np.random.Generator(np.random.PCG64(12345))
        _SAMPLED_STATS[key] = float(stat(batch_drawer(spec)(rng, 200_000)))  # type: ignore[arg-type]
    return _SAMPLED_STATS[key]


def quantile_of(spec: object, q: float) -> float:
    """The q-quantile of a distribution spec, by a large fixed-seed sample (used for quotes)."""
    if isinstance(spec, Constant):
        return spec.value
    return _of_sample(f"{spec!r}|q{q!r}", spec, lambda x: np.quantile(x, q))


def variance_of(spec: object) -> float:
    """The variance of a distribution spec, by the same sample: used only to approximate sums
    of very many draws."""
    if isinstance(spec, Constant):
        return 0.0
    return _of_sample(f"{spec!r}|var", spec, np.var)


_RESIDUAL_LIFE: dict[str, tuple[list[float], list[float]]] = {}
RESIDUAL_SAMPLE = 1 << 16  # draws in a residual-life table
RESIDUAL_TAIL = 64  # beyond the last this many draws, the mean excess over them is assumed


def _residual_life_table(spec: object) -> tuple[list[float], list[float]]:
    """A large fixed-seed sample of ``spec``, sorted, and the mean of each tail (the mean of
    the draws from i on). Cached by the spec's text: specs are frozen."""
    key = repr(spec)
    table = _RESIDUAL_LIFE.get(key)
    if table is None:
        rng = np.random.Generator(np.random.PCG64(19))
        table = sorted_with_tail_means(batch_drawer(spec)(rng, RESIDUAL_SAMPLE))
        if len(_RESIDUAL_LIFE) > 1024:
            _RESIDUAL_LIFE.clear()
        _RESIDUAL_LIFE[key] = table
    return table


def sorted_with_tail_means(draws: np.ndarray) -> tuple[list[float], list[float]]:
    """``draws`` sorted, and for each i the mean of the sorted draws from i on (a residual
    life table: the mean of what exceeds a value is read at the first draw above it)."""
    draws = np.sort(draws)
    tail_mean = np.cumsum(draws[::-1])[::-1] / np.arange(len(draws), 0, -1)
    return draws.tolist(), tail_mean.tolist()


def remaining_duration(spec: object, age: float, quantile: float | None = None) -> float:
    """How much longer something whose duration follows ``spec`` lasts, given that it has
    lasted ``age`` so far: the mean residual life E[D − a | D > a], or with ``quantile`` the
    q-quantile of D − a given D > a. Never negative.

    Exact for constant (c − a), exponential (memoryless: its mean, or −mean·ln(1 − q)) and
    uniform durations (D given D > a is uniform on [max(low, a), high]). Any other from a sorted
    sample of 65,536 fixed-seed draws (the draws above a, less a: their mean, or their
    quantile); past all but the last 64 draws, the mean excess over those 64 is assumed.
    """
    match spec:
        case Constant(value=c):
            return max(c - age, 0.0)
        case Exponential(mean=m):
            return m if quantile is None else -m * math.log1p(-quantile)
        case Uniform(low=lo, high=hi):
            low = max(lo, age)
            if low >= hi:
                return 0.0
            return (low + hi) / 2 - age if quantile is None else low + quantile * (hi - low) - age
    draws, tail_mean = _residual_life_table(spec)
    n = len(draws)
    i = bisect_right(draws, age)  # the draws longer than ``age``: draws[i:]
    if i > n - RESIDUAL_TAIL:  # too few left to average: the mean excess over the last ones
        j = n - RESIDUAL_TAIL
        return tail_mean[j] - draws[j - 1]
    if quantile is None:
        return max(tail_mean[i] - age, 0.0)
    return max(draws[i + int(quantile * (n - 1 - i))] - age, 0.0)


def _one_at_a_time(
    draw: Callable[[np.random.Generator, int], np.ndarray], rng: np.random.Generator
) -> Iterator[float]:
    """Draws from ``draw`` handed out one at a time, a batch of ``BATCH`` drawn when needed.

    Built of C iterators (a chain of the batches' lists), so a draw resumes no Python frame:
    only ``draw`` itself runs in Python, once a batch."""
    return chain.from_iterable(map(np.ndarray.tolist, map(draw, repeat(rng), repeat(BATCH))))


def uniforms(rng: np.random.Generator) -> Iterator[float]:
    """``rng.random()`` one at a time, drawn in batches: the same values in the same order (a
    batch of n uniforms is the next n single draws), without a numpy call per draw. Drawn by
    ``next(it)``: the builtin call is specialised by the interpreter, a bound ``__next__``
    (a method-wrapper) is not, and costs nearly twice as much."""
    return _one_at_a_time(lambda g, n: g.random(n), rng)


class Sampler:
    """Hands out draws one at a time from batches of ``BATCH``.

    ``next(sampler.it)`` (an iterator over the batches, in C; the builtin ``next`` is the
    cheapest call to it) is the way to draw in a hot loop; ``sampler()`` is the same draw
    through a Python method.
    """

    __slots__ = ("_draw", "_rng", "mean", "it")

    def __init__(self, spec: object, rng: np.random.Generator) -> None:
        self._draw = batch_drawer(spec)
        self._rng = rng
        self.mean = mean_of(spec)
        self.it: Iterator[float] = _one_at_a_time(self._draw, rng)

    def __call__(self) -> float:
        return next(self.it)

    def draw(self, n: int) -> np.ndarray:
        return self._draw(self._rng, n)

    def draw_fresh(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws from another generator (leaves this sampler's stream untouched)."""
        return self._draw(rng, n)
