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

import logging
import os
from collections.abc import Sequence
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


def process(fetched: Sequence[Fetched], profile: Profile, fetched_on: date,
            workers: int | None = None) -> list[ItemOutcome]:
    """Extract and judge a batch, in order; on several cores for a large batch (extraction is CPU-bound)."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1 or len(fetched) < PARALLEL_MIN_ITEMS:
        return [process_one(f, profile, fetched_on) for f in fetched]
    size = max(1, len(fetched) // (workers * 4))
    chunks = [(list(fetched[i:i + size]), profile, fetched_on) for i in range(0, len(fetched), size)]
    # spawn, not fork: the parent runs Prefect's threads and event loop, which fork would copy half-alive
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            return [outcome for part in pool.map(_process_chunk, chunks) for outcome in part]
    except (BrokenProcessPool, OSError) as e:  # no processes to be had here: slower, but the same result
        log.warning("worker processes failed (%s); judging this batch in one process", e)
        return [process_one(f, profile, fetched_on) for f in fetched]
