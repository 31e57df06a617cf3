"""A synthetic but realistic news corpus for the benchmark, built from dealwatch's own sample articles.

Each of the N pages is one of the 48 HTML templates in dealwatch/demo_data/articles (whole pages: cookie
banners, share bars, comments, "most read" boxes, scripts, ~35 KB) with its article body varied:
- body paragraphs swapped with paragraphs of other articles in the same language, in another order;
- small numbers changed (days, amounts, counts: "75 days" -> "61 days", "Sept. 15" -> "Sept. 9");
- a new author name, a unique title (page <title>, <h1>, og:/twitter: titles, the feed entry) and URL;
- the publication date moved by a few days.
So extraction and judgment do real work on every page, and dealwatch's duplicate detection (content hash,
SimHash within 8 bits) does not collapse them. Deterministic: page i of a set is the same bytes in every
process (the server, the floor loop), given the same seed.
"""
from __future__ import annotations

import html
import json
import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

ARTICLES = Path(__file__).resolve().parent.parent / "dealwatch" / "demo_data"
_P = re.compile(r"<p(?:\s[^>]*)?>(.*?)</p>", re.S)
_TAGS = re.compile(r"<[^>]+>")
_SMALL_NUMBER = re.compile(r"(?<![\d.,$€/-])\b([1-9]\d?)\b(?![.,]\d|\d|-)")
_END_MARKERS = ("</article>", 'id="comments"', 'class="comments', "author-box", "newsletter", "related")
FIRST = ["Jenna", "Marcus", "Priya", "Tom", "Lena", "Jonas", "Aylin", "David", "Sofia", "Kenji", "Maya",
         "Felix", "Clara", "Omar", "Hannah", "Lukas", "Grace", "Mateo", "Nora", "Sven"]
LAST = ["Whitlock", "Berger", "Nakamura", "Okafor", "Schulz", "Ramirez", "Lindqvist", "Hartmann", "Chen",
        "Duarte", "Kowalski", "Fischer", "Adeyemi", "Moreau", "Sato", "Novak", "Brennan", "Wolff"]
EN_WORDS = ["update", "analysis", "what it means", "live", "explainer", "the latest", "inside the talks",
            "day", "week", "briefing", "scoop", "recap"]
FIRMS = ["Lowell Street Capital", "Harbor Lane Research", "Nordhafen Partners", "Bluegate Advisory",
         "Kestrel Analytics", "Mainufer Research", "Pinecrest Securities", "Elbtal Consulting"]
# one clause per paragraph, with a random name, firm and figure: every paragraph of every page is unique
# text, as on real sites (trafilatura's deduplicate option drops paragraphs it has seen before)
EN_CLAUSES = ["{name}, an analyst at {firm}, put the odds of a quick outcome at {n} percent.",
              "{name} of {firm} said the talks had dragged on for {n} weeks.",
              "According to {name} at {firm}, at least {n} advisers are involved.",
              "{firm}'s {name} counted {n} meetings in Washington so far."]
DE_CLAUSES = ["{name}, Analyst bei {firm}, schätzt die Chancen auf eine schnelle Lösung auf {n} Prozent.",
              "{name} von {firm} sagte, die Gespräche zögen sich seit {n} Wochen hin.",
              "Laut {name} von {firm} sind mindestens {n} Berater beteiligt.",
              "{firm} zählt nach Angaben von {name} bislang {n} Treffen in Washington."]
DE_WORDS = ["Analyse", "Update", "Hintergrund", "Überblick", "Bericht", "Kommentar", "Stand", "Einordnung"]


@dataclass(frozen=True)
class Template:
    id: str
    lang: str
    title: str
    summary: str
    published: date | None
    html: str
    body: tuple[tuple[int, int], ...]   # (start, end) of each body paragraph's inner HTML
    author: str | None


@dataclass(frozen=True)
class Entry:
    """One page of the corpus as a feed lists it."""

    index: int
    path: str          # /<set>/a/<index>-<slug>.html
    title: str
    summary: str
    published: date | None


def _body_region(page: str) -> tuple[int, int]:
    start = page.find("<h1")
    start = 0 if start < 0 else start
    ends = [i for i in (page.find(m, start) for m in _END_MARKERS) if i > 0]
    return start, min(ends) if ends else len(page)


@lru_cache(maxsize=1)
def templates() -> tuple[Template, ...]:
    gold = {}
    for line in (ARTICLES / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            gold[row["id"]] = row
    out = []
    for path in sorted((ARTICLES / "articles").glob("*.html")):
        row = gold.get(path.stem)
        if row is None:
            continue
        page = path.read_text(encoding="utf-8")
        lo, hi = _body_region(page)
        body = tuple((m.start(1), m.end(1)) for m in _P.finditer(page, lo, hi)
                     if len(_TAGS.sub("", m.group(1))) >= 60)
        author = re.search(r'<meta name="author" content="([^"]+)"', page)
        published = date.fromisoformat(row["published"]) if row.get("published") else None
        if len(body) < 3:   # no article body to vary (too short to be a realistic template)
            continue
        out.append(Template(path.stem, row.get("lang", "en"), row["title"], row.get("summary", ""),
                            published, page, body, author.group(1) if author else None))
    return tuple(out)


@lru_cache(maxsize=4)
def _pools() -> dict[str, list[str]]:
    pools: dict[str, list[str]] = {}
    for t in templates():
        pools.setdefault(t.lang, []).extend(t.html[a:b] for a, b in t.body)
    return pools


def _vary_numbers(text: str, rng: random.Random) -> str:
    return _SMALL_NUMBER.sub(lambda m: str(rng.randint(2, 28)) if rng.random() < 0.5 else m.group(1), text)


def _entry_and_page(set_name: str, index: int, seed: int) -> tuple[Entry, bytes]:
    ts = templates()
    base = ts[index % len(ts)]
    rng = random.Random(f"{seed}:{set_name}:{index}")
    pool = _pools()[base.lang]
    own = [base.html[a:b] for a, b in base.body]
    paragraphs = own[:1] + [p if rng.random() < 0.3 else rng.choice(pool) for p in own[1:]]
    rest = paragraphs[1:]
    rng.shuffle(rest)
    extra = [rng.choice(pool) for _ in range(max(1, 7 - len(own)) + rng.randint(0, 2))]
    clauses = DE_CLAUSES if base.lang == "de" else EN_CLAUSES
    paragraphs = [_vary_numbers(p, rng) + " " + rng.choice(clauses).format(
                      name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", firm=rng.choice(FIRMS), n=rng.randint(3, 97))
                  for p in paragraphs[:1] + rest + extra]
    # splice: the body paragraphs in place of the template's, extras after the last one
    parts, last = [], 0
    for k, (a, b) in enumerate(base.body):
        parts.append(base.html[last:a])
        parts.append(paragraphs[k] if k < len(base.body) - 1 else
                     "</p>\n<p>".join(paragraphs[k:]))
        last = b
    page = "".join(parts) + base.html[last:]
    words = DE_WORDS if base.lang == "de" else EN_WORDS
    title = f"{base.title} – {rng.choice(words)} {index}"
    titles = {base.title: title, html.escape(base.title): html.escape(title),
              html.escape(base.title, quote=False): html.escape(title, quote=False)}
    page = re.sub("|".join(map(re.escape, sorted(titles, key=len, reverse=True))),
                  lambda m: titles[m.group(0)], page)
    if base.author:
        page = page.replace(base.author, f"{rng.choice(FIRST)} {rng.choice(LAST)}")
    published = base.published + timedelta(days=rng.randint(0, 20)) if base.published else None
    if base.published and published:
        page = page.replace(base.published.isoformat(), published.isoformat())
    slug = re.sub(r"[^a-z0-9]+", "-", base.id.lower()).strip("-")
    entry = Entry(index, f"/{set_name}/a/{index}-{slug}.html", title, _vary_numbers(base.summary, rng), published)
    return entry, page.encode("utf-8")


def entry(set_name: str, index: int, seed: int = 7) -> Entry:
    return _entry_and_page(set_name, index, seed)[0]


def page(set_name: str, index: int, seed: int = 7) -> bytes:
    return _entry_and_page(set_name, index, seed)[1]


def feed_of(index: int, feeds: int) -> int:
    return index % feeds
