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

On a Dask cluster the client first checks that the address answers as a Dask scheduler, that it
has workers (waiting a bounded time for them), and that every worker runs the same stockout code
(:func:`code_fingerprint`): a worker with another version could give other results. The user's
own policy modules found in the scenario's folder are sent with the jobs, so workers run the
client's copy whatever their working directory, and never a copy cached from an earlier run.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .records import RunResult
from .scenario.schema import CustomPolicy, Scenario

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
    "WorkerMismatch",
    "WorkersLost",
    "code_fingerprint",
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
    """Workers kept dying (a job was lost more than :data:`MAX_RESUBMITS` times), or none was
    left for too long."""


class WorkerMismatch(ExecutorError):
    """A Dask worker runs other stockout code than the client (another version or checkout)."""


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
    from .model import simulate  # imported late: the model loads only where runs happen

    return [simulate(scenario, policy, rep, search_dir) for policy, rep in batch]


@cache
def code_fingerprint() -> str:
    """A digest of this stockout's source files: equal on two machines when they run the same
    code, whatever its version string says (a source checkout may carry a stale one).

    Taken when this module is imported, so a long-lived worker that loaded the code before the
    files were edited reports the code it runs, not the files now on disk."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


code_fingerprint()  # now, with the code this process runs (a few milliseconds)


def worker_identity() -> tuple[str, str]:
    """(version, code fingerprint) of the stockout a worker runs; called on each Dask worker."""
    from . import __version__

    return __version__, code_fingerprint()


#: The user's policy modules sent with a job: (path relative to the scenario's folder, source).
Modules = tuple[tuple[str, bytes], ...]


def policy_modules(scenario: Scenario, search_dir: Path | None) -> Modules:
    """The source files of the custom policy modules that ``search_dir`` provides (a module
    ``name.py``, or a package folder ``name/``); modules from elsewhere on the Python path are
    not included (workers must have them installed)."""
    if search_dir is None:
        return ()
    tops = {
        p.class_path.partition(":")[0].split(".")[0]
        for p in scenario.policies
        if isinstance(p, CustomPolicy)
    }
    from .policies.availability import module_files

    return tuple(
        (f.relative_to(search_dir).as_posix(), f.read_bytes())
        for top in sorted(tops)
        for f in module_files(top, search_dir)
    )


def modules_digest(modules: Modules) -> str:
    """The SHA-256 of the shipped modules' names and contents."""
    digest = hashlib.sha256()
    for name, source in modules:
        digest.update(name.encode("utf-8") + b"\0" + source + b"\0")
    return digest.hexdigest()


def _install_modules(modules: Modules, expected: str) -> Path:
    """Write the shipped policy modules into a fresh private folder (``mkdtemp``: a new,
    unpredictable name, readable by this user only, so nobody else on the worker machine can
    plant or swap a module in it) and return it, after checking that what is on disk has the
    content hash the client sent."""
    if modules_digest(modules) != expected:
        raise WorkerMismatch("the policy modules sent with this job are not the client's")
    folder = Path(tempfile.mkdtemp(prefix="stockout-policies-"))  # mode 0700
    try:
        for name, source in modules:
            target = (folder / name).resolve()
            if not target.is_relative_to(folder.resolve()) or name.startswith("/"):
                raise WorkerMismatch(f"a shipped policy module has a bad name: {name!r}")
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            target.write_bytes(source)
        written = tuple((name, (folder / name).read_bytes()) for name, _ in modules)
        if modules_digest(written) != expected:
            raise WorkerMismatch(f"the policy modules written to {folder} changed on disk")
    except BaseException:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _run_remote(
    scenario: Scenario,
    batch: Sequence[Task],
    search_dir: Path | None,
    modules: Modules,
    expected_code: str,
    modules_hash: str = "",
) -> list[RunResult]:
    """A job on a Dask worker: refuse to run other code than the client's, then run it with the
    client's policy modules, from a private folder of this job's own (removed afterwards)."""
    if code_fingerprint() != expected_code:
        from . import __version__

        raise WorkerMismatch(
            f"this worker runs other stockout code ({__version__}, code {code_fingerprint()}) "
            f"than the client (code {expected_code}): install the same stockout on every worker"
        )
    if not modules:  # nothing from the client's folder: never look in a folder of that name here
        return _run(scenario, batch, None)
    folder = _install_modules(modules, modules_hash)
    try:
        return _run(scenario, batch, folder)
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


class _Deferred:
    """A call that happens when this object is unpickled: a job travels through the Dask
    scheduler as ``pickle.loads(bytes)``, so the scheduler (which unpickles the tasks it is sent)
    needs no stockout of its own; only the worker that runs the job unpickles it."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        self.function = function
        self.args = args

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return self.function, self.args


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


#: How often a pool worker checks that its parent is still alive, in seconds.
ORPHAN_CHECK_SECONDS = 0.5


def _exit_when_orphaned(parent: int) -> None:
    """End this worker process once its parent is gone (``kill -9`` of the command): the pool
    can no longer tell it to stop, and it would otherwise idle forever."""
    while True:
        time.sleep(ORPHAN_CHECK_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent, which stops them (no traceback per worker); a
    SIGTERM ends a worker at once (not the command line's handler, inherited by the fork); and
    a worker whose parent dies exits (a watchdog thread polls the parent's pid)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    watchdog = threading.Thread(
        target=_exit_when_orphaned, args=(os.getppid(),), name="stockout-orphan-check",
        daemon=True,
    )
    watchdog.start()


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


def _probe_scheduler(address: str, timeout: float) -> dict[str, Any]:
    """The scheduler's identity, asked on a connection of our own with a deadline on every step:
    the Client itself waits forever for an answer from something that is not a Dask scheduler
    (say the dashboard's web port), and takes a garbled answer for a huge message."""
    from distributed.comm import connect
    from distributed.core import send_recv
    from distributed.security import Security

    async def ask() -> Any:
        args = Security().get_connection_args("client")
        comm = await asyncio.wait_for(connect(address, timeout=timeout, **args), timeout + 1)
        try:
            return await asyncio.wait_for(send_recv(comm, op="identity"), timeout)
        finally:
            comm.abort()

    # a thread of its own: asyncio.run needs a thread without a running loop (not so in Jupyter)
    answer: list[Any] = []
    failure: list[BaseException] = []

    def probe() -> None:
        try:
            answer.append(asyncio.run(ask()))
        except BaseException as error:  # noqa: BLE001 - reported below
            failure.append(error)

    thread = threading.Thread(target=probe, name="stockout-probe", daemon=True)
    thread.start()
    thread.join(2 * timeout + 5)
    if failure or not answer:
        error = failure[0] if failure else TimeoutError()
        if isinstance(error, ValueError):  # a malformed address
            reason = f"{error} (expected tcp://HOST:PORT)"
        elif isinstance(error, TimeoutError):
            reason = (
                f"no answer within {timeout:g} s (is the scheduler running, and is this its "
                "address? The default port is 8786; 8787 is its dashboard)"
            )
        elif isinstance(error, OSError):
            reason = f"{error} (is the scheduler running, and is this its address?)"
        else:  # something answered, but not in Dask's protocol
            reason = f"what answers there is not a Dask scheduler ({type(error).__name__})"
        raise ClusterUnavailable(f"cannot reach the Dask scheduler at {address}: {reason}")
    identity = answer[0]
    if not isinstance(identity, dict) or identity.get("type") != "Scheduler":
        raise ClusterUnavailable(
            f"{address} is not a Dask scheduler (it answered as "
            f"{identity.get('type') if isinstance(identity, dict) else type(identity).__name__})"
        )
    return identity


class DaskExecutor(Executor):
    """Jobs run on a Dask distributed cluster.

    ``scheduler`` is an address (``tcp://host:8786``) or a connected ``distributed.Client``
    (which is then left open on :meth:`close`). The scheduler must have workers within
    ``worker_wait`` seconds (``notify`` is told that it waits), each running the same stockout
    code as this process (else :class:`ClusterUnavailable`).

    Each job is submitted with ``retries`` (a task that raised is run again, e.g. after a
    transient failure on a worker); a job whose workers died more often than the scheduler allows
    (``KilledWorker``) is submitted again, up to :data:`MAX_RESUBMITS` times. If the connection
    to the scheduler stays down for ``lost_after`` seconds, :class:`ClusterLost` is raised; if
    the scheduler has no worker left for ``worker_wait`` seconds, :class:`WorkersLost`.
    """

    max_batch = 32

    def __init__(
        self,
        scheduler: str | Client,
        *,
        retries: int = 2,
        connect_timeout: float = 10.0,
        lost_after: float = 30.0,
        worker_wait: float = 60.0,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - the cluster extra is missing
            raise ClusterUnavailable(
                "running on a Dask cluster needs Dask: pip install 'stockout[cluster]'"
            ) from None
        if isinstance(scheduler, str):
            _probe_scheduler(scheduler, connect_timeout)
            try:
                self._client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
            except Exception as error:  # noqa: BLE001 - whatever it is, the cluster is unusable
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
        self.worker_wait = worker_wait
        self._futures: dict[Any, Job] = {}
        self._changed = threading.Event()  # set by the client's thread when a future settles
        try:
            self._wait_for_workers(notify)
            self._check_workers()
        except ExecutorError:
            self.close()
            raise
        except Exception as error:  # noqa: BLE001 - e.g. the scheduler went away meanwhile
            self.close()
            raise ClusterUnavailable(
                f"lost the Dask scheduler at {self.address} while connecting: {error}"
            ) from None
        except BaseException:
            self.close()
            raise
        self.workers = self._count_workers()
        self.description = f"the Dask cluster at {self.address} ({self.workers} worker threads)"

    def _worker_threads(self) -> int | None:
        """Worker threads the scheduler has now (``None``: it could not be asked)."""
        try:
            try:
                info = self._client.scheduler_info(n_workers=-1)
            except TypeError:  # older distributed: no n_workers argument
                info = self._client.scheduler_info()
        except Exception:  # noqa: BLE001 - the caller decides what an unknown count means
            return None
        return sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())

    def _count_workers(self) -> int:
        return max(1, self._worker_threads() or 1)

    def _wait_for_workers(self, notify: Callable[[str], None] | None) -> None:
        if self._worker_threads():
            return
        if notify is not None:
            notify(
                f"the Dask scheduler at {self.address} has no workers yet; "
                f"waiting up to {self.worker_wait:g} s for one to join"
            )
        try:
            self._client.wait_for_workers(1, timeout=self.worker_wait)
        except TimeoutError:
            raise ClusterUnavailable(
                f"the Dask scheduler at {self.address} has no workers (none joined within "
                f"{self.worker_wait:g} s): start some with `dask worker {self.address}`"
            ) from None

    def _check_workers(self) -> None:
        """Every worker must run this stockout code: another one could give other results."""
        from . import __version__

        mine = code_fingerprint()
        answers = self._client.run(worker_identity, on_error="return")
        wrong: list[str] = []
        for worker, answer in sorted(answers.items()):
            if isinstance(answer, BaseException):
                cause = str(answer).strip() or type(answer).__name__
                wrong.append(f"{worker} cannot run stockout ({cause})")
            elif tuple(answer) != (__version__, mine):
                version, code = answer
                wrong.append(f"{worker} runs stockout {version} (code {code})")
        if wrong:
            listed = "; ".join(wrong[:5]) + ("; ..." if len(wrong) > 5 else "")
            raise ClusterUnavailable(
                f"the Dask workers at {self.address} must run the same stockout as this client "
                f"({__version__}, code {mine}), or results could differ: {listed}. Install this "
                "stockout on every worker (same version, or the same source on PYTHONPATH) "
                "and restart them"
            )

    @property
    def client(self) -> Client:
        return self._client

    def submit(self, job: Job) -> None:
        import pickle

        search_dir = job.search_dir.resolve() if job.search_dir is not None else None
        modules = policy_modules(job.scenario, search_dir)
        call = _Deferred(
            _run_remote,
            job.scenario,
            job.batch,
            search_dir,
            modules,
            code_fingerprint(),
            modules_digest(modules),
        )
        payload = pickle.dumps(call, protocol=pickle.HIGHEST_PROTOCOL)
        future = self._client.submit(pickle.loads, payload, retries=self.retries, pure=False)
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
        workers_seen = time.monotonic()
        last_look = workers_seen  # when the workers were last counted
        while True:
            self._changed.clear()
            done = [f for f in self._futures if f.done()]
            if done:
                break
            now = time.monotonic()
            if self._client.status in ("closing", "closed", "failed"):
                raise ClusterLost(f"the connection to the Dask scheduler at {self.address} closed")
            if self._client.status != "running":
                down_since = down_since or now
                if now - down_since > self.lost_after:
                    raise ClusterLost(
                        f"lost the Dask scheduler at {self.address} "
                        f"(no connection for {self.lost_after:g} s)"
                    )
            else:
                down_since = None
                if now - last_look >= 2.0:  # workers may all be gone: then nothing ever finishes
                    last_look = now
                    if self._worker_threads() != 0:
                        workers_seen = now
                    elif now - workers_seen > self.worker_wait:
                        raise WorkersLost(
                            f"the Dask scheduler at {self.address} has had no workers for "
                            f"{self.worker_wait:g} s"
                        )
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
