"""From a fetched page to an Article: the main text, title, language and publication date.

trafilatura does the extraction (its `bare_extraction`, with comments left out: by default it keeps
them, and readers' comments must never become facts). No I/O here: a Page's bytes in, an Article out.
"""
from __future__ import annotations

from datetime import date, datetime

import py3langid
import trafilatura

from dealwatch.model import Article, FeedItem, Page

MIN_TEXT_CHARS = 200  # below this the page gave no article (paywall, consent wall, error page)


class ExtractionError(Exception):
    """The page has no article text that can be used."""


def decode_html(body: bytes, encoding: str | None) -> str:
    """The page as text: the declared charset, else UTF-8; undecodable bytes become U+FFFD, never an error."""
    for candidate in (encoding, "utf-8"):
        if not candidate:
            continue
        try:
            return body.decode(candidate, errors="replace")
        except LookupError:  # a charset name Python does not know
            continue
    return body.decode("utf-8", errors="replace")


def detect_language(text: str) -> str | None:
    if not text.strip():
        return None
    lang, _score = py3langid.classify(text[:4000])
    return lang


def _as_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def extract_article(page: Page, item: FeedItem, fetched_on: date) -> Article:
    """The article of a page; raises ExtractionError when the page holds no usable text."""
    html = decode_html(page.body, page.encoding)
    if not html.strip():
        raise ExtractionError("the page is empty")
    document = trafilatura.bare_extraction(
        html, url=page.final_url, include_comments=False, include_tables=False, with_metadata=True,
        deduplicate=True)
    text = (document.text or "").strip() if document is not None else ""
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionError(f"no article text on the page ({len(text)} characters extracted)")
    title = item.title or (document.title or "")
    published = _as_date(item.published) or _as_date(document.date) or fetched_on
    return Article(
        url=item.link, title=title, text=text, lang=detect_language(text), published=published,
        source=document.sitename or document.hostname or "", final_url=page.final_url, text_source="page")


def article_from_feed(item: FeedItem, fetched_on: date, source: str = "") -> Article:
    """The stand-in article when the page cannot be had: the feed entry's own title and summary."""
    text = item.summary.strip()
    return Article(
        url=item.link, title=item.title, text=text, lang=detect_language(f"{item.title}. {text}"),
        published=_as_date(item.published) or fetched_on, source=source, final_url=None, text_source="feed")
