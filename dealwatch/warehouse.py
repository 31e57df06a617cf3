"""The DuckDB warehouse: schema and migrations, idempotent writes, the fetch queue and the alert outbox.

The only module that talks to a DuckDB file (dealwatch/lake.py: the warehouse as a DuckLake on PostgreSQL,
the same methods). DuckDB lets one process at a time hold a file open for writing,
and while it does, no other process can open it at all (STACK-NOTES). So every write here is one short
transaction on a connection opened for it and closed after; opening retries while another process
holds the file, and gives up with WarehouseLocked after `lock_timeout` seconds.

Crash safety comes from the order of transactions, not from luck:
  1. record_polls: the feeds' new entries go into feed_items together with their new validators, in one
     transaction. A crash before it: the next poll sends the old validators and gets the entries again.
  2. store_outcomes: articles, facts, the outbox rows they raise, and the entries' queue status, in one
     transaction. A crash before it: the entries are still pending and are fetched again.
  3. mark_delivered: after a message went out, per destination; settle_alerts at the delivery's end. A crash
     between sending and recording: see README, "Alerts".
"""
from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import duckdb

from dealwatch.dedup import NEAR_DUPLICATE_DISTANCE
from dealwatch.model import Alert, Article, FeedItem, Judgment
from dealwatch.shards import Shard
from dealwatch.schedule import Next, Rate, budget, next_poll, outside_skip_hours, seeded_rate, spacing

# DuckDB 1.5.5's Python client tries `import pandas` for every parameter value it converts, and a failed import
# is not remembered: where pandas is not installed, each try searches sys.path again. Measured: 40,000 values
# bound as lists took 13.2 s, 0.86 s with the missing module recorded as missing (below); duckdb 2.0 does not
# try. A None entry is how Python records "no such module": an `import pandas` fails at once, as it would anyway.
if "pandas" not in sys.modules and importlib.util.find_spec("pandas") is None:
    sys.modules["pandas"] = None

MIGRATIONS_PACKAGE_DIR = "_warehouse/migrations"
LOCK_RETRY_SECONDS = 0.25


from dealwatch.errors import CycleRunning, WarehouseError, WarehouseLocked  # noqa: E402  (re-exported)


def utcnow() -> datetime:
    """Now, as the naive UTC timestamp DuckDB's TIMESTAMP columns hold."""
    return datetime.now(UTC).replace(tzinfo=None)


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def migrations_dir() -> Path:
    """warehouse/migrations: inside the installed package, or beside it in a source checkout."""
    packaged = resources.files("dealwatch") / MIGRATIONS_PACKAGE_DIR
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "warehouse" / "migrations"


def migrations() -> list[tuple[int, Path]]:
    """(version, file) of every migration, in order; two files with one number is a packaging error."""
    found: dict[int, Path] = {}
    for path in sorted(migrations_dir().glob("*.sql")):
        match = re.match(r"(\d+)_", path.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise WarehouseError(f"two migrations are numbered {version}: {found[version].name} and {path.name}")
        found[version] = path
    return sorted(found.items())


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the warehouse remembers of a feed between cycles."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    consecutive_failures: int = 0
    parked: bool = False


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What became of one queued feed item in a cycle: an article judged, or a failure to retry."""

    item: FeedItem
    article: Article | None = None
    judgment: Judgment | None = None
    fetch_error: str | None = None     # set with article (text_source 'feed') or alone (retry later)
    transient: bool = False            # the failure may go away: retry in a later cycle
    retry_after: float | None = None
    untried: bool = False              # not fetched at all (its host was unreachable earlier in the cycle): due
                                       # again next cycle, no attempt counted
    content_hash: str | None = None
    fingerprint: int | None = None


@dataclass(slots=True)
class StoreResult:
    articles_new: int = 0
    relevant_new: int = 0
    facts_new: int = 0
    duplicates: int = 0               # copies or updates of a story already stored (facts kept per URL)
    retry_later: int = 0
    parked: int = 0
    alerts_new: list[Alert] = field(default_factory=list)
    facts: list[tuple[str, str, str, str]] = field(default_factory=list)  # (article_url, kind, value, evidence)

    COUNTS = ("articles_new", "relevant_new", "facts_new", "duplicates", "retry_later", "parked")

    @classmethod
    def combined(cls, results: Sequence[StoreResult]) -> StoreResult:
        """The sum of several stores' results (a batch stored a stretch at a time)."""
        total = cls()
        for r in results:
            for name in cls.COUNTS:
                setattr(total, name, getattr(total, name) + getattr(r, name))
            total.alerts_new += r.alerts_new
            total.facts += r.facts
        return total


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What one delivery made of a claimed alert (settle_alerts records it)."""

    alert_id: int
    status: str                 # sent | failed (refused for good somewhere, delivered everywhere else) | pending
    error: str | None = None    # why not sent (every destination still missing it, masked, with its reason)
    tried: bool = False         # a destination that still misses it was tried in this delivery


@dataclass(frozen=True, slots=True)
class DestinationState:
    """A destination's delivery health (the destinations table)."""

    destination: str
    state: str = "ok"                       # ok | failing
    failing_since: datetime | None = None
    failed_attempts: int = 0
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    last_ok_at: datetime | None = None
    reported_at: datetime | None = None


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential backoff: base, 2 base, 4 base, ... at most cap."""
    return min(cap, base * (2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class PollRecord:
    """What record_polls needs of a feed's poll (dealwatch.fetch.FeedPoll has the same fields)."""

    feed_url: str
    ok: bool
    status: int | None = None
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    items: Sequence[FeedItem] = ()
    error: str | None = None
    transient: bool = False
    retry_after: float | None = None
    rate_limited: bool = False   # a 429: counted, never parks the feed
    warning: str | None = None   # what was odd in a feed read all the same (kept in feeds.last_warning)
    max_age: float | None = None         # what the feed asked for (dealwatch.schedule): Cache-Control max-age,
    ttl: float | None = None             # RSS <ttl> (seconds), <skipHours> (UTC)
    skip_hours: tuple[int, ...] = ()


def json_column(values: Sequence) -> str:
    """A column of values as one JSON text, the parameter of `unnest(from_json(?, '["TYPE"]'))` (json_unnest).
    DuckDB 1.5.5's Python client converts a list parameter value by value, ~6.5 us each (it tries `import
    pandas` for each value, and a failed import is a Python exception caught in C++: two per value), ~50,000
    values a cycle of 1,000 articles; one JSON text is converted at once and parsed in C++, ~1 us a value
    (measured: 50,000 strings, 336 ms of CPU as a list, 52 ms as JSON). The same values arrive: strings
    exactly (NUL, line separators, emoji; a lone surrogate is refused either way), integers to 2**64 - 1,
    timestamps as ISO text (naive, to the microsecond). Not for DOUBLE columns: a NaN would arrive as NaN,
    where a list parameter gives NULL."""
    return json.dumps(values, ensure_ascii=False, default=_json_value)


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"no JSON for a {type(value).__name__} column value")


def json_unnest(type_: str) -> str:
    """The SQL of one column given by json_column: its values as rows of type_ (VARCHAR, UBIGINT, TIMESTAMP,
    VARCHAR[] ...)."""
    structure = f'"{type_.removesuffix("[]")}"'
    for _ in range(type_.count("[]")):
        structure = f"[{structure}]"
    return f"unnest(from_json(?, '[{structure}]'))"


# rows of columns, each column one parameter (json_column, but for the DOUBLE: see there)
ARTICLE_COLUMN_TYPES = ("VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMP", "VARCHAR", "BOOLEAN",
                        "DOUBLE", "VARCHAR", "VARCHAR[]", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "UBIGINT",
                        "VARCHAR", "TIMESTAMP", "VARCHAR")
INSERT_ARTICLES = (
    "INSERT INTO articles (url, final_url, feed_url, title, source, published_at, lang, relevant, "
    "relevance_score, relevance_reason, relevance_terms, text, text_source, fetch_error, "
    "content_hash, fingerprint, story_url, fetched_at, run_id) "
    "SELECT * FROM (SELECT " + ", ".join("unnest(?::DOUBLE[])" if t == "DOUBLE" else json_unnest(t)
                                         for t in ARTICLE_COLUMN_TYPES) + ") AS v")

INSERT_FACTS = (
    "INSERT INTO facts (article_url, kind, value, evidence, detail, found_at, run_id) "
    f"SELECT * FROM (SELECT {json_unnest('VARCHAR')}, {json_unnest('VARCHAR')}, {json_unnest('VARCHAR')}, "
    f"{json_unnest('VARCHAR')}, {json_unnest('VARCHAR')}::JSON, ?::TIMESTAMP, ?::VARCHAR) AS v")


def article_columns(rows: Sequence[Sequence]) -> list:
    """INSERT_ARTICLES's parameters for article_rows' rows."""
    return [list(column) if t == "DOUBLE" else json_column(column)
            for t, column in zip(ARTICLE_COLUMN_TYPES, zip(*rows), strict=True)]


def article_rows(judged: Sequence[ItemOutcome], existing: set[str], stories: dict[str, str], now: datetime,
                 run_id: str | None) -> tuple[list[list], list[tuple[ItemOutcome, str | None]]]:
    """The articles rows to insert for the judged outcomes whose link is not in `existing` (the first of a link
    in the batch), and (outcome, story it copies or None) for each. An outcome's story is the stored article
    it copies (`stories`), else the first article before it in the batch that it copies."""
    rows, new, seen = [], [], set(existing)
    batch_pages: list[tuple[str, str | None, int | None, str]] = []  # link, hash, fingerprint, story
    for outcome in judged:
        link = outcome.item.link
        if link in seen:
            continue
        seen.add(link)
        story = stories.get(link)
        if story is None and (outcome.content_hash is not None or outcome.fingerprint is not None):
            for other, h, fp, other_story in batch_pages:
                if (h is not None and h == outcome.content_hash) or (
                        fp is not None and outcome.fingerprint is not None
                        and ((fp ^ outcome.fingerprint) & 0xFFFFFFFFFFFFFFFF).bit_count()
                        <= NEAR_DUPLICATE_DISTANCE):
                    story = other_story
                    break
        if outcome.article.text_source == "page":
            batch_pages.append((link, outcome.content_hash, outcome.fingerprint, story or link))
        new.append((outcome, story))
        article, judgment = outcome.article, outcome.judgment
        relevance = judgment.relevance if judgment else None
        rows.append([link, article.final_url, outcome.item.feed_url, article.title, article.source,
                     datetime.combine(article.published, datetime.min.time()) if article.published else None,
                     article.lang, relevance.relevant if relevance else None,
                     relevance.score if relevance else None, relevance.reason if relevance else None,
                     list(relevance.terms) if relevance else None, article.text, article.text_source,
                     outcome.fetch_error, outcome.content_hash, outcome.fingerprint, story or link, now,
                     run_id])
    return rows, new


def facts_to_store(new: list[tuple[ItemOutcome, str | None]], inserted: set[str], result: StoreResult) -> list:
    """(link, fact, detail as JSON, article) of every fact of the relevant articles actually inserted (one per
    (link, kind, value)); counts those articles into result."""
    facts, fact_keys = [], set()
    for outcome, story in new:
        link = outcome.item.link
        if link not in inserted:
            continue
        judgment = outcome.judgment
        relevance = judgment.relevance if judgment else None
        result.articles_new += 1
        result.relevant_new += bool(relevance and relevance.relevant)
        if story:
            # a copy of a stored story, or an updated version of it: still judged and its facts stored under
            # its own URL (an update that adds a bidder must alert); alerts stay one per (kind, value)
            result.duplicates += 1
        if not (judgment and relevance and relevance.relevant):
            continue
        for fact in judgment.facts:
            if (link, fact.kind, fact.value) in fact_keys:
                continue
            fact_keys.add((link, fact.kind, fact.value))
            facts.append((link, fact, json.dumps(fact.detail, ensure_ascii=False, default=str), outcome.article))
    return facts


def fact_columns(facts: list, now: datetime, run_id: str | None) -> list:
    """INSERT_FACTS's parameters."""
    return [json_column([f[0] for f in facts]), json_column([f[1].kind for f in facts]),
            json_column([f[1].value for f in facts]), json_column([f[1].evidence for f in facts]),
            json_column([f[2] for f in facts]), now, run_id]


def alerts_to_raise(facts: list, added: set, result: StoreResult) -> list:
    """Of the facts, those `added` (new in the warehouse) count into result; the first of each bidder or
    deadline value is a candidate alert."""
    alerting, alert_keys = [], set()
    for link, fact, detail, article in facts:
        if (link, fact.kind, fact.value) not in added:
            continue
        result.facts_new += 1
        result.facts.append((link, fact.kind, fact.value, fact.evidence))
        if fact.kind in ("bidder", "deadline") and (fact.kind, fact.value) not in alert_keys:
            alert_keys.add((fact.kind, fact.value))
            alerting.append((link, fact, detail, article))
    return alerting


class _Shared:
    """A session's connection (Warehouse.session): opened by its first write, closed at its end, or after a
    write once it has been open release_after seconds."""

    __slots__ = ("connection", "since", "release_after")

    def __init__(self, release_after: float | None):
        self.connection: duckdb.DuckDBPyConnection | None = None
        self.since = 0.0
        self.release_after = release_after

    def opened(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection, self.since = connection, time.monotonic()

    def release_if_due(self) -> None:
        if self.release_after is not None and time.monotonic() - self.since >= self.release_after:
            self.release()

    def release(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()


LAKE_PREFIX = "ducklake:postgres:"


def is_lake(db: str | Path) -> bool:
    """Whether a warehouse address names a DuckLake with its catalog in PostgreSQL (dealwatch.lake)."""
    return isinstance(db, str) and db.startswith(LAKE_PREFIX)


class Warehouse:
    """One DuckDB file. Cheap to create: it opens the file only inside connect()/transaction().

    Warehouse("ducklake:postgres:<libpq conninfo>") is a dealwatch.lake.LakeWarehouse instead: the same
    methods on a DuckLake whose catalog and coordination state are in PostgreSQL, so that the code above this
    module never asks which warehouse it has."""

    def __new__(cls, path: str | Path, *args, **kwargs):
        if cls is Warehouse and is_lake(path):
            from dealwatch.lake import LakeWarehouse
            return super().__new__(LakeWarehouse)
        return super().__new__(cls)

    def __init__(self, path: str | Path, lock_timeout: float = 60.0, *,
                 item_max_attempts: int = 5, feed_max_failures: int = 10,
                 retry_base: timedelta = timedelta(minutes=5), retry_cap: timedelta = timedelta(hours=6),
                 data_path: str | Path | None = None):
        if data_path is not None and type(self) is Warehouse:
            raise WarehouseError(f"--data-path (or [warehouse] data_path) is for a DuckLake warehouse "
                                 f"(--db {LAKE_PREFIX}<conninfo>), not the file {path}: leave it out")
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.item_max_attempts = item_max_attempts
        self.feed_max_failures = feed_max_failures
        self.retry_base = retry_base
        self.retry_cap = retry_cap

    # -- connections ------------------------------------------------------------------------------

    @contextmanager
    def session(self, release_after: float | None = None) -> Iterator[None]:
        """Inside it, every connect()/transaction() of this Warehouse object reuses ONE connection (each
        transaction still commits on its own), closed when the block ends. For a burst of writes: opening the
        file costs ~15 ms of CPU, and the checkpoint when closing it 10-90 ms (it rewrites what was added
        since the articles' last full stretch of 2,048 rows), more than a small write (the poll of 100 feeds:
        100 transactions; the stores of a batch of 1,000 pages: 60 % of their CPU, measured).

        While the connection is open no other process can open the file. With release_after, a transaction
        that ends release_after seconds or more after the connection was opened closes it, and the next one
        opens it again: a reader waiting for the file (retrying every LOCK_RETRY_SECONDS) gets it between two
        transactions, and waits for a long session no longer than about release_after."""
        if getattr(self, "_session", None) is not None:
            yield
            return
        shared = _Shared(release_after)
        self._session = shared
        try:
            yield
        finally:
            self._session = None
            shared.release()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection, retried while another process holds the file; closed on exit (inside a session(),
        the session's connection: see there)."""
        shared = getattr(self, "_session", None)
        if shared is not None and not read_only:
            if shared.connection is None:
                shared.opened(self._open(read_only=False))
            try:
                yield shared.connection
            except BaseException:
                if getattr(self, "_transaction", None) is None:   # a failed write: the next one opens the file
                    shared.release()                               # afresh, whatever state this one was left in
                raise
            if getattr(self, "_transaction", None) is None:   # (never inside a transaction)
                shared.release_if_due()
            return
        con = self._open(read_only)
        try:
            yield con
        finally:
            con.close()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if read_only and not self.path.exists():
            raise WarehouseError(f"no warehouse at {self.path}: run `dealwatch run` (or `dealwatch demo`) first")
        if not read_only:
            self._ensure_folder()
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as e:
                message = str(e)
                if "lock" in message.lower() and time.monotonic() < deadline:
                    time.sleep(LOCK_RETRY_SECONDS)
                    continue
                if "lock" in message.lower():
                    raise WarehouseLocked(
                        f"the warehouse {self.path} stayed locked by another process for {self.lock_timeout:.0f} s "
                        f"(a `duckdb` session or another dealwatch?): close it, or query a copy") from e
                raise WarehouseError(f"cannot open the warehouse {self.path}: {message.splitlines()[0]}") from e
            except duckdb.Error as e:
                raise WarehouseError(f"cannot open the warehouse {self.path}: {str(e).splitlines()[0]}") from e

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A transaction, committed when the block ends, rolled back on an error. A transaction opened
        inside another (of this Warehouse object) joins it: many small writes, one commit."""
        outer = getattr(self, "_transaction", None)
        if outer is not None:
            yield outer
            return
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            self._transaction = con
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                self._transaction = None
            con.execute("COMMIT")

    def _ensure_folder(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise WarehouseError(f"cannot create the folder for the warehouse {self.path}: {e.strerror}") from e

    @contextmanager
    def cycle_lock(self, shard: Shard | None = None) -> Iterator[None]:
        """Held for a whole cycle, so that two cycles that would poll the same feeds never run at once on one
        warehouse, whoever started them (a schedule, a user, a backfill). OS file locks beside the file:
        released when the process dies, even by SIGKILL, so a killed cycle never blocks the next one.

        shard (dealwatch.shards): the cycle polls only that shard's feeds, and runs beside the other shards of
        the same count: shard 1/2 and 2/2 at once, never two runs of 1/2, nor a shard beside a cycle of every
        feed, nor shards of two counts at once (1/2 and 1/3 share feeds). The locks: a cycle of every feed
        holds cycle.lock exclusively, a shard shares it; a shard holds cycle.shard-K-of-N.lock exclusively;
        and shares cycle.shards-N.lock, after checking that no run holds a cycle.shards-M.lock of another M
        (two counts starting at the same moment may both refuse: never both run)."""
        self._ensure_folder()
        with ExitStack() as held:
            busy = f"another dealwatch cycle is running on {self.path}; this one was not started"
            if shard is None:
                self._hold_lock(held, "cycle", fcntl.LOCK_EX,
                                f"{busy} (it would find nothing the other does not)")
            else:
                self._hold_lock(held, "cycle", fcntl.LOCK_SH,
                                f"a cycle of every feed is running on {self.path}; shard {shard} was not started")
                self._hold_lock(held, f"cycle.shards-{shard.count}", fcntl.LOCK_SH, busy)
                prefix = f"{self.path.name}.cycle.shards-"
                for other in self.path.parent.glob(f"{prefix}*.lock"):
                    count = other.name[len(prefix):-len(".lock")]
                    if count == str(shard.count):
                        continue
                    with ExitStack() as probe:   # free: no run of that count; released at once
                        self._hold_lock(probe, f"cycle.shards-{count}", fcntl.LOCK_EX,
                                        f"cycles in {count} shards are running on {self.path}; shard {shard} was "
                                        f"not started (shards of two counts would poll the same feeds): it runs "
                                        f"once those have ended")
                self._hold_lock(held, f"cycle.shard-{shard.index}-of-{shard.count}", fcntl.LOCK_EX,
                                f"{busy}: shard {shard} is running already")
            yield

    def _hold_lock(self, held: ExitStack, name: str, mode: int, busy: str) -> None:
        """flock `mode` on the file <warehouse>.<name>.lock, released when `held` closes; CycleRunning(busy) when
        another process holds it."""
        lock_path = self.path.with_name(f"{self.path.name}.{name}.lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise WarehouseError(f"cannot write beside the warehouse {self.path}: {e.strerror}") from e
        held.callback(os.close, fd)
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CycleRunning(busy) from None

    # -- schema -----------------------------------------------------------------------------------

    def schema_version(self, con: duckdb.DuckDBPyConnection) -> int:
        con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
        return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]

    def migrate(self) -> int:
        """Bring the schema up to date (each migration in its own transaction); the version it is at."""
        steps = migrations()
        newest = steps[-1][0] if steps else 0
        with self.connect() as con:
            current = self.schema_version(con)
            if current > newest:
                raise WarehouseError(f"the warehouse {self.path} has schema version {current}, newer than this "
                                     f"dealwatch knows ({newest}): upgrade dealwatch")
            for version, path in steps:
                if version <= current:
                    continue
                con.execute("BEGIN TRANSACTION")
                try:
                    con.execute(path.read_text(encoding="utf-8"))
                    con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, utcnow()])
                    con.execute("COMMIT")
                except duckdb.Error as e:
                    con.execute("ROLLBACK")
                    raise WarehouseError(f"migration {path.name} failed on {self.path}: {e}") from e
                current = version
        return current

    # -- feeds ------------------------------------------------------------------------------------

    def feeds_to_poll(self, urls: Sequence[str], now: datetime | None = None, only_due: bool = False,
                      tick: float | None = None) -> tuple[list[FeedState], list[str]]:
        """(feeds to poll now, urls skipped because parked, backing off or asking not to be read now: Retry-After,
        max-age, ttl, skipHours); registers new feeds. only_due: only the feeds whose own clock has them due
        (dealwatch.schedule; `dealwatch serve`'s short cycles): the others are neither polled nor skipped.
        tick: the seconds between those cycles: a feed due before the middle of the next one is polled now
        (its interval rounded to the nearest tick, not always up: a 2-minute interval, counted from the end
        of a poll, would otherwise come due just after a tick and wait for the next, every time). Never
        before what the feed allows."""
        now = now or utcnow()
        due_by = now + timedelta(seconds=(tick or 0) / 2)
        with self.transaction() as con:
            con.execute("INSERT INTO feeds (url) SELECT unnest(?::VARCHAR[]) ON CONFLICT DO NOTHING",
                        [list(dict.fromkeys(urls))])
            rows = con.execute(
                "SELECT url, etag, last_modified, consecutive_failures, parked, next_poll_at, due_at, skip_hours "
                "FROM feeds WHERE url IN (SELECT unnest(?))", [list(urls)]).fetchall()
        by_url = {row[0]: row for row in rows}
        due, skipped = [], []
        for url in dict.fromkeys(urls):
            _, etag, modified, failures, parked, not_before, due_at, skip_hours = by_url[url]
            if parked or (not_before is not None and not_before > now) or \
                    outside_skip_hours(now, skip_hours or ()) != now:
                skipped.append(url)
            elif not only_due or due_at is None or due_at <= due_by:
                due.append(FeedState(url, etag, modified, failures, parked))
        return due, skipped

    def record_poll(self, feed_url: str, *, ok: bool, status: int | None = None, title: str | None = None,
                    etag: str | None = None, last_modified: str | None = None,
                    items: Sequence[FeedItem] = (), error: str | None = None, transient: bool = False,
                    retry_after: float | None = None, rate_limited: bool = False, max_age: float | None = None,
                    ttl: float | None = None, skip_hours: Sequence[int] = (), now: datetime | None = None) -> int:
        """record_polls for one feed; how many of its entries were new."""
        poll = PollRecord(feed_url, ok=ok, status=status, title=title, etag=etag, last_modified=last_modified,
                          items=tuple(items), error=error, transient=transient, retry_after=retry_after,
                          rate_limited=rate_limited, max_age=max_age, ttl=ttl, skip_hours=tuple(skip_hours))
        return self.record_polls([poll], now=now)[feed_url]

    def record_polls(self, polls: Sequence[PollRecord], now: datetime | None = None) -> dict[str, int]:
        """Queue the feeds' new entries and save their validators, all in one transaction; how many entries
        of each feed were new (an entry listed by two feeds is queued for the first of them). Each feed's
        next poll is scheduled (dealwatch.schedule.next_poll) from its publication rate, updated with what
        this poll found, and what the feed asked for.

        ok with status 304: nothing changed. ok with items: validators as the server sent them, and the
        poll's warning (what was odd in a feed read all the same) as the feed's last_warning.
        Not ok: the failure counts toward parking the feed, except a 429 (rate limits never park a feed).
        Set-at-a-time: four statements for any number of feeds (one per feed cost ~5 ms each: 0.5 s for 100).
        """
        now = now or utcnow()
        new = {p.feed_url: 0 for p in polls}
        entries: dict[str, tuple[str, FeedItem]] = {}   # link -> (feed, entry): the first feed's, first entry
        for poll in polls:
            for item in poll.items:
                entries.setdefault(item.link, (poll.feed_url, item))
        with self.transaction() as con:
            if entries:
                feeds, items = zip(*entries.values())
                text, stamp, column = self._unnest("VARCHAR"), self._unnest("TIMESTAMP"), self._column
                con.execute(
                    "INSERT INTO feed_items (link, feed_url, title, summary, published_at, guid, source, first_seen_at) "
                    f"SELECT * FROM (SELECT {text}, {text}, {text}, {text}, {stamp}, {text}, {text}, "
                    "?::TIMESTAMP) AS v ON CONFLICT DO NOTHING RETURNING feed_url",
                    [column(list(entries)), column(feeds), column([i.title for i in items]),
                     column([i.summary for i in items]), column([_naive_utc(i.published) for i in items]),
                     column([i.guid for i in items]), column([i.source or None for i in items]), now])
                for (feed,) in con.fetchall():
                    new[feed] += 1
            known = {row[0]: row[1:] for row in con.execute(
                "SELECT url, consecutive_failures, last_success_at, rate_items, rate_hours, ttl_seconds, skip_hours "
                "FROM feeds WHERE url IN (SELECT unnest(?))", [[p.feed_url for p in polls]]).fetchall()}
            k = self._spacing(con, [p.feed_url for p in polls], now)
            done = [p for p in polls if p.ok]
            if done:
                changed = [p.status != 304 for p in done]
                # a feed polled without a row (no UPDATE will touch it) plans as a new one
                plans = [self._schedule_success(p, known.get(p.feed_url, (0, None, None, None, None, None)),
                                                new[p.feed_url], now, k) for p in done]
                con.execute(
                    "UPDATE feeds SET last_polled_at = v.polled_at, last_success_at = v.polled_at, last_status = v.status, "
                    "last_error = NULL, consecutive_failures = 0, next_poll_at = v.not_before, due_at = v.due_at, "
                    "due_reason = v.reason, rate_items = v.rate_items, rate_hours = v.rate_hours, "
                    "ttl_seconds = CASE WHEN v.changed THEN v.ttl ELSE feeds.ttl_seconds END, "
                    "skip_hours = CASE WHEN v.changed THEN v.skip_hours ELSE feeds.skip_hours END, "
                    "title = coalesce(v.title, feeds.title), items_seen = items_seen + v.new, "
                    "etag = CASE WHEN v.changed THEN v.etag ELSE feeds.etag END, "
                    "last_modified = CASE WHEN v.changed THEN v.last_modified ELSE feeds.last_modified END, "
                    "last_warning = CASE WHEN v.changed THEN v.warning ELSE feeds.last_warning END "
                    "FROM (SELECT ?::TIMESTAMP AS polled_at, unnest(?::VARCHAR[]) AS url, unnest(?::INTEGER[]) AS status, "
                    "unnest(?::VARCHAR[]) AS title, unnest(?::INTEGER[]) AS new, unnest(?::BOOLEAN[]) AS changed, "
                    "unnest(?::VARCHAR[]) AS etag, unnest(?::VARCHAR[]) AS last_modified, "
                    "unnest(?::VARCHAR[]) AS warning, "
                    "unnest(?::TIMESTAMP[]) AS not_before, unnest(?::TIMESTAMP[]) AS due_at, "
                    "unnest(?::VARCHAR[]) AS reason, unnest(?::DOUBLE[]) AS rate_items, "
                    "unnest(?::DOUBLE[]) AS rate_hours, unnest(?::DOUBLE[]) AS ttl, "
                    "unnest(?::INTEGER[][]) AS skip_hours) AS v "
                    "WHERE feeds.url = v.url",
                    [now, [p.feed_url for p in done], [p.status for p in done], [p.title for p in done],
                     [new[p.feed_url] for p in done], changed, [p.etag for p in done],
                     [p.last_modified for p in done], [getattr(p, "warning", None) for p in done],
                     [n.not_before for n in plans], [n.due_at for n in plans],
                     [n.reason for n in plans], [n.rate.items for n in plans], [n.rate.hours for n in plans],
                     [p.ttl for p in done], [list(p.skip_hours or ()) for p in done]])
            failed = [p for p in polls if not p.ok]
            if failed:
                rows = []
                for p in failed:
                    before, _, rate_items, rate_hours, _, skip_hours = known.get(p.feed_url, (0, None, None, None, None, None))
                    failures = before + (0 if p.rate_limited else 1)
                    wait = backoff(failures, self.retry_base, self.retry_cap) if p.transient or p.rate_limited else None
                    plan = next_poll(now, rate=Rate(rate_items or 0.0, rate_hours or 0.0), ok=False,
                                     retry_after=p.retry_after, skip_hours=skip_hours or (), backoff=wait,
                                     failures=failures, spacing=k)
                    parked = failures >= self.feed_max_failures
                    reason = (f"parked after {failures} failures: `dealwatch feeds --unpark {p.feed_url}`"
                              if parked else plan.reason)
                    rows.append((p.feed_url, p.status, p.error, failures, plan.not_before, plan.due_at, reason,
                                 parked))
                url, status, error, failures, next_poll_at, due_at, reason, parked = (list(c) for c in zip(*rows))
                con.execute(
                    "UPDATE feeds SET last_polled_at = v.polled_at, last_status = v.status, last_error = v.error, "
                    "consecutive_failures = v.failures, next_poll_at = v.next_poll, parked = v.parked, "
                    "due_at = v.due_at, due_reason = v.reason "
                    "FROM (SELECT ?::TIMESTAMP AS polled_at, unnest(?::VARCHAR[]) AS url, unnest(?::INTEGER[]) AS status, "
                    "unnest(?::VARCHAR[]) AS error, unnest(?::INTEGER[]) AS failures, "
                    "unnest(?::TIMESTAMP[]) AS next_poll, unnest(?::TIMESTAMP[]) AS due_at, "
                    "unnest(?::VARCHAR[]) AS reason, unnest(?::BOOLEAN[]) AS parked) AS v "
                    "WHERE feeds.url = v.url",
                    [now, url, status, error, failures, next_poll_at, due_at, reason, parked])
        return new

    @staticmethod
    def _spacing(con, polled: Sequence[str], now: datetime) -> float:
        """The request budget's constant of the square-root rule (dealwatch.schedule.spacing), over the feeds
        in use: those polled now or in the last day, not parked."""
        rates = [Rate(items or 0.0, hours or 0.0).per_hour for items, hours in con.execute(
            "SELECT rate_items, rate_hours FROM feeds WHERE NOT parked AND (url IN (SELECT unnest(?)) "
            "OR last_polled_at >= ?)", [list(polled), now - timedelta(days=1)]).fetchall()]
        return spacing(rates, budget(len(rates)))

    @staticmethod
    def _schedule_success(poll: PollRecord, known: tuple, new_items: int, now: datetime, k: float) -> Next:
        """A feed's next poll after a successful one: its rate updated with the new entries found (seeded by
        the listed entries' dates on its first success), and what it asked for (a 304 keeps the ttl and
        skipHours its document last gave)."""
        _, last_success, rate_items, rate_hours, ttl, skip_hours = known
        if last_success is None:
            rate = seeded_rate((_naive_utc(i.published) for i in poll.items), now)
        else:
            rate = Rate(rate_items or 0.0, rate_hours or 0.0).observed(new_items, now - last_success)
        if poll.status != 304:
            ttl, skip_hours = poll.ttl, poll.skip_hours
        return next_poll(now, rate=rate, ok=True, max_age=poll.max_age, ttl=ttl, retry_after=poll.retry_after,
                         skip_hours=skip_hours or (), spacing=k)

    def unpark_feeds(self, urls: Sequence[str] | None = None) -> int:
        with self.transaction() as con:
            where, params = ("WHERE url IN (SELECT unnest(?))", [list(urls)]) if urls else ("", [])
            return con.execute(f"UPDATE feeds SET parked = false, consecutive_failures = 0, next_poll_at = NULL, "
                               f"due_at = NULL, due_reason = 'unparked: due now' "
                               f"{where} RETURNING url", params).fetchall().__len__()

    # -- the fetch queue --------------------------------------------------------------------------

    def due_items(self, now: datetime | None = None, limit: int | None = None,
                  feeds: Sequence[str] | None = None) -> list[tuple[FeedItem, int]]:
        """(entry, attempts so far) of the queued entries to fetch now (pending, not backing off), oldest
        first; only those of `feeds` if given."""
        now = now or utcnow()
        sql = ("SELECT feed_url, link, title, summary, published_at, guid, attempts, source FROM feed_items "
               "WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)")
        params: list = [now]
        if feeds is not None:
            sql += " AND feed_url IN (SELECT unnest(?))"
            params.append(list(feeds))
        sql += " ORDER BY first_seen_at, link"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self.connect() as con:
            rows = con.execute(sql, params).fetchall()
        return [(FeedItem(feed_url=f, link=link, title=t or "", summary=s or "",
                          published=p.replace(tzinfo=UTC) if p else None, guid=g, source=src or ""), n)
                for f, link, t, s, p, g, n, src in rows]

    # -- Google News links ------------------------------------------------------------------------

    def known_news_links(self, links: Sequence[str]) -> dict[str, str | None]:
        """Of these aggregator links, those already settled: link -> the publisher URL it was decoded to,
        or to itself when it was queued as it is (decoding failed then: it is not tried again, so the story
        is not queued a second time under its publisher's URL)."""
        links = list(dict.fromkeys(links))
        if not links:
            return {}
        with self.connect() as con:
            queued = {link: link for (link,) in con.execute(
                "SELECT link FROM feed_items WHERE link IN (SELECT unnest(?::VARCHAR[]))", [links]).fetchall()}
            decoded = dict(con.execute(
                "SELECT link, publisher_url FROM news_links WHERE publisher_url IS NOT NULL "
                "AND link IN (SELECT unnest(?::VARCHAR[]))", [links]).fetchall())
        return {**decoded, **queued}

    def record_news_links(self, decoded: dict[str, str | None], errors: dict[str, str] | None = None,
                          now: datetime | None = None) -> None:
        """Remember what aggregator links decoded to (None: failed, with its error)."""
        if not decoded:
            return
        now = now or utcnow()
        errors = errors or {}
        links = list(decoded)
        with self.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO news_links (link, publisher_url, error, resolved_at) "
                "SELECT * FROM (SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ?::TIMESTAMP)",
                [links, [decoded[k] for k in links], [errors.get(k) for k in links], now])

    def store_outcomes(self, outcomes: Sequence[ItemOutcome], run_id: str | None = None,
                       now: datetime | None = None, target_label: str | None = None) -> StoreResult:
        """Store a batch in one transaction: articles, facts, the alerts they raise, the queue's progress.

        Idempotent: an article already stored is not stored again, a fact already known adds nothing,
        and a bidder or deadline that has an alert row already raises none.

        Set-at-a-time: a few statements per batch, each over the whole batch as columns (unnest of list
        parameters), not a few statements per article (~3 ms each in DuckDB: 20 ms an article). The
        result is the one of storing the outcomes one by one in order: an outcome's story is the first
        stored article it copies, else the first article before it in the batch that it copies; of two
        facts or alerts with one key in the batch, the first wins. target_label: the profile's label of the
        target, kept with the alerts raised (their messages name it, whenever they go out).
        """
        now = now or utcnow()
        result = StoreResult()
        with self.transaction() as con:
            judged = []
            for outcome in outcomes:
                if outcome.article is None:
                    self._retry_later(con, outcome, now, result)
                else:
                    judged.append(outcome)
            if not judged:
                return result
            links = [o.item.link for o in judged]
            existing = {url for (url,) in con.execute(
                f"SELECT url FROM articles WHERE url IN (SELECT {json_unnest('VARCHAR')})",
                [json_column(links)]).fetchall()}
            stories = self._stories_of(con, [o for o in judged if o.item.link not in existing])
            rows, new = article_rows(judged, existing, stories, now, run_id)
            inserted: set[str] = set()
            if rows:
                inserted = {url for (url,) in con.execute(
                    INSERT_ARTICLES + " ON CONFLICT DO NOTHING RETURNING url", article_columns(rows)).fetchall()}
            self._mark_done(con, judged)
            facts = facts_to_store(new, inserted, result)
            if not facts:
                return result
            added = set(con.execute(INSERT_FACTS + " ON CONFLICT DO NOTHING RETURNING article_url, kind, value",
                                    fact_columns(facts, now, run_id)).fetchall())
            self._raise_alerts(con, alerts_to_raise(facts, added, result), now, run_id, result, target_label)
        return result

    # The list parameters of the statements that a LakeWarehouse runs on PostgreSQL (psycopg) as well: on
    # DuckDB, one JSON text a column (json_column: the values the same, 6x cheaper); the lake overrides both.
    @staticmethod
    def _unnest(type_: str) -> str:
        return json_unnest(type_)

    @staticmethod
    def _column(values: Sequence):
        return json_column(values)

    def _mark_done(self, con, judged: Sequence[ItemOutcome]) -> None:
        """The judged entries leave the queue (with the error of a page that gave no text, if any)."""
        text = self._unnest("VARCHAR")
        con.execute(
            "UPDATE feed_items SET status = 'done', last_error = v.error FROM "
            f"(SELECT {text} AS link, {text} AS error) v WHERE feed_items.link = v.link",
            [self._column([o.item.link for o in judged]), self._column([o.fetch_error for o in judged])])

    def _raise_alerts(self, con, alerting: list, now: datetime, run_id: str | None, result: StoreResult,
                      target_label: str | None = None) -> None:
        """The outbox rows of facts never seen before: one per (kind, value), whoever inserts it first."""
        if not alerting:
            return
        text, column = self._unnest("VARCHAR"), self._column
        raised = {(kind, value): alert_id for alert_id, kind, value in con.execute(
            "INSERT INTO alerts (kind, value, article_url, evidence, detail, created_at, run_id, target_label) "
            f"SELECT * FROM (SELECT {text}, {text}, {text}, {text}, {text}::JSON, ?::TIMESTAMP, ?::VARCHAR, ?::VARCHAR) AS v "
            "ON CONFLICT DO NOTHING RETURNING id, kind, value",
            [column([a[1].kind for a in alerting]), column([a[1].value for a in alerting]),
             column([a[0] for a in alerting]), column([a[1].evidence for a in alerting]),
             column([a[2] for a in alerting]), now, run_id, target_label]).fetchall()}
        for link, fact, _, article in alerting:
            alert_id = raised.get((fact.kind, fact.value))
            if alert_id is not None:
                result.alerts_new.append(Alert(
                    id=alert_id, kind=fact.kind, value=fact.value, evidence=fact.evidence,
                    article_url=link, article_title=article.title, source=article.source,
                    published=article.published, detail=dict(fact.detail), target_label=target_label or ""))

    def _stories_of(self, con, outcomes: Sequence[ItemOutcome]) -> dict[str, str]:
        """link -> story_url of the first already stored article with the same (or nearly the same) text,
        for the outcomes that have one: one query for the batch."""
        probes = [o for o in outcomes if o.content_hash is not None or o.fingerprint is not None]
        if not probes:
            return {}
        rows = con.execute(
            "SELECT p.link, arg_min(a.story_url, a.fetched_at) FROM "
            f"(SELECT {json_unnest('VARCHAR')} AS link, {json_unnest('VARCHAR')} AS h, {json_unnest('UBIGINT')} AS fp) p "
            "JOIN articles a ON a.url <> p.link AND a.text_source = 'page' AND "
            "(a.content_hash = p.h OR bit_count(xor(a.fingerprint, coalesce(p.fp, 0::UBIGINT))) <= ?) "
            "GROUP BY p.link",
            [json_column([o.item.link for o in probes]), json_column([o.content_hash for o in probes]),
             json_column([o.fingerprint for o in probes]), NEAR_DUPLICATE_DISTANCE]).fetchall()
        return dict(rows)

    def _story_of(self, con, outcome: ItemOutcome) -> str | None:
        """The url of an already stored article with the same (or nearly the same) text, if any."""
        if outcome.content_hash is None and outcome.fingerprint is None:
            return None
        row = con.execute(
            "SELECT story_url FROM articles WHERE url <> ? AND text_source = 'page' AND "
            "(content_hash = ? OR bit_count(xor(fingerprint, ?::UBIGINT)) <= ?) ORDER BY fetched_at LIMIT 1",
            [outcome.item.link, outcome.content_hash, outcome.fingerprint or 0, NEAR_DUPLICATE_DISTANCE]).fetchone()
        return row[0] if row else None

    def _retry_later(self, con, outcome: ItemOutcome, now: datetime, result: StoreResult) -> None:
        if outcome.untried:
            result.retry_later += 1
            con.execute("UPDATE feed_items SET last_error = ?, next_attempt_at = NULL WHERE link = ?",
                        [outcome.fetch_error, outcome.item.link])
            return
        attempts = con.execute("SELECT attempts FROM feed_items WHERE link = ?",
                               [outcome.item.link]).fetchone()
        attempts = (attempts[0] if attempts else 0) + 1
        wait = backoff(attempts, self.retry_base, self.retry_cap)
        if outcome.retry_after:
            wait = max(wait, timedelta(seconds=outcome.retry_after))
        parked = attempts >= self.item_max_attempts
        result.parked += parked
        result.retry_later += not parked
        con.execute("UPDATE feed_items SET attempts = ?, last_error = ?, next_attempt_at = ?, status = ? "
                    "WHERE link = ?", [attempts, outcome.fetch_error, now + wait,
                                       "parked" if parked else "pending", outcome.item.link])

    # -- the outbox -------------------------------------------------------------------------------

    def claim_alerts(self, now: datetime | None = None, lease: timedelta = timedelta(minutes=10)) -> list[Alert]:
        """Claim the alerts due for delivery now, oldest first, with their article, where they went already
        (delivered_to) and where they were refused for good (failed_to).

        Due: pending (a pending alert waits for no clock: whether a destination is tried is its destination's
        health, see dealwatch.delivery), or claimed by a deliverer whose lease ran out (it was killed before
        recording the outcome: delivered again, at-least-once). Claiming is one transaction, so two deliverers
        (a cycle and the event-triggered deliver-alerts flow) never send the same alert.
        """
        now = now or utcnow()
        with self.transaction() as con:
            claimed = con.execute(
                "UPDATE alerts SET status = 'sending', next_attempt_at = ? "
                "WHERE status = 'pending' OR (status = 'sending' AND next_attempt_at <= ?) RETURNING id",
                [now + lease, now]).fetchall()
            if not claimed:
                return []
            rows = con.execute(
                "SELECT a.id, a.kind, a.value, a.evidence, a.article_url, ar.title, ar.source, ar.published_at, "
                "a.detail, a.attempts, a.delivered_to, "
                "(SELECT list(f.destination ORDER BY f.destination) FROM alert_failures f WHERE f.alert_id = a.id), "
                "a.target_label FROM alerts a LEFT JOIN articles ar ON ar.url = a.article_url "
                "WHERE a.id IN (SELECT unnest(?)) ORDER BY a.id", [[i for (i,) in claimed]]).fetchall()
        return [Alert(id=i, kind=k, value=v, evidence=e or "", article_url=u, article_title=t or "",
                      source=s or "", published=p.date() if p else None, detail=json.loads(d) if d else {},
                      attempts=n, delivered_to=tuple(to or ()), failed_to=tuple(failed or ()), target_label=label or "")
                for i, k, v, e, u, t, s, p, d, n, to, failed, label in rows]

    def release_alerts(self, ids: Sequence[int]) -> None:
        """Give claimed alerts back undelivered (nowhere to send them yet): pending, due at once."""
        with self.transaction() as con:
            con.execute("UPDATE alerts SET status = 'pending', next_attempt_at = NULL "
                        "WHERE status = 'sending' AND id IN (SELECT unnest(?))", [list(ids)])

    def mark_delivered(self, ids: Sequence[int], now: datetime | None = None, destination: str | None = None) -> None:
        """Record that a message carrying these alerts went out. With destination (a masked URL): it reached
        that one (added to delivered_to; the alert stays claimed until settle_alerts); without: the alerts
        are sent."""
        now = now or utcnow()
        with self.transaction() as con:
            if destination is None:
                con.execute("UPDATE alerts SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
                            "last_error = NULL WHERE id IN (SELECT unnest(?))", [now, list(ids)])
            else:
                con.execute("UPDATE alerts SET delivered_to = list_distinct(list_append(coalesce(delivered_to, "
                            "[]::VARCHAR[]), ?)) WHERE id IN (SELECT unnest(?))", [destination, list(ids)])

    def mark_refused(self, ids: Sequence[int], destination: str, error: str, now: datetime | None = None) -> None:
        """Record that destination refused these alerts for good (a permanent failure, with its reason)."""
        with self.transaction() as con:
            con.execute("INSERT INTO alert_failures SELECT unnest(?::BIGINT[]), ?, ?, ? ON CONFLICT DO NOTHING",
                        [list(ids), destination, error, now or utcnow()])

    def settle_alerts(self, outcomes: Sequence[AlertOutcome], now: datetime | None = None) -> None:
        """The end of a delivery: each claimed alert's new status (sent, failed, or pending again: due at the
        next delivery), its error, and one more attempt when it was tried and did not get everywhere."""
        if not outcomes:
            return
        now = now or utcnow()
        with self.transaction() as con:
            con.execute(
                "UPDATE alerts SET status = o.status, last_error = o.error, attempts = attempts + o.tried, "
                "next_attempt_at = NULL, sent_at = CASE WHEN o.status = 'sent' THEN coalesce(sent_at, o.settled_at) END "
                "FROM (SELECT ?::TIMESTAMP AS settled_at, unnest(?::BIGINT[]) AS id, unnest(?::VARCHAR[]) AS status, unnest(?::VARCHAR[]) AS error, "
                "unnest(?::INTEGER[]) AS tried) o WHERE alerts.id = o.id AND alerts.status = 'sending'",
                [now, [o.alert_id for o in outcomes], [o.status for o in outcomes], [o.error for o in outcomes],
                 [int(o.tried) for o in outcomes]])

    def mark_failed(self, ids: Sequence[int], error: str, now: datetime | None = None,
                    delivered_to: Sequence[str] = ()) -> int:
        """Record a failed delivery (a transient failure): the alerts are pending again, due at the next
        delivery, with the error; delivered_to: the (masked) URLs that did accept them, skipped then. Returns
        how many gave up: none, since a transient failure never gives up (see dealwatch.delivery)."""
        with self.transaction() as con:
            con.execute("UPDATE alerts SET attempts = attempts + 1, last_error = ?, next_attempt_at = NULL, "
                        "status = 'pending', delivered_to = list_distinct(list_concat(coalesce(delivered_to, "
                        "[]::VARCHAR[]), ?::VARCHAR[])) WHERE id IN (SELECT unnest(?))",
                        [error, list(delivered_to), list(ids)])
        return 0

    def refusals(self, ids: Sequence[int]) -> dict[int, dict[str, str]]:
        """alert id -> {destination: why it refused it for good}, for those of ids that were refused."""
        found: dict[int, dict[str, str]] = {}
        if not ids:
            return found
        with self.connect() as con:
            for alert_id, destination, error in con.execute(
                    "SELECT alert_id, destination, error FROM alert_failures WHERE alert_id IN (SELECT unnest(?))",
                    [list(ids)]).fetchall():
                found.setdefault(alert_id, {})[destination] = error
        return found

    def retry_alerts(self, ids: Sequence[int] | None = None) -> int:
        """Re-queue failed alerts (all of them, or those ids): their destinations' refusals are forgotten and
        the next delivery tries them again. How many were re-queued."""
        with self.transaction() as con:
            chosen = "status = 'failed'" + ("" if ids is None else " AND id IN (SELECT unnest(?))")
            args = [] if ids is None else [list(ids)]
            requeued = [i for (i,) in con.execute(
                f"UPDATE alerts SET status = 'pending', next_attempt_at = NULL WHERE {chosen} RETURNING id",
                args).fetchall()]
            if requeued:
                con.execute("DELETE FROM alert_failures WHERE alert_id IN (SELECT unnest(?))", [requeued])
        return len(requeued)

    # -- destinations -----------------------------------------------------------------------------

    def destinations(self) -> dict[str, DestinationState]:
        """Every destination's delivery health, by masked URL."""
        with self.connect() as con:
            rows = con.execute("SELECT destination, state, failing_since, failed_attempts, last_error, "
                               "last_attempt_at, last_ok_at, reported_at FROM destinations").fetchall()
        return {r[0]: DestinationState(*r) for r in rows}

    def record_attempt(self, destination: str, ok: bool, error: str | None = None,
                       now: datetime | None = None) -> DestinationState:
        """A delivery's attempt on destination: it works (the outage, if any, ends), or it failed (the outage
        starts, or goes on). Returns the destination's state before this attempt (None fields when new)."""
        now = now or utcnow()
        with self.transaction() as con:
            before = con.execute("SELECT destination, state, failing_since, failed_attempts, last_error, "
                                 "last_attempt_at, last_ok_at, reported_at FROM destinations WHERE destination = ?",
                                 [destination]).fetchone()
            if ok:
                con.execute("INSERT INTO destinations (destination, state, last_attempt_at, last_ok_at) "
                            "VALUES (?, 'ok', ?, ?) ON CONFLICT (destination) DO UPDATE SET state = 'ok', "
                            "failing_since = NULL, failed_attempts = 0, last_error = NULL, reported_at = NULL, "
                            "last_attempt_at = excluded.last_attempt_at, last_ok_at = excluded.last_ok_at",
                            [destination, now, now])
            else:
                con.execute("INSERT INTO destinations (destination, state, failing_since, failed_attempts, "
                            "last_error, last_attempt_at) VALUES (?, 'failing', ?, 1, ?, ?) "
                            "ON CONFLICT (destination) DO UPDATE SET state = 'failing', "
                            "failing_since = coalesce(destinations.failing_since, excluded.failing_since), "
                            "failed_attempts = destinations.failed_attempts + 1, last_error = excluded.last_error, "
                            "last_attempt_at = excluded.last_attempt_at", [destination, now, error, now])
        return DestinationState(*before) if before else DestinationState(destination)

    def mark_outage_reported(self, destination: str, now: datetime | None = None) -> None:
        """The current outage of destination was reported through the other destinations (once an outage)."""
        with self.transaction() as con:
            con.execute("UPDATE destinations SET reported_at = ? WHERE destination = ?", [now or utcnow(), destination])

    def claim_outage_report(self, destination: str, now: datetime | None = None) -> datetime | None:
        """Take the reporting of destination's current outage, atomically: two deliverers at once (the shards'
        cycles, deliver-alerts) never both report it. The claim's time (release it with it when no other
        destination took the report), or None when the outage was reported already or is over."""
        now = now or utcnow()
        with self.transaction() as con:
            claimed = con.execute("UPDATE destinations SET reported_at = ? WHERE destination = ? AND "
                                  "state = 'failing' AND reported_at IS NULL RETURNING destination",
                                  [now, destination]).fetchall()
        return now if claimed else None

    def release_outage_report(self, destination: str, claimed_at: datetime) -> None:
        """Give back a claim_outage_report whose report reached nobody: the next delivery tries again."""
        with self.transaction() as con:
            con.execute("UPDATE destinations SET reported_at = NULL WHERE destination = ? AND reported_at = ?",
                        [destination, claimed_at])

    # -- runs -------------------------------------------------------------------------------------

    def start_run(self, run_id: str, now: datetime | None = None, shard: Shard | None = None) -> None:
        """A new cycle's row, status 'running'. Called under the cycle lock (cycle_lock): a row still 'running'
        then is a cycle whose process died before recording its end (killed, or the machine went down), and
        becomes 'interrupted' (finished_at stays empty: when it died is not known). Of a shard's cycle, only
        the rows the lock says are dead: its own shard's, those of every feed, those of another count of
        shards; never those of the shards running beside it."""
        with self.transaction() as con:
            con.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running' AND run_id <> ? AND "
                        "(?::INTEGER IS NULL OR shard_count IS NULL OR shard_count <> ? OR shard_index = ?)",
                        [run_id, shard and shard.count, shard and shard.count, shard and shard.index])
            con.execute("INSERT INTO runs (run_id, started_at, shard_index, shard_count) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT DO NOTHING",
                        [run_id, now or utcnow(), shard and shard.index, shard and shard.count])

    def last_run_articles(self) -> int | None:
        """How many articles the last finished cycle stored; None before the first."""
        with self.connect() as con:
            row = con.execute("SELECT articles_new FROM runs WHERE finished_at IS NOT NULL "
                              "ORDER BY finished_at DESC LIMIT 1").fetchone()
        return None if row is None else (row[0] or 0)

    def finish_run(self, run_id: str, status: str, figures: dict[str, int], now: datetime | None = None) -> None:
        columns = ("feeds_polled", "feeds_failed", "articles_new", "relevant_new", "facts_new", "alerts_new",
                   "alerts_sent", "alerts_failed")
        with self.transaction() as con:
            con.execute(f"UPDATE runs SET finished_at = ?, status = ?, "
                        f"{', '.join(f'{c} = ?' for c in columns)} WHERE run_id = ?",
                        [now or utcnow(), status, *(figures.get(c) for c in columns), run_id])

    # -- reading ----------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence | None = None) -> tuple[list[str], list[tuple]]:
        """(column names, rows) of a read-only query."""
        with self.connect(read_only=True) as con:
            cursor = con.execute(sql, params or [])
            return [d[0] for d in cursor.description], cursor.fetchall()

