"""Bidders: the parties an article reports bidding for, negotiating to buy, or seeking a stake in the target.

Role-aware, sentence by sentence, vocabulary from the profile:

* A sentence is a *bid sentence* when it holds a bid cue (bid, offer, in talks to buy, take a stake,
  consortium, would-be buyer; Gebot, Angebot eingereicht, verhandelt über eine Übernahme, Konsortium um,
  einsteigen ...) that is not negated ("is not pursuing a bid", "ein Angebot ist nicht bekannt") and the
  sentence is not about another deal. Cues that only a seller can negate ("would not be selling to X",
  "rejected its offer", "nicht an X verkaufen") keep X a bidder: a rejected bidder was still a bidder.
* Every known party (profile aliases: "the Redmond company", "Ellison", "Mnuchin's fund" ...) named in a bid
  sentence is a bidder, unless its role forbids it (seller, government, media, platform), it carries a
  current official's title ("Treasury Secretary Steven Mnuchin" - but not "former Treasury Secretary"),
  a competitor/host/adviser word stands closer to it than the nearest bid cue ("the gap with Amazon",
  "stored at Google", "law firm Kirkland & Ellis"), someone else only wishes it bought ("should buy", "would
  like Ellison to buy", "fände es gut, wenn ..."), or the article reports it denying any bid ("I have not
  bid", "is not pursuing a bid", "kein Interesse").
* Consortium members: in a sentence with a partner word ("together with", "a group of investors including",
  "darunter", "gemeinsam mit") that names an already found bidder, the other candidates join it.
* Unknown new bidders (not in the profile) are found only in tight frames: "a group led by X", "X-led
  consortium", "bid from X", "X has submitted an offer", "the investment firm X" / "der Technologieinvestor X"
  inside a bid sentence, "Konsortium um X". The name is the capitalised phrase, legal suffixes removed.
* A party named as the speaker's platform ("said on Twitter") is not a bidder.

Each Fact: value = canonical name (or the common name of an unknown party); evidence = the sentence;
detail = {"role": "bidder" | "lead bidder" | "consortium member", "mention": the words matched,
"known": whether the party is in the profile}.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from dealwatch.facts.text import about_other_deal, article_sentences
from dealwatch.model import Article, Fact
from dealwatch.profile import Party, Profile, Vocabulary

WORD = re.compile(r"[\w'&.-]+")
CLAUSE_BREAK = re.compile(r"[;:–—]|,\s+(?:which|who|while|whereas|but|although|though|and\s+(?:the|a)\s|"
                          r"die|der|das|dem|den|wobei|während|aber|doch)\b|\bbut\b|\baber\b")
SELLER_NEGATABLE = re.compile(
    r"(?:not|nicht|never)\s+(?:be\s+)?(?:selling|sell|to\s+sell|zu\s+verkaufen|verkaufen)\b.{0,60}?\b(?:to|an)\s*$", re.I)
IMMUNE_CUES = re.compile(r"reject\w*|turn\w*\s+down|abgewiesen|abgelehnt|abgeblitzt|selling|verkaufen|sale to", re.I)
FORMER = re.compile(r"\b(?:former|ex-|ehemalig\w*|früher\w*|Ex-)\s*$", re.I)
AFTER_NEGATION = re.compile(r"^\W{0,3}(?:\w+\W+){0,4}?(?:(?:ist|sind|wurde|is|was|are|were)\s+(?:nicht|not|nie|never)\s+"
                            r"(?:bekannt|known|bestätigt|confirmed)|nicht\s+(?:äußern|kommentieren))", re.I)

# Unknown organisations ------------------------------------------------------------------------------
_NAME = r"(?P<name>(?:[A-Z][\w&.'-]*|[A-Z]{2,}\w*)(?:\s+(?:&\s+)?(?:[A-Z][\w&.'-]*|of|de)){0,3})"
DESCRIPTOR_EN = (r"(?:investment|private[- ]equity|venture(?:[- ]capital)?|buyout|hedge|technology|tech|"
                 r"advertising|ad[- ]tech|software|media|AI|search|e-commerce|gaming|sovereign|state)\s+"
                 r"(?:firm|fund|company|group|startup|start-up|investor|giant|maker|house)|"
                 r"investor|billionaire|entrepreneur|fund|startup|start-up|conglomerate|retailer|"
                 r"(?:U\.S\.|American|Canadian|Japanese|London-based|New York-based|[A-Z][a-z]+-based)\s+"
                 r"(?:firm|company|investor|fund|group)")
DESCRIPTOR_DE = (r"[\w-]*(?:[Ii]nvestor(?:in)?|[Gg]esellschaft|[Ff]irma|[Uu]nternehmen|[Kk]onzern|[Ff]onds|Start-?up|"
                 r"[Gg]ruppe|[Hh]ändler|[Rr]iese|[Ee]ntwickler|[Aa]nbieter)|Milliardär|Unternehmer")
UNKNOWN_FRAMES = [re.compile(p) for p in (
    rf"\b(?:group|consortium|team|bid|offer|effort|investors?|shareholders?|owners?|partners?|backers?)\s+"
    rf"(?:(?!banks|lenders|advis[eo]rs|lawyers|analysts|underwriters)\w+\s+){{0,2}}"
    rf"(?:led|organi[sz]ed|headed|formed|"
    rf"fronted|spearheaded)\s+by\s+(?:the\s+)?(?:(?:{DESCRIPTOR_EN})\s+)?{_NAME}",
    rf"{_NAME}-led\s+(?:group|consortium|bid|offer|effort|investor group)",
    rf"\b(?:bid|offer|proposal)\s+(?:from|by)\s+(?:the\s+)?(?:(?:{DESCRIPTOR_EN})\s+)?{_NAME}",
    rf"(?:^|[,;]\s+|\band\s+)(?:the\s+)?{_NAME}(?:,[^,]{{3,80}},)?\s+(?:has|have|had)?\s*(?:also\s+|now\s+|formally\s+)?"
    rf"(?:made|submitted|placed|lodged|tabled|put\s+in|offered)\s+(?:a|an|its)\s+(?:\S+\s+){{0,3}}?(?:bid|offer|proposal)",
    rf"(?:^|[,;]\s+)(?:the\s+)?{_NAME}\s+(?:has|had)\s+(?:also\s+)?(?:bid|offered)\s+(?:for|\$)",
    rf"^(?:the\s+)?{_NAME}(?:\s+\([^)]*\))?(?:,[^,]{{3,90}},)?\s+(?:(?:said|says|confirmed|announced)\s+(?:\w+\s+){{0,3}}?"
    rf"(?:it|that\s+it)\s+)?(?:has\s+|had\s+|have\s+|is\s+|are\s+|was\s+|would\s+|will\s+)?(?:also\s+|now\s+|formally\s+|reportedly\s+)?"
    rf"(?:teamed\s+up\s+with\s+[^.]{{0,80}}?to\s+(?:make|submit|bid)|made|submitted|placed|offered|bid\s+for|"
    rf"(?:in\s+talks|negotiating)\s+to\s+(?:buy|acquire|invest)|seeking\s+to\s+(?:buy|acquire)|"
    rf"(?:among|one\s+of)\s+the\s+(?:\w+\s+)?(?:suitors|bidders|buyers|contenders|would-be\s+buyers)|"
    rf"(?:weighing|considering|mulling|preparing|eyeing|exploring|pursuing)\s+(?:a|an)\s+(?:\w+\s+)?(?:bid|offer|stake|purchase))",
    rf"^(?:(?:Das|Der|Die)\s+(?:[\w-]+\s+)?(?:{DESCRIPTOR_DE})\s+)?{_NAME}\s+(?:(?:gehört|zählt)\s+zu\s+den\s+(?:\w+\s+)?"
    rf"(?:Interessenten|Bietern|Käufern|Kaufinteressenten)|(?:erwägt|prüft|plant)\s+(?:ein|einen)\s+(?:\w+\s+)?"
    rf"(?:Gebot|Angebot|Einstieg|Kauf)|bietet\s+(?:für|mit|\d)|will\s+(?:Tiktok|TikTok|die\s+App|das\s+US-Geschäft)\s+"
    rf"(?:kaufen|übernehmen))",
    rf"\b(?:suitors|bidders|buyers|contenders|interested\s+parties|parties\s+interested|would-be\s+buyers|Interessenten|"
    rf"Bieter|Bietern|Käufer|Kaufinteressenten)\s+(?:\w+\s+){{0,2}}(?:include|including|are|such\s+as|like|sind|darunter|"
    rf"gehören|zählen)\s+(?:the\s+|auch\s+)?(?:(?:{DESCRIPTOR_EN}|{DESCRIPTOR_DE})\s+)?{_NAME}",
    rf"\b(?:group|consortium|team|investor\s+group|bidding\s+group)\s+(?:that\s+)?(?:includes|including|comprising|"
    rf"made\s+up\s+of|of|with)\s+(?:the\s+)?(?:(?:{DESCRIPTOR_EN})\s+)?{_NAME}",
    rf"\b(?:\w*[Kk]onsortium|Gruppe|Bietergruppe|Investorengruppe)\s+(?:aus|bestehend\s+aus|mit)\s+(?:den\s+|dem\s+|der\s+)?"
    rf"(?:(?:{DESCRIPTOR_DE})\s+)?{_NAME}",
    rf"\b(?:Konsortium|Gruppe|Bietergruppe|Investorengruppe)\s+(?:um|unter\s+Führung\s+(?:von|des|der))\s+(?:den\s+|die\s+|das\s+)?"
    rf"(?:(?:{DESCRIPTOR_DE})\s+)?{_NAME}",
    rf"\b(?:Angebot|Gebot|Offerte)\s+(?:von|des|der)\s+(?:(?:{DESCRIPTOR_DE})\s+)?{_NAME}",
    rf"(?:^|[,;]\s+)(?:(?:Das|Der|Die)\s+(?:[\w-]+\s+)?(?:{DESCRIPTOR_DE})\s+)?{_NAME}\s+hat\s+(?:\w+\s+){{0,4}}?"
    rf"(?:ein|sein)\s+(?:\w+\s+)?(?:Angebot|Gebot)\b",
)]
DESCRIPTOR_APPOSITION = re.compile(
    rf"(?:(?:\b(?:the|a|an)\s+)?(?:[\w-]+\s+)?(?:{DESCRIPTOR_EN})|\b(?:der|die|das|dem|den)\s+(?:[\w-]+\s+)?(?:{DESCRIPTOR_DE}))"
    rf"\s+{_NAME}")
LIST_CONTINUATION = re.compile(
    rf"^(?:\s*,\s*|\s+(?:and|und|sowie|&)\s+|\s*,\s*(?:and|und|sowie)\s+)(?:the\s+|der\s+|die\s+|das\s+|den\s+)?"
    rf"(?:(?:{DESCRIPTOR_EN}|{DESCRIPTOR_DE})\s+)?{_NAME}")
LIST_ITEM_END = re.compile(
    r"\s*(?:[,.;:)]|$)|\s+(?:\([^)]*\)|and|und|sowie|or|oder|in|im|to|zu|would|will|have|has|had|are|were|is|was|"
    r"hat|haben|sollen|wollen|gemeinsam|together|as|als|for|für|aus|from)\b")
LEADS_BEFORE = re.compile(r"(?:led|organi[sz]ed|headed|fronted)\s+by\s+(?:the\s+)?(?:[\w-]+\s+){0,3}$|"
                          r"(?:Konsortium|Gruppe|Bietergruppe|Investorengruppe)\s+(?:um|unter\s+Führung)\s+(?:\S+\s+){0,3}$",
                          re.I)
LEADS_AFTER = re.compile(r"-?\s*(?:led|geführt\w*|angeführt\w*)\b|\s+(?:leads|führt)\s+(?:a|an|the|ein\w*|das|die)\b",
                         re.I)
ON_PLATFORM = re.compile(r"\b(?:said|says|wrote|writes|posted|posts|announced|told\s+\w+|sagte|schrieb|erklärte|"
                         r"teilte|kündigte)\b(?:\s+\S+){0,4}?\s+(?:on|auf|via|in\s+a\s+(?:post|tweet)\s+on)\s*$", re.I)
ADVISE_VERB = re.compile(r"advis|berät|berat|Berater", re.I)
STOP_NAMES = {
    "the", "a", "an", "and", "but", "in", "on", "it", "its", "he", "she", "they", "this", "that", "der", "die", "das",
    "ein", "eine", "er", "sie", "es", "us", "u.s.", "usa", "china", "chinese", "american", "americans", "president",
    "tiktok", "bytedance", "beijing", "washington", "white", "house", "congress", "senate", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "montag", "dienstag", "mittwoch", "donnerstag",
    "freitag", "samstag", "sonntag", "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "januar", "februar", "märz", "juni", "juli", "oktober",
    "dezember", "people", "analysts", "officials", "reporting", "editing", "mr", "ms", "according", "group",
    "investors", "investor", "some", "one", "two", "three", "several", "other", "others", "new", "microsoft's",
    "chief", "executive", "ceo", "company", "firm", "which", "who", "when", "after", "before", "while", "as",
    "if", "for", "with", "by", "to", "of", "auch", "nach", "zudem", "laut", "wie", "dabei", "bereits", "jetzt",
    "wer", "was", "wann", "warum", "welche", "welcher", "welches", "who", "what", "why", "how", "which", "whom",
    "man", "jemand", "niemand", "someone", "nobody", "anyone", "everyone", "we", "wir", "i", "ich", "you", "sie",
    "und", "oder", "aber", "doch", "so", "da", "dann", "denn", "ob", "dass", "weil", "here", "there", "hier",
}
LEADING_WORDS = {"the", "der", "die", "das", "den", "dem", "firm", "investor", "billionaire", "activist", "fund",
                 "startup", "company", "investment", "venture", "private", "equity", "finanzinvestor", "investor",
                 "konzern", "unternehmen", "milliardär", "unternehmer", "technologieinvestor"}
LEGAL_SUFFIXES = {"inc", "inc.", "corp", "corp.", "corporation", "co", "co.", "company", "ag", "se", "llc", "ltd",
                  "ltd.", "limited", "plc", "gmbh", "sa", "lp", "group", "holdings", "international", "management"}


@dataclass
class Mention:
    name: str          # canonical (known party) or cleaned common name (unknown)
    text: str          # the words matched
    start: int
    end: int
    party: Party | None


def clean_name(raw: str) -> str:
    """Common name of an organisation: no leading article, possessive or trailing legal suffix."""
    tokens = raw.strip().strip(",.;:").split()
    while len(tokens) > 1 and tokens[0].lower() in LEADING_WORDS:
        tokens.pop(0)
    if tokens:
        tokens[-1] = re.sub(r"(?:'s|')$", "", tokens[-1])
    while len(tokens) > 1 and tokens[-1].lower().strip(".,") in LEGAL_SUFFIXES | {"and", "&", "of"}:
        tokens.pop()
    return " ".join(tokens).strip(" ,.")


def _words_between(text: str) -> int:
    return len(WORD.findall(text))


def known_mentions(sentence: str, profile: Profile) -> list[Mention]:
    """The profile's parties named in a sentence (longest alias first, no overlaps)."""
    found: list[Mention] = []
    if profile.parties_rx is None:
        return found
    pos = 0
    while pos < len(sentence):
        m = profile.parties_rx.search(sentence, pos)
        if m is None:
            break
        # the alternation takes the first party whose alias matches here; prefer the longest match at this spot
        party = profile.parties[int(m.lastgroup[1:])]
        best = m
        for candidate in profile.parties:
            other = candidate.pattern.match(sentence, m.start())
            if other and other.end() > best.end():
                best, party = other, candidate
        found.append(Mention(party.name, best.group(0), best.start(), best.end(), party))
        pos = max(best.end(), m.start() + 1)
    return found


def _vocabs(profile: Profile, lang: str | None) -> list[Vocabulary]:
    first = profile.vocabulary(lang)
    return [first] + [v for v in profile.vocab.values() if v is not first]


def _all(vocabs: list[Vocabulary], key: str, sentence: str) -> list[re.Match]:
    out = []
    for v in vocabs:
        rx = v.rx(key)
        if rx is not None:
            out.extend(rx.finditer(sentence))
    return out


def _cue_negated(sentence: str, cue: re.Match, vocabs: list[Vocabulary]) -> bool:
    if IMMUNE_CUES.fullmatch(cue.group(0).strip()) or IMMUNE_CUES.search(cue.group(0)):
        return False
    before = sentence[max(0, cue.start() - 40):cue.start()]
    # only the same clause counts
    parts = CLAUSE_BREAK.split(before)
    before = parts[-1] if parts else before
    words = WORD.findall(before)[-4:]
    window = " ".join(words)
    for v in vocabs:
        rx = v.rx("negation")
        if rx is not None and rx.search(window):
            return True
    return bool(AFTER_NEGATION.match(sentence[cue.end():cue.end() + 60]))


def _near(sentence: str, mention: Mention, matches: list[re.Match], max_words: int = 4) -> int | None:
    """Distance in words from the mention to the nearest match within max_words in the same clause."""
    best = None
    for m in matches:
        if m.end() <= mention.start:
            gap = sentence[m.end():mention.start]
        elif m.start() >= mention.end:
            gap = sentence[mention.end:m.start()]
        else:
            continue
        if CLAUSE_BREAK.search(gap) and _words_between(gap) > 1:
            continue
        d = _words_between(gap)
        if d <= max_words and (best is None or d < best):
            best = d
    return best


def _cue_distance(sentence: str, mention: Mention, cues: list[re.Match]) -> int:
    best = 10 ** 6
    for m in cues:
        if m.end() <= mention.start:
            d = _words_between(sentence[m.end():mention.start])
        elif m.start() >= mention.end:
            d = _words_between(sentence[mention.end:m.start()])
        else:
            d = 0
        best = min(best, d)
    return best


def _is_official(sentence: str, mention: Mention, vocabs: list[Vocabulary]) -> bool:
    before = sentence[max(0, mention.start - 45):mention.start]
    for v in vocabs:
        rx = v.rx("official")
        if rx is None:
            continue
        for m in rx.finditer(before):
            rest = before[m.end():]
            if _words_between(rest) <= 2 and not FORMER.search(before[:m.start()]):
                return True
    return False


def unknown_mentions(sentence: str, profile: Profile, known: list[Mention], strong_sentence: bool) -> list[Mention]:
    """Organisations not in the profile, in the tight frames of a bid."""
    frames = list(UNKNOWN_FRAMES)
    if strong_sentence:
        frames.append(DESCRIPTOR_APPOSITION)
    out: list[Mention] = []

    def add(raw: str, start: int) -> bool:
        name = clean_name(raw)
        if not name or name.casefold() in STOP_NAMES or name.split()[0].casefold() in STOP_NAMES:
            return False
        if len(name) < 2 or name.isdigit() or re.fullmatch(DESCRIPTOR_DE, name.split()[0]):
            return False
        if any(k.start <= start < k.end or start <= k.start < start + len(raw) for k in known):
            return True  # a known party (or part of one): handled by its profile entry, but the list goes on
        if profile.target_rx.match(name) or (profile.seller_rx and profile.seller_rx.search(name)):
            return False
        if not any(u.name == name for u in out):
            out.append(Mention(name, raw, start, start + len(raw), None))
        return True

    for rx in frames:
        for m in rx.finditer(sentence):
            if not add(m.group("name"), m.start("name")):
                continue
            end = m.end("name")
            while True:  # "led by X, Y and Z"
                nxt = LIST_CONTINUATION.match(sentence[end:])
                if not nxt or not LIST_ITEM_END.match(sentence[end + nxt.end("name"):]):
                    break
                if not add(nxt.group("name"), end + nxt.start("name")):
                    break
                end += nxt.end("name")
    return out


def _is_subject_of_cue(sentence: str, mention: Mention, cues: list[re.Match]) -> bool:
    """The mention is the subject right before a bid cue, an apposition in commas allowed."""
    for cue in cues:
        if cue.start() < mention.end:
            continue
        gap = sentence[mention.end:cue.start()]
        gap = re.sub(r"^\s*(?:\([^)]*\))?\s*,[^,]{1,90},", " ", gap)
        if "," in gap or ";" in gap:
            continue
        if _words_between(gap) <= 4 and not re.search(r"\b(?:and|und|with|mit|than|als|like|wie|said|says|told|"
                                                      r"sagte|sagt|erklärte|meinte)\b", gap):
            return True
    return False


def _may_bid(sentence: str, mention: Mention, cues: list[re.Match], vocabs: list[Vocabulary]) -> bool:
    """Whether a party named in a bid sentence can be a bidder there (role, title, nearby role words, wishes)."""
    return _may_bid_cached(sentence, mention, cues, vocabs, _role_matches(sentence, tuple(vocabs)))


@lru_cache(maxsize=256)
def _role_matches(sentence: str, vocabs: tuple[Vocabulary, ...]) -> dict[str, list[re.Match]]:
    return {key: _all(list(vocabs), key, sentence) for key in ("competitor", "host", "adviser", "wish")}


def _may_bid_cached(sentence: str, mention: Mention, cues: list[re.Match], vocabs: list[Vocabulary],
                    roles: dict[str, list[re.Match]]) -> bool:
    if mention.party is not None and mention.party.role != "candidate":
        return False
    if _is_official(sentence, mention, vocabs):
        return False
    if ON_PLATFORM.search(sentence[max(0, mention.start - 80):mention.start]):
        return False  # "McCourt said on Twitter that ...": the platform a statement was made on
    wishes = roles["wish"]
    if wishes and (_near(sentence, mention, wishes, max_words=6) is not None
                   or any(w.start() <= mention.start <= w.end() for w in wishes)):
        return False
    if _is_subject_of_cue(sentence, mention, cues):
        return True  # "Triller, a smaller rival app, has also tabled an offer"
    cue_d = _cue_distance(sentence, mention, cues)
    for key in ("competitor", "host", "adviser"):
        matches = roles[key]
        if key == "adviser":  # "law firm X" before the name; after it only "X advises", "X, the adviser"
            matches = [m for m in matches if m.end() <= mention.start or ADVISE_VERB.match(m.group(0))]
        d = _near(sentence, mention, matches)
        if d is not None and d < cue_d:
            return False
    return True


def _denied_parties(sentences, profile: Profile, vocabs: list[Vocabulary]) -> set[str]:
    denied = set()
    for sentence in sentences:
        hits = _all(vocabs, "denial", sentence)
        if not hits:
            continue
        mentions = known_mentions(sentence, profile)
        for h in hits:
            # the denial's subject: the party right before it ("Amazon denied ..."), else the sentence's first
            # candidate ("Walmart, which teamed up with Microsoft, said it was not interested ...")
            before = [m for m in mentions if m.end <= h.start() and m.party and m.party.role == "candidate"]
            if before:
                close = before[-1] if _words_between(sentence[before[-1].end:h.start()]) <= 3 else before[0]
                denied.add(close.name)
            elif re.match(r"\s*[\"„“]?\s*(?:I|Ich|We|Wir)\b", sentence) or sentence.lstrip().startswith(("„", '"')):
                after = [m for m in mentions if m.start >= h.end() and m.party and m.party.role == "candidate"]
                if after:
                    denied.add(after[0].name)
    return denied


def extract_bidders(article: Article, profile: Profile) -> list[Fact]:
    """The bidders an article reports, one Fact per mention found (judge() deduplicates)."""
    vocabs = _vocabs(profile, article.lang)
    sentences = article_sentences(article.title, article.text)
    denied = _denied_parties(sentences, profile, vocabs)
    facts: list[Fact] = []
    found: set[str] = set()
    partner_sentences: list[tuple[str, list[Mention]]] = []

    for sentence in sentences:
        if _all(vocabs, "other_deal", sentence) or about_other_deal(sentence, profile):
            continue
        cues = _all(vocabs, "bid", sentence)
        partners = _all(vocabs, "partner", sentence)
        if not cues and not partners:
            continue
        mentions = known_mentions(sentence, profile)
        live = [c for c in cues if not _cue_negated(sentence, c, vocabs)]
        if partners:
            partner_sentences.append((sentence, mentions))
        if not live:
            continue
        mentions = mentions + unknown_mentions(sentence, profile, mentions, strong_sentence=True)
        named_here: set[str] = set()
        for mention in mentions:
            if mention.name in named_here or mention.name in denied or not _may_bid(sentence, mention, live, vocabs):
                continue
            named_here.add(mention.name)
            role = "bidder"
            if LEADS_BEFORE.search(sentence[max(0, mention.start - 60):mention.start]) or LEADS_AFTER.match(
                    sentence[mention.end:mention.end + 30]):
                role = "lead bidder"
            elif partners and _near(sentence, mention, partners, max_words=6) is not None:
                role = "consortium member"
            facts.append(Fact("bidder", mention.name, sentence,
                              {"role": role, "mention": mention.text.strip(" -,"), "known": mention.party is not None}))
            found.add(mention.name)

    # consortium members named next to a bidder in a partner sentence
    for sentence, mentions in partner_sentences:
        if not any(m.name in found for m in mentions):
            continue
        partners = _all(vocabs, "partner", sentence)
        for mention in mentions:
            if mention.name in found or mention.name in denied:
                continue
            if mention.party is None or _near(sentence, mention, partners, max_words=6) is None:
                continue
            if not _may_bid(sentence, mention, partners, vocabs):
                continue
            facts.append(Fact("bidder", mention.name, sentence,
                              {"role": "consortium member", "mention": mention.text.strip(" -,"), "known": True}))
            found.add(mention.name)
    return facts
