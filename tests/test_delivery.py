"""Alerts through the whole cycle (real Prefect engine, sample news site, DuckDB, SMTP and webhook on
loopback): a channel that is down for a cycle costs one attempt, and gets each alert exactly once when it is
back; a working channel beside it is not held up."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from datetime import UTC, datetime

import duckdb
import pytest

from dealwatch.alerts import masked
from flows.monitor import monitor
from waiting import wait_for

pytestmark = pytest.mark.prefect


def rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def cycle(sample_news, db, notify, **options) -> tuple[dict, float]:
    started = time.monotonic()
    report = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=notify, **options))
    return report, time.monotonic() - started


def test_smtp_down_for_a_cycle_then_up_delivers_each_alert_once(prefect_engine, sample_news, smtp, tmp_path):
    """The cycle with the mail server down tries it once (apprise's 5.5 s between two emails never comes into
    play): measured, not asserted, it takes about as long as a normal cycle."""
    db = tmp_path / "w.duckdb"
    mail = smtp.url(cto=1)
    smtp.go_down()
    first, down_took = cycle(sample_news, db, [mail], digest_threshold=100)   # apprise's default interval
    assert first["alerts_new"] > 1 and first["alerts_sent"] == 0 and first["alerts_failed"] == first["alerts_new"]
    assert smtp.dropped == 1                  # one attempt for the whole cycle, whatever the number of alerts
    # every alert pending; only the one in the message tried counts an attempt, the others were not tried
    assert rows(db, "SELECT DISTINCT status FROM alerts") == [("pending",)]
    assert rows(db, "SELECT sum(attempts)::INTEGER FROM alerts") == [(1,)]
    errors = [e for (e,) in rows(db, "SELECT last_error FROM alerts")]
    assert all(e and "mailto" in e for e in errors), errors[:3]   # the failure is recorded, naming the channel
    assert rows(db, "SELECT state, failed_attempts FROM destinations") == [("failing", 1)]

    smtp.start()
    second, _ = cycle(sample_news, db, [mail], digest_threshold=100, notify_min_interval=0)
    assert second["alerts_new"] == 0 and second["alerts_sent"] == first["alerts_new"]
    subjects = [m["Subject"] for _, _, m in smtp.messages]
    assert len(subjects) == first["alerts_new"] == len(set(subjects))  # exactly one email per alert
    values = [v for (v,) in rows(db, "SELECT value FROM alerts")]
    assert all(sum(v in s for s in subjects) >= 1 for v in values)
    assert rows(db, "SELECT state, failed_attempts FROM destinations") == [("ok", 0)]

    third, normal_took = cycle(sample_news, db, [mail], digest_threshold=100)
    assert third["alerts_sent"] == 0 and len(smtp.messages) == len(subjects)  # nothing twice
    print(f"cycle with the mail server down: {down_took:.1f} s ({first['alerts_new']} alerts); "
          f"a cycle with nothing new: {normal_took:.1f} s")


def test_webhook_500_then_ok_delivers_the_digest_once(prefect_engine, sample_news, webhook, tmp_path):
    db = tmp_path / "w.duckdb"
    hook = webhook.url("json")
    webhook.fail_next(1, 500)
    first = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=[hook]))  # backlog: one digest
    assert first["alerts_failed"] == first["alerts_new"] > 10
    assert rows(db, "SELECT count(*) FROM alerts WHERE last_error LIKE '%500%'") == [(first["alerts_new"],)]
    second = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=[hook]))
    assert second["alerts_sent"] == first["alerts_new"]
    delivered = [p for p in webhook.payloads if p]
    assert len(delivered) == 1 and delivered[0]["title"].startswith("dealwatch: ")
    assert rows(db, "SELECT DISTINCT status FROM alerts") == [("sent",)]


def test_one_destination_down_beside_a_working_one(prefect_engine, sample_news, smtp, webhook, tmp_path):
    """The webhook gets everything in the first cycle; the mail server, down then, gets everything when it
    is back, in one digest; nobody gets anything twice."""
    db = tmp_path / "w.duckdb"
    mail, hook = smtp.url(cto=1), webhook.url("json")
    smtp.go_down()
    started = datetime.now(UTC)
    first, _ = cycle(sample_news, db, [mail, hook], notify_min_interval=0)
    assert first["alerts_new"] > 10 and first["alerts_sent"] == 0     # sent: reached every destination
    [digest] = webhook.payloads                                        # the backlog, over the threshold
    assert digest["title"].startswith("dealwatch: ") and smtp.dropped == 1
    assert rows(db, "SELECT count(*) FROM alerts WHERE status = 'pending' AND len(delivered_to) = 1") == [
        (first["alerts_new"],)]

    smtp.start()
    second, _ = cycle(sample_news, db, [mail, hook], notify_min_interval=0)
    assert second["alerts_sent"] == first["alerts_new"]
    [(_, _, mail_digest)] = smtp.messages
    assert mail_digest["Subject"] == digest["title"]                  # the same backlog, once, to mail too
    assert len(webhook.payloads) == 1
    third, _ = cycle(sample_news, db, [mail, hook], notify_min_interval=0)
    assert third["alerts_sent"] == 0 and len(smtp.messages) == 1 and len(webhook.payloads) == 1
    assert rows(db, "SELECT DISTINCT status FROM alerts") == [("sent",)]
    # the mail destination's outage is marked by a Prefect event when it starts and when it ends
    events = destination_events(started, expected=2)
    assert [(e.event, e.resource["prefect.resource.name"]) for e in events] == [
        ("dealwatch.destination.failing", masked(mail)), ("dealwatch.destination.ok", masked(mail))]
    assert "Connection" in events[0].payload["error"] and events[1].payload["since"]


def destination_events(since: datetime, expected: int, timeout: float = 120) -> list:
    """The dealwatch.destination.* events the Prefect server recorded since `since`, oldest first, once there
    are `expected` (sent from a background thread, stored in batches), asked again a moment later."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    wanted = EventFilter(event=EventNameFilter(prefix=["dealwatch.destination."]),
                         occurred=EventOccurredFilter(since=since))

    def recorded() -> list:
        with get_client(sync_client=True) as client:
            return sorted(client.read_events(wanted, limit=50).events, key=lambda e: e.occurred)

    wait_for(f"{expected} dealwatch.destination.* events", lambda: len(recorded()) >= expected, timeout)
    time.sleep(2.0)
    return recorded()


def test_alerts_test_says_which_url_works(webhook, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "dealwatch", "alerts", "--test", "--db", str(tmp_path / "w.duckdb"),
         "--notify", webhook.url("json"), "--notify", "json://127.0.0.1:9/nothing-listens?cto=1"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.strip().splitlines()
    assert any(line.strip().startswith("ok") and "127.0.0.1" in line for line in lines)
    assert any(line.strip().startswith("FAILED") and ":9/" in line for line in lines)
    assert len(webhook.payloads) == 1
