"""The warehouse as a DuckLake with its catalog in a real PostgreSQL server (tests/postgres_server.py), its files
in a temporary directory: the same results as the file, with several writers at once; a writer killed at any
point loses nothing and repeats nothing. The news: the bundled sample site (dealwatch.demo) on loopback."""
from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from dealwatch.lake import LakeError, LakeWarehouse
from dealwatch.model import Article, Fact, FeedItem, Judgment, Relevance
from dealwatch.warehouse import ItemOutcome, Warehouse

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2031, 1, 1, 12, 0)

# what a cycle stored, in a form that compares between warehouses (no ids, no times, no run ids)
ARTICLES = "SELECT url, story_url, relevant, text_source FROM articles ORDER BY url"
FACTS = "SELECT article_url, kind, value, evidence FROM facts ORDER BY ALL"
ALERTS = "SELECT kind, value, article_url FROM alerts ORDER BY kind, value"
VIEWS = ("SELECT name, first_seen, mentions, first_article_url FROM bidders ORDER BY name",
         "SELECT date, kind, mentions FROM deadlines ORDER BY date")


@pytest.fixture
def lake(postgres_url, tmp_path) -> tuple[str, Path]:
    """(a new lake's address, its data directory): an empty PostgreSQL database, an empty directory."""
    return "ducklake:postgres:" + postgres_url, tmp_path / "lake-data"


def stored(warehouse: Warehouse) -> dict[str, list]:
    return {sql: warehouse.query(sql)[1] for sql in (ARTICLES, FACTS, ALERTS, *VIEWS)}


def plain_cycle(warehouse: Warehouse, feeds: list[str], notify: list[str] = (), digest_threshold: int = 1000) -> dict:
    from pydantic import SecretStr

    from flows.monitor import cycle
    return asyncio.run(cycle(warehouse, feeds, [SecretStr(u) for u in notify], [], None, {}, digest_threshold,
                             engine=False))


def run_cli(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dealwatch", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def outcome(n: int, facts: tuple[Fact, ...]) -> ItemOutcome:
    item = FeedItem(feed_url="http://news.test/feed.xml", link=f"http://news.test/a/{n}.html", title=f"story {n}")
    article = Article(url=item.link, title=item.title, text=f"Story {n}: " + " ".join(f.evidence for f in facts),
                      lang="en", published=date(2031, 1, 1), source="News Test")
    return ItemOutcome(item=item, article=article, judgment=Judgment(Relevance(True, 0.9), facts),
                       content_hash=f"hash-{n}", fingerprint=(n * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)


def bid(name: str) -> Fact:
    return Fact("bidder", name, f"{name} made a bid for TikTok.", {"role": "bidder"})


# -- the same as a file -----------------------------------------------------------------------------

def test_the_sample_news_on_the_lake_gives_what_a_file_gives_and_reads_the_same(sample_news, lake, tmp_path, capsys):
    address, data = lake
    on_file = Warehouse(tmp_path / "w.duckdb")
    on_lake = Warehouse(address, data_path=data)
    assert isinstance(on_lake, LakeWarehouse)
    first = plain_cycle(on_lake, sample_news.feed_urls())
    plain_cycle(on_file, sample_news.feed_urls())
    expected = stored(on_file)
    assert first["articles_new"] == len(expected[ARTICLES]) > 0 and first["alerts_new"] == len(expected[ALERTS]) > 0
    assert stored(on_lake) == expected
    assert any(data.rglob("*.parquet"))   # the articles' text went to files in the data directory

    again = plain_cycle(on_lake, sample_news.feed_urls())   # nothing new: nothing added
    assert (again["articles_new"], again["facts_new"], again["alerts_new"]) == (0, 0, 0)
    assert stored(on_lake) == expected

    # people's reading: `dealwatch sql` as JSON (the lake's recorded data directory, or the same one given)
    query = "SELECT name, mentions FROM bidders ORDER BY name"
    lake_json = run_cli("sql", "--db", address, "--data-path", str(data), "--format", "json", query)
    assert lake_json.returncode == 0, lake_json.stderr[-2000:]
    file_json = run_cli("sql", "--db", str(tmp_path / "w.duckdb"), "--format", "json", query)
    assert json.loads(lake_json.stdout) == json.loads(file_json.stdout) != []
    from dealwatch.queries import export_parquet
    exported = {e.name: e.rows for e in export_parquet(on_lake, tmp_path / "parquet")}
    assert exported["articles"] == len(expected[ARTICLES]) and exported["alerts"] == len(expected[ALERTS])
    assert exported["bidders"] == len(expected[VIEWS[0]])
    # the other commands (cli.print_table writes to the sys.stdout of its import: run them as a user does)
    alerts = run_cli("alerts", "--db", address)
    assert alerts.returncode == 0, alerts.stderr[-2000:]
    assert [value for _, value, _ in expected[ALERTS] if value not in alerts.stdout] == []
    feeds = run_cli("feeds", "--db", address)
    assert feeds.returncode == 0 and all(url in feeds.stdout for url in sample_news.feed_urls()), feeds.stdout
    from dealwatch.cli import main
    capsys.readouterr()
    assert main(["report", "--db", address, "--html", str(tmp_path / "r.html"), "--png", str(tmp_path / "r.png")]) == 0
    assert f"({len(expected[VIEWS[0]])} bidders" in capsys.readouterr().out
    assert (tmp_path / "r.html").stat().st_size > 0 and (tmp_path / "r.png").stat().st_size > 0


# -- many writers ---------------------------------------------------------------------------------

CYCLE_SCRIPT = textwrap.dedent("""
    import asyncio, os, pathlib, sys, time
    from pydantic import SecretStr
    from dealwatch.warehouse import Warehouse
    from flows.monitor import cycle
    rendezvous, address, notify, *feeds = sys.argv[1:]
    # both processes start their cycles together, once both have imported everything
    pathlib.Path(rendezvous, f"ready-{os.getpid()}").touch()
    while len(list(pathlib.Path(rendezvous).glob("ready-*"))) < 2:
        time.sleep(0.01)
    started = time.time()
    # no cycle lock: two whole cycles on the same feeds at once, the worst case of two shards' overlap
    report = asyncio.run(cycle(Warehouse(address), feeds, [SecretStr(notify)], [], None, {}, 1000, engine=False))
    print(report["articles_new"], report["alerts_new"], report["alerts_sent"], started, time.time())
""")


def test_two_processes_on_one_lake_store_each_article_fact_and_alert_once(sample_news, lake, tmp_path):
    """Two cycles polling the same feeds at the same time, each with its own processes' connections: every
    article stored once, every fact once, every alert raised once and notified once; then a third finds
    nothing new and sends nothing."""
    address, data = lake
    Warehouse(address, data_path=data).migrate()
    script = tmp_path / "cycle.py"
    script.write_text(CYCLE_SCRIPT, encoding="utf-8")
    rendezvous = tmp_path / "rendezvous"
    rendezvous.mkdir()
    command = [sys.executable, str(script), str(rendezvous), address, sample_news.notify_url, *sample_news.feed_urls()]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
            for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in both]
    for p, (out, err) in zip(both, outputs):
        assert p.returncode == 0, err[-3000:]
    articles_new, alerts_new, alerts_sent = (sum(int(o.split()[i]) for o, _ in outputs) for i in range(3))
    (start_a, end_a), (start_b, end_b) = ((float(o.split()[3]), float(o.split()[4])) for o, _ in outputs)
    assert max(start_a, start_b) < min(end_a, end_b)   # the two cycles ran at the same time

    lake_warehouse = Warehouse(address)
    phase1 = [a for a in sample_news.articles if a.get("phase", 1) == 1]
    assert lake_warehouse.query("SELECT count(*), count(DISTINCT url) FROM articles")[1] == [(len(phase1), len(phase1))]
    assert articles_new == len(phase1)
    assert lake_warehouse.query("SELECT count(*) = count(DISTINCT (article_url, kind, value)) FROM facts")[1] == [(True,)]
    alerts = lake_warehouse.query("SELECT value, status FROM alerts")[1]
    assert alerts and alerts_new == len(alerts) == alerts_sent
    assert {status for _, status in alerts} == {"sent"}
    notified = [note["title"] for note in sample_news.notifications]
    assert len(notified) == len(alerts)   # one message per alert (digest threshold 1000), none twice
    for value, _ in alerts:
        assert any(value in title for title in notified), value

    third = plain_cycle(lake_warehouse, sample_news.feed_urls(), [sample_news.notify_url])
    assert (third["articles_new"], third["alerts_new"], third["alerts_sent"]) == (0, 0, 0)
    assert len(sample_news.notifications) == len(alerts)


def test_two_writers_storing_the_same_batch_at_once_store_it_once(lake):
    address, data = lake
    Warehouse(address, data_path=data).migrate()
    batch = [outcome(n, (bid(f"Bidder {n % 7}"),)) for n in range(40)]
    results, errors = [], []
    start = threading.Barrier(3)

    def store(part):
        try:
            writer = Warehouse(address)   # its own connections, as another process's
            start.wait()
            results.append(writer.store_outcomes(part, now=NOW))
        except Exception as e:   # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=store, args=(batch[i:] + batch[:i],)) for i in (0, 13, 29)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sum(r.articles_new for r in results) == 40 and sum(r.facts_new for r in results) == 40
    assert sorted(a.value for r in results for a in r.alerts_new) == [f"Bidder {i}" for i in range(7)]
    w = Warehouse(address)
    assert w.query("SELECT count(*), count(DISTINCT url) FROM articles")[1] == [(40, 40)]
    assert w.query("SELECT count(*) FROM facts")[1] == [(40,)]
    assert w.query("SELECT count(*) FROM alerts")[1] == [(7,)]


def test_empty_lists_of_feeds_or_alerts_ask_for_nothing(lake):
    # a shard's share of the feeds can be empty (shards split feeds by their address): an empty list of feeds is no
    # query PostgreSQL cannot type ("function unnest(unknown) is not unique")
    address, data = lake
    w = Warehouse(address, data_path=data)
    w.migrate()
    assert w.feeds_to_poll([]) == ([], [])
    assert w.feeds_to_poll(["http://127.0.0.1:9/feed.xml"])[0][0].url == "http://127.0.0.1:9/feed.xml"
    assert w.refusals([]) == {} and w.retry_alerts([]) == 0   # an empty list of alert ids (integers) too


def test_two_deliverers_never_claim_the_same_alert(lake):
    address, data = lake
    w = Warehouse(address, data_path=data)
    w.migrate()
    w.store_outcomes([outcome(n, (bid(f"Bidder {n}"),)) for n in range(30)], now=NOW, target_label="Saxonia Wafer")
    claims, labels, start = [], set(), threading.Barrier(2)

    def claim():
        deliverer = Warehouse(address)
        start.wait()
        alerts = deliverer.claim_alerts(now=NOW)
        claims.append({a.id for a in alerts})
        labels.update(a.target_label for a in alerts)

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not (claims[0] & claims[1]) and len(claims[0] | claims[1]) == 30
    assert labels == {"Saxonia Wafer"}   # kept with each alert (lake migration 3)
    claimed = Warehouse(address).query("SELECT a.title FROM alerts JOIN articles a ON a.url = alerts.article_url "
                                       "WHERE alerts.status = 'sending'")[1]
    assert len(claimed) == 30


def test_a_lake_commit_that_conflicts_with_another_writers_is_retried_not_lost(lake, monkeypatch):
    """Another writer commits a change to the articles table between this store's insert and its commit (a
    real DuckLake transaction conflict): the store writes the lake part again and loses nothing."""
    address, data = lake
    Warehouse(address, data_path=data).migrate()
    other = Warehouse(address)
    commits = []
    real_lake = LakeWarehouse._lake

    class CommitsAfterTheOther:   # the store's own lake connection; the other writer commits first, once
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args):
            if sql == "COMMIT":
                commits.append(sql)
                if len(commits) == 1:
                    real_lake(other).execute("ALTER TABLE articles ADD COLUMN reviewed BOOLEAN")
            return self.con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.con, name)

    writer = Warehouse(address)
    monkeypatch.setattr(LakeWarehouse, "_lake", lambda self: CommitsAfterTheOther(real_lake(self)))
    result = writer.store_outcomes([outcome(n, (bid(f"Bidder {n}"),)) for n in range(5)], now=NOW)
    monkeypatch.undo()
    assert len(commits) == 2   # the first conflicted (DuckLake refused it), the second went through
    assert (result.articles_new, result.facts_new, len(result.alerts_new)) == (5, 5, 5)
    assert other.query("SELECT count(*), count(DISTINCT url), count(reviewed) FROM articles")[1] == [(5, 5, 0)]
    assert other.query("SELECT count(*) FROM facts")[1] == [(5,)]


# -- crashes ------------------------------------------------------------------------------------------

def test_a_store_cut_between_the_lake_commit_and_postgres_commit_is_finished_once_by_the_next(lake, monkeypatch):
    """The articles and facts are in the lake, but the claim, the queue's progress and the alerts were rolled
    back: the next store of the same outcomes writes nothing twice and raises the alerts."""
    address, data = lake
    w = Warehouse(address, data_path=data)
    w.migrate()
    batch = [outcome(n, (bid(f"Bidder {n}"), Fact("deadline", "2031-02-01", "Due February 1.", {"kind": "sale"})))
             for n in range(5)]

    def cut(*_args, **_kwargs):
        raise RuntimeError("killed between the two commits")

    monkeypatch.setattr(LakeWarehouse, "_mark_done", staticmethod(cut))
    with pytest.raises(RuntimeError, match="between the two commits"):
        w.store_outcomes(batch, now=NOW)
    assert w.query("SELECT count(*) FROM articles")[1] == [(5,)]   # the lake committed
    assert w.query("SELECT count(*) FROM alerts")[1] == [(0,)]     # PostgreSQL did not
    monkeypatch.undo()

    again = Warehouse(address).store_outcomes(batch, now=NOW)
    assert (again.articles_new, again.facts_new) == (5, 10)
    assert sorted(a.value for a in again.alerts_new) == ["2031-02-01"] + [f"Bidder {n}" for n in range(5)]
    assert w.query("SELECT count(*), count(DISTINCT url) FROM articles")[1] == [(5, 5)]
    assert w.query("SELECT count(*) FROM facts")[1] == [(10,)]
    third = Warehouse(address).store_outcomes(batch, now=NOW)
    assert (third.articles_new, third.facts_new, third.alerts_new) == (0, 0, [])


def test_a_run_killed_mid_cycle_then_run_again_loses_nothing_and_repeats_nothing(sample_news, lake, prefect_server):
    """`dealwatch run` on the lake, SIGKILLed while a page hangs; `dealwatch run` again completes the work:
    every article once, every alert sent once. Both report to the session's Prefect server (not an
    ephemeral one each: ~10 s a start)."""
    from test_deployments import client_env
    address, data = lake
    hung = "/a/de-amazon-last-minute-gebot.html"
    sample_news.delays[hung] = 120
    args = ["run", "--db", address, "--data-path", str(data), "--notify", sample_news.notify_url]
    for url in sample_news.feed_urls():
        args += ["--feed", url]
    killed = subprocess.Popen([sys.executable, "-m", "dealwatch", *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT,
                              env=client_env(prefect_server))
    try:
        deadline = time.monotonic() + 240
        while not sample_news.hits.get(hung) and time.monotonic() < deadline and killed.poll() is None:
            time.sleep(0.2)
        assert sample_news.hits.get(hung), "the cycle reached the hung page"
    finally:
        os.killpg(killed.pid, signal.SIGKILL)   # the whole group: the CLI and its worker processes
        killed.wait(timeout=30)
    sample_news.delays.clear()

    result = run_cli(*args, env=client_env(prefect_server))
    assert result.returncode == 0, result.stderr[-2000:]
    w = Warehouse(address)
    assert w.query("SELECT status, finished_at IS NULL FROM runs ORDER BY started_at")[1] == [
        ("interrupted", True), ("completed", False)]
    phase1 = [a for a in sample_news.articles if a.get("phase", 1) == 1]
    assert w.query("SELECT count(*), count(DISTINCT url) FROM articles")[1] == [(len(phase1), len(phase1))]
    assert w.query("SELECT count(*) FROM feed_items WHERE status <> 'done'")[1] == [(0,)]
    assert w.query("SELECT count(*) = count(DISTINCT (article_url, kind, value)) FROM facts")[1] == [(True,)]
    alerts = w.query("SELECT value, status FROM alerts")[1]
    assert alerts and {status for _, status in alerts} == {"sent"}
    named = [note["title"] for note in sample_news.notifications]
    assert len(named) in (1, len(alerts))   # one notification per alert, or one digest for all: nothing twice


# -- mistakes -------------------------------------------------------------------------------------------

def test_lake_mistakes_are_one_clear_line(lake, postgres_server, tmp_path):
    address, data = lake
    with pytest.raises(LakeError, match="password"):
        Warehouse(address + " password=secret")
    with pytest.raises(LakeError, match="--data-path"):
        Warehouse(address).migrate()   # a new lake without a data directory
    Warehouse(address, data_path=data).migrate()
    with pytest.raises(LakeError, match="recorded when the lake was created"):
        Warehouse(address, data_path=tmp_path / "elsewhere").migrate()
    down = run_cli("sql", "--db", "ducklake:postgres:host=127.0.0.1 port=1 dbname=x connect_timeout=2",
                   "SELECT 1", timeout=60)
    assert down.returncode != 0 and "cannot reach the lake's PostgreSQL" in down.stderr
    assert "Traceback" not in down.stderr
    file_with_data_path = run_cli("sql", "--db", str(tmp_path / "w.duckdb"), "--data-path", str(data), "SELECT 1")
    assert file_with_data_path.returncode != 0 and "is for a DuckLake warehouse" in file_with_data_path.stderr


def test_the_config_names_a_lake_and_its_data_directory(tmp_path):
    from dealwatch.config import load_config
    from flows.monitor import from_config

    config = tmp_path / "dealwatch.toml"
    config.write_text('[warehouse]\npath = "ducklake:postgres:host=db.internal dbname=dealwatch"\n'
                      'data_path = "lake-data"\n', encoding="utf-8")
    loaded = load_config(config)
    assert loaded.warehouse == "ducklake:postgres:host=db.internal dbname=dealwatch"   # as it is: not a path
    assert loaded.data_path == str(tmp_path / "lake-data")                            # beside the config
    params = from_config(str(config), db=None, data_path=None)   # what a deployment's run reads
    assert params == {"db": loaded.warehouse, "data_path": str(tmp_path / "lake-data")}


@pytest.mark.parametrize("outbox_test", ["test_mail_down_for_six_hours_beside_a_working_webhook_then_back",
                                         "test_with_one_destination_nothing_is_reported_through_others"])
def test_the_outbox_tests_pass_on_the_lake(outbox_test, lake, smtp, webhook, tmp_path, monkeypatch):
    """tests/test_outbox.py's delivery stories (a real SMTP server down for hours beside a working webhook,
    hours on an injected clock), with the lake as their warehouse: every statement of the outbox on PostgreSQL."""
    import test_outbox

    address, data = lake
    monkeypatch.setattr(test_outbox, "Warehouse", lambda _path: Warehouse(address, data_path=data))
    test = getattr(test_outbox, outbox_test)
    fixtures = {"smtp": smtp, "webhook": webhook, "tmp_path": tmp_path}
    test(*(fixtures[name] for name in inspect.signature(test).parameters))
