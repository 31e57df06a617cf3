"""Small builders shared by the judgment tests (not a test module)."""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from dealwatch.model import Article
from dealwatch.profile import Profile, load_profile


@lru_cache(maxsize=1)
def profile() -> Profile:
    return load_profile()


def article(text: str, *, lang: str = "en", published: date = date(2025, 4, 3), title: str = "") -> Article:
    return Article(url="https://example.test/a", title=title, text=text, lang=lang, published=published,
                   source="Test")
