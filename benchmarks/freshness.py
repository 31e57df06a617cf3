"""How soon an alert follows a publication, and at how many requests: `benchmarks/run.py --freshness`.

A simulated stream, run through the real cycle (flows.monitor.cycle, engine=False: polls over loopback HTTP,
fetch, extraction, judgment, DuckDB, delivery to a webhook through apprise) on a compressed clock:

  feeds   100 RSS feeds on a loopback server (this process, a thread), of four kinds (MIX): busy ones publishing
          every 2-10 minutes (news searches, wires), hourly ones (every 30-120 minutes), daily ones (an item
          every 6-48 hours) and idle ones (nothing new). Each feed's items appear at random times (a Poisson
          process at the feed's rate); a feed lists its latest 20, with ETag and 304. Some feeds ask for
          restraint: Cache-Control max-age, RSS <ttl>, <skipHours> (MIX, `asks`).
  items   half of them relevant: an article on the sale naming a new deadline, a date no other item names, so
          each raises exactly one alert; the others off-topic. Every page is distinct text.
  clock   simulated: a cycle starts at each tick (the serve schedule: every DEFAULT_TICK seconds), is told
          the simulated time (`now`), and runs at real speed: while it runs, simulated time runs with the
          real clock, so its own duration counts in full; between cycles the clock jumps to the next tick.
  two runs over the same stream, each on a fresh warehouse: `dealwatch serve`'s short cycles polling the
          feeds due by their own clock (only_due), and a fixed 15-minute cron polling every feed.

Measured: for every relevant item that appeared during the stream, the simulated time from its appearance
in its feed to the delivery of its alert (the alert's sent_at); the feed requests per feed per hour during
the stream; polls earlier than a feed allows (max-age, ttl, skipHours: must be none). The stream lasts
--hours (default 6, from 06:00 UTC), then the clock runs on for an hour (at most --hours) with nothing
new, so that the last items' alerts are counted too; an item without an alert by then counts as infinitely
late. --stream-feeds scales the mix (the test's smoke run: 10 feeds).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

# (kind, feeds, minutes between items (low, high) or None: nothing new, what some of them ask for)
MIX = [
    ("busy", 12, (2, 10), {0: {"max_age": 120}, 1: {"max_age": 120}}),
    ("hourly", 8, (30, 120), {0: {"max_age": 300}, 1: {"max_age": 300}, 2: {"max_age": 300}}),
    ("daily", 40, (360, 2880), {k: {"ttl": 60} for k in range(5)} | {k: {"skip_hours": (9, 10, 11)}
                                                                     for k in range(5, 8)}),
    ("idle", 40, None, {0: {"ttl": 120}, 1: {"skip_hours": tuple(range(0, 12))}}),
]
LISTED = 20                   # items a feed lists (the latest)
RELEVANT_SHARE = 0.5
BACKLOG = timedelta(hours=24)  # items before the stream starts: the feeds' first polls see them (not measured)
DRAIN = timedelta(hours=1)
CRON = timedelta(minutes=15)
FIRST_DEADLINE = date(2028, 1, 1)

FIRST = ["Jenna", "Marcus", "Priya", "Tom", "Lena", "Jonas", "Aylin", "David", "Sofia", "Kenji", "Maya", "Felix",
         "Clara", "Omar", "Hannah", "Lukas", "Grace", "Mateo", "Nora", "Sven"]
LAST = ["Whitlock", "Berger", "Nakamura", "Okafor", "Schulz", "Ramirez", "Lindqvist", "Hartmann", "Chen", "Duarte",
        "Kowalski", "Fischer", "Adeyemi", "Moreau", "Sato", "Novak", "Brennan", "Wolff"]
CITIES = ["Denver", "Leeds", "Porto", "Osaka", "Tallinn", "Austin", "Lyon", "Graz", "Utrecht", "Quebec", "Perth",
          "Malmo", "Bilbao", "Turin", "Dayton", "Ghent"]
FIRMS = ["Lowell Street Capital", "Harbor Lane Research", "Nordhafen Partners", "Bluegate Advisory",
         "Kestrel Analytics", "Mainufer Research", "Pinecrest Securities", "Elbtal Consulting"]
SALE_LINES = [
    "ByteDance must divest the app's American operations by then or face a ban in the United States.",
    "Lawmakers from both parties said the extension should be the last one.",
    "The order leaves the terms of any sale to the negotiating parties.",
    "Officials declined to say whether the talks had narrowed to a single group of investors.",
    "The app's users in the United States number more than 150 million, the company says.",
    "Beijing has said it would have to approve any export of the recommendation algorithm.",
    "Advisers to the company described the talks as complicated but moving.",
    "A spokesperson for ByteDance did not respond to a request for comment on Tuesday.",
]
ANALYST_LINES = ["{name}, an analyst at {firm} in {city}, put the odds of a quick outcome at {n} percent.",
                 "{name} of {firm} said from {city} that the talks had dragged on for {n} weeks.",
                 "According to {name} at {firm}, at least {n} advisers in {city} are involved.",
                 "{firm}'s {name} counted {n} meetings in Washington so far, {m} of them with {city} lawyers.",
                 "Speaking in {city}, {name} of {firm} said {n} of {m} clients were asking about the app.",
                 "{name}, who follows the company for {firm}, expects {n} more filings before the summer.",
                 "A survey by {firm} in {city} found {n} percent of users would switch apps, {name} said.",
                 "{name} at {firm} noted that advertisers in {city} had cut budgets by {n} percent."]
OTHER_LINES = [
    "The {city} council approved {n} kilometres of new bike lanes on Tuesday, {name} of {firm} reported.",
    "Rainfall around {city} was {n} percent above the seasonal average, said {name} at {firm}.",
    "The {city} museum's new wing will show {n} paintings from {m} private collections, according to {name}.",
    "Ticket sales for the {city} festival rose by {n} percent, {firm}'s {name} said.",
    "The {city} school district plans to hire {n} more teachers next year, {name} told {firm}.",
    "Commuters in {city} faced delays of up to {n} minutes after a signal failure, said {name} of {firm}.",
]


@dataclass
class Item:
    id: int
    feed: int
    at: float                  # seconds from the stream's start at which it appears in its feed
    relevant: bool
    deadline: date | None = None


@dataclass
class Feed:
    index: int
    kind: str
    minutes: float | None      # mean minutes between items; None: idle
    asks: dict
    items: list[Item] = field(default_factory=list)


def stream(seed: int, hours: float, feeds_wanted: int = 100) -> list[Feed]:
    """MIX's feeds (scaled to about feeds_wanted, each kind at least one) and their items."""
    rng = random.Random(seed)
    feeds, next_id, deadlines = [], 0, 0
    scale = feeds_wanted / sum(count for _, count, _, _ in MIX)
    for kind, count, minutes, asks in MIX:
        for k in range(max(1, round(count * scale))):
            feed = Feed(len(feeds), kind, rng.uniform(*minutes) if minutes else None, asks.get(k, {}))
            times = []
            if feed.minutes:
                t = -BACKLOG.total_seconds()
                while True:
                    t += rng.expovariate(1 / (feed.minutes * 60))
                    if t >= hours * 3600:
                        break
                    times.append(t)
            else:   # idle: a few items from days ago
                times = sorted(-rng.uniform(2, 9) * 86400 for _ in range(3))
            for t in times:
                relevant = rng.random() < RELEVANT_SHARE
                item = Item(next_id, feed.index, t, relevant)
                if relevant:
                    item.deadline = FIRST_DEADLINE + timedelta(days=deadlines)
                    deadlines += 1
                feed.items.append(item)
                next_id += 1
            feeds.append(feed)
    return feeds


def page(item: Item, seed: int) -> bytes:
    """A distinct article page: the relevant ones name their deadline, the others are off-topic."""
    rng = random.Random(f"{seed}:{item.id}")

    def clause(lines):   # a template line, then forty words of the sample articles' in random order: their
        # shingles are the page's own (template lines alone share too many: 1 page in 10 was a near copy)
        words = " ".join(rng.choice(_vocabulary()) for _ in range(40))
        return rng.choice(lines).format(name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", firm=rng.choice(FIRMS),
                                        city=rng.choice(CITIES), n=rng.randint(3, 97),
                                        m=rng.randint(100, 999)) + f" Notes: {words}."
    if item.relevant:   # one paragraph of the saga's lines, and many of its own: no two pages are near copies
        day = f"{item.deadline:%B} {item.deadline.day}, {item.deadline.year}"
        title = f"TikTok sale: new deadline set for {day} (report {item.id})"
        lead = (f"The White House extended the deadline for ByteDance to sell TikTok's US business to {day}, "
                f"officials said.")
        body = [lead, " ".join(rng.sample(SALE_LINES, 2))] + [
            " ".join(clause(ANALYST_LINES) for _ in range(3)) for _ in range(6)]
    else:
        title = f"Around town: what changed this week (report {item.id})"
        body = [" ".join(clause(OTHER_LINES) for _ in range(3)) for _ in range(6)]
    paragraphs = "".join(f"<p>{escape(p)}</p>\n" for p in body)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body><article><h1>{escape(title)}</h1>\n{paragraphs}</article></body></html>\n").encode()


@lru_cache(maxsize=1)
def _vocabulary() -> list[str]:
    """Lower-case words of the bundled sample articles' text, no digits, no names (capitalised words)."""
    import corpus
    words = set()
    for template in corpus.templates():
        if template.lang == "en":
            words.update(w for w in re.findall(r"\b[a-z]{4,12}\b", re.sub(r"<[^>]+>", " ", template.html)))
    return sorted(words)


class SimClock:
    """Simulated time, in seconds from the stream's start: set at each tick, then running with the real clock."""

    def __init__(self):
        self._sim, self._real = 0.0, time.monotonic()
        self.lock = threading.Lock()

    def set(self, sim: float) -> None:
        with self.lock:
            self._sim, self._real = sim, time.monotonic()

    def now(self) -> float:
        with self.lock:
            return self._sim + (time.monotonic() - self._real)


class StreamServer:
    """The feeds as they stand at the simulated time, their pages, a webhook; every feed request recorded."""

    def __init__(self, feeds: list[Feed], clock: SimClock, start: datetime, seed: int):
        self.feeds, self.clock, self.start, self.seed = feeds, clock, start, seed
        self.items = {item.id: item for feed in feeds for item in feed.items}
        self.requests: list[tuple[int, float, int]] = []   # (feed, simulated time, status)
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._send(200, b"{}", "application/json")

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if m := re.fullmatch(r"/f/(\d+)\.xml", path):
                    return self._feed(int(m.group(1)))
                if (m := re.fullmatch(r"/a/(\d+)\.html", path)) and int(m.group(1)) in server.items:
                    return self._send(200, page(server.items[int(m.group(1))], server.seed), "text/html; charset=utf-8")
                self._send(404, b"not found", "text/plain")

            def _feed(self, k: int):
                feed, now = server.feeds[k], server.clock.now()
                listed = [i for i in feed.items if i.at <= now][-LISTED:][::-1]
                etag = '"%s"' % hashlib.sha1(",".join(str(i.id) for i in listed).encode()).hexdigest()[:16]
                headers = {"ETag": etag}
                if feed.asks.get("max_age"):
                    headers["Cache-Control"] = f"max-age={feed.asks['max_age']}"
                status = 304 if self.headers.get("If-None-Match") == etag else 200
                with server.lock:
                    server.requests.append((k, now, status))
                if status == 304:
                    return self._send(304, b"", None, headers)
                self._send(200, server.rss(feed, listed), "application/rss+xml", headers)

            def _send(self, status, body, content_type, headers=None):
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request, client_address):   # a client that hung up: not the benchmark's concern
                pass

        self.http = Quiet(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def rss(self, feed: Feed, listed: list[Item]) -> bytes:
        parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
                 f"<title>Stream feed {feed.index} ({feed.kind})</title><link>{self.base}/</link>"
                 f"<description>simulated</description>"]
        if feed.asks.get("ttl"):
            parts.append(f"<ttl>{feed.asks['ttl']}</ttl>")
        if feed.asks.get("skip_hours"):
            parts.append("<skipHours>" + "".join(f"<hour>{h}</hour>" for h in feed.asks["skip_hours"])
                         + "</skipHours>")
        for item in listed:
            when = format_datetime(self.start + timedelta(seconds=item.at), usegmt=True)
            title = "TikTok sale: a new deadline" if item.relevant else "Around town"
            parts.append(f"\n<item><title>{escape(title)} (report {item.id})</title>"
                         f"<link>{self.base}/a/{item.id}.html</link><guid>{self.base}/a/{item.id}.html</guid>"
                         f"<pubDate>{when}</pubDate><description>report {item.id}</description></item>")
        parts.append("\n</channel></rss>\n")
        return "".join(parts).encode()

    def feed_urls(self) -> list[str]:
        return [f"{self.base}/f/{feed.index}.xml" for feed in self.feeds]

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def simulate(feeds: list[Feed], hours: float, seed: int, workdir: Path, adaptive: bool, tick: float,
             start: datetime) -> dict:
    """One run over the stream (module doc): latencies of the relevant items, requests, early polls."""
    from pydantic import SecretStr

    from dealwatch.warehouse import Warehouse, utcnow
    from flows.monitor import cycle

    clock = SimClock()
    server = StreamServer(feeds, clock, start, seed)
    db = workdir / f"freshness-{'adaptive' if adaptive else 'cron'}.duckdb"
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    warehouse = Warehouse(db)
    period = tick if adaptive else CRON.total_seconds()
    end = hours * 3600 + min(DRAIN.total_seconds(), hours * 3600)
    anchors: list[tuple[datetime, float]] = []   # (wall clock at a cycle's start, simulated time then)
    sim, cycles, busy_real = 0.0, 0, 0.0
    try:
        while sim < end:
            clock.set(sim)
            anchors.append((utcnow(), sim))
            started = time.monotonic()
            with warehouse.cycle_lock():
                asyncio.run(cycle(warehouse, server.feed_urls(), [SecretStr(f"json://{server.base[7:]}/notify")],
                                  [], None, {}, 10, engine=False, only_due=adaptive, tick=tick if adaptive else None,
                                  clock=lambda: start.replace(tzinfo=None) + timedelta(seconds=clock.now())))
            took = time.monotonic() - started
            busy_real += took
            cycles += 1
            sim = (math.floor((sim + took) / period) + 1) * period   # the next tick after this cycle's end
        _, sent = warehouse.query("SELECT value, sent_at FROM alerts WHERE kind = 'deadline' AND status = 'sent'")
    finally:
        server.close()
    by_deadline = {item.deadline.isoformat(): item for feed in feeds for item in feed.items if item.relevant}
    latencies = {}
    for value, sent_at in sent:
        item = by_deadline.get(value)
        if item is None or not 0 <= item.at < hours * 3600:
            continue
        wall, at_sim = max((a for a in anchors if a[0] <= sent_at), key=lambda a: a[0])
        latencies[item.id] = at_sim + (sent_at - wall).total_seconds() - item.at
    measured = [item for feed in feeds for item in feed.items if item.relevant and 0 <= item.at < hours * 3600]
    during = [r for r in server.requests if r[1] < hours * 3600]
    return {"latencies": [latencies.get(i.id, math.inf) for i in measured],
            "by_kind": {kind: sorted(latencies.get(i.id, math.inf) for i in measured if feeds[i.feed].kind == kind)
                        for kind, *_ in MIX},
            "missed": sum(i.id not in latencies for i in measured),
            "requests_per_feed_hour": len(during) / len(feeds) / hours,
            "requests_by_kind": {kind: sum(1 for r in during if feeds[r[0]].kind == kind)
                                 / sum(1 for f in feeds if f.kind == kind) / hours for kind, *_ in MIX},
            "early_polls": early_polls(feeds, server.requests, start),
            "cycles": cycles, "cycle_seconds_real": round(busy_real, 1)}


def early_polls(feeds: list[Feed], requests: list[tuple[int, float, int]], start: datetime) -> int:
    """Requests sooner than the feed allows: within max-age or ttl of the previous answer, or in a skipped hour
    (after the first request: what a feed asks for is known once it has been read)."""
    early, last = 0, {}
    for k, at, _ in sorted(requests, key=lambda r: r[1]):
        asks = feeds[k].asks
        fresh = max(asks.get("max_age", 0), asks.get("ttl", 0) * 60)
        if k in last and (at - last[k] < fresh or (start + timedelta(seconds=at)).hour in asks.get("skip_hours", ())):
            early += 1
        last[k] = at
    return early


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = q * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    if math.isinf(ordered[high]) or math.isinf(ordered[low]):
        return ordered[high]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def run(hours: float, seed: int, workdir: Path, tick: float | None = None, feeds_wanted: int = 100) -> dict:
    from deployments.serve import DEFAULT_TICK

    tick = tick or DEFAULT_TICK
    today = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0) - timedelta(days=1)
    feeds = stream(seed, hours, feeds_wanted)
    out = {"hours": hours, "tick_s": tick, "feeds": len(feeds), "start": today.isoformat(),
           "feeds_by_kind": {kind: sum(1 for f in feeds if f.kind == kind) for kind, *_ in MIX},
           "items": sum(1 for f in feeds for i in f.items if 0 <= i.at < hours * 3600),
           "relevant": sum(1 for f in feeds for i in f.items if i.relevant and 0 <= i.at < hours * 3600)}
    for name, adaptive in (("adaptive", True), ("cron", False)):
        result = simulate(feeds, hours, seed, workdir, adaptive, tick, today)
        lat = result.pop("latencies")
        result["p50_s"], result["p95_s"] = percentile(lat, 0.5), percentile(lat, 0.95)
        result["by_kind"] = {kind: {"items": len(v), "p50_s": percentile(v, 0.5), "p95_s": percentile(v, 0.95)}
                             for kind, v in result["by_kind"].items()}
        out[name] = result
    return out


def render(res: dict) -> tuple[str, str]:
    a, c = res["adaptive"], res["cron"]

    def s(x):
        return "-" if isinstance(x, float) and math.isnan(x) else ("inf" if math.isinf(x) else f"{x:.0f} s")
    lines = [f"freshness: {res['feeds']} feeds, a {res['hours']:g} h stream from {res['start'][:16]} UTC "
             f"(simulated), {res['items']} items, {res['relevant']} relevant; serve's tick {res['tick_s']:g} s",
             f"{'':28}{'feeds due (serve)':>22}{'15-min cron':>16}",
             f"{'alert after appearance p50':28}{s(a['p50_s']):>22}{s(c['p50_s']):>16}",
             f"{'alert after appearance p95':28}{s(a['p95_s']):>22}{s(c['p95_s']):>16}",
             f"{'relevant items not alerted':28}{a['missed']:>22}{c['missed']:>16}",
             f"{'requests / feed / h':28}{a['requests_per_feed_hour']:>22.2f}{c['requests_per_feed_hour']:>16.2f}",
             f"{'polls sooner than allowed':28}{a['early_polls']:>22}{c['early_polls']:>16}",
             f"{'cycles (real s in them)':28}{a['cycles']:>14} ({a['cycle_seconds_real']:>5.0f} s){c['cycles']:>8} "
             f"({c['cycle_seconds_real']:>4.0f} s)"]
    for kind, _, minutes, _ in MIX:
        ka, kc = a["by_kind"][kind], c["by_kind"][kind]
        feeds = res["feeds_by_kind"][kind]
        what = f"every {minutes[0]}-{minutes[1]} min" if minutes else "nothing new"
        lines.append(f"  {kind:7} {feeds:3} feeds ({what}), {ka['items']} relevant: p50/p95 "
                     f"{s(ka['p50_s'])}/{s(ka['p95_s'])} at {a['requests_by_kind'][kind]:.1f} req/feed/h; cron "
                     f"{s(kc['p50_s'])}/{s(kc['p95_s'])} at {c['requests_by_kind'][kind]:.1f}")
    summary = (f"freshness: alert p50 {a['p50_s']:.0f} s p95 {a['p95_s']:.0f} s | requests/feed/h "
               f"{a['requests_per_feed_hour']:.1f} (15-min cron {c['requests_per_feed_hour']:.1f})")
    return "\n".join(lines), summary


def main(a) -> int:
    import os
    import shutil
    import tempfile

    from run import QUIET
    os.environ.update(QUIET)
    workdir = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="dealwatch-freshness-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        res = run(a.hours, a.seed, workdir, a.tick, a.stream_feeds)
    finally:
        if not a.workdir and not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    table, summary = render(res)
    res["summary"] = summary
    print(table)
    print(summary)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    return 0
