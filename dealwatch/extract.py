"""From a fetched page to an Article: the main text, title, language and publication date.

trafilatura does the extraction (its `bare_extraction`, with comments left out: by default it keeps
them, and readers' comments must never become facts). No I/O here: a Page's bytes in, an Article out.
"""
from __future__ import annotations

from datetime import date, datetime

import re

import lxml.html
import py3langid
import trafilatura
from trafilatura.deduplication import LRUCache
from trafilatura.settings import LRU_SIZE

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


# Lines that are navigation inside an article body: teasers to other stories, share/newsletter prompts.
TEASER_LINE = re.compile(
    r"^\s*(?:Lesen Sie (?:auch|mehr)|Mehr zum Thema|Auch interessant|Weitere Artikel|Weiterlesen|Zum Thema|"
    r"Das könnte Sie (?:auch )?interessieren|Meistgelesen|Meist gelesen|Anzeige|Werbung|Newsletter|"
    r"Read (?:more|also|next)|Related(?: stories| articles| coverage)?|See also|Also read|Most (?:read|popular)|"
    r"More on this|Recommended|Advertisement|Sign up|Subscribe)\b\s*[:|–-]?", re.I)


def _page_dedup() -> LRUCache:
    """trafilatura's duplicate-paragraph filter for ONE page. deduplicate=True would use its process-wide
    cache, so a paragraph seen on earlier pages (a syndicated copy, the same page fetched again, and this
    module's own second pass over the <article>) would vanish from later ones: in a worker process that
    extracts hundreds of pages, the third copy of an agency story lost its text."""
    return LRUCache(maxsize=LRU_SIZE)


def _article_subtree_text(html: str, url: str | None) -> str:
    """The text of the page's single <article> element (or articleBody), or '' when there is no single one."""
    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return ""
    nodes = tree.xpath("//article") or tree.xpath("//*[@itemprop='articleBody']")
    if len(nodes) != 1:
        return ""
    sub = lxml.html.tostring(nodes[0], encoding="unicode")
    doc = trafilatura.bare_extraction(f"<html><body>{sub}</body></html>", url=url, include_comments=False,
                                      include_tables=False, deduplicate=_page_dedup())
    return (doc.text or "").strip() if doc is not None else ""


COMMENTS_HEADING = re.compile(
    r"^\s*(?:\d+\s+)?(?:Comments?|Kommentare?|Leserkommentare|Reader comments|Readers' comments|"
    r"What (?:our )?readers (?:say|think)|Join the (?:discussion|conversation)|Diskussion|Diskutieren Sie mit|"
    r"Leserbriefe|Your comments|Ihre Meinung|Meinungen unserer Leser)\s*(?:\(\d+\))?\s*:?\s*$", re.I)


def clean_text(text: str, article_text: str = "") -> str:
    """Drop teaser/navigation lines and a readers' comment section the extractor kept (everything after a
    "Comments"/"Kommentare" heading in the second half of the text); when the page has one <article> that
    holds most of the text, drop lines found only outside it ("most read" boxes, comments)."""
    lines = [line for line in text.split("\n") if line.strip() and not TEASER_LINE.match(line)]
    for i, line in enumerate(lines):
        if i >= len(lines) // 2 and COMMENTS_HEADING.match(line):
            lines = lines[:i]
            break
    if article_text and len(article_text) >= max(MIN_TEXT_CHARS, 0.5 * len(text)):
        inside = {line.strip() for line in article_text.split("\n")}
        kept = [line for line in lines if line.strip() in inside]
        if sum(map(len, kept)) >= max(MIN_TEXT_CHARS, 0.6 * sum(map(len, lines))):
            lines = kept  # only when the <article> holds most of the text: else it is not the story's element
    return "\n".join(lines).strip()


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
        deduplicate=_page_dedup())
    text = (document.text or "").strip() if document is not None else ""
    text = clean_text(text, _article_subtree_text(html, page.final_url))
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
