"""Waiting for what a real server does in its own time (a Prefect server's runs, its recorded events)."""
from __future__ import annotations

import time

import httpx


def wait_for(what: str, check, timeout: float, every: float = 1.0):
    """check() until it gives something, for at most timeout seconds. A check whose request to the Prefect
    server timed out is asked again (within the same deadline): under the whole suite on 2 cores, the SQLite
    server once took over 15 s to answer a flow-run filter while `serve` ran cycles."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            found = check()
        except httpx.TimeoutException as e:
            last_error, found = e, None
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"waited {timeout:.0f} s for {what}" + (f" (last request: {last_error!r})" if last_error else ""))
