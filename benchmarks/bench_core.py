"""W1: customers simulated per second for a one-product backorder base-stock model, beside the
bare SimPy event loop on the same number of events, interleaved in the same process.

    python benchmarks/bench_core.py [--days 100000] [--repeat 7]
    python benchmarks/bench_core.py --callgrind [--days 2000]

W1 (issue 7): Poisson arrivals 20/day, constant lead time 5 days, S = 110, backorders, base stock
under continuous review, every metric of the glossary computed (the whole of ``simulate``: building
the model, running it, the metrics and the invariant checks). The bare loop is one SimPy process
yielding pre-sampled timeouts, as many as W1 had customers. Each of ``--repeat`` rounds runs W1
between two runs of the bare loop (bare, W1, bare, W1, ..., bare); a round's ratio is its
customers/s over the mean events/s of the bare runs on either side, and the median is reported,
with the 1-minute load average before and after (the machine is shared).

``--callgrind`` counts instructions instead (valgrind; immune to load): W1 at D and 2D days and
the bare loop at n and 2n events, so start-up cancels out; it reports instructions per customer,
per bare event and their ratio. Target: ratio >= 0.3.
"""

from __future__ import annotations

from common import throughput_main

if __name__ == "__main__":
    throughput_main("w1", 100_000, 2_000, 0.3, __doc__)
