"""Canonical URLs and the address guard (dealwatch.urls). No traffic: resolution only, of loopback names."""
from __future__ import annotations

import asyncio

import pytest

from dealwatch.urls import UnsafeURL, acheck_article_url, canonical_url, check_article_url, is_public_address

FEED = "http://127.0.0.1:8000/feeds/a.xml"


@pytest.mark.parametrize("url, base, expected", [
    ("HTTP://Example.COM:80/a/./b/../c#frag", None, "http://example.com/a/c"),
    ("https://example.com:443", None, "https://example.com/"),
    ("https://example.com:8443/x", None, "https://example.com:8443/x"),
    ("http://example.com?id=3", None, "http://example.com/?id=3"),
    ("https://ex.com/p?utm_source=rss&id=7&UTM_Medium=x&fbclid=abc&b=2&gclid=1&mc_cid=9&mc_eid=8", None,
     "https://ex.com/p?id=7&b=2"),
    ("https://ex.com/p?z=1&a=2&z=3", None, "https://ex.com/p?z=1&a=2&z=3"),      # order and repeats kept
    ("https://ex.com/p?utm_source=x", None, "https://ex.com/p"),                  # no empty '?'
    ("https://ex.com/p?q=a%20b&flag", None, "https://ex.com/p?q=a%20b&flag"),     # spelling kept
    ("https://ex.com/a b/ü", None, "https://ex.com/a%20b/%C3%BC"),
    ("/a/story.html?utm_campaign=x", "http://News.Example.org/feed/", "http://news.example.org/a/story.html"),
    ("story.html", "http://news.example.org/feed/rss.xml", "http://news.example.org/feed/story.html"),
    ("../up", "http://h.org/a/b/c", "http://h.org/a/up"),
    ("//cdn.example.org/x", "https://h.org/", "https://cdn.example.org/x"),
    ("  https://ex.com/x  ", None, "https://ex.com/x"),
    ("http://[::1]:80/x", None, "http://[::1]/x"),
    ("http://bücher.example/x", None, "http://xn--bcher-kva.example/x"),
    ("mailto:desk@example.org", None, "mailto:desk@example.org"),
])
def test_canonical_url(url, base, expected):
    assert canonical_url(url, base) == expected


def test_canonical_url_is_idempotent():
    url = "https://ex.com/a%20b/c?x=1&utm_source=y#top"
    assert canonical_url(canonical_url(url)) == canonical_url(url) == "https://ex.com/a%20b/c?x=1"


def test_feed_host_and_allowed_hosts_may_be_loopback():
    check_article_url("http://127.0.0.1:8000/a/1.html", FEED, ())
    check_article_url("http://127.0.0.1:9999/other-port.html", FEED, ())   # the host is trusted, any port
    check_article_url("http://localhost:8000/a/1.html", FEED, ["LOCALHOST"])
    check_article_url("http://10.0.0.1/a", FEED, ["*"])                    # '*': the guard off
    check_article_url("http://intranet.corp.example/a", FEED, ["*.corp.example"])


@pytest.mark.parametrize("url, reason", [
    ("http://localhost:8000/a/1.html", "non-public address (127.0.0.1)"),   # another name of the feed's host
    ("http://10.0.0.1/a", "is a non-public address"),
    ("http://192.168.1.1/a", "non-public"),
    ("http://169.254.169.254/latest/meta-data/", "non-public"),            # cloud metadata
    ("http://100.64.0.1/", "non-public"),                                   # shared address space
    ("http://0.0.0.0/", "non-public"),
    ("http://[::1]/", "non-public"),
    ("http://[::ffff:127.0.0.1]/", "non-public"),                          # IPv4-mapped loopback
    ("http://[fe80::1]/", "non-public"),
    ("http://224.0.0.1/", "non-public"),
    ("ftp://example.org/x", "scheme 'ftp'"),
    ("file:///etc/passwd", "scheme 'file'"),
    ("javascript:alert(1)", "scheme 'javascript'"),
    ("http:///nohost", "no host"),
])
def test_unsafe_urls_are_refused(url, reason):
    with pytest.raises(UnsafeURL, match=None) as caught:
        check_article_url(url, FEED, ["other.example"])
    assert reason in str(caught.value) and caught.value.url == url
    with pytest.raises(UnsafeURL):
        asyncio.run(acheck_article_url(url, FEED, ()))


def test_loopback_feed_does_not_vouch_for_a_name_resolving_to_it():
    with pytest.raises(UnsafeURL):
        check_article_url("http://127.0.0.1:8000/a", "http://localhost:8000/feed.xml", ())
    asyncio.run(acheck_article_url("http://localhost:8000/a", "http://localhost:8000/feed.xml", ()))


def test_public_addresses():
    assert is_public_address("93.184.216.34")
    assert is_public_address("2606:4700:4700::1111")
    check_article_url("http://93.184.216.34/x", FEED, ())   # a literal: judged without any lookup
    assert not is_public_address("fd00::1")
    assert not is_public_address("2002:7f00:1::")            # 6to4 wrapping 127.0.0.1
