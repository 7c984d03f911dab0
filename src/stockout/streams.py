"""Named random streams: one SeedSequence per (seed, replication, purpose).

``stream(seed, replication, "demand:widget")`` always returns a generator in the same state for the
same three arguments, whatever else the scenario contains and whichever policy is simulated. That is
what gives common random numbers across policies (replication k of every policy sees the same
demand, patience and lead-time draws) and keeps a product's draws stable when an unrelated
parameter changes. No global random state is used anywhere.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 32-bit key for a stream name (CRC-32: the same on every platform and run)."""
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator for purpose ``name`` in replication ``replication`` of experiment ``seed``."""
    seq = np.random.SeedSequence(seed, spawn_key=(replication, stream_key(name)))
    return np.random.Generator(np.random.PCG64(seq))


class Streams:
    """The named streams of one replication."""

    __slots__ = ("seed", "replication")

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication

    def __call__(self, name: str) -> np.random.Generator:
        return stream(self.seed, self.replication, name)
