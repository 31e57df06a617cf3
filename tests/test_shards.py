"""Cycles in shards (dealwatch.shards, `dealwatch run --shard K/N`) on the single-file warehouse and on the
DuckLake on a real PostgreSQL (tests/postgres_server.py): the evaluation harness's dev corpus over HTTP, real
DuckDB files, a real webhook receiver, the cycle's stages without the Prefect engine (flows.monitor.cycle,
engine=False) as the benchmark runs them, in processes of their own where they run at once; the command
line for its errors. Shards of one count together poll every feed once and store what a cycle of every feed
stores; the cycle lock keeps apart only the runs that would poll the same feeds."""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from pydantic import SecretStr

from dealwatch.demo import SampleNewsServer
from dealwatch.shards import Shard, ShardError, all_shards, parse_shard, shard_of
from dealwatch.warehouse import CycleRunning, Warehouse
from flows.monitor import cycle
from paths import DEV_CORPUS, corpus_server_class

ROOT = Path(__file__).resolve().parents[1]


def rows(db, sql, params=None):
    """A query's rows, from a warehouse file or a lake (every table and view under its plain name)."""
    if isinstance(db, str) and db.startswith("ducklake:"):
        return Warehouse(db).query(sql, params)[1]
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(params=["file", "lake"])
def warehouse_at(request, tmp_path):
    """Where a test's warehouse is: a DuckDB file, or a new lake (its catalog in a fresh database of the
    session's PostgreSQL server, its files in a temporary directory), created and migrated."""
    if request.param == "file":
        return tmp_path / "w.duckdb"
    address = "ducklake:postgres:" + request.getfixturevalue("postgres_url")
    Warehouse(address, data_path=tmp_path / "lake").migrate()
    return address


# -- the assignment ---------------------------------------------------------------------------------

def test_a_shard_is_k_of_n_and_anything_else_is_one_clear_error():
    assert parse_shard("1/2") == Shard(1, 2) and parse_shard(" 2 / 2 ") == Shard(2, 2)
    assert parse_shard(None) is None and parse_shard("") is None
    for bad, says in (("3/2", "K must be between 1 and N"), ("0/2", "K must be between 1 and N"),
                      ("x", "give K/N"), ("1/0", "between 1 and"), ("1/2/3", "give K/N"), ("-1/2", "give K/N")):
        with pytest.raises(ShardError, match=says):
            parse_shard(bad)
    assert [str(s) for s in all_shards(3)] == ["1/3", "2/3", "3/3"]
    with pytest.raises(ShardError, match="whole number"):
        all_shards(0)


def test_every_feed_falls_in_exactly_one_shard_the_same_in_every_process():
    feeds = [f"https://news{i}.example.org/feed.xml" for i in range(200)]
    for count in (1, 2, 3, 7):
        parts = [s.feeds(feeds) for s in all_shards(count)]
        assert sorted(f for part in parts for f in part) == sorted(feeds)
        assert all(len(part) > 200 / count / 2 for part in parts), [len(p) for p in parts]   # spread, roughly even
    # a stable hash of the canonical URL, not Python's salted hash(): spelling variants share a shard, and
    # another interpreter (another hash seed) computes the same assignment
    assert shard_of("HTTPS://News1.Example.org:443/feed.xml#x", 7) == shard_of("https://news1.example.org/feed.xml", 7)
    expected = int.from_bytes(hashlib.sha256(b"https://news1.example.org/feed.xml").digest()[:8], "big") % 7 + 1
    assert shard_of("https://news1.example.org/feed.xml", 7) == expected
    code = "from dealwatch.shards import shard_of; print([shard_of(f'https://news{i}.example.org/feed.xml', 7) for i in range(50)])"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                           env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}).stdout.strip()
    assert other == str([shard_of(f"https://news{i}.example.org/feed.xml", 7) for i in range(50)])


def test_a_bad_shard_on_the_command_line_is_one_line(tmp_path):
    for bad, says in (("3/2", "K must be between 1 and N"), ("x", "give K/N")):
        result = subprocess.run([sys.executable, "-m", "dealwatch", "run", "--db", str(tmp_path / "w.duckdb"),
                                 "--feed", "http://127.0.0.1:9/feed.xml", "--shard", bad],
                                capture_output=True, text=True, timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL)
        assert result.returncode == 2, result.stderr
        assert says in result.stderr and "--shard" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "w.duckdb").exists()


# -- the cycle lock, per shard ------------------------------------------------------------------------

def test_the_cycle_lock_keeps_apart_only_the_cycles_that_share_feeds(warehouse_at):
    db = warehouse_at
    one, two = Shard(1, 2), Shard(2, 2)
    with Warehouse(db).cycle_lock(one):
        with Warehouse(db).cycle_lock(two):   # the other half runs beside it
            pass
        with pytest.raises(CycleRunning, match="shard 1/2 is running already"):
            with Warehouse(db).cycle_lock(one):
                pass
        with pytest.raises(CycleRunning, match="another dealwatch cycle is running"):
            with Warehouse(db).cycle_lock():   # every feed: 1/2's feeds too
                pass
        with pytest.raises(CycleRunning, match="cycles in 2 shards are running"):
            with Warehouse(db).cycle_lock(Shard(3, 3)):   # another count shares feeds with 1/2
                pass
    with Warehouse(db).cycle_lock():
        with pytest.raises(CycleRunning, match="a cycle of every feed is running"):
            with Warehouse(db).cycle_lock(two):
                pass
    with Warehouse(db).cycle_lock(Shard(3, 3)):   # free again once they have ended
        with Warehouse(db).cycle_lock(Shard(1, 3)):
            pass


def test_the_lock_is_held_across_processes_and_freed_by_a_killed_one(warehouse_at):
    db = str(warehouse_at)
    code = ("import sys, time; from dealwatch.warehouse import Warehouse; from dealwatch.shards import Shard\n"
            f"with Warehouse({str(db)!r}).cycle_lock(Shard(1, 2)):\n    print('held', flush=True); time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(CycleRunning):
            with Warehouse(db).cycle_lock(Shard(1, 2)):
                pass
        with Warehouse(db).cycle_lock(Shard(2, 2)):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with Warehouse(db).cycle_lock(Shard(1, 2)):
        pass


def test_a_shard_finds_interrupted_only_its_own_dead_runs(warehouse_at):
    warehouse = Warehouse(warehouse_at)
    warehouse.migrate()
    warehouse.start_run("a-1of2", shard=Shard(1, 2))
    warehouse.start_run("b-2of2", shard=Shard(2, 2))      # runs beside 1/2: leaves its row alone
    assert rows(warehouse_at, "SELECT run_id, status FROM runs ORDER BY run_id") == [
        ("a-1of2", "running"), ("b-2of2", "running")]
    warehouse.start_run("c-1of2", shard=Shard(1, 2))      # 1/2 again, under its lock: a-1of2's process is gone
    assert rows(warehouse_at, "SELECT run_id, status, shard_index, shard_count FROM runs ORDER BY run_id") == [
        ("a-1of2", "interrupted", 1, 2), ("b-2of2", "running", 2, 2), ("c-1of2", "running", 1, 2)]
    warehouse.start_run("d-all")                          # every feed: no shard runs beside it
    assert rows(warehouse_at, "SELECT run_id, status FROM runs WHERE status = 'running'") == [("d-all", "running")]


# -- the dev corpus in shards -------------------------------------------------------------------------

def corpus_server(count: int):
    """The dev corpus over HTTP, every article listed; on a port where each of `count` shards gets feeds (the
    port is part of the feeds' URLs, so of their shards: a few tries at most)."""
    server_class = corpus_server_class()
    for _ in range(20):
        server = server_class(DEV_CORPUS)
        if all(s.feeds(server.feed_urls()) for s in all_shards(count)):
            server.set_phase(2)
            return server
        server.close()
    raise AssertionError("no port gave every shard a feed in 20 tries")


@pytest.fixture(scope="module")
def corpus():
    server = corpus_server(2)
    yield server
    server.close()


@pytest.fixture(scope="module")
def whole(corpus, tmp_path_factory):
    """A cycle of every feed of the corpus, unsharded, into a file of its own: what shards must add up to."""
    db = tmp_path_factory.mktemp("whole") / "whole.duckdb"
    report = run(db, corpus.feed_urls(), None, [])
    assert report["articles_new"] == 48 and report["alerts_new"] > 0
    return SimpleNamespace(db=db, report=report)


def run(db: Path, feeds: list[str], shard: Shard | None, notify: list[str]) -> dict:
    warehouse = Warehouse(db)
    with warehouse.cycle_lock(shard):
        return asyncio.run(cycle(warehouse, feeds, [SecretStr(u) for u in notify], [], None, {}, 1000,
                                 engine=False, shard=shard))


ARTICLES = "SELECT url, feed_url, title, lang, relevant, relevance_score, text_source, content_hash FROM articles"
FACTS = "SELECT article_url, kind, value, evidence FROM facts"
# an alert names the first article that raised it: which one is first depends on the order articles are stored
ALERTS = "SELECT kind, value FROM alerts"


def test_two_shards_one_after_the_other_store_what_one_cycle_of_every_feed_stores(corpus, whole, webhook, tmp_path):
    feeds = corpus.feed_urls()
    db = tmp_path / "sharded.duckdb"
    halves = [run(db, feeds, s, [webhook.url("json")]) for s in all_shards(2)]

    # every feed polled once, by its own shard; each shard fetched only its own feeds' pages
    assert sorted(r["shard"] for r in halves) == ["1/2", "2/2"]
    assert [r["feeds_polled"] for r in halves] == [len(s.feeds(feeds)) for s in all_shards(2)]
    assert sum(r["feeds_polled"] for r in halves) == len(feeds) and all(r["feeds_polled"] for r in halves)
    for report, shard in zip(halves, all_shards(2)):
        stored_from = {f for (f,) in rows(db, "SELECT DISTINCT feed_url FROM articles WHERE run_id = ?",
                                         [report["run_id"]])}
        assert stored_from and stored_from <= set(shard.feeds(feeds)), (shard, stored_from)
    assert rows(db, "SELECT run_id, shard_index, shard_count, status FROM runs ORDER BY started_at") == [
        (halves[0]["run_id"], 1, 2, "completed"), (halves[1]["run_id"], 2, 2, "completed")]

    # together: what the cycle of every feed stored, each once
    assert sum(r["articles_new"] for r in halves) == 48
    assert sum(r["alerts_new"] for r in halves) == whole.report["alerts_new"]
    for sql in (ARTICLES, FACTS, ALERTS):
        want = sorted(rows(whole.db, sql))
        assert want and sorted(rows(db, sql)) == want, sql
    assert rows(db, "SELECT count(*) FROM feed_items WHERE status <> 'done'") == [(0,)]
    # every alert notified exactly once, whichever shard raised it (one message per alert: threshold 1000)
    alerts = [v for (v,) in rows(db, "SELECT value FROM alerts")]
    assert rows(db, "SELECT DISTINCT status FROM alerts") == [("sent",)]
    titles = [p["title"] for p in webhook.payloads]
    assert len(titles) == len(alerts)
    assert all(sum(f"{value}" in t for t in titles) >= 1 for value in alerts), titles

    # again, with nothing new: nothing new, nothing sent twice
    again = [run(db, feeds, s, [webhook.url("json")]) for s in all_shards(2)]
    for report in again:
        assert (report["articles_new"], report["facts_new"], report["alerts_new"], report["alerts_sent"]) == (0, 0, 0, 0)
    assert rows(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(48, 48)]
    assert len(webhook.payloads) == len(alerts)


# -- a shard killed mid-cycle -------------------------------------------------------------------------

@pytest.fixture
def news_in_two_shards():
    """The bundled sample news site, on a port where both of two shards get feeds (the port is part of the
    feeds' URLs, so of their shards: a few tries at most)."""
    for _ in range(20):
        server = SampleNewsServer()
        if all(s.feeds(server.feed_urls()) for s in all_shards(2)):
            break
        server.close()
    else:
        raise AssertionError("no port gave both shards a feed in 20 tries")
    try:
        yield server
    finally:
        server.close()


# One shard's cycle in a process of its own (the stages without the Prefect engine): argv db, shard, notify
# URL, fetch options (JSON), feeds; prints the report as JSON.
SHARD_CYCLE = """
import asyncio, json, sys
from pydantic import SecretStr
from dealwatch.shards import parse_shard
from dealwatch.warehouse import Warehouse
from flows.monitor import cycle
db, shard, notify, fetch, feeds = sys.argv[1], parse_shard(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
warehouse = Warehouse(db)
with warehouse.cycle_lock(shard):
    print(json.dumps(asyncio.run(cycle(warehouse, feeds, [SecretStr(notify)], [], None, json.loads(fetch), 1000,
                                       engine=False, shard=shard))))
"""


def shard_cycle(db, shard: str, notify: str, feeds: list[str], fetch: dict | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SHARD_CYCLE, str(db), shard, notify, json.dumps(fetch or {}),
                             *feeds], cwd=ROOT, stdin=subprocess.DEVNULL, **popen)


def reports_of(*processes: subprocess.Popen) -> list[dict]:
    """The cycles' reports, once each process has ended (all of them well)."""
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def test_two_shards_at_the_same_time_on_the_lake_store_every_article_once_and_alert_once(corpus, whole, webhook,
                                                                                         postgres_url, tmp_path):
    """The two shards of the dev corpus in two processes at once, writing one lake; then again with nothing
    new. Together they store what a cycle of every feed stores into a file, each article once; every alert
    is raised once and notified once (one message per alert), whichever shard delivered it."""
    address = "ducklake:postgres:" + postgres_url
    Warehouse(address, data_path=tmp_path / "lake").migrate()
    feeds = corpus.feed_urls()
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    halves = reports_of(*[shard_cycle(address, str(s), webhook.url("json"), feeds, **pipes) for s in all_shards(2)])
    assert [r["shard"] for r in halves] == ["1/2", "2/2"]
    assert [r["feeds_polled"] for r in halves] == [len(s.feeds(feeds)) for s in all_shards(2)]
    runs = rows(address, "SELECT shard_index, status, started_at, finished_at FROM runs ORDER BY shard_index")
    assert [(k, status) for k, status, *_ in runs] == [(1, "completed"), (2, "completed")]
    assert max(r[2] for r in runs) < min(r[3] for r in runs), f"the two shards ran at the same time: {runs}"

    assert sum(r["articles_new"] for r in halves) == 48
    assert sum(r["alerts_new"] for r in halves) == whole.report["alerts_new"]
    assert rows(address, "SELECT count(*), count(DISTINCT url) FROM articles") == [(48, 48)]
    for sql in (ARTICLES, FACTS, ALERTS):
        want = sorted(rows(whole.db, sql))
        assert want and sorted(rows(address, sql)) == want, sql
    assert rows(address, "SELECT count(*) FROM feed_items WHERE status <> 'done'") == [(0,)]
    alerts = [v for (v,) in rows(address, "SELECT value FROM alerts")]
    assert rows(address, "SELECT DISTINCT status FROM alerts") == [("sent",)]
    titles = [p["title"] for p in webhook.payloads]
    assert len(titles) == len(alerts) and all(any(v in t for t in titles) for v in alerts), (titles, alerts)

    again = reports_of(*[shard_cycle(address, str(s), webhook.url("json"), feeds, **pipes) for s in all_shards(2)])
    for report in again:
        assert (report["articles_new"], report["facts_new"], report["alerts_new"], report["alerts_sent"]) == (0, 0, 0, 0)
    assert rows(address, "SELECT count(*), count(DISTINCT url) FROM articles") == [(48, 48)]
    assert rows(address, "SELECT count(*) FROM facts") == rows(whole.db, "SELECT count(*) FROM facts")
    assert len(webhook.payloads) == len(alerts)


@pytest.mark.parametrize("warehouse_at", ["lake"], indirect=True)   # (a whole cycle killed on the file: test_cycle)
def test_a_shard_killed_mid_cycle_beside_the_other_then_rerun_loses_nothing_and_repeats_nothing(
        news_in_two_shards, warehouse_at):
    """Shard 1/2 hangs on a page of its own feeds while 2/2 runs its whole cycle beside it (both hold their
    locks at once); 1/2 is SIGKILLed, then run again: every listed article once, every alert raised once and
    notified once (one message per alert), the killed run found 'interrupted' by its own shard's next run."""
    news, db = news_in_two_shards, warehouse_at
    first = all_shards(2)[0]
    hung = next(f"/a/{a['id']}.html" for a in news.articles
                if a.get("phase", 1) == 1 and first.holds(f"{news.base_url}/feeds/{a['feed']}.xml"))
    news.delays[hung] = 120
    # the hung page holds 1/2 for as long as 2/2 takes (not cut after the default 5 s without a byte)
    killed = shard_cycle(db, "1/2", news.notify_url, news.feed_urls(), {"read_timeout": 300, "deadline": 300},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not news.hits.get(hung) and time.monotonic() < deadline and killed.poll() is None:
            time.sleep(0.1)
        assert news.hits.get(hung), "shard 1/2 reached the hung page"
        other = shard_cycle(db, "2/2", news.notify_url, news.feed_urls(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
        out, err = other.communicate(timeout=240)
        assert other.returncode == 0, err[-3000:]
        assert killed.poll() is None, "1/2 was still in its cycle while 2/2 ran"
    finally:
        os.killpg(killed.pid, signal.SIGKILL)   # the whole group: the cycle and its worker processes
        killed.wait(timeout=30)
    news.delays.clear()
    beside = json.loads(out.strip().splitlines()[-1])
    assert beside["shard"] == "2/2" and beside["articles_new"] > 0

    rerun = shard_cycle(db, "1/2", news.notify_url, news.feed_urls(), stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
    out, err = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, err[-3000:]
    assert rows(db, "SELECT shard_index, status FROM runs ORDER BY started_at") == [
        (1, "interrupted"), (2, "completed"), (1, "completed")]
    listed = [a for a in news.articles if a.get("phase", 1) == 1]
    assert rows(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(len(listed), len(listed))]
    assert rows(db, "SELECT count(*) FROM feed_items WHERE status <> 'done'") == [(0,)]
    alerts = [v for (v,) in rows(db, "SELECT value FROM alerts")]
    assert alerts and rows(db, "SELECT DISTINCT status FROM alerts") == [("sent",)]
    assert len(alerts) == len({v for v in alerts})
    titles = [n["title"] for n in news.notifications]
    assert len(titles) == len(alerts) and all(any(v in t for t in titles) for v in alerts), (titles, alerts)


def test_an_outage_is_reported_by_one_deliverer_of_two_at_once(warehouse_at):
    """Two shards' deliveries at once both find a destination down for over an hour: the report is claimed
    atomically, so only one of them sends it; one that reached nobody gives the claim back."""
    from datetime import timedelta

    from dealwatch.warehouse import utcnow
    warehouse = Warehouse(warehouse_at)
    warehouse.migrate()
    t0 = utcnow() - timedelta(hours=2)
    warehouse.record_attempt("mailto://m", ok=False, error="down", now=t0)
    first, second = Warehouse(warehouse_at), Warehouse(warehouse_at)   # two deliverers
    claimed = first.claim_outage_report("mailto://m", t0 + timedelta(hours=1))
    assert claimed is not None and second.claim_outage_report("mailto://m") is None
    first.release_outage_report("mailto://m", claimed)                 # its report reached nobody
    assert second.claim_outage_report("mailto://m") is not None and first.claim_outage_report("mailto://m") is None
    warehouse.record_attempt("mailto://m", ok=True)                    # the outage is over: nothing to report
    assert first.claim_outage_report("mailto://m") is None
