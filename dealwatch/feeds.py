"""A feed's bytes -> FeedItems, with feedparser. No I/O: `dealwatch.fetch.poll_feed` brings the bytes.

What feedparser leaves to us (STACK-NOTES): bozo=True does not mean unusable (a recoverable XML error
with entries read is a healthy feed with a warning: whitespace before the XML declaration, a truncated
tail); an HTML page parses without error but with version '' and no entries (say so clearly, and name
where the feed moved, or the feed it advertises); validators are not read from bytes (fetch.py keeps them).
And what feedparser 6 does not do: JSON Feed 1 and 1.1 (read here with json); dates that are not RFC 822
or ISO 8601 ("Thu,28 Jul 2022 4:35:5 GMT+9", Portuguese names: dateparser reads what feedparser leaves
empty); an encoding declared wrong (UTF-8 bytes declared windows-1252) or not declared and not UTF-8
(detected with charset-normalizer, transcoded to UTF-8 before feedparser sees the bytes).
"""
from __future__ import annotations

import calendar
import codecs
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from html import unescape
from html.parser import HTMLParser
from types import MappingProxyType

import feedparser

from dealwatch.model import FeedItem
from dealwatch.urls import canonical_url, publisher_url

__all__ = ["ParsedFeed", "parse_feed", "html_to_text"]

# bozo exceptions that are warnings about the transport, not about the document
_HARMLESS_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    items: list[FeedItem] = field(default_factory=list)
    error: str | None = None        # set when the document gave no feed: not a feed, or nothing parsed
    version: str = ""               # feedparser's name of the format ('rss20', 'atom10', 'json11' ...); '' = not a feed
    warning: str | None = None      # what was odd in a feed that was read all the same (a recoverable XML error,
                                    # a wrong encoding declaration): the feed is healthy, its owner may want to know


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

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json")
# the title or heading of a "Document moved" page (IIS "Object moved", Apache "Moved Permanently", ...)
_MOVED = re.compile(r"\b(?:moved|relocated|has a new (?:address|location|home)|umgezogen|verschoben|"
                    r"d[ée]plac[ée]|movido|trasladado|spostato)\b", re.I)


class _AlternateFinder(HTMLParser):
    """What an HTML page served where a feed was says about the feed: its <link rel="alternate"> feeds, a
    <meta http-equiv="refresh"> target, and on a "Document moved" page (title or heading says so) the first
    link of its body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.refresh: str | None = None
        self.first_link: str | None = None
        self.heading = ""
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "link":
            if "alternate" in a.get("rel", "").lower().split() and \
                    a.get("type", "").lower() in _FEED_TYPES and a.get("href"):
                self.found.append(a["href"])
        elif tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            match = re.search(r"url\s*=\s*['\"]?([^'\">\s]+)", a.get("content", ""), re.I)
            if match:
                self.refresh = match.group(1)
        elif tag == "a" and a.get("href") and self.first_link is None:
            self.first_link = a["href"]
        elif tag in ("title", "h1", "h2"):
            self._in_heading = True

    def handle_endtag(self, tag):
        if tag in ("title", "h1", "h2"):
            self._in_heading = False

    def handle_data(self, data):
        if self._in_heading:
            self.heading += " " + data

    def moved_to(self) -> str | None:
        if self.refresh:
            return self.refresh
        return self.first_link if self.first_link and _MOVED.search(self.heading) else None


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):
        return True
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _html_error(feed_url: str, body: bytes, content_type: str | None, base: str) -> str:
    """The error for an HTML page where a feed was expected: where it says the feed moved, else the feeds
    it advertises, and what to do."""
    finder = _AlternateFinder()
    try:
        finder.feed(body[:256 * 1024].decode("utf-8", errors="replace"))
    except Exception:
        pass
    error = f"{feed_url} serves an HTML page, not a feed: content type {content_type or '(none)'!r}"
    moved = finder.moved_to()
    if moved:
        return f"{error}; the page says the feed moved to {canonical_url(moved, base=base)}: update the feed's URL"
    alternates = [canonical_url(href, base=base) for href in finder.found]
    if alternates:
        return f"{error}; it advertises the feed(s) {', '.join(alternates)}"
    return error


# -- entries --------------------------------------------------------------------------------------------

def _published(entry, language: str | None = None) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:  # feedparser's struct_time is UTC
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, TypeError, OSError):
                continue
    for key in ("published", "updated", "created"):   # a date feedparser could not read
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            when = lenient_date(value, language)
            if when is not None:
                return when
    return None


# dateparser's settings: a date without a zone is UTC; the result aware, in UTC; no relative dates
# ("yesterday") and no future-biased guesses: a feed's date is a moment in the past
DATEPARSER_SETTINGS = MappingProxyType({"TIMEZONE": "UTC", "TO_TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": True,
                                        "PARSERS": ("timestamp", "absolute-time")})
_GMT_OFFSET = re.compile(r"\b(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?\s*$", re.I)


def _dateparser_settings() -> dict:
    return {**DATEPARSER_SETTINGS, "PARSERS": list(DATEPARSER_SETTINGS["PARSERS"])}


# the languages dateparser tries when the feed declares none: with all of its ~200, a string that is no date
# ("soon") cost 2.3-4.7 s, a date ~0.5 s the first time in a process; with these, 50 ms and 0.3 s (measured)
DATE_LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl", "ja", "zh")


@lru_cache(maxsize=1024)
def lenient_date(value: str, language: str | None = None) -> datetime | None:
    """A date feedparser leaves empty, aware UTC; None when it cannot be read. First the RFC 822 date it
    nearly is, repaired ("Thu,28 Jul 2022 4:35:5 GMT+9": the blank after the comma, "GMT+9" as "+0900"),
    then dateparser (day and month names in other languages), in the feed's declared language (and
    English), else in DATE_LANGUAGES."""
    value = " ".join(value.split())
    value = _GMT_OFFSET.sub(lambda m: f" {m.group(1)}{int(m.group(2)):02d}{m.group(3) or '00'}", value)
    value = re.sub(r",(?=\S)", ", ", value)
    try:
        when = parsedate_to_datetime(value)
        if when is not None:
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except (TypeError, ValueError, IndexError):
        pass
    primary = (language or "").replace("_", "-").split("-")[0].strip().lower()
    languages = list(dict.fromkeys([primary, "en"])) if primary else list(DATE_LANGUAGES)
    import dateparser   # imported on first use: ~0.1-0.2 s, and most feeds never need it
    try:
        when = dateparser.parse(value, languages=languages, settings=_dateparser_settings())
    except (ValueError, OverflowError, TypeError, KeyError):   # KeyError: a language it does not know
        try:
            when = dateparser.parse(value, languages=list(DATE_LANGUAGES), settings=_dateparser_settings())
        except (ValueError, OverflowError, TypeError):
            return None
    return when.astimezone(UTC) if when is not None else None


def _summary(entry) -> str:
    """The entry's own text: the longest of its content blocks and its summary, as plain text."""
    candidates = [c.get("value", "") for c in entry.get("content") or [] if isinstance(c, dict)]
    candidates.append(entry.get("summary", "") or "")
    texts = [html_to_text(c) for c in candidates if c]
    return max(texts, key=len, default="")


# -- encodings ------------------------------------------------------------------------------------------

_XML_DECLARATION = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])([A-Za-z0-9._:-]+)\2", re.S)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def _charset_param(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def _codec(name: str | None) -> str | None:
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


def _as_utf8(body: bytes, content_type: str | None) -> tuple[bytes, str | None, str | None]:
    """(body, content_type, note): the document re-encoded as UTF-8 and declared so, when its declared
    encoding is wrong, or it declares none and is not UTF-8; else as it was (note None).

    UTF-8 bytes with non-ASCII characters declared as a single-byte encoding (windows-1252, ISO-8859-x):
    text in those encodings almost never forms valid UTF-8 sequences, so the bytes are UTF-8 and the
    declaration is wrong ("Euro â‚¬" otherwise). Bytes that are not UTF-8 and declare nothing (XML's default
    is UTF-8): charset-normalizer tells the encoding (undeclared Shift_JIS was read as Latin-2)."""
    if body.startswith(_BOMS) or body.isascii():
        return body, content_type, None
    declaration = _XML_DECLARATION.match(body[:512])
    declared_xml = declaration.group(3).decode("ascii") if declaration else None
    declared = _charset_param(content_type) or declared_xml
    codec = _codec(declared)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if codec is None or codec == "utf-8" or not _single_byte(codec):
            return body, content_type, None
        note = f"declared {declared} but the bytes are UTF-8: read as UTF-8"
    else:
        if codec is not None and codec != "utf-8":
            return body, content_type, None   # declared and not UTF-8: the declaration stands
        from charset_normalizer import from_bytes   # ~20 ms of import, for the rare feed that needs it
        best = from_bytes(body).best()
        if best is None or best.encoding in ("utf_8", "ascii"):
            return body, content_type, None
        text = str(best)
        note = (f"declared {declared} but the bytes are not UTF-8" if declared else
                "no encoding declared and the bytes are not UTF-8") + f": read as {best.encoding} (detected)"
    data = text.encode("utf-8")
    if declaration:
        data = _XML_DECLARATION.sub(lambda m: m.group(1) + m.group(2) + b"utf-8" + m.group(2), data, count=1)
    if content_type and _charset_param(content_type):
        content_type = re.sub(r"charset\s*=\s*[\"']?[^;\"'\s]+[\"']?", "charset=utf-8", content_type, flags=re.I)
    return data, content_type, note


def _single_byte(codec: str) -> bool:
    """An encoding in which any byte is a character (cp125x, ISO-8859-x, KOI8 ...)."""
    try:
        return len(bytes(range(256)).decode(codec, errors="strict")) == 256
    except (UnicodeDecodeError, LookupError):
        return codec in ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
                         "cp1258", "iso8859-3", "iso8859-6", "iso8859-7", "iso8859-8", "iso8859-11", "cp874", "ascii")


# -- JSON Feed ------------------------------------------------------------------------------------------

JSON_FEED_VERSIONS = {"https://jsonfeed.org/version/1": "json1", "https://jsonfeed.org/version/1.1": "json11"}


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in ("application/feed+json", "application/json") or \
        body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _json_date(value, language: str | None = None) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:   # RFC 3339, as the spec asks
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:
        return lenient_date(value, language)


def _parse_json_feed(feed_url: str, body: bytes, content_type: str | None, base: str) -> ParsedFeed:
    """JSON Feed 1 and 1.1 (jsonfeed.org): items' url (else external_url), title, content_html or content_text
    or summary, date_published (else date_modified), id."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return ParsedFeed(title="", error=f"{feed_url} is not a feed: content type {content_type or '(none)'!r}, "
                                            f"and not valid JSON ({e})")
    version = JSON_FEED_VERSIONS.get(str(document.get("version", "")).rstrip("/")) \
        if isinstance(document, dict) else None
    if version is None:
        found = document.get("version") if isinstance(document, dict) else type(document).__name__
        return ParsedFeed(title="", error=f"{feed_url} is JSON but not a JSON Feed (version {found!r}; "
                                            f"expected https://jsonfeed.org/version/1 or 1.1)")
    language = document.get("language") if isinstance(document.get("language"), str) else None
    items: list[FeedItem] = []
    seen: set[str] = set()
    entries = document.get("items")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        raw_link = entry.get("url") or entry.get("external_url") or ""
        if not isinstance(raw_link, str) or not raw_link.strip():
            continue
        link = publisher_url(canonical_url(raw_link, base=base))
        if not link.startswith(("http://", "https://")) or link in seen:
            continue
        seen.add(link)
        texts = [html_to_text(entry.get("content_html") or ""), (entry.get("content_text") or "").strip(),
                 (entry.get("summary") or "").strip()]
        items.append(FeedItem(
            feed_url=feed_url, link=link, title=html_to_text(str(entry.get("title") or "")),
            summary=max((t for t in texts if isinstance(t, str)), key=len, default=""),
            published=_json_date(entry.get("date_published"), language) or
            _json_date(entry.get("date_modified"), language),
            guid=str(entry["id"]) if entry.get("id") is not None else None))
    return ParsedFeed(title=html_to_text(str(document.get("title") or "")), items=items, version=version)


def _source(entry) -> str:
    """The outlet an aggregator's entry names (RSS <source>, Atom <source><title>)."""
    source = entry.get("source")
    if isinstance(source, dict):
        return html_to_text(source.get("title", "") or "")
    return ""


# -- the feed -------------------------------------------------------------------------------------------

def parse_feed(feed_url: str, body: bytes, content_type: str | None = None, *,
               base_url: str | None = None) -> ParsedFeed:
    """Parse a feed document (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed ...) into FeedItems.

    Links are canonical (resolved against the feed URL), summaries plain text, dates aware UTC datetimes
    or None; entries without an http(s) link are skipped; entries repeating a canonical link are dropped
    (the first one stays). Links are the publisher's (dealwatch.urls.publisher_url: Google Alerts and Bing
    News redirects unwrapped, older Google News ids decoded). A malformed document that still yields
    entries is read, with a warning saying what was odd; one that yields none, or a page that is HTML,
    gives an error saying so. base_url (default feed_url): where the document was actually found (after
    redirects), for relative links; items keep feed_url as their feed.
    """
    base = base_url or feed_url
    if not body or not body.strip():
        return ParsedFeed(title="", error=f"{feed_url} answered an empty body, not a feed")
    if _looks_like_json(body, content_type):
        return _parse_json_feed(feed_url, body, content_type, base)
    body, content_type, encoding_note = _as_utf8(body, content_type)
    headers = {"content-location": base}
    if content_type:
        headers["content-type"] = content_type
    # bytes, never str: feedparser would fetch a str that looks like a URL or read one that names a file
    # no sanitizing or resolving of the markup in titles and summaries: html_to_text drops all of it (script
    # and style with their content), and both passes cost ~20% of feedparser's time
    parsed = feedparser.parse(bytes(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    version = parsed.get("version", "") or ""
    title = html_to_text(parsed.feed.get("title", "") or "")

    language = parsed.feed.get("language") or None
    items: list[FeedItem] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        raw_link = entry.get("link") or ""
        if not raw_link and entry.get("guidislink"):
            raw_link = entry.get("id") or ""
        if not raw_link.strip():
            continue
        link = publisher_url(canonical_url(raw_link, base=base))
        if not link.startswith(("http://", "https://")) or link in seen:
            continue
        seen.add(link)
        items.append(FeedItem(
            feed_url=feed_url,
            link=link,
            title=html_to_text(entry.get("title", "") or ""),
            summary=_summary(entry),
            published=_published(entry, language),
            guid=(entry.get("id") or None),
            source=_source(entry),
        ))

    error = None
    notes = [encoding_note] if encoding_note else []
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not version and not parsed.entries:
        if _looks_like_html(body, content_type):
            error = _html_error(feed_url, body, content_type, base)
        else:
            error = (f"{feed_url} is not a feed: no RSS/Atom/JSON Feed document found (content type "
                     f"{content_type or '(none)'!r}{f'; {problem}' if problem else ''})")
    elif problem is not None and isinstance(problem, feedparser.CharacterEncodingOverride):
        notes.append(str(problem))
    elif problem is not None and not isinstance(problem, _HARMLESS_BOZO):
        if items:   # what parsed is the feed: a healthy poll, with the oddity said
            notes.append(f"malformed XML, read {len(items)} item(s) all the same: {problem}")
        else:
            error = f"{feed_url}: malformed feed, no item could be read: {problem}"
    return ParsedFeed(title=title, items=items, error=error, version=version,
                      warning="; ".join(notes) or None)


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
