"""Smoke test of benchmarks/run.py at a tiny size: it runs end to end and reports every figure.

No timing assertions: speed is what the benchmark measures, never what a test asserts.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.prefect   # runs real Prefect flows (each in its own process, own temporary server)


def test_benchmark_reports_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--articles", "40", "--feeds", "4", "--repeat", "2", "--repeat-10x", "1",
         "--shards", "--json", str(out), "--prefect-home", str(tmp_path / "prefect")],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    summary = lines[-1]
    for part in ("e2e/floor", "repoll", "fetches", "rss", "->", "prefect"):
        assert part in summary, summary
    table = "\n".join(lines[:-1])
    for label in ("1 floor", "2 flow cycle", "e2e / floor", "3 unchanged re-poll", "feeds answered 304",
                  "article fetches", "4 peak RSS", "10 x N", "5 same cycle without a flow run",
                  "Prefect engine cost", "dealwatch run's checks before Prefect starts", "6 warehouse size",
                  "machine", "software", "judge, every sentence never seen"):
        assert label in table, label

    assert table.count("best of 2:") == 3   # floor, flow and plain: each the best of two interleaved runs

    res = json.loads(out.read_text())
    assert res["summary"] == summary
    # the 2-shard cycle on a lake (a throwaway PostgreSQL) and on a file: every article once, in two shards
    assert "8 the plain cycle in 2 shards at once" in table and "on a DuckLake" in table
    for kind in ("lake", "file"):
        shards = res["shards"][kind]
        assert (shards["articles_stored"], shards["articles_distinct"]) == (40, 40), shards
        assert sorted(s["shard"] for s in shards["shards"]) == ["1/2", "2/2"]
        assert sum(s["report"]["articles_new"] for s in shards["shards"]) == 40
    assert {name: len(speeds) for name, speeds in res["runs"].items()} == {"floor": 2, "flow": 2, "plain": 2,
                                                                          "flow10x": 1}
    assert res["flow"]["cycle"]["pages_per_s"] == max(res["runs"]["flow"])
    for key in ("cores", "cpu", "python", "trafilatura", "prefect", "duckdb"):
        assert res["machine"][key], key
    assert res["floor"]["pages_per_s"] > 0
    cycle = res["flow"]["cycle"]
    assert cycle["pages_per_s"] > 0
    assert cycle["report"]["articles_new"] == 40          # every page stored, none collapsed as a duplicate
    assert cycle["report"]["duplicates"] == 0
    assert cycle["server"]["req_page"] == 40
    repoll = res["flow"]["repoll"]
    assert repoll["server"].get("req_page", 0) == 0       # correctness, not speed: nothing fetched again
    assert repoll["server"]["feed_304"] == 4              # every feed answered 304
    assert res["plain"]["report"]["articles_new"] == 40
    assert res["flow10x"]["cycle"]["report"]["articles_new"] == 400
    assert res["flow10x"]["rss_peak_mb"] > 0 and res["flow"]["rss_peak_mb"] > 0
    assert res["flow"]["warehouse"]["articles"] == 40 and res["flow"]["warehouse"]["mb_per_1000"] > 0
    assert res["flow"]["fork_server_cpu_s"] > 0   # started before the measured cycle, its cost reported apart


def test_extracting_a_page_again_gives_the_same_text():
    """Found by the benchmark: with trafilatura's process-wide duplicate cache (deduplicate=True), a worker
    that had seen a page's paragraphs before (the same page again, a syndicated copy) dropped them, and the
    cycle's worker pool now lives for a whole cycle. Extraction must not depend on what came before."""
    import sys
    from datetime import date

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import corpus

    from dealwatch.extract import extract_article
    from dealwatch.model import FeedItem, Page

    item = FeedItem(feed_url="http://127.0.0.1/f.xml", link="http://127.0.0.1/a/1.html")
    page = Page(url=item.link, final_url=item.link, status=200, content_type="text/html; charset=utf-8",
                body=corpus.page("t", 1))
    texts = [extract_article(page, item, date.today()).text for _ in range(4)]
    assert len(texts[0]) > 1000
    assert texts == [texts[0]] * 4


def test_freshness_benchmark_reports_its_last_line(tmp_path):
    """benchmarks/run.py --freshness on a small stream: the summary line in its format, every figure measured,
    and what must hold whatever the speed: every relevant item alerted, no poll sooner than a feed allows."""
    import re
    out = tmp_path / "freshness.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--freshness", "--hours", "0.25", "--stream-feeds", "10",
         "--json", str(out)], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"freshness: alert p50 \d+ s p95 \d+ s \| requests/feed/h \d+\.\d "
                        r"\(15-min cron \d+\.\d\)", summary), summary
    res = json.loads(out.read_text())
    assert res["summary"] == summary and res["feeds"] == 10 and res["relevant"] > 0
    for mode in ("adaptive", "cron"):
        assert res[mode]["missed"] == 0 and res[mode]["early_polls"] == 0, res[mode]
        assert 0 < res[mode]["p50_s"] <= res[mode]["p95_s"] < 3600
        assert res[mode]["requests_per_feed_hour"] > 0
