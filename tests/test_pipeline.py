"""The cycle's pipeline (dealwatch.cycle.judge_and_store): pages judged in real worker processes while the
rest are fetched, outcomes stored as they come. The fetch function is the seam: here it serves the bundled
sample pages from memory, so the test is about the pipeline, not the network (tests/test_cycle.py runs it
whole over loopback HTTP)."""
from __future__ import annotations

import asyncio
import threading
from datetime import date
from pathlib import Path

import pytest

from dealwatch import cycle
from dealwatch.feeds import parse_feed
from dealwatch.fetch import HTTPStatusError
from dealwatch.model import FeedItem, Page
from dealwatch.profile import load_profile

ARTICLES = Path(__file__).resolve().parent.parent / "dealwatch" / "demo_data" / "articles"
TODAY = date(2025, 3, 1)


def _queue() -> list[tuple[FeedItem, bool]]:
    pages = sorted(ARTICLES.glob("*.html"))
    assert len(pages) >= 40
    items = [FeedItem(feed_url="http://127.0.0.1:9/feed.xml", link=f"http://127.0.0.1:9/{p.stem}", title="",
                      summary=f"Summary of {p.stem}.") for p in pages]
    items.append(FeedItem(feed_url="http://127.0.0.1:9/feed.xml", link="http://127.0.0.1:9/gone",
                          title="Gone", summary="A page that answers 404."))
    return [(item, False) for item in items]


async def _fetch(item: FeedItem):
    await asyncio.sleep(0)
    if item.link.endswith("/gone"):
        return HTTPStatusError(item.link, "404 Not Found", status=404, transient=False)
    body = (ARTICLES / (item.link.rsplit("/", 1)[1] + ".html")).read_bytes()
    return Page(url=item.link, final_url=item.link, status=200, content_type="text/html; charset=utf-8",
                body=body, encoding="utf-8")


def _summary(outcome) -> tuple:
    judgment = outcome.judgment
    return (outcome.item.link, outcome.fetch_error, outcome.article.text_source if outcome.article else None,
            judgment.relevance.relevant if judgment else None,
            tuple((f.kind, f.value) for f in judgment.facts) if judgment else ())


@pytest.fixture
def small_stores(monkeypatch):
    monkeypatch.setattr(cycle, "STORE_EVERY", 10)
    yield
    cycle.shutdown_workers()


@pytest.mark.parametrize("workers", [1, 2])
def test_outcomes_are_stored_in_order_one_store_at_a_time(small_stores, workers):
    queue, profile = _queue(), load_profile(None)
    stores: list[list] = []
    active, overlapped = [0], [False]
    lock = threading.Lock()

    def store(outcomes):
        with lock:
            active[0] += 1
            overlapped[0] |= active[0] > 1
        try:
            stores.append(list(outcomes))
            return len(outcomes)
        finally:
            with lock:
                active[0] -= 1

    results = asyncio.run(cycle.judge_and_store(_fetch, queue, profile, TODAY, store, workers=workers))

    assert results == [len(s) for s in stores]
    assert not overlapped[0]
    # at least STORE_EVERY a store, but once fewer than half that are left to come: then as they come
    left_after = [len(queue) - sum(map(len, stores[:k + 1])) for k in range(len(stores))]
    assert all(len(s) >= 10 or left < 5 for s, left in zip(stores[:-1], left_after)) and len(stores) >= 2
    stored = [o for s in stores for o in s]
    assert [o.item.link for o in stored] == [item.link for item, _ in queue]   # every item once, in order
    expected = cycle.process([cycle.Fetched(item, asyncio.run(_fetch(item)), last) for item, last in queue],
                             profile, TODAY, workers=1)
    assert [_summary(o) for o in stored] == [_summary(o) for o in expected]
    gone = stored[-1]
    assert gone.article.text_source == "feed" and "404" in gone.fetch_error
    assert sum(1 for o in stored if o.judgment and o.judgment.relevance.relevant) >= 20


def test_a_jobs_pages_done_stage_by_stage_get_the_outcomes_each_would_get_alone(monkeypatch, caplog):
    """cycle.process_pages (a worker's job: every page's text, then every language, judgment and hash) gives
    each item the outcome it gets on its own, whatever became of its neighbours: pages, a 404, a timeout to
    retry and one on its last attempt, a host skipped, a page without text, and a page on which extraction,
    and another on which the judgment, fails (those two alone are "processing failed", to retry)."""
    from dealwatch.errors import FetchTimeout, HostSkipped
    queue, profile = _queue(), load_profile(None)
    fetched = [cycle.Fetched(item, asyncio.run(_fetch(item)), last) for item, last in queue[:8]]

    def item(name: str) -> FeedItem:
        return FeedItem(feed_url="http://127.0.0.1:9/feed.xml", link=f"http://127.0.0.1:9/{name}",
                        title=f"Oracle and TikTok: {name}", summary="Oracle bids for TikTok's US business.")
    timeout = FetchTimeout("http://127.0.0.1:9/slow", "timed out")
    fetched[2:2] = [cycle.Fetched(item("slow"), timeout), cycle.Fetched(item("slow-last"), timeout, True),
                    cycle.Fetched(item("skipped"), HostSkipped("http://127.0.0.1:9/skipped", "host skipped")),
                    cycle.Fetched(item("blank"), Page(url="http://127.0.0.1:9/blank", final_url="http://127.0.0.1:9/blank",
                                                      status=200, content_type="text/html", body=b"<html><body><p>-</p></body></html>",
                                                      encoding="utf-8"))]
    fetched.append(cycle.Fetched(item("gone"), asyncio.run(_fetch(queue[-1][0]))))
    broken_page, broken_judgment = fetched[0].item.link, fetched[6].item.link
    extract, judge = cycle.extract_article, cycle.judge

    def extract_or_fail(page, it, fetched_on, **kw):
        if it.link == broken_page:
            raise RuntimeError("a bug in extraction")
        return extract(page, it, fetched_on, **kw)

    def judge_or_fail(article, p):
        if article.url == broken_judgment:
            raise ValueError("a bug in the judgment")
        return judge(article, p)
    monkeypatch.setattr(cycle, "extract_article", extract_or_fail)
    monkeypatch.setattr(cycle, "judge", judge_or_fail)

    together = cycle.process_pages(fetched, profile, TODAY)
    alone = [cycle.process_one(f, profile, TODAY) for f in fetched]
    assert together == alone and len(together) == len(fetched)
    by_link = {o.item.link.rsplit("/", 1)[1]: o for o in together}
    failed = {link for link, o in by_link.items() if (o.fetch_error or "").startswith("processing failed")}
    assert failed == {broken_page.rsplit("/", 1)[1], broken_judgment.rsplit("/", 1)[1]}
    assert all(by_link[f].transient and by_link[f].article is None for f in failed)
    assert "RuntimeError: a bug in extraction" in by_link[broken_page.rsplit("/", 1)[1]].fetch_error
    assert "processing http://127.0.0.1:9/" in caplog.text   # logged with its traceback
    slow, last, skipped, blank, gone = (by_link[k] for k in ("slow", "slow-last", "skipped", "blank", "gone"))
    assert slow.transient and slow.article is None and not slow.untried
    assert skipped.transient and skipped.untried and skipped.article is None
    for stand_in in (last, blank, gone):   # the feed's summary stands in, judged, without page hashes
        assert stand_in.article.text_source == "feed" and stand_in.judgment is not None
        assert stand_in.content_hash is None and stand_in.article.lang == "en"
    pages = [o for o in together if o.article is not None and o.article.text_source == "page"]
    assert len(pages) == 6 and all(o.article.lang in ("en", "de") and o.content_hash and o.fingerprint for o in pages)
    assert pages == [o for o in alone if o.article is not None and o.article.text_source == "page"]


@pytest.mark.parametrize("items", [1, 2, 7, 49, 1000, 10_000])
def test_worker_jobs_cover_the_batch_in_order_and_shrink_towards_its_end(items):
    spans = cycle._chunk_spans(items, workers=2)
    assert spans[0][0] == 0 and spans[-1][1] == items
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))          # contiguous: every item once, in order
    sizes = [end - start for start, end in spans]
    assert all(1 <= n <= cycle.CHUNK_MAX for n in sizes)
    assert sizes == sorted(sizes, reverse=True)                         # never a larger job after a smaller one
    if items >= 1000:   # full jobs while many remain, ~CHUNK_MIN pages at the very end
        assert sizes[0] == cycle.CHUNK_MAX and sizes[-1] <= cycle.CHUNK_MIN


def test_a_failing_store_stops_the_batch_with_its_error(small_stores):
    queue, profile = _queue(), load_profile(None)
    calls = []

    def store(outcomes):
        calls.append(len(outcomes))
        raise RuntimeError("the warehouse is locked")

    with pytest.raises(RuntimeError, match="locked"):
        asyncio.run(cycle.judge_and_store(_fetch, queue, profile, TODAY, store, workers=2))
    assert calls and calls[0] >= 10


# -- the feeds' parsing in the worker processes ------------------------------------------------------

PARSED_HERE: list[str] = []


def _parse_counted(feed_url, body, content_type, base_url=None):
    """parse_feed, noting the call in the process that makes it: a worker's note never reaches this one."""
    PARSED_HERE.append(feed_url)
    return parse_feed(feed_url, body, content_type, base_url=base_url)


def test_feeds_parse_in_the_workers_once_they_are_up_and_here_otherwise_with_the_same_items(monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    from loopback import rss_feed
    from waiting import wait_for

    feed = "http://news.example.org/feeds/world.xml"
    body = rss_feed("World", [{"title": f"Oracle bid {i}", "link": f"/a/{i}.html", "description": f"<p>Story {i}</p>",
                               "pubDate": "Mon, 14 Sep 2020 18:30:00 +0200"} for i in range(12)])
    expected = parse_feed(feed, body, "application/rss+xml", base_url=feed)
    assert len(expected.items) == 12
    monkeypatch.setattr(cycle, "parse_feed", _parse_counted)
    PARSED_HERE.clear()

    def parsed():
        return asyncio.run(cycle.parse_feed_in_workers(feed, body, "application/rss+xml", base_url=feed))

    try:
        assert parsed() == expected and PARSED_HERE == [feed]          # no pool: parsed in this process
        cycle.prepare_workers()
        wait_for("the fork server", cycle.fork_server_ready, timeout=120, every=0.05)
        pool = cycle.start_workers(2)
        wait_for("two workers up", lambda: cycle._workers_up() is pool, timeout=60, every=0.05)
        assert parsed() == expected and PARSED_HERE == [feed]          # parsed in a worker: no call here

        for process in list(pool._processes.values()):                 # the workers die: parsed here again
            process.kill()
        with pytest.raises(BrokenProcessPool):
            pool.submit(int).result(timeout=60)
        assert parsed() == expected and PARSED_HERE == [feed, feed]
    finally:
        cycle.shutdown_workers()


# -- how the workers start -----------------------------------------------------------------------------

def test_workers_start_without_running_the_parents_main_module_again(tmp_path):
    """Python 3.11's fork server would have each worker run the parent's main module again (under a Prefect
    runner that module is prefect.engine: ~1 s of imports per worker per cycle, and late workers)."""
    import subprocess
    import sys
    import textwrap

    ran = tmp_path / "main-ran"
    script = tmp_path / "a_main_module.py"
    script.write_text(textwrap.dedent(f"""
        import os
        with open({str(ran)!r}, "a") as f:   # every process that runs this module says so
            f.write(f"{{os.getpid()}}\\n")
        from dealwatch import cycle
        if __name__ == "__main__":
            pool = cycle.start_workers(2)
            workers = {{pool.submit(os.getpid).result() for _ in range(8)}}
            cycle.shutdown_workers()
            print(os.getpid(), *sorted(workers))
    """), encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    parent, *workers = out.stdout.split()
    assert workers and parent not in workers          # the jobs ran in worker processes
    assert ran.read_text().split() == [parent]        # and the main module ran in the parent only


def test_workers_collect_garbage_less_often_than_python_by_default():
    import gc
    try:
        pool = cycle.start_workers(2)
        thresholds = {pool.submit(gc.get_threshold).result() for _ in range(4)}
    finally:
        cycle.shutdown_workers()
    assert thresholds == {(cycle.WORKER_GC_THRESHOLD, 10, 10)} and gc.get_threshold()[0] < cycle.WORKER_GC_THRESHOLD
