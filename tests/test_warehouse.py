"""The warehouse on a real DuckDB file: migrations, the queue, idempotent stores, the outbox, the lock."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from dealwatch.model import Article, Fact, FeedItem, Judgment, Relevance
from dealwatch.warehouse import AlertOutcome, ItemOutcome, PollRecord, Warehouse, WarehouseError, WarehouseLocked, migrations, utcnow
from warehouses import warehouse_at_version

FEED = "http://news.test/feed.xml"


def item(n: int, feed: str = FEED) -> FeedItem:
    return FeedItem(feed_url=feed, link=f"http://news.test/a/{n}.html", title=f"Story {n}",
                    summary=f"Summary {n}", published=datetime(2025, 4, 3, tzinfo=UTC))


def distinct_fingerprint(n: int) -> int:
    """A 64-bit value far (in bits) from those of other n: a different article."""
    return int(hashlib.sha256(str(n).encode()).hexdigest()[:16], 16)


def judged(n: int, facts: tuple[Fact, ...] = (), relevant: bool = True, text: str | None = None,
           fingerprint: int | None = None) -> ItemOutcome:
    it = item(n)
    article = Article(url=it.link, title=it.title, text=text or f"text of story {n}", lang="en",
                      published=date(2025, 4, 3), source="News Test")
    return ItemOutcome(item=it, article=article,
                       judgment=Judgment(Relevance(relevant, 0.9 if relevant else 0.1), facts if relevant else ()),
                       content_hash=f"hash-{n}", fingerprint=fingerprint if fingerprint is not None else distinct_fingerprint(n))


AMAZON = Fact("bidder", "Amazon", "Amazon made a late bid for TikTok.", {"role": "bidder"})
APRIL_5 = Fact("deadline", "2025-04-05", "The deadline is Saturday.", {"kind": "sale"})


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    w = Warehouse(tmp_path / "w.duckdb", lock_timeout=5)
    w.migrate()
    return w


def count(w: Warehouse, table: str) -> int:
    return w.query(f"SELECT count(*) FROM {table}")[1][0][0]


def test_migrate_is_idempotent_and_versioned(warehouse):
    newest = migrations()[-1][0]
    assert warehouse.migrate() == newest
    assert warehouse.migrate() == newest
    assert warehouse.query("SELECT max(version) FROM schema_version")[1][0][0] == newest


def test_a_newer_schema_is_refused(warehouse):
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute("INSERT INTO schema_version VALUES (999, now())")
    with pytest.raises(WarehouseError, match="newer than this dealwatch"):
        warehouse.migrate()


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WarehouseError, match="cannot create the folder"):
        Warehouse(blocker / "sub" / "w.duckdb").migrate()


def test_not_a_duckdb_file_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("this is not a database " * 100)
    with pytest.raises(WarehouseError, match="cannot open the warehouse"):
        Warehouse(bogus, lock_timeout=1).migrate()


def test_poll_queues_new_items_once_and_keeps_validators(warehouse):
    due, skipped = warehouse.feeds_to_poll([FEED])
    assert [f.url for f in due] == [FEED] and skipped == []
    assert warehouse.record_poll(FEED, ok=True, status=200, etag='"v1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
                                 items=[item(1), item(2)]) == 2
    assert warehouse.record_poll(FEED, ok=True, status=200, etag='"v2"', last_modified=None,
                                 items=[item(2), item(3)]) == 1
    state = warehouse.feeds_to_poll([FEED])[0][0]
    assert (state.etag, state.last_modified) == ('"v2"', None)  # as the server last sent them
    warehouse.record_poll(FEED, ok=True, status=304)
    state = warehouse.feeds_to_poll([FEED])[0][0]
    assert state.etag == '"v2"'  # a 304 keeps them
    assert [i.link for i, _ in warehouse.due_items()] == [item(n).link for n in (1, 2, 3)]


def test_polls_of_many_feeds_recorded_at_once_as_one_by_one(tmp_path):
    """record_polls over several feeds (new entries, a 304, a failure, an entry two feeds list) leaves the
    warehouse as record_poll feed by feed, in the same order, does."""
    other, broken, quiet = "http://news.test/other.xml", "http://news.test/broken.xml", "http://news.test/quiet.xml"
    polls = [PollRecord(FEED, ok=True, status=200, title="News", etag='"a"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
                        items=(item(1), item(2), item(1))),
             PollRecord(other, ok=True, status=200, title="Other", etag='"b"', items=(item(2, other), item(3, other))),
             PollRecord(quiet, ok=True, status=304),
             PollRecord(broken, ok=False, status=503, error="503 Service Unavailable", transient=True, retry_after=30)]
    feeds = "SELECT url, title, etag, last_modified, last_status, last_error, consecutive_failures, items_seen, parked, " \
            "next_poll_at IS NULL FROM feeds ORDER BY url"
    entries = "SELECT link, feed_url, title, summary, published_at FROM feed_items ORDER BY link"
    results = []
    for at_once in (True, False):
        w = Warehouse(tmp_path / f"{at_once}.duckdb")
        w.migrate()
        w.feeds_to_poll([FEED, other, quiet, broken])
        w.record_poll(quiet, ok=True, status=200, title="Quiet", etag='"q"', items=[item(9, quiet)])
        now = utcnow()
        if at_once:
            new = w.record_polls(polls, now=now)
        else:
            new = {p.feed_url: w.record_poll(p.feed_url, ok=p.ok, status=p.status, title=p.title, etag=p.etag,
                                             last_modified=p.last_modified, items=p.items, error=p.error,
                                             transient=p.transient, retry_after=p.retry_after, now=now)
                   for p in polls}
        results.append((new, w.query(feeds)[1], w.query(entries)[1]))
    assert results[0] == results[1]
    new, feed_rows, entry_rows = results[0]
    assert new == {FEED: 2, other: 1, quiet: 0, broken: 0}
    assert [(link, feed) for link, feed, *_ in entry_rows] == [
        (item(1).link, FEED), (item(2).link, FEED), (item(3, other).link, other), (item(9, quiet).link, quiet)]
    by_url = {row[0]: row for row in feed_rows}
    assert by_url[quiet][2] == '"q"' and by_url[FEED][2:4] == ('"a"', "Mon, 01 Jan 2024 00:00:00 GMT")
    assert by_url[broken][4:7] == (503, "503 Service Unavailable", 1) and by_url[broken][9] is False


def test_failing_feed_backs_off_then_parks_but_429_never_parks(tmp_path):
    w = Warehouse(tmp_path / "w.duckdb", feed_max_failures=3)
    w.migrate()
    w.feeds_to_poll([FEED])
    for _ in range(5):
        w.record_poll(FEED, ok=False, status=429, error="429 Too Many Requests", transient=True, rate_limited=True,
                      retry_after=60)
    assert w.query("SELECT consecutive_failures, parked FROM feeds")[1] == [(0, False)]
    assert w.feeds_to_poll([FEED])[1] == [FEED]  # backing off for Retry-After
    later = utcnow() + timedelta(days=1)
    for _ in range(3):
        w.record_poll(FEED, ok=False, status=503, error="503", transient=True)
    assert w.query("SELECT consecutive_failures, parked FROM feeds")[1] == [(3, True)]
    assert w.feeds_to_poll([FEED], now=later) == ([], [FEED])
    assert w.unpark_feeds([FEED]) == 1
    assert [f.url for f in w.feeds_to_poll([FEED], now=later)[0]] == [FEED]


def test_store_is_idempotent_and_alerts_once_per_bidder(warehouse):
    warehouse.feeds_to_poll([FEED])
    warehouse.record_poll(FEED, ok=True, status=200, items=[item(1), item(2), item(3)])
    first = warehouse.store_outcomes([judged(1, (AMAZON, APRIL_5)), judged(2, (AMAZON,)), judged(3, relevant=False)])
    assert (first.articles_new, first.relevant_new, first.facts_new) == (3, 2, 3)
    assert sorted((a.kind, a.value) for a in first.alerts_new) == [("bidder", "Amazon"), ("deadline", "2025-04-05")]
    again = warehouse.store_outcomes([judged(1, (AMAZON, APRIL_5)), judged(2, (AMAZON,))])
    assert (again.articles_new, again.facts_new, again.alerts_new) == (0, 0, [])
    assert (count(warehouse, "articles"), count(warehouse, "facts"), count(warehouse, "alerts")) == (3, 3, 2)
    assert warehouse.due_items() == []
    assert warehouse.query("SELECT relevant FROM articles WHERE url = ?", [item(3).link])[1] == [(False,)]


def test_near_duplicate_copy_is_the_same_story_with_its_own_facts_and_no_repeated_alert(warehouse):
    # an updated version of a story (a near-copy) that adds a deadline: its facts are stored under its own URL and
    # the new deadline alerts, while the bidder both name alerts once
    original = judged(1, (AMAZON,), fingerprint=0b1011_0000)
    copy = judged(2, (AMAZON, APRIL_5), fingerprint=0b1011_0011)  # two bits apart
    stored = warehouse.store_outcomes([original, copy])
    assert stored.duplicates == 1
    assert warehouse.query("SELECT url, story_url FROM articles ORDER BY url")[1] == [
        (item(1).link, item(1).link), (item(2).link, item(1).link)]
    assert warehouse.query("SELECT article_url, kind, value FROM facts ORDER BY article_url, kind")[1] == [
        (item(1).link, "bidder", "Amazon"), (item(2).link, "bidder", "Amazon"), (item(2).link, "deadline", "2025-04-05")]
    assert sorted((a.kind, a.value, a.article_url) for a in stored.alerts_new) == [
        ("bidder", "Amazon", item(1).link), ("deadline", "2025-04-05", item(2).link)]


def test_transient_failure_retries_with_backoff_then_parks(tmp_path):
    w = Warehouse(tmp_path / "w.duckdb", item_max_attempts=2)
    w.migrate()
    w.feeds_to_poll([FEED])
    w.record_poll(FEED, ok=True, status=200, items=[item(1)])
    failure = ItemOutcome(item=item(1), fetch_error="timed out", transient=True)
    assert w.store_outcomes([failure]).retry_later == 1
    assert w.due_items() == []  # backing off
    [(again, attempts)] = w.due_items(now=utcnow() + timedelta(hours=7))
    assert attempts == 1
    assert w.store_outcomes([failure]).parked == 1
    assert w.query("SELECT status, attempts, last_error FROM feed_items")[1] == [("parked", 2, "timed out")]


def test_a_transient_failure_never_gives_up(warehouse):
    [alert] = warehouse.store_outcomes([judged(1, (AMAZON,))]).alerts_new
    for attempt in range(1, 21):   # a destination down for 20 deliveries: due again at every one
        [retry] = warehouse.claim_alerts()
        assert (retry.id, retry.attempts, retry.article_title) == (alert.id, attempt - 1, "Story 1")
        assert warehouse.mark_failed([alert.id], "SMTP server down") == 0
    assert warehouse.query("SELECT status, attempts, last_error FROM alerts")[1] == [("pending", 20, "SMTP server down")]


def test_a_refusal_is_kept_per_destination_until_retry(warehouse):
    alerts = warehouse.store_outcomes([judged(1, (AMAZON, APRIL_5))]).alerts_new
    [amazon, april] = sorted(alerts, key=lambda a: a.kind)
    warehouse.claim_alerts()
    warehouse.mark_refused([amazon.id], "mailto://127.0.0.1", "SMTP 535 authentication failed")
    warehouse.mark_delivered([amazon.id, april.id], destination="json://127.0.0.1/hook")
    warehouse.settle_alerts([AlertOutcome(amazon.id, "failed", "mailto://127.0.0.1: SMTP 535", True),
                             AlertOutcome(april.id, "sent")])
    assert warehouse.query("SELECT kind, status, delivered_to, sent_at IS NOT NULL FROM alerts ORDER BY kind")[1] == [
        ("bidder", "failed", ["json://127.0.0.1/hook"], False), ("deadline", "sent", ["json://127.0.0.1/hook"], True)]
    assert warehouse.refusals([amazon.id, april.id]) == {amazon.id: {"mailto://127.0.0.1": "SMTP 535 authentication failed"}}
    assert warehouse.claim_alerts() == []                         # failed is not due
    assert warehouse.retry_alerts([april.id]) == 0                # only failed alerts are re-queued
    assert warehouse.retry_alerts() == 1
    [again] = warehouse.claim_alerts()
    assert (again.id, again.failed_to, again.delivered_to) == (amazon.id, (), ("json://127.0.0.1/hook",))


def test_destination_health_starts_and_ends_an_outage(warehouse):
    t0 = datetime(2031, 1, 1, 8, 0)
    assert warehouse.record_attempt("mailto://m", False, "refused", t0).state == "ok"   # new: was fine
    warehouse.record_attempt("mailto://m", False, "refused again", t0 + timedelta(minutes=15))
    [state] = warehouse.destinations().values()
    assert (state.state, state.failing_since, state.failed_attempts, state.last_error) == (
        "failing", t0, 2, "refused again")
    warehouse.mark_outage_reported("mailto://m", t0 + timedelta(hours=1))
    before = warehouse.record_attempt("mailto://m", True, None, t0 + timedelta(hours=2))
    assert (before.state, before.reported_at) == ("failing", t0 + timedelta(hours=1))
    state = warehouse.destinations()["mailto://m"]
    assert (state.state, state.failing_since, state.failed_attempts, state.reported_at, state.last_ok_at) == (
        "ok", None, 0, None, t0 + timedelta(hours=2))


def test_a_version_2_warehouse_upgrades_and_its_given_up_alerts_are_delivered_again(tmp_path):
    """A warehouse written before delivery health: alerts that gave up after 8 attempts are pending again."""
    path = tmp_path / "old.duckdb"
    with warehouse_at_version(path, 2) as con:
        con.execute("INSERT INTO alerts (kind, value, article_url, created_at, status, attempts, last_error, "
                    "next_attempt_at) VALUES ('bidder', 'Amazon', 'http://news.test/a/1.html', now(), 'failed', 8, "
                    "'SMTP server down', now() + INTERVAL 6 HOUR), ('bidder', 'Oracle', 'http://news.test/a/2.html', "
                    "now(), 'sent', 1, NULL, NULL)")
    warehouse = Warehouse(path)
    assert warehouse.migrate() == migrations()[-1][0]
    assert [a.value for a in warehouse.claim_alerts()] == ["Amazon"]
    assert warehouse.destinations() == {}


def test_partial_delivery_remembers_who_has_it(warehouse):
    [alert] = warehouse.store_outcomes([judged(1, (AMAZON,))]).alerts_new
    warehouse.claim_alerts()
    warehouse.mark_failed([alert.id], "chat down", delivered_to=["mailto://***@example.org"])
    [retry] = warehouse.claim_alerts()
    assert retry.delivered_to == ("mailto://***@example.org",)


def test_delivered_alert_is_not_due_again(warehouse):
    alerts = warehouse.store_outcomes([judged(1, (AMAZON, APRIL_5))]).alerts_new
    assert len(warehouse.claim_alerts()) == 2
    warehouse.mark_delivered([a.id for a in alerts])
    assert warehouse.claim_alerts(now=utcnow() + timedelta(days=30)) == []
    assert {s for (s,) in warehouse.query("SELECT status FROM alerts")[1]} == {"sent"}


def test_a_claimed_alert_is_not_claimed_twice_until_its_lease_runs_out(warehouse):
    [alert] = warehouse.store_outcomes([judged(1, (AMAZON,))]).alerts_new
    assert [a.id for a in warehouse.claim_alerts(lease=timedelta(minutes=10))] == [alert.id]
    assert warehouse.claim_alerts() == []                     # a second deliverer gets nothing
    # the first deliverer was killed before recording: after the lease, delivered again (at-least-once)
    assert [a.id for a in warehouse.claim_alerts(now=utcnow() + timedelta(minutes=11))] == [alert.id]


def test_released_alerts_are_due_again_at_once(warehouse):
    alerts = warehouse.store_outcomes([judged(1, (AMAZON, APRIL_5))]).alerts_new
    warehouse.release_alerts([a.id for a in warehouse.claim_alerts()])
    assert sorted(a.id for a in warehouse.claim_alerts()) == sorted(a.id for a in alerts)


HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
""")


def test_a_reader_in_another_process_makes_the_writer_wait_not_lose_work(warehouse):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(warehouse.path), "2"], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        stored = warehouse.store_outcomes([judged(1, (AMAZON,))])
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert stored.articles_new == 1 and count(warehouse, "facts") == 1
    assert waited > 0.5  # it did wait for the reader rather than fail


def test_a_reader_that_never_lets_go_is_reported_after_the_timeout(tmp_path):
    w = Warehouse(tmp_path / "w.duckdb", lock_timeout=1)
    w.migrate()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(w.path), "10"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(WarehouseLocked, match="stayed locked by another process"):
            w.store_outcomes([judged(1)])
    finally:
        holder.kill()
        holder.wait()


PEEK = textwrap.dedent("""
    import sys, duckdb
    try:
        duckdb.connect(sys.argv[1], read_only=True).close()
        print("open")
    except duckdb.IOException as e:
        print("locked" if "lock" in str(e).lower() else f"error: {e}")
""")


def another_process_can_read(w: Warehouse) -> str:
    """What a reader in another process finds, trying once: 'open' or 'locked'."""
    return subprocess.run([sys.executable, "-c", PEEK, str(w.path)], capture_output=True, text=True,
                          timeout=60).stdout.strip()


def test_a_session_keeps_one_connection_between_its_writes(warehouse):
    with warehouse.session():
        warehouse.store_outcomes([judged(1, (AMAZON,))])
        assert another_process_can_read(warehouse) == "locked"   # the file stays open between two writes
        warehouse.store_outcomes([judged(2, (APRIL_5,))])
    assert another_process_can_read(warehouse) == "open"         # and is closed when the session ends
    assert count(warehouse, "articles") == 2 and count(warehouse, "alerts") == 2


def test_a_session_with_release_after_lets_readers_in_between_writes(warehouse):
    with warehouse.session(release_after=0.3):
        warehouse.store_outcomes([judged(1, (AMAZON,))])
        assert another_process_can_read(warehouse) == "locked"   # held: not yet release_after seconds open
        time.sleep(0.3)
        warehouse.store_outcomes([judged(2, (APRIL_5,))])        # the write that ends past release_after ...
        assert another_process_can_read(warehouse) == "open"     # ... closes the connection after it
        warehouse.store_outcomes([judged(3)])                    # and the next write opens it again
        assert another_process_can_read(warehouse) == "locked"
    assert another_process_can_read(warehouse) == "open"
    assert count(warehouse, "articles") == 3 and count(warehouse, "facts") == 2


def test_a_failed_write_in_a_session_lets_go_of_its_connection(warehouse):
    with warehouse.session(release_after=60):
        warehouse.store_outcomes([judged(1, (AMAZON,))])
        with pytest.raises(ZeroDivisionError):
            with warehouse.transaction() as con:
                con.execute("DELETE FROM articles")
                1 / 0
        assert another_process_can_read(warehouse) == "open"     # rolled back and closed
        warehouse.store_outcomes([judged(2)])                    # the next write opens the file again
        assert another_process_can_read(warehouse) == "locked"
    assert count(warehouse, "articles") == 2


def test_two_cycles_never_run_at_once_on_one_warehouse(warehouse):
    from dealwatch.warehouse import CycleRunning

    with warehouse.cycle_lock():
        with pytest.raises(CycleRunning, match="another dealwatch cycle is running"):
            with Warehouse(warehouse.path).cycle_lock():
                pass
    with Warehouse(warehouse.path).cycle_lock():  # free again once the first is done
        pass
