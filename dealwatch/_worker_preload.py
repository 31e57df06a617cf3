"""Imported once by the worker pool's fork server (dealwatch.cycle.WORKER_PRELOAD): what every worker
needs, loaded before the workers are forked from it, so that each starts ready and shares these pages."""
from dealwatch.cycle import _process_chunk, _warm_worker  # noqa: F401  (the workers' entry points)
from dealwatch.profile import load_profile

_warm_worker()
# The bundled profile's patterns compiled and their needles read here once: a worker that unpickles a
# cycle's profile finds them in the process-wide caches (~1 ms instead of ~0.25 s of compiling, and its
# first few hundred pages ~20% slower, in each worker of each cycle).
load_profile(None).prepare()
