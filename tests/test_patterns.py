"""The fast search of the word lists (dealwatch/patterns.py): the same matches as the plain regexes."""
from __future__ import annotations

from pathlib import Path

import html as _html
import pickle
import random
import re
import sys

from dealwatch.facts import bidders, deadlines, prices, text
from dealwatch.patterns import _INDEXES, Alternation, fold_case, needles, text_index, words_of
from dealwatch.profile import load_profile

_HELDOUT = Path(__file__).resolve().parent / "fixtures" / "heldout" / "articles"


def _sentences() -> list[str]:
    """Sentences of the held-out fixture pages (tags stripped), in their case and upper/lower-cased."""
    out = []
    for page in sorted(_HELDOUT.glob("*.html")):
        body = _html.unescape(re.sub(r"<[^>]+>", "\n", page.read_text(encoding="utf-8")))
        out += text.split_sentences(body)
    return out + [s.upper() for s in out[::7]] + [s.lower() for s in out[::5]]


def _alternations(p) -> list[Alternation]:
    alts = [p.target_rx, p.reference_rx, p.not_target_rx, p.seller_rx, p.parties_rx]
    for vocab in p.vocab.values():
        alts += vocab.compiled.values()
    for party in p.parties:
        alts += [party.pattern, party.description_rx]
    return [a for a in alts if a is not None]


def _spans(matches) -> list:
    return [(m.span(), m.group(0), m.lastgroup) for m in matches]


def _stitched(p, rng: random.Random, n: int) -> list[str]:
    """Strings made of the lists' own literal words, several to a string: many alternatives are live at once."""
    pieces = sorted({t for a in _alternations(p) for clause in (needles(alt) for alt in a.alternatives)
                     for c in clause for _, t in c})
    glue = [" ", ", ", " the ", " TikTok ", "-", "'s ", " und ", " 75 ", ". "]
    return ["".join(rng.choice(pieces).title() if rng.random() < 0.3 else rng.choice(pieces) + rng.choice(glue)
                    for _ in range(rng.randint(2, 12))) for _ in range(n)]


def test_fold_case_equates_what_ignorecase_matches():
    # re.IGNORECASE matches a character c against a pattern's letter p when their simple lower cases are equal,
    # or are both in one class of re._casefix (sre's own tables, read here for the check)
    import _sre
    from re._casefix import _EXTRA_CASES

    everything = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    folded = fold_case(everything)
    assert len(folded) == len(everything)  # character for character
    word = re.compile(r"\w")  # and a word character stays one
    assert [m.start() for m in word.finditer(folded)] == [m.start() for m in word.finditer(everything)]
    lowered = "".join(chr(_sre.unicode_tolower(ord(c))) for c in everything)
    iota = re.compile("[\u0345\u0399\u03b9\u1fbe]")  # the one class fold_case leaves apart (no needle holds it)
    assert [i for i, (a, b) in enumerate(zip(folded, fold_case(lowered)))
            if a != b and not iota.match(everything[i])] == []
    for a, others in _EXTRA_CASES.items():
        for b in others:
            if not iota.match(chr(a)):
                assert fold_case(chr(a)) == fold_case(chr(b)), (hex(a), hex(b))
    p = load_profile()
    letters = set("".join(f for a in _alternations(p) for f in a.alternatives)) | set(
        "abcdefghijklmnopqrstuvwxyzäöüßABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜẞ0123456789$€%'-")
    for c in sorted(letters):
        for m in re.finditer(re.escape(c), everything, re.IGNORECASE):
            assert fold_case(m.group(0)) == fold_case(c), (c, m.group(0))
    assert needles("κι") == ()  # no needle holds an iota


def test_needles_of_patterns():
    def read(pattern, **kw):
        return [sorted(c) for c in needles(pattern, **kw)]

    # the first (rarest) clause: a word head, a whole word, a substring, words of an alternation, a case-sensitive run
    assert read("bid(?:s|ding)?", starts_word=True)[0] == [("head", "bid")]
    assert read("sale of", starts_word=True, ends_word=True)[0] == [("word", "sale")]
    assert read(r"\w*[Ff]rist")[0] == [("text", "frist")]
    assert read(r"(?:wants?|seeks?) to (?:buy|acquire)", starts_word=True, ends_word=True)[0] == [
        ("word", "acquire"), ("word", "buy")]
    assert read("(?:AP)", ignore_case=False)[0] == [("exact", "AP")]
    assert read(r"(?<![\w])may(?![\w])")[0] == [("word", "may")]
    # a common word with its blank ("the ", " of") is in nearly every sentence: a rarer substring is the needle
    assert read("the (?:short-?video |video )*app", starts_word=True, ends_word=True)[0] == [("text", "app")]
    assert read("(?:an |a )?(?:affiliate|unit) of", starts_word=True, ends_word=True)[0] == [
        ("text", "affiliate"), ("text", "unit")]
    # what a match need not hold is no needle: optional parts, lookarounds, a top-level alternative without one
    assert read(r"(?:x)?(?=abc)\d+") == [] and read(r"abc|\d") == []
    # constructs the reader does not follow give no needles (the pattern is then searched everywhere)
    assert read(r"(a)b\1") == [] and read(r"\x41bc") == [] and read(r"(?x) a b c") == []


def test_alternations_give_the_same_matches_as_their_regex():
    p = load_profile()
    rng = random.Random(7)
    strings = _sentences() + _stitched(p, rng, 250)
    tokens = sorted({t for s in strings[:300] for t in s.split()})
    for indexed in (False, True):  # a string not indexed yet is searched whole when that is cheaper
        for alt in _alternations(p):
            for s in strings:
                if indexed:
                    text_index(s)
                else:
                    _INDEXES.pop(s, None)
                assert _spans(alt.finditer(s)) == _spans(alt.full.finditer(s)), (alt.pattern[:60], s)
                alt._all.pop(s, None)
                assert _spans(alt.all(s)) == _spans(alt.full.finditer(s))
                assert _spans(filter(None, [alt.search(s, 3)])) == _spans(filter(None, [alt.full.search(s, 3)]))
                for pos in (0, len(s) // 2):
                    assert _spans(filter(None, [alt.match(s, pos)])) == _spans(filter(None, [alt.full.match(s, pos)]))
            for token in tokens:
                if indexed:
                    text_index(token)
                assert _spans(filter(None, [alt.fullmatch(token)])) == _spans(filter(None, [alt.full.fullmatch(token)]))


def test_prefiltered_regexes_give_the_same_results():
    rxs = [*bidders.UNKNOWN_FRAMES, bidders.DESCRIPTOR_APPOSITION, text._DEAL_OBJECT, *deadlines.ABSOLUTE,
           deadlines.VAGUE, deadlines.WEEKDAY, deadlines.TODAY, deadlines.DURATION, deadlines.SIGN_VERBS,
           deadlines.EVENT_VERBS, deadlines.TOPIC_DEADLINE, deadlines.WEEK_END, deadlines.MONTH_END,
           deadlines.SPECIFIC_DEADLINE, deadlines.REPLACE_CUES, *(rx for _, rx in deadlines.KINDS),
           prices.RANGE_BEFORE, prices.SINGLE_BEFORE, prices.RANGE_AFTER, prices.SINGLE_AFTER]
    strings = _sentences() + ["$20 billion to $30 billion", "20 bis 30 Milliarden Dollar", "by Sept. 15, 2020",
                              "am 15.09.2020", "Mitte September", "next Friday", "within 90 days"]
    for rx in rxs:
        for s in strings:
            assert _spans(rx.finditer(s)) == _spans(rx.rx.finditer(s)), (rx.pattern[:60], s)
            assert bool(rx.search(s)) == bool(rx.rx.search(s))


def test_the_date_gates_let_through_every_sentence_with_a_date_form():
    forms = [*deadlines.ABSOLUTE, deadlines.VAGUE, deadlines.WEEKDAY, deadlines.TODAY, deadlines.DURATION,
             deadlines.WEEK_END, deadlines.MONTH_END]
    quick_date = re.compile(r"\d|" + "|".join(deadlines.WEEKDAYS) + r"|mid|early|late|end\b|start|Mitte|Anfang|"
                            r"Ende|Beginn|heute|today|Monatsende|days|Tage|weeks|Wochen|months|Monate", re.I)
    for s in _sentences() + ["Jan. 5", "end of the week", "in 75-day", "Ausgang Januar", "spending", "bis Mittwoch"]:
        assert deadlines.may_hold_date(s) == bool(quick_date.search(s)), s
        if any(rx.rx.search(s) for rx in forms):
            assert deadlines.may_give_date(s), s


def test_alternation_with_group_references_is_searched_whole():
    alt = Alternation(("(?:(a)b)", r"(?:(c)\2)"), r"(?<![\w])", r"(?![\w])", re.IGNORECASE)
    assert [m.span() for m in alt.finditer("cc ab xx")] == [(0, 2), (3, 5)]
    assert alt.live("zz") == (0, 1)  # no narrowing


def test_profile_pickles_as_its_definition():
    p = load_profile()
    q = pickle.loads(pickle.dumps(p))
    s = "Oracle and Walmart made a bid for TikTok's U.S. business by Sept. 15."
    for a, b in zip(_alternations(p), _alternations(q)):
        assert a.pattern == b.pattern and _spans(a.finditer(s)) == _spans(b.finditer(s))


def test_words_of_gives_the_words_re_finds():
    # the Latin-1 shortcut against `re` itself: every Latin-1 character between words, and texts beyond Latin-1
    latin1 = [chr(i) for i in range(256)]
    texts = [f"ab{c}cd {c}x{c}" for c in latin1] + ["".join(latin1), "Übernahme—über… TikTok’s deal ²³ µ ª",
                                                    "Straße am Fluss", "日本語 テキスト", "",
                                                    "“Why?” – he asked … no?", "Łódź — “Kraków?”", "a–b?c—d"]
    for text in texts:
        assert words_of(text) == frozenset(re.findall(r"\w+", text)), repr(text)

