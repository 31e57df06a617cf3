r"""Fast, exact search of many word lists: dealwatch's one piece of search machinery.

The judgment asks, for every sentence of every article, whether the profile's lists (sale vocabulary, bid cues,
aliases of ~40 parties, off-topic themes ...) match and where. Each list is one alternation
`(?<![\w])(?:f1|f2|...)(?![\w])`; Python's `re` tries every alternative at every word start, so a list of 120
alternatives costs a pass per ten of them on every sentence, although a sentence holds the words of only a few.
`Alternation` is searched like a compiled `re.Pattern` (the same matches, match for match) but first looks up,
in an index of the string's words built once and shared by all lists, which alternatives can match at all, and
then tries them only where one of their literal beginnings (leads) stands, not at every character.

What it buys (benchmarks/patterns.py, both ways side by side on the benchmark's articles, same results): the
judgment costs 4.8-4.9 ms an article with it, 6.9-7.8 ms with the plain compiled alternations (2 busy cores;
measured before the leads and the later speed-ups of the judgment, which made the first figure smaller).
Multi-pattern libraries (Aho-Corasick, Hyperscan, RE2) match literal strings or a regex dialect without
look-behind and with other case folding; the profile's lists are Python regexes, and their results must stay
exactly those of `re` (tests/test_patterns.py compares every list of the bundled profile with its plain regex
on many sentences).

    rx = Alternation(("(?:bid)", r"(?:offer\w*)"), r"(?<![\w])", r"(?![\w])", re.IGNORECASE)
    rx.search("Oracle made an offer")         # the same match as re.compile(rx.pattern, re.I).search(...)
    prefiltered(r"\d+ (?:days|Tage)").search(s)  # one regex, skipped where its words cannot be
"""
from __future__ import annotations

import re
import sys
import threading
import weakref
from operator import itemgetter
from re import _constants as _sre, _parser as _sre_parser

# Every list (sale vocabulary, aliases, ...) is one alternation `(?<![\w])(?:f1|f2|...)(?![\w])`. Python's `re`
# tries each alternative at every word start (en.bid has ~120), and the judgment searches thousands of strings
# per article; yet a sentence holds the words of only a few alternatives. So each alternative gets *needles*
# read from its pattern (_NeedleReader): a whole word, the head of a word, or a literal substring, of which every
# match of it holds one. A search first looks up which needles the string holds (in a TextIndex of the string,
# built once and shared by all lists) and searches with only the alternatives that can match: the others cannot
# match anywhere in the string, so the result is the same, match for match (the leftmost match and, at that
# position, the first alternative in order). A string that holds no needle costs no regex pass. `Prefiltered`
# does the same for one regex of the fact extractors (a date pattern needs a month name, an amount a currency).
# The tests (tests/test_patterns.py) compare every list with its plain regex on many sentences.

# Characters that `re.IGNORECASE` matches against each other although str.lower() keeps them apart
# (re._casefix); tests/test_patterns.py checks fold_case against `re` itself. One class is left out: the
# combining ypogegrammeni U+0345 is no word character while the iota it matches is one; needles never hold an
# iota (_UNFOLDED).
_CASE_FIXES = str.maketrans({"\u0130": "i", "ı": "i", "ſ": "s", "µ": "μ", "ς": "σ", "ϐ": "β", "ϵ": "ε", "ϑ": "θ",
                             "ϰ": "κ", "ϖ": "π", "ϱ": "ρ", "ϕ": "φ", "\u1fbe": "ι",
                             "\u1fd3": "\u0390", "\u1fe3": "\u03b0", "\u1c80": "в", "\u1c81": "д", "\u1c82": "о",
                             "\u1c83": "с", "\u1c84": "т", "\u1c85": "т", "\u1c86": "ъ", "\u1c87": "ѣ",
                             "\u1c88": "ꙋ", "ẛ": "ṡ", "ﬅ": "ﬆ"})
_NEEDS_FIXES = re.compile("[\u0130ıſµςϐϵϑϰϖϱϕ\u1fbe\u1fd3\u1fe3\u1c80-\u1c88ẛﬅ]")
_UNFOLDED = re.compile("[ι\u0345]")
_WORD = re.compile(r"\w+")
# The words of a text in Latin-1 (English and German news, nearly every sentence): its bytes with every non-word
# character made a blank, split. The same words as _WORD.findall (the table is read off `re`'s \w itself) in about
# half the time: the text index of every sentence starts with its words.
_LATIN1_BLANKED = bytes(i if _WORD.fullmatch(chr(i)) else 0x20 for i in range(256))


_BEYOND_LATIN1 = re.compile(r"[^\x00-\xff]")


def words_of(text: str) -> frozenset[str]:
    """The words (runs of \\w) of a text."""
    raw = text.encode("latin-1", "replace")
    # a character beyond Latin-1 became "?", a blank below: right for the typographic marks of news text (dashes,
    # quotes, ellipses: an eighth of the sentences), which are no word characters, wrong for a letter (re's \w is
    # str.isalnum or "_")
    if raw.count(b"?") != text.count("?") and any(c.isalnum() or c == "_" for c in _BEYOND_LATIN1.findall(text)):
        return frozenset(_WORD.findall(text))
    return frozenset(raw.translate(_LATIN1_BLANKED).decode("latin-1").split())


def fold_case(text: str) -> str:
    """The text in one case, character for character: two characters that `re.IGNORECASE` matches against
    each other are equal here, and a word character stays one."""
    if not text.isascii() and _NEEDS_FIXES.search(text):
        return text.replace("\u0130", "i").lower().translate(_CASE_FIXES)  # "İ".lower() would be two characters
    return text.lower()


HEADS = (3, 4)  # a head needle is the first 3 or 4 letters of a word (4 for longer words)
_HEAD_CUTS = tuple(itemgetter(slice(n)) for n in HEADS)


class _Owners:
    """For every word, head and infix needle of every clause made so far, the clauses that hold it and, in each, the
    alternatives (bit i: alternative i). A string's index looks its words up once for all clauses. Published as
    one tuple (version, words, heads, infixes, hits) so that a reader in another thread sees all of a new clause or
    none of it; hits is the memo of what each word of a text gives (_word_hits), for this version only.

    An infix is a text needle of word characters only ("frist", "offer", "weighing"): a string holds it exactly
    when one of its words does (it cannot span a blank or a mark), so it is looked up once per word of the
    vocabulary, not searched for in every string; infixes are kept by their first two letters."""

    def __init__(self):
        self._lock = threading.Lock()
        self.clauses = 0
        self.state: tuple[int, dict, dict, dict, dict] = (0, {}, {}, {}, {})
        self.version = 0  # state[0], set after state: the quick test of an index being up to date

    def register(self, words: dict[str, int], heads: dict[str, int], infixes: dict[str, int]) -> int:
        """A new clause with these needles (each with the alternatives that hold it): its number."""
        with self._lock:
            number, self.clauses = self.clauses, self.clauses + 1
            version, old_words, old_heads, old_infixes, _ = self.state
            new_words, new_heads, new_infixes = dict(old_words), dict(old_heads), dict(old_infixes)
            for word, bits in words.items():
                new_words[word] = (*new_words.get(word, ()), (number, bits))
            for head, bits in heads.items():
                new_heads[head] = (*new_heads.get(head, ()), (number, bits))
            for infix, bits in infixes.items():
                owners = dict(new_infixes.get(infix[:2], ()))
                owners[infix] = (*owners.get(infix, ()), (number, bits))
                new_infixes[infix[:2]] = tuple(owners.items())
            self.state = (version + 1, new_words, new_heads, new_infixes, {})
            self.version = version + 1
        return number


_OWNERS = _Owners()
_HITS_KEPT = 100_000  # words whose hits a version keeps (the vocabulary of the recent texts)


def _word_hits(word: str, words: dict, heads: dict, infixes: dict, hits: dict) -> tuple[tuple[int, int], ...]:
    """What a word of a text gives: (clause number, alternatives) for its word needle, its head needles and the
    infixes it holds."""
    found = words.get(word, ())
    for cut in _HEAD_CUTS:  # (a shorter word gives a shorter entry, which no head needle equals)
        found += heads.get(cut(word), ())  # (a 3-letter word twice: the bits are or-ed, no harm)
    for at in range(len(word) - 1):
        for infix, owners in infixes.get(word[at:at + 2], ()):
            if word.startswith(infix, at):
                found += owners  # (an infix twice in a word: or-ed twice, no harm)
    if len(hits) >= _HITS_KEPT:
        hits.clear()
    hits[word] = found
    return found


class TextIndex:
    """What a string holds, for the needle tests: its folded text and (built when first asked for) its words,
    their heads, and for each clause with a word or head needle in the string, the alternatives it satisfies."""

    __slots__ = ("string", "folded", "_words", "_heads", "_found", "_version")

    def __init__(self, string: str):
        self.string, self.folded = string, fold_case(string)
        self._words: frozenset[str] | None = None
        self._heads: frozenset[str] | None = None
        self._found: dict[int, int] = {}
        self._version = -1

    def words(self) -> frozenset[str]:
        if self._words is None:
            self._words = words_of(self.folded)
        return self._words

    def heads(self) -> frozenset[str]:
        # (few strings are asked: found() reads the heads word by word, through the memo of the words' hits)
        if self._heads is None:
            words = self.words()
            # (a shorter word gives a shorter entry, which no head needle equals)
            self._heads = frozenset().union(*(map(cut, words) for cut in _HEAD_CUTS))
        return self._heads

    def found(self) -> dict[int, int]:
        """Clause number: the alternatives whose word or head needle (of that clause) the string holds."""
        if self._version == _OWNERS.version:
            return self._found
        version, words, heads, infixes, hits = _OWNERS.state
        # a text's words recur in other texts: what each gives (its word and head needles) is looked up once per
        # version, not by building the text's heads and intersecting them with every needle (~4x the cost)
        get = hits.get
        found: dict[int, int] = {}
        for word in self.words():
            word_hits = get(word)
            if word_hits is None:
                word_hits = _word_hits(word, words, heads, infixes, hits)
            for number, bits in word_hits:
                found[number] = found.get(number, 0) | bits
        self._found, self._version = found, version
        return found


_INDEXES: dict[str, TextIndex] = {}
# every alternation made, for forget_strings (weakly: a profile's alternations go with it)
_ALTERNATIONS: weakref.WeakSet = weakref.WeakSet()


def forget_strings() -> None:
    """Empty the memos of recent strings: their indexes and every alternation's results for them (the words' hits,
    a memo of the vocabulary, are kept)."""
    _INDEXES.clear()
    for alternation in list(_ALTERNATIONS):
        alternation._all.clear()
        alternation._live.clear()


def text_index(string: str) -> TextIndex:
    """The index of a string; the recent ones are kept (every list searches the same sentences)."""
    index = _INDEXES.get(string)
    if index is None:
        if len(_INDEXES) >= 2048:
            _INDEXES.clear()
        index = _INDEXES[string] = TextIndex(string)
    return index


# A needle is (kind, text): ("word", w): the string has the word w; ("head", h): a word of it begins with h
# (h has 3 or 4 letters); ("text", t): t is a substring of the folded string; ("exact", t): t is a substring of the
# string as it is (for letters a pattern matches case by case).
Needle = tuple[str, str]
Clause = frozenset  # of Needle: every match holds one of them at least

_SYMBOLS = frozenset("$€£¥%/&@#+=§")  # rare in prose: good needles
# words in nearly every sentence: poor needles
COMMON_WORDS = frozenset("""a an the to of for in on at by with from about as that this it its is are was be will would
and or not no s has have had der die das den dem des ein eine einen einem einer und zu zum zur mit von vom für im
ist sind auf an um bei nach aus als sich es er sie wird hat bis ab auch""".split())


def _needle_score(needle: Needle, frequent: frozenset[str] = frozenset()) -> int:
    # how rarely a text holds it: whole words are rarest (but for the common ones and the `frequent` ones: the
    # target's and the seller's names), short substrings the commonest, except symbols ("$", "€", "/", "%")
    kind, text = needle
    words = _WORD.findall(fold_case(text))
    if text in COMMON_WORDS or any(w.startswith(f) or f.startswith(w) for w in words for f in frequent):
        return 1
    symbol = any(c in _SYMBOLS for c in text)
    if kind in ("text", "exact") and not symbol and all(w in COMMON_WORDS for w in words):
        return 1  # "the ", " of": a common word with a blank is in nearly every text too
    capital = kind == "exact" and not text.islower()  # "AP", "Xi": as written, rarer than "ap", "xi"
    return {"word": 20, "head": 10, "text": 0, "exact": 0}[kind] + min(len(text), 9) + 6 * symbol + 4 * capital


def _clause_score(clause: Clause, frequent: frozenset[str] = frozenset()) -> tuple[int, int, int]:
    # the rarest, then the cheapest to test (words and heads are looked up at once), then the fewest needles
    return (min(_needle_score(n, frequent) for n in clause), all(kind in ("word", "head") for kind, _ in clause),
            -len(clause))


def _best_clause(clauses: list[Clause]) -> Clause:
    return max(clauses, key=_clause_score)


def _run_clauses(run: str, exact: bool, starts_word: bool, ends_word: bool) -> list[Clause]:
    """The clauses of a run of literal characters: the run itself (as written too, if it is matched case by
    case), and each word in it (whole, or its head)."""
    folded = fold_case(run)
    if _UNFOLDED.search(folded):
        return []
    if not any(c.isalnum() or c in _SYMBOLS for c in folded):
        return []  # blanks and punctuation ("a ", ", "): in every text
    clauses = [frozenset({("text", folded)})]
    if exact:
        clauses.append(frozenset({("exact", run)}))
    for m in _WORD.finditer(folded):
        starts = m.start() > 0 or starts_word  # after a non-word character of the run, or where a word begins
        ends = m.end() < len(folded) or ends_word
        word = m.group()
        if starts and ends:
            clauses.append(frozenset({("word", word)}))
        elif starts and len(word) >= HEADS[0]:
            clauses.append(frozenset({("head", word[:HEADS[-1]])}))
    return clauses


def _any_of(alternatives: list[list[Clause]]) -> list[Clause]:
    """The clause of an alternation: the needles of each alternative's best clause (none if one has none)."""
    if any(not clauses for clauses in alternatives):
        return []
    union = frozenset().union(*(_best_clause(clauses) for clauses in alternatives))
    # a needle implied by another needle of an any-of clause adds nothing ("jan" is in a text whenever "january" is)
    return [frozenset(n for n in union if not any(m != n and _implies(n, m) for m in union))]


def _implies(a: Needle, b: Needle) -> bool:
    """Whether a string that holds needle a holds needle b."""
    if b[0] == "text":
        return b[1] in (fold_case(a[1]) if a[0] == "exact" else a[1])
    if b[0] == "exact":
        return a[0] == "exact" and b[1] in a[1]
    if b[0] == "head":
        return a[0] in ("word", "head") and a[1].startswith(b[1])
    return a == b


class _Unreadable(Exception):
    """A construct the needle reader does not follow (a back-reference, a character code, verbose mode)."""


_QUANTIFIER = re.compile(r"\{(\d*)(?:,\d*)?\}")
_FLAGS_GROUP = re.compile(r"\(\?([aiLmsux]*)(?:-([imsx]+))?([:)])")
# assertions that no word character comes before / after: (?<![\w]), (?<!\w), (?<![\w@.-]); (?![\w]), (?!\w)
_NO_WORD_BEFORE = re.compile(r"\(\?<!(?:\\w|\[(?!\^)[^\]]*\\w[^\]]*\])\)")
_NO_WORD_AFTER = re.compile(r"\(\?!(?:\\w|\[(?!\^)[^\]]*\\w[^\]]*\])\)")


class _NeedleReader:
    """Reads the needles of a pattern: a conservative walk over its syntax that keeps only what every match
    must hold (literal runs outside optional parts, and alternations of them) and gives up (reads nothing) on
    what it does not follow."""

    def __init__(self, pattern: str):
        self.p = pattern

    def quantifier(self, i: int) -> tuple[int, bool, int]:
        """(minimum repetitions, whether there is a quantifier, its end) after an atom."""
        p = self.p
        if p.startswith(("*", "?"), i):
            lo, i = 0, i + 1
        elif p.startswith("+", i):
            lo, i = 1, i + 1
        elif (m := _QUANTIFIER.match(p, i)) is not None:
            lo, i = int(m.group(1) or 0), m.end()
        else:
            return 1, False, i
        if p.startswith(("?", "+"), i):  # lazy or possessive
            i += 1
        return lo, True, i

    def character_class(self, i: int) -> tuple[str | None, int]:
        """A class at p[i] == "[": the one letter it stands for in any case ("[Ff]"), or None; its end."""
        p = self.p
        j = i + 1
        negated = p.startswith("^", j)
        j += negated
        members, simple = [], True
        if p.startswith("]", j):
            members.append("]")
            j += 1
        while j < len(p) and p[j] != "]":
            if p[j] == "\\":
                simple = simple and not p[j + 1:j + 2].isalnum()
                members.append(p[j + 1:j + 2])
                j += 2
            else:
                simple = simple and p[j] not in "-["
                members.append(p[j])
                j += 1
        if j >= len(p):
            raise _Unreadable(p)
        folded = {fold_case(m) for m in members}
        return (folded.pop() if simple and not negated and len(folded) == 1 else None), j + 1

    def group(self, i: int, starts_word: bool, ends_word: bool, exact: bool) -> tuple[list[Clause], int]:
        """A group at p[i] == "(": the clauses every match of it holds (none for a lookaround), and its end."""
        p, required = self.p, True
        if p.startswith("(?", i):
            if p.startswith("(?:", i):
                j = i + 3
            elif p.startswith("(?P<", i):
                j = p.index(">", i) + 1
            elif p.startswith(("(?=", "(?!"), i):
                j, required = i + 3, False
            elif p.startswith(("(?<=", "(?<!"), i):
                j, required = i + 4, False
            elif (m := _FLAGS_GROUP.match(p, i)) is not None and "x" not in m.group(1):
                if m.group(3) == ")":
                    raise _Unreadable(p)  # flags for the whole pattern
                exact = (exact and "i" not in m.group(1)) or "i" in (m.group(2) or "")
                j = m.end()
            else:
                raise _Unreadable(p)  # a back-reference, a conditional, a comment, verbose mode
        else:
            j = i + 1
        alternatives, j = self.alternatives(j, starts_word, ends_word, exact)
        if not p.startswith(")", j):
            raise _Unreadable(p)
        if not required:
            return [], j + 1
        return (alternatives[0] if len(alternatives) == 1 else _any_of(alternatives)), j + 1

    def word_ends_at(self, i: int, ends_word: bool) -> bool:
        """Whether a word ends at p[i]: the end of a sequence that ends one, or before a literal non-word
        character."""
        p = self.p
        if i >= len(p) or p[i] in "|)":
            return ends_word
        if p[i] in "\\[(.^$*+?{" or _WORD.match(fold_case(p[i])):
            return False
        return self.quantifier(i + 1)[0] > 0

    def sequence(self, i: int, starts_word: bool, ends_word: bool, exact: bool) -> tuple[list[Clause], int]:
        """The clauses of the atoms from p[i] to the next | or ) of this level. starts_word: the sequence begins
        where a word begins (after a non-word character); ends_word: a word ends where it ends; exact: its
        letters are matched case by case."""
        p = self.p
        clauses: list[Clause] = []
        run: list[str] = []
        run_exact = True  # every character of the run is matched as written
        run_starts_word = at_word_start = starts_word

        def end_run(ends: bool = False) -> None:
            if run:
                clauses.extend(_run_clauses("".join(run), run_exact, run_starts_word, ends))
                run.clear()

        while i < len(p) and p[i] not in "|)":
            # a word boundary: a word character after it begins a word, one before it ends a word
            if p.startswith("\\b", i) or (m := _NO_WORD_BEFORE.match(p, i) or _NO_WORD_AFTER.match(p, i)):
                end = i + 2 if p.startswith("\\b", i) else m.end()
                if self.quantifier(end)[1]:
                    raise _Unreadable(p)
                after_word = bool(run) and bool(_WORD.match(fold_case(run[-1])))
                end_run(after_word and not p.startswith("(?<!", i))
                at_word_start, i = not p.startswith("(?!", i), end
                continue
            c, literal, literal_exact, group, start = p[i], None, exact, None, i
            if c == "\\":
                e = p[i + 1:i + 2]
                if not e or e.isdigit() or e in "xuUNg":
                    raise _Unreadable(p)  # a back-reference or a character code
                if not (e.isascii() and e.isalnum()):
                    literal = e  # an escaped character; letters are classes (\w), assertions (\A) or controls (\n)
                i += 2
            elif c == "[":
                literal, i = self.character_class(i)
                literal_exact = False
            elif c == "(":
                group, i = self.group(i, at_word_start, False, exact)
            elif c in ".^$*+?":
                i += 1
            else:
                literal, i = c, i + 1
            lo, quantified, i = self.quantifier(i)
            if group is not None and not quantified and self.word_ends_at(i, ends_word):
                group, _ = self.group(start, at_word_start, True, exact)  # a word ends where the group ends
            if literal is not None and lo > 0:
                if not run:
                    run_starts_word, run_exact = at_word_start, True
                run.append(literal)
                run_exact = run_exact and literal_exact
                if quantified:
                    end_run()  # "ab+c": "ab" is in every match, "abc" is not
                at_word_start = not _WORD.match(fold_case(literal))
            else:
                end_run()
                if group and lo > 0:
                    clauses.extend(group)
                at_word_start = False
        end_run(ends_word)
        return clauses, i

    def alternatives(self, i: int, starts_word: bool, ends_word: bool,
                     exact: bool) -> tuple[list[list[Clause]], int]:
        alternatives = []
        while True:
            clauses, i = self.sequence(i, starts_word, ends_word, exact)
            alternatives.append(clauses)
            if not self.p.startswith("|", i):
                return alternatives, i
            i += 1


def needles(pattern: str, starts_word: bool = False, ends_word: bool = False, ignore_case: bool = True,
            frequent: frozenset[str] = frozenset(), confirm: bool = False) -> tuple[Clause, ...]:
    """The rarest clauses the reader finds in a pattern (one, and a second if it is cheap to test): every
    match of the pattern holds a needle of each; none when it finds none (then the pattern may match any text).
    starts_word / ends_word: every match begins / ends at a word boundary (the pattern is wrapped in
    (?<![\\w]) / (?![\\w])); ignore_case: the pattern is compiled with re.IGNORECASE; frequent: words of nearly
    every text searched (the target's name), poor needles. confirm: after the first clause, every other one that
    is cheap to test and filters (an alternative of an Alternation, tested only where its first clause holds)."""
    try:
        alternatives, end = _NeedleReader(pattern).alternatives(0, starts_word, ends_word, not ignore_case)
    except (_Unreadable, IndexError, ValueError):
        return ()
    if end != len(pattern):
        return ()
    clauses = sorted(set(alternatives[0] if len(alternatives) == 1 else _any_of(alternatives)),
                     key=lambda c: _clause_score(c, frequent), reverse=True)
    if not clauses:
        return ()
    best = clauses[0]
    if confirm:
        # every clause the first does not imply, if it is cheap to test and filters: "in talks" besides "talks",
        # "talks with" besides "talks"; the many alternatives of a list that a word makes live ("talks", "offer")
        # are then searched only where their other words are too
        return (best, *(c for c in clauses[1:] if _clause_score(c, frequent)[0] > 2
                        and (all(kind in ("word", "head") for kind, _ in c) or len(c) <= 4)
                        and not all(any(_implies(n, m) for m in c) for n in best)))
    # a second clause about other words than the first ("buy" besides "tiktok"), if it is cheap to test: words
    # and word heads (looked up in the index), or a few substrings
    seen = [text for _, text in best]
    second = [c for c in clauses[1:] if not any(a in b or b in a for _, b in c for a in seen)
              and _clause_score(c, frequent)[0] > 2][:1]  # (a common word filters little)
    return (best, *(c for c in second if all(kind in ("word", "head") for kind, _ in c) or len(c) <= 4))


def _holds(index: TextIndex, needles: tuple[Needle, ...]) -> bool:
    """Whether the indexed string holds one of the needles."""
    for kind, text in needles:
        if (text in index.words() if kind == "word" else text in index.heads() if kind == "head"
                else text in index.folded if kind == "text" else text in index.string):
            return True
    return False


def _holds_all(index: TextIndex, clauses: tuple[tuple[Needle, ...], ...]) -> bool:
    """Whether the indexed string holds a needle of every clause."""
    for needles in clauses:
        if not _holds(index, needles):
            return False
    return True


class _Needles:
    """Which alternatives hold which needle, for one clause of each alternative."""

    def __init__(self, clauses: dict[int, Clause]):
        by_kind: dict[str, dict[str, int]] = {"word": {}, "head": {}, "text": {}, "exact": {}}
        for i, clause in clauses.items():
            for kind, text in clause:
                by_kind[kind][text] = by_kind[kind].get(text, 0) | 1 << i
        # words, heads and infixes (text needles of word characters) are looked up by the index, for all clauses
        # at once; other text needles ("start-up", "part of ", "$") are searched for in each string
        infixes = {text: bits for text, bits in by_kind["text"].items() if len(text) > 1 and _WORD.fullmatch(text)}
        self.texts = {text: bits for text, bits in by_kind["text"].items() if text not in infixes}
        self.exact = by_kind["exact"]
        self.text_list, self.exact_list = tuple(self.texts), tuple(self.exact)
        self.number = (_OWNERS.register(by_kind["word"], by_kind["head"], infixes)
                       if by_kind["word"] or by_kind["head"] or infixes else -1)

    def found(self, index: TextIndex) -> int:
        """The alternatives (bit i: alternative i) whose clause the indexed string satisfies."""
        bits = index.found().get(self.number, 0)
        if self.text_list:
            for text in filter(index.folded.__contains__, self.text_list):
                bits |= self.texts[text]
        if self.exact_list:
            for text in filter(index.string.__contains__, self.exact_list):
                bits |= self.exact[text]
        return bits

    def any_found(self, index: TextIndex) -> bool:
        """Whether the indexed string satisfies the clause (of a single alternative)."""
        return (self.number in index.found() or any(map(index.folded.__contains__, self.text_list))
                or any(map(index.string.__contains__, self.exact_list)))


# Where a match can begin. sre tries a pattern at every character of a string unless the pattern begins with a
# literal it can skip to, and every list's pattern begins with a look-behind, (?<![\w]), and most are matched
# ignoring case: sre can skip to neither. Yet nearly every alternative begins with a literal ("offer", "TikTok",
# "Redmond company"): its match can begin only where the string (folded) holds that beginning. So an indexed string
# is not searched character by character: its live alternatives' *leads* are found with str.find, and the regex is
# tried (match) at those places only, in order: the leftmost match, as search() finds it (the look-behind sees the
# characters before the place, as in a search). Read from sre's own parse of the alternative.
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT)
_LEADS_MAX = 32  # beginnings an alternative may have (a party's aliases: up to 30); more: searched as before
_LEAD_MIN = 2    # shorter leads ("a", "$") are everywhere: searched as before


def _leads_of(items: list) -> tuple[set[str], bool]:
    """The beginnings (folded) one of which every match of a parsed sequence begins with, and whether they are the
    whole sequence (then the parent goes on after them)."""
    beginnings = {""}
    for k, (op, av) in enumerate(items):
        if op is _sre.LITERAL:
            letter = fold_case(chr(av))
            beginnings = {b + letter for b in beginnings}
            continue
        if op in _ZERO_WIDTH:
            continue  # consumes nothing: the characters after it begin the match
        whole = True
        if op is _sre.SUBPATTERN:
            after, whole = _leads_of(av[-1].data)
        elif op is _sre.BRANCH:
            after = set()
            for branch in av[1]:
                some, branch_whole = _leads_of(branch.data)
                after |= some
                whole = whole and branch_whole
        elif op is _sre.IN and all(kind is _sre.LITERAL for kind, _ in av):
            after = {fold_case(chr(code)) for _, code in av}  # "[Ss]"
        elif op in _REPEATS and av[0] >= 1:
            after, whole = _leads_of(av[2].data)[0], False
        elif op in _REPEATS:  # optional: it, or what follows it
            after, whole = _leads_of(av[2].data)[0] | _leads_of(items[k + 1:])[0], False
        else:
            return beginnings, False  # a class, a category, any character: the beginnings end here
        if len(beginnings) * len(after) > _LEADS_MAX:
            return beginnings, False
        beginnings = {b + a for b in beginnings for a in after}
        if not whole:
            return beginnings, False
    return beginnings, True


_LEADS: dict[tuple[str, int], tuple[str, ...] | None] = {}  # kept for the process, as _COMPILED


def leads(pattern: str, flags: int = 0) -> tuple[str, ...] | None:
    """The beginnings (folded) one of which every match of the pattern begins with, none a prefix of another; None
    when one is shorter than _LEAD_MIN or the pattern's beginning is not literal. Read once per pattern."""
    found = _LEADS.get((pattern, flags), _LEADS)
    if found is _LEADS:
        found = _LEADS[pattern, flags] = _read_leads(pattern, flags)
    return found


def _read_leads(pattern: str, flags: int) -> tuple[str, ...] | None:
    try:
        found, _ = _leads_of(list(_sre_parser.parse(pattern, flags).data))
    except (re.error, RecursionError):
        return None
    if not found or min(map(len, found)) < _LEAD_MIN or len(found) > _LEADS_MAX:
        return None
    return _shortest(found)


def _shortest(beginnings: set[str]) -> tuple[str, ...]:
    """The beginnings that no other one begins (a longer one is found where the shorter is: "an", "another" where
    "a" is), sorted."""
    return tuple(sorted(b for b in beginnings if not any(a != b and b.startswith(a) for a in beginnings)))


_LEADS_SCANNED = 4  # an alternative with this many leads or more is searched for them with one regex (_lead_scanner)
_SCANNERS: dict[tuple[str, ...], re.Pattern] = {}


def _lead_scanner(leads: tuple[str, ...]) -> re.Pattern:
    """One regex that finds where one of the leads stands in a folded string (matched as written: sre skips to their
    first letters)."""
    scanner = _SCANNERS.get(leads)
    if scanner is None:
        scanner = _SCANNERS[leads] = re.compile("|".join(map(re.escape, leads)))
    return scanner


_COMPILED: dict[tuple[str, int], re.Pattern] = {}
_NEEDLES: dict[tuple, tuple] = {}


def _compiled(pattern: str, flags: int) -> re.Pattern:
    # kept for the process: a profile sent to a worker process is rebuilt there for every batch
    rx = _COMPILED.get((pattern, flags))
    if rx is None:
        rx = _COMPILED[pattern, flags] = re.compile(pattern, flags)
    return rx


# group references across alternatives: removing an alternative would renumber or orphan them
_GROUP_REFERENCE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")
_WORD_BEFORE = (r"(?<![\w])", r"(?<![\w@.-])")  # prefixes that put the start of every match at a word start
_RECENT = 256  # strings whose results a list keeps (the sentences of the article being judged)
# a pass of an alternation this short (alternatives), or over a string this short (characters), costs less than
# indexing the string: such a search does not index it (it uses the index made by others, if any)
_SHORT_ALTERNATION = 4
_SHORT_STRING = 48


class Alternation:
    """`prefix(?:alternative|alternative|...)suffix`, searched like a compiled `re.Pattern` (finditer, search,
    match, fullmatch: the same matches) but only with the alternatives whose needles the string holds: one of
    them alone is its own regex; a few are searched one by one and merged as the alternation would (leftmost
    match first, then the first alternative in order); many use the whole alternation (a pass of it costs about
    as much as one pass per ten of its alternatives)."""

    def __init__(self, alternatives: tuple[str, ...], prefix: str, suffix: str, flags: int,
                 frequent: frozenset[str] = frozenset()):
        self.alternatives, self.prefix, self.suffix, self.flags = alternatives, prefix, suffix, flags
        self.frequent = frequent
        self.pattern = f"{prefix}(?:{'|'.join(alternatives)}){suffix}"
        self.full = _compiled(self.pattern, flags)   # now: load_profile reports a pattern that does not compile
        # live alternatives searched one by one (a pass each) while fewer than a pass of the whole alternation
        # costs (a pass per ten alternatives): two of a short list (the target's names) cost more than the list
        self._merged_at_most = len(alternatives) // 10
        self._short = len(alternatives) <= _SHORT_ALTERNATION
        self._singles: list[re.Pattern | None] = [None] * len(alternatives)
        self._plans: dict[tuple[int, ...], tuple] = {}  # live alternatives: their leads (_lead_plan)
        self._scanner: re.Pattern | None | bool = False  # every alternative's leads (_every_lead_scanner); False: not read
        self._live: dict[str, tuple[int, ...]] = {}
        self._all: dict[str, tuple[re.Match, ...]] = {}
        _ALTERNATIONS.add(self)

    # Read on first use, not when the profile is loaded (~0.3 s for the bundled one): the process that loads
    # a profile for a cycle only checks it and sends it to the worker processes, which judge.
    _NEEDLES_READ_ON_FIRST_USE = frozenset({"_everywhere", "_first", "_second", "_confirmed", "_word_clause"})

    def __getattr__(self, name: str):
        if name not in Alternation._NEEDLES_READ_ON_FIRST_USE:
            raise AttributeError(name)
        self._prepare_needles()
        return object.__getattribute__(self, name)

    def _prepare_needles(self) -> None:
        key = (self.alternatives, self.prefix, self.suffix, self.flags, self.frequent)
        if key not in _NEEDLES:
            _NEEDLES[key] = self._read_needles()
        self._everywhere, self._first, self._second = _NEEDLES[key]
        self._confirmed = sum(1 << i for i in self._second)  # alternatives with clauses that confirm the first
        # the clause number whose absence from an index means no match, when the first clauses have only words
        # and heads (looked up by the index) and every alternative has needles
        first = self._first
        self._word_clause = (first.number if first.number >= 0 and not first.text_list and not first.exact_list
                             and not self._everywhere else None)

    def _read_needles(self) -> tuple:
        starts_word, ends_word = self.prefix in _WORD_BEFORE, self.suffix == r"(?![\w])"
        # removing an alternative that another refers to (a group reference) would change the pattern
        narrowable = not any(_GROUP_REFERENCE.search(a) for a in self.alternatives)
        everywhere, first, second = 0, {}, {}
        for i, alternative in enumerate(self.alternatives):
            clauses = needles(alternative, starts_word, ends_word, bool(self.flags & re.IGNORECASE),
                              self.frequent, confirm=True) if narrowable else ()
            if not clauses:
                everywhere |= 1 << i  # may match in any string
                continue
            first[i] = clauses[0]
            if len(clauses) > 1:
                second[i] = tuple(tuple(c) for c in clauses[1:])  # the clauses that confirm the first
        return everywhere, _Needles(first), second

    def prepare(self) -> None:
        """The needles and each alternative's own regex, now rather than on first use (Profile.prepare)."""
        self._prepare_needles()
        for i in range(len(self.alternatives)):
            self._single(i)

    def __reduce__(self):  # pickled as its definition: the regexes are compiled once per process
        return Alternation, (self.alternatives, self.prefix, self.suffix, self.flags, self.frequent)

    def __repr__(self) -> str:
        return f"Alternation({self.pattern!r})"

    def live(self, string: str) -> tuple[int, ...]:
        """The alternatives (their indexes, in order) that may match somewhere in the string."""
        live = self._live.get(string)
        if live is None:
            index = _INDEXES.get(string) or text_index(string)
            if self._word_clause is not None and self._word_clause not in index.found():
                return ()  # (the common answer, the quick way: no alternative's first clause holds)
            bits = self._first.found(index)
            found = []
            if bits:
                confirmed, second = self._confirmed, self._second
                while bits:
                    low = bits & -bits
                    i = low.bit_length() - 1
                    if not low & confirmed or _holds_all(index, second[i]):
                        found.append(i)
                    bits ^= low
            if self._everywhere:
                found = sorted({*found, *(i for i in range(len(self.alternatives)) if self._everywhere >> i & 1)})
            live = tuple(found)
            if len(self._live) >= _RECENT:
                self._live.clear()
            self._live[string] = live
        return live

    def all(self, string: str) -> tuple[re.Match, ...]:
        """Every match in the string, as finditer gives them (kept for the recent strings)."""
        found = self._all.get(string)
        if found is None:
            index = _INDEXES.get(string)
            if index is None or self._everywhere:
                found = tuple(self.finditer(string))
            elif self._word_clause is not None and self._word_clause not in index.found():
                found = ()  # (the quick way to the common answer: no alternative's first clause holds)
            else:
                # finditer of an indexed string, without its checks: the live alternatives are read once
                live = self.live(string)
                found = tuple(self._finditer_live(live, string, 0, sys.maxsize)) if live else ()
            if len(self._all) >= _RECENT:
                self._all.clear()
            self._all[string] = found
        return found

    def holds(self, string: str) -> bool:
        """Whether the alternation matches somewhere in the string."""
        found = self._all.get(string)
        if found is not None:
            return bool(found)
        index = _INDEXES.get(string)
        if index is not None and self._word_clause is not None and self._word_clause not in index.found():
            return False  # (as search() answers it, without the call)
        return self.search(string) is not None

    def _single(self, i: int) -> re.Pattern:
        rx = self._singles[i]
        if rx is None:
            rx = self._singles[i] = _compiled(f"{self.prefix}(?:{self.alternatives[i]}){self.suffix}", self.flags)
        return rx

    def _one(self, live: tuple[int, ...]) -> re.Pattern | None:
        """One regex that gives the same matches as the whole alternation; None when the live ones must be merged."""
        if len(live) == 1:
            return self._single(live[0])
        if len(live) > self._merged_at_most or self._everywhere:
            return self.full
        return None

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize):
        if (self._short or len(string) <= _SHORT_STRING) and string not in _INDEXES:
            if not self._may_match(string, pos, endpos):
                return iter(())
            return self.full.finditer(string, pos, endpos)
        live = self.live(string)
        if not live:
            return iter(())
        return self._finditer_live(live, string, pos, endpos)

    def _finditer_live(self, live: tuple[int, ...], string: str, pos: int, endpos: int):
        found = self._lead_matches(live, string, pos, endpos)
        if found is not None:
            return iter(found)
        rx = self._one(live)
        if rx is not None:
            return rx.finditer(string, pos, endpos)
        return self._merged_finditer([self._single(i) for i in live], string, pos, endpos)

    def _may_match(self, string: str, pos: int, endpos: int) -> bool:
        """False when no alternative can match in string[pos:endpos], for a string not indexed: its folded text holds
        no lead there. A short window ("before" a date) is not worth indexing, and a pass of the whole alternation
        over it tries every alternative at every character (IGNORECASE: sre cannot skip ahead); a pass of the leads,
        matched as written over the folded text, costs a third less (measured on date_exclude's windows)."""
        scanner = self._scanner
        if scanner is False:
            scanner = self._scanner = self._every_lead_scanner()
        return scanner is None or scanner.search(fold_case(string), pos, endpos) is not None

    def _every_lead_scanner(self) -> re.Pattern | None:
        """One regex of every alternative's leads, searched in folded strings; None when an alternative has none."""
        found = set()
        for alternative in self.alternatives:
            some = leads(alternative, self.flags)
            if not some:
                return None
            found.update(some)
        return _lead_scanner(tuple(sorted(found)))

    def _lead_plan(self, live: tuple[int, ...]) -> tuple[tuple[str | re.Pattern, re.Pattern], ...]:
        """(lead, the alternative's regex) for every lead of the live alternatives, in their order (an alternative
        with many leads: one regex of them); () when one of them has no leads. Kept per set of live alternatives (a
        few hundred of them recur)."""
        plan = []
        for i in live:
            found = leads(self.alternatives[i], self.flags)
            if not found:
                plan = []
                break
            if len(found) >= _LEADS_SCANNED:
                plan.append((_lead_scanner(found), self._single(i)))
            else:
                plan += [(lead, self._single(i)) for lead in found]
        if len(self._plans) >= _RECENT:
            self._plans.clear()
        plan = self._plans[live] = tuple(plan)
        return plan

    def _lead_matches(self, live: tuple[int, ...], string: str, pos: int, endpos: int,
                      first: bool = False) -> list[re.Match] | None:
        """The matches in string[pos:endpos] (as finditer gives them; only the first if `first`), tried only where a
        lead of a live alternative stands: at each such place after the last match, the first alternative (in
        order) that matches there. Every match holds its lead, so none is empty. None when a live alternative has no
        leads (then the string is searched as before)."""
        plan = self._plans.get(live)
        if plan is None:
            plan = self._lead_plan(live)
        if not plan:
            return None
        folded = (_INDEXES.get(string) or text_index(string)).folded
        found = []
        if len(plan) == 1 and type(plan[0][0]) is str:  # one alternative with one lead: the common case
            lead, rx = plan[0]
            at = folded.find(lead, pos, endpos)
            while at >= 0:
                m = rx.match(string, at, endpos)
                if m is None:
                    at = folded.find(lead, at + 1, endpos)
                    continue
                found.append(m)
                if first:
                    break
                at = folded.find(lead, m.end(), endpos)
            return found
        starts = []
        for k, (lead, _) in enumerate(plan):
            if type(lead) is str:
                at = folded.find(lead, pos, endpos)
                while at >= 0:
                    starts.append((at, k))
                    at = folded.find(lead, at + 1, endpos)
            else:  # many leads (a party's aliases) in one regex: one pass, not a find each
                m = lead.search(folded, pos, endpos)
                while m is not None:
                    at = m.start()
                    starts.append((at, k))
                    m = lead.search(folded, at + 1, endpos)
        starts.sort()  # by place, then alternative (at one place at most one lead of an alternative stands)
        end = -1
        for at, k in starts:
            if at < end:
                continue
            m = plan[k][1].match(string, at, endpos)
            if m is not None:
                found.append(m)
                if first:
                    break
                end = m.end()
        return found

    @staticmethod
    def _merged_finditer(regexes: list[re.Pattern], string: str, pos: int, endpos: int):
        # every match is non-empty (it holds a needle), so the next search starts where a match ends
        upcoming: list[re.Match | None] = [rx.search(string, pos, endpos) for rx in regexes]
        while True:
            best = None
            for m in upcoming:
                if m is not None and (best is None or m.start() < best.start()):
                    best = m  # leftmost; at the same start, the first alternative
            if best is None:
                return
            yield best
            pos = best.end()
            for k, m in enumerate(upcoming):
                if m is not None and m.start() < pos:
                    upcoming[k] = regexes[k].search(string, pos, endpos)

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match | None:
        index = _INDEXES.get(string)
        if index is None and (self._short or len(string) <= _SHORT_STRING):
            return self.full.search(string, pos, endpos) if self._may_match(string, pos, endpos) else None
        word_clause = self._word_clause
        if word_clause is not None:
            # most searches of a sentence find nothing: answered by the index alone, without live()'s memo of the
            # live alternatives (with the same test in live() and holds(): ~1% of the judgment's instructions)
            if index is None:
                index = text_index(string)
            if word_clause not in index.found():
                return None
        live = self.live(string)
        if not live:
            return None
        found = self._lead_matches(live, string, pos, endpos, first=True)
        if found is not None:
            return found[0] if found else None
        rx = self._one(live)
        if rx is not None:
            return rx.search(string, pos, endpos)
        best = None
        for i in live:
            m = self._single(i).search(string, pos, endpos)
            if m is not None and (best is None or m.start() < best.start()):
                best = m  # leftmost; at the same start, the first alternative
        return best

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match | None:
        return self._anchored("match", string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match | None:
        return self._anchored("fullmatch", string, pos, endpos)

    def _anchored(self, how: str, string: str, pos: int, endpos: int) -> re.Match | None:
        # at one position the alternation's match is that of its first alternative that matches there; a try at
        # one position costs little, but for a string indexed already
        if string not in _INDEXES:
            return getattr(self.full, how)(string, pos, endpos)
        live = self.live(string)
        if not live:
            return None
        rx = self._one(live)
        if rx is not None:
            return getattr(rx, how)(string, pos, endpos)
        for i in live:
            m = getattr(self._single(i), how)(string, pos, endpos)
            if m is not None:
                return m
        return None


class Prefiltered:
    """A compiled regex, searched only in strings that hold its needles (in others it cannot match): the same
    results as the regex, at the cost of a lookup where it cannot match."""

    def __init__(self, rx: re.Pattern):
        self.rx, self.pattern, self.flags = rx, rx.pattern, rx.flags
        clauses = needles(rx.pattern, ignore_case=bool(rx.flags & re.IGNORECASE)) if not rx.flags & re.VERBOSE else ()
        clauses = [_Needles({0: clause}) for clause in clauses]
        # the clauses of words, heads and infixes only are answered by the index's lookup of the words alone
        self._word_clauses = tuple(c.number for c in clauses if not c.text_list and not c.exact_list)
        self._other_clauses = tuple(c for c in clauses if c.text_list or c.exact_list)

    def possible(self, string: str) -> bool:
        """False when the regex cannot match in the string."""
        if not self._word_clauses and not self._other_clauses:
            return True
        index = _INDEXES.get(string) or text_index(string)
        if self._word_clauses:
            found = index.found()
            for number in self._word_clauses:
                if number not in found:
                    return False
        for clause in self._other_clauses:
            if not clause.any_found(index):
                return False
        return True

    def search(self, string: str, *args) -> re.Match | None:
        return self.rx.search(string, *args) if self.possible(string) else None

    def match(self, string: str, *args) -> re.Match | None:
        return self.rx.match(string, *args) if self.possible(string) else None

    def fullmatch(self, string: str, *args) -> re.Match | None:
        return self.rx.fullmatch(string, *args) if self.possible(string) else None

    def finditer(self, string: str, *args):
        return self.rx.finditer(string, *args) if self.possible(string) else iter(())

    def findall(self, string: str, *args) -> list:
        return self.rx.findall(string, *args) if self.possible(string) else []

    def sub(self, repl, string: str, count: int = 0) -> str:
        return self.rx.sub(repl, string, count) if self.possible(string) else string


def prefiltered(pattern: str, flags: int = 0) -> Prefiltered:
    """re.compile(pattern, flags), searched only in strings that hold its needles."""
    return Prefiltered(re.compile(pattern, flags))


class Listed:
    """A regex `prefix(?:alternative|...)suffix`, searched as the profile's lists are (an Alternation): in an
    indexed sentence, tried only where one of its alternatives' literal beginnings stands (str.find), not at every
    character, where sre cannot skip to the places a match may begin (an alternation ignoring case, after a
    look-behind or \\b). The same matches as the regex itself (`rx`): tests/test_deadlines.py compares them."""

    def __init__(self, prefix: str, alternatives: str, suffix: str):
        self.alternation = Alternation(tuple(_top_level(alternatives)), prefix, suffix, re.I)
        self.rx = self.alternation.full
        self.pattern, self.flags = self.rx.pattern, self.rx.flags
        self.search, self.finditer = self.alternation.search, self.alternation.finditer


def _top_level(alternatives: str) -> list[str]:
    """The alternatives of a regex `a|b|...` (split at the bars outside groups; no character classes)."""
    assert "[" not in alternatives
    out, depth, start, i = [], 0, 0, 0
    while i < len(alternatives):
        char = alternatives[i]
        if char == "\\":
            i += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            out.append(alternatives[start:i])
            start = i + 1
        i += 1
    return [*out, alternatives[start:]]


_DIGIT_RUN = re.compile(r"\d+")


class StartsAt:
    """A prefiltered regex every match of which begins with one of a few beginnings (a month's name, a weekday's),
    or, with numbers=True, also at the beginning of a run of digits (its look-behind excludes a word character before
    a digit), tried (match) only there in the folded sentence (str.find), in order, after the last match's end: the
    matches of finditer, where sre, given a regex that begins with a look-behind, tries it at every character
    (tests/test_deadlines.py and tests/test_prices.py compare them). For regexes with groups, which Listed cannot
    split."""

    def __init__(self, rx: Prefiltered, beginnings, numbers: bool = False):
        self.prefiltered, self.rx, self.pattern, self.flags = rx, rx.rx, rx.pattern, rx.flags
        self.beginnings = _shortest({fold_case(b) for b in beginnings})
        self.numbers = numbers

    def possible(self, string: str) -> bool:
        return self.prefiltered.possible(string)

    def finditer(self, string: str):
        return iter(self.matches(string) if self.prefiltered.possible(string) else ())

    def search(self, string: str) -> re.Match | None:
        found = self.matches(string, first=True) if self.prefiltered.possible(string) else ()
        return found[0] if found else None

    def matches(self, string: str, first: bool = False) -> list[re.Match]:
        """The matches in the string (first: the first alone), without the needles' check."""
        folded = text_index(string).folded
        places = {m.start() for m in _DIGIT_RUN.finditer(string)} if self.numbers else set()
        for beginning in self.beginnings:
            at = folded.find(beginning)
            while at >= 0:
                places.add(at)
                at = folded.find(beginning, at + 1)
        found, end, match = [], -1, self.rx.match
        for at in sorted(places):
            if at >= end and (m := match(string, at)) is not None:
                found.append(m)
                if first:
                    break
                end = m.end()
        return found
