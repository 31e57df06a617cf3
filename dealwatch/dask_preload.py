"""A Dask worker's preload: `dask worker ADDRESS --nthreads 1 --preload dealwatch.dask_preload`.

What every dealwatch job needs, loaded once per worker process before its first job, as the local pool's
fork server does (dealwatch._worker_preload): the heavy imports, the language model, the bundled profile's
compiled patterns. A cycle's own profile comes with its jobs, pickled, and is unpickled once per worker
(cycle._profile_of). A worker the nanny restarts (after a crash or a kill) preloads again."""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


# Dask's statistical profiler samples the running task's stack 100 times a second (for its dashboard's profile
# page): an idle two-worker cluster took 0.057 cores with it, 0.035 without (measured, 20 s, psutil). Its
# profile of dealwatch's jobs says nothing benchmarks/run.py's stage costs do not.
WORKER_CALLBACKS_OFF = ("profile", "profile-cycle")


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
