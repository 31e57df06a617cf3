"""The TOML config: defaults, environment interpolation, paths, and clear errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from dealwatch.config import DEFAULT_WAREHOUSE, ConfigError, default_feeds, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dealwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_config_file_means_the_bundled_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.source is None and config.warehouse == DEFAULT_WAREHOUSE
    assert config.feeds == default_feeds()
    assert any("news.google.com" in f and "TikTok" in f for f in config.feeds)   # news search for the story
    assert any(f.startswith("https://www.heise.de") for f in config.feeds)       # a German source


def test_dealwatch_toml_in_the_working_directory_is_used(tmp_path, monkeypatch):
    write(tmp_path, 'feeds = ["https://example.org/feed.xml"]\n')
    monkeypatch.chdir(tmp_path)
    assert load_config().feeds == ("https://example.org/feed.xml",)


def test_environment_references_are_resolved_and_paths_are_relative_to_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DW_SMTP_PASSWORD", "s3cret")
    path = write(tmp_path, """
feeds = [{url = "https://example.org/a.xml"}, "https://example.org/b.xml"]
[warehouse]
path = "data/w.duckdb"
[notify]
urls = ["mailtos://bot:${DW_SMTP_PASSWORD}@mail.example.org?to=me@example.org"]
config = ["apprise.yml"]
digest_threshold = 3
[fetch]
deadline = 5.0
""")
    config = load_config(path)
    assert config.feeds == ("https://example.org/a.xml", "https://example.org/b.xml")
    assert config.warehouse == tmp_path / "data" / "w.duckdb"
    assert config.notify_urls == ("mailtos://bot:s3cret@mail.example.org?to=me@example.org",)
    assert config.notify_configs == (tmp_path / "apprise.yml",)
    assert (config.digest_threshold, config.fetch) == (3, {"deadline": 5.0})


@pytest.mark.parametrize("text, message", [
    ("feeds = [", "is not valid TOML"),
    ("feds = []", "unknown setting(s) feds"),
    ('[notify]\nurls = ["json://x/${DW_NOT_SET_ANYWHERE}"]', "DW_NOT_SET_ANYWHERE, which is not set"),
    ("feeds = [1, 2]", "feeds must be a list of URLs"),
    ("notify = 3", "[notify] must be a table"),
    ("[notify]\ndigest_threshold = -1", "digest_threshold must be a whole number"),
    ("[fetch]\ntimeout = 20", "unknown fetch setting(s) timeout; known: "),
    ("[fetch]\nmax_per_host = 0", "max_per_host must be at least 1"),
])
def test_bad_config_names_the_problem(tmp_path, monkeypatch, text, message):
    monkeypatch.delenv("DW_NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        load_config(write(tmp_path, text))


def test_missing_config_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="no config file at"):
        load_config(tmp_path / "nope.toml")


def test_scale_names_the_dask_scheduler(tmp_path, monkeypatch):
    monkeypatch.setenv("DASK_HOST", "scheduler.example.org")
    path = tmp_path / "dealwatch.toml"
    path.write_text('[scale]\ndask_scheduler = "tcp://${DASK_HOST}:8786"\n', encoding="utf-8")
    assert load_config(path).dask_scheduler == "tcp://scheduler.example.org:8786"
    path.write_text("", encoding="utf-8")
    assert load_config(path).dask_scheduler is None
    path.write_text('[scale]\ndask = "tcp://x:8786"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[scale\]: unknown setting\(s\) dask; known: dask_scheduler"):
        load_config(path)
    path.write_text('[scale]\ndask_scheduler = 8786\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="scale.dask_scheduler must be the scheduler's address"):
        load_config(path)
