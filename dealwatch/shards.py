"""Shards: the feeds split into N parts, so that N cycles (on one machine or on several) share the work.

A feed's shard is a stable hash of its key, its canonical URL (dealwatch.urls.canonical_url: spelling
differences of one address land in one shard): SHA-256, not Python's hash(), which is salted per process,
so every process, machine and Python version assigns a feed to the same shard. Nothing about shards is
stored: a feed's queued pages are fetched by the shard its feed falls in (the warehouse's queue is read
per feed), so changing N moves feeds, and their queued pages with them, to their new shards.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from dealwatch.errors import ShardError  # noqa: F401  (re-exported)
from dealwatch.urls import canonical_url

MAX_SHARDS = 1024   # far beyond any sensible setup; keeps the lock names and the run rows bounded


@dataclass(frozen=True, slots=True, order=True)
class Shard:
    """Shard `index` of `count` (1-based: 1/2 and 2/2 are the two halves)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, feed_url: str) -> bool:
        return shard_of(feed_url, self.count) == self.index

    def feeds(self, feed_urls: Iterable[str]) -> list[str]:
        """The feeds of this shard, in their given order."""
        return [url for url in feed_urls if self.holds(url)]


def shard_key(feed_url: str) -> str:
    return canonical_url(feed_url)


def shard_of(feed_url: str, count: int) -> int:
    """The shard (1..count) the feed falls in."""
    digest = hashlib.sha256(shard_key(feed_url).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


_FORM = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str | Shard | None) -> Shard | None:
    """'K/N' as a Shard; None and '' as None (no sharding: every feed). ShardError, saying what to give,
    for anything else."""
    if text is None or isinstance(text, Shard):
        return text
    if not str(text).strip():
        return None
    match = _FORM.fullmatch(str(text))
    if not match:
        raise ShardError(f"shard {text!r}: give K/N, the K-th of N shards, e.g. 1/2 (the first of two)")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise ShardError(f"shard {text!r}: the number of shards N must be between 1 and {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise ShardError(f"shard {text!r}: K must be between 1 and N ({count}): 1/{count} ... {count}/{count}")
    return Shard(index, count)


def all_shards(count: int) -> list[Shard]:
    """The shards 1/count ... count/count; ShardError if count is not 1..MAX_SHARDS."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SHARDS:
        raise ShardError(f"shards {count!r}: give the number of shards, a whole number from 1 to {MAX_SHARDS}")
    return [Shard(k, count) for k in range(1, count + 1)]
