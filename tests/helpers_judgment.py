"""Small builders shared by the judgment tests (not a test module)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import lru_cache

from dealwatch.learned import JudgmentModels
from dealwatch.model import Article
from dealwatch.profile import Profile, load_profile


@lru_cache(maxsize=1)
def profile() -> Profile:
    """The bundled profile judged by its rules alone: the rules' own tests (the learned models weigh what the rules
    read; tests/test_learned.py tests them through the trained profile)."""
    return replace(load_profile(), models=JudgmentModels())


@lru_cache(maxsize=1)
def trained_profile() -> Profile:
    """The bundled profile with its learned weights, as the pipeline judges."""
    return load_profile()


def article(text: str, *, lang: str = "en", published: date = date(2025, 4, 3), title: str = "") -> Article:
    return Article(url="https://example.test/a", title=title, text=text, lang=lang, published=published,
                   source="Test")
