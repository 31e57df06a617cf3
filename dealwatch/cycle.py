"""The stages of one monitoring cycle that need neither Prefect nor the network: from fetch results to
judged outcomes ready to store. flows/ wires these with the I/O edges (fetch, warehouse, alerts).

What becomes of an item (the failure policy, in one place):
  page fetched and text extracted  -> article judged from the page
  page fetched, no usable text     -> article judged from the feed's summary, marked text_source='feed'
  permanent fetch error (404, pdf, too large, unsafe address, ...) -> the same feed-summary stand-in
  transient fetch error (timeout, 5xx, 429, connect) -> no article yet: retried in a later cycle with
                                      backoff; on its last attempt, the feed-summary stand-in
  not tried (its host did not resolve or refused earlier in the cycle) -> waits for the next cycle, no
                                      attempt counted
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import pickle
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
import io
import multiprocessing
from multiprocessing import forkserver, get_context, popen_forkserver, reduction, spawn
from multiprocessing import util as mp_util
from multiprocessing.context import BaseContext, ForkServerContext, ForkServerProcess, set_spawning_popen
from typing import TypeVar

from dealwatch import cluster
from dealwatch.dedup import content_hash, text_fingerprint
from dealwatch.extract import ExtractionError, article_from_feed, detect_language, extract_article
from dealwatch.feeds import ParsedFeed, parse_feed
from dealwatch.fetch import FetchError, HostSkipped
from dealwatch.judge import judge
from dealwatch.model import Article, FeedItem, Page
from dealwatch.profile import Profile
from dealwatch.warehouse import ItemOutcome

log = logging.getLogger(__name__)
T = TypeVar("T")
PARALLEL_MIN_ITEMS = 24   # below this, starting worker processes costs more than it saves


@dataclass(frozen=True, slots=True)
class Fetched:
    """A queued item with what fetching it gave, and whether this was its last allowed attempt."""

    item: FeedItem
    result: Page | FetchError
    last_attempt: bool = False


def process_one(fetched: Fetched, profile: Profile, fetched_on: date) -> ItemOutcome:
    """What becomes of one fetched item (the failure policy: see the module's doc)."""
    return process_pages([fetched], profile, fetched_on)[0]


def process_pages(fetched: Sequence[Fetched], profile: Profile, fetched_on: date) -> list[ItemOutcome]:
    """process_one of each item, in order, done stage by stage: the text of every page, then the language
    of every article, then every judgment, then the hashes, instead of each page through all the stages in
    turn. The same outcomes; what it buys is the CPU's caches: a stage's tables (the language model's 39 MB
    automaton, the judgment's patterns and memos) stay cached from one page to the next instead of being
    evicted by the other stages'. Page by page, language id cost 0.8-0.9 ms a page against 0.4-0.5 in a loop
    of its own. Measured on the benchmark's plain cycle (1000 pages, this and the page-by-page code
    alternately, 6 rounds on a busy machine): the workers' CPU 7.5-8.9 s against 7.9-9.2 s, lower in every
    round (median ratio 0.88); in a pool of workers with no cycle beside them on the cores, no difference.
    A failure in any stage is that item's alone (a transient "processing failed" outcome, retried later)."""
    outcomes: list[ItemOutcome | None] = [None] * len(fetched)
    going: dict[int, tuple[Article, str | None]] = {}   # by position: the article to judge, its fetch error
    for i, f in enumerate(fetched):
        try:
            got = _article_of(f, fetched_on)
        except Exception as e:
            outcomes[i] = _failed(f.item, e)
            continue
        if isinstance(got, ItemOutcome):
            outcomes[i] = got
        else:
            going[i] = got
    for i, (article, fetch_error) in list(going.items()):
        if article.text_source == "page":   # (a feed's stand-in has its language already)
            try:
                going[i] = dataclasses.replace(article, lang=detect_language(article.text)), fetch_error
            except Exception as e:
                outcomes[i] = _failed(fetched[i].item, e)
                del going[i]
    judgments = {}
    for i, (article, _) in going.items():
        try:
            judgments[i] = judge(article, profile)
        except Exception as e:
            outcomes[i] = _failed(fetched[i].item, e)
    for i, judgment in judgments.items():
        article, fetch_error = going[i]
        try:
            hashes = {}
            if article.text_source == "page":
                hashes = {"content_hash": content_hash(article.text), "fingerprint": text_fingerprint(article.text)}
            outcomes[i] = ItemOutcome(item=fetched[i].item, article=article, judgment=judgment,
                                      fetch_error=fetch_error, **hashes)
        except Exception as e:
            outcomes[i] = _failed(fetched[i].item, e)
    return outcomes


def _article_of(fetched: Fetched, fetched_on: date) -> ItemOutcome | tuple[Article, str | None]:
    """An item's article to judge (with the fetch error a feed-summary stand-in is stored with), or its
    outcome when there is nothing to judge yet. A page's article comes without its language (see
    process_pages)."""
    item, result = fetched.item, fetched.result
    if isinstance(result, HostSkipped):
        return ItemOutcome(item=item, fetch_error=str(result), transient=True, untried=True)
    if isinstance(result, FetchError):
        if result.transient and not fetched.last_attempt:
            return ItemOutcome(item=item, fetch_error=str(result), transient=True,
                               retry_after=getattr(result, "retry_after", None))
        return article_from_feed(item, fetched_on), str(result)
    try:
        return extract_article(result, item, fetched_on, language=False), None
    except ExtractionError as e:
        return article_from_feed(item, fetched_on), f"{result.final_url}: {e}"


def _failed(item: FeedItem, error: Exception) -> ItemOutcome:
    """A bug in extraction or judgment must not cost the cycle: the item is retried later."""
    log.exception("processing %s failed", item.link)
    return ItemOutcome(item=item, fetch_error=f"processing failed: {type(error).__name__}: {error}", transient=True)


def _process_chunk(args: tuple[list[Fetched], Profile | bytes, date]) -> list[ItemOutcome]:
    chunk, profile, fetched_on = args
    if isinstance(profile, bytes):
        profile = _profile_of(profile)
    return process_pages(chunk, profile, fetched_on)


@lru_cache(maxsize=4)
def _profile_of(pickled: bytes) -> Profile:
    """A worker job's profile, unpickled once per worker: one object for all of a cycle's jobs, so that what
    the judgment derives from a profile (compiled patterns, caches) is derived once, not once per job."""
    return pickle.loads(pickled)


WORKER_GC_THRESHOLD = 10_000   # young objects between collections in a worker (Python's default: 700)


def _warm_worker() -> None:
    """The heavy imports and lazy models, before the first chunk arrives: once in the fork server (its
    workers inherit them), else in each new worker. And fewer garbage collections: a worker's garbage (parse
    trees, matches, the judgment's records) is freed by reference counting as each page is done, yet at
    Python's default threshold the collector ran ~60 times per 300 pages, and once over the whole heap (the
    language model, the profile), 3.4% of the work; at WORKER_GC_THRESHOLD, 0.7% (measured, gc.callbacks)."""
    import gc
    gc.set_threshold(WORKER_GC_THRESHOLD, 10, 10)
    from dealwatch.extract import detect_language
    detect_language("warm up the language model")


def _nothing() -> None:
    return None


WORKER_PRELOAD = "dealwatch._worker_preload"


class _WorkerPopen(popen_forkserver.Popen):
    """The fork server's Popen of Python 3.11 (pyproject pins it), but for one thing: the new process is not
    told to run this process's main module again. Python 3.11's fork server never preloads __main__ (it
    looks for a 'main_path' that spawn.get_preparation_data does not give), so every worker ran it as
    __mp_main__: under a Prefect runner, whose main module is prefect.engine, that is all of Prefect (with
    a main module that imports it, measured: 1.1-1.2 s before a worker took its first job, instead of
    12-17 ms; meanwhile the feeds were parsed in this process). A worker's jobs
    are dealwatch functions, found by module name: they need nothing from __main__."""

    def _launch(self, process_obj):
        prep_data = {key: value for key, value in spawn.get_preparation_data(process_obj._name).items()
                     if key not in ("init_main_from_path", "init_main_from_name")}
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        _parent_w = os.dup(w)   # the parent's sentinel for the child, as in popen_forkserver
        self.finalizer = mp_util.Finalize(self, mp_util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _WorkerProcess(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):
        return _WorkerPopen(process_obj)


class _WorkerContext(ForkServerContext):
    Process = _WorkerProcess


def _worker_context() -> BaseContext:
    """How worker processes start. Never fork from here: the parent runs Prefect's threads and event loop,
    which fork would copy half-alive. forkserver where there is one: a clean server process, started once
    in this process's life, imports the workers' modules and loads the language model once (WORKER_PRELOAD),
    and every worker is forked from it ready (_WorkerPopen), instead of a fresh interpreter (spawn) spending
    ~1.5 s of CPU on the same imports in each worker of each cycle."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return get_context("spawn")
    context = _WorkerContext()
    context.set_forkserver_preload([WORKER_PRELOAD])
    return context


def prepare_workers() -> None:
    """Start the worker pool's fork server now, in the background, for a cycle that will likely need
    workers: its imports and models (~1 s of CPU, once per process) then take a core that is idle anyway
    (the command line calls this first, while Prefect starts; a cycle calls it again, in case), instead of
    delaying the first worker. fork_server_ready() tells when it is up."""
    global _PREPARING
    if cluster.scheduler_address() is not None:   # the work goes to a Dask cluster: no local workers
        return
    if (os.cpu_count() or 1) <= 1 or _worker_context().get_start_method() != "forkserver":
        return
    with _PREPARE_LOCK:
        if _FORK_SERVER_UP.is_set() or (_PREPARING is not None and _PREPARING.is_alive()):
            return
        _PREPARING = threading.Thread(target=_start_fork_server, name="dealwatch-forkserver", daemon=True)
        _PREPARING.start()


_FORK_SERVER_UP = threading.Event()
_PREPARE_LOCK = threading.Lock()
_PREPARING: threading.Thread | None = None


def _start_fork_server() -> None:
    try:
        probe = _worker_context().Process(target=_nothing, name="dealwatch-forkserver-probe", daemon=True)
        probe.start()   # returns once the fork server has imported WORKER_PRELOAD and forked it
        probe.join()
        _FORK_SERVER_UP.set()
    except (OSError, RuntimeError) as e:   # no processes here: the pool says so when a cycle needs it
        log.debug("fork server not started: %s", e)


def fork_server_ready() -> bool:
    """Whether prepare_workers() has the fork server up: new workers then start in ~10 ms each."""
    return _FORK_SERVER_UP.is_set()


def workers_likely(last_run_articles: int | None) -> bool:
    """Whether a cycle will likely need worker processes, from how many articles the last one stored (None: a
    first cycle)."""
    return last_run_articles is None or last_run_articles >= PARALLEL_MIN_ITEMS


# One pool of worker processes per cycle, not per batch: even forked from the fork server, a worker
# unpickles the profile and warms its caches once; idle between cycles, it would hold ~100 MB.
_POOL: ProcessPoolExecutor | None = None
_POOL_WORKERS = 0
_POOL_STARTED: list = []   # a no-op job per worker, done once that worker is up


def start_workers(workers: int | None = None) -> ProcessPoolExecutor | cluster.ClusterPool | None:
    """The cycle's worker pool, started now if it is not running yet (its workers then start in the
    background while the caller goes on fetching); None when there is only one core. With a Dask scheduler
    configured, the cluster instead (dealwatch.cluster: the same submit and map; ClusterUnreachable if it
    does not answer)."""
    global _POOL, _POOL_WORKERS, _POOL_STARTED
    remote = cluster.pool()
    if remote is not None:
        return remote
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1:
        return None
    if _POOL is None or _POOL_WORKERS != workers:
        shutdown_workers()
        _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context(), initializer=_warm_worker)
        _POOL_WORKERS, _POOL_STARTED = workers, []
        # every worker now, not when the first chunk comes; from a thread, since starting one blocks until
        # the fork server has imported everything (~1 s the first time), and the caller goes on fetching
        threading.Thread(target=_spawn_all, args=(_POOL, workers, _POOL_STARTED), name="dealwatch-workers",
                         daemon=True).start()
    return _POOL


def _spawn_all(pool: ProcessPoolExecutor, workers: int, started: list) -> None:
    try:
        for _ in range(workers):
            started.append(pool.submit(_nothing))
    except (RuntimeError, BrokenProcessPool, OSError) as e:   # shut down meanwhile, or no processes here:
        log.debug("worker pool not started: %s", e)              # the chunks' own submissions say so


def _workers_up() -> ProcessPoolExecutor | None:
    """The cycle's pool when all its workers are up and answering (a job then waits for none to start)."""
    if cluster.running_pool() is not None:
        return cluster.running_pool()
    pool, started = _POOL, _POOL_STARTED
    if pool is None or len(started) < _POOL_WORKERS:
        return None
    if all(f.done() and not f.cancelled() and f.exception() is None for f in started):
        return pool
    return None


async def parse_feed_in_workers(feed_url: str, body: bytes, content_type: str | None,
                                base_url: str | None = None) -> ParsedFeed:
    """parse_feed, in the cycle's worker pool when its workers are up, else here: feedparser costs ~4.5 ms of
    CPU for a feed of ten entries, and a hundred feeds then parse on every core instead of one, while this
    process goes on polling. The same ParsedFeed either way. Not on a Dask cluster: a job there costs more CPU
    than the parse (this process ~2 ms, the scheduler ~2.2 ms, the worker ~0.8 ms besides it, with the
    benchmark's 5.6 KB feeds); `benchmarks/run.py --cluster-only --repeat 5` on a quiet machine, 2026-12-07:
    the cluster's cycle +29 % best against best (median +19 %) with the feeds on it, -0.7 % (median -1 %)
    with the feeds parsed here."""
    pool = _workers_up()
    if pool is not None and not isinstance(pool, cluster.ClusterPool):
        try:
            return await asyncio.wrap_future(pool.submit(parse_feed, feed_url, body, content_type, base_url=base_url))
        except (BrokenProcessPool, RuntimeError, cluster.ClusterLost) as e:   # RuntimeError: shut down meanwhile
            log.debug("feed parsed here, the worker pool is gone: %s", e)
    return parse_feed(feed_url, body, content_type, base_url=base_url)


def shutdown_workers(terminate: bool = False) -> None:
    """Stop the worker pool (at the end of a cycle: idle workers would hold ~100 MB each). terminate: a cycle
    that is stopping (SIGTERM, an error) does not wait for the jobs the workers are running (a stretch of
    extraction can take seconds on a busy machine); they are judged again by the next cycle."""
    global _POOL, _POOL_WORKERS, _POOL_STARTED
    cluster.close()
    pool, _POOL, _POOL_WORKERS, _POOL_STARTED = _POOL, None, 0, []
    if pool is None:
        return
    if terminate:
        # ProcessPoolExecutor has no public way to stop busy workers before Python 3.14 (terminate_workers)
        for worker in list((getattr(pool, "_processes", None) or {}).values()):
            worker.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def process(fetched: Sequence[Fetched], profile: Profile, fetched_on: date,
            workers: int | None = None) -> list[ItemOutcome]:
    """Extract and judge a batch, in order; on several cores for a large batch (extraction is CPU-bound).
    Uses the cycle's worker pool (start_workers), started here if needed and left running for the next
    batch: whoever runs the cycle calls shutdown_workers() at its end."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    remote = cluster.pool() if len(fetched) >= PARALLEL_MIN_ITEMS else None
    workers = remote.workers if remote is not None else workers
    if (workers <= 1 and remote is None) or len(fetched) < PARALLEL_MIN_ITEMS:
        return process_pages(fetched, profile, fetched_on)
    size = max(1, len(fetched) // (workers * 4))
    pickled = pickle.dumps(profile)
    chunks = [(list(fetched[i:i + size]), pickled, fetched_on) for i in range(0, len(fetched), size)]
    try:
        pool = start_workers(workers)
        jobs = [pool.submit(_process_chunk, chunk) for chunk in chunks]
        return [outcome for chunk, job in zip(chunks, jobs) for outcome in _chunk_outcomes(pool, chunk, job)]
    except (BrokenProcessPool, OSError) as e:  # no processes to be had here: slower, but the same result
        shutdown_workers()
        log.warning("worker processes failed (%s); judging this batch in one process", e)
        return process_pages(fetched, profile, fetched_on)


def _chunk_outcomes(pool, chunk: tuple, job) -> list[ItemOutcome]:
    try:
        return job.result()
    except cluster.ChunkKillsWorkers as e:
        return _one_page_a_job(pool, *chunk, e)


def _one_page_a_job(pool, chunk: list[Fetched], pickled: bytes, fetched_on: date,
                    killed: cluster.ChunkKillsWorkers) -> list[ItemOutcome]:
    """A chunk whose Dask job kept losing its worker (a page that crashes the process: a native library's
    fault, memory): its pages again, each a job of its own, one after the other (a page's job then never
    waits on a worker behind the poison page's, and dies with it), so that the others are judged now; a page
    whose own job kills worker after worker is left for a later cycle (a transient failure, with its reason:
    the warehouse retries it with backoff and parks it after its item_max_attempts) instead of killing
    workers on every cycle for ever. ClusterLost of a page's job (the scheduler gone) ends the batch as usual."""
    log.warning("%s; judging its %d pages one job each", killed, len(chunk))
    outcomes: list[ItemOutcome] = []
    for f in chunk:
        try:
            outcomes += pool.submit(_process_chunk, ([f], pickled, fetched_on)).result()
        except cluster.ChunkKillsWorkers as e:
            log.warning("processing %s kills Dask workers; left for a later cycle", f.item.link)
            outcomes.append(ItemOutcome(item=f.item, transient=True, fetch_error=(
                f"processing this page killed its Dask worker every time it ran ({e}); retried in a later cycle, "
                f"parked after the item's last attempt")))
    return outcomes


CHUNK_MAX = 20   # pages per worker job: small, so that stores follow extraction closely and the pool drains
                 # quickly at a batch's end; a job's own cost (pickling, a pipe round trip) is ~1% of its pages'
CLUSTER_CHUNK_MAX = 40   # on a Dask cluster, where a job of 20 pages (700 KB) costs ~10 ms of CPU between this
                         # process, the scheduler and the worker (measured), ~5% of its pages' work: half as many
CHUNK_MIN = 2    # the last jobs of a batch: see _chunk_spans


STORE_EVERY = 200  # outcomes per store: a store's ~10 statements cost 30-60 ms of CPU whatever its size (and
                   # with a connection of its own, as outside a session, 45-85 ms more to open the file and
                   # checkpoint it when closing); a crash loses at most ~2 stores' worth of outcomes


def _chunk_spans(items: int, workers: int, most: int = CHUNK_MAX) -> list[tuple[int, int]]:
    """A batch's worker jobs, as (start, end) of its items: `most` pages each while many remain, then
    at most a 1/(3 x workers) share of what remains (down to CHUNK_MIN pages), so that the workers finish
    together: a job of 20 pages is ~0.15 s of one worker, during which the other, done, would wait."""
    spans, start = [], 0
    while start < items:
        size = max(CHUNK_MIN, min(most, (items - start) // (workers * 3)))
        spans.append((start, min(items, start + size)))
        start += size
    return spans


async def judged_while_fetching(fetch: Callable[[FeedItem], Awaitable[Page | FetchError]],
                                items: Sequence[tuple[FeedItem, bool]], profile: Profile, fetched_on: date,
                                workers: int | None = None) -> AsyncIterator[list[ItemOutcome]]:
    """Fetch (item, last_attempt) pairs with `fetch` (all at once: the fetcher's own limits pace them), extract
    and judge them; yields the outcomes in input order, a stretch at a time, as soon as each is ready. A stretch
    goes to the worker pool as soon as its pages are in, so the workers extract while the rest is fetched. The
    same outcomes as fetching everything, then process()."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    tasks = [asyncio.ensure_future(fetch(item)) for item, _ in items]

    async def fetched(start: int, end: int) -> list[Fetched]:
        results = await asyncio.gather(*tasks[start:end])
        return [Fetched(item, r, last) for (item, last), r in zip(items[start:end], results, strict=True)]

    jobs: deque[tuple[list[Fetched], asyncio.Future | None]] = deque()
    try:
        pool = None
        if (workers > 1 or cluster.scheduler_address()) and len(items) >= PARALLEL_MIN_ITEMS:
            try:
                pool = start_workers(workers)
            except OSError as e:
                log.warning("no worker processes (%s); judging in this process", e)
        most = CHUNK_MAX
        if isinstance(pool, cluster.ClusterPool):   # chunks sized for the cluster's workers
            workers, most = pool.workers, CLUSTER_CHUNK_MAX
        pickled = pickle.dumps(profile)
        for start, end in _chunk_spans(len(items), workers, most):
            chunk = await fetched(start, end)
            job = None
            if pool is not None:
                try:
                    job = await _submit(pool, (chunk, pickled, fetched_on))
                except (BrokenProcessPool, RuntimeError, OSError) as e:
                    _pool_failed(e)
                    pool = None
            jobs.append((chunk, job))
            while jobs and (jobs[0][1] is None or jobs[0][1].done()):
                chunk, job = jobs.popleft()
                outcomes, pool = await _outcomes(chunk, job, pool, profile, pickled, fetched_on)
                yield outcomes
        while jobs:
            chunk, job = jobs.popleft()
            outcomes, pool = await _outcomes(chunk, job, pool, profile, pickled, fetched_on)
            yield outcomes
    finally:
        for t in tasks:   # the consumer stopped early (an error): no fetch goes on alone
            t.cancel()
        for _, job in jobs:   # nor a chunk (and its failure, as when the cluster is lost, is not left unread)
            if job is not None:
                job.cancel()


async def _submit(pool: ProcessPoolExecutor, job: tuple) -> asyncio.Future:
    """A chunk handed to the pool; submitting from a thread, since it blocks while workers start, and the
    event loop meanwhile goes on fetching."""
    return asyncio.wrap_future(await asyncio.to_thread(pool.submit, _process_chunk, job))


async def _outcomes(chunk: list[Fetched], job: asyncio.Future | None, pool, profile: Profile, pickled: bytes,
                    fetched_on: date) -> tuple[list[ItemOutcome], ProcessPoolExecutor | None]:
    """A chunk's outcomes from its worker job (None: judged here) and the pool for the next chunks: the same
    (the local pool or the cluster's; not the local pool's global, None with a cluster, which sent every
    later chunk of a batch to this process); when the pool broke, judged here, and the pool is gone for the
    rest of the batch. A chunk that kept killing its Dask workers: see _one_page_a_job."""
    if job is not None:
        try:
            return await job, pool
        except cluster.ChunkKillsWorkers as e:
            return await asyncio.to_thread(_one_page_a_job, pool, chunk, pickled, fetched_on, e), pool
        except (BrokenProcessPool, OSError) as e:
            _pool_failed(e)
    return _process_chunk((chunk, profile, fetched_on)), None


def _pool_failed(error: Exception) -> None:
    """No worker processes to be had: the rest of the batch is judged here, slower but the same result."""
    shutdown_workers()
    log.warning("worker processes failed (%s); judging the rest of this batch in one process", error)


async def judge_and_store(fetch: Callable[[FeedItem], Awaitable[Page | FetchError]],
                          items: Sequence[tuple[FeedItem, bool]], profile: Profile, fetched_on: date,
                          store: Callable[[list[ItemOutcome]], T], workers: int | None = None) -> list[T]:
    """judged_while_fetching, with the outcomes stored as they come: `store` runs in a thread (the warehouse
    blocks) while the rest is fetched and judged, one store at a time, in input order, each of at least
    STORE_EVERY outcomes (all that became ready meanwhile). But for the last STORE_EVERY / 2 of a larger
    batch: those are stored as they come, whenever no store is running, so that what is left to store once
    the last page is judged is only what came during one store (that last store is the batch's serial end:
    0.15-0.25 s for 200 outcomes, ~0.1 s for a few dozen, measured when each store opened the file). Not
    earlier: a store costs tens of ms of CPU whatever its size (STORE_EVERY), taken from the workers while
    they are busy. A smaller batch is stored at its end.
    A crash loses only what was not stored yet: those items stay queued for the next cycle. The results of
    `store`, in order."""
    stored: list[T] = []
    ready: list[ItemOutcome] = []
    writing: asyncio.Future | None = None
    left = len(items)   # outcomes still to come
    trailing = STORE_EVERY // 2 if len(items) > STORE_EVERY else 0   # stored as they come, once this few are left
    try:
        async for outcomes in judged_while_fetching(fetch, items, profile, fetched_on, workers):
            ready += outcomes
            left -= len(outcomes)
            if writing is not None and writing.done():
                stored.append(writing.result())
                writing = None
            if writing is None and ready and (len(ready) >= STORE_EVERY or left < trailing):
                writing, ready = asyncio.ensure_future(asyncio.to_thread(store, ready)), []
        if writing is not None:
            stored.append(await writing)
            writing = None
        if ready:
            stored.append(await asyncio.to_thread(store, ready))
    finally:
        if writing is not None and not writing.done():
            await asyncio.wait([writing])   # never leave a transaction half-way when judging failed
    return stored
