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
  the cluster lost mid-cycle (scheduler gone, a chunk that kills worker after worker) -> ClusterLost from
      that chunk's job: what was judged before is stored, the rest of the batch stays queued, untouched,
      for the next cycle
Workers should preload dealwatch.dask_preload and run one thread each (the judgment is pure Python):
    dask worker tcp://scheduler:8786 --nthreads 1 --nworkers auto --preload dealwatch.dask_preload
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future as LocalFuture

log = logging.getLogger(__name__)

ENV_SCHEDULER = "DEALWATCH_DASK_SCHEDULER"
CONNECT_TIMEOUT = 10.0   # seconds to reach the scheduler, and for it to have a worker, when a cycle starts


from dealwatch.errors import ClusterError, ClusterLost, ClusterUnreachable  # noqa: E402,F401  (re-exported)


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
        self._running: set = set()   # a Dask future nobody holds is released, and its task forgotten
        self._lock = threading.Lock()

    @property
    def workers(self) -> int:
        """How many jobs the cluster runs at once (its workers' threads)."""
        return max(1, sum(self.client.nthreads().values()))

    def submit(self, fn, *args, **kwargs) -> LocalFuture:
        result: LocalFuture = LocalFuture()
        result.set_running_or_notify_cancel()
        try:
            task = self.client.submit(fn, *args, pure=False, **kwargs)
        except Exception as e:   # the client closed as the scheduler went
            raise self._lost(e) from e
        with self._lock:
            self._running.add(task)

        def done(task) -> None:
            with self._lock:
                self._running.discard(task)
            try:
                result.set_result(task.result())
            except BaseException as e:   # distributed's CancelledError is a BaseException
                result.set_exception(self._lost(e) if _cluster_fault(e) else e)
        task.add_done_callback(done)
        return result

    def map(self, fn, iterable):
        return [job.result() for job in [self.submit(fn, args) for args in iterable]]

    def _lost(self, error: BaseException) -> ClusterLost:
        reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
        return ClusterLost(f"the Dask cluster at {self.address} did not finish a chunk ({reason}); what was judged "
                           f"before is stored, the rest stays queued for the next cycle")

    def close(self) -> None:
        with self._lock:
            running, self._running = list(self._running), set()
        try:
            if running:
                self.client.cancel(running)
            self.client.close(timeout=5)
        except Exception as e:   # the scheduler already gone: nothing left to release
            log.debug("closing the Dask client: %s", e)


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
