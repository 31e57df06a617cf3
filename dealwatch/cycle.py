"""The stages of one monitoring cycle that need neither Prefect nor the network: from fetch results to
judged outcomes ready to store. flows/ wires these with the I/O edges (fetch, warehouse, alerts).

What becomes of an item (the failure policy, in one place):
  page fetched and text extracted  -> article judged from the page
  page fetched, no usable text     -> article judged from the feed's summary, marked text_source='feed'
  permanent fetch error (404, pdf, too large, unsafe address, ...) -> the same feed-summary stand-in
  transient fetch error (timeout, 5xx, 429, connect) -> no article yet: retried in a later cycle with
                                      backoff; on its last attempt, the feed-summary stand-in
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context

from dealwatch.dedup import content_hash, text_fingerprint
from dealwatch.extract import ExtractionError, article_from_feed, extract_article
from dealwatch.fetch import FetchError
from dealwatch.judge import judge
from dealwatch.model import Article, FeedItem, Page
from dealwatch.profile import Profile
from dealwatch.warehouse import ItemOutcome

log = logging.getLogger(__name__)
PARALLEL_MIN_ITEMS = 24   # below this, starting worker processes costs more than it saves


@dataclass(frozen=True, slots=True)
class Fetched:
    """A queued item with what fetching it gave, and whether this was its last allowed attempt."""

    item: FeedItem
    result: Page | FetchError
    last_attempt: bool = False


def _judged(item: FeedItem, article: Article, profile: Profile, fetch_error: str | None) -> ItemOutcome:
    judgment = judge(article, profile)
    hashes = {}
    if article.text_source == "page":
        hashes = {"content_hash": content_hash(article.text), "fingerprint": text_fingerprint(article.text)}
    return ItemOutcome(item=item, article=article, judgment=judgment, fetch_error=fetch_error, **hashes)


def process_one(fetched: Fetched, profile: Profile, fetched_on: date) -> ItemOutcome:
    item, result = fetched.item, fetched.result
    try:
        if isinstance(result, FetchError):
            if result.transient and not fetched.last_attempt:
                return ItemOutcome(item=item, fetch_error=str(result), transient=True,
                                   retry_after=getattr(result, "retry_after", None))
            return _judged(item, article_from_feed(item, fetched_on), profile, str(result))
        try:
            article = extract_article(result, item, fetched_on)
        except ExtractionError as e:
            return _judged(item, article_from_feed(item, fetched_on), profile, f"{result.final_url}: {e}")
        return _judged(item, article, profile, None)
    except Exception as e:  # a bug in extraction or judgment must not cost the cycle: retried later
        log.exception("processing %s failed", item.link)
        return ItemOutcome(item=item, fetch_error=f"processing failed: {type(e).__name__}: {e}", transient=True)


def _process_chunk(args: tuple[list[Fetched], Profile, date]) -> list[ItemOutcome]:
    chunk, profile, fetched_on = args
    return [process_one(f, profile, fetched_on) for f in chunk]


def _warm_worker() -> None:
    """Runs once in each new worker: the heavy imports and lazy models, before the first chunk arrives."""
    from dealwatch.extract import detect_language
    detect_language("warm up the language model")


def _nothing() -> None:
    return None


# One pool of worker processes per cycle, not per batch: spawning a worker (a fresh interpreter importing
# trafilatura, lxml, py3langid, the judgment) costs ~1-2 s of CPU, once per cycle instead of once per batch.
_POOL: ProcessPoolExecutor | None = None
_POOL_WORKERS = 0


def start_workers(workers: int | None = None) -> ProcessPoolExecutor | None:
    """The cycle's worker pool, started now if it is not running yet (its workers then start in the
    background while the caller goes on fetching); None when there is only one core."""
    global _POOL, _POOL_WORKERS
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1:
        return None
    if _POOL is None or _POOL_WORKERS != workers:
        shutdown_workers()
        # spawn, not fork: the parent runs Prefect's threads and event loop, which fork would copy half-alive
        _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                    initializer=_warm_worker)
        _POOL_WORKERS = workers
        for _ in range(workers):   # start every worker now, not when the first chunk comes
            _POOL.submit(_nothing)
    return _POOL


def shutdown_workers() -> None:
    """Stop the worker pool (at the end of a cycle: idle workers would hold ~100 MB each)."""
    global _POOL, _POOL_WORKERS
    pool, _POOL, _POOL_WORKERS = _POOL, None, 0
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def process(fetched: Sequence[Fetched], profile: Profile, fetched_on: date,
            workers: int | None = None) -> list[ItemOutcome]:
    """Extract and judge a batch, in order; on several cores for a large batch (extraction is CPU-bound).
    Uses the cycle's worker pool (start_workers), started here if needed and left running for the next
    batch: whoever runs the cycle calls shutdown_workers() at its end."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1 or len(fetched) < PARALLEL_MIN_ITEMS:
        return [process_one(f, profile, fetched_on) for f in fetched]
    size = max(1, len(fetched) // (workers * 4))
    chunks = [(list(fetched[i:i + size]), profile, fetched_on) for i in range(0, len(fetched), size)]
    try:
        pool = start_workers(workers)
        return [outcome for part in pool.map(_process_chunk, chunks) for outcome in part]
    except (BrokenProcessPool, OSError) as e:  # no processes to be had here: slower, but the same result
        shutdown_workers()
        log.warning("worker processes failed (%s); judging this batch in one process", e)
        return [process_one(f, profile, fetched_on) for f in fetched]


async def process_while_fetching(fetch: Callable[[FeedItem], Awaitable[Page | FetchError]],
                                 items: Sequence[tuple[FeedItem, bool]], profile: Profile, fetched_on: date,
                                 workers: int | None = None) -> list[ItemOutcome]:
    """Fetch (item, last_attempt) pairs with `fetch` (all at once: the fetcher's own limits pace them) and
    extract and judge them, in order; a chunk goes to the worker pool as soon as its pages are in, so the
    workers extract while the rest of the batch is still being fetched. The same outcomes as fetching
    everything, then process()."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    tasks = [asyncio.ensure_future(fetch(item)) for item, _ in items]
    if workers <= 1 or len(items) < PARALLEL_MIN_ITEMS:
        results = await asyncio.gather(*tasks)
        return process([Fetched(item, r, last) for (item, last), r in zip(items, results, strict=True)],
                       profile, fetched_on, workers)
    size = max(1, len(items) // (workers * 4))
    loop = asyncio.get_running_loop()
    fetched: list[Fetched] = []
    futures = []
    try:
        pool = start_workers(workers)
        for start in range(0, len(items), size):
            results = await asyncio.gather(*tasks[start:start + size])
            chunk = [Fetched(item, r, last) for (item, last), r in zip(items[start:start + size], results, strict=True)]
            fetched += chunk
            futures.append(loop.run_in_executor(pool, _process_chunk, (chunk, profile, fetched_on)))
        return [outcome for part in await asyncio.gather(*futures) for outcome in part]
    except (BrokenProcessPool, OSError) as e:  # no processes to be had here: slower, but the same result
        shutdown_workers()
        log.warning("worker processes failed (%s); judging this batch in one process", e)
        results = await asyncio.gather(*tasks)
        return [process_one(Fetched(item, r, last), profile, fetched_on)
                for (item, last), r in zip(items, results, strict=True)]
