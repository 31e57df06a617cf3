"""Deadlines: dates by which the target must be sold, a ban takes effect, talks must end, or an extension ends.

Every date is resolved against `article.published` (years missing in the text: the nearest plausible year,
a date in the past counting three times its distance, so "19. Januar" written in April is January of the
same year while "bis 19. Januar" written in April 2024 is January 2025; "next year" forces the next one).

Forms read (EN and DE):
  absolute      Sept. 15 | September 15, 2020 | 15 September | 15. September 2020 | 15.09.2020 | 2020-09-15
  vague         mid-September | early April | late/end of June | Mitte/Anfang/Ende September | early next month
                (-> 15th / 5th / 25th, tolerance_days 5)
  weekdays      Tuesday | am Samstag | next Friday | am heutigen Sonntag: only when a deadline word is next to it
                ("by Tuesday", "Tuesday's deadline", "endet am Samstag", "die am Donnerstag ausgelaufen wäre");
                resolved backwards after past tense ("took effect on Sunday"), forwards after future words
                ("is due to expire on Wednesday"), otherwise to the nearest such day
  durations     within 90 days | 45 days from now | binnen 90 Tagen | for another 75 days | um 15 Tage verlängert
                | a 75-day reprieve granted on Jan. 20 | 270 Tage Zeit: counted from the event date in the sentence
                ("an Aug. 14 order", "signed on Monday", "Frist vom 12. November"), else from the last signing
                reported earlier in the article, else (only with "from now"/"ab heute") from publication;
                without any anchor a duration is not a date and is skipped (tolerance_days 1)

A date is a deadline only in a sentence with deadline vocabulary (deadline, by, until, ban, takes effect,
Frist, bis, endet, Verbot ...), and not when it is an event ("the Aug. 14 order", "signed on April 24",
"Verfügung vom 6. August"), a dateline ("WASHINGTON, April 4 (Reuters) -"), or next to an excluded word
(inauguration, takes office, Amtseinführung, election, earnings, hearing ...), nor a date someone only asks
for ("beantragt eine Aussetzung bis Mitte Dezember", "asked for a pause until ..."). A date counts only in a
sentence about the deal (naming the target, the seller or an anaphor, with sale/ban/timing vocabulary, or right
after such a sentence): a roundup's other items ("New duties take effect on Wednesday") are skipped. A computed
date within two days of a date the article states outright gives way to it.

Also read: "by the end of this/next week", "bis Ende kommender Woche" (that week's Friday, tolerance 2),
"am morgigen Samstag", durations counted from an event named after a noun ("binnen 75 Tagen nach Inkrafttreten
am 19. Januar"), timeline entries ("April 24, 2024: Biden signs the law" is an event).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import itemgetter

from dealwatch.facts.text import (SentenceMemo, article_sentences, list_holds, mention_strength, recent_sentences,
                                  vocab_matches)
from dealwatch.learned import LogisticModel
from dealwatch.model import Article, Fact
from dealwatch.patterns import HEADS, Listed, StartsAt, fold_case, prefiltered, text_index
from dealwatch.profile import Profile, Vocabulary

MONTHS = {}
for _n, _names in enumerate([
        "january jan januar jänner", "february feb februar", "march mar märz maerz", "april apr",
        "may mai", "june jun juni", "july jul juli", "august aug", "september sep sept",
        "october oct oktober okt", "november nov", "december dec dezember dez"], 1):
    for _name in _names.split():
        MONTHS[_name] = _n
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_M2 = _MONTH.replace("?P<month>", "?P<month2>")
WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
            "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5, "sonntag": 6,
            "sonnabend": 5}
_WD = r"(?P<wd>" + "|".join(WEEKDAYS) + r")"
# the words a WEEKDAY match holds, whole (no word character after them but the plural's s): "Monday's", "Mondays"
_WEEKDAY_WORDS = frozenset(w for name in WEEKDAYS for w in (fold_case(name), fold_case(name) + "s"))
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "ten": 10, "twelve": 12, "fifteen": 15, "thirty": 30, "forty-five": 45, "ninety": 90,
                "ein": 1, "eine": 1, "einer": 1, "einen": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
                "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "zwölf": 12, "fünfzehn": 15, "dreißig": 30,
                "neunzig": 90, "a": 1, "an": 1, "another": 1, "weitere": 1}
UNITS = {"day": 1, "days": 1, "tag": 1, "tage": 1, "tagen": 1, "tägige": 1, "tägigen": 1, "week": 7, "weeks": 7,
         "woche": 7, "wochen": 7, "month": 30, "months": 30, "monat": 30, "monate": 30, "monaten": 30}

_DAY = r"(?P<day>\d{1,2})"
_YEAR = r"(?P<year>\d{4})"
# The forms that begin with a digit (or "may") say what may not stand before it after their first character (or
# word), not before it: "(?<![\d.])\d{1,2}" is written "\d(?<![\d.]\d)\d?" (the first digit is the look-behind's second
# character). The same matches, but sre, which tries a pattern beginning with a look-behind at every character of
# the sentence, then skips to the characters that can begin one (~2.5 times faster a search, measured;
# tests/test_deadlines.py compares both writings). The month-first form keeps its look-behind (asserted inside its
# every month's name, sre would try them all at each character): it is tried only where a month's name begins.
_DAY_FIRST = r"(?P<day>\d(?<![\d.]\d)\d?)"   # (?<![\d.])(?P<day>\d{1,2})
ABSOLUTE = [prefiltered(p, re.I) for p in (
    rf"(?P<year>\d(?<!\d\d)\d{{3}})-(?P<mnum>\d{{1,2}})-{_DAY}(?!\d)",   # (?<!\d)(?P<year>\d{4})-...
    rf"{_DAY_FIRST}\.\s?(?P<mnum>\d{{1,2}})\.\s?(?P<year>\d{{4}}|\d{{2}})?(?![\d])",
    rf"{_DAY_FIRST}(?:st|nd|rd|th|\.)?\s+(?:of\s+)?{_MONTH}(?![a-zäöü])(?:,?\s+{_YEAR}(?!\d))?",
    rf"(?<![\w]){_MONTH}(?<![a-zäöü]may)\s+{_DAY}(?:st|nd|rd|th)?(?![\d:])(?:,?\s+{_YEAR}(?!\d))?",  # (see below)
    rf"may(?<!\wmay)\s+{_DAY}(?:st|nd|rd|th)?(?![\d:])(?:,?\s+{_YEAR}(?!\d))?",   # (?<![\w])may\s+...
    rf"(?P<mnum>\d(?<![\d/]\d)\d?)/{_DAY}/(?P<year>\d{{4}})(?![\d/])",   # (?<![\d/])(?P<mnum>\d{1,2})/...
)]
ABSOLUTE[3] = StartsAt(ABSOLUTE[3], {name[:3] for name in MONTHS})
VAGUE = prefiltered(
    rf"(?<![\w])(?P<pos>mid|early|late|the\s+end\s+of|end\s+of|the\s+middle\s+of|the\s+beginning\s+of|"
    rf"the\s+start\s+of|Mitte|Anfang|Ende|Beginn|Ausgang)[-\s]+(?:des\s+Monats\s+)?"
    rf"(?:{_MONTH}|(?P<next>next\s+month|nächsten\s+Monats|kommenden\s+Monats))(?:\s+{_YEAR})?(?![\w])", re.I)
_WEEKDAY_PRE = ("next", "this", "coming", "kommenden", "nächsten", "diesen", "heutigen", "morgigen", "gestrigen",
                "vergangenen", "last", "letzten")
WEEKDAY = StartsAt(prefiltered(rf"(?<![\w])(?P<pre>(?:{'|'.join(_WEEKDAY_PRE)})\s+)?{_WD}(?:'s|s)?(?![\w])", re.I),
                    (*_WEEKDAY_PRE, *WEEKDAYS))

TODAY = Listed(r"(?<![\w])", "today|heute", r"(?![\w])")
DURATION = prefiltered(
    r"(?<![\w.])(?P<num>\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|thirty|forty-five|"
    r"ninety|ein|eine|einer|einen|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|zwölf|fünfzehn|dreißig|neunzig|"
    r"a|an|another|weitere)\s*(?:more\s+|further\s+|additional\s+|weitere\s+|weiteren\s+)?[-\s]?"
    r"(?P<unit>days?|tage[n]?|tägigen?|weeks?|wochen?|months?|monate[n]?|monat)(?![\w])", re.I)
_WORD_RUN = re.compile(r"\w+")


class _AtTheEnd:
    """A regex every match of which runs to the end of the text (`...\\s*$`: what stands right before a date),
    searched only from where such a match can begin. sre tries a pattern at every character of the text: these cost
    5-25 us a search of a 30-60 character window (measured), and several are asked of every date and weekday. A match
    spans at most `runs` runs of non-blanks (words=True: of word characters; the bound is read off the pattern, its
    literal words and quantifiers), so it begins in one of the text's last `runs` runs: searched from there, the same
    match (tests/test_deadlines.py compares both on many windows). `needs`: a cheap test that every text with a match
    passes, for the patterns that seldom match (a window failing it is not searched)."""

    def __init__(self, rx: re.Pattern, runs: int, words: bool = False, needs=None):
        self.rx, self.pattern, self.runs, self.words, self.needs = rx, rx.pattern, runs, words, needs

    def search(self, text: str) -> re.Match | None:
        if self.needs is not None and not self.needs(text):
            return None
        return self.rx.search(text, self.start(text))

    def holds(self, text: str) -> bool:
        """Whether the text has a match (where only that is asked): searched first from its last run, where most
        matches of the patterns asked so begin, then as search() does."""
        return self.rx.search(text, self.start(text, 1)) is not None or self.search(text) is not None

    def start(self, text: str, runs: int = 0) -> int:
        """Where the last `runs` (default: the pattern's) runs of the text begin (0 if it has fewer)."""
        runs = runs or self.runs
        if self.words:
            starts = [m.start() for m in _WORD_RUN.finditer(text)]
            return starts[-runs] if len(starts) >= runs else 0
        parts = text.rsplit(None, runs)  # (str.split's blanks are re's \s)
        return text.index(parts[1], len(parts[0])) if len(parts) > runs else 0


DURATION_BEFORE = _AtTheEnd(re.compile(
    r"(?:within|binnen|innerhalb(?:\s+von)?|for(?:\s+another|\s+a\s+further)?|für(?:\s+weitere)?|um(?:\s+weitere)?|"
    r"in|by|nach\s+Ablauf\s+von|giv(?:e|es|ing|en)\s+(?:\w+\s+){0,2}|gave\s+(?:\w+\s+){0,2}|grant(?:ed|ing|s)?\s+(?:\w+\s+){0,3}|"
    r"gewährt\w*\s+(?:\w+\s+){0,2}|a|an|another|the|die|eine|einen|"
    r"hat|hatte|have|has|had|extra|additional|further|weitere|weiteren)\s*$", re.I), runs=4)
DURATION_AFTER = re.compile(
    r"^\s*(?:from\s+now|ab\s+heute|lang|Zeit|to\s+(?:divest|sell|comply|shut|find|close|reach|strike|complete)|(?:[\w-]+\s+)?(?:extension|reprieve|pause|"
    r"period|Aufschub|Frist\w*|Schonfrist|grace|window|Aussetzung|clock)|more\b|mehr\b|after|nach|nicht\s+"
    r"(?:durchzusetzen|anzuwenden)|not\s+to\s+enforce|aus(?:setzt|gesetzt)?\b|verlängert|verschoben)", re.I)
CONDITIONAL = re.compile(r"\b(?:could|can|may|might|allows?|erlaubt|kann|könnte|up\s+to|bis\s+zu|requested|asked|"
                         r"beantragt|optional|would\s+need|possible|möglich|einmalig\w*|only\s+one)\b", re.I)
DATELINE = re.compile(r"^[A-ZÄÖÜ][A-ZÄÖÜ /.,'-]+,\s+\w+\.?\s+\d{1,2}\s+\([^)]*\)\s*[-–—]")
ANCHOR_AFTER = re.compile(r"^\s*(?:,\s*)?(?:executive\s+)?(?:order|orders|Anordnung|Dekret|Verfügung|decree|law|Gesetz|"
                          r"election|Wahl|letter)\b", re.I)
# a date that names the event it is the day of: "the March 5 bill", "a June 12 hearing" (not "Sunday night")
EVENT_NOUN_RIGHT_AFTER = re.compile(r"(?:'s)?\s+(?:bill|act|measure|legislation|vote|hearing|meeting|briefing|memo|"
                                    r"statement|letter|filing|ruling|interview|summit|call|speech|episode|report|"
                                    r"attacks?|protests?|rall(?:y|ies)|debate|announcement|"
                                    r"Sitzung|Anhörung|Treffen|Gespräch\w*|Abstimmung|Urteil|Brief)\b", re.I)
ANCHOR_BEFORE_VOM = _AtTheEnd(re.compile(r"(?:\bvom|\bseit|\bsince)\s*(?:dem\s+)?$", re.I), runs=2)
FRIST_VOM = _AtTheEnd(re.compile(r"(?:Frist|deadline)\w*\s+vom\s*$", re.I), runs=2)
EVENT_VERBS = Listed(
    r"\b", r"signed|signs|granted|grants|issued|announced|said|approved|ordered|declared|unveiled|heard|filed|"
    r"submitted|agreed|unterzeichnet\w*|unterschrieb\w*|unterschrieben|gewährt\w*|erlassen|verkündet|angekündigt|"
    r"erklärt|sagte|gebilligt|verabschiedet|eingereicht", r"\b")
SIGN_VERBS = Listed(r"\b", r"signed|signs|granted|grants|issued|ordered|directed|unterzeichnet\w*|unterschrieb\w*|"
                     r"unterschrieben|gewährt\w*|erlassen|verlängert\w*|extended", r"\b")
MARKET_OR_EVENT = re.compile(r"\b(?:rose|fell|climbed|dropped|gained|slipped|traded|closed|opened|jumped|said|told|"
                             r"announced|stiegen|fielen|legte|sagte|erklärte|teilte)\b", re.I)
STRONG_BEFORE = _AtTheEnd(re.compile(
    r"(?:\bby|\buntil|\btill|\bbis(?:\s+zum|\s+zur)?|spätestens(?:\s+am|\s+bis)?|no\s+later\s+than|"
    r"deadline\s+(?:is|of|was|on)|endet\s+(?:nun\s+|damit\s+)?am|\bto|\bauf\s+den|ab\s+dem|\bfrom)\s*$", re.I), runs=3)
# the words WD_ADJACENT's alternatives end on (folded), each at the end of a run of non-blanks, then blanks, "am"
_ADJACENT_ENDINGS = ("by", "until", "bis", "before", "vor", "spätestens", "than", "effective", "of", "starting",
                     "beginning")


def _may_end_adjacent(text: str) -> bool:
    """What a match of WD_ADJACENT needs (it matches in ~2 % of the windows): the text ends in a blank, and its last
    run of non-blanks (or the one before, after "am") ends with one of the alternatives' last words."""
    if not text[-1:].isspace():
        return False
    runs = text.rsplit(None, 2)[-2:]
    if not runs:
        return False
    ends = (runs[-1], runs[0]) if fold_case(runs[-1]) == "am" else (runs[-1],)
    return any(fold_case(run).endswith(_ADJACENT_ENDINGS) for run in ends)


WD_ADJACENT = _AtTheEnd(re.compile(r"(?:\bby|\buntil|\bbis|\bbefore|\bvor|spätestens|no\s+later\s+than|effective|as\s+of|"
                                   r"starting|beginning)\s+(?:am\s+)?$", re.I), runs=4, needs=_may_end_adjacent)
WD_NEAR = re.compile(r"deadline|Frist\w*|\w+frist|endet|ends|expire\w*|due|abläuft|ablaufen|abgelaufen|ausgelaufen|"
                     r"auslaufen|läuft|take[sn]?\s+effect|took\s+effect|in\s+Kraft|approach\w*|ban|Verbot\w*|"
                     r"shut\w*|dichtgemacht|cutoff", re.I)
PAST_MARKERS = re.compile(r"\b(?:took|was|were|had|went|signed|granted|said|hatte|war|waren|trat|getreten|"
                          r"unterzeichnet\w*|gewährt\w*|erklärt\w*|vergangenen|last|letzten)\b", re.I)
FUTURE_MARKERS = re.compile(r"\b(?:will|is\s+due|are\s+due|due\s+to|expires|ends|runs|lasts|remains|approaches|would|wird|werden|soll|"
                            r"endet|läuft|kommenden|next|coming|nächsten|bis)\b", re.I)
# A past tense, as two readings below use it: not a participle after an auxiliary ("was banned", "is expected"),
# not a word of a plan ("scheduled", "set"), not a capitalised word ("United"): a regular past or an irregular one.
_NOT_AFTER_AUXILIARY = r"(?<!\bis\s)(?<!\bare\s)(?<!\bbe\s)(?<!\bbeen\s)(?<!\bwas\s)(?<!\bwere\s)(?<!\bhas\s)(?<!\bhave\s)"
_NOT_A_PLAN = r"(?!(?:scheduled|expected|slated|planned|proposed|supposed|needed|required|intended|set)\b)"
_IRREGULAR_PAST = "told|gave|made|met|held|began|came|wrote|spoke|sent|struck|sought|won|lost|became|went|saw"
# a verb that narrates what happened ("On June 29th India banned ...", "ON AUGUST 6TH, when the White House told ...")
NARRATED_PAST = _NOT_AFTER_AUXILIARY + _NOT_A_PLAN + r"(?:(?-i:[a-z]{3,}ed)|" + _IRREGULAR_PAST + ")"
# a past tense just before the weekday: "announced on Thursday", "said Friday", "began notifying ... on Saturday"
# (not "is expected Monday", "was scheduled for Friday"); also the verbs of reporting and German ones
PAST_VERB_BEFORE = _AtTheEnd(re.compile(
    _NOT_AFTER_AUXILIARY + r"\b" + _NOT_A_PLAN + r"(?:(?-i:[a-z]{3,}ed)|" + _IRREGULAR_PAST
    + r"|said|took|left|rose|fell|sagte|erklärte|kündigte|teilte|gab|traf)(?:\s+\w+){0,2}?\s+(?:on|am|late|early|last)?\s*$",
    re.I), runs=4)
MEETING_BEFORE = _AtTheEnd(re.compile(
    r"(?:\b(?:hold|holds|held|holding|meet|meets|met|speak|speaks|spoke|visit\w*|testif\w+|"
    r"treffen|trifft|trafen)\b(?:\s+\S+){0,4}?|\b(?:talks|meeting|summit|call|Gespräch\w*|"
    r"Treffen|Gipfel)\b(?:\s+\S+){0,3}?)\s+(?:on|am|this|next|on\s+next)?\s*$", re.I), runs=7)
HYPOTHETICAL = re.compile(r"\b(?:would|could|might|würde|würden|könnte|könnten)\b", re.I)
_NARRATED_AFTER = re.compile(r"\W*(?:afternoon|morning|evening|night)?,?\s+(?:\S+\s+){0,3}?" + NARRATED_PAST + r"\b", re.I)
IRREALIS = re.compile(r"\b(?:wäre|would\s+have)\b", re.I)
KINDS = [
    ("extension", Listed("", r"extend\w*|extension|reprieve|pause|grace|Verlänger\w*|verlänger\w*|Schonfrist|"
                          r"Aufschub|Aussetzung|aussetz\w*|ausgesetzt|nicht\s+durchzusetzen|not\s+to\s+enforce|"
                          r"enforcement", "")),
    ("talks", Listed("", r"talks|negotiations|Gespräche|Verhandlungen|conclude|wrap\s+up|abschließen", "")),
    # ("\bban\w*" took "the investment bank" for a ban)
    ("ban", Listed("", r"\bban(?:s|ned|ning|n)?\b|prohibit\w*|Verbot\w*|shut\w*|close\s+down|dichtgemacht|"
                    r"take(?:s|n)?\s+effect|took\s+effect|in\s+Kraft|kicks?\s+in|transactions|Transaktionen|"
                    r"app\s+stores?|App-Stores", "")),
    ("sale", Listed("", r"sell|sale|sold|divest\w*|Verkauf\w*|verkaufen|veräußer\w*|trennen", "")),
]
REPLACE_CUES = prefiltered(r"from\b.{0,40}\bto\b|moves?\s+the\s+deadline|previous|original|bisherige\w*|"
                          r"ursprünglich\w*|statt|nun|now|new\s+deadline|neue\s+Frist|verschob\w*|verschoben", re.I)


# a unit's word, which every match of DURATION_FROM holds (and one in a hundred windows it reads)
_UNIT_WORDS = ("day", "tag", "week", "woche", "month", "monat")
DURATION_FROM = _AtTheEnd(re.compile(r"(?:days?|Tage[n]?|weeks?|Wochen|months?|Monate[n]?)\s+(?:after|from|of|following|since|"
                                     r"nach(?:\s+dem)?|ab(?:\s+dem)?|seit(?:\s+dem)?|vom)\s*$"
                                     # "binnen 75 Tagen nach Inkrafttreten am 19. Januar", "90 days after the law took effect on"
                                     r"|(?:days?|Tage[n]?|weeks?|Wochen|months?|Monate[n]?)\s+(?:after|following|nach|ab|seit)"
                                     r"(?:\s+(?:dem|der|des|the|its|it)\b)?(?:\s+[\w-]+){1,3}?\s+(?:am|on|vom|of)\s*$", re.I), runs=7,
                          needs=lambda text: any(map(fold_case(text).__contains__, _UNIT_WORDS)))
EXTEND_BY = re.compile(r"\b(?:by|um)\s+(?:another\s+|weitere\s+)?$", re.I)
EXTEND_VERB = re.compile(r"\b(?:extend\w*|verlänger\w*|push(?:es|ed|ing)?\s+back|delay\w*|verschieb\w*|verschob\w*)", re.I)
TOPIC_DEADLINE = Listed(r"\b", r"deadline|cut-?off|reprieve|extension|extended|pause|grace\s+period|expir\w+|order|law|"
                         r"ban\w*|Frist\w*|\w+frist|Aufschub|Verlängerung|verlängert|Schonfrist|Anordnung|Dekret|"
                         r"Verfügung|Gesetz\w*|Verbot\w*", r"\b")
WEEK_END = prefiltered(r"(?<![\w])(?:by|until|before|bis)\s+(?:the\s+)?(?:end\s+of\s+(?P<en>next|this|the\s+coming)\s+week|"
                      r"Ende\s+(?:der\s+)?(?P<de>kommende[nr]?|nächste[nr]?|diese[nr]?)\s+Woche)(?![\w])", re.I)
MONTH_END = prefiltered(r"(?<![\w])(?:(?:by|until|before|bis)\s+)(?:the\s+)?(?:end\s+of\s+(?:the|this)\s+month|Monatsende|"
                       r"Ende\s+(?:des|dieses)\s+Monats)(?![\w])", re.I)
# the words WEEK_END and MONTH_END end on, as whole words (a blank before, no word character after): a sentence
# without one is not searched (their needles, "week" and "month" as substrings, are in every "weeks" and "months")
_WEEK_END_WORDS = frozenset({"week", "woche"})
_MONTH_END_WORDS = frozenset({"month", "monatsende", "monats"})
SPECIFIC_DEADLINE = prefiltered(
    r"\bban\w*|prohibit\w*|take[sn]?\s+effect|kicks?\s+in|divest\w*|\bsell\b|\bsold\b|deadline|extension|reprieve|"
    r"expire\w*|shut\w*|Verbot\w*|verbiete\w*|in\s+Kraft|veräußer\w*|verkaufen|Verkauf\w*|Frist\w*|Verlängerung|"
    r"Schonfrist|abl(?:au|äu)f\w*|trennen|untersag\w*", re.I)
# The sentences read for dates: those with a digit or one of these words ("end" only at a word end).
_DIGIT = re.compile(r"\d")
_DATE_WORDS = tuple(fold_case(w) for w in (*WEEKDAYS, "mid", "early", "late", "start", "Mitte", "Anfang", "Ende",
                                           "Beginn", "heute", "today", "Monatsende", "days", "Tage", "weeks", "Wochen",
                                           "months", "Monate"))
_END = re.compile(r"end\b", re.I)
# Whether a sentence holds one of the date words, or of the units below, as a substring: a substring of word
# characters is inside a word of the sentence, which its index has looked up once for every such needle (a
# prefiltered regex's infixes): one lookup, where a sentence was searched for each of the words (~1/3 of the gates'
# time); tests/test_deadlines.py compares both.
_DATE_WORD_INSIDE = prefiltered("|".join(_DATE_WORDS), re.I)


def may_hold_date(sentence: str) -> bool:
    """Whether the sentence is read for dates: it holds a digit or one of the date words."""
    if _DIGIT.search(sentence):
        return True
    # a case-insensitive match of these words (ASCII letters) is their case-folded substring
    return _DATE_WORD_INSIDE.possible(sentence) or ("end" in text_index(sentence).folded and bool(_END.search(sentence)))


# What every date form above needs (ABSOLUTE, VAGUE, WEEKDAY, TODAY, DURATION, WEEK_END, MONTH_END): a digit before
# "-", "." or "/", a word beginning with a month, a weekday or today/heute, or a unit of time. Other sentences can
# give no date, no signing day and no duration: the extractor skips them.
_DATE_MARK = re.compile(r"\d[-./]")
# a word beginning with a month: one of these 3-letter heads of the folded text's words (the words of its index: every
# run of \w), as the regex (?<!\w)(?:jan|jän|...) would find it in the folded text, without a regex pass (~1% of
# the judgment's instructions, measured)
_MONTH_HEADS = frozenset("jan jän feb mar mär mae apr may mai jun jul aug sep oct okt nov dec dez".split())
_MONTH_HEAD = itemgetter(slice(3))
_DAY_HEADS = frozenset(fold_case(w)[:HEADS[-1]] for w in (*WEEKDAYS, "today", "heute"))
assert all(len(head) == HEADS[-1] for head in _DAY_HEADS)
_HEAD = itemgetter(slice(HEADS[-1]))
_UNITS = ("day", "tag", "tägig", "week", "woche", "month", "monat")
_UNIT_INSIDE = prefiltered("|".join(_UNITS), re.I)  # (see _DATE_WORD_INSIDE)
# The month and day heads as the needles of one pattern: most sentences hold none, which the table of the needles
# their index holds tells at one lookup; the words are then read one by one only in the others (the gate cost ~12 %
# of the deadlines' time word by word in every sentence)
_MONTH_OR_DAY_WORD = prefiltered(r"(?<![\w])(?:" + "|".join(sorted(_MONTH_HEADS | _DAY_HEADS)) + ")", re.I)
_MONTH_WORD = prefiltered(r"(?<![\w])(?:" + "|".join(sorted(_MONTH_HEADS)) + ")", re.I)  # (the same, months alone)


def may_give_date(sentence: str) -> bool:
    """False when no date form can match in the sentence."""
    if _DATE_MARK.search(sentence):
        return True
    index = text_index(sentence)
    if _UNIT_INSIDE.possible(sentence):
        return True
    if not _MONTH_OR_DAY_WORD.possible(sentence):
        return False  # (no word begins with a month or a day)
    # (the words' 4-letter heads: every day head has 4 letters; cheaper than all the heads of the index)
    return (not _DAY_HEADS.isdisjoint(map(_HEAD, index.words()))
            or not _MONTH_HEADS.isdisjoint(map(_MONTH_HEAD, index.words())))


@dataclass
class Candidate:
    day: date
    expression: str
    tolerance: int
    how: str               # "explicit" | "vague" | "weekday" | "computed"
    sentence: str
    kind: str = "deadline"
    extra: dict = field(default_factory=dict)
    flags: set = field(default_factory=set)   # why the rules would not take it (see _read_dates)
    span: tuple[int, int] | None = None       # where the sentence writes it
    index: int = -1                           # the sentence's position in the article (0: the headline, if any)


def resolve_year(month: int, day: int, published: date, next_year: bool = False) -> date | None:
    """The year of a day-month written without one: nearest plausible to the publication date."""
    options = []
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if next_year and year != published.year + 1:
            continue
        cost = (d - published).days if d >= published else 3 * (published - d).days
        options.append((cost, d))
    return min(options)[1] if options else None


def weekday_date(weekday: int, published: date, direction: str) -> date:
    """The date of a weekday around publication: 'past' (<= today), 'future' (>= today) or 'nearest'."""
    ahead = (weekday - published.weekday()) % 7
    back = (published.weekday() - weekday) % 7
    if direction == "future":
        return published + timedelta(days=ahead)
    if direction == "past":
        return published - timedelta(days=back)
    return published + timedelta(days=ahead) if ahead <= back else published - timedelta(days=back)


_WORD_TOKEN = re.compile(r"[\w'.-]+")


def _words(text: str) -> list[str]:
    return _WORD_TOKEN.findall(text)


REQUESTED = re.compile(r"\b(?:beantragt\w*|requested|requests|request(?:ing)?|asked\s+for|asks\s+for|asking\s+for|"
                       r"seeks?|seeking|sought|fordert\w*|forderte\w*)\b", re.I)
# what REQUESTED's words begin with: a sentence that holds none of them (case-folded) has none in any clause, which
# its index tells more cheaply than the regex over the clause of every date
_REQUEST_STEMS = ("beantragt", "request", "ask", "seek", "sought", "fordert")
_REQUEST_STEM_INSIDE = prefiltered("|".join(_REQUEST_STEMS), re.I)  # (one lookup: see _DATE_WORD_INSIDE)


# (the patterns of the readings around each date found, compiled once: a date is read by several)
_CLAUSE_BREAK = re.compile(r"[,;:]\s|\s[-–—]\s")
_THE_DAY_AFTER = re.compile(r"\s*(?:,|–|-)\s*(?:the\s+day|einen\s+Tag)")
_SIGNED_JUST_BEFORE = _AtTheEnd(re.compile(r"\b(?:signed|granted|issued|dated|announced|unterzeichnet|erlassen|datiert)\s*$",
                                           re.I), runs=1)
_ON_JUST_BEFORE = _AtTheEnd(re.compile(r"\b(?:on|am|an)\s*$", re.I), runs=1)
# the start of a sentence or clause, or "On", right before a date: "On Jan. 20, Trump signed ..."
_CLAUSE_START_JUST_BEFORE = _AtTheEnd(re.compile(r"(?:^|[.;:]\s*|\b(?:On|Am|An|ON|AM)\s*)$"), runs=1)


def _excluded(sentence: str, start: int, end: int, lists: Vocabulary) -> bool:
    if _REQUEST_STEM_INSIDE.possible(sentence) and REQUESTED.search(
            _CLAUSE_BREAK.split(sentence[max(0, start - 80):start])[-1]):
        return True  # a date someone asks for ("beantragt eine Aussetzung bis Mitte Dezember") is not set
    before = sentence[max(0, start - 40):start]
    after = sentence[end:end + 30]
    strong = STRONG_BEFORE.search(before[-25:])
    if strong:
        # "by Jan. 19" stays a deadline, unless the excluded word is right before ("takes office on") or right
        # before the strong word ("doesn't take office until Monday")
        head = before[:len(before) - len(before[-25:]) + strong.start()]
        if any(not _words(head[m.end():]) for m in vocab_matches(lists, "date_exclude", head)):
            return True
        before = before[-12:]
    for m in vocab_matches(lists, "date_exclude", before):
        if len(_words(before[m.end():])) <= 3:
            return True
    for m in vocab_matches(lists, "date_exclude", after):
        if len(_words(after[:m.start()])) <= 2 and not _THE_DAY_AFTER.match(after):
            return True
    return False


@recent_sentences()  # (a reading of the sentence alone: see _written_dates)
def _is_anchor(sentence: str, start: int, end: int) -> bool:
    """A date that names an event (an order's date, a signing) rather than a deadline."""
    before = sentence[max(0, start - 50):start]
    if ANCHOR_AFTER.match(sentence[end:]) or EVENT_NOUN_RIGHT_AFTER.match(sentence[end:end + 30]):
        return True
    if DURATION_FROM.search(before):  # "75 days from January 20", "90 Tage nach dem 14. August"
        return True
    if _SIGNED_JUST_BEFORE.search(before):
        return True  # "an order signed Aug. 14"
    if ANCHOR_BEFORE_VOM.search(before) and not FRIST_VOM.search(before):
        return True
    if _ON_JUST_BEFORE.search(before):
        near = " ".join(_words(before)[-7:-1])
        verbs = list(EVENT_VERBS.finditer(near))
        if verbs and not STRONG_BEFORE.search(before):
            between = near[verbs[-1].end():]
            if not re.search(r"close\w*|shut\w*|effect|expire\w*|ends?\b|ban\w*|dark|deadline|Frist|endet|"
                             r"Verbot|divest\w*|sell|verkauf\w*", between, re.I):
                return True
    after = sentence[end:end + 40]
    if re.match(r"\s*(?:night|evening|morning|abend|morgen)?\s*(?:,\s*)?(?:signed|granted|issued|unterzeichnet)", after, re.I):
        return True
    # "On Jan. 20, Trump signed ...", "Am 20. Januar hatte er das Gesetz ... ausgesetzt"
    if _CLAUSE_START_JUST_BEFORE.search(before) and re.match(r"\s*[,:]?\s*(?:\S+\s+){0,14}?"
                                                                       r"(?:signed|signs|granted|grants|issued|issues|"
                                                                       r"ordered|orders|announced|announces|"
                                                                       + NARRATED_PAST + r"|"
                                                                       r"(?:hatte|hat|wurde|haben)\s+(?:\S+\s+){0,8}?"
                                                                       r"(?:unterzeichnet|ausgesetzt|verlängert|gewährt|"
                                                                       r"erlassen|angekündigt|beschlossen|verkündet))\b",
                                                                       sentence[end:end + 120], re.I):
        if not re.search(r"endet|ends|expire|abläuft|ablaufen|took\s+effect|in\s+Kraft|deadline|Frist",
                         sentence[end:end + 50], re.I):
            return True
    return False


@recent_sentences(256)  # asked once per date found in a sentence, and only then
def _kind(sentence: str) -> str:
    for name, rx in KINDS:
        if rx.search(sentence):
            return name
    return "deadline"


# A sentence is read once (the dates it writes, its weekdays and durations: regular expressions over the sentence),
# then resolved against each article's publication date: a sentence recurs across articles (wire copy, an updated
# story) with another publication date. The readings are kept for the recent sentences.

# What the ABSOLUTE forms need besides a digit, tested once a sentence: each form begins with a look-behind, so that
# sre tries it at every character of the sentence, and most sentences with a digit write no date (the six forms were
# ~1/8 of the deadlines' time). The forms in digits alone (2020-09-15, 15.09.2020, 9/15/2020) need a digit, "-", "."
# or "/" and a digit; the others a month's name as a word, or at the head of a word where no letter follows it.
_NUMERIC_DATE = re.compile(r"\d[-./]\s?\d")
_IN_DIGITS_ALONE = (True, True, False, False, False, True)  # for each form of ABSOLUTE
assert len(_IN_DIGITS_ALONE) == len(ABSOLUTE)
_MONTH_NAMES_BY_HEAD: dict[str, tuple[str, ...]] = {}
for _name in MONTHS:
    _MONTH_NAMES_BY_HEAD[_name[:3]] = (*_MONTH_NAMES_BY_HEAD.get(_name[:3], ()), _name)
_FORM_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzäöü")  # the letters no month's name in a form may run on into


def _names_a_month(sentence: str) -> bool:
    """Whether a word of the sentence is a month's name, or begins with one that no letter follows ("Sept", "Mar5";
    not "market", "decision", "main"): what the ABSOLUTE forms with a month's name need."""
    if not _MONTH_WORD.possible(sentence):
        return False
    for word in text_index(sentence).words():
        for name in _MONTH_NAMES_BY_HEAD.get(word[:3], ()):
            if word.startswith(name) and word[len(name):len(name) + 1] not in _FORM_LETTERS:
                return True
    return False


@recent_sentences()
def _written_dates(sentence: str) -> tuple[tuple[int, int, int, int, int | None, bool, str], ...]:
    """(start, end, month, day, year or None, next_year, expression) of every date the sentence writes out, in the
    order the ABSOLUTE forms read them; next_year: "next year" follows a date without a year."""
    out = []
    if not _DIGIT.search(sentence):
        return ()  # every form has a day number
    in_digits, named = bool(_NUMERIC_DATE.search(sentence)), _names_a_month(sentence)
    for rx, in_digits_alone in zip(ABSOLUTE, _IN_DIGITS_ALONE):
        if not (in_digits if in_digits_alone else named):
            continue  # (the form cannot match)
        for m in rx.finditer(sentence):
            gd = m.groupdict()
            month = int(gd["mnum"]) if gd.get("mnum") else MONTHS.get((gd.get("month") or "may").lower().rstrip("."), 5)
            day = int(gd["day"])
            if not (1 <= month <= 12 and 1 <= day <= 31):
                continue
            year = gd.get("year")
            if gd.get("mnum") and not year and not re.search(r"(?:am|zum|bis|vom|den|dem)\s*$",
                                                                sentence[max(0, m.start() - 8):m.start()], re.I):
                continue  # "1.500", "3.4" without a year and context: not a date
            if year:
                y = int(year)
                out.append((m.start(), m.end(), month, day, y + 2000 if y < 100 else y, False, m.group(0)))
            else:
                next_year = bool(re.match(r"\s*(?:next\s+year|nächsten\s+Jahres|kommenden\s+Jahres)",
                                          sentence[m.end():], re.I))
                out.append((m.start(), m.end(), month, day, None, next_year, m.group(0)))
    return tuple(out)


def _absolute_dates(sentence: str, published: date) -> list[tuple[int, int, date, str]]:
    out, taken = [], []
    for start, end, month, day, year, next_year, expression in _written_dates(sentence):
        if any(a <= start < b or start <= a < end for a, b in taken):
            continue  # a date read by an earlier form
        if year is not None:
            try:
                d = date(year, month, day)
            except ValueError:
                continue
        else:
            d = resolve_year(month, day, published, next_year)
            if d is not None and (d - published).days > 30 and not next_year and _told_in_past(sentence, start):
                # "The law was supposed to take effect on 19 January", written in June: the January gone by, not
                # the next one (a past-tense clause does not speak of a date months ahead)
                try:
                    d = date(d.year - 1, month, day)
                except ValueError:
                    pass
        if d is None:
            continue
        taken.append((start, end))
        out.append((start, end, d, expression))
    return out


_CLAUSE_START = re.compile(r"[,;:]\s|\s[-–—]\s|\b(?:but|and|aber|und)\s")


def _told_in_past(sentence: str, start: int) -> bool:
    """The clause before a date is in the past tense and speaks of no future."""
    clause = _CLAUSE_START.split(sentence[max(0, start - 70):start])[-1]
    return bool(PAST_MARKERS.search(clause)) and not FUTURE_MARKERS.search(clause)


def _vague_dates(sentence: str, published: date) -> list[tuple[int, int, date, str]]:
    out = []
    for start, end, day, month, year, expression in _written_vague_dates(sentence):
        if month is None:  # "early next month"
            first = (published.replace(day=1) + timedelta(days=32)).replace(day=1)
            d = date(first.year, first.month, day)
        elif year is not None:
            d = date(year, month, day)
        else:
            d = resolve_year(month, day, published)
        if d is not None:
            out.append((start, end, d, expression))
    return out


# the words a VAGUE date ends on, as whole words (no word character after them, "mid-September", "Ende Sept."): a
# month's name, or the month of "next month", "nächsten Monats"
_VAGUE_WORDS = frozenset(MONTHS) | {"month", "monats"}


@recent_sentences()  # (a reading of the sentence alone: see _written_dates)
def _written_vague_dates(sentence: str) -> tuple[tuple[int, int, int, int | None, int | None, str], ...]:
    """(start, end, day, month or None for "next month", year or None, expression) of the vague dates."""
    out = []
    if _VAGUE_WORDS.isdisjoint(text_index(sentence).words()):
        return ()  # (VAGUE's needles, "mid", "late", "end" ..., are in many sentences: its month words in few)
    for m in VAGUE.finditer(sentence):
        pos = m.group("pos").lower()
        day = 15 if ("mid" in pos or "mitte" in pos or "middle" in pos) else (
            5 if pos in ("early", "anfang", "beginn") or "beginning" in pos or "start" in pos else 25)
        if "end" in pos or pos in ("ende", "ausgang"):
            day = 28
        if m.group("next"):
            out.append((m.start(), m.end(), day, None, None, m.group(0)))
        else:
            month = MONTHS[m.group("month").lower().rstrip(".")]
            year = int(m.group("year")) if m.group("year") else None
            out.append((m.start(), m.end(), day, month, year, m.group(0)))
    return tuple(out)


_CLAUSE_MARK = re.compile(r"[,;:]\s")
_SET_TO = re.compile(r"\b(?:set|due|scheduled|slated|poised|expected)\s+to\b", re.I)


def _weekday_direction(sentence: str, start: int, end: int) -> str:
    clause = sentence[max(0, start - 80):min(len(sentence), end + 60)]
    if IRREALIS.search(clause):
        return "nearest"
    left = sentence[max(0, start - 50):start]
    right = sentence[end:end + 40]
    # the weekday's own clause: "Trump hatte am Montag gesagt, die Frist ende am Dienstag"
    left = _CLAUSE_MARK.split(left)[-1]
    right = _CLAUSE_MARK.split(right)[0]
    local = left + " " + right
    if _SET_TO.search(local):
        return "future"  # "which was set to expire Saturday": a future seen from the past, not yet passed
    if PAST_VERB_BEFORE.search(left) and not FUTURE_MARKERS.search(left):
        return "past"  # the clause tells what happened that day, whatever the sentence goes on to report
    past, future = PAST_MARKERS.search(local), FUTURE_MARKERS.search(local)
    if past and not future:
        return "past"
    if future and not past:
        return "future"
    return "nearest"


def _weekday_dates(sentence: str, published: date, absolute_spans) -> list[tuple[int, int, date, str, bool]]:
    """(start, end, date, expression, is_deadline) of weekdays; anchors (signing days) have is_deadline False."""
    out = []
    for start, end, expression, wd, when, is_deadline in _written_weekdays(sentence, tuple(absolute_spans)):
        if when == "today":
            d = published
        elif when == "tomorrow":
            d = published + timedelta(days=1)
        elif when == "yesterday":
            d = published - timedelta(days=1)
        elif when == "next":
            d = weekday_date(wd, published + timedelta(days=1), "future")
        elif when == "last":
            d = weekday_date(wd, published - timedelta(days=1), "past")
        else:
            d = weekday_date(wd, published, when)  # "past", "future" or "nearest"
        out.append((start, end, d, expression, is_deadline))
    return out


# What _written_weekdays reads around a weekday (compiled once: each is asked of every weekday a sentence names)
_DATE_RIGHT_AFTER = re.compile(r",?\s*(?:dem|den|the)?\s*\d")
_DEADLINE_RIGHT_AFTER = re.compile(r"(?:'s)?\s+deadline", re.I)
_DEADLINE_JUST_BEFORE = re.compile(r"\b(?:deadline|Frist)\b", re.I)
_ORDER_RIGHT_AFTER = re.compile(r"(?:'s)?\s+(?:executive\s+)?(?:order|decree|Anordnung|Dekret|Verfügung)\b", re.I)
_STATEMENT_AFTER = re.compile(r"\s*(?:\S+\s+)?(?:gesagt|erklärt|angekündigt|mitgeteilt|berichtet|said|told|announced|"
                              r"reported)\b", re.I)
_ENDS_BEFORE = re.compile(r"endet|ends|expire|abläuft|ablaufen|took\s+effect|in\s+Kraft", re.I)
_ENDS_AROUND = re.compile(r"endet|ends|expire|abläuft|ablaufen|abgelaufen|ausgelaufen|took\s+effect|in\s+Kraft", re.I)


@recent_sentences()
def _written_weekdays(sentence: str, absolute_spans: tuple) -> tuple[tuple[int, int, str, int, str, bool], ...]:
    """(start, end, expression, weekday, when, is_deadline) of the weekdays in a sentence, outside the dates it
    writes out (absolute_spans); when: how the day follows from the publication date."""
    out = []
    if _WEEKDAY_WORDS.isdisjoint(text_index(sentence).words()):
        return ()  # (one set operation, where WEEKDAY's needles are 17 substrings searched one by one)
    for m in WEEKDAY.matches(sentence):
        start, end = m.span()
        if any(a - end <= 8 and a >= end for a, _b in absolute_spans) or _DATE_RIGHT_AFTER.match(sentence[end:end + 22]):
            continue  # "Sunday, Jan. 19": the date itself is read
        pre = (m.group("pre") or "").strip().lower()
        wd = WEEKDAYS.get(m.group("wd").lower())
        if wd is None:   # matched only through re's case folding ("FRİDAY", "frıday"): not a weekday we read
            continue
        if _ORDER_RIGHT_AFTER.match(sentence, end):
            out.append((start, end, m.group(0), wd, "past", False))  # the day an order was signed
            continue
        before = sentence[max(0, start - 30):start]
        adjacent = bool(WD_ADJACENT.search(before))  # "by Tuesday", "bis Montag", "effective Sunday"
        if pre == "heutigen":
            when = "today"
        elif pre == "morgigen":  # "am morgigen Samstag": tomorrow
            when = "tomorrow"
        elif pre == "gestrigen":
            when = "yesterday"
        elif pre in ("next", "coming", "kommenden", "nächsten"):
            when = "next"
        elif pre in ("vergangenen", "last", "letzten"):
            when = "last"
        else:
            when = _weekday_direction(sentence, start, end)
            if adjacent and not IRREALIS.search(sentence):
                # "as of Sunday, ..." looks ahead, unless the clause then tells what happened ("As of Saturday
                # afternoon, TikTok began notifying users")
                when = "past" if _NARRATED_AFTER.match(sentence, end) else "future"
        deadline_after = bool(_DEADLINE_RIGHT_AFTER.match(sentence, end))
        window_after = " ".join(_words(sentence[end:end + 60])[:5])
        window_before = " ".join(_words(before)[-5:])
        is_deadline = adjacent or deadline_after or bool(WD_NEAR.search(window_before) or WD_NEAR.search(window_after))
        # what takes a deadline day back is asked only of one (each is a regex pass)
        if _DEADLINE_JUST_BEFORE.search(before[-12:]):
            is_deadline = True
        elif is_deadline and (
                # "due to hold talks on Thursday": the day of a meeting, not a deadline
                (not adjacent and MEETING_BEFORE.search(_CLAUSE_MARK.split(sentence[max(0, start - 70):start])[-1]))
                # "hatte am Montag gesagt": the day of a statement
                or _STATEMENT_AFTER.match(sentence, end)
                or (not adjacent and MARKET_OR_EVENT.search(window_before) and not _ENDS_BEFORE.search(window_before))):
            is_deadline = False
        if (is_deadline and not adjacent and not deadline_after
                and SIGN_VERBS.search(sentence[max(0, start - 60):end + 80])
                and not _ENDS_AROUND.search(sentence[max(0, start - 40):end + 40])):
            is_deadline = False  # the day of a signing
        out.append((start, end, m.group(0), wd, when, is_deadline))
    return tuple(out)


# "two days ago", "90 Tage zuvor": not from now; "over the last 30 days", "seit 90 Tagen": a span gone by
_BEFORE_OR_AFTER_THEN = re.compile(r"\s*(?:ago|zuvor|vorher|earlier|before|later|später)\b", re.I)
_SPAN_GONE_BY = _AtTheEnd(re.compile(r"\b(?:over\s+the\s+(?:next|last|past)|in\s+the\s+(?:last|past)|seit|nach\s+nur)\s*$",
                                     re.I), runs=3)


@recent_sentences()  # (a reading of the sentence alone: see _written_dates)
def _durations(sentence: str) -> tuple[tuple[int, int, int, str], ...]:
    out = []
    for m in DURATION.finditer(sentence):
        num = m.group("num").lower()
        n = int(num) if num.isdigit() else NUMBER_WORDS.get(num)
        if not n:
            continue
        if num in ("another", "weitere", "a", "an") and m.group("unit").lower().startswith(("day", "tag")):
            continue  # "another day": no number
        days = n * UNITS.get(m.group("unit").lower(), 1)
        before = sentence[max(0, m.start() - 40):m.start()]
        if not (DURATION_BEFORE.holds(before) or DURATION_AFTER.match(sentence[m.end():m.end() + 40])):
            continue
        if CONDITIONAL.search(sentence[max(0, m.start() - 80):m.start()]):
            continue
        if _BEFORE_OR_AFTER_THEN.match(sentence, m.end()):
            continue
        if _SPAN_GONE_BY.search(sentence[max(0, m.start() - 25):m.start()]):
            continue
        out.append((m.start(), m.end(), days, m.group(0)))
    return tuple(out)


def _other_deal(sentence: str, profile: Profile) -> bool:
    """Whether the sentence names another deal (the profile's other_deal list): its dates are flagged."""
    return list_holds(profile, "other_deal", sentence)


def _on_topic(sentence: str, profile: Profile) -> bool:
    return mention_strength(sentence, profile) > 0 or bool(TOPIC_DEADLINE.search(sentence)) or any(
        list_holds(profile, key, sentence) for key in ("sale_strong", "sale", "sale_weak"))


def _has_deadline_words(sentence: str, profile: Profile) -> bool:
    return list_holds(profile, "deadline", sentence)


# The answers of _other_deal, _on_topic and _has_deadline_words for the recent sentences: every sentence of an article
# is asked, and a sentence recurs across articles (wire copy, an updated story). The key holds the sentence, the
# vocabularies and the profile's patterns that mention_strength reads.
_OTHER_DEAL = SentenceMemo()
_ON_TOPIC = SentenceMemo()
_DEADLINE_WORDS = SentenceMemo()


def _memo(memo: SentenceMemo, sentence: str, profile: Profile, lists: Vocabulary, question) -> bool:
    key = (sentence, lists, profile.target_rx, profile.not_target_rx, profile.reference_rx, profile.seller_rx)
    return memo.read(key, lambda: question(sentence, profile))


# the date of the text itself, not of the story: "Update, April 24th:", "Updated on 3 May", "Aktualisiert am 5. Mai"
_EDITORIAL_STAMP = re.compile(r"^\W*(?:update[ds]?|last\s+updated|correction|editor'?s\s+note|aktualisiert|"
                              r"aktualisierung|stand|korrektur)\W*(?:on|am|vom|at)?\s*$", re.I)


def _read_dates(article: Article, profile: Profile) -> list[Candidate]:
    """Every date the article gives in a sentence that may hold one, each with the reasons the rules hold against it
    as a deadline (Candidate.flags: off_topic, other_deal, no_deadline_words, excluded, event, not_tight,
    not_deadline_day, near_stated): a candidate without flags is a deadline by the rules alone."""
    published = article.published
    if published is None:
        return []
    lists = profile.every_language  # every language's lists at once (see bidders.rule_bidders)
    candidates: list[Candidate] = []
    last_signing: date | None = None
    sentences = [DATELINE.sub("", s, count=1) if DATELINE.match(s) else s
                 for s in article_sentences(article.title, article.text)]

    # a date is the deal's only in a sentence about it: naming the target (or the seller, an anaphor), with
    # sale/ban vocabulary, or right after such a sentence ("It must be sold by ..."); a roundup's other items
    # ("New duties take effect on Wednesday", "The jobs report is due Friday") are not. A sentence about
    # another deal is neither. Asked only of the sentences that may hold a date, and of the sentence before.
    def on_topic(sentence: str) -> bool:
        return _memo(_ON_TOPIC, sentence, profile, lists, _on_topic)

    for i, sentence in enumerate(sentences):
        if not (may_give_date(sentence) and may_hold_date(sentence)):
            continue
        absolute = _absolute_dates(sentence, published)
        vague = _vague_dates(sentence, published)
        spans = [(a, b) for a, b, _, _ in absolute]
        weekdays = _weekday_dates(sentence, published, spans)
        words = text_index(sentence).words()
        week_ends = list(WEEK_END.finditer(sentence)) if not _WEEK_END_WORDS.isdisjoint(words) else []
        month_ends = list(MONTH_END.finditer(sentence)) if not _MONTH_END_WORDS.isdisjoint(words) else []
        signed_today = bool(TODAY.search(sentence) and SIGN_VERBS.search(sentence))
        # deadline words count for a written date and for a duration: not asked of a sentence that can have neither
        has_deadline_words = bool(absolute or DURATION.possible(sentence)) and _memo(
            _DEADLINE_WORDS, sentence, profile, lists, _has_deadline_words)
        # durations count from this sentence's event date, else the last signing reported before
        durations = _durations(sentence) if (has_deadline_words or SIGN_VERBS.search(sentence)) else []
        if not (absolute or vague or weekdays or week_ends or month_ends or signed_today or durations):
            continue  # (nearly half the sentences the gates let through give nothing: their topic is not asked)
        sentence_flags = set()
        if _memo(_OTHER_DEAL, sentence, profile, lists, _other_deal):
            sentence_flags.add("other_deal")
        if not on_topic(sentence) and not (i > 0 and not _memo(_OTHER_DEAL, sentences[i - 1], profile, lists, _other_deal)
                                           and on_topic(sentences[i - 1])):
            sentence_flags.add("off_topic")
        anchors: list[date] = []
        found_here: list[Candidate] = []
        for start, end, d, expr in absolute:
            flags = set()
            if _is_anchor(sentence, start, end):
                anchors.append(d)
                flags.add("event")
            if not has_deadline_words:
                flags.add("no_deadline_words")
            if _excluded(sentence, start, end, lists) or _EDITORIAL_STAMP.search(sentence[:start]):
                flags.add("excluded")
            found_here.append(Candidate(d, expr, 0, "explicit", sentence, _kind(sentence), flags=flags,
                                        span=(start, end)))
        for start, end, d, expr in vague:
            if any(a <= start < b for a, b in spans):
                continue
            before = sentence[max(0, start - 25):start]
            after = sentence[end:end + 40]
            tight = (re.search(r"(?:\bby|\buntil|\bbis(?:\s+zum)?|\bab|\bfrom|spätestens|no\s+later\s+than|before|"
                               r"\bvor|expires?|expiring|ends?|endet|läuft|runs\s+out|due)(?:\s+(?:in|im|on|am|at))?\s*$",
                               before, re.I)
                     or re.match(r"\s*(?:\w+\s+){0,2}?(?:aus|ab|greifen|greift|enden|endet|expires?|ends?|in\s+Kraft)\b",
                                 after, re.I)
                     or re.search(r"(?:deadline|Frist\w*)\s+(?:\w+\s+){0,3}$", before, re.I))
            flags = set()
            if not tight:
                flags.add("not_tight")
            if _excluded(sentence, start, end, lists):
                flags.add("excluded")
            found_here.append(Candidate(d, expr, 5, "vague", sentence, _kind(sentence), flags=flags,
                                        span=(start, end)))
        for m_week in week_ends:
            which = (m_week.group("en") or m_week.group("de") or "").lower()
            friday = published + timedelta(days=(4 - published.weekday()) % 7)
            if not which.startswith(("this", "dies")):
                friday += timedelta(days=7)  # the end of next week: the Friday after this one
            found_here.append(Candidate(friday, m_week.group(0), 2, "vague", sentence, _kind(sentence)))
        for m_end in month_ends:
            nxt = (published.replace(day=1) + timedelta(days=32)).replace(day=1)
            found_here.append(Candidate(nxt - timedelta(days=1), m_end.group(0), 5, "vague", sentence, _kind(sentence)))
        for start, end, d, expr, is_deadline in weekdays:
            flags = set()
            if not is_deadline:
                if SIGN_VERBS.search(sentence) or EVENT_VERBS.search(sentence) or _ORDER_RIGHT_AFTER.match(sentence, end):
                    anchors.append(d)
                    flags.add("event")
                flags.add("not_deadline_day")
            if _excluded(sentence, start, end, lists):
                flags.add("excluded")
            found_here.append(Candidate(d, expr, 0, "weekday", sentence, _kind(sentence), flags=flags,
                                        span=(start, end)))
        if signed_today:
            anchors.append(published)
        stated_before = sorted([(a, d) for a, _b, d, _e in absolute if not _is_anchor(sentence, a, _b)]
                               + [(a, d) for a, _b, d, _e, is_dl in weekdays if is_dl])
        for start, end, days, expr in durations:
            frist_vom = re.search(r"(?:Frist\w*|deadline)\s+(?:vom|of)\s+", sentence, re.I)
            if anchors:
                base = anchors[0]
            elif frist_vom and absolute:
                base = absolute[0][2]
            elif EXTEND_BY.search(sentence[max(0, start - 12):start]) and EXTEND_VERB.search(sentence) and [
                    x for x in stated_before if x[0] < start]:
                # "extending the deadline, which was set to expire Saturday, by 75 days": from the old deadline
                base = [x for x in stated_before if x[0] < start][-1][1]
            elif re.search(r"from\s+now|ab\s+heute|von\s+heute\s+an", sentence, re.I) or (re.search(
                    r"\b(?:in|within|binnen|innerhalb(?:\s+von)?)\s*$", sentence[max(0, start - 20):start], re.I)
                    and last_signing is None and SPECIFIC_DEADLINE.search(sentence)
                    and not HYPOTHETICAL.search(sentence[max(0, start - 60):start])):
                # (a bill's "would have to sell within 180 days" counts from a signing nobody has dated yet)
                base = published
            elif last_signing is not None and re.search(
                    r"\b(?:the|this|that|das|dieses|die|diese)\s+(?:executive\s+)?(?:order|Dekret|Anordnung|decree|Verfügung)\b",
                    sentence, re.I):
                base = last_signing
            else:
                continue
            extra = {"from": base.isoformat(), "days": days}
            found_here.append(Candidate(base + timedelta(days=days), expr, 1, "computed", sentence,
                                        "extension" if _kind(sentence) == "deadline" else _kind(sentence), extra,
                                        span=(start, end)))
        if anchors and SIGN_VERBS.search(sentence):
            last_signing = anchors[0]
        # an extension that moves one date to another
        deadline_days = sorted({c.day for c in found_here if c.how in ("explicit", "weekday", "vague") and not c.flags})
        if len(deadline_days) >= 2 and REPLACE_CUES.search(sentence):
            newest = deadline_days[-1]
            for c in found_here:
                if c.day == newest and not c.flags:
                    c.extra["replaces"] = deadline_days[0].isoformat()
                    c.kind = "extension"
        for c in found_here:
            c.flags |= sentence_flags
            c.index = i
        candidates.extend(found_here)

    stated = [c.day for c in candidates if c.how in ("explicit", "weekday") and not c.flags]
    for c in candidates:
        if c.how == "computed" and any(abs((c.day - s).days) <= 2 and c.day != s for s in stated):
            c.flags.add("near_stated")
    return candidates


def _fact(c: Candidate, extra: dict | None = None) -> Fact:
    """A candidate as a deadline Fact: its ISO date, its sentence, its kind, tolerance and expression."""
    expression = c.expression.strip(" ,") if not re.search(r"\b(?:Sept?|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Oct|Nov|Dec)\.$",
                                                            c.expression) else c.expression.strip()
    detail = {"kind": c.kind, "tolerance_days": c.tolerance, "expression": expression.rstrip(".") if
              re.search(r"\d{4}\.$|[a-zäöü]{4,}\.$", expression) else expression, "how": c.how}
    detail.update(c.extra)
    detail.update(extra or {})
    return Fact("deadline", c.day.isoformat(), c.sentence, detail)


def extract_deadlines(article: Article, profile: Profile) -> list[Fact]:
    """Deadlines of the sale, the ban, the talks or an extension, as ISO dates with their expression: by the
    profile's deadline model when it has one (deadline_candidates), else by the rules alone."""
    model = profile.models.deadline
    if model is None:
        return [_fact(c) for c in _read_dates(article, profile) if not c.flags]
    facts = []
    for day, occurrences, best, features in _days_stated(article, profile):
        read: dict[str, float] = {}
        if not _context_may_lift(model, features, occurrences, profile, read):
            continue  # (the model rejects it whatever its context says)
        features.update(_context_features(occurrences, profile, read))
        p = model.probability(features)
        if p >= model.threshold:
            facts.append(_fact(best, {"p": round(p, 2)}))
    return facts


@dataclass
class DateCandidate:
    """One date an article gives, with every sentence that gives it, read as features for the deadline model."""

    day: date
    best: Candidate                 # the occurrence that makes the best evidence
    features: dict[str, float]


_HOW = ("explicit", "weekday", "vague", "computed")
_FLAGS = ("off_topic", "no_deadline_words", "excluded", "event", "not_tight", "not_deadline_day", "near_stated",
          "other_deal")
# a date told as the day something happened: "introduced March 5", "said in a briefing March 6", "began on Saturday"
_EVENT_WORDS_BEFORE = (r"introduced|said|says|told|announced|signed|voted|passed|filed|reported|updated|"
                       r"published|met|meet|meets|held|hold|holds|began|begun|started|launched|testif\w+|wrote|posted|sent|received|"
                       r"contacted|unveiled|approved|ruled|heard|Update|sagte|erklärte|unterzeichnet\w*|"
                       r"verabschiedet\w*|beschlossen|berichtete\w*").split("|")
# its words, and the beginnings of those written with \w (a match's word is one of the window's last six runs of word
# characters, whole: it matches in ~2 % of the windows)
_EVENT_WORDS = frozenset(fold_case(w) for w in _EVENT_WORDS_BEFORE if "\\" not in w)
_EVENT_STEMS = tuple(fold_case(w.split("\\")[0]) for w in _EVENT_WORDS_BEFORE if "\\" in w)


def _may_name_an_event(text: str) -> bool:
    return any(word in _EVENT_WORDS or word.startswith(_EVENT_STEMS)
               for word in map(fold_case, _WORD_RUN.findall(text)[-6:]))


_EVENT_BEFORE = _AtTheEnd(re.compile(rf"\b(?:{'|'.join(_EVENT_WORDS_BEFORE)})\b(?:\W+\w+){{0,5}}\W*$", re.I), runs=6,
                          words=True, needs=_may_name_an_event)
_BY_BEFORE = _AtTheEnd(re.compile(r"(?:\bby|\buntil|\btill|\bbis(?:\s+zum|\s+zur)?|spätestens|no\s+later\s+than|\bbefore|"
                                  r"deadline\s+(?:is|of|was|on)|expires?\s+(?:on\s+)?|ends?\s+(?:on\s+)?|endet\s+am|"
                                  r"effective|takes?\s+effect\s+(?:on\s+)?|starting|beginning|as\s+of|ab)\s*(?:this\s+|next\s+|on\s+|am\s+)?"
                                  r"(?:\w+day,?\s+)?$", re.I), runs=5)
# a date that names an event by the noun after it: "the March 5 bill", "a June 12 hearing", "Monday's meeting"
_EVENT_NOUN_AFTER = re.compile(r"^(?:'s)?\s*(?:\w+\s+){0,1}(?:bill|act|measure|legislation|vote|hearing|meeting|briefing|memo|"
                               r"statement|letter|filing|ruling|post|update|report|interview|summit|call|talks|speech|"
                               r"episode|afternoon|morning|evening|night|Sitzung|Anhörung|Treffen|Gespräch\w*|Abstimmung|"
                               r"Urteil|Brief)\b", re.I)
_DEADLINE_NOUN = Listed(r"\b", r"deadline|Frist\w*|\w+frist|cut-?off|reprieve|extension|grace\s+period|"
                         r"Aufschub|Schonfrist|Stichtag", r"\b")  # (searched in whole sentences, indexed already)
_TENSE_PAST = re.compile(r"\b(?:was|were|had|took|went|did|signed|introduced|announced|said|war|waren|hatte|trat)\b",
                         re.I)


_YEAR_DIGITS = re.compile(r"\d{4}")
# the names of the features read for each way of writing, each flag, each kind (made once, not for every date)
_WRITTEN_FEATURES = tuple((how, f"written_{how}") for how in _HOW)
_ALWAYS_FEATURES = tuple((flag, f"always_{flag}") for flag in _FLAGS)
_KIND_FEATURES = tuple((kind, f"kind_{kind}") for kind in ("ban", "sale", "extension", "talks"))


# Which way each feature's evidence points (+1: for a deadline, -1: against; absent: the data decides). The
# training script keeps every learned weight on its feature's side (scripts/train_judgment.py, fit).
FEATURE_DIRECTIONS: dict[str, int] = {
    "rules_say_deadline": +1, "occurrences_log": +1, "after_by_or_until": +1, "deadline_noun_in_sentence": +1,
    "names_target": +1, "kind_sale": +1, "kind_ban": +1, "kind_extension": +1,
    "event_word_before": -1, "event_noun_after": -1, **{f"always_{flag}": -1 for flag in _FLAGS},
}


def deadline_candidates(article: Article, profile: Profile) -> list[DateCandidate]:
    """Every date the article gives, one per day, with the features of its occurrences: what the rules found
    against it (flags), how it was written, where it stands (headline, beside 'by'/'until', the tense), how far it
    lies from publication."""
    out = []
    for day, occurrences, best, features in _days_stated(article, profile):
        features.update(_context_features(occurrences, profile))
        out.append(DateCandidate(day, best, features))
    return out


def _days_stated(article: Article, profile: Profile) -> list[tuple[date, list[Candidate], Candidate, dict[str, float]]]:
    """(day, its occurrences, the best of them, the features the rules' readings give) of every date the article
    gives: the features that need no further reading of the sentences (see _context_features for the others)."""
    published = article.published
    readings = _read_dates(article, profile)
    if not readings or published is None:
        return []
    by_day: dict[date, list[Candidate]] = {}
    for c in readings:
        by_day.setdefault(c.day, []).append(c)
    has_title = bool((article.title or "").strip())
    out = []
    for day, occurrences in by_day.items():
        best = min(occurrences, key=lambda c: (len(c.flags), _HOW.index(c.how), len(c.sentence)))
        delta = (day - published).days
        f: dict[str, float] = {
            "rules_say_deadline": float(any(not c.flags for c in occurrences)),
            "occurrences_log": math.log(len(occurrences)),
            "in_headline": float(has_title and any(c.index == 0 for c in occurrences)),
            "days_ahead": max(-2.0, min(2.0, delta / 365)),
            "in_future": float(delta >= -1),
            "long_past": float(delta < -45),
            "year_written": float(any(_YEAR_DIGITS.search(c.expression) for c in occurrences)),
        }
        for how, name in _WRITTEN_FEATURES:
            f[name] = float(best.how == how)
        for flag, name in _ALWAYS_FEATURES:
            f[name] = float(all(flag in c.flags for c in occurrences))
        for kind, name in _KIND_FEATURES:
            f[name] = float(any(c.kind == kind for c in occurrences))
        out.append((day, occurrences, best, f))
    return out


# The features read around each occurrence of a day, in the sentence (a regex pass each), every one between 0 and 1,
# in the order the features list them
def _after_by_or_until(occurrences: list[Candidate], profile: Profile) -> float:
    return float(any(c.span and _BY_BEFORE.holds(c.sentence[max(0, c.span[0] - 40):c.span[0]]) for c in occurrences))


def _event_word_before(occurrences: list[Candidate], profile: Profile) -> float:
    # shares, not "every occurrence": a date written twice, once as "the March 5 bill", is half an event
    return sum(bool(c.span and _EVENT_BEFORE.search(c.sentence[max(0, c.span[0] - 60):c.span[0]]))
               for c in occurrences) / len(occurrences)


def _event_noun_after(occurrences: list[Candidate], profile: Profile) -> float:
    return sum(bool(c.span and _EVENT_NOUN_AFTER.match(c.sentence[c.span[1]:c.span[1] + 40]))
               for c in occurrences) / len(occurrences)


def _deadline_noun_in_sentence(occurrences: list[Candidate], profile: Profile) -> float:
    return float(any(_DEADLINE_NOUN.search(c.sentence) for c in occurrences))


def _names_target(occurrences: list[Candidate], profile: Profile) -> float:
    return float(any(mention_strength(c.sentence, profile) >= 1 for c in occurrences))


def _past_tense_clause(occurrences: list[Candidate], profile: Profile) -> float:
    return float(all(c.span and _TENSE_PAST.search(c.sentence[max(0, c.span[0] - 60):c.span[0]]) for c in occurrences))


_CONTEXT_FEATURES = (("after_by_or_until", _after_by_or_until), ("event_word_before", _event_word_before),
                     ("event_noun_after", _event_noun_after), ("deadline_noun_in_sentence", _deadline_noun_in_sentence),
                     ("names_target", _names_target), ("past_tense_clause", _past_tense_clause))


def _context_features(occurrences: list[Candidate], profile: Profile,
                      read: dict[str, float] | None = None) -> dict[str, float]:
    """The features read around the occurrences (those already in `read` taken from there)."""
    read = read or {}  # (not added to the others until all are read: the features keep their order)
    return {name: read[name] if name in read else feature(occurrences, profile) for name, feature in _CONTEXT_FEATURES}


def _context_may_lift(model: LogisticModel, features: dict[str, float], occurrences: list[Candidate],
                      profile: Profile, read: dict[str, float]) -> bool:
    """Whether the context features could still lift the day to the model's threshold, given the others
    (`features`); those read on the way are put in `read`. About half the days a relevant article gives are
    rejected by the features the rules' readings give alone or once the context features that weigh most are read
    (474 of 903 on the benchmark's first 300 pages), and the regex passes of the others are spared. Each feature lies between 0
    and 1: a day rejected here has a logit below the threshold's whatever they are (a margin keeps float rounding
    out), so the model decides exactly as with every feature read."""
    reading = _context_reading(model)
    if reading is None:
        return True
    needed, lift, unread = reading
    logit = model.logit(features)
    for w, name, feature in unread:
        if logit + lift < needed:
            return False
        value = read[name] = feature(occurrences, profile)
        logit += w * value
        lift -= max(0.0, w)
    return logit + lift >= needed


_CONTEXT_READINGS: dict[int, tuple] = {}


def _context_reading(model: LogisticModel) -> tuple[float, float, tuple] | None:
    """For _context_may_lift: the logit the threshold needs (less a margin), what the context features can add at
    most, and those of them that weigh, the strongest first (most likely to decide); None for a threshold no logit
    bounds. Made once per model."""
    made = _CONTEXT_READINGS.get(id(model))
    if made is not None and made[0] is model:
        return made[1]
    reading = None
    if 0.0 < model.threshold < 1.0:
        weights = model.weights
        unread = tuple(sorted(((weights.get(name, 0.0), name, feature) for name, feature in _CONTEXT_FEATURES
                               if weights.get(name, 0.0) != 0.0), key=lambda x: -abs(x[0])))
        reading = (math.log(model.threshold / (1.0 - model.threshold)) - 1e-6, sum(max(0.0, w) for w, _n, _f in unread),
                   unread)
    _CONTEXT_READINGS[id(model)] = (model, reading)  # (the model kept: its id is not another's)
    return reading
