"""A Dask worker's preload: `dask worker ADDRESS --nthreads 1 --preload dealwatch.dask_preload`.

What every dealwatch job needs, loaded once per worker process before its first job, as the local pool's
fork server does (dealwatch._worker_preload): the heavy imports, the language model, the bundled profile's
compiled patterns. A cycle's own profile comes with its jobs, pickled, and is unpickled once per worker
(cycle._profile_of). A worker the nanny restarts (after a crash or a kill) preloads again."""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


# A worker's periodic chores that only feed Dask's dashboard and its warnings, off: the statistical profiler
# (samples the running task's stack 100 times a second), the event loop's tick (every 20 ms, to warn when it
# was blocked) and the system monitor (psutil every 500 ms: the dashboard's CPU and memory plots; the nanny's
# and the worker's own memory limits have their own monitors, left on). They took 0.0375 of a core on an idle
# two-worker cluster, 0.0115 without (measured, 20 s, psutil): time taken from the jobs, on a worker's core.
WORKER_CALLBACKS_OFF = ("profile", "profile-cycle", "tick", "ticks", "monitor")


def dask_setup(worker) -> None:
    from dealwatch import _worker_preload  # noqa: F401  (imports, warms the language model and the profile)
    for name in WORKER_CALLBACKS_OFF:
        callback = getattr(worker, "periodic_callbacks", {}).pop(name, None)
        if callback is not None:
            callback.stop()
    threads = getattr(getattr(worker, "state", None), "nthreads", 1)
    if threads > 1:   # the judgment is pure Python: threads of one process take turns on one core
        log.warning("dealwatch: this Dask worker runs %d threads; dealwatch's jobs are pure Python and use one "
                    "core per process: start workers with --nthreads 1 --nworkers N instead", threads)
