"""The warehouse as a DuckLake with its catalog in PostgreSQL: one warehouse that many processes, on many
machines, write at once. The only module that talks to PostgreSQL and DuckLake.

    Warehouse("ducklake:postgres:host=db.internal dbname=dealwatch user=dealwatch", data_path="/mnt/lake")

Where things live, and why:
  - PostgreSQL, schema `dealwatch` (psycopg): the coordination state, everything that needs uniqueness or an
    atomic claim: feeds, the fetch queue (feed_items), the outbox (alerts, alert_failures, destinations),
    runs, news_links, and lake_articles (the articles' key). DuckLake has no PRIMARY KEY, UNIQUE, ON CONFLICT
    or UPDATE ... RETURNING, and DuckDB's postgres extension does not do RETURNING: these tables keep the file
    warehouse's exactly-once machinery as it is, on PostgreSQL's constraints and row locks. The SQL is the
    file warehouse's own (dealwatch.warehouse), run through a thin adapter (placeholders, one array type);
    only the statements DuckDB and PostgreSQL spell differently are written here.
  - The lake (DuckDB + the ducklake extension; catalog in PostgreSQL schema `ducklake`, Parquet files in the
    data directory): articles and facts, the bulk of the data, and the views for people.
  - A store (store_outcomes) claims its articles' urls in lake_articles in a PostgreSQL transaction, writes
    the lake while holding the claim, and commits PostgreSQL last (queue progress and alerts with it). A
    second writer of the same url waits on the claim and then finds it taken; a writer that dies after the
    lake's commit and before PostgreSQL's leaves rows in the lake whose claim was rolled back: the next
    writer finds them and stores nothing twice, but raises their alerts. Conflicting lake commits and
    PostgreSQL deadlocks are retried, never dropped.

The extensions are loaded from the registry's packages (duckdb-extension-ducklake,
duckdb-extension-postgres-scanner): DuckDB would otherwise download them at first use.
"""
from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import duckdb
import psycopg
from psycopg import errors as pg_errors
from psycopg.types.string import StrDumper

from dealwatch.errors import LakeError  # noqa: F401  (re-exported)
from dealwatch.model import Alert
from dealwatch.shards import MAX_SHARDS, Shard
from dealwatch.warehouse import (INSERT_ARTICLES, INSERT_FACTS, LAKE_PREFIX, CycleRunning, ItemOutcome,
                                 StoreResult, Warehouse, WarehouseError, alerts_to_raise, article_columns, article_rows,
                                 facts_to_store, fact_columns, migrations_dir, utcnow)

PG_SCHEMA = "dealwatch"          # the coordination tables
CATALOG_SCHEMA = "ducklake"      # DuckLake's own catalog tables
LAKE_MIGRATIONS_PACKAGE_DIR = "_warehouse/lake"
CYCLE_EVERY_FEED = 0x6477_0001  # advisory lock classes of the cycle lock (cycle_lock): a cycle of every feed,
CYCLE_SHARDS = 0x6477_0002      # the count of shards running (object: N), one shard (object: N * MAX_SHARDS + K)
CYCLE_SHARD = 0x6477_0003
STORE_ATTEMPTS = 8               # a store retried this often on a lake write conflict or a deadlock
RETRYABLE_PG = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)


_LAKES: dict[tuple[str, str | None], duckdb.DuckDBPyConnection] = {}   # (conninfo, data path) -> DuckDB database
_LAKES_LOCK = threading.Lock()


def lake_migrations_dir() -> Path:
    packaged = resources.files("dealwatch") / LAKE_MIGRATIONS_PACKAGE_DIR
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "warehouse" / "lake"


def lake_migrations() -> list[tuple[int, Path, Path]]:
    """(version, PostgreSQL side, DuckLake side) of every lake migration, in order."""
    found: dict[int, dict[str, Path]] = {}
    for path in sorted(lake_migrations_dir().glob("*.sql")):
        match = re.match(r"(\d+)_(postgres|ducklake)\.sql$", path.name)
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = path
    return [(v, sides["postgres"], sides["ducklake"]) for v, sides in sorted(found.items())]


def extension_path(package: str, name: str) -> str:
    """The extension file a registry package ships (loaded by path: no download)."""
    module = __import__(package)
    found = sorted(Path(module.__file__).parent.glob(f"extensions/*/{name}.duckdb_extension"))
    if not found:
        raise LakeError(f"the DuckDB extension {name} is missing from the package {package}: reinstall dealwatch")
    return str(found[-1])


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def public_conninfo(conninfo: str) -> str:
    """The conninfo as it may be shown: never a password (refused in the address anyway)."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "(an unreadable conninfo)"
    parts.pop("password", None)
    return " ".join(f"{k}={v}" for k, v in parts.items())


# -- the file warehouse's SQL on PostgreSQL ------------------------------------------------------------

_DOUBLE = re.compile(r"::DOUBLE\b")              # DuckDB's DOUBLE is PostgreSQL's FLOAT8
_RAGGED_INT_ARRAY = "unnest(?::INTEGER[][])"   # PostgreSQL arrays are rectangular: one text literal a row
# `x IN (SELECT unnest(?))` of an empty list: psycopg sends an empty array untyped, and PostgreSQL cannot choose
# an unnest for it ("function unnest(unknown) is not unique"). `x = ANY('{}')` is false as well, and its empty
# array takes x's type, whatever it is
_IN_LIST = "IN (SELECT unnest(?))"
_IN_NOTHING = "= ANY('{}')"


def _pg_array_literal(values) -> str | None:
    return None if values is None else "{" + ",".join(str(int(v)) for v in values) + "}"


def to_postgres(sql: str, params: Sequence | None) -> tuple[str, list | None]:
    """A statement of dealwatch.warehouse, written for DuckDB, as psycopg takes it: `?` placeholders as %s,
    DOUBLE as FLOAT8, a ragged INTEGER[][] parameter as one '{...}' literal a row, `IN (SELECT unnest(?))` of an
    empty list as `= ANY('{}')`."""
    if not params:   # no parameters: psycopg sends the text as it is (several statements allowed, no %s)
        return sql, None
    params = list(params)
    at = sql.rfind(_IN_LIST)
    while at >= 0:   # from the last: the placeholders before it keep their numbers
        index = sql.count("?", 0, at)
        if isinstance(params[index], (list, tuple)) and not params[index]:
            sql = sql[:at] + _IN_NOTHING + sql[at + len(_IN_LIST):]
            del params[index]
        at = sql.rfind(_IN_LIST, 0, at)
    if _RAGGED_INT_ARRAY in sql:
        at = sql.index(_RAGGED_INT_ARRAY)
        index = sql.count("?", 0, at)
        params[index] = [_pg_array_literal(row) for row in params[index]]
        sql = sql.replace(_RAGGED_INT_ARRAY, "unnest(?::VARCHAR[])::INTEGER[]", 1)
    sql = _DOUBLE.sub("::FLOAT8", sql).replace("%", "%%").replace("?", "%s")
    return sql, params


class PostgresCursor:
    """DuckDB's connection interface (execute(...).fetchall(), fetchone, description) over a psycopg
    connection, so that dealwatch.warehouse's methods run unchanged on the coordination tables."""

    def __init__(self, connection: psycopg.Connection):
        self.connection = connection
        self._cursor: psycopg.Cursor | None = None

    def execute(self, sql: str, params: Sequence | None = None) -> "PostgresCursor":
        statement, values = to_postgres(sql, params)
        self._cursor = self.connection.execute(statement, values)
        return self

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall() if self._cursor is not None and self._cursor.description else []

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone() if self._cursor is not None and self._cursor.description else None

    @property
    def description(self):
        return self._cursor.description if self._cursor is not None else None


class LakeWarehouse(Warehouse):
    """A DuckLake whose catalog and coordination state are in PostgreSQL: Warehouse's methods, same
    guarantees, for many writers at once. Created by Warehouse(address) for a "ducklake:postgres:" address."""

    def __init__(self, path: str, lock_timeout: float = 60.0, *, data_path: str | Path | None = None, **kwargs):
        super().__init__(path, lock_timeout, **kwargs)   # (data_path: not passed on, the file refuses it)
        self.path = path   # the address, as given: passed on to the flows' tasks (str(warehouse.path))
        self.conninfo = path[len(LAKE_PREFIX):].strip()
        self.data_path = str(data_path) if data_path else None
        try:
            parts = psycopg.conninfo.conninfo_to_dict(self.conninfo)
        except psycopg.ProgrammingError as e:
            raise LakeError(f"the lake's address {LAKE_PREFIX}... has an unreadable libpq conninfo ({e}): give "
                            f"key=value pairs, e.g. {LAKE_PREFIX}host=db.internal dbname=dealwatch") from None
        if "password" in parts:
            raise LakeError("the lake's address holds a password: it would show in logs and in Prefect's "
                            "parameters; put it in ~/.pgpass (or PGPASSFILE / PGPASSWORD) instead")
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"LakeWarehouse({public_conninfo(self.conninfo)!r})"

    # -- connections ------------------------------------------------------------------------------

    def _connect_pg(self, autocommit: bool = False) -> psycopg.Connection:
        try:
            connection = psycopg.connect(self.conninfo, autocommit=autocommit, connect_timeout=10,
                                         options=f"-c search_path={PG_SCHEMA}")
        except psycopg.Error as e:
            raise LakeError(f"cannot reach the lake's PostgreSQL ({public_conninfo(self.conninfo)}): "
                            f"{str(e).strip().splitlines()[0]}") from None
        # strings as text, not psycopg's default "unknown": a list of them is then a text[], which the file
        # warehouse's untyped `unnest(?)` needs to resolve
        connection.adapters.register_dumper(str, StrDumper)
        return connection

    def _pg(self) -> psycopg.Connection:
        """This thread's PostgreSQL connection (kept: a connection costs a few ms)."""
        connection = getattr(self._local, "pg", None)
        if connection is None or connection.closed or connection.broken:
            connection = self._local.pg = self._connect_pg()
        return connection

    @contextmanager
    def session(self, release_after: float | None = None) -> Iterator[None]:
        """Nothing to hold: PostgreSQL and DuckLake take many writers (the file's session exists for its lock)."""
        yield

    @contextmanager
    def connect(self, read_only: bool = False):
        """read_only: a DuckDB connection for people's queries (report, export, sql), every table and view of
        the warehouse under its plain name; else the coordination tables' PostgreSQL connection (as
        transaction())."""
        if read_only:
            con = self._reader()
            try:
                yield con
            finally:
                con.close()
            return
        with self.transaction() as con:
            yield con

    @contextmanager
    def transaction(self) -> Iterator[PostgresCursor]:
        """A PostgreSQL transaction on the coordination tables, committed when the block ends, rolled back on
        an error; one opened inside another joins it."""
        outer = getattr(self._local, "transaction", None)
        if outer is not None:
            yield outer
            return
        connection = self._pg()
        cursor = PostgresCursor(connection)
        self._local.transaction = cursor
        try:
            yield cursor
        except BaseException:
            try:
                connection.rollback()
            except psycopg.Error:
                pass
            raise
        finally:
            self._local.transaction = None
        connection.commit()

    def _duckdb(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute(f"LOAD {_literal(extension_path('duckdb_extension_postgres_scanner', 'postgres_scanner'))}")
        con.execute(f"LOAD {_literal(extension_path('duckdb_extension_ducklake', 'ducklake'))}")
        return con

    def _attach_lake(self, con: duckdb.DuckDBPyConnection, read_only: bool = False) -> None:
        options = [f"METADATA_SCHEMA {_literal(CATALOG_SCHEMA)}"]
        if read_only:
            options.append("READ_ONLY")
        elif self.data_path and self._check_data_path() is None:
            options.append(f"DATA_PATH {_literal(self.data_path)}")
        try:
            con.execute(f"ATTACH {_literal(LAKE_PREFIX + self.conninfo)} AS lake ({', '.join(options)})")
        except duckdb.Error as e:
            raise LakeError(f"cannot attach the lake ({public_conninfo(self.conninfo)}): "
                            f"{str(e).strip().splitlines()[0]}") from None

    def _lake(self) -> duckdb.DuckDBPyConnection:
        """This thread's DuckDB connection with the lake attached and in use. One DuckDB database per process
        and lake holds the extensions and the attachment (loading and attaching cost ~1 s of CPU); each thread
        has its own connection to it (cursor()), with its own transactions."""
        con = getattr(self._local, "lake", None)
        if con is None:
            key = (self.conninfo, self.data_path)
            with _LAKES_LOCK:
                database = _LAKES.get(key)
                if database is None:
                    database = self._duckdb()
                    self._attach_lake(database)
                    _LAKES[key] = database
            con = self._local.lake = database.cursor()
            con.execute("USE lake")
        return con

    def _reader(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection where the lake's tables and views and the coordination tables all answer to
        their plain names (views in DuckDB's in-memory catalog): the file warehouse's queries run as they are."""
        if not self._lake_exists():
            raise LakeError(f"no warehouse in the lake at {public_conninfo(self.conninfo)}: run `dealwatch run` "
                            f"(with --data-path for a new lake) first")
        con = self._duckdb()
        self._attach_lake(con, read_only=True)
        try:
            con.execute(f"ATTACH {_literal(self.conninfo)} AS pg (TYPE postgres, READ_ONLY, "
                        f"SCHEMA {_literal(PG_SCHEMA)})")
        except duckdb.Error as e:
            raise LakeError(f"cannot reach the lake's PostgreSQL ({public_conninfo(self.conninfo)}): "
                            f"{str(e).strip().splitlines()[0]}") from None
        relations = con.execute(
            "SELECT database_name, table_name FROM duckdb_tables() WHERE (database_name = 'lake' AND "
            "schema_name = 'main') OR (database_name = 'pg' AND schema_name = ?) "
            "UNION ALL SELECT database_name, view_name FROM duckdb_views() WHERE database_name = 'lake' "
            "AND schema_name = 'main' AND NOT internal", [PG_SCHEMA]).fetchall()
        for database, name in relations:
            if name == "lake_articles":
                continue   # the lake's key: bookkeeping of the lake itself, not the warehouse's
            schema = "main" if database == "lake" else PG_SCHEMA
            con.execute(f'CREATE VIEW memory.main."{name}" AS SELECT * FROM {database}.{schema}."{name}"')
        con.execute("USE memory")
        return con

    def _check_data_path(self) -> str | None:
        """The data directory the lake recorded (None: no lake yet); a different one given is refused."""
        recorded = self._recorded_data_path()
        if recorded is not None and recorded.rstrip("/") != self.data_path.rstrip("/"):
            raise LakeError(f"the lake's data directory is {recorded} (recorded when the lake was created), "
                            f"not {self.data_path}: every worker must see it at that path; give that one, "
                            f"or no --data-path")
        return recorded

    def _recorded_data_path(self) -> str | None:
        """The data directory the lake was created with (DuckLake keeps it in its catalog); None: no lake yet."""
        if not self._lake_exists():
            return None
        with self.transaction() as con:
            row = con.execute(f"SELECT value FROM {CATALOG_SCHEMA}.ducklake_metadata WHERE key = 'data_path'").fetchone()
        return row[0] if row else None

    def _lake_exists(self) -> bool:
        with self.transaction() as con:
            return con.execute("SELECT to_regclass(?) IS NOT NULL",
                               [f"{CATALOG_SCHEMA}.ducklake_metadata"]).fetchone()[0]

    @contextmanager
    def cycle_lock(self, shard: Shard | None = None) -> Iterator[None]:
        """Warehouse.cycle_lock on the lake, the same rules (a cycle of every feed alone; shards of one count
        beside each other, never one shard twice; never two counts at once), with PostgreSQL advisory locks
        instead of files: held by a connection of the cycle's own, released by PostgreSQL when that connection
        ends, however the process (or its machine) died. The two-number form (class, object): a shard's count
        is the object of a CYCLE_SHARDS lock, which pg_locks shows to a run of another count."""
        connection = self._connect_pg(autocommit=True)
        where = f"on the lake {public_conninfo(self.conninfo)}"
        busy = f"another dealwatch cycle is running {where}; this one was not started"

        def take(key: int, number: int, shared: bool, message: str) -> None:
            function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
            if not connection.execute(f"SELECT {function}(%s::INT4, %s::INT4)", [key, number]).fetchone()[0]:
                raise CycleRunning(message)

        try:
            if shard is None:
                take(CYCLE_EVERY_FEED, 0, False, f"{busy} (it would find nothing the other does not)")
            else:
                take(CYCLE_EVERY_FEED, 0, True, f"a cycle of every feed is running {where}; shard {shard} was not "
                                                f"started")
                take(CYCLE_SHARDS, shard.count, True, busy)
                others = sorted(n for (n,) in connection.execute(
                    "SELECT DISTINCT objid::BIGINT FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND classid = %s::BIGINT::OID AND objsubid = 2 AND objid <> %s::BIGINT::OID",
                    [CYCLE_SHARDS, shard.count]).fetchall())
                if others:
                    raise CycleRunning(f"cycles in {others[0]} shards are running {where}; shard {shard} was not "
                                       f"started (shards of two counts would poll the same feeds): it runs once "
                                       f"those have ended")
                take(CYCLE_SHARD, shard.count * MAX_SHARDS + shard.index, False,
                     f"{busy}: shard {shard} is running already")
            yield
        finally:
            connection.close()

    # -- schema -----------------------------------------------------------------------------------

    def schema_version(self, con=None) -> int:
        with self.transaction() as pg:
            pg.execute("SELECT pg_advisory_xact_lock(hashtextextended('dealwatch migrate', 0))")  # (CREATE ... IF
            pg.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")                       # NOT EXISTS races)
            pg.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
            return pg.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]

    def migrate(self) -> int:
        """Bring both sides up to date. PostgreSQL's side and the version row commit together, after the
        lake's side (which records its own version in the lake: a migration cut between the two commits is
        finished by the next one without running the lake's part twice). Two processes migrating at once
        take turns (an advisory lock)."""
        steps = lake_migrations()
        newest = steps[-1][0] if steps else 0
        if self.data_path:
            self._check_data_path()
        current = self.schema_version()
        if current == newest:
            return current
        if current > newest:
            raise LakeError(f"the lake {public_conninfo(self.conninfo)} has schema version {current}, newer than "
                            f"this dealwatch knows ({newest}): upgrade dealwatch")
        if not self._lake_exists() and not self.data_path:
            raise LakeError("a new lake needs a data directory for its files: give --data-path DIR (or "
                            "[warehouse] data_path in the config), a directory every worker sees at that path")
        with self.transaction() as pg:
            pg.execute("SELECT pg_advisory_xact_lock(hashtextextended('dealwatch migrate', 0))")
            current = pg.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
            lake = self._lake()
            for version, pg_side, lake_side in steps:
                if version <= current:
                    continue
                try:
                    pg.execute(pg_side.read_text(encoding="utf-8"))
                    self._migrate_lake(lake, version, lake_side)
                    pg.execute("INSERT INTO schema_version VALUES (?, ?)", [version, utcnow()])
                except (psycopg.Error, duckdb.Error) as e:
                    raise LakeError(f"lake migration {version} failed: {str(e).strip().splitlines()[0]}") from e
                current = version
        return current

    @staticmethod
    def _migrate_lake(lake: duckdb.DuckDBPyConnection, version: int, path: Path) -> None:
        lake.execute("CREATE TABLE IF NOT EXISTS lake_schema_version (version INTEGER, applied_at TIMESTAMP)")
        if lake.execute("SELECT count(*) FROM lake_schema_version WHERE version = ?", [version]).fetchone()[0]:
            return
        lake.execute("BEGIN TRANSACTION")
        try:
            lake.execute(path.read_text(encoding="utf-8"))
            if version == 1:   # the views for people, as the file warehouse's migration 002 defines them
                lake.execute((migrations_dir() / "002_views.sql").read_text(encoding="utf-8"))
            lake.execute("INSERT INTO lake_schema_version VALUES (?, ?)", [version, utcnow()])
            lake.execute("COMMIT")
        except BaseException:
            lake.execute("ROLLBACK")
            raise

    # -- storing ----------------------------------------------------------------------------------

    def store_outcomes(self, outcomes: Sequence[ItemOutcome], run_id: str | None = None,
                       now: datetime | None = None, target_label: str | None = None) -> StoreResult:
        """Warehouse.store_outcomes on the lake: the same result, with many writers at once (see the module's
        docstring for the order of commits). A deadlock between two writers' PostgreSQL transactions rolls
        one back; it is stored again from the start."""
        now = now or utcnow()
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                return self._store(outcomes, run_id, now, target_label)
            except RETRYABLE_PG:
                if attempt == STORE_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.05, 0.2) * attempt)
        raise AssertionError("unreachable")

    def _store(self, outcomes: Sequence[ItemOutcome], run_id: str | None, now: datetime,
               target_label: str | None = None) -> StoreResult:
        result = StoreResult()
        with self.transaction() as pg:
            judged = []
            for outcome in outcomes:
                if outcome.article is None:
                    self._retry_later(pg, outcome, now, result)
                else:
                    judged.append(outcome)
            if not judged:
                return result
            links = sorted({o.item.link for o in judged})   # claimed in one order: no deadlock between stores
            claimed = {url for (url,) in pg.execute(
                "INSERT INTO lake_articles (url, stored_at) SELECT u, ? FROM unnest(?::VARCHAR[]) AS u ORDER BY u "
                "ON CONFLICT DO NOTHING RETURNING url", [now, links]).fetchall()}
            existing = set(links) - claimed
            facts = self._write_lake(judged, existing, claimed, now, run_id, result) if claimed else []
            self._mark_done(pg, judged)
            self._raise_alerts(pg, alerts_to_raise(facts, {(f[0], f[1].kind, f[1].value) for f in facts}, result),
                               now, run_id, result, target_label)
        return result

    def _write_lake(self, judged, existing: set[str], claimed: set[str], now: datetime, run_id: str | None,
                    result: StoreResult) -> list:
        """The claimed articles and their facts into the lake, in one lake transaction, retried when its commit
        conflicts with another writer's; the facts of the claimed articles. Rows that a store which died before
        committing PostgreSQL left in the lake are kept, not written again; they count (and alert) as this
        store's, since their claim and alerts were rolled back with it."""
        for attempt in range(1, STORE_ATTEMPTS + 1):
            lake = self._lake()
            counted = StoreResult()
            lake.execute("BEGIN TRANSACTION")
            try:
                left = {url for (url,) in lake.execute(
                    "SELECT DISTINCT url FROM articles WHERE url IN (SELECT unnest(?::VARCHAR[]))",
                    [sorted(claimed)]).fetchall()}
                stories = self._stories_of(lake, [o for o in judged if o.item.link in claimed - left])
                rows, new = article_rows(judged, existing | left, stories, now, run_id)
                if rows:
                    lake.execute(INSERT_ARTICLES, article_columns(rows))
                _, new_before = article_rows([o for o in judged if o.item.link in left], set(), {}, now, run_id)
                facts = facts_to_store(new, claimed, counted) + facts_to_store(new_before, left, counted)
                stored = set(lake.execute(
                    "SELECT article_url, kind, value FROM facts WHERE article_url IN (SELECT unnest(?::VARCHAR[]))",
                    [sorted(left)]).fetchall()) if left else set()
                missing = [f for f in facts if (f[0], f[1].kind, f[1].value) not in stored]
                if missing:
                    lake.execute(INSERT_FACTS, fact_columns(missing, now, run_id))
                lake.execute("COMMIT")
            except duckdb.TransactionException:
                self._discard_lake()
                if attempt == STORE_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.02, 0.1) * attempt)
                continue
            except BaseException:
                self._discard_lake()
                raise
            for name in ("articles_new", "relevant_new", "duplicates"):
                setattr(result, name, getattr(result, name) + getattr(counted, name))
            return facts
        raise AssertionError("unreachable")

    def _discard_lake(self) -> None:
        """After a failed lake transaction: this thread's next one starts on a fresh connection."""
        con = getattr(self._local, "lake", None)
        self._local.lake = None
        if con is not None:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass   # (nothing was open)
            try:
                con.close()
            except duckdb.Error:
                pass

    # -- the statements PostgreSQL spells differently -----------------------------------------------

    @staticmethod
    def _unnest(type_: str) -> str:
        """A column of the inherited statements, as PostgreSQL takes it: a list parameter (psycopg's array)."""
        return f"unnest(?::{type_}[])"

    @staticmethod
    def _column(values: Sequence):
        return list(values)

    def record_news_links(self, decoded: dict[str, str | None], errors: dict[str, str] | None = None,
                          now: datetime | None = None) -> None:
        if not decoded:
            return
        errors, links = errors or {}, list(decoded)
        with self.transaction() as con:
            con.execute(
                "INSERT INTO news_links (link, publisher_url, error, resolved_at) "
                "SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ?::TIMESTAMP "
                "ON CONFLICT (link) DO UPDATE SET publisher_url = excluded.publisher_url, error = excluded.error, "
                "resolved_at = excluded.resolved_at",
                [links, [decoded[k] for k in links], [errors.get(k) for k in links], now or utcnow()])

    def claim_alerts(self, now: datetime | None = None, lease: timedelta = timedelta(minutes=10)) -> list[Alert]:
        """Warehouse.claim_alerts with FOR UPDATE SKIP LOCKED: two deliverers on two machines never claim one
        alert; the articles' titles come from the lake."""
        now = now or utcnow()
        with self.transaction() as con:
            claimed = [i for (i,) in con.execute(
                "UPDATE alerts SET status = 'sending', next_attempt_at = ? WHERE id IN (SELECT id FROM alerts "
                "WHERE status = 'pending' OR (status = 'sending' AND next_attempt_at <= ?) "
                "ORDER BY id FOR UPDATE SKIP LOCKED) RETURNING id", [now + lease, now]).fetchall()]
            if not claimed:
                return []
            rows = con.execute(
                "SELECT a.id, a.kind, a.value, a.evidence, a.article_url, a.detail::TEXT, a.attempts, a.delivered_to, "
                "(SELECT array_agg(f.destination ORDER BY f.destination) FROM alert_failures f WHERE f.alert_id = a.id), "
                "a.target_label FROM alerts a WHERE a.id IN (SELECT unnest(?::BIGINT[])) ORDER BY a.id",
                [claimed]).fetchall()
        articles = self._articles([r[4] for r in rows])
        alerts = []
        for i, k, v, e, u, d, n, to, failed, label in rows:
            t, s, p = articles.get(u, (None, None, None))
            alerts.append(Alert(id=i, kind=k, value=v, evidence=e or "", article_url=u, article_title=t or "",
                                source=s or "", published=p.date() if p else None, detail=json.loads(d) if d else {},
                                attempts=n, delivered_to=tuple(to or ()), failed_to=tuple(failed or ()),
                                target_label=label or ""))
        return alerts

    def _articles(self, urls: Sequence[str]) -> dict[str, tuple]:
        """url -> (title, source, published_at) of these articles in the lake."""
        if not urls:
            return {}
        lake = self._lake()
        try:
            return {u: rest for u, *rest in lake.execute(
                "SELECT url, title, source, published_at FROM articles WHERE url IN (SELECT unnest(?::VARCHAR[]))",
                [sorted(set(urls))]).fetchall()}
        except duckdb.Error:
            self._discard_lake()
            raise

    def mark_delivered(self, ids: Sequence[int], now: datetime | None = None, destination: str | None = None) -> None:
        if destination is None:
            return super().mark_delivered(ids, now)
        with self.transaction() as con:
            con.execute("UPDATE alerts SET delivered_to = ARRAY(SELECT DISTINCT unnest(array_append("
                        "coalesce(delivered_to, '{}'::VARCHAR[]), ?::VARCHAR))) "
                        "WHERE id IN (SELECT unnest(?::BIGINT[]))", [destination, list(ids)])

    def mark_failed(self, ids: Sequence[int], error: str, now: datetime | None = None,
                    delivered_to: Sequence[str] = ()) -> int:
        with self.transaction() as con:
            con.execute("UPDATE alerts SET attempts = attempts + 1, last_error = ?, next_attempt_at = NULL, "
                        "status = 'pending', delivered_to = ARRAY(SELECT DISTINCT unnest(array_cat("
                        "coalesce(delivered_to, '{}'::VARCHAR[]), ?::VARCHAR[]))) "
                        "WHERE id IN (SELECT unnest(?::BIGINT[]))", [error, list(delivered_to), list(ids)])
        return 0
