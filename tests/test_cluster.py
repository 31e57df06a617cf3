"""A cycle's CPU work on a real Dask cluster on loopback (dealwatch.cluster): a `dask scheduler` and two
`dask worker` processes (with dealwatch's preload), the evaluation harness's dev corpus over HTTP, real
DuckDB files. The same stages as a cycle (flows.monitor.cycle without the Prefect engine)."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from dealwatch import cluster
from dealwatch.warehouse import Warehouse
from flows.monitor import cycle
from paths import DEV_CORPUS, corpus_server_class
from waiting import wait_for


def rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _corpus_server():
    server = corpus_server_class()(DEV_CORPUS)
    server.set_phase(2)   # all 48 articles in one cycle: more than PARALLEL_MIN_ITEMS, so chunks go out
    return server


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    started = cluster.LocalCluster(workers=2, folder=tmp_path_factory.mktemp("dask"))
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def corpus():
    with _corpus_server() as server:
        yield server


def run_cycle(db: Path, feeds: list[str], address: str | None) -> dict:
    cluster.use_cluster(address)
    try:
        warehouse = Warehouse(db)
        with warehouse.cycle_lock():
            return asyncio.run(cycle(warehouse, feeds, [], [], None, {}, 10, engine=False))
    finally:
        cluster.use_cluster(None)


ARTICLES = "SELECT url, title, lang, relevant, relevance_score, text_source, content_hash, fingerprint FROM articles"
FACTS = "SELECT article_url, kind, value, evidence FROM facts"
ALERTS = "SELECT kind, value, article_url FROM alerts"


def test_the_dev_corpus_through_the_cluster_gives_what_the_local_pool_gives(dask_cluster, corpus, tmp_path):
    local = run_cycle(tmp_path / "local.duckdb", corpus.feed_urls(), None)
    before = dask_cluster.executed()
    remote = run_cycle(tmp_path / "cluster.duckdb", corpus.feed_urls(), dask_cluster.address)
    ran = dask_cluster.executed() - before
    # every page judged on the cluster's workers (none in the cycle's process), as the run's record says
    work = remote["dask"]["workers"]
    assert sum(w["items"] for w in work.values()) == 48, work
    assert ran == sum(n for w in work.values() for key, n in w.items() if key != "items"), (ran, work)
    assert local["dask"] == {} and remote["dask"]["scheduler"] == dask_cluster.address
    assert local["articles_new"] == remote["articles_new"] == 48
    for sql in (ARTICLES, FACTS, ALERTS):
        want = sorted(rows(tmp_path / "local.duckdb", sql))
        assert want and sorted(rows(tmp_path / "cluster.duckdb", sql)) == want, sql
    assert rows(tmp_path / "cluster.duckdb", "SELECT count(*) FROM feed_items WHERE status <> 'done'") == [(0,)]


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(dask_cluster, corpus, tmp_path):
    """SIGKILL the worker running a chunk: the scheduler reruns it on the other worker (the nanny restarts
    the killed one), and its outcomes are stored once, when they reach the cycle."""
    db = tmp_path / "w.duckdb"
    pids = dask_cluster.worker_pids()
    killed: dict = {}

    def kill_a_busy_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for address, keys in dask_cluster.client.processing().items():
                chunks = [k for k in keys if "_process_chunk" in str(k)]
                if chunks and address in pids:
                    os.kill(pids[address], signal.SIGKILL)
                    killed.update(address=address, keys=chunks)
                    return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    report = run_cycle(db, corpus.feed_urls(), dask_cluster.address)
    killer.join(timeout=5)
    assert killed, "a worker was running a chunk and was killed"
    # the killed worker's chunk ran again, on another worker: its story has it processing twice
    story = dask_cluster.client.story(*killed["keys"])
    workers_that_ran = {t[3] for t in story if len(t) > 3 and t[2] == "processing"}
    assert len(workers_that_ran) >= 2 or any("worker-lost" in str(t) or "KilledWorker" in str(t) for t in story), story
    assert report["articles_new"] == 48
    assert sum(w["items"] for w in report["dask"]["workers"].values()) == 48   # the killed chunk's pages once
    assert rows(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(48, 48)]
    assert rows(db, "SELECT count(*) FROM feed_items WHERE status <> 'done'") == [(0,)]
    alerts = rows(db, "SELECT kind, value FROM alerts")
    assert alerts and len(alerts) == len(set(alerts))
    wait_for("the nanny to restart the killed worker", lambda: len(dask_cluster.worker_pids()) == 2, timeout=120)


def test_no_scheduler_at_the_address_is_one_clear_line(tmp_path):
    """The choice: fail before any work, naming the address (not a quiet run on this machine)."""
    config = tmp_path / "dealwatch.toml"
    config.write_text('[scale]\ndask_scheduler = "tcp://127.0.0.1:7"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "dealwatch", "run", "--db", str(tmp_path / "w.duckdb"),
                             "--config", str(config), "--feed", "http://127.0.0.1:9/feed.xml",
                             "--dask", "tcp://127.0.0.1:9"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, cluster.ENV_SCHEDULER: "tcp://127.0.0.1:8"})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Dask scheduler answers at tcp://127.0.0.1:9" in lines[0], result.stderr
    assert not (tmp_path / "w.duckdb").exists() or rows(tmp_path / "w.duckdb", "SELECT count(*) FROM runs") == [(0,)]


def test_the_cluster_lost_mid_cycle_leaves_the_rest_queued_for_the_next_cycle(corpus, tmp_path):
    """The scheduler killed while chunks are out: the cycle fails with ClusterLost, what was stored stays,
    the rest stays queued; the next cycle (local pool) stores it: every article once."""
    db = tmp_path / "w.duckdb"
    lost = cluster.LocalCluster(workers=1, folder=tmp_path / "dask")
    try:
        killer = when_a_chunk_runs(lost, lambda: os.killpg(lost.scheduler.pid, signal.SIGKILL))
        with pytest.raises(cluster.ClusterLost, match="stays queued for the next cycle"):
            run_cycle(db, corpus.feed_urls(), lost.address)
        killer.join(timeout=5)
    finally:
        lost.close()
    the_rest_is_stored_by_the_next_cycle(db, corpus)


def the_rest_is_stored_by_the_next_cycle(db: Path, corpus) -> None:
    """After a cycle that failed for its cluster: what it stored is done, the rest queued, untouched; the next
    cycle (local pool) stores the rest: every article once."""
    stored = rows(db, "SELECT count(*) FROM articles")[0][0]
    assert stored < 48
    assert rows(db, "SELECT count(*) FROM feed_items WHERE status = 'done'") == [(stored,)]
    assert rows(db, "SELECT count(*) FROM feed_items WHERE status = 'pending' AND attempts = 0") == [(48 - stored,)]
    assert rows(db, "SELECT status FROM runs") == [("failed",)]
    report = run_cycle(db, corpus.feed_urls(), None)
    assert report["articles_new"] == 48 - stored
    assert rows(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(48, 48)]
    assert rows(db, "SELECT count(*) FROM feed_items WHERE status <> 'done'") == [(0,)]


def when_a_chunk_runs(dask_cluster: cluster.LocalCluster, then) -> threading.Thread:
    """then(), from a thread, as soon as a chunk of pages is running on a worker."""
    def watch():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any("_process_chunk" in str(key) for keys in dask_cluster.client.processing().values()
                   for key in keys):
                then()
                return
            time.sleep(0.005)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_no_worker_left_mid_cycle_gives_up_the_rest_after_a_wait_and_none_at_start_is_one_line(
        corpus, tmp_path, monkeypatch):
    """Every worker SIGKILLed (with its nanny: none comes back) while chunks are out: the cycle waits
    NO_WORKERS_WAIT for one, then fails with ClusterLost, the rest queued. A cycle started against that
    scheduler, still without workers: one line, before any work."""
    db = tmp_path / "w.duckdb"
    monkeypatch.setattr(cluster, "NO_WORKERS_WAIT", 3.0)
    workerless = cluster.LocalCluster(workers=1, folder=tmp_path / "dask")
    try:
        killer = when_a_chunk_runs(workerless, workerless.kill_workers)
        started = time.monotonic()
        with pytest.raises(cluster.ClusterLost, match="has had no worker for 3 s"):
            run_cycle(db, corpus.feed_urls(), workerless.address)
        assert time.monotonic() - started < 60
        killer.join(timeout=5)
        result = subprocess.run([sys.executable, "-m", "dealwatch", "run", "--db", str(tmp_path / "other.duckdb"),
                                 "--feed", corpus.feed_urls()[0], "--dask", workerless.address],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"the Dask scheduler at {workerless.address} has no workers" in lines[0], lines
    finally:
        workerless.close()
    the_rest_is_stored_by_the_next_cycle(db, corpus)


POISON = "bytedance-rejects-microsoft"   # a dev corpus page, made to kill its worker by tests/dask_poison.py


def test_a_page_that_kills_every_worker_it_runs_on_is_left_for_a_later_cycle(corpus, tmp_path):
    """The scheduler allows one worker death per job (allowed-failures 1): the chunk with the poison page dies
    twice (KilledWorker), its pages then run one job each: the poison page's job dies twice too and is
    recorded a transient failure with its reason (retried later with backoff, parked after its last attempt);
    the cycle completes with every other page stored once."""
    db = tmp_path / "w.duckdb"
    poisoned = cluster.LocalCluster(workers=2, folder=tmp_path / "dask", preload=[str(Path(__file__).with_name(
        "dask_poison.py"))], env={"DEALWATCH_TEST_POISON": POISON, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"})
    try:
        report = run_cycle(db, corpus.feed_urls(), poisoned.address)
    finally:
        poisoned.close()
    assert report["articles_new"] == 47 and report["retry_later"] == 1
    assert rows(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(47, 47)]
    assert rows(db, f"SELECT count(*) FROM articles WHERE url LIKE '%{POISON}%'") == [(0,)]
    (status, attempts, error, later), = rows(db, "SELECT status, attempts, last_error, next_attempt_at > now() "
                                              f"FROM feed_items WHERE link LIKE '%{POISON}%'")
    assert (status, attempts, later) == ("pending", 1, True)
    assert "killed its Dask worker every time it ran" in error and "KilledWorker" in error, error
    assert rows(db, "SELECT status FROM runs") == [("completed",)]


def test_the_address_from_the_command_line_else_the_environment_else_the_config(monkeypatch):
    from argparse import Namespace

    from dealwatch.cli import dask_scheduler
    from dealwatch.config import Config

    monkeypatch.setenv(cluster.ENV_SCHEDULER, "")   # recorded as it was (unset), restored so after the test:
    monkeypatch.delenv(cluster.ENV_SCHEDULER)         # dask_scheduler() sets it in os.environ itself
    try:
        assert dask_scheduler(Namespace(dask=None), Config()) is None
        assert cluster.scheduler_address() is None
        assert dask_scheduler(Namespace(dask=None), Config(dask_scheduler="tcp://c:1")) == "tcp://c:1"
        monkeypatch.setenv(cluster.ENV_SCHEDULER, "tcp://e:1")
        assert dask_scheduler(Namespace(dask=None), Config(dask_scheduler="tcp://c:1")) == "tcp://e:1"
        assert dask_scheduler(Namespace(dask="tcp://a:1"), Config(dask_scheduler="tcp://c:1")) == "tcp://a:1"
        assert cluster.scheduler_address() == "tcp://a:1" and os.environ[cluster.ENV_SCHEDULER] == "tcp://a:1"
    finally:
        cluster.use_cluster(None)


def test_a_backfill_batch_through_the_cluster_gives_what_the_local_pool_gives(dask_cluster):
    """cycle.process (a backfill's batch: the pool's map) on the dev corpus's 48 saved pages."""
    from datetime import date

    from dealwatch.cycle import Fetched, process, shutdown_workers
    from dealwatch.profile import load_profile
    from flows.backfill import _saved_page, read_source

    folder = DEV_CORPUS / "articles"
    if not folder.is_dir():
        pytest.skip("shared/corpus/dev is not beside the repository")
    fetched = [Fetched(item, _saved_page(item)) for item in read_source(folder).items]
    profile, today = load_profile(None), date(2026, 1, 5)
    try:
        local = process(fetched, profile, today, workers=2)
    finally:
        shutdown_workers()
    before = dask_cluster.executed()
    cluster.use_cluster(dask_cluster.address)
    try:
        remote = process(fetched, profile, today)
    finally:
        shutdown_workers()
        cluster.use_cluster(None)
    assert dask_cluster.executed() - before >= 4
    assert len(local) == 48 and all(o.article is not None for o in local)
    assert remote == local
