"""Imported once by the worker pool's fork server (dealwatch.cycle.WORKER_PRELOAD): what every worker
needs, loaded before the workers are forked from it, so that each starts ready and shares these pages."""
from dealwatch.cycle import _process_chunk, _warm_worker  # noqa: F401  (the workers' entry points)

_warm_worker()
