"""Text helpers shared by the relevance classifier and the fact extractors: normalisation and sentences.

Pure functions, no I/O. Sentences are split with a regular expression that knows the abbreviations news
writers use in both languages ("Sept. 15", "U.S. business", "Corp.", "15. September", "z. B.") and the
glued sentences that some extractors produce ("...war.Denn ...").
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

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
_BOUNDARY = re.compile(r"""(?<=[.!?…])["”“»«']?\s+(?=["„“”»«'(]?[A-ZÄÖÜ0-9])|(?<=[a-zäöüß)]{2}[.!?])(?=[A-ZÄÖÜ][a-zäöü])""")
_LAST_TOKEN = re.compile(r"([\w.]+)[.!?]?[\"”“»«']?\s*$")


DATELINE = re.compile(r"^[A-ZÄÖÜ][A-ZÄÖÜ /.,'-]{2,}(?:,\s+\w+\.?\s+\d{1,2}(?:,\s+\d{4})?)?\s*(?:\([^)]*\))?\s*[-–—]+\s+")


def normalize(text: str) -> str:
    """Typographic quotes and dashes made plain, whitespace runs inside lines collapsed."""
    text = text.translate(_QUOTES)
    return re.sub(r"[ \t]+", " ", text)


def _ends_sentence(left: str) -> bool:
    m = _LAST_TOKEN.search(left[-40:])
    if not m:
        return True
    token = m.group(1).rstrip(".").casefold()
    if token in ABBREVIATIONS:
        return False
    if "." in token and len(token) <= 6 and re.fullmatch(r"(?:[a-z]\.)+[a-z]?", token + "."):
        return False  # U.S., U.K., z.B.
    if re.fullmatch(r"\d{1,2}", token):
        return False  # German ordinal day: "am 15. September"
    return True


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


@lru_cache(maxsize=64)
def split_sentences(text: str) -> tuple[str, ...]:
    """The sentences of a text (paragraph breaks always end one); the text is read up to MAX_TEXT_CHARS."""
    text = text[:MAX_TEXT_CHARS]
    out: list[str] = []
    for para in normalize(text).split("\n"):
        para = DATELINE.sub("", para.strip(), count=1)  # "WASHINGTON, April 4 (Reuters) - "
        if not para:
            continue
        start = 0
        for m in _BOUNDARY.finditer(para):
            left = para[start:m.start()]
            if not _ends_sentence(left):
                continue
            piece = para[start:m.start()].strip()
            if piece:
                out.extend(_cut_long(piece))
            start = m.end()
        rest = para[start:].strip()
        if rest:
            out.extend(_cut_long(rest))
    return tuple(out)


def article_sentences(title: str, text: str) -> tuple[str, ...]:
    """Title (as its own sentence, unless the text repeats it first) followed by the text's sentences."""
    sentences = split_sentences(text)
    title = normalize(title or "").strip()
    if title and (not sentences or sentences[0] != title):
        return (title,) + sentences
    return sentences


def target_spans(sentence: str, profile) -> list[tuple[int, int]]:
    """Spans of the target's names in a sentence, leaving out those inside not-target names."""
    blocked = [m.span() for m in profile.not_target_rx.finditer(sentence)] if profile.not_target_rx else []
    spans = []
    for m in profile.target_rx.finditer(sentence):
        if any(b0 <= m.start() < b1 for b0, b1 in blocked):
            continue
        spans.append(m.span())
    return spans


def mention_strength(sentence: str, profile) -> float:
    """1 when the sentence names the target (or the seller with the business), 0.5 for an anaphor, else 0."""
    if target_spans(sentence, profile):
        return 1.0
    has_ref = bool(profile.reference_rx and profile.reference_rx.search(sentence))
    has_seller = bool(profile.seller_rx and profile.seller_rx.search(sentence))
    if has_seller and has_ref:
        return 1.0
    return 0.5 if has_ref or has_seller else 0.0


_DEAL_OBJECT = re.compile(
    r"\b(?:(?:acquisition|purchase|takeover|buyout|stake|shares|Übernahme|Kauf|Erwerb|Beteiligung|Anteile?)\s+"
    r"(?:of|von|des|der|in|an|at)|(?:merger|Fusion)\s+(?:with|mit))\s+(?:the\s+|dem\s+|der\s+|die\s+|a\s+|an\s+|"
    r"einem\s+|einer\s+)?(?P<obj>[A-Z][\w.&'-]*)"
    r"|\b(?:buy|buys|buying|bought|acquire|acquires|acquired|acquiring|purchase[sd]?|kauft|kaufte|gekauft|übernimmt|"
    r"übernahm|übernommen|erwirbt|erwarb)\s+(?:the\s+|a\s+)?(?:(?:\d+(?:\.\d+)?\s?%|majority|minority)\s+(?:stake\s+in\s+)?)?"
    r"(?P<obj2>[A-Z][\w.&'-]*)")
_NEUTRAL_OBJECT = re.compile(r"(?:U\.?S\.?|US|USA|American|Amerika\w*|Chinese|China|It|Its|Their|The)\b", re.I)


PAST_ROLE = re.compile(r"\b(?:[Ff]ormer|[Ee]x-|[Oo]netime|[Ee]hemalige[rn]?)\s*(?P<org>(?:[A-Z][\w&.-]*\s+){1,2})"
                       r"(?=(?:chief(?:\s+executive)?|CEO|boss|head|executive|founder|chairman|president|Chef|"
                       r"Vorstandschef|Gründer)\b)")


def mask_past_roles(sentence: str) -> str:
    """The sentence with the organisation of a person's past role blanked ("former Activision chief Bobby
    Kotick"): naming someone by a past job is not a mention of that company's deals."""
    if not re.search(r"ormer|x-|hemalig|netime", sentence):
        return sentence
    return PAST_ROLE.sub(lambda m: m.group(0)[:m.start("org") - m.start()] + " " * len(m.group("org")), sentence)


def about_other_deal(sentence: str, profile) -> bool:
    """True when the sentence's buying is about something else than the target ("its acquisition of
    Activision", "TikTok agreed to buy a stake in Tokopedia") and never about the target itself."""
    other = target = False
    for m in _DEAL_OBJECT.finditer(sentence):
        obj = m.group("obj") or m.group("obj2")
        if not obj or _NEUTRAL_OBJECT.match(obj):
            target = target or bool(obj and _NEUTRAL_OBJECT.match(obj) and obj.upper().startswith("U"))
            continue
        if target_spans(obj, profile) or (profile.seller_rx and profile.seller_rx.match(obj)):
            target = True
            continue
        if profile.reference_rx and profile.reference_rx.match(sentence, m.start("obj") if m.group("obj") else m.start("obj2")):
            target = True
            continue
        if m.group("obj") and re.match(r"(?:merger|Fusion)", m.group(0), re.I) and profile.parties_rx is not None \
                and profile.parties_rx.match(obj):
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


def vocab_matches(vocabs: list[Vocabulary], key: str, text: str) -> list[re.Match]:
    """Every match in text of the vocabulary list `key`, over the given languages' vocabularies."""
    out = []
    for v in vocabs:
        rx = v.rx(key)
        if rx is not None:
            out.extend(rx.finditer(text))
    return out
