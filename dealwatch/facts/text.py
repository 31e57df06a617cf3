"""Text helpers shared by the relevance classifier and the fact extractors: normalisation and sentences.

Pure functions, no I/O. Sentences are split with a regular expression that knows the abbreviations news
writers use in both languages ("Sept. 15", "U.S. business", "Corp.", "15. September", "z. B.") and the
glued sentences that some extractors produce ("...war.Denn ...").
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from dealwatch.patterns import forget_strings, prefiltered, text_index

if TYPE_CHECKING:
    from dealwatch.profile import Vocabulary

_QUOTES = str.maketrans({"’": "'", "‘": "'", "´": "'", "`": "'", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
                         "‐": "-", "‑": "-", "‒": "-"})

# Tokens after which a period does not end a sentence.
ABBREVIATIONS = {
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "okt", "dez", "mr", "mrs",
    "ms", "dr", "prof", "st", "inc", "corp", "co", "ltd", "jr", "sr", "vs", "no", "nr", "ca", "bzw", "etc", "gov",
    "sen", "rep", "mio", "mrd", "bn", "mn", "abs", "vgl", "ggf", "inkl", "zzgl", "sog", "ehem", "u", "z", "b", "a",
    "d", "h", "s", "e", "v", "i", "j", "p", "m", "dt", "hr", "fr", "str", "tel", "approx", "est", "min", "max",
}
# A possible sentence end: a mark, then quotes and blanks before a capital or a digit, or glued ("war.Denn").
# The sentence ends after the mark: the pattern begins with it so that `re` skips straight to the marks.
_BOUNDARY = re.compile(r"""[.!?…](?:["”“»«']?\s+(?=["„“”»«'(]?[A-ZÄÖÜ0-9])|(?<=[a-zäöüß)]{2}[.!?])(?=[A-ZÄÖÜ][a-zäöü]))""")
_CLOSING_QUOTES = "\"”“»«'"
_WORD_OR_DOT = re.compile(r"[\w.]*")
_INITIALS = re.compile(r"(?:[a-z]\.)+[a-z]?")
_DAY_NUMBER = re.compile(r"\d{1,2}")


DATELINE = re.compile(r"^[A-ZÄÖÜ][A-ZÄÖÜ /.,'-]{2,}(?:,\s+\w+\.?\s+\d{1,2}(?:,\s+\d{4})?)?\s*(?:\([^)]*\))?\s*[-–—]+\s+")


_TYPOGRAPHIC = tuple((chr(code), plain) for code, plain in _QUOTES.items())
_BLANKS = re.compile(r"[ \t]+")


def normalize(text: str) -> str:
    """Typographic quotes and dashes made plain, whitespace runs inside lines collapsed."""
    # as text.translate(_QUOTES), replacing only the characters the text holds: several times faster
    if not text.isascii():
        for typographic, plain in _TYPOGRAPHIC:
            if typographic in text:
                text = text.replace(typographic, plain)
    if "\t" in text or "  " in text:  # else every run of blanks is one space already
        text = _BLANKS.sub(" ", text)
    return text


def _last_token(left: str) -> str:
    """The word (letters, digits, dots) that ends the text, before a ! or ?, a closing quote and blanks; "" if
    none (in the last 40 characters)."""
    tail = left[-40:].rstrip()
    if tail and tail[-1] in _CLOSING_QUOTES:
        tail = tail[:-1]
    if tail and tail[-1] in "!?":
        tail = tail[:-1]
    return _WORD_OR_DOT.match(tail[::-1]).group()[::-1]


def _ends_sentence(left: str) -> bool:
    token = _last_token(left)
    if not token:
        return True
    token = token.rstrip(".").casefold()
    if token in ABBREVIATIONS:
        return False
    if "." in token and len(token) <= 6 and _INITIALS.fullmatch(token + "."):
        return False  # U.S., U.K., z.B.
    if _DAY_NUMBER.fullmatch(token):
        return False  # German ordinal day: "am 15. September"
    return True


# The per-sentence memos of the judgment keep this many sentences (~50 articles; all of them together hold ~4 MB
# then): a sentence recurs across articles (wire copy on several sites, an updated story, a paragraph quoted again),
# not only within one. Each memo's key holds the sentence and everything of the profile its answer depends on.
RECENT_SENTENCES = 2048
# what empties each memo of recent sentences (every one is made by recent_sentences or SentenceMemo): see forget_sentences
_MEMO_CLEARS: list = []


def recent_sentences(maxsize: int = RECENT_SENTENCES):
    """lru_cache(maxsize) for a reading of a sentence (or paragraph) alone, emptied by forget_sentences too."""
    def memo(fn):
        cached = lru_cache(maxsize=maxsize)(fn)
        _MEMO_CLEARS.append(cached.cache_clear)
        return cached
    return memo


def forget_sentences() -> None:
    """Empty every memo of the judgment's recent sentences and strings: the next article is read as text never seen
    (the benchmark's figure of that cost; the tests that memos give the answers of a fresh reading)."""
    for clear in _MEMO_CLEARS:
        clear()
    forget_strings()


class SentenceMemo(dict):
    """A memo of what the recent sentences gave (key: the sentence and what of the profile the answer reads),
    emptied when it holds RECENT_SENTENCES. For answers lru_cache cannot key (lists, profiles' parts)."""

    _MISSING = object()

    def __init__(self):
        super().__init__()
        _MEMO_CLEARS.append(self.clear)

    def read(self, key, compute):
        """The remembered answer for key, else compute() remembered."""
        value = self.get(key, self._MISSING)
        if value is self._MISSING:
            if len(self) >= RECENT_SENTENCES:
                self.clear()
            value = self[key] = compute()
        return value
MAX_TEXT_CHARS = 60_000     # the judgment reads at most this much of a text (a long article is ~15,000)
MAX_SENTENCE_CHARS = 600   # longer "sentences" (lists, junk without punctuation) are cut into pieces


def _cut_long(sentence: str) -> list[str]:
    """A run-on 'sentence' cut at clause marks, else at spaces, into pieces of at most MAX_SENTENCE_CHARS."""
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return [sentence]
    pieces, rest = [], sentence
    while len(rest) > MAX_SENTENCE_CHARS:
        window = rest[:MAX_SENTENCE_CHARS]
        cut = max(window.rfind("; "), window.rfind(" – "), window.rfind(", "))
        if cut < MAX_SENTENCE_CHARS // 3:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = MAX_SENTENCE_CHARS
        pieces.append(rest[:cut].strip(" ,;–"))
        rest = rest[cut:].strip(" ,;–")
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]


@recent_sentences(64)
def split_sentences(text: str) -> tuple[str, ...]:
    """The sentences of a text (paragraph breaks always end one); the text is read up to MAX_TEXT_CHARS."""
    text = text[:MAX_TEXT_CHARS]
    out: list[str] = []
    for para in normalize(text).split("\n"):
        out.extend(_paragraph_sentences(para))
    return tuple(out)


@recent_sentences(RECENT_SENTENCES // 4)  # a paragraph recurs across articles too (wire copy, an updated story)
def _paragraph_sentences(para: str) -> tuple[str, ...]:
    out: list[str] = []
    para = DATELINE.sub("", para.strip(), count=1)  # "WASHINGTON, April 4 (Reuters) - "
    if not para:
        return ()
    start = 0
    for m in _BOUNDARY.finditer(para):
        end = m.start() + 1  # after the mark
        left = para[start:end]
        if not _ends_sentence(left):
            continue
        piece = left.strip()
        if piece:
            out.extend(_cut_long(piece))
        start = m.end()
    rest = para[start:].strip()
    if rest:
        out.extend(_cut_long(rest))
    return tuple(out)


# Link targets in a text (a Markdown link's "(https://...)", a bare URL): their paths hold dates and names
# ("/news/articles/2020-09-19/trump-says-...") that the text does not state.
_LINK_TARGET = re.compile(r"\[([^\[\]\n]{0,300})\]\((?:https?://|www\.)[^)\s]*\)|\bhttps?://[^\s)\]>\"']+")


def strip_link_targets(text: str) -> str:
    """The text with its link targets removed: "[Microsoft said](https://...)" -> "Microsoft said"."""
    if "http" not in text and "](www." not in text:
        return text
    return _LINK_TARGET.sub(lambda m: m.group(1) or "", text)


def cased_headline(title: str, profile) -> str:
    """A headline written all in lower case (a feed that gives the page's URL slug as its title: "walmart joins
    microsoft tiktok bid") with the profile's parties named as the profile names them ("Walmart joins Microsoft
    tiktok bid"): the readings of parties go by capitals (names are case-sensitive: "apple", "snap" in a sentence
    are words). Any other headline as it is."""
    rx = profile.parties_any_case_rx
    if rx is None or not title or title != title.lower() or not any(c.isalpha() for c in title):
        return title
    out, last = [], 0
    for m in rx.finditer(title):
        out += [title[last:m.start()], profile.parties[int(m.lastgroup[1:])].name]
        last = m.end()
    return "".join(out) + title[last:]


def article_sentences(title: str, text: str) -> tuple[str, ...]:
    """Title (as its own sentence, unless the text repeats it first) followed by the text's sentences, each indexed
    for the lists' needle tests (patterns.text_index) before the first search: a list searches a sentence nothing has
    indexed yet with its regex (the short lists, as the target's names, in every sentence; the bid list with its
    ~200 alternatives), which costs more than indexing the sentence once for every list."""
    sentences = split_sentences(strip_link_targets(text))
    title = normalize(title or "").strip()
    if title and (not sentences or sentences[0] != title):
        sentences = (title,) + sentences
    for sentence in sentences:
        text_index(sentence)
    return sentences


# The judgment asks the same questions of a sentence several times (relevance, then each fact extractor): the
# answers are kept for the recent sentences, keyed by the sentence and the profile patterns they depend on.

def target_spans(sentence: str, profile) -> tuple[tuple[int, int], ...]:
    """Spans of the target's names in a sentence, leaving out those inside not-target names."""
    return _target_spans(sentence, profile.target_rx, profile.not_target_rx)


@recent_sentences()
def _target_spans(sentence: str, target_rx, not_target_rx) -> tuple[tuple[int, int], ...]:
    names = target_rx.all(sentence)
    if not names:
        return ()
    blocked = [m.span() for m in not_target_rx.all(sentence)] if not_target_rx else []
    return tuple(m.span() for m in names if not any(b0 <= m.start() < b1 for b0, b1 in blocked))


def mention_strength(sentence: str, profile) -> float:
    """1 when the sentence names the target (or the seller with the business), 0.5 for an anaphor, else 0."""
    return _mention_strength(sentence, profile.target_rx, profile.not_target_rx, profile.reference_rx,
                             profile.seller_rx)


@recent_sentences()
def _mention_strength(sentence: str, target_rx, not_target_rx, reference_rx, seller_rx) -> float:
    if _target_spans(sentence, target_rx, not_target_rx):
        return 1.0
    has_ref = bool(reference_rx and reference_rx.search(sentence))
    has_seller = bool(seller_rx and seller_rx.search(sentence))
    if has_seller and has_ref:
        return 1.0
    return 0.5 if has_ref or has_seller else 0.0


_DEAL_OBJECT = prefiltered(
    r"\b(?:(?:acquisition|purchase|takeover|buyout|stake|shares|Übernahme|Kauf|Erwerb|Beteiligung|Anteile?)\s+"
    r"(?:of|von|des|der|in|an|at)|(?:merger|Fusion)\s+(?:with|mit))\s+(?:the\s+|dem\s+|der\s+|die\s+|a\s+|an\s+|"
    r"einem\s+|einer\s+)?(?P<obj>[A-Z][\w.&'-]*)"
    r"|\b(?:buy|buys|buying|bought|acquire|acquires|acquired|acquiring|purchase[sd]?|kauft|kaufte|gekauft|übernimmt|"
    r"übernahm|übernommen|erwirbt|erwarb)\s+(?:the\s+|a\s+)?(?:(?:\d+(?:\.\d+)?\s?%|majority|minority)\s+(?:stake\s+in\s+)?)?"
    r"(?P<obj2>[A-Z][\w.&'-]*)"
    # "bid $40bn for Arm Holdings", "offered about $30bn for the company", "ein Angebot von 5 Mrd. für X"
    r"|\b(?:bid|bids|offered|(?:an?\s+)?offer|Angebot|bot)\s+(?:(?:[$€£]\s?[\d.,]+\s?(?:bn|billion|million|m|Mrd\.?|"
    r"Milliarden|Mio\.?)?|about|around|roughly|some|rund|etwa|von)\s+)*(?:for|für)\s+(?:the\s+|a\s+|den\s+|die\s+|das\s+)?"
    r"(?P<obj3>[A-Z][\w.&'-]*)")
_NEUTRAL_OBJECT = re.compile(r"(?:U\.?S\.?|US|USA|American|Amerika\w*|Chinese|China|It|Its|Their|The)\b", re.I)


PAST_ROLE = re.compile(r"\b(?:[Ff]ormer|[Ee]x-|[Oo]netime|[Ee]hemalige[rn]?)\s*(?P<org>(?:[A-Z][\w&.-]*\s+){1,2})"
                       r"(?=(?:chief(?:\s+executive)?|CEO|boss|head|executive|founder|chairman|president|Chef|"
                       r"Vorstandschef|Gründer)\b)")


_PAST_ROLE_WORDS = ("ormer", "x-", "hemalig", "netime")  # a piece of every PAST_ROLE: most sentences hold none


def mask_past_roles(sentence: str) -> str:
    """The sentence with the organisation of a person's past role blanked ("former Activision chief Bobby
    Kotick"): naming someone by a past job is not a mention of that company's deals."""
    if not any(word in sentence for word in _PAST_ROLE_WORDS):
        return sentence
    return PAST_ROLE.sub(lambda m: m.group(0)[:m.start("org") - m.start()] + " " * len(m.group("org")), sentence)


def about_other_deal(sentence: str, profile) -> bool:
    """True when the sentence's buying is about something else than the target ("its acquisition of
    Activision", "TikTok agreed to buy a stake in Tokopedia") and never about the target itself."""
    return _about_other_deal(sentence, profile.target_rx, profile.not_target_rx, profile.seller_rx,
                             profile.reference_rx, profile.parties_rx)


@recent_sentences()
def _about_other_deal(sentence: str, target_rx, not_target_rx, seller_rx, reference_rx, parties_rx) -> bool:
    other = target = False
    for m in _DEAL_OBJECT.finditer(sentence):
        group = "obj" if m.group("obj") else "obj2" if m.group("obj2") else "obj3"
        obj = m.group(group)
        if not obj or _NEUTRAL_OBJECT.match(obj):
            target = target or bool(obj and _NEUTRAL_OBJECT.match(obj) and obj.upper().startswith("U"))
            continue
        # the object read where it stands, not just its first word: "buying Tik Tok's business" names the target
        here = sentence[m.start(group):m.start(group) + 40]
        if any(a == 0 for a, _b in _target_spans(here, target_rx, not_target_rx)) or (seller_rx and seller_rx.match(here)):
            target = True
            continue
        if reference_rx and reference_rx.match(sentence, m.start(group)):
            target = True
            continue
        if m.group("obj") and re.match(r"(?:merger|Fusion)", m.group(0), re.I) and parties_rx is not None \
                and parties_rx.match(obj):
            continue  # "a merger with Perplexity": a merger is the target's sale to that party, not another deal
        if obj[:1].isupper() and (not obj.isalpha() or obj != obj.capitalize() or _looks_like_name(obj, sentence)):
            other = True
    return other and not target


def _looks_like_name(word: str, sentence: str) -> bool:
    """A capitalised word that is a name, not a German common noun: it is not used lower-case elsewhere and
    it is not a frequent noun ending."""
    if re.search(r"(?:ung|heit|keit|schaft|tion|tät|nis|ment|chen|lein|ismus|er|en|e)$", word) and not word.isupper():
        return False
    return True


def list_holds(profile, key: str, text: str) -> bool:
    """Whether the vocabulary list `key` of any language matches in text (one search of the profile's merged list,
    not one per language)."""
    rx = profile.any_language(key)
    return rx is not None and rx.holds(text)


def vocab_matches(lists: Vocabulary, key: str, text: str) -> list[re.Match]:
    """Every match in text of the list `key` of a vocabulary (the profile's every_language: every language's lists)."""
    rx = lists.rx(key)
    return list(rx.all(text)) if rx is not None else []
