"""Alerts through the whole cycle (real Prefect engine, sample news site, DuckDB, SMTP and webhook on
loopback): a channel that is down for a cycle gets each alert exactly once when it is back."""
from __future__ import annotations

import asyncio
import subprocess
import sys

import duckdb
import pytest

from flows.monitor import monitor

pytestmark = pytest.mark.prefect


def rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def time_passes(db) -> None:
    """The retry's backoff elapses: make every pending alert due now."""
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE alerts SET next_attempt_at = now() - INTERVAL 1 SECOND WHERE status = 'pending'")


def test_smtp_down_for_a_cycle_then_up_delivers_each_alert_once(prefect_engine, sample_news, smtp, tmp_path):
    db = tmp_path / "w.duckdb"
    mail = smtp.url(cto=1)
    smtp.stop()
    first = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=[mail], digest_threshold=100,
                                notify_min_interval=0))
    assert first["alerts_new"] > 0 and first["alerts_sent"] == 0 and first["alerts_failed"] == first["alerts_new"]
    assert rows(db, "SELECT DISTINCT status, attempts FROM alerts") == [("pending", 1)]
    errors = [e for (e,) in rows(db, "SELECT last_error FROM alerts")]
    assert all(e and "mailto" in e for e in errors), errors[:3]   # the failure is recorded, naming the channel

    smtp.start()
    time_passes(db)
    second = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=[mail], digest_threshold=100,
                                notify_min_interval=0))
    assert second["alerts_new"] == 0 and second["alerts_sent"] == first["alerts_new"]
    subjects = [m["Subject"] for _, _, m in smtp.messages]
    assert len(subjects) == first["alerts_new"] == len(set(subjects))  # exactly one email per alert
    values = [v for (v,) in rows(db, "SELECT value FROM alerts")]
    assert all(sum(v in s for s in subjects) >= 1 for v in values)

    time_passes(db)
    third = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=[mail], digest_threshold=100,
                                notify_min_interval=0))
    assert third["alerts_sent"] == 0 and len(smtp.messages) == len(subjects)  # nothing twice


def test_webhook_500_then_ok_delivers_the_digest_once(prefect_engine, sample_news, webhook, tmp_path):
    db = tmp_path / "w.duckdb"
    hook = webhook.url("json")
    webhook.fail_next(1, 500)
    first = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=[hook]))  # backlog: one digest
    assert first["alerts_failed"] == first["alerts_new"] > 10
    assert rows(db, "SELECT count(*) FROM alerts WHERE last_error LIKE '%500%'") == [(first["alerts_new"],)]
    time_passes(db)
    second = asyncio.run(monitor(db=str(db), feeds=sample_news.feed_urls(), notify=[hook]))
    assert second["alerts_sent"] == first["alerts_new"]
    delivered = [p for p in webhook.payloads if p]
    assert len(delivered) == 1 and delivered[0]["title"].startswith("dealwatch: ")
    assert rows(db, "SELECT DISTINCT status FROM alerts") == [("sent",)]


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
