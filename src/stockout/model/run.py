"""One replication of one policy: build the model, run SimPy to the horizon, return its record."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..records import WAIT_EDGES, RunResult, WaitLog
from ..scenario.schema import Scenario
from .build import Model
from .demand_record import demand_metrics, demand_totals
from .metrics import check_invariants, product_metrics, total_metrics
from .recorder import Recorder

ProcessFactory = Callable[[Model], Any]


def simulate(
    scenario: Scenario,
    policy_name: str,
    replication: int,
    search_dir: Path | None = None,
    *,
    recorder: Recorder | None = None,
    processes: Iterable[ProcessFactory] = (),
) -> RunResult:
    """Run replication ``replication`` of policy ``policy_name`` and return its record.

    ``recorder`` hears everything the stock points do, beside the metrics' own tally.
    ``processes``: callables ``fn(model)`` returning a SimPy generator (started as a process
    before the run) or None (``fn`` scheduled what it needed itself).
    """
    model = Model(scenario, policy_name, replication, search_dir, recorder)
    for make in processes:
        process = make(model)
        if process is not None:
            model.env.process(process)
    model.run()
    return result_of(model, policy_name, replication)


def result_of(model: Model, policy_name: str, replication: int) -> RunResult:
    """The record of a finished run: every metric per product and in total, checked."""
    span = model.horizon - model.warmup
    n_start = model.population.at_warmup
    sps, tallies = model.products, model.tallies
    per = {sp.name: product_metrics(sp, t, span, n_start)
           for sp, t in zip(sps, tallies, strict=True)}
    check_invariants(sps, tallies, per)
    for sp, record in zip(sps, tallies, strict=True):
        per[sp.name].update(demand_metrics(record, per[sp.name]["units_demanded"], model.horizon,
                                         span))
    ids = [sp.name for sp in sps]
    per["all"] = total_metrics(tallies, per, ids, model.network.max_backlog_total,
                               model.population,
                               demand_totals(per, ids, model.total_periods))
    logs = [t.waits for t in tallies]
    waits = {sp.name: log.histogram(WAIT_EDGES) for sp, log in zip(sps, logs, strict=True)}
    waits["all"] = WaitLog.merged(logs).histogram(WAIT_EDGES)
    return RunResult(
        policy=policy_name,
        replication=replication,
        metrics=per,
        days=model.series.days,
        series={pid: model.series.values[k] for k, pid in enumerate([*ids, "all"])},
        waits=waits,
        windows=sorted(model.windows, key=lambda w: (w[2], w[0], w[1])),
    )
