"""Feed bytes -> FeedItems (dealwatch.feeds.parse_feed). Pure: no server needed."""
from __future__ import annotations

from datetime import UTC, datetime

from loopback import atom_feed, rss_feed

from dealwatch.feeds import html_to_text, parse_feed

FEED = "http://news.example.org/feeds/world.xml"
RSS = "application/rss+xml; charset=utf-8"


def test_rss_items_are_canonical_plain_and_dated():
    body = rss_feed("World <b>news</b>", [
        {"title": "Oracle &amp; Walmart bid", "link": "/a/1.html?utm_source=rss&id=1#comments",
         "description": '<p>Oracle <b>bids</b> &amp; wins.</p><script>alert("x")</script><p>Second&nbsp;para.</p>',
         "pubDate": "Mon, 14 Sep 2020 18:30:00 +0200", "guid": "urn:story:1"},
        {"title": "No link, skipped", "description": "nothing to fetch"},
        {"title": "Same story again", "link": "http://NEWS.example.org:80/a/1.html?id=1&fbclid=zz"},
        {"title": "Undated", "link": "https://other.example.com/b"},
        {"title": "Not fetchable", "link": "mailto:desk@example.org"},
    ])
    parsed = parse_feed(FEED, body, RSS)
    assert parsed.error is None and parsed.version == "rss20"
    assert parsed.title == "World news"
    assert [i.link for i in parsed.items] == ["http://news.example.org/a/1.html?id=1", "https://other.example.com/b"]
    first = parsed.items[0]
    assert first.feed_url == FEED
    assert first.title == "Oracle & Walmart bid"
    assert first.summary == "Oracle bids & wins.\nSecond para."
    assert first.published == datetime(2020, 9, 14, 16, 30, tzinfo=UTC)
    assert first.published.tzinfo is not None
    assert first.guid == "urn:story:1"
    assert parsed.items[1].published is None


def test_atom_prefers_full_content_and_reads_dates():
    body = atom_feed("Atom news", [
        {"title": "Deadline moved", "link": "https://ex.org/deadline", "published": "2020-09-20T04:00:00-04:00",
         "summary": "Short.", "content": "<div><p>The long text.</p><p>With <em>two</em> paragraphs.</p></div>"},
        {"title": "Only summary", "link": "https://ex.org/s", "summary": "A summary & more"},
    ])
    parsed = parse_feed(FEED, body, "application/atom+xml")
    assert parsed.error is None and parsed.version == "atom10"
    a, b = parsed.items
    assert a.summary == "The long text.\nWith two paragraphs."
    assert a.published == datetime(2020, 9, 20, 8, 0, tzinfo=UTC)
    assert b.summary == "A summary & more"
    assert a.guid == "https://ex.org/deadline"


def test_relative_links_resolve_against_the_final_url_but_items_keep_the_feed_url():
    body = rss_feed("x", [{"title": "t", "link": "story.html"}])
    parsed = parse_feed(FEED, body, RSS, base_url="https://moved.example.net/rss/feed.xml")
    assert parsed.items[0].link == "https://moved.example.net/rss/story.html"
    assert parsed.items[0].feed_url == FEED


def test_malformed_feed_keeps_what_parsed_and_says_what_is_wrong():
    good = rss_feed("Partly broken", [{"title": "One", "link": "https://ex.org/1"},
                                      {"title": "Two", "link": "https://ex.org/2"}])
    body = good.replace(b"</channel></rss>\n", b"<item><title>Three & <b>broken</title><link>https://ex.org/3")
    parsed = parse_feed(FEED, body, RSS)
    assert [i.link for i in parsed.items][:2] == ["https://ex.org/1", "https://ex.org/2"]
    # items were read: a healthy feed, with what was odd said
    assert parsed.error is None
    assert parsed.warning and "malformed XML" in parsed.warning and "not well-formed" in parsed.warning


def test_the_harness_broken_feed_gives_no_items_and_an_error():
    broken = (b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Broken & bad</title>\n'
              b"<item><title>Unclosed <b>tag</title></item\n\x00")
    parsed = parse_feed(FEED, broken, RSS)
    assert parsed.items == [] and "malformed" in parsed.error


def test_html_page_instead_of_a_feed_is_named_as_such():
    page = (b'<!doctype html><html><head><title>World</title>'
            b'<link rel="alternate" type="application/rss+xml" href="/feeds/real.xml?utm_source=x"></head>'
            b"<body><p>Hello</p></body></html>")
    parsed = parse_feed(FEED, page, "text/html; charset=utf-8")
    assert parsed.items == [] and parsed.version == ""
    assert parsed.error.startswith(f"{FEED} serves an HTML page, not a feed: ")
    assert "http://news.example.org/feeds/real.xml" in parsed.error
    # without a Content-Type header too
    assert "serves an HTML page, not a feed" in parse_feed(FEED, page, None).error


def test_empty_and_non_feed_bodies():
    assert "empty body" in parse_feed(FEED, b"", RSS).error
    assert "empty body" in parse_feed(FEED, b" \n ", RSS).error
    error = parse_feed(FEED, b'{"hello": "world"}', "application/json").error
    assert error and "is JSON but not a JSON Feed" in error
    error = parse_feed(FEED, b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "application/feed+json").error
    assert error and "not valid JSON" in error


def test_bytes_that_look_like_a_url_or_path_are_never_fetched_or_read():
    for body in (b"http://127.0.0.1:9/never", b"/etc/passwd"):
        parsed = parse_feed(FEED, body, "text/plain")
        assert parsed.items == [] and parsed.error


def test_html_to_text():
    assert html_to_text("") == ""
    assert html_to_text("Fish &amp; chips") == "Fish & chips"
    assert html_to_text("<p>a<br>b</p><style>p{}</style><ul><li>c</li><li>d  e</li></ul>") == "a\nb\nc\nd e"
