"""A Dask worker preload for test_cluster (`--preload tests/dask_poison.py`): the worker process dies at once
(SIGKILL, as a crash in a native library or the kernel's OOM killer would end it) whenever it processes a page
whose link contains $DEALWATCH_TEST_POISON. Everything else runs dealwatch's own code."""
from __future__ import annotations

import os
import signal

from dealwatch import cycle


def dask_setup(worker) -> None:
    poison = os.environ.get("DEALWATCH_TEST_POISON")
    if not poison:
        return
    process_pages = cycle.process_pages

    def dies_on_poison(fetched, profile, fetched_on):
        if any(poison in f.item.link for f in fetched):
            os.kill(os.getpid(), signal.SIGKILL)
        return process_pages(fetched, profile, fetched_on)
    cycle.process_pages = dies_on_poison   # _process_chunk looks it up in the module at each call
