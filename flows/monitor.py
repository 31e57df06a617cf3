"""The monitoring cycle as a Prefect flow: wiring only. The stages live in the dealwatch package.

    poll feeds -> queue new entries (with the feeds' validators) -> per batch: fetch pages, extract,
    judge, store (articles, facts, outbox), emit events for its new facts once another batch follows
    -> deliver the outbox -> the run's final state -> the last batch's events (its hook)

Work is batched (a task per batch of articles, not per article: each task run costs the Prefect
server a write). Flow parameters hold no secrets: notification URLs are SecretStr, which Prefect
stores obfuscated.

The flow and its network tasks are async. Prefect's sync flow engine joins its heartbeat thread when a
run ends, and that thread sleeps in steps of one second: every sync run ended 0-1 s late (0.5 s on
average, measured), the async engine does not wait for it. The stages themselves are asyncio already
(httpx); the warehouse and the alerts' delivery are blocking calls made from the flow, briefly.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from prefect import flow, get_run_logger, task
from prefect.exceptions import MissingContextError, TerminationSignal
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NONE
from prefect.events import emit_event
from prefect.runtime import flow_run
from pydantic import SecretStr

from dealwatch import alerts as alerting
from dealwatch import cluster
from dealwatch.delivery import DestinationChange, deliver_outbox
from dealwatch.errors import ShardsFailed
from dealwatch.cycle import (PARALLEL_MIN_ITEMS, fork_server_ready, judge_and_store, parse_feed_in_workers,
                             prepare_workers, shutdown_workers, start_workers, workers_likely)
from dealwatch.fetch import FetchError, FetchSettings, fetch_page, new_client, poll_feeds, resolve_news_links
from dealwatch.model import Alert, FeedItem
from dealwatch.profile import load_profile
from dealwatch.shards import Shard, all_shards, parse_shard
from dealwatch.urls import google_news_id
from dealwatch.warehouse import StoreResult, Warehouse, utcnow

SHARD_DEPLOYMENT = "dealwatch-monitor/shard"   # the deployment a sharded cycle runs its shards as
SHARD_POLL_SECONDS = 2.0   # how often a sharded cycle asks whether its shard runs have ended
BATCH_SIZE = 1000   # items per task run; within a batch, outcomes are stored a stretch at a time as they come
STORE_SESSION_SECONDS = 5.0   # a batch's stores share one warehouse connection, closed after this long (see
                              # Warehouse.session): a reader waits for the file at most about this long


@dataclass
class CycleReport:
    """What one cycle did; printed by the command line and kept in the runs table."""

    run_id: str = ""
    shard: str | None = None   # "K/N" (dealwatch.shards), None for a cycle of every feed
    feeds_polled: int = 0
    feeds_failed: int = 0
    feeds_skipped: int = 0
    feeds_not_due: int = 0   # (only_due) not due yet by their own clock
    items_new: int = 0
    articles_new: int = 0
    relevant_new: int = 0
    facts_new: int = 0
    duplicates: int = 0
    retry_later: int = 0
    parked: int = 0
    alerts_new: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    alerts_waiting: int = 0
    feed_errors: list[str] = field(default_factory=list)
    new_items: list[str] = field(default_factory=list)   # "bidder Amazon", "deadline 2025-04-05"
    # the CPU work on a Dask cluster: its address, and per worker the pages it judged and its jobs by kind
    # ({"w0": {"items": 500, "_process_chunk": 26, "parse_feed": 50}}); empty on the local pool
    dask: dict = field(default_factory=dict)

    def add(self, stored: StoreResult) -> None:
        for name in StoreResult.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(stored, name))
        self.alerts_new += len(stored.alerts_new)
        self.new_items += [f"{a.kind} {a.value}" for a in stored.alerts_new]


def _logger():
    """The run's logger inside Prefect; a plain one when the stages run without the engine."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("dealwatch.cycle")


def from_config(config: str | None, **given) -> dict:
    """Flow parameters: those given, and for each one left None the value of the dealwatch.toml `config`,
    read now, in the run's own process. Deployments pass the file's path, so the secrets in it (notify
    URLs with ${ENV}) are resolved where the flow runs and never reach Prefect's database (a SecretStr
    parameter of a deployment would be stored as '**********' and lost). Given notify URLs and apprise
    config files are added to the config's."""
    defaults: dict = {"notify": [], "notify_configs": [], "fetch_options": {}, "digest_threshold": 10,
                      "notify_min_interval": None, "dask_scheduler": None, "data_path": None, "shards": 1}
    if config:
        from dealwatch.config import load_config
        c = load_config(config)
        defaults = {"db": str(c.warehouse), "feeds": list(c.feeds),
                    "notify": [SecretStr(u) for u in c.notify_urls],
                    "notify_configs": [str(p) for p in c.notify_configs],
                    "profile": str(c.profile) if c.profile else None, "fetch_options": dict(c.fetch),
                    "digest_threshold": c.digest_threshold, "notify_min_interval": c.notify_min_interval,
                    "dask_scheduler": c.dask_scheduler, "data_path": c.data_path, "shards": c.shards}
    out = {}
    for name, value in given.items():
        if name in ("notify", "notify_configs") and value is not None:
            value = [*defaults[name], *value]
        out[name] = defaults.get(name) if value is None else value
    if "db" in out and not out["db"]:
        raise ValueError("no warehouse: give db or a config")
    return out


@task(name="poll feeds", cache_policy=NONE)
async def poll_and_queue(db: str, feeds: list[str], fetch_options: dict, only_due: bool = False,
                         clock: Callable[[], datetime] | None = None, tick: float | None = None) -> CycleReport:
    """Poll the feeds (conditional GET) and queue their new entries with their new validators: every feed that
    allows it now, or only_due, only those due by their own clock (dealwatch.schedule). clock: what time it
    is, as naive UTC (default: utcnow; a simulation's in benchmarks/run.py --freshness). The next polls are
    counted from after the answers came, so that a max-age or ttl is never cut short. tick: the seconds
    between only_due cycles (see Warehouse.feeds_to_poll)."""
    logger = _logger()
    report = CycleReport()
    warehouse = Warehouse(db)
    clock = clock or utcnow
    due, skipped = warehouse.feeds_to_poll(feeds, now=clock(), only_due=only_due, tick=tick)
    report.feeds_skipped = len(skipped)
    report.feeds_not_due = len(set(feeds)) - len(due) - len(skipped)
    settings = FetchSettings.from_options(fetch_options)
    polls = await poll_feeds([(f.url, f.etag, f.last_modified) for f in due], settings, parse=parse_feed_in_workers)
    news_links = [i.link for p in polls if p.ok for i in p.items if google_news_id(i.link)]
    if news_links:   # newer Google News ids: the publisher's URL from Google's endpoint, each id once
        resolved = await resolve_news_links(polls, warehouse.known_news_links(news_links), settings)
        warehouse.record_news_links(resolved.decoded, resolved.errors)
        polls = resolved.polls
    new = warehouse.record_polls(polls, now=clock())   # one transaction: each feed's entries with its validators
    report.items_new = sum(new.values())
    for poll in polls:
        if not poll.ok or poll.error:
            report.feed_errors.append(f"{poll.feed_url}: {poll.error}")
            logger.warning("feed %s: %s", poll.feed_url, poll.error)
        if poll.ok and poll.warning:
            logger.info("feed %s read, but: %s", poll.feed_url, poll.warning)
        report.feeds_failed += not poll.ok
    report.feeds_polled = len(due)
    logger.info("polled %d feeds (%d failed, %d skipped, %d not due): %d new entries",
                len(due), report.feeds_failed, len(skipped), report.feeds_not_due, report.items_new)
    return report


class Batch:
    """Queued (item, attempts so far) pairs, passed to a task as ONE opaque parameter. Prefect walks the lists,
    tuples and dataclasses in a task's parameters, looking for futures to wait on: for 1,000 feed items that
    is ~0.5 s of CPU per task run, for nothing (a batch never holds a future)."""

    __slots__ = ("entries",)

    def __init__(self, entries):
        self.entries: list[tuple[FeedItem, int]] = list(entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"Batch({len(self.entries)} items)"


@task(name="fetch, judge and store a batch", cache_policy=NONE)
async def fetch_judge_store(db: str, batch: Batch, fetch_options: dict, profile_path: str | None, run_id: str,
                            max_attempts: int) -> StoreResult:
    """Fetch a batch of pages, extract and judge them, and store the outcomes as they come (a transaction
    per stretch, while the rest of the batch is still fetched and judged)."""
    settings = FetchSettings.from_options(fetch_options)
    warehouse = Warehouse(db)

    # one client for the batch (as fetch_pages); one warehouse connection for its stores, now and then released
    async with new_client(settings) as client:
        async def fetch(item):
            try:
                return await fetch_page(client, item)
            except FetchError as exc:
                return exc
        profile = load_profile(profile_path)
        with warehouse.session(release_after=STORE_SESSION_SECONDS):
            stored = StoreResult.combined(await judge_and_store(
                fetch, [(item, attempts + 1 >= max_attempts) for item, attempts in batch], profile, date.today(),
                lambda outcomes: warehouse.store_outcomes(outcomes, run_id=run_id, target_label=profile.label)))
    _logger().info("batch of %d: %d new articles, %d relevant, %d facts, %d alerts raised, %d to retry",
                   len(batch), stored.articles_new, stored.relevant_new, stored.facts_new,
                   len(stored.alerts_new), stored.retry_later)
    return stored


@task(name="deliver alerts", cache_policy=NONE)
def deliver_alerts(db: str, notify: list[SecretStr], notify_configs: list[str],
                   digest_threshold: int, min_interval: float | None = None,
                   target: str | None = None) -> dict[str, int]:
    """Send the outbox's due alerts (this cycle's and those still owed to a destination), destination by
    destination (dealwatch.delivery); an event for each destination that went down or came back. Each alert's
    message names the target it was raised under; target (the profile's label) those raised before that was
    stored."""
    report = {"alerts_sent": 0, "alerts_failed": 0, "alerts_waiting": 0}
    warehouse = Warehouse(db)
    urls = [u.get_secret_value() for u in notify]
    if not (urls or notify_configs):
        due = warehouse.claim_alerts()
        warehouse.release_alerts([a.id for a in due])
        report["alerts_waiting"] = len(due)
        return report
    notifier = alerting.Notifier(urls, notify_configs, min_interval=min_interval)
    delivered = deliver_outbox(warehouse, notifier, digest_threshold, target=target or alerting.DEFAULT_TARGET)
    report.update(alerts_sent=delivered.alerts_sent, alerts_failed=delivered.alerts_failed)
    logger = _logger()
    for change in delivered.changes:
        if change.state == "failing":
            logger.warning("notification destination %s is failing (its alerts wait for it): %s",
                           change.destination, change.error)
        else:
            logger.info("notification destination %s works again (failing since %s)", change.destination,
                        change.since)
        emit_destination_event(change)
    for destination in delivered.outages_reported:
        logger.warning("notification destination %s has been failing for over an hour: reported through the "
                       "others", destination)
    if delivered.alerts_failed:
        logger.warning("%d alerts not delivered everywhere yet (dealwatch alerts shows where and why)",
                       delivered.alerts_failed)
    return report


def emit_destination_event(change: DestinationChange) -> None:
    """dealwatch.destination.failing / dealwatch.destination.ok: a notification destination (masked URL, no
    secret) went down or came back; for Prefect automations and the event feed."""
    try:
        emit_event(event=f"dealwatch.destination.{change.state}",
                   resource={"prefect.resource.id": f"dealwatch.destination.{change.destination}",
                             "prefect.resource.name": change.destination},
                   payload={"destination": change.destination, "state": change.state,
                            "since": change.since.isoformat() if change.since else None, "error": change.error})
    except Exception as exc:   # outside a Prefect run (engine=False): the log line above says it
        logging.getLogger("dealwatch.cycle").debug("no event for %s: %s", change.destination, exc)


def emit_fact_events(new_alerts: list[Alert]) -> None:
    """dealwatch.bidder.new / dealwatch.deadline.new, with the fact as payload, for Prefect automations."""
    for alert in new_alerts:
        emit_event(event=f"dealwatch.{alert.kind}.new",
                   resource={"prefect.resource.id": f"dealwatch.{alert.kind}.{alert.value}",
                             "prefect.resource.name": alert.value},
                   payload={"kind": alert.kind, "value": alert.value, "evidence": alert.evidence,
                            "article_url": alert.article_url, "article_title": alert.article_title,
                            "detail": alert.detail, "alert_id": alert.id, "target": alert.target_label})


# A run's last batch of new facts, announced by announce_last_batch once the run has its final state: keyed
# by flow run id, filled by cycle() whatever happens to it
_LAST_BATCH: dict[str, list[Alert]] = {}


def announce_last_batch(flow, flow_run, state) -> None:
    """The flow run's hook on its final state (completed, failed, crashed or cancelled): the events of the
    cycle's last batch of new facts. Emitted before the final state, the ~2 ms each of the Prefect server's
    work of storing them delayed that state's API call, and with it the flow run's end, by 0.1-0.4 s
    (measured, 436 events); emit_event only queues them, sent in the background (and at exit at the latest).
    The parameters' names matter: Prefect's runner calls on_crashed hooks with keywords (flow, flow_run, state)."""
    emit_fact_events(_LAST_BATCH.pop(str(flow_run.id), []))


def cycle_markdown(report: CycleReport) -> str:
    lines = ["# dealwatch cycle", "", "| figure | value |", "| --- | --- |"]
    lines += [f"| {name.replace('_', ' ')} | {value} |" for name, value in asdict(report).items()
              if isinstance(value, int)]
    if report.new_items:
        lines += ["", "## New", ""] + [f"- {item}" for item in report.new_items]
    if report.feed_errors:
        lines += ["", "## Feed errors", ""] + [f"- {error}" for error in report.feed_errors]
    if report.dask:
        lines += ["", f"## Judged on the Dask cluster at {report.dask['scheduler']}", ""]
        lines += [f"- {name}: {w['items']} pages in {w.get('_process_chunk', 0)} chunks, {w.get('parse_feed', 0)} "
                  f"feeds parsed" for name, w in report.dask["workers"].items()]
    return "\n".join(lines)


# No flow_run_name: renaming a run costs an API call at its start (~40 ms measured), and Prefect's own names
# tell runs apart where "cycle-100-feeds" (or "cycle", under a deployment) named them all alike.
@flow(name="dealwatch-monitor", log_prints=False, validate_parameters=True,
      on_completion=[announce_last_batch], on_failure=[announce_last_batch], on_crashed=[announce_last_batch],
      on_cancellation=[announce_last_batch])
async def monitor(db: str | None = None, feeds: list[str] | None = None, notify: list[SecretStr] | None = None,
                  notify_configs: list[str] | None = None, profile: str | None = None,
                  fetch_options: dict | None = None, digest_threshold: int | None = None,
                  notify_min_interval: float | None = None, config: str | None = None,
                  dask_scheduler: str | None = None, only_due: bool = False, tick: float | None = None,
                  shard: str | None = None, shards: int | None = None,
                  shard_deployment: str = SHARD_DEPLOYMENT) -> dict:
    """One monitoring cycle over `feeds` into the DuckDB file `db`; returns the CycleReport as a dict.
    Parameters left None come from the config file `config` (see from_config); deployments use that.
    only_due: poll only the feeds due by their own clock (`dealwatch serve`'s short cycles); else every feed
    that allows it now (`dealwatch run`, a fixed cron). tick: the seconds between only_due cycles.
    dask_scheduler: the CPU work on that Dask cluster (dealwatch.cluster; else $DEALWATCH_DASK_SCHEDULER's,
    else the local worker pool).
    shard: 'K/N', poll only the feeds of shard K of N (dealwatch.shards), beside the other shards' cycles.
    shards: N > 1 and no shard: this run starts the N shard runs at once, as runs of the deployment
    `shard_deployment` (on its work pool: any worker, any machine), waits for them and sums their figures
    (None: the config's [scale] shards, else 1).
    Async: from synchronous code, asyncio.run(monitor(...))."""
    p = from_config(config, db=db, feeds=feeds, notify=notify, notify_configs=notify_configs, profile=profile,
                    fetch_options=fetch_options, digest_threshold=digest_threshold,
                    notify_min_interval=notify_min_interval, dask_scheduler=dask_scheduler, data_path=None,
                    shards=shards)
    part = parse_shard(shard)
    if part is None and p["shards"] != 1:
        if notify:
            raise ValueError("shards: notification URLs given as parameters would reach the shard runs as "
                             "'**********': give them in the config file (the `config` parameter)")
        given = {"db": db, "feeds": feeds, "notify_configs": notify_configs, "profile": profile,
                 "fetch_options": fetch_options, "digest_threshold": digest_threshold,
                 "notify_min_interval": notify_min_interval, "config": config, "dask_scheduler": dask_scheduler,
                 "only_due": only_due or None, "tick": tick}
        return await run_shards(p["db"], all_shards(p["shards"]), {k: v for k, v in given.items() if v is not None},
                                shard_deployment)
    cluster.use_cluster(p["dask_scheduler"])
    # a lake's data directory from the config ([warehouse] data_path): a deployment's first run creates the lake
    warehouse = Warehouse(p["db"], data_path=p["data_path"]) if p["data_path"] else Warehouse(p["db"])
    with warehouse.cycle_lock(part), sigterm_stops_the_cycle():
        return await cycle(warehouse, p["feeds"] or [], p["notify"], p["notify_configs"], p["profile"],
                           p["fetch_options"], p["digest_threshold"], notify_min_interval=p["notify_min_interval"],
                           only_due=only_due, tick=tick, shard=part)


async def run_shards(db: str, shards: list[Shard], params: dict, deployment: str) -> dict:
    """The shard runs of one cycle, all at once, as flow runs of `deployment` with the parameter shard (each
    holds its own shard's cycle lock: a shard still running from the last cycle makes its new run fail
    with 'another dealwatch cycle is running', the others go on). Waits for all of them; their figures,
    summed from the warehouse's runs rows (a run's return value stays in the process that ran it, maybe
    on another machine). ShardsFailed names those that did not complete."""
    from prefect.deployments.flow_runs import arun_deployment
    from prefect.exceptions import ObjectNotFound

    parent = str(flow_run.id or "")
    try:
        runs = await asyncio.gather(*(
            arun_deployment(deployment, parameters={**params, "shard": str(s)}, timeout=None,
                            poll_interval=SHARD_POLL_SECONDS,
                            idempotency_key=f"{parent}:shard-{s.index}-of-{s.count}" if parent else None)
            for s in shards))
    except ObjectNotFound:
        raise ValueError(f"shards: no deployment {deployment!r} to run the shards: deploy it (deployments/"
                         f"prefect.yaml, or `dealwatch serve --shards N`) or give shard_deployment") from None
    report = CycleReport(run_id=parent, shard=f"{len(shards)} shards")
    ids = [str(r.id) for r in runs]
    columns = ("feeds_polled", "feeds_failed", "articles_new", "relevant_new", "facts_new", "alerts_new",
               "alerts_sent", "alerts_failed")
    warehouse = Warehouse(db)
    _, figures = warehouse.query(f"SELECT {', '.join(f'coalesce(sum({c}), 0)' for c in columns)} FROM runs "
                                 f"WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
    vars(report).update(zip(columns, (int(v) for v in figures[0])))
    _, raised = warehouse.query("SELECT kind || ' ' || value FROM alerts WHERE run_id IN "
                                "(SELECT unnest(?::VARCHAR[])) ORDER BY id", [ids])
    report.new_items = [item for (item,) in raised]
    failed = [f"shard {s}: {r.state.type.value if r.state else 'no state'}"
              f"{f' ({r.state.message})' if r.state and r.state.message else ''}"
              for s, r in zip(shards, runs, strict=True) if not (r.state and r.state.is_completed())]
    _logger().info("%d shard runs: %d completed; %d new articles, %d facts, %d alerts raised", len(shards),
                   len(shards) - len(failed), report.articles_new, report.facts_new, report.alerts_new)
    if failed:
        raise ShardsFailed(f"{len(failed)} of {len(shards)} shard runs did not complete (the others' work is "
                           f"stored; the next cycle does theirs): " + "; ".join(failed))
    return asdict(report)


_IN_SYNC_STAGE = threading.Event()   # set while the cycle blocks the event loop (the delivery)


@contextmanager
def sigterm_stops_the_cycle() -> Iterator[None]:
    """SIGTERM (what `dealwatch serve` and systemd send) stops the cycle where it is, cleanly, within a second
    or two at any stage; then the flow run ends as Prefect's own handling of SIGTERM ends it (a
    TerminationSignal: Crashed, "aborted by a termination signal").

    Prefect's handler raises TerminationSignal wherever the main thread happens to be; in the event loop that
    is often inside httpx's or anyio's code, which turned it into an "unexpected RuntimeError" of one feed's
    poll (seen: the cycle went on and completed). Here, while the cycle awaits, SIGTERM cancels its task
    (CancelledError at its await: every stage gives back what it holds, the run is recorded 'interrupted');
    while it blocks the loop (the delivery, sync) it raises at once, in dealwatch's own code, whose finally
    blocks give the alerts' claims back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    stopped = threading.Event()

    def on_sigterm(signum, frame):
        stopped.set()
        if _IN_SYNC_STAGE.is_set():
            raise TerminationSignal(signal=signum)
        loop.call_soon_threadsafe(task.cancel)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    except asyncio.CancelledError as cancelled:
        if not stopped.is_set():
            raise
        task.uncancel()
        raise TerminationSignal(signal=signal.SIGTERM) from cancelled
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def sync_stage() -> Iterator[None]:
    """The cycle blocks its event loop meanwhile: a SIGTERM raises at once (see sigterm_stops_the_cycle)."""
    _IN_SYNC_STAGE.set()
    try:
        yield
    finally:
        _IN_SYNC_STAGE.clear()


async def cycle(warehouse: Warehouse, feeds: list[str], notify: list[SecretStr], notify_configs: list[str],
                profile: str | None, fetch_options: dict, digest_threshold: int, engine: bool = True,
                notify_min_interval: float | None = None, only_due: bool = False,
                clock: Callable[[], datetime] | None = None, tick: float | None = None,
                shard: Shard | None = None) -> dict:
    """The cycle's body. engine=False runs the same stages as plain functions, with no Prefect task runs,
    events or artifacts (the benchmark measures what Prefect costs with it); the caller holds the
    warehouse's cycle lock (of `shard`). only_due, clock and tick: see poll_and_queue. shard: only the feeds
    of that shard are polled, and only their queued pages fetched (the queue is read per feed)."""
    run_id = str((flow_run.id if engine else None) or f"plain-{utcnow().isoformat()}")
    if shard is not None:
        feeds = shard.feeds(feeds)
    with warehouse.session():
        warehouse.migrate()
        warehouse.start_run(run_id, shard=shard)
        last = warehouse.last_run_articles()
    report = CycleReport(run_id=run_id, shard=str(shard) if shard else None)   # added up as the stages go: what a failed run's row shows
    unannounced: list[Alert] = []   # the last batch's new facts, not yet emitted as events
    poll, batch_task, deliver = ((poll_and_queue, fetch_judge_store, deliver_alerts) if engine else
                                 (poll_and_queue.fn, fetch_judge_store.fn, deliver_alerts.fn))
    db = str(warehouse.path)
    try:
        label = load_profile(profile).label  # a broken profile fails the cycle before any network work
        if workers_likely(last):
            prepare_workers()
            if fork_server_ready() or cluster.scheduler_address():   # prepared earlier in this process (the
                start_workers()   # command line does at its start): the workers start now, in ~10 ms each, and
                                  # the feeds parse on every core; or the Dask cluster, connected now
        tried: set[str] = set()
        try:
            vars(report).update(vars(await poll(db, feeds, fetch_options, only_due, clock, tick)), run_id=run_id,
                                shard=report.shard)
            if notify or notify_configs:
                alerting.load_plugins_soon()   # while the workers extract, not in the cycle's serial end
            while True:
                # every item of a batch leaves the due list (done, or retried in a later cycle); the guard
                # stops the loop anyway should one ever come back in the same cycle
                due = warehouse.due_items(feeds=feeds, limit=BATCH_SIZE + 1)   # (one more: is there more?)
                more, due = len(due) > BATCH_SIZE, due[:BATCH_SIZE]
                batch = [(item, n) for item, n in due if item.link not in tried]
                if not batch:
                    break
                if engine:   # another batch follows: the events now, so that the event-triggered deliver-alerts
                    emit_fact_events(unannounced)   # flow sends them while this batch is fetched
                    unannounced = []
                if len(batch) >= PARALLEL_MIN_ITEMS:
                    start_workers()  # one pool for the whole cycle; its workers start while this batch is fetched
                tried.update(item.link for item, _ in batch)
                stored = await batch_task(db, Batch(batch), fetch_options, profile, run_id,
                                          warehouse.item_max_attempts)
                report.add(stored)
                unannounced = stored.alerts_new
                if not more:   # that was all of the queue: what it retries comes due in a later cycle
                    break
        except BaseException:   # stopped (SIGTERM, an error): the workers' current jobs are not waited for
            record_cluster_work(report)
            shutdown_workers(terminate=True)
            raise
        record_cluster_work(report)
        shutdown_workers()
        with sync_stage():
            delivered = deliver(db, notify, notify_configs, digest_threshold, notify_min_interval, label)
        for name, value in delivered.items():
            setattr(report, name, value)
        warehouse.finish_run(run_id, "completed", asdict(report))
        # serve's short cycles come every minute and mostly find nothing due: those leave no artifact (1,440 a
        # day in Prefect's database, each saying nothing)
        if engine and (not only_due or report.feeds_polled or report.articles_new or report.alerts_sent
                       or report.alerts_failed or report.retry_later):
            await acreate_markdown_artifact(key="dealwatch-cycle", markdown=cycle_markdown(report),
                                            description="What this dealwatch cycle found")
    except BaseException as exc:
        record_failed_run(warehouse, run_id, report, exc)
        raise
    finally:
        # The last batch's events after the cycle's own delivery has sent its alerts (they reach users at
        # the same moment either way): emitted before it, their ~2 ms each of the Prefect server's work
        # delayed every API call of the cycle's end (the delivery's task run, the artifact) by ~0.3 s. The
        # flow run's hook on its final state emits them (announce_last_batch).
        if engine:
            _LAST_BATCH[run_id] = unannounced
    return asdict(report)


def record_cluster_work(report: CycleReport) -> None:
    """Who did the cycle's CPU work, when it went to a Dask cluster: in the run's record and its log."""
    remote = cluster.running_pool()
    if remote is None:
        return
    report.dask = {"scheduler": remote.address, "workers": remote.tally()}
    workers = report.dask["workers"]
    _logger().info("the Dask cluster at %s judged %d pages: %s", remote.address,
                   sum(w["items"] for w in workers.values()),
                   ", ".join(f"{name} {w['items']} pages in {w.get('_process_chunk', 0)} chunks, "
                             f"{w.get('parse_feed', 0)} feeds" for name, w in workers.items()) or "none")


def record_failed_run(warehouse: Warehouse, run_id: str, report: CycleReport, error: BaseException) -> None:
    """The run's row when the cycle stops on an error ('failed') or is cancelled or interrupted
    ('interrupted'), so that it does not stay 'running'; best effort: the warehouse may be what failed."""
    status = "failed" if isinstance(error, Exception) else "interrupted"
    try:
        warehouse.finish_run(run_id, status, asdict(report))
    except Exception as e:   # (the cycle's own error is the one to raise)
        logging.getLogger("dealwatch.cycle").warning("could not record run %s as %s: %s", run_id, status, e)
