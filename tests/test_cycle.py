"""The whole cycle as a Prefect flow on a real engine: sample news site over HTTP on loopback, a real
DuckDB file, alerts through apprise to a real webhook. Then the same command line a user types."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime

import duckdb
import pytest

from flows.monitor import monitor
from waiting import wait_for

pytestmark = pytest.mark.prefect


def rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def article_gets(server) -> int:
    return sum(n for path, n in server.hits.items() if path.startswith("/a/"))


def test_cycle_rerun_and_new_phase(prefect_engine, sample_news, tmp_path):
    db = tmp_path / "w.duckdb"
    gold = {a["id"]: a for a in sample_news.articles}
    phase1 = [a for a in gold.values() if a.get("phase", 1) == 1]

    first = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=[sample_news.notify_url]))
    assert first["feeds_polled"] == len(sample_news.feeds) and first["feeds_failed"] == 0
    assert first["articles_new"] == len(phase1) == article_gets(sample_news)
    stored = dict(rows(db, "SELECT url, relevant FROM articles"))
    assert len(stored) == len(phase1)
    assert first["alerts_new"] > 0 and first["alerts_sent"] == first["alerts_new"]
    assert rows(db, "SELECT count(*) FROM alerts WHERE status <> 'sent'") == [(0,)]
    assert sample_news.notifications, "the webhook received the alerts"

    # nothing new: every feed answers 304, no page is fetched, nothing is stored or sent
    before = (article_gets(sample_news), len(sample_news.notifications),
              rows(db, "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM facts), "
                       "(SELECT count(*) FROM alerts)"))
    sample_news.statuses.clear()
    again = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=[sample_news.notify_url]))
    assert (again["articles_new"], again["facts_new"], again["alerts_new"], again["alerts_sent"]) == (0, 0, 0, 0)
    assert {status for path, status in sample_news.statuses if path.startswith("/feeds/")} == {304}
    assert before == (article_gets(sample_news), len(sample_news.notifications),
                      rows(db, "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM facts), "
                               "(SELECT count(*) FROM alerts)"))

    # phase 2: only the new articles are fetched; alerts only for what the warehouse had never seen
    sample_news.phase = 2
    known = set(rows(db, "SELECT kind, value FROM alerts"))
    gets = article_gets(sample_news)
    notes = len(sample_news.notifications)
    third = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=[sample_news.notify_url]))
    assert third["articles_new"] == len(gold) - len(phase1) == article_gets(sample_news) - gets
    new_alerts = set(rows(db, "SELECT kind, value FROM alerts")) - known
    assert len(new_alerts) == third["alerts_new"]
    assert len(sample_news.notifications) - notes == third["alerts_new"]  # below the digest threshold: one each
    for note in sample_news.notifications[notes:]:
        assert any(value in note["title"] for _, value in new_alerts)
    assert rows(db, "SELECT count(*) - count(DISTINCT (kind, value)) FROM alerts") == [(0,)]


def fact_events(since: datetime, expected: int, timeout: float = 120) -> list:
    """The dealwatch.*.new events the Prefect server has recorded since `since`: asked until there are
    `expected` (the engine sends them from a background thread and the server stores them in batches, so
    under the whole suite they arrive over seconds), then once more a moment later, so that one too many
    shows too. AssertionError when they do not all arrive within `timeout` s."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    wanted = EventFilter(event=EventNameFilter(prefix=["dealwatch."]), occurred=EventOccurredFilter(since=since))

    def recorded() -> list:
        with get_client(sync_client=True) as client:
            page = client.read_events(wanted, limit=50)
            events = list(page.events)
            while page.next_page:
                page = client.read_events_page(page.next_page)
                events += page.events
        return events

    wait_for(f"{expected} dealwatch.*.new events on the Prefect server", lambda: len(recorded()) >= expected, timeout)
    time.sleep(2.0)
    return recorded()


def test_cycle_emits_one_event_per_new_fact_the_last_batch_after_delivering_it(prefect_engine, sample_news,
                                                                               tmp_path, monkeypatch):
    """Each new bidder / deadline is one dealwatch.<kind>.new event with the fact as payload. A batch's events
    go out as soon as another batch follows (so an event-triggered deliver-alerts sends them meanwhile); the
    last batch's after the cycle's own delivery has sent its alerts."""
    import flows.monitor

    monkeypatch.setattr(flows.monitor, "BATCH_SIZE", 6)   # several batches from the sample site
    db = tmp_path / "w.duckdb"
    started = datetime.now(UTC)
    report = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=[sample_news.notify_url]))
    alerts = {(kind, value): (alert_id, created, sent) for alert_id, kind, value, created, sent in rows(
        db, "SELECT id, kind, value, created_at, sent_at FROM alerts")}
    assert report["alerts_new"] == len(alerts) > 0 and report["alerts_sent"] == len(alerts)

    events = fact_events(started, expected=len(alerts))
    assert sorted(e.resource.id for e in events) == sorted(f"dealwatch.{k}.{v}" for k, v in alerts)  # once each
    last_batch = max(created for _, created, _ in alerts.values())
    before = after = 0
    for event in events:
        kind, value = event.payload["kind"], event.payload["value"]
        assert event.event == f"dealwatch.{kind}.new" and event.resource["prefect.resource.name"] == value
        alert_id, created, sent = alerts[(kind, value)]
        assert event.payload["alert_id"] == alert_id and event.payload["evidence"] and event.payload["article_url"]
        assert event.payload["target"] == "TikTok US"   # the label of the profile the fact was judged under
        occurred = event.occurred.astimezone(UTC).replace(tzinfo=None)
        if created < last_batch:
            assert occurred < sent, "an earlier batch's event waited for the cycle's delivery"
            before += 1
        else:
            assert occurred > sent, "the last batch's event went out before the cycle delivered its alerts"
            after += 1
    assert before and after, (before, after)


def run_cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "dealwatch", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)


def test_bad_config_is_one_clear_line_not_a_traceback(tmp_path):
    config = tmp_path / "dealwatch.toml"
    config.write_text("feeds = [\n")
    result = run_cli("run", "--config", str(config), "--db", str(tmp_path / "w.duckdb"))
    assert result.returncode == 2
    assert "is not valid TOML" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_environment_variable_is_named(tmp_path):
    config = tmp_path / "dealwatch.toml"
    config.write_text('feeds = ["http://127.0.0.1:9/feed.xml"]\n[notify]\nurls = ["json://x/${DW_TEST_UNSET_TOKEN}"]\n')
    result = run_cli("run", "--config", str(config), "--db", str(tmp_path / "w.duckdb"))
    assert result.returncode == 2
    assert "DW_TEST_UNSET_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_unwritable_database_is_one_clear_line(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    result = run_cli("run", "--db", str(blocker / "w.duckdb"), "--feed", "http://127.0.0.1:9/feed.xml")
    assert result.returncode == 2
    assert "cannot create the folder for the warehouse" in result.stderr and "Traceback" not in result.stderr


def test_malformed_notify_url_fails_before_any_work(tmp_path):
    result = run_cli("run", "--db", str(tmp_path / "w.duckdb"), "--feed", "http://127.0.0.1:9/feed.xml",
                     "--notify", "notaservice://whatever")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_feed_that_is_not_a_url_is_refused(tmp_path):
    result = run_cli("run", "--db", str(tmp_path / "w.duckdb"), "--feed", "feeds.xml")
    assert result.returncode == 2 and "not an http(s) URL" in result.stderr


def test_a_cycle_killed_mid_fetch_loses_nothing_and_repeats_nothing(sample_news, prefect_server, tmp_path):
    """SIGKILL while a page hangs; the next cycle completes the work: every article once, every alert once.
    Both `dealwatch run` processes report to the session's Prefect server (one ephemeral server each would
    cost ~10 s a start; the CLI's own server start is exercised by tests/test_backfill.py)."""
    import os
    import signal
    import time

    from test_deployments import client_env

    db = tmp_path / "w.duckdb"
    hung = "/a/de-amazon-last-minute-gebot.html"
    sample_news.delays[hung] = 120
    args = ["run", "--db", str(db), "--notify", sample_news.notify_url]
    for url in sample_news.feed_urls():
        args += ["--feed", url]
    killed = subprocess.Popen([sys.executable, "-m", "dealwatch", *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True, env=client_env(prefect_server))
    try:
        deadline = time.monotonic() + 240
        while not sample_news.hits.get(hung) and time.monotonic() < deadline and killed.poll() is None:
            time.sleep(0.2)
        assert sample_news.hits.get(hung), "the cycle reached the hung page"
    finally:
        os.killpg(killed.pid, signal.SIGKILL)  # the whole group: the CLI and its worker processes
        killed.wait(timeout=30)
    sample_news.delays.clear()

    result = run_cli(*args, env=client_env(prefect_server))
    assert result.returncode == 0, result.stderr[-2000:]
    # the killed cycle's run row: found 'running' by the next cycle, under the cycle lock, so its process is gone
    assert rows(db, "SELECT status, finished_at IS NULL FROM runs ORDER BY started_at") == [
        ("interrupted", True), ("completed", False)]
    phase1 = [a for a in sample_news.articles if a.get("phase", 1) == 1]
    assert rows(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(len(phase1), len(phase1))]
    assert rows(db, "SELECT count(*) FROM feed_items WHERE status <> 'done'") == [(0,)]
    alerts = rows(db, "SELECT kind, value, status FROM alerts")
    assert alerts and {status for *_, status in alerts} == {"sent"}
    named = [note["title"] for note in sample_news.notifications]
    # one notification per alert, or one digest for all of them: either way nothing twice
    assert len(named) in (1, len(alerts))
    if len(named) == len(alerts):
        for _, value, _ in alerts:
            assert sum(value in title for title in named) == 1, value


def test_a_cycle_killed_right_after_its_first_notification_repeats_at_most_the_one_in_flight(sample_news, webhook,
                                                                                             prefect_server, tmp_path):
    """SIGKILL as soon as the webhook has the first of the cycle's alerts (one message each): what went out
    is recorded per destination as it goes, so once the killed delivery's lease has run out the next cycle
    sends every other alert exactly once; only a message in flight at the kill can arrive twice (README,
    "Alerts: exactly once"). Both `dealwatch run` processes report to the session's Prefect server."""
    import os
    import signal
    import time

    from test_deployments import client_env

    db = tmp_path / "w.duckdb"
    config = tmp_path / "dealwatch.toml"
    config.write_text("[notify]\ndigest_threshold = 1000\n", encoding="utf-8")   # one message per alert
    args = ["run", "--config", str(config), "--db", str(db), "--notify", webhook.url("json")]
    for url in sample_news.feed_urls():
        args += ["--feed", url]
    killed = subprocess.Popen([sys.executable, "-m", "dealwatch", *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True, env=client_env(prefect_server))
    try:
        deadline = time.monotonic() + 240
        while not webhook.payloads and time.monotonic() < deadline and killed.poll() is None:
            time.sleep(0.005)
        assert webhook.payloads, "the cycle sent its first notification"
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
    first = len(webhook.payloads)
    alerts = rows(db, "SELECT count(*) FROM alerts")[0][0]
    assert 1 <= first < alerts, (first, alerts)      # killed in the middle of the delivery
    with duckdb.connect(str(db)) as con:              # the killed delivery's lease (10 minutes) runs out
        con.execute("UPDATE alerts SET next_attempt_at = now() - INTERVAL 1 SECOND WHERE status = 'sending'")

    result = run_cli(*args, env=client_env(prefect_server))
    assert result.returncode == 0, result.stderr[-2000:]
    assert rows(db, "SELECT DISTINCT status FROM alerts") == [("sent",)]
    values = [v for (v,) in rows(db, "SELECT value FROM alerts")]
    counts = {v: sum(v in p["title"] for p in webhook.payloads) for v in values}
    assert all(n >= 1 for n in counts.values()), counts                      # nothing lost
    assert sum(n > 1 for n in counts.values()) <= 1, counts                 # at most the one in flight twice


def test_a_cycle_that_stops_on_an_error_is_recorded_failed_with_its_figures_so_far(sample_news, tmp_path):
    from dealwatch.profile import ProfileError
    from dealwatch.warehouse import Warehouse
    from flows.monitor import cycle

    db = tmp_path / "w.duckdb"
    warehouse = Warehouse(db)
    broken = tmp_path / "broken.toml"
    broken.write_text("[profile\nname = 'x'\n", encoding="utf-8")
    with warehouse.cycle_lock(), pytest.raises(ProfileError, match="not valid TOML"):
        asyncio.run(cycle(warehouse, sample_news.feed_urls(), [], [], str(broken), {}, 10, engine=False))
    assert rows(db, "SELECT status, finished_at IS NOT NULL, articles_new FROM runs") == [("failed", True, 0)]
    with warehouse.cycle_lock():   # the next cycle leaves a failed run as it is
        report = asyncio.run(cycle(warehouse, sample_news.feed_urls(), [], [], None, {}, 10, engine=False))
    assert report["articles_new"] > 0
    assert rows(db, "SELECT status FROM runs ORDER BY started_at") == [("failed",), ("completed",)]
