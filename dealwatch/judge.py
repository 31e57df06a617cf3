"""The judgment of one article: relevance, then (only when relevant) its facts, one per (kind, value).

    judge(article, profile) -> Judgment
    explain(article, profile) -> str      # what `dealwatch explain URL|FILE` prints

Pure: no I/O. Facts are deduplicated per (kind, value); the one kept has the best evidence: a bidder named
directly (not only as a consortium member) and a deadline stated outright (not computed, not vague) win,
then the shorter sentence.
"""
from __future__ import annotations

import textwrap
from dataclasses import replace

from dealwatch.facts import extract_facts
from dealwatch.facts.bidders import bidder_candidates
from dealwatch.facts.deadlines import deadline_candidates
from dealwatch.facts.text import cased_headline
from dealwatch.model import Article, Fact, Judgment
from dealwatch.profile import Profile
from dealwatch.relevance import classify

_HOW_RANK = {"explicit": 0, "weekday": 1, "computed": 2, "vague": 3}


def _rank(fact: Fact) -> tuple:
    d = fact.detail or {}
    if fact.kind == "bidder":
        return (0 if d.get("role") in ("bidder", "lead bidder") else 1, len(fact.evidence))
    if fact.kind == "deadline":
        return (_HOW_RANK.get(d.get("how"), 4), 0 if d.get("replaces") else 1, len(fact.evidence))
    return (len(fact.evidence),)


def dedupe(facts: list[Fact]) -> tuple[Fact, ...]:
    """One fact per (kind, value), keeping the best evidence, in first-seen order."""
    best: dict[tuple[str, str], Fact] = {}
    order: list[tuple[str, str]] = []
    for fact in facts:
        key = (fact.kind, fact.value)
        if key not in best:
            best[key] = fact
            order.append(key)
        elif _rank(fact) < _rank(best[key]):
            merged = dict(fact.detail)
            if "replaces" in best[key].detail and "replaces" not in merged:
                merged["replaces"] = best[key].detail["replaces"]
            best[key] = Fact(fact.kind, fact.value, fact.evidence, merged)
        elif "replaces" in fact.detail and "replaces" not in best[key].detail:
            kept = best[key]
            best[key] = Fact(kept.kind, kept.value, kept.evidence, {**kept.detail, "replaces": fact.detail["replaces"]})
    return tuple(best[k] for k in order)


def _as_read(article: Article, profile: Profile) -> Article:
    """The article as the judgment reads it: a headline all in lower case with the parties' names cased."""
    title = cased_headline(article.title, profile)
    return article if title == article.title else replace(article, title=title)


def judge(article: Article, profile: Profile) -> Judgment:
    """Relevance and, when relevant, the deduplicated facts."""
    return _judge_as_read(_as_read(article, profile), profile)


def _judge_as_read(article: Article, profile: Profile) -> Judgment:
    relevance = classify(article, profile)
    if not relevance.relevant:
        return Judgment(relevance=relevance, facts=())
    return Judgment(relevance=relevance, facts=dedupe(extract_facts(article, profile)))


def _model_reasons(article: Article, profile: Profile) -> dict[tuple[str, str], str]:
    """(kind, value) -> the model's probability and the features that moved it, for every bidder and deadline
    candidate (nothing when the profile has no models)."""
    out: dict[tuple[str, str], str] = {}
    for kind, model, candidates in (
            ("bidder", profile.models.bidder, lambda: [(c.name, c.features) for c in bidder_candidates(article, profile)]),
            ("deadline", profile.models.deadline,
             lambda: [(c.day.isoformat(), c.features) for c in deadline_candidates(article, profile)])):
        if model is None:
            continue
        for value, features in candidates():
            parts = ", ".join(f"{name} {contribution:+.1f}" for name, contribution in model.contributions(features))
            out[kind, value] = f"p={model.probability(features):.2f} ({parts})"
    return out


def explain(article: Article, profile: Profile) -> str:
    """A readable report: the relevance score with its terms and sentences, then every fact with its evidence."""
    article = _as_read(article, profile)
    judgment = _judge_as_read(article, profile)
    rel = judgment.relevance
    wrap = textwrap.TextWrapper(width=100, initial_indent="      ", subsequent_indent="      ")
    lines = [f"{article.title or article.url}",
             f"  url: {article.url}   published: {article.published}   lang: {article.lang}   "
             f"source: {article.source or '-'}",
             f"  profile: {profile.name}",
             "",
             f"RELEVANCE  {'RELEVANT' if rel.relevant else 'not relevant'}  score {rel.score:.2f}",
             f"  {rel.reason}",
             f"  terms: {', '.join(rel.terms) if rel.terms else '-'}"]
    for sentence in rel.sentences:
        lines.append(wrap.fill(f"> {sentence}"))
    if not rel.relevant:
        lines += ["", "FACTS  none (facts are only extracted from relevant articles)"]
        return "\n".join(lines) + "\n"
    why = _model_reasons(article, profile)
    for kind, label in (("bidder", "BIDDERS"), ("deadline", "DEADLINES"), ("price", "PRICES")):
        facts = [f for f in judgment.facts if f.kind == kind]
        lines += ["", f"{label}  {len(facts) or 'none'}"]
        for fact in facts:
            detail = ", ".join(f"{k}={v}" for k, v in fact.detail.items())
            lines.append(f"  * {fact.value}   ({detail})")
            if (kind, fact.value) in why:
                lines.append(f"      why: {why[kind, fact.value]}")
            lines.append(wrap.fill(f"> {fact.evidence}"))
    rejected = [(k, v, r) for (k, v), r in why.items() if not any(f.kind == k and f.value == v for f in judgment.facts)]
    if rejected:
        lines += ["", "CANDIDATES THE MODELS REJECTED"]
        lines += [f"  - {kind} {value}: {reason}" for kind, value, reason in rejected]
    return "\n".join(lines) + "\n"


__all__ = ["judge", "explain", "dedupe"]
