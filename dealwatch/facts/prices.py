"""Prices: deal values, offers and valuations of the target, as whole US dollars.

Reads "$20 billion", "$20bn", "US$ 20 billion", "20 bis 30 Milliarden Dollar", "14 Mrd. US-Dollar",
"$20 billion to $30 billion", "between $20 billion and $30 billion", "rund 60 Milliarden Dollar",
"fünf Milliarden Dollar" (number words), "USD 1.5 trillion"; German "Billion(en)" is 10^12, "Milliarde(n)"
10^9; German decimal commas ("12,5 Milliarden") are read. The value is "USD <low>-<high>" (low = high for a
single figure); detail holds low, high, currency and the expression.

Only US dollars are reported: amounts in euros (or other currencies) are skipped, because converting them
would need an exchange rate of the article's day, which the judgment does not have (no I/O); the deal is
priced in dollars by every outlet anyway.

An amount is a price only in a sentence with price vocabulary (offer, valued, worth, price, deal value,
Angebot, Wert, bewertet, beziffert ...) that names the target, an offer or the deal, and not next to an
excluded word (market value, fund, fine, aid package, funding round, revenue, per user, Börsenwert, Fonds,
Strafe ...), not in a sentence about another deal (Musical.ly, Activision ...) or a past purchase with a
year ("bought ... in 2017"), and not under 100 million dollars.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

from dealwatch.facts.text import (about_other_deal, article_sentences, list_holds, mention_strength,
                                  recent_sentences, vocab_matches)
from dealwatch.model import Article, Fact
from dealwatch.patterns import StartsAt, prefiltered, text_index
from dealwatch.profile import Profile

_NUM = (r"(?:\d{1,3}(?:[.,]\d{3})+|\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|"
        r"fifteen|twenty|thirty|forty|fifty|sixty|hundred|ein|eine|einer|zwei|drei|vier|fünf|sechs|sieben|acht|"
        r"neun|zehn|zwölf|fünfzehn|zwanzig|dreißig|vierzig|fünfzig|sechzig)")
_SCALE = (r"(?:trillion|tn|billion|bn|b|million|mn|m|mio\.?|millionen|million|mrd\.?|milliarden|milliarde|"
          r"billionen|billion)")
_CUR_BEFORE = r"(?:US\$|\$|USD\s?|U\.S\.\s?\$)"
_CUR_AFTER = r"(?:US-Dollar|US\s+dollars?|U\.S\.\s+dollars?|dollars?|Dollar|USD|US-\$|US\$|\$)"
_EURO = r"(?:€|EUR\b|euros?\b|Euro\b)"
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
         "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
         "hundred": 100, "ein": 1, "eine": 1, "einer": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
         "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "zwölf": 12, "fünfzehn": 15, "zwanzig": 20,
         "dreißig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60}

# "$20 billion to $30 billion", "$20-30 billion", "20 bis 30 Milliarden Dollar", "$20 billion"
RANGE_BEFORE = prefiltered(
    rf"{_CUR_BEFORE}\s?(?P<a>{_NUM})[\s-]?(?P<sa>{_SCALE})?\s*(?:to|-|–|and|or|bis)\s*(?:{_CUR_BEFORE})?\s?(?P<b>{_NUM})"
    rf"\s?(?P<sb>{_SCALE})(?![\w])", re.I)
SINGLE_BEFORE = prefiltered(rf"{_CUR_BEFORE}\s?(?P<a>{_NUM})[\s-]?(?P<sa>{_SCALE})(?![\w])", re.I)
# (the forms that begin with a number are tried only where one can begin: a run of digits or a number's word,
# where sre tried their look-behind at every character: patterns.StartsAt)
RANGE_AFTER = StartsAt(prefiltered(
    rf"(?<![\w.,])(?P<a>{_NUM})\s*(?P<sa>{_SCALE})?\s*(?:bis|to|-|–|und|and|oder)\s*(?P<b>{_NUM})\s*(?P<sb>{_SCALE})\s*"
    rf"(?P<cur>{_CUR_AFTER}|{_EURO})", re.I), WORDS, numbers=True)
SINGLE_AFTER = StartsAt(prefiltered(rf"(?<![\w.,])(?P<a>{_NUM})\s*(?P<sa>{_SCALE})\s*(?P<cur>{_CUR_AFTER}|{_EURO})", re.I),
                        WORDS, numbers=True)
BOUGHT_IN_YEAR = re.compile(r"\b(?:bought|acquired|purchased|paid|gekauft|übernommen|erworben|kaufte|übernahm)\b", re.I)
YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
MIN_USD = 100_000_000


def _number(text: str, german: bool) -> float | None:
    t = text.strip().lower()
    if t in WORDS:
        return float(WORDS[t])
    if german:
        # 12,5 -> 12.5 ; 1.500 -> 1500
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", t):
            t = t.replace(".", "")
        t = t.replace(",", ".")
    else:
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", t):
            t = t.replace(",", "")
    try:
        return float(t)
    except ValueError:
        return None


def _scale(word: str | None, german: bool) -> float:
    if not word:
        return 1.0
    w = word.lower().rstrip(".")
    if w in ("trillion", "tn", "billionen"):
        return 1e12
    if w == "billion":
        return 1e12 if german else 1e9
    if w in ("bn", "b", "milliarden", "milliarde", "mrd"):
        return 1e9
    if w in ("million", "mn", "m", "mio", "millionen"):
        return 1e6
    return 1.0


# every amount pattern needs one of these (case-folded): a sentence without any holds no amount
_CURRENCY_MARKS = ("$", "usd", "dollar", "€", "eur")


def _with_currency_marks(sentences: tuple[str, ...]) -> list[str]:
    """The sentences that hold a currency mark, in order: the marks found in one pass over the article's folded
    sentences joined (most sentences hold none, which five substring tests of each told, ~1/5 of the prices' time);
    a mark, without a line break, is in the joined text where it is in a sentence."""
    folded = [text_index(s).folded for s in sentences]
    joined = "\n".join(folded)
    places = []
    for mark in _CURRENCY_MARKS:
        at = joined.find(mark)
        while at >= 0:
            places.append(at)
            at = joined.find(mark, at + 1)
    if not places:
        return []
    ends = list(accumulate(len(f) + 1 for f in folded))  # (where each sentence's line ends, its break included)
    return [sentences[i] for i in sorted({bisect_right(ends, at) for at in places})]


def amounts(sentence: str, german: bool) -> list[tuple[int, int, float, float, str, str]]:
    """(start, end, low, high, currency, expression) of the money amounts in a sentence."""
    return list(_amounts(sentence, german))


@recent_sentences()  # every sentence of an article is read; a sentence recurs across articles
def _amounts(sentence: str, german: bool) -> tuple[tuple[int, int, float, float, str, str], ...]:
    out, taken = [], []
    # (the judgment has indexed every sentence before: its folded text is there, not folded again)
    if not any(map(text_index(sentence).folded.__contains__, _CURRENCY_MARKS)):
        return ()
    for rx, cur_before in ((RANGE_BEFORE, True), (RANGE_AFTER, False), (SINGLE_BEFORE, True), (SINGLE_AFTER, False)):
        for m in rx.finditer(sentence):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            g = m.groupdict()
            cur = "USD" if cur_before else ("EUR" if re.fullmatch(_EURO, g["cur"], re.I) else "USD")
            a = _number(g["a"], german)
            if a is None:
                continue
            sb = g.get("sb")
            sa = g.get("sa") or sb
            low = a * _scale(sa, german)
            high = low
            if g.get("b"):
                b = _number(g["b"], german)
                if b is None:
                    continue
                high = b * _scale(sb, german)
            if high < low:
                low, high = high, low
            taken.append((m.start(), m.end()))
            out.append((m.start(), m.end(), low, high, cur, m.group(0)))
    return tuple(out)


def _seller_valuation(sentence: str, profile: Profile) -> bool:
    if profile.seller_rx is None:
        return False
    for m in profile.seller_rx.finditer(sentence):
        after = sentence[m.end():m.end() + 80]
        before = sentence[max(0, m.start() - 40):m.start()]
        if re.match(r"(?:'s)?\s+(?:itself\s+|selbst\s+|own\s+)?(?:valuation|Bewertung)", after, re.I) or \
                re.match(r"\s+(?:itself\s+|selbst\s+)?(?:is|was|wird|wurde|has\s+been|had\s+been|would\s+be|ist)\s+"
                         r"(?:\S+\s+){0,6}?(?:valued|bewertet|worth|wert)\b", after, re.I) or \
                re.search(r"(?:valuing|valued|Bewertung\s+von|bewertet)\s*$", before, re.I):
            return True
    return False


def extract_prices(article: Article, profile: Profile) -> list[Fact]:
    """Deal values / offers / valuations of the target in whole US dollars."""
    german = (article.lang or "") == "de"
    lists = profile.every_language  # every language's lists at once (see bidders.rule_bidders)
    facts: list[Fact] = []
    for sentence in _with_currency_marks(article_sentences(article.title, article.text)):
        found = _amounts(sentence, german)
        if not found:
            continue
        if list_holds(profile, "other_deal", sentence) or about_other_deal(sentence, profile):
            continue
        if BOUGHT_IN_YEAR.search(sentence) and YEAR.search(sentence):
            continue
        if not list_holds(profile, "price", sentence):
            continue
        if _seller_valuation(sentence, profile):
            continue  # the seller's own valuation ("ByteDance is valued at $300 billion")
        about_target = mention_strength(sentence, profile) > 0 or re.search(
            r"\b(?:offers?|bids?|deals?|Angebot\w*|Gebot\w*|Deals?|Geschäfts?|Offerte\w*|proposals?|carve-out|valuation|"
            r"Bewertung\w*|Kaufpreis\w*|Preisschild|price\s+tag|purchase\s+price|bidders?|buyers?|Bieter\w*|Käufer\w*)\b",
            sentence, re.I)
        if not about_target:
            continue
        excluded = vocab_matches(lists, "price_exclude", sentence)
        for start, end, low, high, cur, expr in found:
            if cur != "USD" or high < MIN_USD:
                continue
            if any(abs(x.start() - start) < 60 or abs(x.end() - end) < 60 for x in excluded):
                near = [x for x in excluded if (x.end() <= start and len(sentence[x.end():start].split()) <= 6)
                        or (x.start() >= end and len(sentence[end:x.start()].split()) <= 4)]
                if near:
                    continue
            facts.append(Fact("price", f"USD {int(round(low))}-{int(round(high))}", sentence,
                              {"low": int(round(low)), "high": int(round(high)), "currency": "USD",
                               "expression": expr.strip()}))
    return facts
