"""Feeds and pages as they really are (issue 18): malformed-but-readable feeds, JSON Feed, sloppy dates, wrong
encodings, "Document moved" pages, list items and foreign-language comment sections on pages, hosts that do
not resolve or refuse. Every feed and page here is written for these tests in the shapes seen in the wild,
served by a real HTTP server on loopback (tests/loopback.py), into a real DuckDB file where a warehouse is
involved."""
from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from datetime import UTC, date, datetime

import duckdb
import pytest
from loopback import Route, rss_feed

from dealwatch.cycle import Fetched, process_one
from dealwatch.extract import ExtractionError, extract_article, interstitial, parse_html
from dealwatch.fetch import (FetchSettings, HostSkipped, HostUnreachable, NetworkError, fetch_page, new_client,
                             poll_feed)
from dealwatch.model import FeedItem, Page
from dealwatch.profile import load_profile
from dealwatch.warehouse import Warehouse

FAST = FetchSettings(retry_wait_initial=0.01, retry_wait_max=0.05, retry_jitter=0.0)


def poll(server, path, settings=FAST, etag=None, last_modified=None):
    async def go():
        async with new_client(settings) as client:
            return await poll_feed(client, server.url(path), etag, last_modified)
    return asyncio.run(go())


def rss(items: str, *, declaration: str = '<?xml version="1.0" encoding="UTF-8"?>', title: str = "Wire") -> str:
    return (f'{declaration}\n<rss version="2.0"><channel><title>{title}</title><link>https://wire.example/</link>'
            f"<description>Latest</description>{items}</channel></rss>\n")


def item_xml(n: int, title: str, date_text: str = "Mon, 14 Sep 2020 18:30:00 GMT", extra: str = "") -> str:
    return (f"<item><title>{title}</title><link>https://wire.example/story/{n}</link>"
            f"<guid isPermaLink=\"false\">wire-{n}</guid><pubDate>{date_text}</pubDate>"
            f"<description>Story {n} about the sale.</description>{extra}</item>")


# -- 1. a feed that parses in full but carries a recoverable XML error ----------------------------------

FEEDBURNER_LIKE = "\n\n   " + rss(item_xml(1, "Oracle bids") + item_xml(2, "Walmart joins"))   # blanks before <?xml
TRUNCATED = rss(item_xml(3, "Deadline extended") + item_xml(4, "Talks resume"))[:-30]          # cut mid-</channel>


@pytest.mark.parametrize("body", [FEEDBURNER_LIKE, TRUNCATED], ids=["whitespace-before-declaration", "truncated"])
def test_a_readable_feed_with_an_xml_error_is_a_healthy_poll_and_its_oddity_is_shown(loopback, tmp_path, body):
    loopback.route("/feed.xml", body=body, content_type="application/rss+xml", etag='"v1"',
                   last_modified="Sat, 01 Jun 2024 00:00:00 GMT")
    result = poll(loopback, "/feed.xml")
    assert result.ok and result.error is None and len(result.items) == 2
    assert result.warning and "malformed XML, read 2 item(s)" in result.warning

    db = tmp_path / "w.duckdb"
    warehouse = Warehouse(db)
    warehouse.migrate()
    warehouse.feeds_to_poll([result.feed_url])
    for _ in range(12):   # more polls than it takes to park a failing feed (10)
        assert warehouse.record_polls([result])
    with duckdb.connect(str(db), read_only=True) as con:
        failures, parked, etag, success, warning = con.execute(
            "SELECT consecutive_failures, parked, etag, last_success_at, last_warning FROM feeds").fetchone()
    assert (failures, parked, etag) == (0, False, '"v1"') and success is not None
    assert warning == result.warning

    # and the next conditional poll gets its 304 (the validators were kept)
    assert poll(loopback, "/feed.xml", etag=etag).not_modified

    if body is TRUNCATED:   # what a user sees (once: a process of its own costs a few seconds)
        shown = subprocess.run([sys.executable, "-m", "dealwatch", "feeds", "--db", str(db)], capture_output=True,
                               text=True, timeout=120)
        assert shown.returncode == 0 and "warning" in shown.stdout and "malformed XML" in shown.stdout


# -- 2. JSON Feed 1 and 1.1 -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1"])
def test_json_feed_is_read(loopback, version):
    document = {
        "version": version, "title": "Deal desk", "home_page_url": "https://desk.example/",
        "items": [
            {"id": "1", "url": "https://desk.example/oracle?utm_source=json", "title": "Oracle &amp; TikTok",
             "content_html": "<p>Oracle <b>offered</b> about $20 billion.</p>", "date_published": "2020-09-14T18:30:00+02:00"},
            {"id": "2", "external_url": "https://other.example/walmart", "title": "Walmart",
             "content_text": "Walmart joined the bid.", "date_modified": "2020-09-15T08:00:00Z"},
            {"id": "3", "title": "No link, skipped", "content_text": "nothing to fetch"},
        ]}
    loopback.route("/feed.json", body=json.dumps(document), content_type="application/feed+json")
    result = poll(loopback, "/feed.json")
    assert result.ok, result.error
    assert result.title == "Deal desk"
    oracle, walmart = result.items
    assert (oracle.link, oracle.title, oracle.summary) == ("https://desk.example/oracle", "Oracle & TikTok",
                                                           "Oracle offered about $20 billion.")
    assert oracle.published == datetime(2020, 9, 14, 16, 30, tzinfo=UTC) and oracle.guid == "1"
    assert (walmart.link, walmart.summary) == ("https://other.example/walmart", "Walmart joined the bid.")
    assert walmart.published == datetime(2020, 9, 15, 8, 0, tzinfo=UTC)


# -- 3. dates that are not RFC 822 ----------------------------------------------------------------------

def test_dates_feedparser_cannot_read_are_read_leniently(loopback):
    body = rss(item_xml(1, "Sloppy", "Thu,28 Jul 2022 4:35:5 GMT+9")
               + item_xml(2, "Portuguese", "Qui, 28 Jul 2022 16:35:05 -0300")
               + item_xml(3, "Portuguese, long", "quinta-feira, 28 de julho de 2022 16:35")
               + item_xml(4, "Not a date", "soon"))
    loopback.route("/feed.xml", body=body, content_type="application/rss+xml")
    items = poll(loopback, "/feed.xml").items
    assert [i.published for i in items] == [datetime(2022, 7, 27, 19, 35, 5, tzinfo=UTC),
                                            datetime(2022, 7, 28, 19, 35, 5, tzinfo=UTC),
                                            datetime(2022, 7, 28, 16, 35, tzinfo=UTC), None]


# -- 4. misdeclared encodings ---------------------------------------------------------------------------

def test_utf8_bytes_declared_windows_1252_are_read_as_utf8(loopback):
    body = rss(item_xml(1, "Euro € and café prices"), declaration='<?xml version="1.0" encoding="windows-1252"?>')
    loopback.route("/feed.xml", body=body.encode("utf-8"), content_type="application/rss+xml")
    loopback.route("/header.xml", body=rss(item_xml(2, "Zürich: Gespräche über den Verkauf")).encode("utf-8"),
                   content_type="text/xml; charset=ISO-8859-1")
    result = poll(loopback, "/feed.xml")
    assert result.items[0].title == "Euro € and café prices"
    assert "declared windows-1252 but the bytes are UTF-8" in result.warning
    assert poll(loopback, "/header.xml").items[0].title == "Zürich: Gespräche über den Verkauf"
    # a feed that really is windows-1252, and says so, is left alone
    real = rss(item_xml(3, "Euro € and café prices"), declaration='<?xml version="1.0" encoding="windows-1252"?>')
    loopback.route("/cp1252.xml", body=real.encode("cp1252"), content_type="application/rss+xml")
    result = poll(loopback, "/cp1252.xml")
    assert result.items[0].title == "Euro € and café prices" and result.warning is None


JAPANESE = ["東京株式市場で日経平均株価は続伸した", "動画投稿アプリの米国事業の売却交渉が続いている",
            "オラクルが約200億ドルで買収を提案したと関係者が明らかにした", "ウォルマートも共同での買収に名乗りを上げた"]


def test_undeclared_shift_jis_is_detected(loopback):
    body = rss("".join(item_xml(n, title) for n, title in enumerate(JAPANESE)), declaration='<?xml version="1.0"?>',
               title="経済ニュース")
    loopback.route("/feed.xml", body=body.encode("shift_jis"), content_type="application/rss+xml")
    result = poll(loopback, "/feed.xml")
    assert result.ok and result.title == "経済ニュース"
    assert [i.title for i in result.items] == JAPANESE
    assert "no encoding declared" in result.warning and ("shift_jis" in result.warning or "cp932" in result.warning)


# -- 5. an HTML page where the feed used to be ----------------------------------------------------------

def test_an_html_page_where_the_feed_was_names_where_it_moved(loopback):
    loopback.route("/old.xml", body=b'<html><head><title>Document Moved</title></head><body><h1>Object Moved</h1>'
                                    b'This document may be found <a HREF="https://feeds.wire.example/rss/world">'
                                    b"here</a></body></html>", content_type="text/html")
    loopback.route("/refresh.xml", body=b'<!DOCTYPE html><html><head><meta http-equiv="refresh" '
                                        b'content="0; url=/feeds/new.xml"><title>Redirecting</title></head>'
                                        b"<body><p>Redirecting...</p></body></html>", content_type="text/html")
    moved = poll(loopback, "/old.xml")
    assert not moved.ok and "moved to https://feeds.wire.example/rss/world" in moved.error
    assert "update the feed's URL" in moved.error
    assert f"moved to {loopback.url('/feeds/new.xml')}" in poll(loopback, "/refresh.xml").error


# -- 6. pages: list items inside the <article>, comment sections in any language ------------------------

BODY = ("The sale of TikTok's U.S. business drew several suitors over the summer, people familiar with the "
        "talks said, and the government set a deadline for a deal. ") * 2
LIST_PAGE = f"""<!doctype html><html lang="en"><head><title>Who is bidding</title></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<main><article><h1>Who is bidding for TikTok</h1><p>{BODY}</p><p>Here is where the bids stand:</p>
<ul><li>Oracle offered about $20 billion for the U.S. operations, according to two people briefed on it.</li>
<li>Walmart joined Microsoft in a rival bid for the app's American business last month.</li></ul>
<p>{BODY}</p></article></main><footer>© Wire</footer></body></html>"""

PT = ("A venda das operações americanas do TikTok atraiu vários interessados, segundo pessoas a par das "
      "negociações, e o governo fixou um prazo para o acordo. ") * 2
COMMENT_PAGES = {
    "pt": ("Comentários", "comentarios", "Isso é um absurdo, a Amazon deveria comprar tudo."),
    "es": ("Comentarios", "lista-comentarios", "Seguro que al final lo compra Amazon por mil millones."),
    "fr": ("Commentaires", "commentaires", "Amazon va sûrement racheter tout cela pour rien."),
    "nl": ("Reacties", "reacties", "Amazon koopt het uiteindelijk toch voor een habbekrats."),
}


def commented_page(lang: str) -> str:
    heading, css, comment = COMMENT_PAGES[lang]
    return f"""<!doctype html><html lang="{lang}"><head><title>TikTok</title></head><body>
<div class="content"><h1>TikTok</h1><p>{PT}</p><p>{PT}</p><p>{PT}</p></div>
<section id="{css}" class="{css}"><h3>{heading} (2)</h3>
<div class="{css}-item"><p><b>leitor_1</b>: {comment}</p></div>
<div class="{css}-item"><p><b>leitor_2</b>: {comment} Concordo plenamente com a análise.</p></div></section>
</body></html>"""


def fetched_article(server, path):
    item = FeedItem(feed_url=server.url("/feed.xml"), link=server.url(path), title="TikTok")

    async def go():
        async with new_client(FAST) as client:
            return await fetch_page(client, item)
    return extract_article(asyncio.run(go()), item, date(2024, 6, 1))


def test_list_items_inside_the_single_article_are_kept(loopback):
    loopback.route("/list.html", body=LIST_PAGE)
    text = fetched_article(loopback, "/list.html").text
    assert "Oracle offered about $20 billion" in text and "Walmart joined Microsoft" in text
    assert "Home" not in text and "© Wire" not in text


@pytest.mark.parametrize("lang", sorted(COMMENT_PAGES))
def test_comment_sections_are_dropped_whatever_the_language(loopback, lang):
    loopback.route(f"/{lang}.html", body=commented_page(lang))
    text = fetched_article(loopback, f"/{lang}.html").text
    heading, _, comment = COMMENT_PAGES[lang]
    assert "A venda das operações americanas" in text
    assert comment[:20] not in text and heading not in text


# -- consent and interstitial pages are never an article's text -----------------------------------------

CONSENT = """<!doctype html><html lang="en"><head><title>Before you continue to Google</title></head><body>
<div><h1>Before you continue to Google</h1><p>We use cookies and data to deliver and maintain Google services,
track outages and protect against spam, fraud and abuse, and measure audience engagement and site statistics
to understand how our services are used and enhance the quality of those services.</p>
<p>If you choose to "Accept all," we will also use cookies and data to develop and improve new services.</p>
<form action="https://consent.google.com/save" method="POST"><input type="hidden" name="set_eom" value="true">
<button>Reject all</button><button>Accept all</button></form></div></body></html>"""


def test_a_consent_page_is_never_stored_as_the_article(loopback, tmp_path):
    loopback.route("/consent.html", body=CONSENT)
    with pytest.raises(ExtractionError, match="consent"):
        fetched_article(loopback, "/consent.html")
    # by the host that answered, whatever it says
    tree = parse_html(b"<html><body><p>" + b"Some text. " * 100 + b"</p></body></html>", "utf-8")
    assert "consent.google.com" in interstitial("https://consent.google.com/ml?continue=https://news.google.com/x", tree)
    # through the cycle's failure policy: the feed's title and summary stand in
    item = FeedItem(feed_url=loopback.url("/feed.xml"), link=loopback.url("/consent.html"), title="TikTok bid",
                    summary="Oracle offered about $20 billion for TikTok's U.S. business.", source="Wire")

    async def go():
        async with new_client(FAST) as client:
            return await fetch_page(client, item)
    outcome = process_one(Fetched(item, asyncio.run(go())), load_profile(None), date(2024, 6, 1))
    assert outcome.article.text_source == "feed" and "consent" in outcome.fetch_error
    assert "Before you continue" not in outcome.article.text and outcome.article.source == "Wire"


# -- 7. hosts that do not resolve or refuse connections ---------------------------------------------------

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]   # nothing listens there once the socket is closed: connections are refused


def test_unreachable_hosts_are_tried_once_per_cycle_and_their_items_wait_for_the_next(loopback, tmp_path):
    port = closed_port()
    feed = loopback.url("/feed.xml")
    items = ([FeedItem(feed_url=feed, link=f"http://nowhere.invalid/story/{n}") for n in range(6)]
             + [FeedItem(feed_url=feed, link=f"http://127.0.0.1:{port}/story/{n}") for n in range(6)]
             + [FeedItem(feed_url=feed, link=loopback.url("/ok.html"))])
    loopback.route("/ok.html", body=LIST_PAGE)

    async def fetch_all():
        async with new_client(FAST) as client:
            return await asyncio.gather(*(fetch_page(client, i) for i in items), return_exceptions=True)
    results = asyncio.run(fetch_all())
    for host_results in (results[:6], results[6:12]):
        tried = [r for r in host_results if isinstance(r, HostUnreachable)]
        skipped = [r for r in host_results if isinstance(r, HostSkipped)]
        assert len(tried) == 1 and len(skipped) == 5, host_results
        assert all(isinstance(r, NetworkError) and r.transient for r in host_results)
    assert "does not resolve" in str(results[0] if isinstance(results[0], HostUnreachable) else
                                     next(r for r in results[:6] if isinstance(r, HostUnreachable)))
    assert "refuses connections" in str(next(r for r in results[6:12] if isinstance(r, HostUnreachable)))
    assert isinstance(results[12], Page)   # a reachable host in the same cycle is fetched as usual

    # the warehouse: the skipped items keep their attempts and are due again in the next cycle; the tried
    # one counts an attempt and backs off, as any transient failure
    db = tmp_path / "w.duckdb"
    warehouse = Warehouse(db)
    warehouse.migrate()
    from dealwatch.fetch import FeedPoll
    warehouse.record_polls([FeedPoll(feed, status=200, items=items[:12])])
    profile = load_profile(None)
    outcomes = [process_one(Fetched(i, r), profile, date(2024, 6, 1)) for i, r in zip(items[:12], results[:12])]
    assert sum(o.untried for o in outcomes) == 10 and all(o.article is None and o.transient for o in outcomes)
    # not tried is not a failure: even on what would be its last attempt, no stand-in yet
    last = [process_one(Fetched(i, r, last_attempt=True), profile, date(2024, 6, 1))
            for i, r in zip(items[:12], results[:12]) if isinstance(r, HostSkipped)]
    assert all(o.article is None and o.untried for o in last)
    warehouse.store_outcomes(outcomes)
    with duckdb.connect(str(db), read_only=True) as con:
        counts = dict(con.execute("SELECT attempts, count(*) FROM feed_items GROUP BY attempts").fetchall())
    assert counts == {0: 10, 1: 2}
    due = {i.link for i, _ in warehouse.due_items()}
    assert due == {i.link for i, r in zip(items, results) if isinstance(r, HostSkipped)}
