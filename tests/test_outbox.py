"""Delivering the outbox destination by destination (dealwatch.delivery) with a real DuckDB file, a real SMTP
server (aiosmtpd) and a real webhook receiver on loopback; hours pass on an injected clock."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta

from dealwatch.alerts import Notifier, masked
from dealwatch.delivery import deliver_outbox
from dealwatch.model import Article, Fact, FeedItem, Judgment, Relevance
from dealwatch.warehouse import ItemOutcome, Warehouse

START = datetime(2031, 1, 1, 22, 0)


class Clock:
    """Naive UTC time that a test moves forward."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def raise_alerts(warehouse: Warehouse, names: list[str], now: datetime) -> list[int]:
    """One stored article per bidder name, as a cycle stores them: one new alert each."""
    outcomes = []
    for name in names:
        slug = name.lower().replace(" ", "-")
        item = FeedItem(feed_url="http://news.test/feed.xml", link=f"http://news.test/a/{slug}.html", title=f"{name} bids")
        article = Article(url=item.link, title=item.title, text=f"{name} made a bid for TikTok.", lang="en",
                          published=date(2031, 1, 1), source="News Test", text_source="feed")
        outcomes.append(ItemOutcome(item=item, article=article, judgment=Judgment(
            Relevance(True, 1.0), (Fact("bidder", name, f"{name} made a bid for TikTok.", {"role": "bidder"}),))))
    return [a.id for a in warehouse.store_outcomes(outcomes, now=now).alerts_new]


def statuses(warehouse: Warehouse) -> dict[str, int]:
    return dict(warehouse.query("SELECT status, count(*) FROM alerts GROUP BY status")[1])


def named(text: str, names: list[str]) -> list[str]:
    return [n for n in names if n in text]


def test_mail_down_for_six_hours_beside_a_working_webhook_then_back(smtp, webhook, tmp_path):
    """A delivery every 15 minutes for 6 hours with the mail server down and new alerts every hour: the webhook
    gets each alert as it comes, and once a report that mail is down; mail costs one dropped connection per
    delivery; when it is back it gets everything in one digest; nobody gets anything twice."""
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.migrate()
    clock = Clock(START)
    mail, hook = smtp.url(), webhook.url("json")
    # a Notifier per delivery, as each cycle has: apprise's 5.5 s between two emails is per Notifier, and one
    # attempt per delivery never waits for it
    notifier = lambda: Notifier([mail, hook])   # noqa: E731
    smtp.go_down()
    names: list[str] = []
    reported_at = []
    for step in range(24):
        if step % 4 == 0:
            batch = [f"Company {len(names) + i:02d}" for i in range(3)]
            names += batch
            assert len(raise_alerts(warehouse, batch, clock())) == 3
        report = deliver_outbox(warehouse, notifier(), digest_threshold=5, clock=clock)
        assert report.alerts_sent == 0 and report.alerts_failed == len(names)
        if report.outages_reported:
            reported_at.append(clock() - START)
        clock.advance(timedelta(minutes=15))
    assert smtp.dropped == 24 and smtp.messages == []   # one attempt per delivery, whatever the alerts waiting
    assert reported_at == [timedelta(hours=1)]          # reported once, as soon as it was down for an hour
    [report_note] = [p for p in webhook.payloads if "down" in p["title"]]
    assert masked(mail) in report_note["message"] and "failing since 2031-01-01 22:00" in report_note["message"]
    alerts_to_hook = [p for p in webhook.payloads if p is not report_note]
    assert sorted(n for p in alerts_to_hook for n in named(p["title"], names)) == sorted(names)  # each once, at once
    assert statuses(warehouse) == {"pending": 18}
    state = warehouse.destinations()[masked(mail)]
    assert (state.state, state.failing_since, state.failed_attempts) == ("failing", START, 24)
    assert "Connection" in state.last_error

    smtp.start()
    report = deliver_outbox(warehouse, notifier(), digest_threshold=5, clock=clock)
    assert (report.alerts_sent, report.alerts_failed, report.messages) == (18, 0, 1)
    [(_, _, digest)] = smtp.messages                     # 18 alerts over the threshold of 5: one digest
    entries = [line for line in smtp.text_of(digest).splitlines() if line.startswith("- ")]   # one per alert
    assert sorted(n for line in entries for n in named(line.split("—")[0], names)) == sorted(names)
    assert [(c.destination, c.state, c.since) for c in report.changes] == [(masked(mail), "ok", START)]
    assert statuses(warehouse) == {"sent": 18}
    assert warehouse.destinations()[masked(mail)].state == "ok"

    clock.advance(timedelta(minutes=15))
    sent_before = len(webhook.payloads)
    again = deliver_outbox(warehouse, notifier(), digest_threshold=5, clock=clock)
    assert (again.alerts_sent, again.messages) == (0, 0)
    assert len(smtp.messages) == 1 and len(webhook.payloads) == sent_before


def test_a_refusal_fails_the_alert_there_only_and_retry_requeues_it(smtp, webhook, tmp_path):
    """A rejected address (SMTP 550) and a refused webhook (401) are permanent: the alert is failed for them,
    with the reason, delivered everywhere else, not tried there again; `dealwatch alerts` says so and
    `dealwatch alerts --retry ID` re-queues it."""
    db = tmp_path / "w.duckdb"
    warehouse = Warehouse(db)
    warehouse.migrate()
    clock = Clock(START)
    smtp.refused.add("gone@example.org")
    refusing_mail, mail, hook = smtp.url(to="gone@example.org"), smtp.url(), webhook.url("json")
    notifier = Notifier([refusing_mail, mail, hook], min_interval=0)
    webhook.always = 401
    [first] = raise_alerts(warehouse, ["Company 01"], clock())
    report = deliver_outbox(warehouse, notifier, digest_threshold=5, clock=clock)
    assert (report.alerts_sent, report.alerts_refused) == (0, 1)
    assert len(smtp.messages) == 1 and webhook.requests == []
    [(status, error)] = warehouse.query("SELECT status, last_error FROM alerts")[1]
    assert status == "failed" and "SMTP 550" in error and "401" in error
    refusals = warehouse.refusals([first])[first]
    assert set(refusals) == {masked(refusing_mail), masked(hook)}
    attempts = webhook.attempts
    deliver_outbox(warehouse, notifier, digest_threshold=5, clock=clock)   # not tried there again
    assert webhook.attempts == attempts and len(smtp.messages) == 1

    listing = subprocess.run([sys.executable, "-m", "dealwatch", "alerts", "--db", str(db)],
                             capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert "failed" in listing.stdout and "failing since" in listing.stdout, listing.stdout
    assert "Verification Failed" in listing.stdout, listing.stdout   # apprise's words for the 401
    webhook.always = None
    smtp.refused.clear()
    retry = subprocess.run([sys.executable, "-m", "dealwatch", "alerts", "--db", str(db), "--retry", str(first)],
                           capture_output=True, text=True, timeout=120)
    assert retry.returncode == 0 and "re-queued 1 alert" in retry.stdout, retry.stdout + retry.stderr
    report = deliver_outbox(warehouse, notifier, digest_threshold=5, clock=clock)
    assert report.alerts_sent == 1
    assert len(smtp.messages) == 2 and len(webhook.requests) == 1       # the two that refused it, now; once each
    assert {to for _, tos, _ in smtp.messages for to in tos} == {"me@example.org", "gone@example.org"}
    assert statuses(warehouse) == {"sent": 1}


def test_with_one_destination_nothing_is_reported_through_others(smtp, tmp_path):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.migrate()
    clock = Clock(START)
    notifier = Notifier([smtp.url()], min_interval=0)
    smtp.stop()
    raise_alerts(warehouse, ["Company 01", "Company 02"], clock())
    for _ in range(8):
        report = deliver_outbox(warehouse, notifier, digest_threshold=5, clock=clock)
        assert report.outages_reported == [] and report.alerts_failed == 2
        clock.advance(timedelta(minutes=15))
    assert statuses(warehouse) == {"pending": 2}
    assert warehouse.query("SELECT max(attempts) FROM alerts")[1] == [(8,)]
