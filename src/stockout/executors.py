"""Where batches of (policy, replication) runs execute: in this process, on a local process pool,
or on a Dask distributed cluster.

Every executor has the same small interface: :meth:`Executor.submit` a :class:`Job` (one scenario
and a batch of tasks), then :meth:`Executor.next_done` blocks until at least one job has finished
and returns the finished jobs with their runs. A run depends only on the scenario, the policy and
the replication number, so the results are the same on every executor; only the order in which
jobs finish differs, and callers order the runs themselves.

Jobs lost to a dead worker are submitted again (a bounded number of times) rather than dropped.
An error raised by the simulation itself is not retried locally: it is a bug or a bad scenario,
and running it again would give the same error.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .records import RunResult
from .scenario.schema import Scenario

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "ClusterLost",
    "ClusterUnavailable",
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "InlineExecutor",
    "Job",
    "PoolExecutor",
    "WorkersLost",
    "make_executor",
]

Task = tuple[str, int]

#: How many times a job lost with its worker is submitted again before giving up.
MAX_RESUBMITS = 3


class ExecutorError(RuntimeError):
    """The executor could not finish the work (not an error of the simulation itself)."""


class ClusterUnavailable(ExecutorError):
    """The Dask scheduler cannot be reached, or Dask is not installed."""


class ClusterLost(ExecutorError):
    """The connection to the Dask scheduler was lost while work was pending."""


class WorkersLost(ExecutorError):
    """Workers kept dying: a job was lost more than :data:`MAX_RESUBMITS` times."""


@dataclass(eq=False)
class Job:
    """One unit of submitted work: a batch of tasks of one scenario.

    ``tag`` is the caller's (e.g. the sweep point); ``attempts`` counts resubmissions after a
    worker died.
    """

    scenario: Scenario
    batch: list[Task]
    search_dir: Path | None = None
    tag: Hashable = None
    attempts: int = field(default=0)


def _run(scenario: Scenario, batch: Sequence[Task], search_dir: Path | None) -> list[RunResult]:
    from .experiment import run_batch  # imported late: the model loads only where runs happen

    return run_batch(scenario, batch, search_dir)


class Executor:
    """Base class: submit jobs, collect finished ones. Use as a context manager."""

    #: Worker processes (or cluster threads) sharing the work; sizes the batches.
    workers: int = 1
    #: Largest sensible batch: more tasks per job amortise the per-job overhead.
    max_batch: int = 8
    #: What to call this executor in messages.
    description: str = "this process"

    def submit(self, job: Job) -> None:
        raise NotImplementedError

    def next_done(self) -> list[tuple[Job, list[RunResult]]]:
        """Block until at least one job has finished; return the finished jobs and their runs.

        Returns an empty list only when nothing is pending.
        """
        raise NotImplementedError

    @property
    def pending(self) -> int:
        raise NotImplementedError

    def cancel(self) -> None:
        """Drop every pending job (best effort)."""

    def close(self) -> None:
        self.cancel()

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class InlineExecutor(Executor):
    """Runs each job in this process when :meth:`next_done` asks for it (one job per call), so a
    caller sees jobs finish one by one, as with the other executors."""

    def __init__(self) -> None:
        self._queue: list[Job] = []

    def submit(self, job: Job) -> None:
        self._queue.append(job)

    def next_done(self) -> list[tuple[Job, list[RunResult]]]:
        if not self._queue:
            return []
        job = self._queue.pop(0)
        return [(job, _run(job.scenario, job.batch, job.search_dir))]

    @property
    def pending(self) -> int:
        return len(self._queue)

    def cancel(self) -> None:
        self._queue.clear()


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent, which stops them (no traceback per worker); a
    SIGTERM ends a worker at once (not the command line's handler, inherited by the fork)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class PoolExecutor(Executor):
    """A local :class:`~concurrent.futures.ProcessPoolExecutor` of ``jobs`` processes.

    If a worker process dies (killed, out of memory), the pool is restarted and the jobs in flight
    are submitted again. Workers ignore SIGINT: on Ctrl-C (or any error) the parent leaves the
    ``with`` block and terminates them at once, rather than waiting for the running batches.
    """

    max_batch = 8

    def __init__(self, jobs: int) -> None:
        self.workers = max(1, jobs)
        self.description = f"a local pool of {self.workers} processes"
        self._pool = self._new_pool()
        self._futures: dict[Future[list[RunResult]], Job] = {}

    def submit(self, job: Job) -> None:
        future = self._pool.submit(_run, job.scenario, job.batch, job.search_dir)
        self._futures[future] = job

    @property
    def pending(self) -> int:
        return len(self._futures)

    def next_done(self) -> list[tuple[Job, list[RunResult]]]:
        if not self._futures:
            return []
        done, _ = wait(set(self._futures), return_when=FIRST_COMPLETED)
        finished: list[tuple[Job, list[RunResult]]] = []
        broken = False
        for future in done:
            try:
                runs = future.result()
            except BrokenProcessPool:
                broken = True
                continue
            finished.append((self._futures.pop(future), runs))
        if broken:
            self._restart()
        return finished

    def _restart(self) -> None:
        """A worker died: every job still in the broken pool goes to a new pool."""
        lost = list(self._futures.values())
        self._futures.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        for job in lost:
            job.attempts += 1
            if job.attempts > MAX_RESUBMITS:
                raise WorkersLost(
                    f"worker processes died {job.attempts} times running the same batch"
                )
            self.submit(job)

    def cancel(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()

    def close(self) -> None:
        self.cancel()
        manager = getattr(self._pool, "_executor_manager_thread", None)
        self._pool.shutdown(wait=True, cancel_futures=True)
        _forget_manager(manager)

    def terminate(self) -> None:
        """Stop now: pending jobs are dropped and running ones killed with their workers."""
        # Not Future.cancel(): the pool would then fail the cancelled futures again when it sees
        # its workers die (InvalidStateError in its thread on Python 3.11); shutdown cancels the
        # queued ones itself.
        self._futures.clear()
        workers = list((getattr(self._pool, "_processes", None) or {}).values())
        # (the first shutdown forgets the manager thread, so the second cannot join it)
        manager = getattr(self._pool, "_executor_manager_thread", None)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            if process.is_alive():
                process.terminate()
        for process in workers:
            process.join(timeout=5)
        self._pool.shutdown(wait=True)
        _forget_manager(manager)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is None:
            self.close()
        else:  # Ctrl-C or a failed run: the other batches' results would be thrown away
            self.terminate()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, initializer=_ignore_sigint)


def _forget_manager(thread: Any) -> None:
    """Take a shut-down pool's (joined) manager thread out of the wake-up list that
    ``concurrent.futures`` visits at interpreter exit: that hook can race the pipe's closing and
    print an ignored "OSError: Bad file descriptor" traceback on stderr (seen once in CI after a
    policy error in a worker, with --jobs 2)."""
    import concurrent.futures.process as cf_process

    if thread is None:
        return
    thread.join(timeout=5)  # it ends once the workers are gone and the shutdown is seen
    wakeups = getattr(cf_process, "_threads_wakeups", None)
    if wakeups is not None and not thread.is_alive():
        wakeups.pop(thread, None)


class DaskExecutor(Executor):
    """Jobs run on a Dask distributed cluster.

    ``scheduler`` is an address (``tcp://host:8786``) or a connected ``distributed.Client``
    (which is then left open on :meth:`close`). Each job is submitted with ``retries`` (a task
    that raised is run again, e.g. after a transient failure on a worker); a job whose workers
    died more often than the scheduler allows (``KilledWorker``) is submitted again, up to
    :data:`MAX_RESUBMITS` times. If the connection to the scheduler stays down for ``lost_after``
    seconds, :class:`ClusterLost` is raised.
    """

    max_batch = 32

    def __init__(
        self,
        scheduler: str | Client,
        *,
        retries: int = 2,
        connect_timeout: float = 10.0,
        lost_after: float = 30.0,
    ) -> None:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - the cluster extra is missing
            raise ClusterUnavailable(
                "running on a Dask cluster needs Dask: pip install 'stockout[cluster]'"
            ) from None
        if isinstance(scheduler, str):
            try:
                self._client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as error:
                raise ClusterUnavailable(
                    f"cannot reach the Dask scheduler at {scheduler}: {error}"
                ) from None
            self._owns_client = True
        else:
            self._client = scheduler
            self._owns_client = False
        self.address = str(self._client.scheduler.address)
        self.retries = retries
        self.lost_after = lost_after
        self._futures: dict[Any, Job] = {}
        self._changed = threading.Event()  # set by the client's thread when a future settles
        self.workers = self._count_workers()
        self.description = f"the Dask cluster at {self.address} ({self.workers} worker threads)"

    def _count_workers(self) -> int:
        try:
            info = self._client.scheduler_info(n_workers=-1)
        except TypeError:  # older distributed: no n_workers argument
            info = self._client.scheduler_info()
        except Exception:  # noqa: BLE001 - only sizes the batches
            return 1
        threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
        return max(1, threads)

    @property
    def client(self) -> Client:
        return self._client

    def submit(self, job: Job) -> None:
        future = self._client.submit(
            _run, job.scenario, job.batch, job.search_dir, retries=self.retries, pure=False
        )
        self._futures[future] = job
        future.add_done_callback(lambda _: self._changed.set())

    @property
    def pending(self) -> int:
        return len(self._futures)

    def next_done(self) -> list[tuple[Job, list[RunResult]]]:
        from distributed.scheduler import KilledWorker

        if not self._futures:
            return []
        down_since: float | None = None
        while True:
            self._changed.clear()
            done = [f for f in self._futures if f.done()]
            if done:
                break
            if self._client.status in ("closing", "closed", "failed"):
                raise ClusterLost(f"the connection to the Dask scheduler at {self.address} closed")
            if self._client.status != "running":
                down_since = down_since or time.monotonic()
                if time.monotonic() - down_since > self.lost_after:
                    raise ClusterLost(
                        f"lost the Dask scheduler at {self.address} "
                        f"(no connection for {self.lost_after:g} s)"
                    )
            else:
                down_since = None
            self._changed.wait(0.5)
        finished: list[tuple[Job, list[RunResult]]] = []
        for future in done:
            job = self._futures.pop(future)
            status = future.status
            if status == "finished":
                finished.append((job, future.result()))
            elif status == "cancelled":
                raise ClusterLost(
                    f"the Dask scheduler at {self.address} dropped the work (connection lost?)"
                )
            elif status != "error":
                # done a moment ago, but the worker holding its result has died since: the
                # scheduler computes it again ("lost", then "pending"); keep waiting for it
                self._futures[future] = job
            else:
                error = future.exception()
                if isinstance(error, KilledWorker):
                    job.attempts += 1
                    if job.attempts > MAX_RESUBMITS:
                        raise WorkersLost(
                            f"Dask workers died {job.attempts} times running the same batch: "
                            f"{error}"
                        ) from error
                    self.submit(job)
                    continue
                assert error is not None
                raise error
        return finished

    def cancel(self) -> None:
        if self._futures and self._client.status == "running":
            try:
                self._client.cancel(list(self._futures))
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
        self._futures.clear()

    def close(self) -> None:
        self.cancel()
        if self._owns_client:
            try:
                self._client.close(timeout=5)
            except Exception:  # noqa: BLE001 - the scheduler may be gone already
                pass


def make_executor(jobs: int = 1, scheduler: str | Client | None = None) -> Executor:
    """The executor for ``jobs`` local processes, or for a Dask ``scheduler`` when given."""
    if scheduler is not None:
        return DaskExecutor(scheduler)
    if jobs <= 1:
        return InlineExecutor()
    return PoolExecutor(jobs)


def default_jobs() -> int:
    """One worker per CPU this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def batch_size(tasks: int, executor: Executor) -> int:
    """Tasks per job: several per worker amortise scheduling, enough jobs to balance the load."""
    return max(1, min(executor.max_batch, tasks // (executor.workers * 4)))
