"""The values that flow through a monitoring cycle, once, in one direction.

    feed URL --poll--> FeedItem --fetch--> Page --extract--> Article --judge--> Judgment --store--> warehouse

Each is a small immutable dataclass: stages receive and return these, so that every stage can be tested
with plain data and the judgment never sees a socket or a database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

FactKind = Literal["bidder", "deadline", "price"]


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a feed, as the feed tells it."""

    feed_url: str
    link: str                       # canonical form of the entry's link (dealwatch.urls.canonical_url)
    title: str = ""
    summary: str = ""               # the entry's own content or summary, plain text: the fallback body
    published: datetime | None = None
    guid: str | None = None
    source: str = ""                # the outlet the feed names for the entry (RSS <source>), if any


@dataclass(frozen=True, slots=True)
class Page:
    """An article page as fetched: the bytes and what the server said about them."""

    url: str                        # the link that was requested (the feed item's canonical link)
    final_url: str                  # after redirects
    status: int
    content_type: str
    body: bytes
    encoding: str | None = None     # charset from the Content-Type header, if any
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """The main text of an article and what is known about it: the judgment's whole input."""

    url: str
    title: str
    text: str
    lang: str | None = None         # "en", "de", ... or None when unknown
    published: date | None = None   # feed date, else page metadata, else the fetch date
    source: str = ""                # outlet name (site name or feed title)
    final_url: str | None = None
    text_source: Literal["page", "feed"] = "page"   # "feed": the page gave no text, the feed's summary stands in


@dataclass(frozen=True, slots=True)
class Relevance:
    """Whether an article is about the tracked deal, and why."""

    relevant: bool
    score: float                    # the classifier's score; relevant when >= its threshold
    terms: tuple[str, ...] = ()     # the vocabulary that counted
    sentences: tuple[str, ...] = ()  # the sentences that decided it
    reason: str = ""                # one line a person can read


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing an article states about the deal, with the sentence that states it.

    value is canonical: a bidder's canonical name, a deadline's ISO date, a price as 'USD <low>-<high>'.
    detail holds what else is known (a bidder's role, a deadline's kind and what it replaces, a price's
    low/high), as JSON-able plain data.
    """

    kind: FactKind
    value: str
    evidence: str
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Judgment:
    """The judgment on one article: relevance, and the facts (none when not relevant)."""

    relevance: Relevance
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True, slots=True)
class Alert:
    """A new bidder or deadline to tell people about: one row of the warehouse's outbox."""

    id: int                         # the outbox row's id
    kind: Literal["bidder", "deadline"]
    value: str                      # canonical bidder name, or ISO date
    evidence: str                   # the sentence that states it
    article_url: str
    article_title: str = ""
    source: str = ""
    published: date | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # the Fact's detail
    attempts: int = 0               # deliveries tried so far
    delivered_to: tuple[str, ...] = ()  # masked URLs that already accepted it (an earlier partial delivery)
    failed_to: tuple[str, ...] = ()     # masked URLs that refused it for good (not tried there again)
    target_label: str = ""              # the target its message names (the profile's label when it was raised;
                                        # "": unknown, the deliverer's)
