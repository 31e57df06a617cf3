"""The facts an article states about the deal: bidders, deadlines, prices, each with its sentence.

    extract_facts(article, profile) -> list[Fact]

Pure functions (no I/O). Each extractor returns one Fact per finding; `dealwatch.judge.judge` keeps one
per (kind, value), the one with the best evidence.
"""
from __future__ import annotations

from dealwatch.facts.bidders import extract_bidders
from dealwatch.facts.deadlines import extract_deadlines
from dealwatch.facts.prices import extract_prices
from dealwatch.model import Article, Fact
from dealwatch.profile import Profile


def extract_facts(article: Article, profile: Profile) -> list[Fact]:
    """Every bidder, deadline and price the article states (not deduplicated)."""
    return [*extract_bidders(article, profile), *extract_deadlines(article, profile),
            *extract_prices(article, profile)]


__all__ = ["extract_facts", "extract_bidders", "extract_deadlines", "extract_prices"]
