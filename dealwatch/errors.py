"""Every exception dealwatch raises on purpose, in one tree under `DealwatchError`.

A program using dealwatch as a library catches everything dealwatch raises for a user's mistake or an
unusable input with `except DealwatchError`; the command line turns each into its one line
(`dealwatch: error: <message>`, exit status 2). Every message says what was wrong and what to do.
The modules that raise them re-export their names (`from dealwatch.config import ConfigError` keeps
working). The tree (tests/test_errors.py checks that it matches the classes below):

DealwatchError
├── UsageError                  what was asked on the command line cannot be done
│   └── ShardError              a shard not given as K/N with 1 <= K <= N (also a ValueError)
├── ConfigError                 the configuration file cannot be used
├── ProfileError                a profile file cannot be used
├── ModelsError                 a profile's weights file cannot be used
├── NotifyConfigError           a notification URL or apprise config file cannot be used (also a ValueError)
├── QueryError                  a query cannot be run as asked (also a ValueError)
├── BackfillInputError          a backfill's source cannot be used (also a ValueError)
├── WarehouseError              the warehouse cannot be used (unwritable, not DuckDB, a newer schema)
│   ├── WarehouseLocked         another process held the file longer than we would wait
│   ├── CycleRunning            another cycle is working on this warehouse
│   └── LakeError               the lake cannot be used (PostgreSQL unreachable, no data directory, ...)
├── ClusterError                the Dask cluster named for the CPU work
│   ├── ClusterUnreachable      no scheduler (or no worker) answers at the address
│   └── ClusterLost             the cluster went away mid-cycle: the unfinished pages stay queued
│       └── ChunkKillsWorkers   a job killed every worker it ran on (a poison page in the chunk)
├── ShardsFailed                a shard run of a sharded cycle did not complete (the others' work is stored)
├── UnsafeURL                   a link dealwatch must not fetch (not http(s), a private address; also a ValueError)
├── ExtractionError             a page has no usable article text
└── FetchError                  a request that gave nothing to keep (.url, .transient, .retry_after, .status)
    ├── BlockedURL              refused by the address guard before any connection
    ├── NetworkError            transient
    │   ├── FetchTimeout
    │   ├── HostUnreachable     does not resolve or refuses connections: not tried again this cycle
    │   └── HostSkipped         found unreachable earlier in this cycle: not an attempt
    ├── AggregatorLink          an aggregator's link not decoded to the publisher's URL: never fetched
    ├── HTTPStatusError
    ├── TooManyRedirects
    ├── RobotsDisallowed
    └── ContentError
        ├── BadContentType
        ├── TooLarge
        └── EmptyBody           transient

The cycle itself never lets FetchError, ExtractionError or ClusterLost end a run: a failed feed or page
is recorded in the warehouse and retried by a later cycle (a lost cluster ends the cycle, whose unjudged
pages stay queued). They are in the tree so that a library caller of fetch_pages, extract_article or the
cluster pool can catch them with the rest.

Private control-flow exceptions that never leave their module (profile.py's `_Unreadable`) are not drawn.
"""
from __future__ import annotations

__all__ = [
    "DealwatchError", "UsageError", "ConfigError", "ProfileError", "ModelsError", "NotifyConfigError",
    "QueryError", "BackfillInputError", "WarehouseError", "WarehouseLocked", "CycleRunning", "LakeError",
    "ClusterError", "ClusterUnreachable", "ClusterLost", "ChunkKillsWorkers", "ShardError", "ShardsFailed", "UnsafeURL", "ExtractionError", "FetchError", "BlockedURL",
    "NetworkError", "FetchTimeout", "HostUnreachable", "HostSkipped", "AggregatorLink", "HTTPStatusError",
    "TooManyRedirects", "RobotsDisallowed", "ContentError", "BadContentType", "TooLarge", "EmptyBody",
]


class DealwatchError(Exception):
    """Anything dealwatch raises on purpose; the message says what was wrong and what to do."""


# -- what the user gave ---------------------------------------------------------------------------------

class UsageError(DealwatchError):
    """A mistake in what the user asked for; the message says what to do."""


class ShardError(UsageError, ValueError):
    """A shard given as something other than K/N with 1 <= K <= N."""


class ConfigError(DealwatchError):
    """The configuration cannot be used; the message says what is wrong and what to do."""


class ProfileError(DealwatchError):
    """A profile file that cannot be used; the message names the file and the problem."""


class ModelsError(DealwatchError):
    """A weights file that cannot be used; the message names the file and the problem."""


class NotifyConfigError(DealwatchError, ValueError):
    """A notification URL or config file cannot be used; the message names it (masked) and what to do."""


class QueryError(DealwatchError, ValueError):
    """A query cannot be run as asked (unknown saved query, missing parameter...); the message says why."""


class BackfillInputError(DealwatchError, ValueError):
    """The backfill's source cannot be used; the message says what is wrong."""


# -- the warehouse --------------------------------------------------------------------------------------

class WarehouseError(DealwatchError):
    """The warehouse cannot be used (unwritable path, not a DuckDB file, newer schema...)."""


class WarehouseLocked(WarehouseError):
    """Another process held the database file for longer than we were willing to wait."""


class CycleRunning(WarehouseError):
    """Another cycle is already working on this warehouse."""


class LakeError(WarehouseError):
    """The lake cannot be used: PostgreSQL unreachable, no data directory for a new lake, a password in the
    address..."""


# -- the Dask cluster -----------------------------------------------------------------------------------

class ClusterError(DealwatchError):
    """The Dask cluster named for the CPU work cannot be used."""


class ClusterUnreachable(ClusterError):
    """No Dask scheduler (or no worker) at the configured address; the message says what to do."""


class ClusterLost(ClusterError):
    """The Dask cluster went away mid-cycle: the unfinished pages stay queued for the next cycle."""


class ChunkKillsWorkers(ClusterLost):
    """A job whose worker died under it as often as the scheduler allows (KilledWorker): the cluster is up,
    the job itself is suspect (a poison page in the chunk)."""


class ShardsFailed(DealwatchError, RuntimeError):
    """A shard run of a sharded cycle did not complete; the others' work is stored all the same."""


# -- pages and feeds ------------------------------------------------------------------------------------

class UnsafeURL(DealwatchError, ValueError):
    """An article link dealwatch must not fetch: not http(s), or its host is a private address."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"refusing {url}: {reason}")
        self.url = url
        self.reason = reason


class ExtractionError(DealwatchError):
    """The page has no article text that can be used."""


class FetchError(DealwatchError):
    """A request that gave nothing to keep. transient: trying again later may work."""

    default_transient = False

    def __init__(self, url: str, message: str, *, transient: bool | None = None,
                 retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.message = message
        self.transient = self.default_transient if transient is None else transient
        self.retry_after = retry_after
        self.status = status

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(url={self.url!r}, message={self.message!r}, transient={self.transient}, "
                f"retry_after={self.retry_after}, status={self.status})")

    def __reduce__(self):  # picklable (Prefect may ship results between processes)
        return (_rebuild_error, (type(self), self.url, self.message, self.transient, self.retry_after,
                                 self.status))


def _rebuild_error(cls, url, message, transient, retry_after, status):
    return cls(url, message, transient=transient, retry_after=retry_after, status=status)


class BlockedURL(FetchError):
    """Refused by the address guard before any connection (SSRF protection)."""


class NetworkError(FetchError):
    default_transient = True


class FetchTimeout(NetworkError):
    pass


class HostUnreachable(NetworkError):
    """The host does not resolve, or refuses connections: not tried again in this cycle."""


class HostSkipped(NetworkError):
    """Not tried: the host was found unreachable earlier in this cycle (an attempt not to count)."""


class AggregatorLink(FetchError):
    """An aggregator's article link that was not decoded to the publisher's URL: never fetched."""


class HTTPStatusError(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


class RobotsDisallowed(FetchError):
    pass


class ContentError(FetchError):
    pass


class BadContentType(ContentError):
    pass


class TooLarge(ContentError):
    pass


class EmptyBody(ContentError):
    default_transient = True
