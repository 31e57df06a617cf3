"""A feed's bytes -> FeedItems, with feedparser. No I/O: `dealwatch.fetch.poll_feed` brings the bytes.

What feedparser leaves to us (STACK-NOTES): bozo=True does not mean unusable (keep what parsed, report the
error); an HTML page parses without error but with version '' and no entries (say so clearly, and name
the feed it advertises when it has one); validators are not read from bytes (fetch.py keeps them).
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser

import feedparser

from dealwatch.model import FeedItem
from dealwatch.urls import canonical_url

__all__ = ["ParsedFeed", "parse_feed", "html_to_text"]

# bozo exceptions that are warnings about the transport, not about the document
_HARMLESS_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    items: list[FeedItem] = field(default_factory=list)
    error: str | None = None        # set when the document is malformed or not a feed; items hold what parsed
    version: str = ""               # feedparser's name of the format ('rss20', 'atom10', ...); '' = not a feed


# -- HTML to plain text ---------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
                         "table", "blockquote", "pre", "section", "article", "header", "footer", "hr",
                         "figure", "figcaption", "dd", "dt"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags dropped (script/style with their content), entities decoded,
    blanks collapsed within lines, block elements on lines of their own."""
    if not markup:
        return ""
    if "<" not in markup:
        text = unescape(markup)
    else:
        collector = _TextCollector()
        try:
            collector.feed(markup)
            collector.close()
        except Exception:  # HTMLParser is lenient; be safe all the same
            return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", unescape(markup))).strip()
        text = "".join(collector.parts)
    lines = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# -- HTML instead of a feed -----------------------------------------------------------------------------

class _AlternateFinder(HTMLParser):
    """Collects <link rel="alternate" type="application/rss+xml|atom+xml" href="..."> of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag != "link":
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        if "alternate" in a.get("rel", "").lower().split() and \
                a.get("type", "").lower() in ("application/rss+xml", "application/atom+xml") and a.get("href"):
            self.found.append(a["href"])


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):
        return True
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _advertised_feeds(body: bytes, feed_url: str) -> list[str]:
    finder = _AlternateFinder()
    try:
        finder.feed(body[:256 * 1024].decode("utf-8", errors="replace"))
    except Exception:
        return []
    return [canonical_url(href, base=feed_url) for href in finder.found]


# -- entries --------------------------------------------------------------------------------------------

def _published(entry) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:  # feedparser's struct_time is UTC
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, TypeError, OSError):
                continue
    return None


def _summary(entry) -> str:
    """The entry's own text: the longest of its content blocks and its summary, as plain text."""
    candidates = [c.get("value", "") for c in entry.get("content") or [] if isinstance(c, dict)]
    candidates.append(entry.get("summary", "") or "")
    texts = [html_to_text(c) for c in candidates if c]
    return max(texts, key=len, default="")


def parse_feed(feed_url: str, body: bytes, content_type: str | None = None, *,
               base_url: str | None = None) -> ParsedFeed:
    """Parse a feed document (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed ...) into FeedItems.

    Links are canonical (resolved against the feed URL), summaries plain text, dates aware UTC datetimes
    or None; entries without an http(s) link are skipped; entries repeating a canonical link are dropped
    (the first one stays). A malformed document yields the entries that parsed plus an error; a page
    that is HTML yields no items and an error saying so. base_url (default feed_url): where the document
    was actually found (after redirects), for relative links; items keep feed_url as their feed.
    """
    base = base_url or feed_url
    if not body or not body.strip():
        return ParsedFeed(title="", error=f"{feed_url} answered an empty body, not a feed")
    headers = {"content-location": base}
    if content_type:
        headers["content-type"] = content_type
    # bytes, never str: feedparser would fetch a str that looks like a URL or read one that names a file
    # no sanitizing or resolving of the markup in titles and summaries: html_to_text drops all of it (script
    # and style with their content), and both passes cost ~20% of feedparser's time
    parsed = feedparser.parse(bytes(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    version = parsed.get("version", "") or ""
    title = html_to_text(parsed.feed.get("title", "") or "")

    items: list[FeedItem] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        raw_link = entry.get("link") or ""
        if not raw_link and entry.get("guidislink"):
            raw_link = entry.get("id") or ""
        if not raw_link.strip():
            continue
        link = canonical_url(raw_link, base=base)
        if not link.startswith(("http://", "https://")) or link in seen:
            continue
        seen.add(link)
        items.append(FeedItem(
            feed_url=feed_url,
            link=link,
            title=html_to_text(entry.get("title", "") or ""),
            summary=_summary(entry),
            published=_published(entry),
            guid=(entry.get("id") or None),
        ))

    error = None
    if not version and not parsed.entries:
        if _looks_like_html(body, content_type):
            alternates = _advertised_feeds(body, base)
            hint = f"; it advertises the feed(s) {', '.join(alternates)}" if alternates else ""
            error = (f"{feed_url} serves an HTML page, not a feed: content type "
                     f"{content_type or '(none)'!r}{hint}")
        else:
            why = parsed.get("bozo_exception")
            error = (f"{feed_url} is not a feed: no RSS/Atom document found (content type "
                     f"{content_type or '(none)'!r}{f'; {why}' if why else ''})")
    elif parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _HARMLESS_BOZO):
        error = (f"{feed_url}: malformed feed, kept {len(items)} item(s) that parsed: "
                 f"{parsed.get('bozo_exception')}")
    return ParsedFeed(title=title, items=items, error=error, version=version)


# -- what an RSS channel asks of its readers (dealwatch.schedule honours it) ----------------------------

_TTL = re.compile(rb"<ttl>\s*(\d{1,7})\s*</ttl>", re.I)
_SKIP_HOURS = re.compile(rb"<skipHours>(.*?)</skipHours>", re.I | re.S)
_HOUR = re.compile(rb"<hour>\s*(\d{1,2})\s*</hour>", re.I)


def channel_schedule(body: bytes) -> tuple[float | None, tuple[int, ...]]:
    """(RSS <ttl> in seconds or None, the <skipHours> hours in UTC, 0-23) of a feed document. Read here, not
    from feedparser: it keeps only the last <hour> of skipHours (feedparser 6)."""
    ttl = _TTL.search(body)
    skip = _SKIP_HOURS.search(body)
    hours = sorted({int(h) % 24 for h in _HOUR.findall(skip.group(1)) if int(h) <= 24}) if skip else []
    minutes = int(ttl.group(1)) if ttl else 0
    return (minutes * 60.0 if minutes > 0 else None), tuple(hours)
