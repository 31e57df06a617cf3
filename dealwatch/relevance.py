"""Is an article about the tracked deal? `classify(article, profile) -> Relevance`, with its evidence.

Method: weighted patterns at sentence level, all vocabulary from the profile.

1. The title and the text are split into sentences.
2. A sentence *names the target* when it names it (TikTok, "Tiktok-Geschäft", "TikTok U.S.") outside the
   profile's not-target names (Douyin, TikTok Shop, TikTok Lite, ...), or names the seller (ByteDance)
   together with a reference to the business ("its U.S. operations", "das US-Geschäft"). A bare
   anaphoric reference ("the app", "die Kurzvideo-App") or the seller alone counts half; an anaphoric reference
   right after a sentence naming the target counts fully (it is resolved by that sentence).
3. A sentence's weight is the weight of the strongest sale vocabulary it contains (strong: divest, sale
   of, bidder, Verkauf, Gebot ...; medium: deal, talks, offer, Frist, Beteiligung ...; weak: ban, law).
   Sentences naming another transaction (Activision, Cerner, MGM, Musical.ly, WeChat ...) weigh nothing,
   and so do sentences whose buying has another object and never the target ("its acquisition of
   Activision", "TikTok agreed to buy a stake in Tokopedia": TikTok as the buyer is not TikTok's sale).
4. The score is the sum over sentences of mention x weight (title x title_weight), damped for long texts
   (divided by sqrt(sentences / 25) beyond 25 sentences) so that a roundup with one TikTok-sale aside
   does not pass. Relevant when score >= threshold AND at least min_sentences sentences name the target
   with medium or strong sale vocabulary. When the headline does not name the target at all,
   the body must carry the story: 1.5 x the threshold, one more such sentence, and at least 15% of
   the article's sentences (a roundup with a TikTok paragraph is not about the sale). A lead sentence naming the
   target with strong sale vocabulary stands in for a headline that names only a party ("Amazon throws its hat in
   the ring"). Timing words alone (deadline, Frist, extension, ban: the profile's `timing` list) never make an
   article relevant: at least one sentence must hold sale vocabulary beyond them, naming the target or not (an
   EU deadline for TikTok, another country's ban are not the sale; a deadline extension for a deal is). A person's past role ("former Activision chief
   Bobby Kotick") does not make a sentence about another deal.

Why this and not a model: the co-occurrence of the target and sale vocabulary *in the same sentence* is
what separates the hard negatives (TikTok news without a sale; other acquisitions with the same
vocabulary; other deadlines about TikTok), it is explainable sentence by sentence, takes well under a
millisecond per article, and a user extends it by editing the profile, not by retraining.
"""
from __future__ import annotations

import math

from dealwatch.facts.bidders import known_mentions
from dealwatch.facts.text import (SentenceMemo, about_other_deal, article_sentences, list_holds, mask_past_roles,
                                  mention_strength, normalize, target_spans)
from dealwatch.model import Article, Relevance
from dealwatch.profile import Profile

LONG_TEXT_SENTENCES = 25
SHORT_TEXT_SENTENCES = 3   # title + summary of a feed item: one supporting sentence is enough
UNTITLED_FACTOR = 1.5      # without a headline about the sale, the body needs 1.5 x the threshold,
UNTITLED_MIN_SHARE = 0.15  # one more supporting sentence, and 15% of its sentences about the sale


# The weights of the recent sentences: a sentence recurs across articles (wire copy, an updated story). The key holds
# everything _sentence_weight reads: the sentence, the weights and the profile's patterns.
_WEIGHTS = SentenceMemo()


def sentence_weight(sentence: str, profile: Profile) -> tuple[float, list[str]]:
    """Weight of the strongest sale vocabulary in a sentence, and the terms found."""
    rel = profile.relevance
    key = (sentence, rel["strong_weight"], rel["medium_weight"], rel["weak_weight"], profile.target_rx,
           profile.not_target_rx, profile.seller_rx, profile.reference_rx, profile.parties_rx, *profile.vocab.values())
    best, terms = _WEIGHTS.read(key, lambda: _sentence_weight(sentence, profile))
    return best, list(terms)


def _sentence_weight(sentence: str, profile: Profile) -> tuple[float, tuple[str, ...]]:
    rel = profile.relevance
    best, terms = 0.0, []
    sentence = mask_past_roles(sentence)
    # every language's lists at once: robust to a misdetected language and to quotes in the other language
    for key, weight in (("sale_strong", rel["strong_weight"]), ("sale", rel["medium_weight"]),
                        ("sale_weak", rel["weak_weight"])):
        rx = profile.any_language(key)
        if rx is None:
            continue
        found = [m.group(0) for m in rx.all(sentence)]
        if found:
            terms.extend(found)
            best = max(best, weight)
    # (asked last: most sentences hold no sale vocabulary at all)
    if terms and (about_other_deal(sentence, profile) or list_holds(profile, "other_deal", sentence)):
        return 0.0, ()
    return best, tuple(terms)


def _beyond_timing(terms: list[str], profile: Profile) -> bool:
    """Whether some of a sentence's sale terms are about the deal itself, not only its timing."""
    timing = profile.any_language("timing")
    return any(timing is None or not timing.fullmatch(t) for t in terms)


# What the relevance model counts of every sentence, kept for the recent sentences (they recur across articles)
_MARKS = SentenceMemo()


def _sentence_marks(sentence: str, profile: Profile) -> tuple[bool, bool, bool]:
    """(names a not-target thing, holds off-topic words, holds strong sale words)."""
    off_topic, strong = profile.any_language("off_topic"), profile.any_language("sale_strong")
    # (strong words: all of them, which the sentence's weight reads next, rather than a search that stops at one)
    return (profile.not_target_rx is not None and profile.not_target_rx.holds(sentence),
            off_topic is not None and off_topic.holds(sentence), strong is not None and bool(strong.all(sentence)))


# Which way each feature's evidence points (+1: for relevance, -1: against; absent: the data decides). The training
# script keeps every learned weight on its feature's side (scripts/train_judgment.py, fit).
FEATURE_DIRECTIONS: dict[str, int] = {
    "rules_say_relevant": +1, "rule_score_log": +1, "supporting_sentences_log": +1, "supporting_share": +1,
    "headline_names_target": +1, "headline_about_sale": +1, "headline_or_lead_about_sale": +1, "lead_supporting": +1,
    "named_share": +1, "strong_sale_share": +1, "bid_sentences_share": +1, "sale_beyond_timing": +1,
    "headline_sale_words": +1, "strong_sale_words_share": +1, "candidate_party_with_target_share": +1,
    "ban_or_law_only_share": -1, "not_target_share": -1, "off_topic_share": -1, "headline_off_topic": -1,
}


def relevance_features(article: Article, profile: Profile) -> tuple[dict[str, float], dict]:
    """What the rules read of an article, as named features for the relevance model, and the rule's own reading
    (its score, decision, terms and sentences) for the explanation."""
    rel = profile.relevance
    sentences = article_sentences(article.title, article.text)
    scored: list[tuple[float, str, list[str]]] = []
    total, supporting = 0.0, 0
    title_hit = bool(article.title) and bool(target_spans(normalize(article.title), profile))
    title_named = title_hit
    strong_sale = False  # a sentence naming the target with sale vocabulary beyond timing words
    first_body = 1 if article.title else 0
    previous_named = False
    deal_words_elsewhere = False  # sale vocabulary beyond timing in a sentence not naming the target
    named_count = strong_count = weak_only = lead_supporting = not_target = bid_named = 0
    off_topic = sale_anywhere = party_sentences = legal_named = 0
    legal_rx = [rx] if (rx := profile.any_language("legal")) is not None else []
    title_off_topic = False
    strong_rx = [rx] if (rx := profile.any_language("sale_strong")) is not None else []
    title_weight = 0.0
    bid_rx = [rx] if (rx := profile.any_language("bid")) is not None else []
    for i, sentence in enumerate(sentences):
        strength = mention_strength(sentence, profile)
        named = bool(target_spans(sentence, profile))
        marks = _MARKS.read((sentence, profile.not_target_rx, *profile.vocab.values()),
                            lambda: _sentence_marks(sentence, profile))
        not_target += marks[0]
        off_topic += marks[1]
        title_off_topic |= marks[1] and i == 0 and bool(article.title)
        sale_anywhere += marks[2]
        if not strength and not strong_sale and not deal_words_elsewhere:
            _w, other_terms = sentence_weight(sentence, profile)
            deal_words_elsewhere = _w >= rel["medium_weight"] and _beyond_timing(other_terms, profile)
        if (strength == 0.5 and previous_named and i > first_body and profile.reference_rx is not None
                and profile.reference_rx.search(sentence)):
            strength = 1.0  # an anaphor ("das US-Geschäft", "the app") resolved by the sentence before it
        previous_named = named
        if not strength:
            continue
        named_count += strength >= 1.0
        # a candidate party beside the target (or an anaphor of it): bidders' reading, shared with them
        party_sentences += any(m.party is not None and m.party.role == "candidate"
                               for m in known_mentions(sentence, profile))
        legal_named += strength >= 1.0 and any(rx.holds(sentence) for rx in legal_rx)
        weight, terms = sentence_weight(sentence, profile)
        if not weight:
            continue
        is_title = i == 0 and bool(article.title)
        if is_title:
            title_weight = weight
        value = strength * weight * (rel["title_weight"] if is_title else 1.0)
        total += value
        if strength >= 1.0 and weight >= rel["medium_weight"]:
            supporting += 1
            lead_supporting += first_body <= i < first_body + 4
            if any(rx.all(sentence) for rx in bid_rx):  # (all: the bidders read them next)
                bid_named += 1
        if strength >= 1.0 and weight >= rel["strong_weight"]:
            strong_count += 1
        if strength >= 1.0 and weight < rel["medium_weight"]:
            weak_only += 1
        if strength >= 1.0 and weight >= rel["medium_weight"] and _beyond_timing(terms, profile):
            strong_sale = True
        if weight >= rel["strong_weight"]:
            if i == first_body and strength >= 1.0 and not title_hit:
                # the lead restates a headline that names only a party ("Amazon throws its hat in the ring"):
                # a lead naming the target with strong sale vocabulary stands in for the headline
                title_hit = True
        scored.append((value, sentence, terms))
    n = max(len(sentences), 1)
    damp = math.sqrt(n / LONG_TEXT_SENTENCES) if n > LONG_TEXT_SENTENCES else 1.0
    score = round(total / damp, 3)
    needed = rel["min_sentences"] if n > SHORT_TEXT_SENTENCES else 1  # a feed summary: headline + a sentence
    # deadlines, extensions and bans alone (an EU deadline, another country's ban) are not the sale
    relevant = score >= rel["threshold"] and supporting >= needed and (strong_sale or deal_words_elsewhere)
    if relevant and not title_hit:
        # no headline about the sale: the body must carry it, not a paragraph of a roundup
        relevant = (score >= UNTITLED_FACTOR * rel["threshold"] and supporting >= needed + 1
                    and supporting / n >= UNTITLED_MIN_SHARE)
    features = {
        "rules_say_relevant": float(relevant),
        "rule_score_log": math.log1p(score),
        "supporting_sentences_log": math.log1p(supporting),
        "supporting_share": supporting / n,
        "headline_names_target": float(title_named),
        "headline_about_sale": float(title_named and title_weight >= rel["medium_weight"]),
        "headline_or_lead_about_sale": float(title_hit),
        "lead_supporting": lead_supporting / 4,
        "named_share": named_count / n,
        "strong_sale_share": strong_count / n,
        "ban_or_law_only_share": weak_only / n,
        "not_target_share": not_target / n,
        "bid_sentences_share": bid_named / n,
        "sale_beyond_timing": float(strong_sale or deal_words_elsewhere),
        "off_topic_share": off_topic / n,
        "law_or_court_share": legal_named / n,
        "headline_sale_words": float(bool(article.title) and any(rx.holds(sentences[0]) for rx in strong_rx)),
        "headline_off_topic": float(title_off_topic),
        "strong_sale_words_share": sale_anywhere / n,
        "candidate_party_with_target_share": party_sentences / n,
        "sentences_log": math.log(n),
    }
    reading = {"score": score, "relevant": relevant, "supporting": supporting, "sentences": len(sentences),
               "scored": scored}
    return features, reading


def classify(article: Article, profile: Profile) -> Relevance:
    """Relevance of an article to the profile's deal, with the terms and sentences that decided it."""
    rel = profile.relevance
    features, reading = relevance_features(article, profile)
    score, relevant, supporting, scored = reading["score"], reading["relevant"], reading["supporting"], reading["scored"]
    model = profile.models.relevance
    top = sorted(scored, key=lambda x: -x[0])[:5]
    terms: list[str] = []
    for _, _, ts in top:
        for t in ts:
            if t.casefold() not in {x.casefold() for x in terms}:
                terms.append(t)
    rules = (f"score {score:.1f} (threshold {rel['threshold']:.1f}), {supporting} sentence(s) name {profile.target} "
             f"with sale vocabulary (need {int(rel['min_sentences'])}), {reading['sentences']} sentences")
    if model is not None:
        probability = model.probability(features)
        relevant = probability >= model.threshold
        why = ", ".join(f"{name} {value:+.1f}" for name, value in model.contributions(features))
        reason = (f"{'relevant' if relevant else 'not relevant'}: model p={probability:.2f} "
                  f"(threshold {model.threshold:.2f}; {why}); rules: {rules}")
        score = round(probability, 3)
    else:
        reason = f"{'relevant' if relevant else 'not relevant'}: {rules}"
    return Relevance(relevant=relevant, score=score, terms=tuple(terms[:20]),
                     sentences=tuple(s for _, s, _ in top), reason=reason)


__all__ = ["classify", "relevance_features", "mention_strength", "sentence_weight", "target_spans"]
