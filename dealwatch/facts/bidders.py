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
* More frames for unknown parties (held-out styles): an apposition or a city after the name ("Nordlicht Capital aus
  Hamburg hat ... ein Angebot eingereicht"), a partner on the offer ("working alongside Northwind Holdings on the
  offer"), a company named through its chief ("Rumble CEO Chris Pavlovski said his company would join a consortium
  to bid"), a person with a description or a past role ("Real estate mogul Jane Holloway said she has put together
  a group", "former Activision chief Bobby Kotick" - the past employer is masked, not another deal), "emerged as a
  surprise suitor", "is weighing an offer", "expressed interest in buying", "co-invest in the bid", "interest from
  five parties, including X", German verb-second order ("will nun auch der Fahrdienstvermittler Velora
  einsteigen"), "Zu den Investoren sollen X, Y und Z gehören". A phrase ending in a description ("Hamburger
  Investor") is not a name; a short form of a name found in full elsewhere ("Zephyr") takes the full name.
* Speculation by others is a wish, not a bid: "an analyst said X would be the logical buyer", "X could be a
  natural buyer", "hält X für den naheliegenden Käufer", "Warum Amazon Tiktok kaufen sollte" (profile `wish`).
* A definite description as the subject of a bid ("The retailer said it would bid", "Der Softwarekonzern
  verhandelt ...") is resolved to a party named in the two sentences before whose profile `descriptions` fit it,
  or for a generic head ("the company") to the only candidate named in the sentence before.

Each Fact: value = canonical name (or the common name of an unknown party); evidence = the sentence;
detail = {"role": "bidder" | "lead bidder" | "consortium member", "mention": the words matched,
"known": whether the party is in the profile}.
"""
from __future__ import annotations

import math
import re
from bisect import bisect_left
from dataclasses import dataclass

from dealwatch.facts.text import (SentenceMemo, about_other_deal, article_sentences, list_holds, mask_past_roles,
                                  recent_sentences, target_spans, vocab_matches)
from dealwatch.model import Article, Fact
from dealwatch.patterns import Alternation, leads, prefiltered, text_index
from dealwatch.profile import Party, Profile, Vocabulary

WORD = re.compile(r"[\w'&.-]+")
CLAUSE_BREAK = re.compile(r"[;:–—]|,\s+(?:which|who|while|whereas|but|although|though|and\s+(?:the|a)\s|"
                          r"die|der|das|dem|den|wobei|während|aber|doch)\b|\bbut\b|\baber\b")
SELLER_NEGATABLE = re.compile(
    r"(?:not|nicht|never)\s+(?:be\s+)?(?:selling|sell|to\s+sell|zu\s+verkaufen|verkaufen)\b.{0,60}?\b(?:to|an)\s*$", re.I)
IMMUNE_CUES = re.compile(r"reject\w*|turn\w*\s+down|abgewiesen|abgelehnt|abgeblitzt|selling|verkaufen|sale to", re.I)
NOT_ONLY = re.compile(r"\b(?:not\s+only|not\s+just|nicht\s+nur)\b", re.I)
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
                 r"[Gg]ruppe|[Hh]ändler|[Rr]iese|[Ee]ntwickler|[Aa]nbieter|[Vv]ermittler|[Bb]etreiber|[Hh]ersteller|"
                 r"[Vv]erlag|[Bb]ank)|[\w-]+dienst|Milliardär(?:in)?|Unternehmer(?:in)?")
_DESCRIPTION_DE = re.compile(DESCRIPTOR_DE)
# a person introduced by a description: "Real estate mogul Jane Holloway", "Tech investor ..."
PERSON_DESC = (r"(?:[A-Za-z][\w-]*\s+){0,3}?(?:mogul|tycoon|billionaire|investor|entrepreneur|businessman|businesswoman|"
               r"financier|magnate|executive)\s+")
# "former Activision chief", "ex-Disney boss": a person's past role, not the party
ROLE_PREFIX = (r"(?:(?:[Ff]ormer|[Ee]x-|[Oo]netime|[Ee]hemalige[rn]?)\s*(?:[A-Z][\w&.-]*\s+){0,2}"
               r"(?:chief(?:\s+executive)?|CEO|boss|head|executive|founder|chairman|president|Chef|Vorstandschef|Gründer)\s+)")
ADVERBS_DE = r"(?:(?:ebenfalls|auch|nun|jetzt|offenbar|angeblich|Insidern\s+zufolge|nach\s+eigenen\s+Angaben)\s+){0,3}"
UNKNOWN_FRAMES = [prefiltered(p) for p in (
    # "Granite Peak Partners has held early talks with ByteDance about acquiring TikTok's U.S. business"
    rf"^(?:the\s+)?{_NAME}(?:,[^,]{{3,90}},)?\s+(?:has\s+|have\s+|had\s+|is\s+|was\s+|are\s+)?(?:also\s+|reportedly\s+)?"
    rf"(?:held|holding|in)\s+(?:\w+\s+)?(?:talks|discussions|negotiations)\s+(?:with\s+\S+\s+)?(?:about|on|over|to)\s+"
    rf"(?:acquiring|buying|investing|a\s+(?:deal|purchase|bid|stake)|an\s+(?:offer|investment|acquisition)|buy|acquire)",
    # "received interest from at least five parties for TikTok's U.S. business, including Crescent Bay Capital and Oracle"
    rf"\b(?:interest|approaches|offers|bids)\s+from\s+(?:[\w-]+\s+){{0,5}}?(?:parties|suitors|companies|groups|investors|"
    rf"bidders)\b[^;]{{0,60}}?,?\s+(?:including|such\s+as|among\s+them)\s+(?:the\s+)?{_NAME}",
    # "Zu den Investoren sollen Oracle, Silver Lake und MGX gehören"
    rf"\bZu\s+den\s+(?:\w+\s+){{0,2}}(?:Investoren|Bietern|Käufern|Interessenten|Geldgebern|Kaufinteressenten)\s+"
    rf"(?:\S+\s+){{0,4}}?(?:sollen|soll|gehören|gehört|zählen|zählt)\s+(?:auch\s+|demnach\s+)?{_NAME}",
    # the subject of a bid verb, reported or not: "Stellar Ventures, a venture firm, said it would co-invest in the bid",
    # "Jane Holloway said on Wednesday she has put together a group of investors to bid",
    # "Former Activision boss Bobby Kotick has also expressed interest in buying the app"
    rf"^(?:{PERSON_DESC}|{ROLE_PREFIX})?{_NAME}(?:,[^,]{{3,90}},)?\s+(?:(?:said|says|confirmed|announced|told\s+\w+)\s+"
    rf"(?:on\s+\w+\s+|\w+\s+)?(?:that\s+)?(?:it|he|she|they)\s+)?(?:has\s+|had\s+|have\s+|is\s+|was\s+|would\s+|will\s+)?"
    rf"(?:also\s+|now\s+)?(?:co-invest|invest|participate|take\s+part|join)\s+in\s+(?:the|its|a|an|their|that)\s+(?:\w+\s+)?"
    rf"(?:bid|offer|consortium|deal)",
    rf"^(?:{PERSON_DESC}|{ROLE_PREFIX})?{_NAME}(?:,[^,]{{3,90}},)?\s+(?:(?:said|says|confirmed|announced)\s+"
    rf"(?:\w+\s+){{0,3}}?(?:that\s+)?(?:it|he|she|they)\s+)?(?:has\s+|had\s+|have\s+|is\s+|was\s+)?(?:also\s+|now\s+)?"
    rf"(?:(?:(?:put|putting)\s+together|assembl(?:ed|ing)|form(?:ed|ing)|build(?:ing)?|organi[sz](?:ed|ing))\s+(?:a|an)\s+"
    rf"(?:\w+\s+){{0,3}}?(?:group|consortium|bid|offer)|(?:lined\s+up|arranged|secured|raised)\s+(?:the\s+)?"
    rf"(?:financing|funding|money|backing)\s+for\s+(?:a|an|its|his|her|the)\s+(?:bid|offer))",
    rf"^(?:{PERSON_DESC}|{ROLE_PREFIX})?{_NAME}(?:,[^,]{{3,90}},)?\s+(?:has\s+|had\s+|have\s+)?(?:also\s+)?"
    rf"(?:expressed|shown|signall?ed|voiced)\s+interest\s+in\s+(?:buying|acquiring|bidding|an?\s+(?:bid|offer|stake))",
    # German inverted order: "Offenbar will nun auch der Fahrdienstvermittler Velora beim US-Geschäft einsteigen"
    rf"\b(?:will|wollen|möchte|soll|plant|prüft|erwägt)\s+{ADVERBS_DE}(?:der|die|das)\s+(?:[\w-]+\s+)?(?:{DESCRIPTOR_DE})\s+"
    rf"{_NAME}\s+(?:\S+\s+){{0,6}}?(?:einsteigen|mitbieten|bieten|kaufen|übernehmen|erwerben)\b",
    rf"\b(?:group|consortium|team|bid|offer|effort|investors?|shareholders?|owners?|partners?|backers?)\s+"
    rf"(?:(?!banks|lenders|advis[eo]rs|lawyers|analysts|underwriters)\w+\s+){{0,2}}"
    rf"(?:led|organi[sz]ed|headed|formed|"
    rf"fronted|spearheaded)\s+by\s+(?:the\s+)?{ROLE_PREFIX}?(?:(?:{DESCRIPTOR_EN})\s+)?{_NAME}",
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
    rf"(?:Interessenten|Bietern|Käufern|Kaufinteressenten)|(?:erwägt|prüft|plant)\s+{ADVERBS_DE}(?:ein|einen)\s+(?:\w+\s+)?"
    rf"(?:Gebot|Angebot|Einstieg|Kauf)|bietet\s+{ADVERBS_DE}(?:für|mit|\d))",
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
    rf"(?:^|[,;]\s+)(?:(?:Das|Der|Die)\s+(?:[\w-]+\s+)?(?:{DESCRIPTOR_DE})\s+)?{_NAME}(?:\s+aus\s+[A-ZÄÖÜ]\w+)?\s+"
    rf"(?:hat|habe|hätte|soll)\s+(?:\w+\s+){{0,4}}?(?:ein|sein|ihr)\s+(?:\w+\s+)?(?:Angebot|Gebot|Kaufangebot)\b",
    # a partner named on the offer: "working alongside Northwind Holdings on the offer", "gemeinsam mit X ein Gebot"
    rf"\b(?:alongside|together\s+with|teamed\s+up\s+with|partner(?:ed|ing)\s+with|working\s+with|joined\s+by|"
    rf"zusammen\s+mit|gemeinsam\s+mit)\s+(?:the\s+|dem\s+|der\s+)?(?:(?:{DESCRIPTOR_EN}|{DESCRIPTOR_DE})\s+)?{_NAME}"
    rf"\s+(?:on|in|for|bei|für)\s+(?:the|its|their|a|an|this|that|dem|der|das|einem|einer|ein)\s+(?:\w+\s+)?"
    rf"(?:offer|bid|proposal|consortium|effort|Angebot|Gebot|Konsortium)\b",
    # a company named through its chief: "Rumble CEO Chris Pavlovski said his company would join a consortium to bid"
    rf"{_NAME}\s+(?:CEO|chief\s+executive|founder|co-founder|chairman|boss|Chef|Gründer|Vorstandschef)\s+"
    rf"(?:[A-Z][\w.'-]+\s+){{1,3}}(?:said|says|told\s+\w+|sagte|erklärte)\s*,?\s+(?:that\s+|dass\s+)?"
    rf"(?:his|her|its|the|sein|ihr)\s+(?:company|firm|group|Unternehmen|Konzern)\s+(?:\w+\s+){{0,4}}?"
    rf"(?:bid|offer|buy|acquire|consortium|bieten|Angebot|Gebot|Konsortium)",
    # "Lumen Media emerged as a surprise suitor", "X throws its hat into the ring", "X is weighing an offer"
    rf"(?:^|[,;]\s+|\band\s+)(?:the\s+)?{_NAME}(?:,[^,]{{3,80}},)?\s+(?:has\s+|have\s+|had\s+|also\s+|now\s+)*"
    rf"(?:emerged\s+as\s+(?:a|an|the)\s+(?:\w+\s+){{0,2}}(?:suitor|bidder|buyer|contender)|"
    rf"thr(?:ew|ows|own)\s+(?:its|his|her|their)\s+hat|"
    rf"(?:is|are|was)\s+(?:also\s+|now\s+)?(?:weighing|considering|mulling|preparing|exploring)\s+(?:a|an)\s+(?:\w+\s+)?"
    rf"(?:bid|offer))",
)]
DESCRIPTOR_APPOSITION = prefiltered(
    rf"(?:(?:\b(?:the|a|an)\s+)?(?:[\w-]+\s+)?(?:{DESCRIPTOR_EN})|\b(?:[Dd]er|[Dd]ie|[Dd]as|[Dd]em|[Dd]en)\s+(?:[\w-]+\s+)?(?:{DESCRIPTOR_DE}))"
    rf"\s+{_NAME}")
# What every match of DESCRIPTOR_APPOSITION holds: the end of a descriptor (each alternative of DESCRIPTOR_EN and
# DESCRIPTOR_DE ends so), blanks, then the capital of the name. The apposition regex costs ~40-80 µs a sentence (it
# tries its optional words at every position); this test spares it in nine sentences out of ten. It is an alternation
# of the descriptors' ends searched as the lists are, only where one of them stands (~4 µs a bid sentence; ~9 µs as
# one regex tried at every position).
APPOSITION_NEEDS = Alternation(tuple(
    "firm|fund|company|group|startup|start-up|giant|maker|house|billionaire|entrepreneur|conglomerate|retailer|"
    "nvestor|esellschaft|irma|nternehmen|onzern|onds|tart-?up|ruppe|ändler|iese|ntwickler|nbieter|ermittler|"
    "etreiber|ersteller|erlag|ank|dienst|Milliardär|Unternehmer".split("|")), "", r"(?:in)?\s+[A-Z]", 0)
# Which frames may match in a sentence, asked of all of them at once: each frame (and the apposition) is an
# alternative of one alternation, read for its needles like a list (its group name dropped: an alternation cannot
# name two groups alike), so that one needle test of the indexed sentence answers for every frame, where each
# frame's own prefilter tested its needles frame after frame (~12 µs a bid sentence; the gate ~2 µs). A frame it
# lets through is then searched with its plain regex. The gate reads the frames ignoring case: its needles are then
# words and word heads, which the index looks up at once, not substrings as written searched one by one (a frame
# that matches as written matches ignoring case too, so it is let through still).
_FRAME_GATE = Alternation(tuple(frame.pattern.replace("(?P<name>", "(?:")
                                for frame in (*UNKNOWN_FRAMES, DESCRIPTOR_APPOSITION)), "", "", re.IGNORECASE)
_APPOSITION_FRAME = len(UNKNOWN_FRAMES)  # the apposition's number in the gate
# A frame that begins with a name is tried at every capital of a sentence and reads the name's words again at each
# (~20 µs a sentence for "X CEO Y said his company would bid"). What follows the name is searched first: every match
# of the frame holds a match of it, which begins with blanks or a literal (~4 µs); where it finds none, the frame
# cannot match.
_AFTER_THE_NAME = {i: re.compile(frame.pattern[len(_NAME):]) for i, frame in enumerate(UNKNOWN_FRAMES)
                   if frame.pattern.startswith(_NAME)}
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
    "beijing", "washington", "white", "house", "congress", "senate", "monday", "tuesday",
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
                 "konzern", "unternehmen", "milliardär", "unternehmer", "technologieinvestor", "newcomer", "upstart",
                 "challenger", "rival", "outsider", "neuling", "herausforderer"}
DESCRIPTION_HEADS = {"investor", "investors", "firm", "billionaire", "entrepreneur", "retailer", "conglomerate", "owner",
                     "buyer", "bidder", "suitor"}
LEGAL_SUFFIXES = {"inc", "inc.", "corp", "corp.", "corporation", "co", "co.", "company", "ag", "se", "llc", "ltd",
                  "ltd.", "limited", "plc", "gmbh", "sa", "lp", "group", "holdings", "international", "management"}


@dataclass
class Mention:
    name: str          # canonical (known party) or cleaned common name (unknown)
    text: str          # the words matched
    start: int
    end: int
    party: Party | None


GERMAN_DEAL_NOUNS = {"Interesse", "Angebot", "Gebot", "Einstieg", "Kauf", "Übernahme", "Beteiligung", "Anteile",
                     "Milliarden", "Gespräche", "Verhandlungen"}


def _drop_trailing_nouns(name: str, profile: Profile) -> str:
    """German capitalises nouns: "Streamio Interesse an ..." is the name Streamio and the noun Interesse."""
    tokens = name.split()
    while len(tokens) > 1 and (tokens[-1] in GERMAN_DEAL_NOUNS or any(
            rx is not None and rx.fullmatch(tokens[-1])
            for rx in map(profile.any_language, ("bid", "sale_strong", "sale")))):
        tokens.pop()
    return " ".join(tokens)


_POSSESSIVE_END = re.compile(r"(?:'s|')$")


def clean_name(raw: str) -> str:
    """Common name of an organisation: no leading article, possessive or trailing legal suffix."""
    tokens = raw.strip().strip(",.;:").split()
    while len(tokens) > 1 and tokens[0].lower() in LEADING_WORDS:
        tokens.pop(0)
    if tokens:
        tokens[-1] = _POSSESSIVE_END.sub("", tokens[-1])
    while len(tokens) > 1 and tokens[-1].lower().strip(".,") in LEGAL_SUFFIXES | {"and", "&", "of"}:
        tokens.pop()
    return " ".join(tokens).strip(" ,.")


def _words_between(text: str) -> int:
    return len(WORD.findall(text))


# the known mentions of the recent sentences: extract_bidders asks for those of a sentence up to three times
_MENTIONS = SentenceMemo()


def known_mentions(sentence: str, profile: Profile) -> list[Mention]:
    """The profile's parties named in a sentence (longest alias first, no overlaps)."""
    if profile.parties_rx is None:
        return []
    key = (sentence, profile.parties_rx)  # parties_rx is built from profile.parties: it stands for them
    return list(_MENTIONS.read(key, lambda: _known_mentions(sentence, profile)))


def _known_mentions(sentence: str, profile: Profile) -> tuple[Mention, ...]:
    found: list[Mention] = []
    # only the parties with an alias that may match in the sentence can give a longer match below
    rx = profile.parties_rx
    named = [profile.parties[i] for i in rx.live(sentence)]
    if not named:
        return ()  # no alias can match: the sentence is indexed now, so search() would find nothing either
    # the searches from each position below are read off one pass over the sentence (its matches, as finditer gives
    # them): the first of them that begins at or after the position is the search's, unless one before the position
    # runs past it (a longer alias of another party took the place of a match: then the search is made). One pass
    # where a search from every mention went through every alias's beginnings again.
    matches, passed = rx.all(sentence), 0
    folded = text_index(sentence).folded
    pos = 0
    while pos < len(sentence):
        while passed < len(matches) and matches[passed].start() < pos and matches[passed].end() <= pos:
            passed += 1
        if passed < len(matches) and matches[passed].start() < pos:
            m = rx.search(sentence, pos)
        else:
            m = matches[passed] if passed < len(matches) else None
        if m is None:
            break
        # the alternation takes the first party whose alias matches here; prefer the longest match at this spot
        party = profile.parties[int(m.lastgroup[1:])]
        best = m
        for candidate in named:
            if candidate is party:
                continue  # its own pattern (its aliases, in the same order) matches here exactly as far as m
            if not _may_begin_at(candidate, folded, m.start()):
                continue
            other = candidate.pattern.match(sentence, m.start())
            if other and other.end() > best.end():
                best, party = other, candidate
        found.append(Mention(party.name, best.group(0), best.start(), best.end(), party))
        pos = max(best.end(), m.start() + 1)
    return tuple(found)


def _may_begin_at(party: Party, folded: str, at: int) -> bool:
    """Whether an alias of the party may match at a position of a sentence (folded as its index folds it): a match
    begins with one of the aliases' literal beginnings (patterns.leads; none read: it may). A test of a few
    characters where a match of the party's alternation costs a call through its needle test."""
    beginnings = leads(party.pattern.pattern, party.pattern.flags)
    return beginnings is None or folded.startswith(beginnings, at)


def _cue_negated(sentence: str, cue: re.Match, lists: Vocabulary) -> bool:
    if IMMUNE_CUES.search(cue.group(0)):  # (wherever it matches the stripped cue whole, it matches in the cue)
        return False
    before = sentence[max(0, cue.start() - 40):cue.start()]
    # only the same clause counts
    parts = CLAUSE_BREAK.split(before)
    before = parts[-1] if parts else before
    words = WORD.findall(before)[-4:]
    window = NOT_ONLY.sub(" ", " ".join(words))  # "It is not only Microsoft that is interested": no negation
    rx = lists.rx("negation")
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
        d = _words_between(gap)  # (counted once; a match too far away needs no clause test)
        if d > max_words or (d > 1 and CLAUSE_BREAK.search(gap)):
            continue
        if best is None or d < best:
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


def _is_official(sentence: str, mention: Mention, lists: Vocabulary) -> bool:
    return _official_before(sentence, mention.start, lists)


def _cuts_no_word(text: str, i: int) -> bool:
    """Whether position i of text lies between two words, not inside one (re's word characters)."""
    return i <= 0 or i >= len(text) or not (_is_word_character(text[i - 1]) and _is_word_character(text[i]))


def _is_word_character(c: str) -> bool:
    return c.isalnum() or c == "_"


# asked up to three times of each mention in a bid sentence (rule_bidders' _may_bid, then bidder_candidates' _may_bid
# and official_title): answered once (~1.5% of the judgment's instructions, measured)
@recent_sentences()
def _official_before(sentence: str, start: int, lists: Vocabulary) -> bool:
    window = max(0, start - 45)
    before = sentence[window:start]
    # a window that cuts no word holds only the sentence's words: where the list's needle test of the (indexed)
    # sentence finds no title, the window holds none either, and the list's pass over the window is spared
    whole_words = _cuts_no_word(sentence, window) and _cuts_no_word(sentence, start)
    rx = lists.rx("official")
    if rx is None or (whole_words and not rx.live(sentence)):
        return False
    for m in rx.finditer(before):
        rest = before[m.end():]
        if _words_between(rest) <= 2 and not FORMER.search(before[:m.start()]):
            return True
    return False


def unknown_mentions(sentence: str, profile: Profile, known: list[Mention], strong_sentence: bool) -> list[Mention]:
    """Organisations not in the profile, in the tight frames of a bid."""
    frames = []  # the matches of each frame the gate lets through, in order
    for i in _FRAME_GATE.live(sentence):
        if i != _APPOSITION_FRAME:
            if i not in _AFTER_THE_NAME or _AFTER_THE_NAME[i].search(sentence):
                frames.append(_frame_matches(UNKNOWN_FRAMES[i].rx, sentence))
        elif strong_sentence:
            frames.append(_apposition_matches(sentence))
    out: list[Mention] = []

    def add(raw: str, start: int) -> bool:
        name = clean_name(raw)
        if len(name.split()) > 1 and (_DESCRIPTION_DE.fullmatch(name.split()[-1])
                                      or name.split()[-1].casefold() in DESCRIPTION_HEADS):
            return False  # a description, not a name: "Hamburger Investor", "Boston Firm"
        name = _drop_trailing_nouns(name, profile)
        if not name or name.casefold() in STOP_NAMES or name.split()[0].casefold() in STOP_NAMES:
            return False
        if len(name) < 2 or name.isdigit() or _DESCRIPTION_DE.fullmatch(name.split()[0]):
            return False
        if _DESCRIPTION_DE.fullmatch(name.split()[-1]) or name.split()[-1].casefold() in DESCRIPTION_HEADS:
            return False  # a description, not a name: "Hamburger Investor", "Boston Firm"
        if any(k.start <= start < k.end or start <= k.start < start + len(raw) for k in known):
            return True  # a known party (or part of one): handled by its profile entry, but the list goes on
        if profile.target_rx.match(name) or (profile.seller_rx and profile.seller_rx.search(name)) or (
                profile.not_target_rx and profile.not_target_rx.match(name)):
            return False
        if not any(u.name == name for u in out):
            out.append(Mention(name, raw, start, start + len(raw), None))
        return True

    for matches in frames:
        for m in matches:
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


def _frame_matches(rx: re.Pattern, sentence: str):
    """A frame's matches in a sentence: one anchored at its start ("^...") is tried there alone (a search tries it, and
    fails, at every position; it can match only once)."""
    if rx.pattern.startswith("^"):
        m = rx.match(sentence)
        return (m,) if m is not None else ()
    return rx.finditer(sentence)


_APPOSITION_IN_COMMAS = re.compile(r"^\s*(?:\([^)]*\))?\s*,[^,]{1,90},")
_NOT_A_SUBJECT_GAP = re.compile(r"\b(?:and|und|with|mit|than|als|like|wie|said|says|told|sagte|sagt|erklärte|meinte)\b")


# Where an apposition can begin. Its regex tries its optional words at every position of a sentence (~80 µs a bid
# sentence that holds a descriptor's end); yet its descriptor ends right before the capital of a name that ends a
# match of APPOSITION_NEEDS, and what stands before the name is at most five words (an article, a word, a descriptor
# of up to three: "the New York-based firm") of word characters, blanks, dots and hyphens. So it is tried only at the
# positions of those words before each such capital, in order, from the end of each match on: finditer's matches.
_NOT_IN_A_DESCRIPTION = re.compile(r"[^\w\s.-]")
_TOKEN = re.compile(r"\S+")
_WORDS_BEFORE_A_NAME = 5


def _apposition_matches(sentence: str) -> list[re.Match]:
    capitals = []  # of the names after a descriptor's end: where each match of APPOSITION_NEEDS ends
    m = APPOSITION_NEEDS.search(sentence)
    while m is not None:
        capitals.append(m.end() - 1)
        m = APPOSITION_NEEDS.search(sentence, m.start() + 1)
    if not capitals:
        return []
    tokens = [t.start() for t in _TOKEN.finditer(sentence)]
    marks = [b.start() for b in _NOT_IN_A_DESCRIPTION.finditer(sentence)]
    starts: set[int] = set()
    for capital in capitals:
        begin = tokens[max(0, bisect_left(tokens, capital) - _WORDS_BEFORE_A_NAME)]  # (the capital begins a token)
        mark = bisect_left(marks, capital)
        starts.update(range(max(begin, marks[mark - 1] + 1) if mark else begin, capital))
    found, end = [], 0
    for at in sorted(starts):
        if at >= end and (m := DESCRIPTOR_APPOSITION.rx.match(sentence, at)) is not None:
            found.append(m)
            end = m.end()  # (a match holds a name: never empty)
    return found


def _is_subject_of_cue(sentence: str, mention: Mention, cues: list[re.Match]) -> bool:
    """The mention is the subject right before a bid cue, an apposition in commas allowed."""
    for cue in cues:
        if cue.start() < mention.end:
            continue
        gap = sentence[mention.end:cue.start()]
        gap = _APPOSITION_IN_COMMAS.sub(" ", gap)
        if "," in gap or ";" in gap:
            continue
        if _words_between(gap) <= 4 and not _NOT_A_SUBJECT_GAP.search(gap):
            return True
    return False


# asked of each mention in a bid sentence by rule_bidders, then again by bidder_candidates: answered once. The answer
# reads the mention's span and whether its party may bid, the cues (the same match objects in both passes: a reading's
# live cues) and the vocabularies.
_MAY_BID = SentenceMemo()


def _may_bid(sentence: str, mention: Mention, cues: list[re.Match], lists: Vocabulary) -> bool:
    """Whether a party named in a bid sentence can be a bidder there (role, title, nearby role words, wishes)."""
    key = (sentence, mention.start, mention.end, mention.party is None or mention.party.role == "candidate",
           tuple(cues), lists)
    return _MAY_BID.read(key, lambda: _may_bid_cached(sentence, mention, cues, lists,
                                                      _role_matches(sentence, lists)))


@recent_sentences()
def _role_matches(sentence: str, lists: Vocabulary) -> dict[str, list[re.Match]]:
    return {key: vocab_matches(lists, key, sentence) for key in ("competitor", "host", "adviser", "wish")}


def _may_bid_cached(sentence: str, mention: Mention, cues: list[re.Match], lists: Vocabulary,
                    roles: dict[str, list[re.Match]]) -> bool:
    if mention.party is not None and mention.party.role != "candidate":
        return False
    if _is_official(sentence, mention, lists):
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
    if roles["host"] and _partnering_to_host(sentence, mention, cues, roles["host"]):
        return False
    for key in ("competitor", "host", "adviser"):
        matches = _advisers_of(mention, roles[key]) if key == "adviser" else roles[key]
        d = _near(sentence, mention, matches)
        if d is not None and d < cue_d:
            return False
    return True


def _advisers_of(mention: Mention, matches: list[re.Match]) -> list[re.Match]:
    """The adviser words that speak of the mention: before it ("law firm X", "officer at X", "an affiliate of X": X
    is the workplace or the parent); after it only an advising verb ("X advises", "X, the adviser"), for "X, an
    affiliate of Y" makes X the affiliate, not Y's adviser."""
    return [m for m in matches if m.end() <= mention.start or ADVISE_VERB.match(m.group(0))]


_PARTNERING = re.compile(r"partner\w*|team\w*\s+up|work\w*\s+with|zusammen\w*|Partner\w*", re.I)


def _partnering_to_host(sentence: str, mention: Mention, cues: list[re.Match], hosts: list[re.Match]) -> bool:
    """'to partner with Oracle to store user data': a partnership whose purpose, told right after the party, is
    hosting, when the only cue near the party is the partnering itself (Project Texas, not the 2020 bid)."""
    near_cues = [c for c in cues if _near(sentence, mention, [c], max_words=3) is not None]
    if not near_cues or not all(_PARTNERING.search(c.group(0)) for c in near_cues):
        return False
    return any(h.start() >= mention.end and _words_between(sentence[mention.end:h.start()]) <= 3
               and not CLAUSE_BREAK.search(sentence[mention.end:h.start()]) for h in hosts)


# The parties an article's sentences report denying a bid: asked by rule_bidders, then again by bidder_candidates
# (answered once, not by reading each sentence's memo again). Keyed as _DENIALS, by all the sentences.
_ARTICLE_DENIALS = SentenceMemo()


def _denied_parties(sentences, profile: Profile, lists: Vocabulary) -> frozenset[str]:
    key = (tuple(sentences), lists, profile.parties_rx)
    # only a sentence that holds a denial is read (and remembered): most hold none, which the list's needle test of
    # the indexed sentence tells without a search
    denial = lists.rx("denial")
    return _ARTICLE_DENIALS.read(key, lambda: frozenset(
        name for sentence in sentences if denial is not None and denial.holds(sentence)
        for name in _denied_in(sentence, profile, lists)))


# The parties a sentence reports denying a bid, kept for the recent sentences (see _SENTENCES below).
_DENIALS = SentenceMemo()


def _denied_in(sentence: str, profile: Profile, lists: Vocabulary) -> tuple[str, ...]:
    return _DENIALS.read((sentence, lists, profile.parties_rx),
                         lambda: tuple(_read_denials(sentence, profile, lists)))


def _read_denials(sentence: str, profile: Profile, lists: Vocabulary) -> list[str]:
    denied = []
    hits = vocab_matches(lists, "denial", sentence)
    if not hits:
        return denied
    mentions = known_mentions(sentence, profile)
    for h in hits:
        # the denial's subject: the party right before it ("Amazon denied ..."), else the sentence's first
        # candidate ("Walmart, which teamed up with Microsoft, said it was not interested ...")
        before = [m for m in mentions if m.end <= h.start() and m.party and m.party.role == "candidate"]
        if before:
            close = before[-1] if _words_between(sentence[before[-1].end:h.start()]) <= 3 else before[0]
            denied.append(close.name)
        elif re.match(r"\s*[\"„“]?\s*(?:I|Ich|We|Wir)\b", sentence) or sentence.lstrip().startswith(("„", '"')):
            after = [m for m in mentions if m.start >= h.end() and m.party and m.party.role == "candidate"]
            if after:
                denied.append(after[0].name)
    return denied


DEFINITE_SUBJECT = re.compile(
    r"^(?:(?:Auch|Also|Now|Meanwhile|Zudem|Nun|Jetzt|Doch|But|And|Indeed|Tatsächlich)\s*,?\s+)?"
    r"(?:The|Der|Die|Das)\s+(?P<desc>(?:[\w-]+\s+){0,2}?[\w-]+)(?=\s)")
REPORTED_SELF = re.compile(r"\s*,?\s+(?:said|says|confirmed|announced|told\s+\w+|sagte|erklärte|teilte\s+mit)\s+"
                           r"(?:on\s+\w+\s+|\w+day\s+)?(?:that\s+|,\s*|dass\s+)?(?:it|they|er|es|sie|man)\b")
GENERIC_HEAD = re.compile(r"(?:company|firm|group|giant|Konzern|Unternehmen|Gruppe|Firma)$", re.I)


def _described_subject(sentence: str, recent: list[list[Mention]], live: list[re.Match]) -> Mention | None:
    """A definite description as the subject of a bid ("The retailer said it would bid", "Der Softwarekonzern
    verhandelt ..."), resolved to the party named in the two sentences before whose profile descriptions fit it;
    a generic head ("the company") to the only candidate named in the sentence before."""
    m = DEFINITE_SUBJECT.match(sentence)
    if not m or not recent:
        return None
    desc = m.group("desc")
    # reported speech: "The retailer said it would bid", "Der Konzern erklärte, er habe ein Angebot abgegeben"
    said = REPORTED_SELF.match(sentence, m.end("desc"))
    probe = Mention(desc, desc, m.start("desc"), said.end() if said else m.end("desc"), None)
    if not _is_subject_of_cue(sentence, probe, live):
        return None
    for mentions in reversed(recent):
        for cand in reversed(mentions):
            rx = cand.party.description_rx if cand.party else None
            if rx is not None and (fit := rx.search(desc)) and fit.end() == len(desc):
                return Mention(cand.name, m.group(0), m.start("desc"), m.end("desc"), cand.party)
    last = {c.name: c for c in recent[-1]}
    if GENERIC_HEAD.search(desc) and len(last) == 1:
        cand = next(iter(last.values()))
        return Mention(cand.name, m.group(0), m.start("desc"), m.end("desc"), cand.party)
    return None


@dataclass(frozen=True)
class _BidSentence:
    """What extract_bidders reads of one sentence alone."""

    partners: tuple[re.Match, ...]  # partner words ("together with", "Konsortium")
    known: tuple[Mention, ...]      # the profile's parties named in it
    live: tuple[re.Match, ...]      # its bid cues that are not negated
    unknown: tuple[Mention, ...]    # parties not in the profile, in the frames of a bid (when a cue is live)
    cues: bool = False              # it holds a bid cue, live or negated


# The readings of the recent sentences. A sentence recurs across articles (wire copy, an updated story, a paragraph
# quoted again); reading it costs ~10 µs when it holds no cue, ~0.1 ms when it does (the frames of unknown parties).
# The key holds the sentence, the vocabularies in the article's order and the profile's patterns the reading uses.
_SENTENCES = SentenceMemo()


def _read_sentence(sentence: str, profile: Profile, lists: Vocabulary) -> _BidSentence | None:
    """A sentence's partner words, mentions and live bid cues; None when it holds neither a bid cue nor a partner
    word, or is about another deal."""
    key = (sentence, lists, profile.parties_rx, profile.target_rx, profile.not_target_rx, profile.seller_rx,
           profile.reference_rx)
    return _SENTENCES.read(key, lambda: _read(sentence, profile, lists))


# The readings of an article's sentences, asked by rule_bidders, then again by bidder_candidates: gathered once (one
# memo lookup for the article, not one per sentence). Keyed as _SENTENCES, by all the sentences.
_ARTICLE_READINGS = SentenceMemo()


def _read_sentences(sentences: tuple[str, ...], profile: Profile,
                    lists: Vocabulary) -> tuple[_BidSentence | None, ...]:
    key = (sentences, lists, profile.parties_rx, profile.target_rx, profile.not_target_rx, profile.seller_rx,
           profile.reference_rx)
    return _ARTICLE_READINGS.read(key, lambda: tuple(_read_sentence(s, profile, lists) for s in sentences))


def _read(sentence: str, profile: Profile, lists: Vocabulary) -> _BidSentence | None:
    cues = vocab_matches(lists, "bid", sentence)
    partners = vocab_matches(lists, "partner", sentence)
    if not cues and not partners:
        return None
    masked = mask_past_roles(sentence)
    if list_holds(profile, "other_deal", masked) or about_other_deal(masked, profile):
        return None
    known = known_mentions(sentence, profile)
    live = [c for c in cues if not _cue_negated(sentence, c, lists)]
    unknown = unknown_mentions(sentence, profile, known, strong_sentence=True) if live else []
    return _BidSentence(tuple(partners), tuple(known), tuple(live), tuple(unknown), bool(cues))


def extract_bidders(article: Article, profile: Profile) -> list[Fact]:
    """The bidders an article reports: by the profile's bidder model when it has one (bidder_candidates), else by
    the rules alone (one Fact per mention found; judge() deduplicates)."""
    facts = rule_bidders(article, profile)
    model = profile.models.bidder
    if model is None:
        return facts
    out = []
    for cand in bidder_candidates(article, profile, facts):
        p = model.probability(cand.features)
        if p >= model.threshold:
            out.append(Fact("bidder", cand.name, cand.evidence, {**cand.detail, "p": round(p, 2)}))
    return out


def rule_bidders(article: Article, profile: Profile) -> list[Fact]:
    """The bidders the rules alone find, one Fact per mention found."""
    # every language's lists at once: an article quotes the other language, its language may be misread
    lists = profile.every_language
    sentences = article_sentences(article.title, article.text)
    denials: list[frozenset[str]] = []  # the parties the article reports denying any bid, read when first needed

    def denied() -> frozenset[str]:
        if not denials:
            denials.append(_denied_parties(sentences, profile, lists))
        return denials[0]

    def candidates(i: int) -> list[Mention]:
        return [m for m in known_mentions(sentences[i], profile) if m.party is not None and m.party.role == "candidate"]

    facts: list[Fact] = []
    found: set[str] = set()
    partner_sentences: list[tuple[str, list[Mention]]] = []
    for i, (sentence, reading) in enumerate(zip(sentences, _read_sentences(sentences, profile, lists))):
        if reading is None:
            continue
        partners, live = reading.partners, reading.live
        mentions = list(reading.known)
        if partners:
            partner_sentences.append((sentence, mentions))
        if not live:
            continue
        mentions = mentions + list(reading.unknown)
        # candidates named in the two sentences before, for a definite description as the subject
        before_here = [candidates(j) for j in range(max(0, i - 2), i)] if DEFINITE_SUBJECT.match(sentence) else []
        described = _described_subject(sentence, before_here, live)
        if described is not None and all(m.name != described.name for m in mentions):
            mentions.append(described)
        named_here: set[str] = set()
        for mention in mentions:
            if mention.name in named_here or mention.name in denied() or not _may_bid(sentence, mention, live, lists):
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
        partners = vocab_matches(lists, "partner", sentence)
        for mention in mentions:
            if mention.name in found or mention.name in denied():
                continue
            if mention.party is None or _near(sentence, mention, partners, max_words=6) is None:
                continue
            if not _may_bid(sentence, mention, partners, lists):
                continue
            facts.append(Fact("bidder", mention.name, sentence,
                              {"role": "consortium member", "mention": mention.text.strip(" -,"), "known": True}))
            found.add(mention.name)
    return _full_names(facts)


def _full_names(facts: list[Fact]) -> list[Fact]:
    """An unknown party named short somewhere ("Zephyr" in a headline) and in full elsewhere ("Zephyr Partners")
    takes its full name."""
    unknown = {f.value for f in facts if not f.detail.get("known")}
    out = []
    for f in facts:
        longer = [n for n in unknown if n != f.value and n.startswith(f.value + " ")] if not f.detail.get("known") else []
        if longer:
            f = Fact(f.kind, min(longer, key=len), f.evidence, f.detail)
        out.append(f)
    return out


@dataclass
class PartyCandidate:
    """A party an article names where a bidder could be named, read as features for the bidder model."""

    name: str
    known: bool
    features: dict[str, float]
    evidence: str                   # the sentence that makes the best evidence
    detail: dict


# owning a part of the target: a buyer reported through the ownership it will have, not a bid verb (searched in whole
# sentences, indexed already: prefiltered skips the regex pass where none of its words is)
OWNERSHIP = prefiltered(r"\b(?:owned\s+by|own(?:s|ing)?\s+(?:a\s+)?(?:\d+(?:\.\d+)?\s?%|stake|share|majority|minority)|"
                        r"stakes?\b|investors?\b|owners?\b|shareholders?\b|joint\s+venture|board\b|"
                        r"Anteil\w*|Investor\w*|Eigentümer\w*|Gemeinschaftsunternehmen|Joint\s+Venture)", re.I)
_LIST_JOIN = re.compile(r"^\s*(?:,|and|und|&|or|oder|as\s+well\s+as|sowie)\s*(?:the\s+)?$", re.I)


# An organisation named by the kind of firm it is ("Vastmere Strategic Investments", "Crescent Bay Capital"): an
# unknown party the frames did not catch, offered to the model when it stands in a bid or ownership sentence.
ORG_NAME = re.compile(r"(?<![\w&'-])(?:[A-Z][\w&'-]+\s+){0,3}(?:Capital|Partners|Investments?|Holdings|Ventures|"
                      r"Management|Equity|Fund|Advisors|Technologies|Labs|Family\s+Office|Beteiligungen|"
                      r"Investment\s+(?:Group|Company|Corporation))\b(?:\s+(?:LLC|Inc\.?|Corp\.?|Ltd\.?|LP|AG|GmbH|SE|plc))?")


ORG_HEAD = prefiltered(r"\b(?:Capital|Partners|Investments?|Holdings|Ventures|Management|Equity|Fund|Advisors|"
                       r"Technologies|Labs|Office|Beteiligungen|Investment)\b")  # (whole sentences: as OWNERSHIP)


def _org_mentions(sentence: str, profile: Profile, taken: list[Mention]) -> list[Mention]:
    out = []
    for m in ORG_NAME.finditer(sentence):
        if any(t.start < m.end() and m.start() < t.end for t in taken):
            continue
        name = clean_name(m.group(0))
        if len(name.split()) < 2 or name.split()[0].casefold() in STOP_NAMES or (
                profile.seller_rx is not None and profile.seller_rx.search(name)) or profile.target_rx.search(name):
            continue
        out.append(Mention(name, m.group(0), m.start(), m.end(), None))
    return out


# Which way each feature's evidence points (+1: for a bidder, -1: against; absent: the data decides). The training
# script keeps every learned weight on its feature's side (scripts/train_judgment.py, fit).
FEATURE_DIRECTIONS: dict[str, int] = {
    "rules_say_bidder": +1, "rules_lead_bidder": +1, "in_headline": +1,
    "bid_sentence_share": +1, "in_a_bid_sentence": +1, "cue_within_3_words": +1, "subject_of_a_cue": +1,
    "cue_and_target_in_sentence": +1, "strong_sale_words_in_bid_sentence": +1, "listed_with_a_bidder": +1,
    "partner_word_near": +1, "with_target_in_a_sentence": +1, "share_of_party_mentions": +1,
    "only_negated_cues": -1, "role_blocked_everywhere": -1, "official_title": -1, "wished_for": -1,
    "denied_bidding": -1, "host_words_near_share": -1, "rival_or_adviser_near_share": -1,
}


def _may_name_a_candidate(sentence: str, profile: Profile) -> bool:
    """Whether an alias of a candidate party may match in the sentence (its needles are there): what a candidate's
    mention needs, asked before finding the mentions (many sentences name only the seller, a government, a medium)."""
    return profile.parties_rx is not None and any(
        profile.parties[i].role == "candidate" for i in profile.parties_rx.live(sentence))


def bidder_candidates(article: Article, profile: Profile, rule_facts: list[Fact] | None = None) -> list[PartyCandidate]:
    """Every candidate party the article names (the profile's candidates anywhere; unknown organisations in the
    frames of a bid), one per name, with what the rules read around each of its mentions."""
    lists = profile.every_language
    sentences = article_sentences(article.title, article.text)
    if rule_facts is None:
        rule_facts = rule_bidders(article, profile)
    ruled: dict[str, Fact] = {}
    for fact in rule_facts:
        ruled.setdefault(fact.value, fact)
    denied = _denied_parties(sentences, profile, lists)
    n = max(len(sentences), 1)
    stats: dict[str, dict] = {}
    bid_sentences = 0
    strong_rx = profile.any_language("sale_strong")
    for i, (sentence, reading) in enumerate(zip(sentences, _read_sentences(sentences, profile, lists))):
        bid_sentences += bool(reading is not None and reading.live)
        live = list(reading.live) if reading is not None else []
        if not live and not _may_name_a_candidate(sentence, profile):
            continue  # no candidate named, no unknown party (found only with a live cue): nothing to read
        named = known_mentions(sentence, profile)
        known = [m for m in named if m.party is not None and m.party.role == "candidate"]
        unknown = list(reading.unknown) if reading is not None else []
        owning = bool(OWNERSHIP.search(sentence)) if (known or unknown or live) else False
        if (live or owning) and ORG_HEAD.search(sentence):
            # every party of the profile blocks its words, whatever its role ("Committee on Foreign Investment")
            unknown += [m for m in _org_mentions(sentence, profile, named + unknown)
                        if all(m.name != u.name for u in unknown)]
        if not known and not unknown:
            continue
        negated_cues = reading is not None and not live and reading.cues
        partners = list(reading.partners) if reading is not None else []
        names_target = bool(target_spans(sentence, profile))
        strong = strong_rx is not None and strong_rx.holds(sentence)
        others = {m.name for m in known + unknown}
        for mention in known + unknown:
            st = stats.get(mention.name)
            if st is None:  # (made for a name's first mention only, not built again to be dropped for each other)
                st = stats[mention.name] = {
                    "known": mention.party is not None, "mentions": 0, "first": i, "headline": False, "live": 0,
                    "negated_only": 0, "near_cue": False, "subject": False, "blocked": 0, "target_cue": False,
                    "strong": False, "listed_with_bidder": False, "partner_near": False, "official": False,
                    "wish": False, "evidence": sentence, "evidence_rank": 9, "owning": False, "listed": False,
                    "with_target": False, "host": 0, "rival": 0, "bare_list": 0,
                    "by_kind_of_firm": mention.party is None and ORG_NAME.fullmatch(mention.text.strip()) is not None}
            st["owning"] |= owning
            st["with_target"] |= names_target
            st["listed"] |= len(others) >= 3 and (owning or bool(live))
            st["mentions"] += 1
            st["headline"] |= i == 0 and bool(article.title)
            if live:
                st["live"] += 1
                may = _may_bid(sentence, mention, live, lists)
                st["blocked"] += not may
                st["near_cue"] |= _cue_distance(sentence, mention, live) <= 3
                st["subject"] |= _is_subject_of_cue(sentence, mention, live)
                st["target_cue"] |= names_target
                st["strong"] |= strong
                rank = 0 if may and names_target else 1 if may else 2
                if rank < st["evidence_rank"]:
                    st["evidence"], st["evidence_rank"] = sentence, rank
            elif negated_cues:
                st["negated_only"] += 1
            if partners and _near(sentence, mention, partners, max_words=6) is not None:
                st["partner_near"] = True
            if _is_official(sentence, mention, lists):
                st["official"] = True
            roles = _role_matches(sentence, lists)
            st["host"] += _near(sentence, mention, roles["host"], max_words=6) is not None
            st["rival"] += any(_near(sentence, mention, matches, max_words=4) is not None
                               for matches in (roles["competitor"], _advisers_of(mention, roles["adviser"])))
            st["bare_list"] += len(others) >= 3 and not live
            wishes = roles["wish"]
            if wishes and _near(sentence, mention, wishes, max_words=6) is not None:
                st["wish"] = True
            if any(o in ruled and o != mention.name for o in others):
                # "Oracle, Silver Lake and MGX": a name in one list with a bidder
                for other in known + unknown:
                    if other.name in ruled and other.name != mention.name:
                        lo, hi = ((other.end, mention.start) if other.end <= mention.start
                                  else (mention.end, other.start))
                        gap = sentence[lo:hi]
                        if _LIST_JOIN.match(gap) or (len(gap) < 40 and "," in gap and _words_between(gap) <= 4):
                            st["listed_with_bidder"] = True
    out = []
    all_mentions = sum(st["mentions"] for st in stats.values()) or 1
    for name, st in stats.items():
        fact = ruled.get(name)
        m = st["mentions"]
        features = {
            "rules_say_bidder": float(fact is not None),
            "rules_lead_bidder": float(fact is not None and fact.detail.get("role") == "lead bidder"),
            "rules_consortium_member": float(fact is not None and fact.detail.get("role") == "consortium member"),
            "known_party": float(st["known"]),
            "named_by_kind_of_firm": float(st["by_kind_of_firm"]),
            "mentions_log": math.log(m),
            "in_headline": float(st["headline"]),
            "first_mention_position": st["first"] / n,
            "bid_sentence_share": st["live"] / m,
            "in_a_bid_sentence": float(st["live"] > 0),
            "only_negated_cues": float(st["negated_only"] > 0 and st["live"] == 0),
            "cue_within_3_words": float(st["near_cue"]),
            "subject_of_a_cue": float(st["subject"]),
            "role_blocked_everywhere": float(st["live"] > 0 and st["blocked"] == st["live"]),
            "cue_and_target_in_sentence": float(st["target_cue"]),
            "strong_sale_words_in_bid_sentence": float(st["strong"]),
            "listed_with_a_bidder": float(st["listed_with_bidder"]),
            "partner_word_near": float(st["partner_near"]),
            "official_title": float(st["official"]),
            "wished_for": float(st["wish"]),
            "denied_bidding": float(name in denied),
            "ownership_words_in_sentence": float(st["owning"]),
            "listed_with_two_parties": float(st["listed"]),
            "with_target_in_a_sentence": float(st["with_target"]),
            "share_of_party_mentions": st["mentions"] / all_mentions,
            "host_words_near_share": st["host"] / m,
            "rival_or_adviser_near_share": st["rival"] / m,
            "in_lists_without_cue_share": st["bare_list"] / m,
            "article_bid_sentence_share": bid_sentences / n,
        }
        detail = dict(fact.detail) if fact is not None else {"role": "bidder", "mention": name, "known": st["known"]}
        out.append(PartyCandidate(name, st["known"], features, fact.evidence if fact is not None else st["evidence"],
                                  detail))
    return out
