"""The watch profile: what story is tracked, as data (profiles/*.toml), never as code.

A profile names the target (TikTok, its U.S. business; what is NOT the target, e.g. Douyin), the seller,
the sale vocabulary per language, and the known parties with their canonical names, aliases and roles.
`load_profile()` reads and checks a TOML file (the bundled tiktok.toml by default) and compiles its
patterns once; a bad file raises ProfileError naming the file and the problem. Each list is compiled to an
`Alternation` (dealwatch/patterns.py): searched like a `re.Pattern`, with the same matches, but fast.

    profile = load_profile()                       # bundled tiktok.toml
    profile = load_profile("my-deal.toml")         # another deal, or more aliases
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from dealwatch.learned import JudgmentModels, ModelsError, load_models
from dealwatch.patterns import _WORD, Alternation, fold_case

BUNDLED = Path(__file__).resolve().parent / "profiles" / "tiktok.toml"
LANGUAGES = ("en", "de")
VOCAB_KEYS = ("sale_strong", "sale", "sale_weak", "bid", "partner", "negation", "denial", "wish", "competitor",
              "host", "adviser", "official", "deadline", "date_exclude", "price", "price_exclude", "other_deal", "timing",
              "off_topic", "legal")
ROLES = ("candidate", "seller", "government", "media", "platform", "other")


from dealwatch.errors import ProfileError  # noqa: E402  (re-exported)


@dataclass(frozen=True)
class Party:
    """A known organisation or person: canonical name, alias patterns and role."""

    name: str
    aliases: tuple[str, ...]
    role: str = "candidate"
    pattern: Alternation = field(compare=False, repr=False, default=None)  # type: ignore[assignment]
    # what outlets call the party in a definite description ("the retailer", "der Softwarekonzern")
    descriptions: tuple[str, ...] = ()
    description_rx: Alternation | None = field(compare=False, repr=False, default=None)


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """One language's word lists (regex fragments) and their compiled alternations."""

    lang: str
    words: dict[str, tuple[str, ...]]
    compiled: dict[str, Alternation | None] = field(compare=False, repr=False, default_factory=dict)

    def rx(self, key: str) -> Alternation | None:
        return self.compiled.get(key)


@dataclass(frozen=True)
class Profile:
    """A tracked deal: target, seller, vocabulary per language, known parties, relevance settings."""

    name: str
    description: str
    target: str
    target_names: tuple[str, ...]
    target_references: tuple[str, ...]
    not_target: tuple[str, ...]
    seller: tuple[str, ...]
    vocab: dict[str, Vocabulary]
    parties: tuple[Party, ...]
    relevance: dict[str, float]
    source: str = ""
    label: str = ""   # the target as alerts and the report name it ([target] label; default: canonical)
    target_rx: Alternation = field(compare=False, repr=False, default=None)  # type: ignore[assignment]
    reference_rx: Alternation | None = field(compare=False, repr=False, default=None)
    not_target_rx: Alternation | None = field(compare=False, repr=False, default=None)
    seller_rx: Alternation | None = field(compare=False, repr=False, default=None)
    parties_rx: Alternation | None = field(compare=False, repr=False, default=None)  # group p<i> = parties[i]
    # the same names in any case: read only in a headline written all in lower case (facts/text.py, cased_headline)
    parties_any_case_rx: Alternation | None = field(compare=False, repr=False, default=None)
    # each vocabulary list of every language in one alternation: "does any language's list match?" in one search
    merged: dict[str, Alternation | None] = field(compare=False, repr=False, default_factory=dict)
    # the learned weights beside the profile file (<name>.weights.json); none: the rules decide alone
    models: JudgmentModels = field(compare=False, repr=False, default_factory=JudgmentModels)

    def vocabulary(self, lang: str | None) -> Vocabulary:
        """The vocabulary of a language; English when the language is unknown or not in the profile."""
        return self.vocab.get(lang or "", None) or self.vocab.get("en") or next(iter(self.vocab.values()))

    def any_language(self, key: str) -> Alternation | None:
        """The list `key` of every language as one alternation (None when no language has it)."""
        return self.merged.get(key)

    @cached_property
    def every_language(self) -> Vocabulary:
        """Every language's lists as one vocabulary (its lists: the merged ones): one search finds a list's words
        of any language, where searching each language's list costs a search per language."""
        return Vocabulary("*", {}, self.merged)

    def party(self, name: str) -> Party | None:
        for party in self.parties:
            if party.name == name:
                return party
        return None

    def prepare(self) -> Profile:
        """Everything the judgment would otherwise derive from the profile on first use (every alternation's
        needles; a regex per alternative), now. The worker pool's fork server does this once per process, so
        that its workers start with it: otherwise each worker of each cycle spends its first few hundred pages
        deriving it (~20% slower pages, measured), and every clause it registers empties the word memo of the
        text index. Cheap when done already in this process (the caches are process-wide)."""
        for rx in self.searched_alternations():
            rx.prepare()
        return self

    def searched_alternations(self) -> list[Alternation]:
        """The alternations the judgment searches sentences with: the names, the parties' aliases and every list as
        the merged list of every language (any_language). Each language's own lists are left out: preparing them too
        would register their needles with the text index, whose every word would then look up two lists for one."""
        found = [self.target_rx, self.reference_rx, self.not_target_rx, self.seller_rx, self.parties_rx,
                 self.parties_any_case_rx, *self.merged.values()]
        found += [rx for party in self.parties for rx in (party.pattern, party.description_rx)]
        return [rx for rx in found if rx is not None]


def _alt(patterns, flags=re.IGNORECASE, frequent: frozenset[str] = frozenset()) -> Alternation | None:
    patterns = tuple(patterns)
    if not patterns:
        return None
    return Alternation(tuple(f"(?:{p})" for p in patterns), r"(?<![\w])", r"(?![\w])", flags, frequent)


_ALIAS_BEFORE = r"(?<![\w@.-])"
_ALIAS_AFTER = r"(?:'s|'|s(?=\W))?(?:-(?=[A-ZÄÖÜa-zäöü]))?"


def _by_length(aliases: tuple[str, ...]) -> list[str]:
    return sorted(aliases, key=len, reverse=True)


def _alias_rx(aliases: tuple[str, ...], frequent: frozenset[str]) -> Alternation:
    # Case-sensitive; allows a possessive/genitive ending and compounds ("Oracle-Konzern", "Microsofts").
    return Alternation(tuple(f"(?:{a})" for a in _by_length(aliases)), _ALIAS_BEFORE, _ALIAS_AFTER, 0, frequent)


def _parties_rx(parties: list[Party], frequent: frozenset[str], flags: int = 0) -> Alternation | None:
    # one alternative per party, in the profile's order, named p<i> so that a match tells its party
    if not parties:
        return None
    return Alternation(tuple(f"(?P<p{i}>(?:{'|'.join(f'(?:{a})' for a in _by_length(party.aliases))}){_ALIAS_AFTER})"
                             for i, party in enumerate(parties)), _ALIAS_BEFORE, "", flags, frequent)


def _target_rx(names: tuple[str, ...]) -> Alternation:
    # no end boundary: "TikToks", "Tiktok-Geschäft" and "TikTok's" are mentions too
    return Alternation(tuple(f"(?:{n})" for n in names), r"(?<![\w])", "", re.IGNORECASE)


def _strings(data: Any, where: str, path: Path, required: bool = True) -> tuple[str, ...]:
    if data is None and not required:
        return ()
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise ProfileError(f"{path}: {where} must be a list of strings")
    for x in data:
        try:
            re.compile(x)
        except re.error as e:
            raise ProfileError(f"{path}: {where}: bad pattern {x!r}: {e}") from e
    return tuple(data)


_LOADED: dict[tuple[str, bytes], Profile] = {}   # (path, its bytes) -> the profile: read again, not rebuilt


def load_profile(path: str | Path | None = None) -> Profile:
    """Read and check a profile TOML file (None: the bundled tiktok.toml). The file is read every time; while
    its bytes are the same, the same Profile comes back (building one costs ~40-90 ms: `dealwatch run` checks
    the profile before Prefect starts, then its cycle and each batch use it)."""
    path = Path(path) if path is not None else BUNDLED
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ProfileError(f"{path}: cannot read the profile: {e.strerror or e}") from e
    weights = weights_path(path)
    try:
        weights_raw = weights.read_bytes()
    except OSError:
        weights_raw = b""
    key = (str(path), raw + b"\0" + weights_raw)
    profile = _LOADED.get(key)
    if profile is None:
        profile = _load(path, raw)
        if len(_LOADED) >= 8:
            _LOADED.clear()
        _LOADED[key] = profile
    return profile


def weights_path(profile_path: str | Path) -> Path:
    """Where a profile's learned weights live: beside it, <stem>.weights.json."""
    profile_path = Path(profile_path)
    return profile_path.with_name(profile_path.stem + ".weights.json")


def _load(path: Path, raw: bytes) -> Profile:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ProfileError(f"{path}: not valid TOML: {e}") from e
    try:
        return _profile_from(data, path)
    except re.error as e:   # each pattern compiles alone (_strings), but not joined with the others
        raise ProfileError(f"{path}: the patterns do not work together ({e}); an inline flag such as (?i) "
                           f"must be scoped, e.g. (?i:...)") from e


def _profile_from(data: dict, path: Path) -> Profile:
    def table(key: str) -> dict:
        value = data.get(key)
        if not isinstance(value, dict):
            raise ProfileError(f"{path}: missing table [{key}]")
        return value

    meta, target, relevance = table("profile"), table("target"), table("relevance")
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        raise ProfileError(f"{path}: [profile] needs a name")
    if not isinstance(target.get("canonical"), str):
        raise ProfileError(f"{path}: [target] needs canonical = \"...\"")
    names = _strings(target.get("names"), "[target] names", path)
    if not names:
        raise ProfileError(f"{path}: [target] names must not be empty")
    refs = _strings(target.get("references"), "[target] references", path, required=False)
    not_target = _strings(target.get("not_target"), "[target] not_target", path, required=False)
    seller = _strings(target.get("seller"), "[target] seller", path, required=False)
    label = target.get("label", target["canonical"])
    if not isinstance(label, str) or not label.strip():
        raise ProfileError(f"{path}: [target] label must be a non-empty string (the target's name in alerts)")
    # the target's and the seller's names are in most sentences of an article about the deal: poor needles
    frequent = frozenset(w for name in (target["canonical"], *seller) if re.escape(name) == name
                         for w in _WORD.findall(fold_case(name)))

    settings = {"threshold": 4.0, "title_weight": 2.0, "strong_weight": 3.0, "medium_weight": 1.5,
                "weak_weight": 0.5, "min_sentences": 2}
    for key, value in relevance.items():
        if key not in settings:
            raise ProfileError(f"{path}: [relevance] has an unknown key {key!r}")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ProfileError(f"{path}: [relevance] {key} must be a number")
        settings[key] = float(value)

    vocab_data = data.get("vocab")
    if not isinstance(vocab_data, dict) or not vocab_data:
        raise ProfileError(f"{path}: missing [vocab.en] / [vocab.de] tables")
    vocab: dict[str, Vocabulary] = {}
    for lang, words in vocab_data.items():
        if not isinstance(words, dict):
            raise ProfileError(f"{path}: [vocab.{lang}] must be a table")
        unknown = set(words) - set(VOCAB_KEYS)
        if unknown:
            raise ProfileError(f"{path}: [vocab.{lang}] has unknown key(s) {', '.join(sorted(unknown))}")
        lists = {k: _strings(words.get(k), f"[vocab.{lang}] {k}", path, required=False) for k in VOCAB_KEYS}
        for k in ("sale_strong", "bid"):
            if not lists[k]:
                raise ProfileError(f"{path}: [vocab.{lang}] needs a non-empty {k} list")
        vocab[lang] = Vocabulary(lang, lists, {k: _alt(v, frequent=frequent) for k, v in lists.items()})

    parties = []
    seen = set()
    for i, p in enumerate(data.get("party") or []):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"].strip():
            raise ProfileError(f"{path}: [[party]] number {i + 1} needs a name")
        aliases = _strings(p.get("aliases", [re.escape(p["name"])]), f"[[party]] {p['name']} aliases", path)
        role = p.get("role", "candidate")
        if role not in ROLES:
            raise ProfileError(f"{path}: [[party]] {p['name']}: role must be one of {', '.join(ROLES)}, not {role!r}")
        if p["name"] in seen:
            raise ProfileError(f"{path}: [[party]] {p['name']} is listed twice")
        seen.add(p["name"])
        aliases = aliases or (re.escape(p["name"]),)
        descriptions = _strings(p.get("descriptions"), f"[[party]] {p['name']} descriptions", path, required=False)
        parties.append(Party(p["name"], aliases, role, _alias_rx(aliases, frequent), descriptions,
                             _alt(descriptions, frequent=frequent)))

    parties_rx = _parties_rx(parties, frequent)
    merged = {k: _alt(dict.fromkeys(w for v in vocab.values() for w in v.words[k]), frequent=frequent)
              for k in VOCAB_KEYS}
    target_rx = _target_rx(names)
    return Profile(
        name=meta["name"], description=str(meta.get("description", "")), target=target["canonical"],
        target_names=names, target_references=refs, not_target=not_target, seller=seller, vocab=vocab,
        parties=tuple(parties), relevance=settings, source=str(path), label=" ".join(label.split()),
        target_rx=target_rx,
        reference_rx=_alt(refs, frequent=frequent), not_target_rx=_alt(not_target), seller_rx=_alt(seller),
        parties_rx=parties_rx, parties_any_case_rx=_parties_rx(parties, frequent, re.IGNORECASE), merged=merged,
        models=_models(path))


def _models(path: Path) -> JudgmentModels:
    try:
        return load_models(weights_path(path))
    except ModelsError as e:
        raise ProfileError(str(e)) from e
