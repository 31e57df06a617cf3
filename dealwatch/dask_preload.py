"""A Dask preload for dealwatch's cluster: the workers, their nannies and the scheduler.

    dask scheduler --preload dealwatch.dask_preload
    dask worker ADDRESS --nthreads 1 --preload dealwatch.dask_preload --preload-nanny dealwatch.dask_preload

In a worker: what every dealwatch job needs, loaded once per worker process before its first job, as the
local pool's fork server does (dealwatch._worker_preload): the heavy imports, the language model, the bundled
profile's compiled patterns. A cycle's own profile comes with its jobs, pickled, and is unpickled once per
worker (cycle._profile_of). A worker the nanny restarts (after a crash or a kill) preloads again.
In every one of them (worker, nanny, scheduler): Dask's chores that only feed its dashboard and warnings, off.
The nanny and the scheduler import nothing of dealwatch's judgment."""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


# Periodic chores of every Dask server that only feed the dashboard and its warnings, off: the statistical
# profiler (a worker's: samples the running task's stack 100 times a second), the event loop's tick (every
# 20 ms, to warn when it was blocked) and the system monitor (psutil every 500 ms: the dashboard's CPU and
# memory plots; the nanny's memory limit has its own monitor, left on, as are heartbeats and work stealing).
# On an idle two-worker cluster they took 0.0375 of a core in the workers (0.0115 without); in the scheduler
# and the two nannies together 0.049 of a core with them, 0.013 without (measured, 20 s twice, psutil).
CALLBACKS_OFF = ("profile", "profile-cycle", "tick", "ticks", "monitor")


def dask_setup(server) -> None:
    from distributed import Worker
    for name in CALLBACKS_OFF:
        callback = getattr(server, "periodic_callbacks", {}).pop(name, None)
        if callback is not None:
            callback.stop()
    if not isinstance(server, Worker):   # the scheduler or a nanny: no jobs run there
        return
    from dealwatch import _worker_preload  # noqa: F401  (imports, warms the language model and the profile)
    threads = getattr(getattr(server, "state", None), "nthreads", 1)
    if threads > 1:   # the judgment is pure Python: threads of one process take turns on one core
        log.warning("dealwatch: this Dask worker runs %d threads; dealwatch's jobs are pure Python and use one "
                    "core per process: start workers with --nthreads 1 --nworkers N instead", threads)
