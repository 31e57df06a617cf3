"""The Dask edge: a cycle's CPU work (parsing feeds, extracting, judging, hashing) on a Dask cluster instead
of the local worker pool, when a scheduler address is given (`dealwatch run --dask ADDRESS`, the
environment variable DEALWATCH_DASK_SCHEDULER, or `[scale] dask_scheduler` in the config, in that order).

Only this module talks to Dask. dealwatch.cycle hands it the same jobs as to its process pool (a chunk of
fetched pages, the pickled profile, the day); the outcomes come back to the cycle's process, which alone
writes the warehouse. So a Dask worker killed mid-chunk costs nothing but time: the scheduler runs the chunk
again on another worker, and its outcomes are stored once, when they arrive here.

Faults, and the choices made:
  scheduler unreachable when a cycle starts -> ClusterUnreachable, one line naming the address: the cycle
      fails before any work (no quiet fallback to this machine: whoever points dealwatch at a cluster has
      more work than this machine is meant to take, and would rather hear than wait hours)
  the cluster lost mid-cycle (the scheduler gone) -> ClusterLost from that chunk's job: what was judged
      before is stored, the rest of the batch stays queued, untouched, for the next cycle
  no worker left mid-cycle (the scheduler up, every worker gone) -> the cycle waits NO_WORKERS_WAIT seconds
      for one to come back (a restarted worker takes a few seconds), then the same as the cluster lost
  a job whose worker died under it more often than the scheduler allows (`distributed.scheduler.allowed-
      failures`, 3 by default: a poison page, or bad luck) -> ChunkKillsWorkers: dealwatch.cycle runs the
      chunk's pages one job each, and a page whose own job kills workers that often is retried in a later
      cycle with backoff, its last_error saying so, and parked after the warehouse's item_max_attempts
Workers should preload dealwatch.dask_preload and run one thread each (the judgment is pure Python); their
nannies and the scheduler may preload it too (it turns Dask's dashboard-only chores off there):
    dask scheduler --preload dealwatch.dask_preload
    dask worker tcp://scheduler:8786 --nthreads 1 --nworkers auto --preload dealwatch.dask_preload \
        --preload-nanny dealwatch.dask_preload
LocalCluster starts such a cluster on this machine (the tests, the benchmark, trying it out).
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future as LocalFuture
from pathlib import Path

log = logging.getLogger(__name__)

ENV_SCHEDULER = "DEALWATCH_DASK_SCHEDULER"
CONNECT_TIMEOUT = 10.0   # seconds to reach the scheduler, and for it to have a worker, when a cycle starts
NO_WORKERS_WAIT = 60.0   # seconds a cycle waits, mid-batch, for a worker to come back before giving up the rest


from dealwatch.errors import ChunkKillsWorkers, ClusterError, ClusterLost, ClusterUnreachable  # noqa: E402,F401  (re-exported)


_ADDRESS: str | None = None   # set by use_cluster (a flow's parameter); else the environment's


def use_cluster(address: str | None) -> None:
    """The scheduler this process's cycles use (None: the environment's DEALWATCH_DASK_SCHEDULER, if any)."""
    global _ADDRESS
    if address != _ADDRESS:
        close()
    _ADDRESS = address or None


def scheduler_address() -> str | None:
    """The configured scheduler's address, or None for the local worker pool (the default)."""
    return _ADDRESS or os.environ.get(ENV_SCHEDULER) or None


class ClusterPool:
    """The local pool's face (submit, map) on a Dask client: each job one Dask task, its result delivered
    to a concurrent.futures.Future, or ClusterLost when the cluster could not finish it."""

    def __init__(self, address: str, timeout: float = CONNECT_TIMEOUT):
        from distributed import Client
        self.address = address
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise ClusterUnreachable(
                f"no Dask scheduler answers at {address} ({type(e).__name__}: {e}); start it (`dask scheduler`) "
                f"and its workers, or leave out --dask / ${ENV_SCHEDULER} / [scale] dask_scheduler to judge "
                f"on this machine") from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError) as e:
            self.client.close()
            raise ClusterUnreachable(
                f"the Dask scheduler at {address} has no workers ({e}): start some with `dask worker {address} "
                f"--nthreads 1 --preload dealwatch.dask_preload`") from None
        self._running: dict = {}   # Dask future -> its local future (a Dask future nobody holds is released)
        self._lock = threading.Lock()
        self.work: Counter = Counter()   # (worker name, job's function name) -> jobs done there
        self.items: Counter = Counter()  # worker name -> items of the list results it sent back (pages judged)
        self._closed = threading.Event()
        threading.Thread(target=self._watch_workers, name="dealwatch-dask-watch", daemon=True).start()

    @property
    def workers(self) -> int:
        """How many jobs the cluster runs at once (its workers' threads)."""
        return max(1, sum(self.client.nthreads().values()))

    def submit(self, fn, *args, **kwargs) -> LocalFuture:
        result: LocalFuture = LocalFuture()
        result.set_running_or_notify_cancel()
        try:   # the key named after the job's function, as Dask would (the tests look chunks up by it)
            task = self.client.submit(_on_worker, _job_bytes(fn, args, kwargs),
                                      key=f"{fn.__name__}-{uuid.uuid4().hex}", pure=False)
        except Exception as e:   # the client closed as the scheduler went
            raise self._lost(e) from e
        with self._lock:
            self._running[task] = result

        def done(task) -> None:
            with self._lock:
                self._running.pop(task, None)
            if result.done():   # given up already (no workers)
                return
            try:
                worker, value = task.result()
            except BaseException as e:   # distributed's CancelledError is a BaseException
                _set(result, exception=self._lost(e) if _cluster_fault(e) else e)
                return
            with self._lock:
                self.work[worker, fn.__name__] += 1
                self.items[worker] += len(value) if isinstance(value, list) else 0
            _set(result, value=value)
        task.add_done_callback(done)
        return result

    def map(self, fn, iterable):
        return [job.result() for job in [self.submit(fn, args) for args in iterable]]

    def _lost(self, error: BaseException) -> ClusterLost:
        from distributed import KilledWorker
        if isinstance(error, KilledWorker):
            return ChunkKillsWorkers(f"a job on the Dask cluster at {self.address} lost its worker as often as the "
                                     f"scheduler allows (KilledWorker: {error})")
        reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
        return ClusterLost(f"the Dask cluster at {self.address} did not finish a chunk ({reason}); what was judged "
                           f"before is stored, the rest stays queued for the next cycle")

    def _watch_workers(self, every: float = 1.0) -> None:
        """While jobs are out: with no worker at all for NO_WORKERS_WAIT seconds, they are given up (ClusterLost),
        instead of waiting on the scheduler forever."""
        since = None
        while not self._closed.wait(every):
            with self._lock:
                running = dict(self._running)
            if not running:
                since = None
                continue
            try:
                workers = len(self.client.nthreads())
            except Exception:   # the scheduler gone: its jobs fail on their own (cancelled)
                continue
            if workers:
                since = None
                continue
            since = since or time.monotonic()
            if time.monotonic() - since < NO_WORKERS_WAIT:
                continue
            log.warning("the Dask scheduler at %s has had no worker for %.0f s: giving up its %d job(s)",
                        self.address, NO_WORKERS_WAIT, len(running))
            error = ClusterLost(f"the Dask scheduler at {self.address} has had no worker for {NO_WORKERS_WAIT:.0f} s "
                                f"(start some: `dask worker {self.address} --nthreads 1 --preload "
                                f"dealwatch.dask_preload`); what was judged before is stored, the rest stays "
                                f"queued for the next cycle")
            for result in running.values():
                _set(result, exception=error)
            try:
                self.client.cancel(list(running))
            except Exception as e:
                log.debug("cancelling jobs on a cluster with no workers: %s", e)

    def tally(self) -> dict:
        """What the cluster did for this pool: per worker, its jobs by function and the items (pages) sent back."""
        with self._lock:
            workers = sorted({w for w, _ in self.work})
            return {w: {"items": self.items[w], **{fn: n for (w2, fn), n in sorted(self.work.items()) if w2 == w}}
                    for w in workers}

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            running, self._running = list(self._running), {}
        try:
            if running:
                self.client.cancel(running)
            self.client.close(timeout=5)
        except Exception as e:   # the scheduler already gone: nothing left to release
            log.debug("closing the Dask client: %s", e)


def _job_bytes(fn, args: tuple, kwargs: dict) -> bytes:
    """A job as it travels: pickled here, once, into one bytes object that Dask carries as it is. Dask's
    scheduler unpickles every task it is given and pickles it again for the worker: a chunk of pages given
    as objects (~1.4 MB of Fetched, Page and FeedItem instances for 40 pages) was rebuilt object by object
    in the scheduler, and its first chunk made the scheduler import dealwatch.cycle (trafilatura, the
    judgment: ~0.7 s during which it dispatched nothing); a bytes object it copies. Only the worker reads it."""
    return pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)


def _on_worker(job: bytes) -> tuple[str, object]:
    """A job as the worker runs it: its result, with the worker's name (the cycle's record says who did what)."""
    from distributed import get_worker
    fn, args, kwargs = pickle.loads(job)
    return str(get_worker().name), fn(*args, **kwargs)


def _set(result: LocalFuture, value=None, exception: BaseException | None = None) -> None:
    """Deliver once (the no-worker watch and the job's own end may race)."""
    from concurrent.futures import InvalidStateError
    try:
        if exception is not None:
            result.set_exception(exception)
        else:
            result.set_result(value)
    except InvalidStateError:
        pass


def _cluster_fault(error: BaseException) -> bool:
    """Whether a job failed for the cluster's sake (cancelled as the scheduler went, or a worker killed too
    often), not for the job's own (dealwatch's chunks catch their own errors, see cycle.process_one)."""
    from asyncio import CancelledError as TaskCancelled
    from concurrent.futures import CancelledError

    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError
    return isinstance(error, (CancelledError, TaskCancelled, KilledWorker, CommClosedError, OSError, TimeoutError))


_POOL: ClusterPool | None = None
_POOL_LOCK = threading.Lock()


def pool() -> ClusterPool | None:
    """The cluster's pool for this cycle (connected now if need be), or None when no scheduler is configured.
    ClusterUnreachable when there is one but it does not answer."""
    global _POOL
    address = scheduler_address()
    if address is None:
        return None
    with _POOL_LOCK:
        if _POOL is not None and (_POOL.address != address or _POOL.client.status != "running"):
            _POOL.close()
            _POOL = None
        if _POOL is None:
            _POOL = ClusterPool(address)
            log.info("CPU work on the Dask cluster at %s (%d worker threads)", address, _POOL.workers)
        return _POOL


def running_pool() -> ClusterPool | None:
    """The cluster's pool if one is connected now (never connects)."""
    return _POOL


def close() -> None:
    """Disconnect from the cluster (at a cycle's end, as the local pool is shut down)."""
    global _POOL
    with _POOL_LOCK:
        current, _POOL = _POOL, None
    if current is not None:
        current.close()


PRELOAD = "dealwatch.dask_preload"   # the workers', their nannies' and the scheduler's


class LocalCluster:
    """A Dask cluster of real processes on this machine: `dask scheduler` and `workers` x `dask worker` (one
    thread each, named w0, w1, ...; dealwatch's preload in them, their nannies and the scheduler) on
    127.0.0.1, random ports, each in its own process group; their logs in `folder`. For the tests and the benchmark, and for trying --dask out. env: extra
    environment for all of them (e.g. DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES); preload: more worker
    preloads. close() stops them all."""

    def __init__(self, workers: int = 2, folder: Path | None = None, env: dict | None = None,
                 preload: list[str] = (), timeout: float = 120):
        self.folder = Path(folder or tempfile.mkdtemp(prefix="dealwatch-dask-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **(env or {})}
        self.preload = [PRELOAD, *preload]
        self.timeout = timeout
        self.procs: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}
        scheduler_file = self.folder / "scheduler.json"
        scheduler_file.unlink(missing_ok=True)
        try:
            self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                         "--scheduler-file", str(scheduler_file), "--preload", PRELOAD)
            deadline = time.monotonic() + timeout
            while not (scheduler_file.is_file() and scheduler_file.stat().st_size):
                if time.monotonic() > deadline or self.scheduler.poll() is not None:
                    raise RuntimeError(f"the Dask scheduler did not start (log: {self.folder})")
                time.sleep(0.1)
            self.address = json.loads(scheduler_file.read_text())["address"]
            from distributed import Client
            self.client = Client(self.address, timeout=timeout, set_as_default=False)
            for _ in range(workers):
                self.start_worker()
            self.client.wait_for_workers(workers, timeout=timeout)
        except BaseException:
            self.close()
            raise

    def _start(self, *args: str) -> subprocess.Popen:
        dask = Path(sys.executable).with_name("dask")
        with open(self.folder / f"{args[0]}-{len(self.procs)}.log", "wb") as log_file:
            proc = subprocess.Popen([str(dask), *args], stdout=log_file, stderr=subprocess.STDOUT, env=self.env,
                                    start_new_session=True)
        self.procs.append(proc)
        return proc

    def start_worker(self) -> str:
        """One more worker (under its nanny); its name."""
        name = f"w{len(self.workers)}"
        preloads = [arg for p in self.preload for arg in ("--preload", p)]
        self.workers[name] = self._start("worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                                         "--no-dashboard", "--name", name, *preloads, "--preload-nanny", PRELOAD,
                                         "--local-directory", str(self.folder))
        return name

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> the pid of its worker process (under its nanny)."""
        return self.client.run(os.getpid)

    def executed(self) -> int:
        """Tasks the workers have run, in all."""
        return sum(self.client.run(lambda dask_worker: dask_worker.state.executed_count).values())

    def kill_workers(self) -> None:
        """SIGKILL every worker and its nanny (no restart): the scheduler is left with none."""
        for proc in self.workers.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
