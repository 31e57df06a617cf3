"""Backfill on a real Prefect engine: a folder of saved pages (our corpus) and a URL list served by the
sample news site over HTTP on loopback go through fetch/read -> extract -> judge -> store into a real
DuckDB file; every alert they raise reaches the webhook in ONE digest."""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from pydantic import SecretStr

from flows.backfill import BackfillInputError, backfill, read_source
from paths import SHARED

pytestmark = pytest.mark.prefect
CORPUS = SHARED / "corpus" / "dev"
PAGES = ["ms-confirms-talks-2020", "mnuchin-investor-group", "de-amazon-last-minute-gebot", "creator-fund-winds-down"]


def rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def gold() -> dict[str, dict]:
    lines = (CORPUS / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    return {g["id"]: g for g in map(json.loads, filter(None, lines))}


@pytest.fixture
def saved_pages(tmp_path) -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the corpus is not at {CORPUS}")
    folder = tmp_path / "saved pages"
    folder.mkdir()
    for name in PAGES:
        shutil.copy(CORPUS / "articles" / f"{name}.html", folder)
    (folder / "notes.txt").write_text("not a page\n")
    return folder


def test_folder_of_saved_pages_one_digest_and_idempotent(prefect_engine, saved_pages, sample_news, tmp_path):
    db = tmp_path / "w.duckdb"
    report = asyncio.run(backfill(source=str(saved_pages), db=str(db), notify=[SecretStr(sample_news.notify_url)]))
    assert (report["kind"], report["items"], report["articles_new"]) == ("pages", len(PAGES), len(PAGES))
    stored = rows(db, "SELECT url, feed_url, published_at, text_source FROM articles ORDER BY url")
    assert {Path(url.removeprefix("file://")).stem for url, *_ in stored} == set(PAGES)
    assert all(url.startswith("file:///") and " " not in url for url, *_ in stored)
    assert {feed for _, feed, *_ in stored} == {f"backfill:{saved_pages.resolve()}"}
    # no feed: the publication date is the page's own (its metadata), not the day of the backfill
    golden = gold()
    for url, _, published, source in stored:
        assert (published.date().isoformat(), source) == (golden[Path(url).stem]["published"], "page")

    assert report["alerts_new"] > 1 and report["alerts_sent"] == report["alerts_new"]
    assert len(sample_news.notifications) == 1, "one digest, not one message per alert"
    assert rows(db, "SELECT count(*) FROM alerts WHERE status <> 'sent'") == [(0,)]
    assert rows(db, "SELECT count(*) FROM runs WHERE status = 'completed'") == [(1,)]

    again = asyncio.run(backfill(source=str(saved_pages), db=str(db), notify=[SecretStr(sample_news.notify_url)]))
    assert (again["articles_new"], again["facts_new"], again["alerts_new"], again["alerts_sent"]) == (0, 0, 0, 0)
    assert len(sample_news.notifications) == 1


def test_url_list_through_the_command_line(sample_news, tmp_path):
    base = sample_news.base_url
    relevant = ["walmart-joins-microsoft", "oleary-20-billion-offer", "extension-to-june-19"]
    urls = tmp_path / "urls.txt"
    urls.write_text("# articles the feeds no longer list\n\n" + "".join(f"{base}/a/{a}.html\n" for a in relevant)
                    + f"  {base}/a/walmart-joins-microsoft.html?utm_source=newsletter  \n"   # the same, once
                    + f"{base}/a/no-such-article.html\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    result = subprocess.run([sys.executable, "-m", "dealwatch", "backfill", str(urls), "--db", str(db),
                             "--notify", sample_news.notify_url], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "backfill of 4 URLs" in result.stdout and "(one digest)" in result.stdout, result.stdout
    assert {path for path, _ in sample_news.statuses if path.startswith("/a/")} == {
        f"/a/{a}.html" for a in [*relevant, "no-such-article"]}
    stored = dict(rows(db, "SELECT url, feed_url FROM articles"))
    assert set(stored) == {f"{base}/a/{a}.html" for a in [*relevant, "no-such-article"]}
    assert set(stored.values()) == {f"backfill:{urls.resolve()}"}
    alerts = rows(db, "SELECT status FROM alerts")
    assert len(alerts) > 1 and set(alerts) == {("sent",)}
    assert len(sample_news.notifications) == 1, "one digest, not one message per alert"


def test_bad_input_is_one_clear_line(tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing yet\n\n")
    (tmp_path / "bad.txt").write_text("https://example.org/a.html\nexample.org/b.html\n")
    (tmp_path / "no pages").mkdir()
    for source, message in ((tmp_path / "missing.txt", "no such file or folder"),
                            (tmp_path / "empty.txt", "no URLs in it"),
                            (tmp_path / "bad.txt", "line 2: 'example.org/b.html' is not an http(s) URL"),
                            (tmp_path / "no pages", "holds no saved pages")):
        with pytest.raises(BackfillInputError, match=re.escape(message)):
            read_source(source)
    result = subprocess.run([sys.executable, "-m", "dealwatch", "backfill", str(tmp_path / "bad.txt"), "--db",
                             str(tmp_path / "w.duckdb")], capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"dealwatch: error: {tmp_path / 'bad.txt'} line 2: 'example.org/b.html' is not an http(s) URL "
        f"(one URL per line; # starts a comment)"]
    assert not (tmp_path / "w.duckdb").exists()
