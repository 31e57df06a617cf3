"""The second bundled profile (dealwatch/profiles/saxonia.toml) on its own saga (tests/fixtures/saxonia/): the
real cycle (sample news site on loopback, Prefect flow, DuckDB, apprise to the site's webhook) finds the saga's
bidders and deadlines, article by article as labelled, and alerts only what is new; the config selects it."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import duckdb
import pytest

from dealwatch.demo import SampleNewsServer, load_corpus
from dealwatch.learned import JudgmentModels
from dealwatch.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "dealwatch" / "profiles" / "saxonia.toml"
SAGA = ROOT / "tests" / "fixtures" / "saxonia"


def rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_second_profile_is_judged_by_its_rules_alone():
    profile = load_profile(PROFILE)
    assert profile.name == "saxonia-wafer-sale" and profile.target == "Saxonia Wafer"
    assert not (PROFILE.parent / "saxonia.weights.json").exists() and profile.models == JudgmentModels()
    gold = load_corpus(SAGA)
    assert 6 <= len(gold) <= 10 and {g["lang"] for g in gold} == {"en", "de"}
    assert any(not g["relevant"] for g in gold) and any(g["phase"] == 2 for g in gold)


@pytest.mark.prefect
def test_the_second_profile_finds_its_sagas_bidders_and_deadlines_through_the_cycle(prefect_engine, tmp_path):
    from flows.monitor import monitor

    db = tmp_path / "saxonia.duckdb"
    with SampleNewsServer(SAGA) as site:
        gold = {f"{site.base_url}/a/{g['id']}.html": g for g in site.articles}

        def cycle():
            return asyncio.run(monitor(db=str(db), feeds=site.feed_urls(), notify=[site.notify_url],
                                       profile=str(PROFILE)))

        first = cycle()
        assert first["feeds_failed"] == 0 and first["articles_new"] == sum(g["phase"] == 1 for g in gold.values())
        alerted_first = set(rows(db, "SELECT kind, value FROM alerts"))
        site.phase = 2
        second = cycle()
        assert second["articles_new"] == sum(g["phase"] == 2 for g in gold.values())
        notifications = site.notifications

    stored = dict(rows(db, "SELECT url, relevant FROM articles"))
    assert stored == {url: g["relevant"] for url, g in gold.items()}
    facts = rows(db, "SELECT article_url, kind, value FROM facts WHERE kind IN ('bidder', 'deadline')")
    found = {(url, kind, value) for url, kind, value in facts}
    labelled = {(url, "bidder", name) for url, g in gold.items() for name in g["bidders"]}
    labelled |= {(url, "deadline", d["date"]) for url, g in gold.items() for d in g["deadlines"]}
    assert found == labelled

    # alerts: one per bidder or deadline the warehouse had never seen, each delivered once, none repeated
    alerts = set(rows(db, "SELECT kind, value FROM alerts WHERE kind IN ('bidder', 'deadline')"))
    assert alerts == {(kind, value) for _, kind, value in labelled}
    assert alerts - alerted_first == {("deadline", "2026-11-30"), ("deadline", "2026-12-15")}
    assert second["alerts_new"] == 2 and second["alerts_sent"] == 2
    assert rows(db, "SELECT count(*) FROM alerts WHERE status <> 'sent'") == [(0,)]
    titles = [n["title"] for n in notifications]
    assert any("Kaori Electronics" in t for t in titles) and any("2026-12-15" in t for t in titles), titles


def test_the_config_selects_the_profile_and_explain_shows_it(tmp_path, capsys):
    from dealwatch import cli

    config = tmp_path / "dealwatch.toml"
    config.write_text(f"[profile]\npath = {json.dumps(str(PROFILE))}\n", encoding="utf-8")
    page = SAGA / "articles" / "de-drei-gebote.html"
    assert cli.main(["explain", "--config", str(config), str(page)]) == 0
    out = capsys.readouterr().out
    assert "profile: saxonia-wafer-sale" in out
    for bidder in ("Nordlicht Capital", "Elbtal Beteiligungen", "Veltrix Semiconductor", "Kaori Electronics"):
        assert bidder in out
    assert "2026-06-30" in out


def test_serve_refuses_a_profile_that_cannot_be_used_before_it_starts_anything(tmp_path, capsys, monkeypatch):
    """Not in every scheduled run's log: one line when `dealwatch serve` starts, and nothing served."""
    import deployments.serve
    from dealwatch import cli

    def served(*args, **kwargs):
        raise AssertionError("serve started with a profile that cannot be used")

    monkeypatch.setattr(deployments.serve, "serve", served)

    profile = tmp_path / "broken.toml"
    profile.write_text("[profile]\nname = \"broken\"\n[target]\ncanonical = \"X\"\nnames = []\n", encoding="utf-8")
    config = tmp_path / "dealwatch.toml"
    config.write_text('[profile]\npath = "broken.toml"\n', encoding="utf-8")
    assert cli.main(["serve", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err == f"dealwatch: error: {profile}: missing table [relevance]\n"
