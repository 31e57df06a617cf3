"""The network edge (dealwatch.fetch) against a real HTTP server on 127.0.0.1 (tests/loopback.py)."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from loopback import Route, gzip_bomb, html_page, rss_feed

import dealwatch.fetch as fetch_module
from dealwatch.fetch import (
    BadContentType,
    BlockedURL,
    EmptyBody,
    FeedPoll,
    FetchError,
    FetchSettings,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
    fetch_page,
    fetch_pages,
    new_client,
    parse_retry_after,
    poll_feed,
    poll_feeds,
)
from dealwatch.model import FeedItem, Page

FAST = FetchSettings(retry_wait_initial=0.01, retry_wait_max=0.05, retry_jitter=0.0)
PAGE = html_page("TikTok deal", "Oracle and Walmart bid for TikTok's U.S. business.")
RSS = "application/rss+xml; charset=utf-8"
LM = "Sat, 01 Jun 2024 00:00:00 GMT"


def run(coro):
    return asyncio.run(coro)


def item(server, path, feed_path="/feed.xml", host=None) -> FeedItem:
    return FeedItem(feed_url=server.url(feed_path), link=server.url(path, host=host))


async def _page(server, path, settings=FAST, **kw) -> Page:
    async with new_client(settings) as client:
        return await fetch_page(client, item(server, path, **kw))


def page(server, path, settings=FAST, **kw) -> Page:
    return run(_page(server, path, settings, **kw))


def page_error(server, path, settings=FAST, **kw) -> FetchError:
    with pytest.raises(FetchError) as caught:
        page(server, path, settings, **kw)
    assert caught.value.url == server.url(path, host=kw.get("host"))
    assert caught.value.url in str(caught.value)          # every message names the URL
    return caught.value


async def _poll(server, path, etag=None, modified=None, settings=FAST) -> FeedPoll:
    async with new_client(settings) as client:
        return await poll_feed(client, server.url(path), etag, modified)


def poll(server, path, etag=None, modified=None, settings=FAST) -> FeedPoll:
    return run(_poll(server, path, etag, modified, settings))


class Recording(httpx.AsyncBaseTransport):
    """httpx's real transport, noting every request that reaches it (to prove a refusal came first)."""

    def __init__(self):
        self.inner = httpx.AsyncHTTPTransport()
        self.urls: list[str] = []

    async def handle_async_request(self, request):
        self.urls.append(str(request.url))
        return await self.inner.handle_async_request(request)

    async def aclose(self):
        await self.inner.aclose()


def feed_body(*links):
    return rss_feed("Test feed", [{"title": f"Story {i}", "link": link, "description": "<b>x</b>"}
                                  for i, link in enumerate(links)])


# -- feeds: conditional GET ------------------------------------------------------------------------

def test_poll_then_304_sends_validators_and_parses_nothing(loopback, monkeypatch):
    loopback.route("/feed.xml", body=feed_body(loopback.url("/a/1.html")), content_type=RSS,
                   etag='"v1"', last_modified=LM)
    first = poll(loopback, "/feed.xml")
    assert first.ok and first.status == 200 and not first.not_modified
    assert [i.link for i in first.items] == [loopback.url("/a/1.html")]
    assert (first.etag, first.last_modified, first.title) == ('"v1"', LM, "Test feed")

    monkeypatch.setattr(fetch_module, "parse_feed", lambda *a, **k: pytest.fail("a 304 must not be parsed"))
    second = poll(loopback, "/feed.xml", first.etag, first.last_modified)
    assert second.ok and second.status == 304 and second.not_modified and second.items == []
    assert (second.etag, second.last_modified) == ('"v1"', LM)
    sent = loopback.requests_to("/feed.xml")[-1]
    assert sent.header("If-None-Match") == '"v1"' and sent.header("If-Modified-Since") == LM
    assert loopback.requests_to("/feed.xml")[0].header("If-None-Match") is None


def test_etag_only_server(loopback):
    loopback.route("/feed.xml", body=feed_body("https://ex.org/1"), content_type=RSS, etag='W/"abc"')
    first = poll(loopback, "/feed.xml")
    assert (first.etag, first.last_modified) == ('W/"abc"', None)
    second = poll(loopback, "/feed.xml", first.etag, first.last_modified)
    assert second.not_modified and (second.etag, second.last_modified) == ('W/"abc"', None)
    sent = loopback.requests_to("/feed.xml")[-1]
    assert sent.header("If-None-Match") == 'W/"abc"' and sent.header("If-Modified-Since") is None


def test_last_modified_only_server(loopback):
    loopback.route("/feed.xml", body=feed_body("https://ex.org/1"), content_type=RSS, last_modified=LM)
    first = poll(loopback, "/feed.xml")
    assert (first.etag, first.last_modified) == (None, LM)
    second = poll(loopback, "/feed.xml", first.etag, first.last_modified)
    assert second.not_modified and (second.etag, second.last_modified) == (None, LM)
    sent = loopback.requests_to("/feed.xml")[-1]
    assert sent.header("If-None-Match") is None and sent.header("If-Modified-Since") == LM


def test_a_200_replaces_both_validators_and_an_error_keeps_the_old_ones(loopback):
    newer = format_datetime(datetime(2024, 7, 1, tzinfo=UTC), usegmt=True)
    loopback.route("/feed.xml", body=feed_body("https://ex.org/2"), content_type=RSS, last_modified=newer)
    changed = poll(loopback, "/feed.xml", '"old"', LM)
    assert changed.status == 200 and (changed.etag, changed.last_modified) == (None, newer)  # no stale ETag kept
    loopback.route("/feed.xml", status=404, body=b"gone", content_type="text/plain")
    failed = poll(loopback, "/feed.xml", '"old"', LM)
    assert (failed.etag, failed.last_modified) == ('"old"', LM)


def test_a_304_with_a_new_etag_updates_it(loopback):
    loopback.route("/feed.xml", status=304, content_type=None, headers={"ETag": '"v2"'})
    result = poll(loopback, "/feed.xml", '"v1"', LM)
    assert result.not_modified and (result.etag, result.last_modified) == ('"v2"', LM)


def test_flaky_feed_succeeds_in_the_same_cycle_honouring_retry_after(loopback):
    loopback.route("/flaky.xml", Route(status=503, body=b"busy", content_type="text/plain",
                                       headers={"Retry-After": "1"}),
                   Route(body=feed_body("https://ex.org/f1", "https://ex.org/f2"), content_type=RSS))
    start = time.monotonic()
    result = poll(loopback, "/flaky.xml")
    assert result.ok and result.status == 200 and len(result.items) == 2 and result.attempts == 2
    assert time.monotonic() - start >= 0.95                      # it waited as asked
    times = [r.time for r in loopback.requests_to("/flaky.xml")]
    assert times[1] - times[0] >= 0.95


def test_an_in_cycle_retry_is_logged_by_dealwatch_with_its_cause(loopback, caplog):
    loopback.route("/again.xml", Route(status=503, body=b"busy", content_type="text/plain"),
                   Route(body=feed_body("https://ex.org/g1"), content_type=RSS))
    with caplog.at_level(logging.INFO, logger="dealwatch.fetch"):
        result = poll(loopback, "/again.xml")
    assert result.ok and result.attempts == 2
    retries = [r for r in caplog.records if r.name == "dealwatch.fetch" and r.getMessage().startswith("retry 1 of")]
    assert len(retries) == 1 and "503" in retries[0].getMessage() and retries[0].levelno == logging.INFO
    assert not [r for r in caplog.records if "stamina" in r.name]   # not stamina's own warning on stderr


def test_transient_feed_failures_are_retried_a_little_then_reported(loopback):
    loopback.route("/down.xml", status=502, body=b"bad gateway", content_type="text/plain")
    result = poll(loopback, "/down.xml")
    assert not result.ok and result.transient and result.status == 502 and result.retry_after is None
    assert result.attempts == 3 == loopback.hits("/down.xml")      # 1 + feed_retries
    assert "HTTP 502" in result.error and loopback.url("/down.xml") in result.error


def test_long_retry_after_is_reported_not_waited_for(loopback):
    loopback.route("/busy.xml", status=503, content_type="text/plain", headers={"Retry-After": "120"})
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    loopback.route("/limited.xml", status=429, content_type="text/plain", headers={"Retry-After": when})
    start = time.monotonic()
    busy, limited = run(poll_feeds([(loopback.url("/busy.xml"), None, None),
                                    (loopback.url("/limited.xml"), None, None)], FAST))
    assert time.monotonic() - start < 2
    assert busy.transient and busy.retry_after == 120 and busy.attempts == 1 and busy.status == 503
    assert limited.transient and limited.status == 429 and 80 < limited.retry_after <= 90
    assert "retry after" in busy.error


@pytest.mark.parametrize("status", [404, 410])
def test_missing_feed_is_permanent(loopback, status):
    loopback.route("/gone.xml", status=status, body=b"no", content_type="text/plain")
    result = poll(loopback, "/gone.xml")
    assert not result.ok and not result.transient and result.status == status and result.attempts == 1


def test_html_instead_of_a_feed(loopback):
    loopback.route("/news", body=PAGE)
    result = poll(loopback, "/news")
    assert result.status == 200 and not result.transient and result.items == []
    assert f"{loopback.url('/news')} serves an HTML page, not a feed" in result.error


def test_poll_feeds_keeps_order_and_one_dead_feed_stops_nothing(loopback):
    loopback.route("/a.xml", body=feed_body("https://ex.org/a"), content_type=RSS)
    loopback.route("/b.xml", body=feed_body("https://ex.org/b"), content_type=RSS)
    dead = "http://127.0.0.1:9/feed.xml"                           # discard port: connection refused
    polls = run(poll_feeds([(loopback.url("/a.xml"), None, None), (dead, '"e"', LM),
                            (loopback.url("/b.xml"), None, None)], FAST))
    assert [p.feed_url for p in polls] == [loopback.url("/a.xml"), dead, loopback.url("/b.xml")]
    assert polls[0].items[0].link == "https://ex.org/a" and polls[2].items[0].link == "https://ex.org/b"
    assert polls[1].transient and polls[1].status is None and (polls[1].etag, polls[1].last_modified) == ('"e"', LM)
    assert "ConnectError" in polls[1].error


def test_user_agent_names_dealwatch_and_a_contact(loopback):
    loopback.route("/a.html", body=PAGE)
    page(loopback, "/a.html", FetchSettings(contact_url="https://example.org/about-our-bot"))
    agent = loopback.requests_to("/a.html")[0].header("User-Agent")
    assert agent.startswith("dealwatch/") and "+https://example.org/about-our-bot" in agent


# -- pages -----------------------------------------------------------------------------------------

def test_page_is_returned_with_what_the_server_said(loopback):
    loopback.route("/a.html", body=PAGE, content_type="text/html; charset=ISO-8859-1", etag='"p"',
                   last_modified=LM)
    result = page(loopback, "/a.html")
    assert result == Page(url=loopback.url("/a.html"), final_url=loopback.url("/a.html"), status=200,
                          content_type="text/html; charset=ISO-8859-1", body=PAGE, encoding="iso-8859-1",
                          etag='"p"', last_modified=LM)


def test_redirect_chain_keeps_the_final_url(loopback):
    loopback.redirect("/a/r.html", "/r/r.html", 302)
    loopback.redirect("/r/r.html", "/copy/r.html", 301)
    loopback.route("/copy/r.html", body=PAGE, content_type="application/xhtml+xml")
    result = page(loopback, "/a/r.html")
    assert result.url == loopback.url("/a/r.html") and result.final_url == loopback.url("/copy/r.html")
    assert result.body == PAGE


def test_five_redirects_are_followed_and_six_refused(loopback):
    for i in range(6):
        loopback.redirect(f"/hop{i}", f"/hop{i + 1}", 307)
    loopback.route("/hop6", body=PAGE)
    assert page(loopback, "/hop1").final_url == loopback.url("/hop6")       # 5 redirects
    error = page_error(loopback, "/hop0")                                  # 6 redirects
    assert isinstance(error, TooManyRedirects) and not error.transient
    assert "more than 5 redirects" in str(error)


def test_declared_size_over_the_cap_is_refused_before_reading(loopback):
    loopback.route("/big.html", body=b"<html>" + b"x" * 2_000_000)
    error = page_error(loopback, "/big.html", FetchSettings(max_body_bytes=1_000_000))
    assert isinstance(error, TooLarge) and not error.transient and "2000006 bytes" in str(error)


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_size_cap_is_enforced_while_streaming_without_content_length(loopback, framing):
    loopback.route("/huge.html", body=b"<html>" + b"junk words " * 600_000, framing=framing)  # 6.6 MB
    error = page_error(loopback, "/huge.html")                            # default cap: 5 MiB
    assert isinstance(error, TooLarge) and "larger than 5242880" in str(error)


def test_content_length_lying_short_body_is_a_transient_network_error(loopback):
    loopback.route("/short.html", body=PAGE, content_length=len(PAGE) + 1000, framing="length")
    error = page_error(loopback, "/short.html")
    assert isinstance(error, NetworkError) and error.transient


def test_gzip_bomb_is_stopped_by_counting_decoded_bytes(loopback):
    bomb = gzip_bomb(64 << 20)                                            # 64 MiB of zeros, ~64 KB on the wire
    assert len(bomb) < 200_000
    loopback.route("/bomb.html", body=bomb, headers={"Content-Encoding": "gzip"})
    error = page_error(loopback, "/bomb.html", FetchSettings(max_body_bytes=1 << 20))
    assert isinstance(error, TooLarge) and "once decoded (gzip)" in str(error)


def test_gzip_and_deflate_pages_are_decoded(loopback):
    import zlib
    loopback.route("/gz.html", body=PAGE, gzip=True)
    loopback.route("/zl.html", body=zlib.compress(PAGE), headers={"Content-Encoding": "deflate"})
    raw = zlib.compressobj(wbits=-15)
    loopback.route("/raw.html", body=raw.compress(PAGE) + raw.flush(), headers={"Content-Encoding": "deflate"})
    for path in ("/gz.html", "/zl.html", "/raw.html"):
        assert page(loopback, path).body == PAGE
    assert "gzip" in loopback.requests_to("/gz.html")[0].header("Accept-Encoding")


def test_invalid_utf8_comes_back_as_the_exact_bytes(loopback):
    bad = PAGE.replace(b"<p>", b"<p>\xff\xfe \xc3\x28 \xed\xa0\x80 ", 1)
    loopback.route("/bad.html", body=bad)
    result = page(loopback, "/bad.html")
    assert result.body == bad and result.encoding == "utf-8"


def test_empty_body_is_refused(loopback):
    loopback.route("/empty.html", body=b"")
    error = page_error(loopback, "/empty.html")
    assert isinstance(error, EmptyBody) and error.status == 200 and "empty body" in str(error)


def test_pdf_is_refused(loopback):
    loopback.route("/doc.html", body=b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(1000), content_type="application/pdf")
    error = page_error(loopback, "/doc.html")
    assert isinstance(error, BadContentType) and not error.transient and "application/pdf" in str(error)


def test_missing_content_type_is_sniffed(loopback):
    loopback.route("/untyped.html", body=PAGE, content_type=None)
    loopback.route("/blob", body=b"\x89PNG\r\n\x1a\n" + bytes(100), content_type=None)
    assert page(loopback, "/untyped.html").body == PAGE
    assert isinstance(page_error(loopback, "/blob"), BadContentType)


def test_404_is_permanent(loopback):
    error = page_error(loopback, "/nowhere.html")
    assert isinstance(error, HTTPStatusError) and error.status == 404 and not error.transient
    assert loopback.hits("/nowhere.html") == 1                          # not retried


def test_503_and_429_are_transient_with_retry_after(loopback):
    loopback.route("/busy.html", status=503, content_type="text/plain", headers={"Retry-After": "60"})
    loopback.route("/slow-down.html", status=429, content_type="text/plain", headers={"Retry-After": "30"})
    busy = page_error(loopback, "/busy.html")
    limited = page_error(loopback, "/slow-down.html")
    assert (busy.transient, busy.status, busy.retry_after) == (True, 503, 60)
    assert (limited.transient, limited.status, limited.retry_after) == (True, 429, 30)
    assert loopback.hits("/busy.html") == 1                             # 60 s is for the next cycle


def test_a_page_503_with_short_retry_after_is_retried_once(loopback):
    loopback.route("/blip.html", Route(status=503, content_type="text/plain", headers={"Retry-After": "0"}),
                   Route(body=PAGE))
    assert page(loopback, "/blip.html").body == PAGE and loopback.hits("/blip.html") == 2


def test_a_hanging_page_is_cut_by_the_deadline(loopback):
    loopback.route("/slow.html", body=PAGE, delay=5)
    settings = FetchSettings(deadline=1, read_timeout=10)
    start = time.monotonic()
    error = page_error(loopback, "/slow.html", settings)
    assert time.monotonic() - start < 2.5
    assert isinstance(error, FetchTimeout) and error.transient and "1 s deadline" in str(error)
    assert loopback.hits("/slow.html") == 1                             # timeouts are not retried in-cycle


def test_a_trickling_page_is_cut_by_the_deadline_though_each_read_is_quick(loopback):
    loopback.route("/trickle.html", body=PAGE * 20, chunk_size=100, chunk_delay=0.2)
    start = time.monotonic()
    error = page_error(loopback, "/trickle.html", FetchSettings(deadline=1, read_timeout=2))
    assert isinstance(error, FetchTimeout) and time.monotonic() - start < 2.5


def test_read_timeout(loopback):
    loopback.route("/stall.html", body=PAGE, delay=3)
    error = page_error(loopback, "/stall.html", FetchSettings(deadline=10, read_timeout=0.5))
    assert isinstance(error, FetchTimeout) and "read timeout" in str(error)


# -- the address guard -----------------------------------------------------------------------------

def test_feed_on_127_linking_localhost_is_refused_unless_allowed(loopback):
    loopback.route("/a.html", body=PAGE)
    transport = Recording()
    linked = item(loopback, "/a.html", host="localhost")                 # the feed is on 127.0.0.1
    [refused] = run(fetch_pages([linked], FAST, transport=transport))
    assert isinstance(refused, BlockedURL) and not refused.transient
    assert "non-public address" in str(refused) and transport.urls == []
    [fetched] = run(fetch_pages([linked], FetchSettings(allowed_hosts={"localhost"})))
    assert isinstance(fetched, Page) and fetched.body == PAGE


def test_private_address_literal_is_refused_before_connecting(loopback):
    transport = Recording()
    links = [FeedItem(loopback.url("/feed.xml"), "http://10.0.0.1/a.html"),
             FeedItem(loopback.url("/feed.xml"), "http://169.254.169.254/latest/meta-data/"),
             FeedItem(loopback.url("/feed.xml"), "ftp://10.0.0.1/x")]
    results = run(fetch_pages(links, FAST, transport=transport))
    assert all(isinstance(r, BlockedURL) for r in results) and transport.urls == []


def test_redirect_to_a_private_address_is_refused_at_the_hop(loopback):
    loopback.redirect("/a.html", "http://10.0.0.1/internal", 302)
    loopback.redirect("/b.html", f"http://localhost:{loopback.port}/a.html", 301)
    transport = Recording()
    a, b = run(fetch_pages([item(loopback, "/a.html"), item(loopback, "/b.html")], FAST, transport=transport))
    assert isinstance(a, BlockedURL) and "10.0.0.1" in str(a) and "redirected from" in str(a)
    assert a.url == loopback.url("/a.html")                             # the URL asked for, as always
    assert isinstance(b, BlockedURL) and "localhost" in str(b)
    assert sorted(transport.urls) == [loopback.url("/a.html"), loopback.url("/b.html"), loopback.url("/robots.txt")]


def test_dns_rebinding_is_refused_at_connect_time(loopback, monkeypatch):
    """The check before the request saw a public address (simulated); the connection's own lookup of the
    same name gives loopback: the guarded backend refuses it and no request reaches the server."""
    async def saw_public(url, feed_url, allowed_hosts=()):
        return None

    monkeypatch.setattr(fetch_module, "acheck_article_url", saw_public)
    loopback.route("/a.html", body=PAGE)
    [refused] = run(fetch_pages([item(loopback, "/a.html", host="localhost")], FAST))
    assert isinstance(refused, BlockedURL) and "at connect time" in str(refused)
    assert refused.url == loopback.url("/a.html", host="localhost")
    assert loopback.hits("/a.html") == 0
    [fetched] = run(fetch_pages([item(loopback, "/a.html", host="localhost")],
                                FetchSettings(allowed_hosts={"localhost"})))
    assert isinstance(fetched, Page)


def test_the_guarded_backend_is_installed():
    client = new_client()
    backend = client._transport._pool._network_backend     # private: this test notices an httpx upgrade moving it
    assert type(backend).__name__ == "_GuardedBackend"
    run(client.aclose())


# -- robots.txt -------------------------------------------------------------------------------------

def test_robots_txt_is_read_once_per_site_and_obeyed(loopback):
    loopback.route("/robots.txt", body="User-agent: dealwatch\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n",
                   content_type="text/plain")
    loopback.route("/news/1.html", body=PAGE)
    loopback.route("/private/2.html", body=PAGE)
    ok, refused, again = run(fetch_pages([item(loopback, "/news/1.html"), item(loopback, "/private/2.html"),
                                          item(loopback, "/news/1.html?x=1")], FAST))
    assert isinstance(ok, Page) and isinstance(again, Page)
    assert isinstance(refused, RobotsDisallowed) and not refused.transient and "robots.txt" in str(refused)
    assert loopback.hits("/private/2.html") == 0 and loopback.hits("/robots.txt") == 1


def test_robots_txt_missing_or_broken_allows_and_can_be_switched_off(loopback):
    loopback.route("/robots.txt", status=500, content_type="text/plain")
    loopback.route("/a.html", body=PAGE)
    assert page(loopback, "/a.html").body == PAGE
    loopback.route("/robots.txt", body="User-agent: *\nDisallow: /\n", content_type="text/plain")
    assert isinstance(page_error(loopback, "/a.html"), RobotsDisallowed)
    before = loopback.hits("/robots.txt")
    assert page(loopback, "/a.html", FetchSettings(respect_robots_txt=False)).body == PAGE
    assert loopback.hits("/robots.txt") == before


# -- batches, limits, helpers ----------------------------------------------------------------------

def test_fetch_pages_keeps_order_and_returns_errors_in_place(loopback):
    loopback.route("/1.html", body=PAGE)
    loopback.route("/3.html", body=PAGE)
    results = run(fetch_pages([item(loopback, "/1.html"), item(loopback, "/2.html"), item(loopback, "/3.html")], FAST))
    assert [type(r).__name__ for r in results] == ["Page", "HTTPStatusError", "Page"]
    assert results[2].url == loopback.url("/3.html")


def test_per_host_limit_holds(loopback):
    loopback.route("/p.html", body=PAGE, delay=0.2)
    items = [FeedItem(loopback.url("/feed.xml"), loopback.url(f"/p.html?n={n}")) for n in range(6)]
    results = run(fetch_pages(items, FetchSettings(max_per_host=2, max_connections=16)))
    assert all(isinstance(r, Page) for r in results)
    assert loopback.max_in_flight == 2


def test_global_limit_holds_across_hosts(loopback):
    loopback.route("/p.html", body=PAGE, delay=0.2)
    items = [FeedItem(loopback.url("/feed.xml", host=host), loopback.url(f"/p.html?n={n}", host=host))
             for n in range(3) for host in ("127.0.0.1", "localhost")]
    results = run(fetch_pages(items, FetchSettings(max_per_host=3, max_connections=2)))
    assert all(isinstance(r, Page) for r in results)
    assert loopback.max_in_flight == 2


@pytest.mark.parametrize("value, expected", [
    ("1", 1.0), (" 120 ", 120.0), ("0", 0.0), ("soon", None), ("", None), (None, None), ("-5", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0), ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
])
def test_parse_retry_after(value, expected):
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert parse_retry_after(value, now) == expected


def test_settings_from_a_config_table():
    settings = FetchSettings.from_options({"deadline": 5, "allowed_hosts": ["a.example"],
                                           "page_content_types": ["TEXT/HTML"]})
    assert settings.deadline == 5 and settings.allowed_hosts == frozenset({"a.example"})
    assert settings.page_content_types == ("text/html",)
    assert FetchSettings.from_options(None) == FetchSettings()
    with pytest.raises(ValueError, match="unknown fetch setting.s. timeout; known: .*deadline"):
        FetchSettings.from_options({"timeout": 20})


def test_fetch_errors_pickle():
    import pickle
    error = HTTPStatusError("http://x/", "http://x/: HTTP 503", transient=True, retry_after=5.0, status=503)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is HTTPStatusError and (again.url, again.transient, again.retry_after, again.status) == \
        ("http://x/", True, 5.0, 503) and str(again) == "http://x/: HTTP 503"


# -- the evaluation harness's own server and fault cases ---------------------------------------------

def _corpus_server():
    from paths import DEV_CORPUS, corpus_server_class
    return corpus_server_class()(DEV_CORPUS, faults=True)


def test_the_harness_fault_cases():
    settings = FetchSettings(deadline=1.5, retry_wait_initial=0.01, retry_jitter=0.0)
    with _corpus_server() as server:
        start = time.monotonic()
        polls = run(poll_feeds([(url, None, None) for url in server.feed_urls()], settings))
        by_name = {p.feed_url.rsplit("/", 1)[-1]: p for p in polls}
        assert by_name["flaky.xml"].ok and len(by_name["flaky.xml"].items) == 2   # 503 + Retry-After: 1, then ok
        assert by_name["broken.xml"].items == [] and "malformed" in by_name["broken.xml"].error
        corpus = [p for name, p in by_name.items() if name not in ("flaky.xml", "broken.xml", "faulty.xml")]
        assert corpus and all(p.ok and p.items and p.etag and p.last_modified for p in corpus)

        items = [i for p in polls for i in p.items]
        results = dict(zip((i.link.rsplit("/", 1)[-1] for i in items), run(fetch_pages(items, settings))))
        kinds = {name: type(r).__name__ for name, r in results.items() if name.startswith("fault-")}
        assert kinds == {"fault-missing.html": "HTTPStatusError", "fault-slow.html": "FetchTimeout",
                         "fault-pdf.html": "BadContentType", "fault-redirect.html": "Page",
                         "fault-huge.html": "TooLarge", "fault-badutf8.html": "Page", "fault-empty.html": "EmptyBody",
                         "fault-flaky-1.html": "Page", "fault-flaky-2.html": "Page"}
        assert results["fault-redirect.html"].final_url.endswith("/copy/fault-redirect.html")
        assert b"\xff\xfe" in results["fault-badutf8.html"].body
        assert all(isinstance(r, Page) for name, r in results.items() if not name.startswith("fault-"))
        assert time.monotonic() - start < 10

        again = run(poll_feeds([(p.feed_url, p.etag, p.last_modified) for p in polls], settings))
        assert all(p.not_modified for p in again if not p.feed_url.endswith("broken.xml"))
        server.wait_idle()
        agents = {r["headers"].get("User-Agent", "") for r in server.requests}
        assert all(a.startswith("dealwatch/") for a in agents)
