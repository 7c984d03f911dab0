"""W2: a rich scenario with every feature on, per customer beside the bare SimPy event loop on the
same number of events, interleaved in the same process.

    python benchmarks/bench_w2.py [--days 365] [--repeat 7]
    python benchmarks/bench_w2.py --callgrind [--days 60]

W2 (issue 7, see ``common.w2``): 10 products, churn with feedback (on stock-out, declined quote,
cancellation and lateness, background churn, acquisition), lognormal patience and cancellations,
seasonality, scheduled and random spikes, supplier capacity, scheduled and random outages, short
shipments, random lane disruptions and losses, quotes with a buffer and a percentile, two late
releases, three policies (backorder, out-of-stock with notify-me, pre-order). One round simulates
replication 0 of all three policies, drawing its customers once, as a replication does;
customers are all the orders that arrived in the three runs, warm-up included. Rounds and bare
runs alternate as in bench_core.py. Target: ratio >= 0.15. ``--callgrind`` as in bench_core.py.
"""

from __future__ import annotations

from common import throughput_main

if __name__ == "__main__":
    throughput_main("w2", 365, 60, 0.15, __doc__)
