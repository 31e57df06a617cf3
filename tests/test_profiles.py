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
def test_the_second_profile_finds_its_sagas_bidders_and_deadlines_through_the_cycle(prefect_engine, tmp_path, smtp,
                                                                                    webhook, capsys):
    from pydantic import SecretStr

    from dealwatch import cli
    from flows.monitor import monitor

    db = tmp_path / "saxonia.duckdb"
    with SampleNewsServer(SAGA) as site:
        gold = {f"{site.base_url}/a/{g['id']}.html": g for g in site.articles}

        def cycle():   # alerts to the site's webhook, a real SMTP server and a real webhook receiver
            return asyncio.run(monitor(db=str(db), feeds=site.feed_urls(), profile=str(PROFILE),
                                       notify=[SecretStr(u) for u in (site.notify_url, smtp.url(), webhook.url())],
                                       notify_min_interval=0))

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

    # every message names the Saxonia profile's target, none TikTok: the site's webhook, the mail, the JSON hook
    subjects = [str(msg["Subject"]) for _, _, msg in smtp.messages]
    hooked = [p["title"] for p in webhook.payloads]
    assert len(subjects) == len(hooked) == len(titles) >= 3
    for title in titles + subjects + hooked:
        assert "Saxonia Wafer" in title and "TikTok" not in title, title
    bodies = [smtp.text_of(msg) for _, _, msg in smtp.messages] + [p["message"] for p in webhook.payloads]
    assert not [b for b in bodies if "TikTok" in b or "Saxonia Wafer" not in b]
    assert rows(db, "SELECT DISTINCT target_label FROM alerts") == [("Saxonia Wafer",)]

    # explain --db: a stored article, from the warehouse (the site is gone), judged again, beside what was stored
    url = next(u for u, g in gold.items() if g["bidders"])
    config = tmp_path / "dealwatch.toml"
    config.write_text(f"[profile]\npath = {json.dumps(str(PROFILE))}\n", encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["explain", "--config", str(config), "--db", str(db), url]) == 0
    out = capsys.readouterr().out
    assert f"url: {url}" in out and "RELEVANT" in out and f"STORED  in {db}" in out
    for name in gold[url]["bidders"]:
        assert f"* {name}" in out and f"bidder {name}" in out.split("STORED")[1]


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


# -- the target's label: alerts, retried alerts, older warehouses, the report ---------------------------------

def kaori_outcome():
    """One Saxonia article as the cycle stores it, naming a bidder (a new alert)."""
    from datetime import date

    from dealwatch.model import Article, Fact, FeedItem, Judgment, Relevance
    from dealwatch.warehouse import ItemOutcome

    item = FeedItem(feed_url="http://news.test/feed.xml", link="http://news.test/a/kaori.html", title="Kaori bids")
    sentence = "Kaori Electronics has submitted a bid for Saxonia Wafer."
    article = Article(url=item.link, title=item.title, text=sentence, lang="en", published=date(2026, 3, 20),
                      source="Chip Ledger", text_source="feed")
    return ItemOutcome(item=item, article=article, judgment=Judgment(
        Relevance(True, 9.0), (Fact("bidder", "Kaori Electronics", sentence, {"role": "bidder"}),)))


def test_a_retried_alert_keeps_the_label_of_the_profile_it_was_raised_under(smtp, tmp_path, capsys):
    """Raised under Saxonia, refused for good by the mail server (550), re-queued with `dealwatch alerts --retry`
    and delivered by a later delivery that runs with the TikTok profile: the mail still names Saxonia Wafer."""
    from dealwatch import cli
    from dealwatch.alerts import Notifier
    from dealwatch.delivery import deliver_outbox
    from dealwatch.warehouse import Warehouse

    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.migrate()
    [alert] = warehouse.store_outcomes([kaori_outcome()], target_label=load_profile(PROFILE).label).alerts_new
    assert alert.target_label == "Saxonia Wafer"
    smtp.refused.add("boss@example.org")
    tiktok = load_profile().label   # the deliverer's profile from now on: the bundled one
    assert tiktok == "TikTok US"

    def deliver():   # as flows.monitor.deliver_alerts does, with a Notifier of its own
        return deliver_outbox(warehouse, Notifier([smtp.url(to="boss@example.org")], min_interval=0), 10,
                              target=tiktok)

    assert deliver().alerts_refused == 1
    assert warehouse.query("SELECT status FROM alerts")[1] == [("failed",)] and smtp.messages == []

    smtp.refused.clear()   # the address is fixed
    assert cli.main(["alerts", "--db", str(warehouse.path)]) == 0   # the listing names each alert's target
    header, _rule, row = capsys.readouterr().out.splitlines()[:3]
    assert header.split()[:3] == ["id", "target", "kind"] and "Saxonia Wafer" in row and "failed" in row
    assert cli.main(["alerts", "--db", str(warehouse.path), "--retry"]) == 0
    assert "re-queued 1 alert" in capsys.readouterr().out
    assert deliver().alerts_sent == 1
    [(_, _, msg)] = smtp.messages
    assert msg["Subject"] == "New bidder for Saxonia Wafer: Kaori Electronics"
    assert "TikTok" not in smtp.text_of(msg) and "Saxonia Wafer" in smtp.text_of(msg)


def test_an_older_warehouses_alerts_get_the_label_of_the_deliverers_profile(webhook, tmp_path):
    """A warehouse of schema version 6 (no target_label): migration 007 adds the column, NULL for the alert
    raised before; the delivery names it with the profile it runs with (here Saxonia's)."""
    from pydantic import SecretStr

    from dealwatch.warehouse import Warehouse, migrations
    from flows.monitor import deliver_alerts
    from warehouses import warehouse_at_version

    path = tmp_path / "v6.duckdb"
    with warehouse_at_version(path, 6) as con:
        con.execute("INSERT INTO alerts (kind, value, article_url, evidence, created_at) VALUES ('bidder', "
                    "'Veltrix Semiconductor', 'http://news.test/a/1.html', 'Veltrix bids for the plant.', now())")
    warehouse = Warehouse(path)
    assert warehouse.migrate() == migrations()[-1][0] >= 7
    assert warehouse.query("SELECT target_label FROM alerts")[1] == [(None,)]
    hook = [SecretStr(webhook.url())]
    assert deliver_alerts.fn(str(path), hook, [], 10, 0, target=load_profile(PROFILE).label)["alerts_sent"] == 1
    assert [p["title"] for p in webhook.payloads] == ["New bidder for Saxonia Wafer: Veltrix Semiconductor"]


def test_the_report_is_headed_by_the_profiles_target(tmp_path):
    from dealwatch import cli
    from dealwatch.warehouse import Warehouse

    Warehouse(tmp_path / "w.duckdb").migrate()
    config = tmp_path / "dealwatch.toml"
    config.write_text(f"[profile]\npath = {json.dumps(str(PROFILE))}\n", encoding="utf-8")
    page = tmp_path / "r.html"
    assert cli.main(["report", "--config", str(config), "--db", str(tmp_path / "w.duckdb"), "--html", str(page)]) == 0
    head = page.read_text(encoding="utf-8").split('<p class="meta">')[0]
    assert "<h1>dealwatch: Saxonia Wafer</h1>" in head and "Dresden chip plant" in head and "TikTok" not in head
    assert cli.main(["report", "--db", str(tmp_path / "w.duckdb"), "--html", str(page)]) == 0   # the bundled profile
    assert "<h1>dealwatch: TikTok US</h1>" in page.read_text(encoding="utf-8")


def test_explain_db_says_what_to_do_when_the_article_is_not_stored(tmp_path, capsys):
    from dealwatch import cli
    from dealwatch.warehouse import Warehouse

    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.migrate()
    warehouse.store_outcomes([kaori_outcome()])
    db = str(warehouse.path)
    assert cli.main(["explain", "--db", db, "http://news.test/a/other.html"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dealwatch: error: no article http://news.test/a/other.html in the warehouse {db}")
    assert "drop --db" in err
    page = SAGA / "articles" / "de-drei-gebote.html"
    assert cli.main(["explain", "--db", db, str(page)]) == 2
    assert "is not an http(s) URL" in capsys.readouterr().err
    # the stored one: found by another spelling of its URL (tracking parameters are not part of it)
    assert cli.main(["explain", "--db", db, "http://NEWS.test/a/kaori.html?utm_source=x"]) == 0
    out = capsys.readouterr().out
    assert "url: http://news.test/a/kaori.html" in out and "facts stored: bidder Kaori Electronics" in out


def test_the_label_defaults_to_the_canonical_name_and_must_be_text(tmp_path):
    from dealwatch.profile import ProfileError

    assert load_profile(PROFILE).label == "Saxonia Wafer" and load_profile().label == "TikTok US"
    broken = tmp_path / "broken.toml"
    broken.write_text(PROFILE.read_text(encoding="utf-8").replace('canonical = "Saxonia Wafer"',
                                                                   'canonical = "Saxonia Wafer"\nlabel = " "'))
    with pytest.raises(ProfileError, match=r"broken.toml: \[target\] label must be a non-empty string"):
        load_profile(broken)
