"""dealwatch.extract: one parse per page, the text as the reader sees it, metadata without a second pass."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dealwatch import extract
from dealwatch.extract import ExtractionError, clean_text, decode_html, extract_article, parse_html
from dealwatch.model import FeedItem, Page

LINK = "https://news.example.test/a/oracle-bid.html"
PARAGRAPHS = [
    "Oracle has submitted a bid for TikTok’s U.S. business, people familiar with the matter said on Monday.",
    "The deadline for ByteDance to sell the app is Jan. 19, and several investors have approached the company.",
    "Die Gespräche über einen Verkauf sollen nach Angaben von Insidern bis Mitte der Woche abgeschlossen sein.",
    "ByteDance did not respond to a request for comment on the bid, which was first reported on Monday morning.",
    "Analysts said a deal would need the approval of regulators in Washington and in Beijing before it closes.",
    "Shares of Oracle rose about 3 percent in extended trading after the report, adding to gains earlier in the day.",
    "A spokesperson for the White House declined to say whether the president had been briefed on the offer.",
    "TikTok has about 170 million users in the United States, according to figures the company published.",
    "The company’s recommendation algorithm, which is owned by ByteDance, is not expected to be part of a deal.",
    "Lawmakers from both parties have argued that the app poses a risk to national security, which TikTok denies.",
]


def page_html(charset: str = "utf-8", head: str = "", article_extra: str = "", after: str = "",
              paragraphs: list[str] = PARAGRAPHS) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="{charset}"><title>Oracle bids for TikTok | Example News</title>
<meta property="og:site_name" content="Example News">{head}</head>
<body><nav><a href="/">Home</a> <a href="/tech">Tech</a></nav>
<article><h1>Oracle bids for TikTok</h1>{article_extra}
{body}
</article>{after}
<footer><p>© Example News. All rights reserved.</p></footer></body></html>"""


def item(title: str = "Oracle bids for TikTok", published: datetime | None = datetime(2025, 1, 10, 12, tzinfo=UTC)):
    return FeedItem(feed_url="https://news.example.test/feed.xml", link=LINK, title=title, published=published)


def page(body: bytes, encoding: str | None = "utf-8") -> Page:
    return Page(url=LINK, final_url=LINK, status=200, content_type="text/html", body=body, encoding=encoding)


def text_of(body: bytes, encoding: str | None = "utf-8") -> str:
    return extract_article(page(body, encoding), item(), date(2025, 1, 10)).text


def test_article_text_title_date_source_and_language():
    a = extract_article(page(page_html().encode()), item(), date(2025, 2, 1))
    assert all(p in a.text for p in PARAGRAPHS)
    assert "Home" not in a.text and "All rights reserved" not in a.text
    assert (a.title, a.published, a.source, a.lang, a.text_source) == (
        "Oracle bids for TikTok", date(2025, 1, 10), "Example News", "en", "page")


@pytest.mark.parametrize("encoding", ["windows-1252", "cp1252", "iso-8859-1", "latin-1"])
def test_a_declared_charset_is_honoured(encoding):
    body = page_html(charset=encoding).encode(encoding, errors="replace")
    text = text_of(body, encoding)
    assert "Die Gespräche über einen Verkauf" in text
    assert "TikTok’s U.S. business" in text if encoding.endswith("1252") else "TikTok?s U.S. business" in text


def test_the_declared_charset_wins_over_a_meta_tag_that_lies():
    # UTF-8 bytes, served as UTF-8, while the page's own <meta> claims Latin-1: decode_html's choice holds
    text = text_of(page_html(charset="iso-8859-1").encode("utf-8"), "utf-8")
    assert "Die Gespräche über einen Verkauf" in text and "Ã" not in text


@pytest.mark.parametrize("encoding", [None, "utf-8", "x-no-such-charset"])
def test_undeclared_or_unknown_charset_is_utf8_and_bad_bytes_become_replacement_characters(encoding):
    body = page_html().encode("utf-8").replace("Gespräche".encode(), b"Gespr\xe4che")
    text = text_of(body, encoding)
    assert "Die Gespr\ufffdche über einen Verkauf" in text
    assert parse_html(body, encoding).xpath("string(//article/p[3])") == decode_html(body, encoding).split(
        "<p>")[3].split("</p>")[0]


def test_utf16_and_a_byte_order_mark():
    assert "Die Gespräche über" in text_of(page_html().encode("utf-16"), "utf-16")
    assert "Die Gespräche über" in text_of(b"\xef\xbb\xbf" + page_html().encode(), "utf-8")


def test_control_characters_do_not_cut_the_page_short():
    html = page_html().replace(PARAGRAPHS[0], PARAGRAPHS[0] + "\x00\x07") + "\x00"
    text = text_of(html.encode())
    assert all(p in text for p in PARAGRAPHS)


def test_a_self_closing_html_tag_does_not_lose_the_page():
    html = page_html().replace('<html lang="en">', '<html lang="en"/>\n')
    assert all(p in text_of(html.encode()) for p in PARAGRAPHS)


@pytest.mark.parametrize("body", [b"", b"   \n ", b"\x00\x00", b"just some text " * 40, b'{"a": [1, 2, 3]}' * 30,
                                  "<html><body><p>Too short.</p></body></html>".encode()])
def test_no_usable_text_is_an_extraction_error(body):
    with pytest.raises(ExtractionError):
        extract_article(page(body), item(), date(2025, 1, 10))


def test_lines_outside_the_single_article_are_dropped_but_not_a_script_inside_it():
    after = ('<section class="most-read"><h2>Most read</h2><ul><li><a href="/1">Walmart bids for TikTok, '
             'sources say, in a surprise move</a></li></ul></section>'
             '<div class="user-feedback"><div class="post"><p>Amazon should buy TikTok and be done with it, '
             'honestly, nobody else can run it.</p></div></div>')
    extra = '<script>var x = "Amazon should buy TikTok and be done with it";</script>'
    text = text_of(page_html(article_extra=extra, after=after).encode())
    assert all(p in text for p in PARAGRAPHS)
    assert "should buy" not in text and "Walmart bids" not in text and "var x" not in text


def test_clean_text_keeps_lines_the_article_holds_whatever_the_spacing():
    article = "First   paragraph of the story.\nSecond paragraph,\twith a tab." + " Filler sentence." * 20
    text = "First paragraph of the story.\nSecond paragraph, with a tab.\nA comment from outside the article.\n" + \
        " ".join(["Filler sentence."] * 20)
    kept = clean_text(text, " ".join(article.split()))
    assert "A comment from outside" not in kept and "Second paragraph, with a tab." in kept


def _passes(monkeypatch) -> list[tuple[str, bool]]:
    """The extraction passes a page gets: ("story", fast) on the story element alone, ("page", fast) on the page."""
    passes = []
    real = extract._trafilatura

    def spy(tree, url, fast):
        alone = len(tree) == 1 and tree[0].tag == "body" and len(tree[0]) == 1 and tree[0][0].tag == "article"
        passes.append(("story" if alone else "page", fast))
        return real(tree, url, fast)
    monkeypatch.setattr(extract, "_trafilatura", spy)
    return passes


def test_fast_extraction_of_the_story_element_unless_the_result_looks_poor(monkeypatch):
    passes = _passes(monkeypatch)
    text_of(page_html().encode())
    assert passes == [("story", True)]           # a full article page: the fast pass over its <article> only
    passes.clear()
    short = page_html(paragraphs=PARAGRAPHS[:3])   # under FULL_EXTRACTION_BELOW_CHARS: the full pass decides
    assert PARAGRAPHS[1] in text_of(short.encode())
    assert passes == [("story", True), ("story", False)]
    passes.clear()
    # an element that is mostly what trafilatura leaves out (here: an <aside>): the whole page after all
    hidden = page_html(paragraphs=PARAGRAPHS[:3], article_extra="<aside>" + " ".join(PARAGRAPHS * 2) + "</aside>")
    text_of(hidden.encode())
    assert passes == [("story", True), ("story", False), ("page", True), ("page", False)]


def test_the_whole_page_when_the_story_element_holds_under_half_of_its_paragraphs(monkeypatch):
    passes = _passes(monkeypatch)
    teaser = page_html(paragraphs=PARAGRAPHS[:2], after="<div>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS[2:]) + "</div>")
    text = text_of(teaser.encode())
    assert passes == [("page", True)] and PARAGRAPHS[0] in text


def test_the_story_element_alone_gives_the_text_the_whole_page_gives(monkeypatch):
    """On every page of our corpora with a story element: the same text as the whole page's extraction."""
    passes = _passes(monkeypatch)
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    pages = [*sorted((root / "dealwatch" / "demo_data" / "articles").glob("*.html")),
             *sorted((root / "tests" / "fixtures" / "heldout").rglob("*.html"))]
    compared = 0
    for path in pages:
        tree = parse_html(path.read_bytes(), None)
        node = extract.story_element(tree)
        if node is None:
            continue
        story = extract.element_text(node)
        whole = clean_text(extract.main_text(tree, None, story), story)   # no node: the whole page
        passes.clear()
        assert clean_text(extract.main_text(tree, None, story, node), story) == whole, path.name
        compared += passes[0] == ("story", True) and ("page", True) not in passes
    assert compared >= 100   # pages whose text came from the story element alone


def test_metadata_from_the_feed_item_and_og_site_name_without_trafilatura_metadata(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("trafilatura's metadata extraction should not run")
    monkeypatch.setattr(extract, "extract_metadata", boom)
    a = extract_article(page(page_html(head='<meta property="og:site_name" content="@examplenews">').encode()),
                        item(), date(2025, 2, 1))
    assert a.source == "Examplenews"   # the last og:site_name, tidied as trafilatura tidies it


def test_metadata_the_feed_lacks_comes_from_the_page():
    head = '<meta property="article:published_time" content="2025-01-08T09:00:00+00:00">'
    a = extract_article(page(page_html(head=head).encode()), item(title="", published=None), date(2025, 2, 1))
    assert a.published == date(2025, 1, 8) and a.title and a.source == "Example News"
    no_site = page_html().replace('<meta property="og:site_name" content="Example News">', "")
    b = extract_article(page(no_site.encode()), item(), date(2025, 2, 1))
    assert b.source == "news.example.test"   # no site name anywhere: the host, as before
    c = extract_article(page(page_html().encode()), item(published=None), date(2025, 2, 1))
    assert c.published == date(2025, 2, 1)   # no date anywhere: the fetch date


def test_language_is_read_from_the_start_of_the_text():
    german = ["Die Bundesregierung hat am Mittwoch neue Regeln für den Verkauf von Unternehmensteilen beschlossen, "
              "die nach Angaben des Ministeriums noch in diesem Jahr in Kraft treten sollen."] * 8
    a = extract_article(page(page_html(paragraphs=german + PARAGRAPHS[:2]).encode()), item(), date(2025, 2, 1))
    assert a.lang == "de"
    assert extract.detect_language("") is None and extract.detect_language("   ") is None


def test_the_tree_is_parsed_once(monkeypatch):
    import lxml.html
    calls = []
    real = lxml.html.fromstring

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)
    monkeypatch.setattr(lxml.html, "fromstring", counting)
    text_of(page_html().encode())
    assert len(calls) == 1
