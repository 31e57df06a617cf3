"""Each feed's own clock (dealwatch/schedule.py), on an injected clock: the rules alone, then through real polls of
feeds served by a real HTTP server on loopback (tests/loopback.py) into a real DuckDB warehouse, a cycle that
polls only the feeds due, the serve deployment's wiring and `dealwatch feeds`."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from dealwatch import schedule
from dealwatch.feeds import channel_schedule
from dealwatch.fetch import poll_feeds
from dealwatch.schedule import (CEILING, FLOOR, K_WORTH, Rate, budget, cache_max_age, interval_for, next_poll,
                                seeded_rate, spacing)
from dealwatch.warehouse import Warehouse
from loopback import html_page, rss_feed

NOW = datetime(2026, 3, 2, 6, 0)   # naive UTC, as the warehouse keeps time
ROOT = Path(__file__).resolve().parents[1]


def rss_with(items: list[dict], extra: str = "") -> bytes:
    """rss_feed's bytes with channel elements (ttl, skipHours) added."""
    return rss_feed("Feed", items).replace(b"<description>test</description>",
                                           b"<description>test</description>" + extra.encode(), 1)


def dated_items(base: str, count: int, every: timedelta, newest: datetime) -> list[dict]:
    return [{"title": f"Item {n}", "link": f"{base}/a/{n}.html",
             "pubDate": format_datetime((newest - n * every).replace(tzinfo=UTC), usegmt=True)}
            for n in range(count)]


# -- the rules ------------------------------------------------------------------------------------------

def test_interval_follows_the_rate_between_floor_and_ceiling():
    assert interval_for(30) == FLOOR                         # every 2 minutes: at the floor
    hourly = interval_for(1)
    assert FLOOR < hourly < timedelta(minutes=10)            # sqrt(2 x 30 s x 3600 s) = 7.7 min
    assert interval_for(0.001) == CEILING                    # idle: once an hour
    assert timedelta(minutes=20) < interval_for(Rate().per_hour) < timedelta(minutes=30)   # no history yet
    assert abs(interval_for(1, spacing=K_WORTH * 2) - hourly * 2) < timedelta(milliseconds=1)   # a larger constant


def test_the_rate_estimate_follows_a_feed_that_wakes_up_and_falls_silent():
    rate = seeded_rate([NOW - timedelta(days=3)], NOW)       # it lists only an item from days ago: idle
    assert next_poll(NOW, rate=rate, ok=True).due_at - NOW == CEILING
    rate = rate.observed(6, timedelta(hours=1))              # six new items within the hour
    woke = next_poll(NOW, rate=rate, ok=True)
    assert woke.due_at - NOW < timedelta(minutes=10) and "items/h" in woke.reason
    for _ in range(24):                                      # then nothing for a day, polled hourly
        rate = rate.observed(0, timedelta(hours=1))
    assert next_poll(NOW, rate=rate, ok=True).due_at - NOW == CEILING


def test_the_first_poll_reads_the_rate_from_the_listed_dates():
    busy = seeded_rate([NOW - timedelta(minutes=3 * n) for n in range(20)], NOW)   # 20 items in an hour
    assert 12 < busy.per_hour < 30 and interval_for(busy.per_hour) == FLOOR
    assert seeded_rate([None, None], NOW) == Rate()          # no dates: no estimate


def test_a_budget_shares_requests_by_the_square_root_rule():
    rates = [30.0] * 10 + [1.0] * 10 + [0.001] * 80
    assert spacing([0.001] * 10, budget(10)) == K_WORTH     # idle feeds: the budget does not bind
    k = spacing(rates, budget(len(rates)))
    assert k > K_WORTH
    planned = sum(3600 / interval_for(r, k).total_seconds() for r in rates)
    assert budget(len(rates)) * 0.99 <= planned <= budget(len(rates)) <= 4 * len(rates)   # below a 15-min cron
    assert interval_for(30, k) < interval_for(1, k) < interval_for(0.001, k) == CEILING


def test_what_the_feed_asks_for_is_never_cut_short():
    busy = Rate(50, 2)
    plain = next_poll(NOW, rate=busy, ok=True)
    assert plain.due_at - NOW == FLOOR and plain.not_before is None and "floor" in plain.reason
    cached = next_poll(NOW, rate=busy, ok=True, max_age=900)
    assert cached.due_at - NOW == cached.not_before - NOW == timedelta(seconds=900)
    assert cached.reason == "Cache-Control max-age 900 s"
    ttl = next_poll(NOW, rate=busy, ok=True, max_age=60, ttl=1800)
    assert ttl.not_before - NOW == timedelta(minutes=30) and ttl.reason == "RSS ttl 30 min"
    later = next_poll(NOW, rate=busy, ok=False, retry_after=600, backoff=timedelta(minutes=5), failures=1)
    assert later.not_before - NOW == timedelta(minutes=10) and later.reason == "Retry-After 600 s"
    backing = next_poll(NOW, rate=busy, ok=False, backoff=timedelta(minutes=20), failures=3)
    assert backing.reason == "backing off after 3 failure(s)"
    huge = next_poll(NOW, rate=busy, ok=True, ttl=10 ** 7)
    assert huge.not_before - NOW == schedule.HINT_CAP
    skipped = next_poll(NOW.replace(hour=5, minute=59), rate=busy, ok=True, skip_hours=(6, 7, 8))
    assert skipped.due_at == NOW.replace(hour=9) and skipped.reason == "skipHours 6-8 (UTC)"
    assert next_poll(NOW, rate=busy, ok=True, skip_hours=tuple(range(24))).due_at - NOW == FLOOR   # broken: ignored


def test_cache_control_and_channel_hints_are_read():
    assert cache_max_age("public, max-age=600") == 600
    assert cache_max_age("max-age=60, s-maxage=300") == 300
    assert cache_max_age("no-cache, max-age=600") is None
    assert cache_max_age("max-age=0") is None and cache_max_age(None) is None
    body = rss_with([], "<ttl>15</ttl><skipHours><hour>23</hour><hour>24</hour><hour>1</hour></skipHours>")
    assert channel_schedule(body) == (900.0, (0, 1, 23))
    assert channel_schedule(rss_with([])) == (None, ())


# -- through real polls ---------------------------------------------------------------------------------

def poll_and_record(warehouse: Warehouse, urls: list[str], now: datetime, only_due: bool = False,
                    tick: float | None = None) -> list[str]:
    """One cycle's polling: the feeds due at `now`, polled over HTTP, recorded at `now`; the urls polled."""
    due, _ = warehouse.feeds_to_poll(urls, now=now, only_due=only_due, tick=tick)
    polls = asyncio.run(poll_feeds([(f.url, f.etag, f.last_modified) for f in due]))
    warehouse.record_polls(polls, now=now)
    return [f.url for f in due]


def feed_row(warehouse: Warehouse, url: str) -> dict:
    columns, rows = warehouse.query("SELECT * FROM feeds WHERE url = ?", [url])
    return dict(zip(columns, rows[0]))


def test_polls_over_http_schedule_each_feed_by_its_own_clock(loopback, tmp_path):
    base = loopback.url("").rstrip("/")
    newest = NOW.replace(tzinfo=None)
    loopback.route("/busy.xml", body=rss_with(dated_items(base, 20, timedelta(minutes=3), newest)),
                   content_type="application/rss+xml")
    loopback.route("/idle.xml", body=rss_with(dated_items(base + "/idle", 3, timedelta(days=2), newest - timedelta(days=5))),
                   content_type="application/rss+xml")
    loopback.route("/cached.xml", body=rss_with(dated_items(base + "/c", 20, timedelta(minutes=3), newest)),
                   content_type="application/rss+xml", headers={"Cache-Control": "public, max-age=900"})
    loopback.route("/ttl.xml", body=rss_with([], "<ttl>45</ttl><skipHours><hour>8</hour></skipHours>"),
                   content_type="application/rss+xml", etag='"t1"')
    loopback.route("/down.xml", status=503, body=b"busy", content_type="text/plain", headers={"Retry-After": "3600"})
    urls = [loopback.url(p) for p in ("/busy.xml", "/idle.xml", "/cached.xml", "/ttl.xml", "/down.xml")]
    busy, idle, cached, ttl, down = urls
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.migrate()

    assert poll_and_record(warehouse, urls, NOW, only_due=True) == urls   # new feeds: all due at once
    rows = {url: feed_row(warehouse, url) for url in urls}
    assert rows[busy]["due_at"] - NOW == FLOOR and "floor" in rows[busy]["due_reason"]
    assert rows[idle]["due_at"] - NOW == CEILING and "idle" in rows[idle]["due_reason"]
    assert rows[cached]["next_poll_at"] - NOW == timedelta(minutes=15)
    assert rows[cached]["due_reason"] == "Cache-Control max-age 900 s"
    assert rows[ttl]["next_poll_at"] - NOW == timedelta(minutes=45) and rows[ttl]["skip_hours"] == [8]
    assert rows[down]["next_poll_at"] - NOW == timedelta(hours=1) and rows[down]["due_reason"] == "Retry-After 3600 s"

    # serve's short cycles: only what is due; a fixed cron: every feed that allows it
    assert poll_and_record(warehouse, urls, NOW + timedelta(minutes=1), only_due=True) == []
    assert poll_and_record(warehouse, urls, NOW + timedelta(minutes=2), only_due=True) == [busy]
    assert poll_and_record(warehouse, urls, NOW + timedelta(minutes=3)) == [busy, idle]
    assert loopback.hits("/cached.xml") == loopback.hits("/ttl.xml") == 1 and loopback.hits("/down.xml") == 1
    # 06:45: the ttl is over, but at 08:xx the feed asks not to be read: polled at 06:45, not at 08:10
    assert ttl in poll_and_record(warehouse, urls, NOW + timedelta(minutes=46))
    assert loopback.requests_to("/ttl.xml")[-1].header("If-None-Match") == '"t1"'
    assert feed_row(warehouse, ttl)["next_poll_at"] - (NOW + timedelta(minutes=46)) == timedelta(minutes=45)  # a 304 keeps the ttl
    assert ttl not in poll_and_record(warehouse, urls, NOW.replace(hour=8, minute=10))
    assert ttl not in poll_and_record(warehouse, urls, NOW.replace(hour=8, minute=59))
    assert ttl in poll_and_record(warehouse, urls, NOW.replace(hour=9))


def test_the_busy_feeds_get_the_requests_and_stay_within_the_budget(loopback, tmp_path):
    """Twenty feeds, two busy: by their own clocks the busy ones are polled every two minutes, the idle ones
    hourly, and all of them together make fewer requests than a 15-minute cron would."""
    base = loopback.url("").rstrip("/")
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.migrate()
    urls = []
    for k in range(2, 20):
        loopback.route(f"/f{k}.xml", body=rss_with(dated_items(f"{base}/{k}", 2, timedelta(days=3),
                                                               NOW - timedelta(days=4))),
                       content_type="application/rss+xml")
    urls = [loopback.url(f"/f{k}.xml") for k in range(20)]

    def busy_feed(k: int, at: datetime) -> bytes:   # an item every 3 minutes, up to `at`
        last = (at - NOW).total_seconds() // 180
        return rss_feed("Busy", [{"title": f"Item {n}", "link": f"{base}/{k}/a/{n:.0f}.html",
                                  "pubDate": format_datetime((NOW + timedelta(minutes=3 * n)).replace(tzinfo=UTC),
                                                             usegmt=True)}
                                 for n in (last - j for j in range(20))])
    with warehouse.session():   # one connection for the 120 cycles' polls
        for minute in range(0, 120):
            at = NOW + timedelta(minutes=minute)
            for k in (0, 1):
                loopback.route(f"/f{k}.xml", body=busy_feed(k, at), content_type="application/rss+xml")
            poll_and_record(warehouse, urls, at, only_due=True, tick=60)   # serve's short cycles, a minute apart
    requests = [loopback.hits(f"/f{k}.xml") for k in range(20)]
    assert all(55 <= n <= 60 for n in requests[:2]), requests  # every 2 minutes for 2 hours, never more often
    assert all(n == 2 for n in requests[2:]), requests         # the first poll, then an hour later
    assert sum(requests) / 20 / 2 < 4                          # per feed and hour: below a 15-minute cron


def test_a_cycle_polls_only_the_due_feeds(loopback, tmp_path):
    """The real cycle (flows.monitor.cycle, without the engine) with only_due, on an injected clock."""
    from flows.monitor import cycle
    base = loopback.url("").rstrip("/")
    loopback.route("/busy.xml", body=rss_with(dated_items(base, 20, timedelta(minutes=3), NOW)),
                   content_type="application/rss+xml")
    loopback.route("/slow.xml", body=rss_with([]), content_type="application/rss+xml")
    for n in range(20):
        loopback.route(f"/a/{n}.html", body=html_page(f"Local news {n}", "The council met on Tuesday."))
    warehouse = Warehouse(tmp_path / "w.duckdb")
    feeds = [loopback.url("/busy.xml"), loopback.url("/slow.xml")]

    def run(at: datetime) -> dict:
        with warehouse.cycle_lock():
            return asyncio.run(cycle(warehouse, feeds, [], [], None, {}, 10, engine=False, only_due=True,
                                     clock=lambda: at, tick=60))
    first = run(NOW)
    assert (first["feeds_polled"], first["articles_new"]) == (2, 20)
    second = run(NOW + timedelta(seconds=60))
    assert (second["feeds_polled"], second["feeds_not_due"]) == (0, 2)
    third = run(NOW + timedelta(seconds=120))
    assert (third["feeds_polled"], third["feeds_not_due"]) == (1, 1)
    assert loopback.hits("/busy.xml") == 2 and loopback.hits("/slow.xml") == 1
    assert warehouse.query("SELECT count(*) FROM runs WHERE status = 'completed'")[1] == [(3,)]


# -- the wiring -----------------------------------------------------------------------------------------

def test_serve_defaults_to_short_cycles_of_the_due_feeds_and_a_cron_stays_available(tmp_path):
    from deployments.serve import DEFAULT_CRON, DEFAULT_TICK, build_deployments, check_schedule
    params = {"config": str(tmp_path / "dealwatch.toml")}
    monitor = build_deployments(params, tick=DEFAULT_TICK)[0]
    assert [s.schedule.interval.total_seconds() for s in monitor.schedules] == [DEFAULT_TICK]
    assert monitor.parameters == {**params, "only_due": True, "tick": DEFAULT_TICK}
    fixed = build_deployments(params)[0]
    assert [s.schedule.cron for s in fixed.schedules] == [DEFAULT_CRON] and fixed.parameters == params
    with pytest.raises(ValueError, match="at least 1"):
        check_schedule(None, None, 0)
    result = subprocess.run([sys.executable, "-m", "dealwatch", "serve", "--db", str(tmp_path / "w.duckdb"),
                             "--tick", "30", "--cron", "*/5 * * * *"], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and "not allowed with" in result.stderr   # one schedule or the other


def test_feeds_command_shows_each_feeds_next_poll_and_why(loopback, tmp_path):
    base = loopback.url("").rstrip("/")
    from dealwatch.warehouse import utcnow
    now = utcnow()
    loopback.route("/busy.xml", body=rss_with(dated_items(base, 20, timedelta(minutes=3), now)),
                   content_type="application/rss+xml", headers={"Cache-Control": "max-age=600"})
    db = tmp_path / "w.duckdb"
    warehouse = Warehouse(db)
    warehouse.migrate()
    poll_and_record(warehouse, [loopback.url("/busy.xml")], now)
    warehouse.feeds_to_poll([loopback.url("/new.xml")])   # registered, never polled
    result = subprocess.run([sys.executable, "-m", "dealwatch", "feeds", "--db", str(db)], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "next_poll" in result.stdout and "why" in result.stdout
    busy_line = next(line for line in result.stdout.splitlines() if "/busy.xml" in line)
    assert "Cache-Control max-age 600 s" in busy_line and "(in 10 min)" in busy_line
    new_line = next(line for line in result.stdout.splitlines() if "/new.xml" in line)
    assert "new: due now" in new_line


@pytest.mark.prefect
def test_the_monitor_flow_with_only_due_polls_a_feed_again_only_when_it_is_due(prefect_engine, loopback, tmp_path):
    """The flow run as serve's deployment starts it (only_due, tick): a second run a moment later polls nothing."""
    from flows.monitor import monitor
    from dealwatch.warehouse import utcnow
    base = loopback.url("").rstrip("/")
    loopback.route("/busy.xml", body=rss_with(dated_items(base, 3, timedelta(minutes=3), utcnow())),
                   content_type="application/rss+xml")
    for n in range(3):
        loopback.route(f"/a/{n}.html", body=html_page(f"Local news {n}", "The council met on Tuesday."))
    params = dict(db=str(tmp_path / "w.duckdb"), feeds=[loopback.url("/busy.xml")], only_due=True, tick=60)
    first = asyncio.run(monitor(**params))
    second = asyncio.run(monitor(**params))
    assert (first["feeds_polled"], first["articles_new"]) == (1, 3)
    assert (second["feeds_polled"], second["feeds_not_due"]) == (0, 1)
    assert loopback.hits("/busy.xml") == 1
