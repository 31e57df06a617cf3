"""The whole judgment over the labelled corpora (read from ../shared, never copied) and judge()/explain()."""
from __future__ import annotations

import importlib.util
import os
from datetime import date
from pathlib import Path

import pytest

from dealwatch.judge import dedupe, explain, judge
from dealwatch.model import Fact
from helpers_judgment import article, profile
from paths import SHARED

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("DEALWATCH_CORPORA", SHARED / "corpus"))
FLOORS = {"relevance": 0.97, "bidders": 0.92, "deadlines": 0.88}


def _scorer():
    spec = importlib.util.spec_from_file_location("judge_corpus", ROOT / "scripts" / "judge_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("corpus", ["dev", "seeds"])
def test_corpus_f1_floors(corpus):
    folder = CORPORA / corpus
    scorer = Path(os.environ.get("DEALWATCH_EVAL_DIR", SHARED / "eval")) / "score.py"
    if not (folder / "gold.jsonl").exists() or not scorer.exists():
        pytest.skip(f"corpus {folder} or the shared scorer {scorer} is not available")
    report = _scorer().evaluate(folder, profile())
    for key, floor in FLOORS.items():
        assert report[key]["f1"] >= floor, (key, report[key], report["errors"])
    assert report["seconds"] < 0.2 * report["articles"]  # extraction + judgment, well under 200 ms an article


HELDOUT = ROOT / "tests" / "fixtures" / "heldout"  # our own held-out-style corpus (tests/fixtures/heldout/build.py)
HELDOUT_FLOORS = {"relevance": 0.95, "bidders": 0.95, "deadlines": 0.95, "prices": 0.9}


def test_heldout_fixture_corpus_f1_floors():
    scorer = Path(os.environ.get("DEALWATCH_EVAL_DIR", SHARED / "eval")) / "score.py"
    if not scorer.exists():
        pytest.skip(f"the shared scorer {scorer} is not available")
    report = _scorer().evaluate(HELDOUT, profile())
    for key, floor in HELDOUT_FLOORS.items():
        assert report[key]["f1"] >= floor, (key, report[key], report["errors"])
    assert report["seconds"] < 0.2 * report["articles"]


def test_heldout_fixture_corpus_is_well_formed():
    import json
    golds = [json.loads(line) for line in (HELDOUT / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line]
    assert len(golds) >= 24 and len({g["id"] for g in golds}) == len(golds)
    for g in golds:
        assert (HELDOUT / "articles" / f"{g['id']}.html").exists()
        assert g["lang"] in ("en", "de") and isinstance(g["relevant"], bool)
        assert all(0 <= d["tolerance_days"] <= 7 for d in g["deadlines"])
        if not g["relevant"]:
            assert not g["bidders"] and not g["deadlines"] and not g["prices_usd"]


def test_judge_gives_no_facts_for_irrelevant_article():
    j = judge(article("TikTok users complained about an outage on Thursday.", title="TikTok outage"), profile())
    assert not j.relevance.relevant and j.facts == ()


def test_judge_dedupes_per_kind_and_value_keeping_best_evidence():
    text = ("Microsoft said it would press ahead with talks to buy TikTok's U.S. business by Sept. 15. "
            "Microsoft is in talks to buy TikTok. ByteDance must sell TikTok's U.S. operations by Sept. 15 "
            "or the app will be banned.")
    j = judge(article(text, published=date(2020, 8, 3), title="Microsoft in talks to buy TikTok"), profile())
    keys = [(f.kind, f.value) for f in j.facts]
    assert len(keys) == len(set(keys))
    assert ("bidder", "Microsoft") in keys and ("deadline", "2020-09-15") in keys


def test_dedupe_prefers_stated_over_computed_deadline():
    computed = Fact("deadline", "2020-11-12", "long computed sentence", {"how": "computed"})
    stated = Fact("deadline", "2020-11-12", "stated sentence that is longer than the other one", {"how": "explicit"})
    assert dedupe([computed, stated])[0].evidence == stated.evidence


def test_explain_reports_relevance_and_every_fact_with_sentence():
    text = ("Oracle has submitted a bid for TikTok's U.S. business. The ban-or-sell deadline is Jan. 19. "
            "The group has offered $20 billion for TikTok's U.S. assets.")
    report = explain(article(text, published=date(2025, 1, 16), title="Oracle bids for TikTok"), profile())
    assert "RELEVANT" in report and "score" in report
    assert "Oracle" in report and "2025-01-19" in report and "USD 20000000000-20000000000" in report
    assert "> Oracle has submitted a bid" in report


# --- whole articles in other outlets' styles (written for these tests) ---------------------------------
from dealwatch.model import Article  # noqa: E402

SYNTHETIC = [
 dict(lang="en", pub=date(2020,9,1), rel=True, title="Exclusive: Oracle nears deal; Walmart-Microsoft bid falls behind",
  bidders={"Oracle","Walmart","Microsoft","Triller"}, deadlines={"2020-09-15","2020-11-12"}, prices={(25e9,30e9)},
  text="""Oracle Corp has pulled ahead in the race to acquire TikTok's U.S. operations, two sources said on Tuesday, as a rival bid by Microsoft Corp and Walmart Inc stalled over the app's algorithm.
The sources said ByteDance had valued the business at between $25 billion and $30 billion. A decision could come as soon as this week, ahead of a Sept. 15 deadline set by President Donald Trump.
Oracle co-founder Larry Ellison, a Trump supporter, has been pushing the bid personally. Microsoft declined to comment. Walmart did not immediately respond.
Triller, a smaller rival app, has also tabled an offer, though sources said it was not seen as serious.
Under a separate order signed Aug. 14, ByteDance must divest TikTok's U.S. assets within 90 days of that date.
Google, whose cloud hosts part of TikTok's infrastructure, is not involved in the talks, the sources said. Shares of Alphabet were flat."""),
 dict(lang="de", pub=date(2025,1,17), rel=True, title="Tiktok vor dem Aus? Diese Käufer stehen bereit",
  bidders={"Project Liberty","Kevin O'Leary","Perplexity AI","Liberty Strategic Capital"}, deadlines={"2025-01-19"}, prices={(20e9,20e9)},
  text="""Am Sonntag läuft die Frist ab: Bis dahin muss ByteDance das US-Geschäft von Tiktok verkaufen, sonst droht ein Verbot. Der Supreme Court hat das Gesetz am Freitag bestätigt.
Kaufinteressenten gibt es einige. Die Initiative Project Liberty des Milliardärs Frank McCourt hat nach eigenen Angaben ein Angebot über 20 Milliarden Dollar vorgelegt; auch der Investor Kevin O'Leary ist an Bord.
Das KI-Start-up Perplexity AI schlägt eine Fusion mit Tiktok vor. Ex-Finanzminister Steven Mnuchin sammelt Geld für ein eigenes Gebot.
Elon Musk, über den spekuliert wurde, äußerte sich nicht. Apple und Google müssten die App aus ihren Stores entfernen.
Der designierte Präsident Donald Trump, der am 20. Januar vereidigt wird, will eine Lösung finden."""),
 dict(lang="en", pub=date(2024,3,14), rel=False, title="Why TikTok's Chinese ownership worries lawmakers",
  bidders=set(), deadlines=set(), prices=set(),
  text="""TikTok's chief executive will testify before Congress next week about the app's data practices. Lawmakers have raised concerns about ByteDance's ties to Beijing.
The company has spent more than $1.5 billion on Project Texas, a plan to store American user data on Oracle servers. Critics say that is not enough.
TikTok has about 170 million American users. Its rivals Meta and YouTube have also faced scrutiny over data collection.
A hearing is scheduled for March 23."""),
 dict(lang="en", pub=date(2023,1,10), rel=False, title="Microsoft in talks to invest $10 billion in OpenAI",
  bidders=set(), deadlines=set(), prices=set(),
  text="""Microsoft is in talks to invest $10 billion in OpenAI, the maker of ChatGPT, people familiar said. The deal would value OpenAI at $29 billion.
The investment would deepen a partnership that began in 2019. Microsoft would get a stake in OpenAI and a share of its profits.
The talks come as Microsoft faces competition from Google and from TikTok for young users' attention. A deal could close by the end of January."""),
 dict(lang="de", pub=date(2025,4,5), rel=True, title="Trump verlängert Tiktok-Frist um weitere 75 Tage",
  bidders={"Oracle","Blackstone","Amazon","AppLovin"}, deadlines={"2025-06-19","2025-04-05"}, prices=set(),
  text="""US-Präsident Donald Trump hat die Frist für den Verkauf von Tiktok erneut verlängert. Die Schonfrist, die am Samstag, dem 5. April, ausgelaufen wäre, gilt nun bis zum 19. Juni.
Ein fast fertiger Deal mit Oracle und Blackstone war zuvor am Widerstand Pekings gescheitert. Auch Amazon und der Werbetechnik-Konzern AppLovin hatten zuletzt Gebote abgegeben.
Peking reagierte auf Trumps Zölle von 34 Prozent mit Gegenmaßnahmen. Tiktok selbst äußerte sich zufrieden."""),
]


SYNTHETIC += [
 dict(lang="en", pub=date(2020,9,19), rel=True, title="US delays TikTok app store ban by a week after Oracle deal wins Trump's blessing",
  bidders={"Oracle","Walmart"}, deadlines={"2020-09-20","2020-09-27","2020-11-12"}, prices=set(),
  text="""The Commerce Department on Saturday postponed by one week, until 27 September, a ban on new downloads of TikTok from US app stores that was due to take effect on Sunday.
The move came after President Trump said he had approved "in concept" a deal under which Oracle and Walmart would take stakes of 12.5% and 7.5% respectively in a new company, TikTok Global.
The broader prohibition, which would also cut off hosting services, is still set for 12 November.
TikTok Global is expected to pay about £3.9bn in taxes, Mr Trump claimed, without giving details."""),
 dict(lang="de", pub=date(2025,1,14), rel=True, title="Tiktok: Wie es nach dem 19. Jänner weitergeht",
  bidders=set(), deadlines={"2025-01-19"}, prices=set(),
  text="""Am 19. Jänner läuft in den USA die Frist für den Verkauf von Tiktok ab. Der Supreme Court hat noch nicht entschieden.
Wer die App übernehmen könnte, ist unklar; ByteDance hat einen Verkauf bisher ausgeschlossen.
Für österreichische Nutzerinnen und Nutzer ändert sich nichts, die App bleibt in Europa verfügbar."""),
 dict(lang="en", pub=date(2024,6,1), rel=False, title="TikTok's European boss on creators, commerce and the DSA",
  bidders=set(), deadlines=set(), prices=set(),
  text="""TikTok's head of European operations said the company would meet the EU's deadline of June 30 for new transparency reports under the Digital Services Act.
She declined to discuss the U.S. law that could force a sale, saying it was a matter for the American team.
TikTok Shop will expand to Germany and Italy later this year, she said, competing with Amazon and Zalando.
The company plans to invest €12 billion in European data centres over ten years."""),
 dict(lang="en", pub=date(2025,3,28), rel=True, title="Vance says TikTok deal will be done by April 5",
  bidders={"Oracle"}, deadlines={"2025-04-05"}, prices=set(),
  text="""Vice President JD Vance said he expected a deal on TikTok's future to be reached by the April 5 deadline, with Oracle seen as the frontrunner to take a stake in the U.S. business.
"I think we'll have a deal," Vance said. Analysts said investors would welcome clarity.
Google and Apple, which distribute the app, have sought legal assurances from the Justice Department."""),
 dict(lang="de", pub=date(2020,8,4), rel=True, title="Microsoft will Tiktok kaufen – Trump setzt Frist bis 15. September",
  bidders={"Microsoft"}, deadlines={"2020-09-15"}, prices=set(),
  text="""Microsoft will das US-Geschäft der Videoplattform Tiktok übernehmen. Die Verhandlungen mit dem chinesischen Eigentümer ByteDance sollen bis spätestens 15. September abgeschlossen sein, teilte der Konzern am Sonntag mit.
Präsident Donald Trump drohte, Tiktok am 15. September zu verbieten, falls es bis dahin keinen Käufer gebe. Die US-Regierung müsse zudem einen Teil des Kaufpreises erhalten.
Microsoft-Chef Satya Nadella hatte am Wochenende mit Trump telefoniert."""),
]


@pytest.mark.parametrize("case", SYNTHETIC, ids=[c["title"][:40] for c in SYNTHETIC])
def test_synthetic_article(case):
    j = judge(Article("https://example.test/x", case["title"], case["text"], case["lang"], case["pub"]), profile())
    assert j.relevance.relevant == case["rel"]
    assert {f.value for f in j.facts if f.kind == "bidder"} == case["bidders"]
    assert {f.value for f in j.facts if f.kind == "deadline"} == case["deadlines"]
    assert {f.value for f in j.facts if f.kind == "price"} == {f"USD {int(lo)}-{int(hi)}" for lo, hi in case["prices"]}


def test_long_run_on_junk_text_is_judged_quickly():
    import time
    junk = " ".join(["TikTok Oracle bid deadline Sept. 15 offer $20 billion led by Capital Frist bis Samstag"] * 3000)
    started = time.perf_counter()
    judgment = judge(article(junk, published=date(2020, 8, 1), title="TikTok sale bid"), profile())
    assert time.perf_counter() - started < 2.0 and judgment.relevance.score > 0


def test_extract_drops_teasers_and_comments_outside_the_article():
    from dealwatch.extract import extract_article
    from dealwatch.model import FeedItem, Page
    html = """<html><body><article><h1>Oracle bids for TikTok</h1>
<p>Oracle has submitted a bid for TikTok's U.S. business, people familiar with the matter said on Monday.</p>
<p><strong>Lesen Sie auch:</strong> <a href="/x">Walmart bietet für Tiktok – was dahinter steckt</a></p>
<p>The deadline for ByteDance to sell the app is Jan. 19, and several investors have approached the company.</p>
<p>Read more: <a href="/y">Amazon makes a last-minute offer for TikTok</a></p>
<p>ByteDance did not respond to a request for comment on the bid, which was first reported on Monday.</p>
</article><div class="user-feedback"><div class="post"><p>Amazon should buy TikTok and be done with it.</p></div></div>
</body></html>"""
    item = FeedItem(feed_url="f", link="https://example.test/a.html", title="Oracle bids for TikTok")
    page = Page("https://example.test/a.html", "https://example.test/a.html", 200, "text/html", html.encode())
    text = extract_article(page, item, date(2025, 1, 10)).text
    assert "Oracle has submitted a bid" in text and "ByteDance did not respond" in text
    assert "Lesen Sie auch" not in text and "Read more" not in text and "should buy" not in text


def test_extract_cuts_a_comment_section_kept_inside_the_article():
    from dealwatch.extract import clean_text
    text = "\n".join(["Oracle has submitted a bid for TikTok's U.S. business."] * 4
                     + ["Comments (2)", "Jim: Meta has made an offer for TikTok, my cousin says."])
    cleaned = clean_text(text)
    assert "Meta" not in cleaned and cleaned.count("Oracle") == 4
