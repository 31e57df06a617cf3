"""dealwatch: watch the news for a corporate saga; new bidders and deadlines, with evidence, into DuckDB."""

__version__ = "0.1.0"
