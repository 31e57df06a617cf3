#!/usr/bin/env python3
"""What dealwatch/patterns.py buys: the judgment of the benchmark's articles with its Alternation (the needle
index) and with the plain compiled alternations it stands for, side by side in one run, each pass in a fresh
process (text never seen in it), alternating; the results must be the same.

    uv run python benchmarks/patterns.py [--articles 300] [--rounds 2]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _plain_alternations() -> None:
    """Every Alternation searched as its one compiled regex (`full`), every Prefiltered regex without its check."""
    from dealwatch import patterns

    a = patterns.Alternation
    a.search = lambda self, s, pos=0, endpos=sys.maxsize: self.full.search(s, pos, endpos)
    a.finditer = lambda self, s, pos=0, endpos=sys.maxsize: self.full.finditer(s, pos, endpos)
    a.match = lambda self, s, pos=0, endpos=sys.maxsize: self.full.match(s, pos, endpos)
    a.fullmatch = lambda self, s, pos=0, endpos=sys.maxsize: self.full.fullmatch(s, pos, endpos)
    a.all = lambda self, s: tuple(self.full.finditer(s))
    a.holds = lambda self, s: self.full.search(s) is not None
    patterns.Prefiltered.possible = lambda self, s: True


def one_pass(articles: int, plain: bool) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import corpus

    if plain:
        _plain_alternations()
    from dealwatch.extract import extract_article
    from dealwatch.judge import judge
    from dealwatch.model import FeedItem, Page
    from dealwatch.profile import load_profile

    profile = load_profile(None).prepare()
    judged = []
    for i in range(articles):
        e, body = corpus.entry("a", i, 7), corpus.page("a", i, 7)
        item = FeedItem(feed_url="http://127.0.0.1/f.xml", link=f"http://127.0.0.1{e.path}", title=e.title,
                        summary=e.summary, published=datetime(e.published.year, e.published.month,
                                                              e.published.day, 12, tzinfo=UTC))
        page = Page(url=item.link, final_url=item.link, status=200, content_type="text/html", body=body,
                    encoding="utf-8")
        judged.append(extract_article(page, item, date.today()))
    started = time.process_time()
    results = [judge(a, profile) for a in judged]
    seconds = time.process_time() - started
    digest = hashlib.sha1(repr([(j.relevance.relevant, sorted((f.kind, f.value, f.evidence) for f in j.facts))
                                for j in results]).encode()).hexdigest()[:12]
    return {"ms_per_article": round(seconds / articles * 1000, 2), "results": digest}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pass", dest="one", choices=["engine", "plain"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one_pass(args.articles, args.one == "plain")))
        return 0
    runs: dict[str, list[dict]] = {"engine": [], "plain": []}
    for _ in range(args.rounds):
        for kind in runs:
            out = subprocess.run([sys.executable, __file__, "--pass", kind, "--articles", str(args.articles)],
                                 check=True, capture_output=True, text=True).stdout
            runs[kind].append(json.loads(out.strip().splitlines()[-1]))
    for kind, label in (("engine", "with patterns.Alternation"), ("plain", "plain compiled alternations")):
        figures = ", ".join(f"{r['ms_per_article']:.2f}" for r in runs[kind])
        print(f"judge, {label:30s} ms/article (first pass, {args.articles} articles): {figures}")
    same = {r["results"] for rs in runs.values() for r in rs}
    print("same results" if len(same) == 1 else f"RESULTS DIFFER: {sorted(same)}")
    return 0 if len(same) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
