"""The SimPy model: scenario -> runtime objects -> one run -> RunResult."""

from .run import simulate

__all__ = ["simulate"]
