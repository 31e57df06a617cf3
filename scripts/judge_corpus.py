#!/usr/bin/env python3
"""Offline scorer of the judgment against a labelled corpus (no HTTP, no warehouse): the fast loop.

    uv run python scripts/judge_corpus.py CORPUS_DIR [--show-errors] [--json OUT]

For each gold article: build the FeedItem a feed would give (title, summary, published from gold) and the
Page, run dealwatch.extract.extract_article, then dealwatch.judge.judge; score relevance, bidders,
deadlines and prices exactly like ../shared/eval/score.py (its helpers are imported from there).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# the shared folder beside the checkout (as CI lays it out), unless DEALWATCH_EVAL_DIR names another
EVAL_DIR = Path(os.environ.get("DEALWATCH_EVAL_DIR", ROOT.parent / "shared" / "eval"))
sys.dont_write_bytecode = True
sys.path.insert(0, str(EVAL_DIR))

from score import (deadline_matches, gold_deadlines, name_key, parse_date, parse_price,  # noqa: E402
                   price_matches, prf, score_pairs)

from dealwatch.extract import ExtractionError, article_from_feed, extract_article  # noqa: E402
from dealwatch.judge import judge  # noqa: E402
from dealwatch.model import FeedItem, Judgment, Page  # noqa: E402
from dealwatch.profile import load_profile  # noqa: E402


def load_gold(corpus: Path) -> list[dict]:
    return [json.loads(line) for line in (corpus / "gold.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]


def gold_article(corpus: Path, gold: dict):
    """The Article the pipeline would make of one gold article (its feed item, then its page)."""
    link = f"http://127.0.0.1/a/{gold['id']}.html"
    published = (datetime.fromisoformat(gold["published"]).replace(tzinfo=timezone.utc)
                 if gold.get("published") else None)
    item = FeedItem(feed_url=f"http://127.0.0.1/feeds/{gold.get('feed', 'x')}.xml", link=link,
                    title=gold.get("title", ""), summary=gold.get("summary", ""), published=published, guid=link)
    body = (corpus / "articles" / f"{gold['id']}.html").read_bytes()
    page = Page(url=link, final_url=link, status=200, content_type="text/html; charset=utf-8", body=body,
                encoding="utf-8")
    fetched_on = date.fromisoformat(gold["published"]) if gold.get("published") else date.today()
    try:
        article = extract_article(page, item, fetched_on)
    except ExtractionError:
        article = article_from_feed(item, fetched_on)
    return article


def judge_gold_article(corpus: Path, gold: dict, profile) -> tuple[Judgment, object]:
    """Extract and judge one gold article the way the pipeline would."""
    article = gold_article(corpus, gold)
    return judge(article, profile), article


def evaluate(corpus: Path, profile=None, ids: set[str] | None = None) -> dict:
    """Score the judgment on a corpus (only the articles whose id is in `ids`, when given)."""
    profile = profile or load_profile()
    golds = [g for g in load_gold(corpus) if ids is None or g["id"] in ids]
    started = time.perf_counter()
    predicted, facts = {}, defaultdict(lambda: defaultdict(list))
    evidence = defaultdict(dict)
    for g in golds:
        judgment, _article = judge_gold_article(corpus, g, profile)
        predicted[g["id"]] = judgment.relevance.relevant
        for f in judgment.facts:
            facts[f.kind][g["id"]].append(f.value)
            evidence[g["id"]][(f.kind, f.value)] = (f.evidence, f.detail)
        evidence[g["id"]]["_relevance"] = judgment.relevance
    elapsed = time.perf_counter() - started
    relevant = [g for g in golds if g["relevant"]]
    pairs = [(g["relevant"], predicted[g["id"]]) for g in golds]
    report = {
        "articles": len(golds), "seconds": round(elapsed, 3),
        "relevance": prf(sum(a and b for a, b in pairs), sum(b and not a for a, b in pairs),
                         sum(a and not b for a, b in pairs)),
        "bidders": score_pairs({g["id"]: list({name_key(b) for b in g["bidders"]}) for g in relevant},
                               {a: list({name_key(v) for v in vals}) for a, vals in facts["bidder"].items()},
                               lambda p, q: p == q),
        "deadlines": score_pairs({g["id"]: gold_deadlines(g) for g in relevant},
                                 {a: list({parse_date(v) for v in vals}) for a, vals in facts["deadline"].items()},
                                 deadline_matches),
        "prices": score_pairs({g["id"]: [tuple(p) for p in g["prices_usd"]] for g in relevant},
                              {a: [parse_price(v) for v in vals] for a, vals in facts["price"].items()},
                              price_matches),
    }
    report["errors"] = errors(golds, predicted, facts, evidence)
    return report


def errors(golds, predicted, facts, evidence) -> list[str]:
    out = []
    for g in golds:
        aid = g["id"]
        rel = evidence[aid]["_relevance"]
        if g["relevant"] != predicted[aid]:
            out.append(f"[relevance {'fn' if g['relevant'] else 'fp'}] {aid}: score {rel.score} | {rel.reason}")
        gold_b = {name_key(b): b for b in g["bidders"]} if g["relevant"] else {}
        pred_b = {name_key(v): v for v in facts["bidder"].get(aid, [])}
        for k in sorted(pred_b.keys() - gold_b.keys()):
            ev, detail = evidence[aid][("bidder", pred_b[k])]
            out.append(f"[bidder fp] {aid}: {pred_b[k]} ({detail.get('role')}, '{detail.get('mention')}') | {ev}")
        for k in sorted(gold_b.keys() - pred_b.keys()):
            out.append(f"[bidder fn] {aid}: {gold_b[k]}")
        gold_d = gold_deadlines(g) if g["relevant"] else []
        pred_d = facts["deadline"].get(aid, [])
        for v in pred_d:
            d = parse_date(v)
            if not any(deadline_matches(d, gd) for gd in gold_d):
                ev, detail = evidence[aid][("deadline", v)]
                out.append(f"[deadline fp] {aid}: {v} ({detail.get('expression')!r}, {detail.get('how')}) | {ev}")
        for gd in gold_d:
            if not any(deadline_matches(parse_date(v), gd) for v in pred_d):
                out.append(f"[deadline fn] {aid}: {gd[0]} (tol {gd[1]})")
        gold_p = [tuple(p) for p in g["prices_usd"]] if g["relevant"] else []
        pred_p = facts["price"].get(aid, [])
        for v in pred_p:
            if not any(price_matches(parse_price(v), gp) for gp in gold_p):
                ev, detail = evidence[aid][("price", v)]
                out.append(f"[price fp] {aid}: {v} ({detail.get('expression')!r}) | {ev}")
        for gp in gold_p:
            if not any(price_matches(parse_price(v), gp) for v in pred_p):
                out.append(f"[price fn] {aid}: {gp}")
    return out


def summary(corpus: Path, report: dict) -> str:
    return (f"{corpus}: {report['articles']} articles in {report['seconds']:.2f} s | "
            + " | ".join(f"{k} P {report[k]['precision']:.2f} R {report[k]['recall']:.2f} F1 {report[k]['f1']:.2f}"
                         f" (tp {report[k]['tp']} fp {report[k]['fp']} fn {report[k]['fn']})"
                         for k in ("relevance", "bidders", "deadlines", "prices")))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, nargs="+")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args(argv)
    profile = load_profile(args.profile)
    reports = {}
    for corpus in args.corpus:
        report = evaluate(corpus, profile)
        reports[str(corpus)] = report
        if args.show_errors:
            print(f"--- errors in {corpus}")
            for line in report["errors"]:
                print("  " + line)
        print(summary(corpus, report))
    if args.json:
        args.json.write_text(json.dumps({k: {kk: vv for kk, vv in r.items()} for k, r in reports.items()},
                                        indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
