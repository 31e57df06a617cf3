"""The judgment's per-sentence memos and shortcuts give the answers of a fresh reading.

A sentence recurs across articles with another publication date, language or neighbours: what is kept of it must
hold nothing of the article it was first read in.
"""
from __future__ import annotations

import html as _html
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

from dealwatch.facts import bidders
from dealwatch.judge import judge
from dealwatch.facts.text import forget_sentences, split_sentences
from helpers_judgment import article, profile

_HELDOUT = Path(__file__).resolve().parent / "fixtures" / "heldout" / "articles"


def _forget() -> None:
    """Empty every memo of the judgment (its recent sentences, the alternations' results)."""
    forget_sentences()


def _plain(judgment) -> tuple:
    rel = judgment.relevance
    return (rel.relevant, rel.score, rel.terms, rel.sentences, rel.reason,
            tuple((f.kind, f.value, f.evidence, tuple(sorted(f.detail.items()))) for f in judgment.facts))


TEXT = ("Microsoft said on Sunday it would press ahead with talks to buy TikTok's U.S. operations, and must strike a "
        "deal by Sept. 15. Oracle, the database company, made a $20 billion offer for the app on Friday. "
        "The tech investor Nordlicht Capital has submitted an offer as well, backed by Zephyr Partners. "
        "Walmart said it was not interested. President Trump gave ByteDance 90 days to divest, "
        "an order signed Aug. 14; the ban takes effect on Monday. TikTok faces a deadline on Friday to sell the app, "
        "and a ban of the app would take effect on Jan. 19.")


def test_a_recurring_sentence_is_judged_as_if_read_first():
    variants = [article(TEXT, published=published, title="Microsoft in talks to buy TikTok", lang=lang)
                for published in (date(2020, 8, 3), date(2020, 8, 9), date(2024, 12, 28)) for lang in ("en", "de")]
    variants += [replace(v, title="") for v in variants[:2]]
    fresh = []
    for v in variants:
        _forget()
        fresh.append(_plain(judge(v, profile())))
    _forget()
    for _ in range(2):  # each variant after the others: their readings are in the memos
        assert [_plain(judge(v, profile())) for v in variants] == fresh
    assert fresh[0] != fresh[2]  # (the dates do move with the publication date)


def _sentences() -> list[str]:
    out = []
    for page in sorted(_HELDOUT.glob("*.html")):
        body = _html.unescape(re.sub(r"<[^>]+>", "\n", page.read_text(encoding="utf-8")))
        out += split_sentences(body)
    return out


def test_apposition_needs_what_every_apposition_holds():
    strings = _sentences() + [
        "the investment firm Granite Peak", "a hedge fund Foo", "the New York-based firm Bar Capital",
        "der Finanzinvestor Nordlicht", "die Beteiligungsgesellschaft Alpha", "der Fahrdienstvermittler Velora",
        "die Milliardärin Jane Holloway", "der Unternehmer Max Muster", "das Start-up Beta", "die Investorin Eva X",
        "der Bezahldienst Zahlfix", "the billionaire\tFrank McCourt", "the retailer Walmart", "the startup X",
        "the start-up Y", "the conglomerate Z", "the AI search startup Perplexity", "die Hausbank Sparkasse"]
    for s in strings:
        if bidders.DESCRIPTOR_APPOSITION.rx.search(s):
            assert bidders.APPOSITION_NEEDS.search(s), s
    assert sum(bool(bidders.DESCRIPTOR_APPOSITION.rx.search(s)) for s in strings) >= 15


def test_forget_sentences_empties_every_memo_of_the_judgment():
    # a memo made with lru_cache directly, not with recent_sentences, would keep what the benchmark's "sentences
    # never seen" figure and the tests above must not find
    import gc
    import functools as ft

    from dealwatch import patterns
    from dealwatch.facts.text import SentenceMemo

    judge(article(TEXT, published=date(2020, 8, 3)), profile())
    memos = [o for o in gc.get_objects() if isinstance(o, SentenceMemo)]
    caches = [o for o in gc.get_objects() if isinstance(o, ft._lru_cache_wrapper)
              and o.__module__.startswith(("dealwatch.facts", "dealwatch.relevance", "dealwatch.judge"))]
    assert any(memos) and any(c.cache_info().currsize for c in caches) and patterns._INDEXES
    forget_sentences()
    assert not any(memos) and not [c for c in caches if c.cache_info().currsize] and not patterns._INDEXES
    assert not any(alt._all or alt._live for alt in list(patterns._ALTERNATIONS))
