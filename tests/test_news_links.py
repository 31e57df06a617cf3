"""Links from news-search and alert feeds (issue 18): Google Alerts and Bing News redirects unwrapped, Google
News ids decoded (older ones locally, newer ones through googlenewsdecoder, here pointed at a loopback server
that answers as Google's endpoint does), with a cache and a cap, and the feed's title, summary and <source>
standing in when decoding fails. The feeds are written for these tests in the aggregators' shapes."""
from __future__ import annotations

import asyncio
import base64
import json
from urllib.parse import quote

import duckdb
import pytest

from dealwatch.fetch import AggregatorLink, FeedPoll, FetchSettings, fetch_page, new_client, resolve_news_links
from dealwatch.model import FeedItem
from dealwatch.urls import decode_google_news_id, google_news_id, publisher_url
from dealwatch.warehouse import Warehouse
from flows.monitor import cycle


def news_id(field4: str) -> str:
    """A Google News article id as Google writes them: URL-safe base64 of a small protobuf (field 1 = 19,
    field 4 = the publisher URL in older ids, a reference "AU_yqL..." in newer ones, field 26 empty)."""
    data = field4.encode()
    assert len(data) < 128
    return base64.urlsafe_b64encode(b"\x08\x13\x22" + bytes([len(data)]) + data + b"\xd2\x01\x00").decode().rstrip("=")


NEW_ID = news_id("AU_yqLPaUq3nWvK0dQ7mYgEw0ZbC8sT1rXhJ4oFiNeV2lMaGkD9pS6uRyT5wHcB3zQ")
FAILING_ID = news_id("AU_yqLMv8rT2kPq6wXz1NbF4cJ7hGd0sLyE5uAiOoR3mVtK9eWjH2gSnQ8pU1fDlZx")


def test_publisher_urls_from_aggregator_links():
    alerts = ("https://www.google.com/url?rct=j&sa=t&url=https://www.post.example/2024/06/01/tiktok-bid.html"
              "%3Futm_source%3Dalerts&ct=ga&cd=CAIyGjE4ZGQ&usg=AOvVaw0")
    assert publisher_url(alerts) == "https://www.post.example/2024/06/01/tiktok-bid.html"
    bing = ("http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=6650B1C2&url=https%3a%2f%2fwww.wire.example"
            "%2fstory%3fid%3d7&c=2141390&mkt=en-us")
    assert publisher_url(bing) == "https://www.wire.example/story?id=7"
    old = news_id("https://www.post.example/tiktok-oracle-bid")
    assert old.startswith("CBMi") and decode_google_news_id(old) == "https://www.post.example/tiktok-oracle-bid"
    assert publisher_url(f"https://news.google.com/rss/articles/{old}?oc=5") == "https://www.post.example/tiktok-oracle-bid"
    # a newer id carries no URL: left for Google's endpoint
    new = f"https://news.google.com/rss/articles/{NEW_ID}?oc=5"
    assert decode_google_news_id(NEW_ID) is None and publisher_url(new) == new and google_news_id(new) == NEW_ID
    for other in ("https://www.post.example/a?url=https://x.example/", "https://news.google.com/rss/articles/%%%",
                  "https://www.google.com/url?q=javascript:alert(1)"):
        assert publisher_url(other) == other


def story(n: int, title: str) -> bytes:
    body = (f"{title}. The sale of TikTok's U.S. business drew several suitors, people familiar with the talks "
            f"said on Saturday, and the government set a deadline for a deal. Story number {n}. ") * 3
    return (f"<!doctype html><html lang='en'><head><title>{title}</title></head><body><nav>Home</nav><article>"
            f"<h1>{title}</h1><p>{body}</p><p>{body}</p></article></body></html>").encode()


def gnews_item(article_id: str, title: str, outlet: str) -> str:
    link = f"https://news.google.com/rss/articles/{article_id}?oc=5"
    return (f"<item><title>{title} - {outlet}</title><link>{link}</link>"
            f'<guid isPermaLink="false">{article_id}</guid><pubDate>Sat, 01 Jun 2024 10:00:00 GMT</pubDate>'
            f'<description>&lt;a href="{link}" target="_blank"&gt;{title}&lt;/a&gt;&amp;nbsp;&amp;nbsp;'
            f'&lt;font color="#6f6f6f"&gt;{outlet}&lt;/font&gt;</description>'
            f'<source url="https://www.post.example">{outlet}</source></item>')


SIGNATURE_PAGE = ('<!doctype html><html><head><title>Google News</title></head><body><c-wiz jsrenderer="x">'
                  '<div jscontroller="aLI87" data-n-a-sg="AZ5r3eQx0TlkGm2d_sig" data-n-a-ts="1717236000">'
                  "</div></c-wiz></body></html>")


def google_endpoint(server, decoded_to: str) -> None:
    """The loopback stand-in for news.google.com's decoding: the article page with the id's signature,
    the batchexecute answer with the URL; the failing id answers as outside the US (a consent redirect)."""
    server.route(f"/rss/articles/{NEW_ID}", body=SIGNATURE_PAGE)
    server.route(f"/rss/articles/{FAILING_ID}", status=302, content_type=None,
                 headers={"Location": "https://consent.google.com/ml?continue=https://news.google.com/rss/articles/"})
    payload = '["garturlres","%s",1]' % decoded_to
    server.route("/_/DotsSplashUi/data/batchexecute", content_type="application/json; charset=utf-8",
                 body=")]}'\n\n" + '[["wrb.fr","Fbv4je",%s,null,null,null],["di",38]]' % json.dumps(payload))


def test_a_search_feed_and_the_publishers_own_feed_give_one_article_at_the_publishers_url(loopback, tmp_path):
    s = loopback
    one, two, three, four = (s.url(f"/story/{n}.html") for n in (1, 2, 3, 4))
    for n, title in enumerate(("Oracle offers $20 billion for TikTok", "Walmart joins Microsoft's TikTok bid",
                               "TikTok deadline extended", "TikTok talks resume"), start=1):
        s.route(f"/story/{n}.html", body=story(n, title))
    s.route("/post/feed.xml", content_type="application/rss+xml", body=(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Example Post</title>'
        f"<link>{s.url('/')}</link><item><title>Oracle offers $20 billion for TikTok</title><link>{one}</link>"
        "<pubDate>Sat, 01 Jun 2024 09:00:00 GMT</pubDate><description>Oracle's offer.</description></item>"
        "</channel></rss>"))
    s.route("/gnews.xml", content_type="application/rss+xml; charset=utf-8", body=(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss version="2.0" '
        'xmlns:media="http://search.yahoo.com/mrss/"><channel><generator>NFE/5.0</generator>'
        '<title>"TikTok" - Google News</title><link>https://news.google.com/search?q=TikTok</link>'
        + gnews_item(news_id(one), "Oracle offers $20 billion for TikTok", "Example Post")
        + gnews_item(NEW_ID, "TikTok deadline extended", "Wire Daily")
        + gnews_item(FAILING_ID, "ByteDance weighs TikTok options", "Tribune Example")
        + "</channel></rss>"))
    s.route("/bing.xml", content_type="application/rss+xml; charset=utf-8", body=(
        '<?xml version="1.0" encoding="utf-8" ?><rss version="2.0" '
        'xmlns:News="https://www.bing.com:443/news/search?q=tiktok&amp;format=rss"><channel><title>tiktok - BingNews'
        "</title><link>https://www.bing.com:443/news/search?q=tiktok&amp;format=rss</link><item>"
        "<title>Walmart joins Microsoft's TikTok bid</title><link>http://www.bing.com/news/apiclick.aspx?ref=FexRss"
        f"&amp;aid=&amp;tid=6650B1C2&amp;url={quote(two, safe='')}&amp;c=2141390&amp;mkt=en-us</link>"
        "<description>Walmart said it would join.</description><pubDate>Sat, 01 Jun 2024 10:00:00 GMT</pubDate>"
        "<News:Source>Wire Daily</News:Source></item></channel></rss>"))
    s.route("/alerts.xml", content_type="application/atom+xml; charset=utf-8", body=(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:idx="urn:atom-extension:indexing"><id>tag:google.com,2005:reference-feed/alerts/0123</id>'
        '<title>Google Alert - TikTok</title><link href="https://www.google.com/alerts/feeds/0123/4567" rel="self"/>'
        "<updated>2024-06-01T10:00:00Z</updated><entry><id>tag:google.com,2013:googlealerts/feed:1234</id>"
        '<title type="html">&lt;b&gt;TikTok&lt;/b&gt; talks resume</title>'
        f'<link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url={four}&amp;ct=ga&amp;cd=CAIyGjE&amp;usg=AOvVaw0"/>'
        "<published>2024-06-01T10:00:00Z</published><updated>2024-06-01T10:00:00Z</updated>"
        '<content type="html">Talks about &lt;b&gt;TikTok&lt;/b&gt; resume</content><author><name></name></author>'
        "</entry></feed>"))
    google_endpoint(s, three)

    db = tmp_path / "w.duckdb"
    warehouse = Warehouse(db)
    feeds = [s.url(p) for p in ("/post/feed.xml", "/gnews.xml", "/bing.xml", "/alerts.xml")]
    options = {"news_decoder_endpoint": s.url("/"), "news_decode_interval": 0}
    report = asyncio.run(cycle(warehouse, feeds, [], [], None, options, 10, engine=False))
    assert report["feeds_failed"] == 0

    failing = f"https://news.google.com/rss/articles/{FAILING_ID}?oc=5"
    with duckdb.connect(str(db), read_only=True) as con:
        queued = dict(con.execute("SELECT link, feed_url FROM feed_items").fetchall())
        articles = {row[0]: row[1:] for row in con.execute(
            "SELECT url, text_source, source, title, fetch_error FROM articles").fetchall()}
        cached = dict(con.execute("SELECT link, publisher_url FROM news_links").fetchall())
    # the story the publisher's feed and Google News both list is one entry and one article, at its URL
    assert set(queued) == {one, two, three, four, failing}
    assert set(articles) == set(queued)
    assert all(articles[u][0] == "page" for u in (one, two, three, four))
    assert s.hits("/story/1.html") == 1
    # the newer id went through the (stand-in) endpoint: signature page, then the batch request
    assert cached[f"https://news.google.com/rss/articles/{NEW_ID}?oc=5"] == three and cached[failing] is None
    assert [r.method for r in s.requests if "batchexecute" in r.path] == ["POST"]
    # the one that did not decode is never fetched: the feed's title, summary and <source> stand in
    text_source, outlet, title, error = articles[failing]
    assert (text_source, outlet) == ("feed", "Tribune Example") and title.startswith("ByteDance weighs")
    assert "not decoded" in error

    # the next cycle sends no id to the endpoint again and stores nothing twice
    endpoint_hits = sum(1 for r in s.requests if "/rss/articles/" in r.path or "batchexecute" in r.path)
    again = asyncio.run(cycle(warehouse, feeds, [], [], None, options, 10, engine=False))
    assert again["articles_new"] == 0 and again["items_new"] == 0
    assert sum(1 for r in s.requests if "/rss/articles/" in r.path or "batchexecute" in r.path) == endpoint_hits


def test_an_undecoded_google_news_link_is_never_fetched(loopback):
    item = FeedItem(feed_url=loopback.url("/gnews.xml"), link=f"https://news.google.com/rss/articles/{FAILING_ID}")

    async def go():
        async with new_client(FetchSettings()) as client:
            return await fetch_page(client, item)
    with pytest.raises(AggregatorLink, match="not decoded"):
        asyncio.run(go())
    assert loopback.requests == []


def test_decoding_is_capped_per_cycle_and_the_rest_waits_for_the_next_poll(loopback):
    google_endpoint(loopback, loopback.url("/story/3.html"))
    feed = loopback.url("/gnews.xml")
    links = [f"https://news.google.com/rss/articles/{i}?oc=5" for i in (NEW_ID, FAILING_ID)]
    poll = FeedPoll(feed, status=200, etag='"e1"', last_modified="Sat, 01 Jun 2024 00:00:00 GMT",
                    items=[FeedItem(feed_url=feed, link=link, title=f"t{n}") for n, link in enumerate(links)])
    settings = FetchSettings(news_decoder_endpoint=loopback.url("/"), news_decode_interval=0, news_decode_max=1)
    resolved = asyncio.run(resolve_news_links([poll], {}, settings))
    assert resolved.postponed == 1
    (out,) = resolved.polls
    assert [i.link for i in out.items] == [loopback.url("/story/3.html")]
    assert (out.etag, out.last_modified) == (None, None)   # the next poll gets the whole feed, the rest with it
    assert loopback.hits(f"/rss/articles/{FAILING_ID}") == 0
    # known links are not sent again
    before = len(loopback.requests)
    again = asyncio.run(resolve_news_links([poll], {links[0]: loopback.url("/story/3.html"), links[1]: links[1]},
                                           settings))
    assert len(loopback.requests) == before and again.postponed == 0
    assert [i.link for i in again.polls[0].items] == [loopback.url("/story/3.html"), links[1]]
