"""Views, saved queries, `dealwatch sql` formats and the Parquet export, on a real DuckDB warehouse built
from the dev corpus' gold labels through Warehouse.store_outcomes (plus two made-up articles: one with a
deadline far in the future and HTML in its text, one without a date)."""
from __future__ import annotations

import csv
import io
import json
import os
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from dealwatch.cli import main
from dealwatch.model import Article, Fact, FeedItem, Judgment, Relevance
from dealwatch.queries import (
    QueryError,
    bind_params,
    export_parquet,
    format_result,
    queries_dir,
    query_params,
    run_query,
    saved_queries,
    saved_query,
)
from dealwatch.warehouse import ItemOutcome, Warehouse

REPO = Path(__file__).resolve().parents[1]
# the dev corpus' labels: from shared/ beside the checkout (as CI has it), else the copy the demo bundles
GOLD = next((p for p in (Path(os.environ.get("DEALWATCH_SHARED", REPO.parent / "shared")) / "corpus/dev/gold.jsonl",
                         REPO / "dealwatch/demo_data/gold.jsonl") if p.is_file()), REPO / "dealwatch/demo_data/gold.jsonl")
BASE = "http://corpus.test"
UNDATED_FOUND_AT = datetime(2031, 5, 6, 7, 8, 9)

# Two articles the corpus does not have: an upcoming deadline (far in the future, so 'upcoming' whatever
# the day the tests run) with markup in every text field, and an article with no publication date.
EXTRAS = [
    {"id": "future-deadline", "lang": "en", "published": "2026-01-02", "source": "Test & <Wire>",
     "feed": "extras", "title": "Acme <b>bids</b> & \"wins\"", "summary": "Acme <script>alert(1)</script> bids.",
     "relevant": True, "bidders": ["Acme <Holdings> & Co"],
     "deadlines": [{"date": "2999-12-31", "tolerance_days": 0, "what": "closing of the sale <i>expected</i>"}],
     "prices_usd": []},
    {"id": "undated", "lang": "en", "published": None, "source": "Nowhere News", "feed": "extras",
     "title": "Undated Holdings weighs a bid", "summary": "Undated Holdings weighs a bid.", "relevant": True,
     "bidders": ["Undated Holdings"], "deadlines": [], "prices_usd": []},
]


def gold_rows() -> list[dict]:
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


def url_of(row: dict) -> str:
    return f"{BASE}/{row['id']}.html"


def deadline_kind(what: str) -> str:
    what = what.lower()
    for word, kind in (("ban", "ban"), ("extension", "extension"), ("talks", "talks"), ("court", "court")):
        if word in what:
            return kind
    return "sale"


def bidder_evidence(row: dict, name: str) -> str:
    return f"{name} is named as a bidder in {row['id']}."


def outcome_of(row: dict) -> ItemOutcome:
    published = date.fromisoformat(row["published"]) if row["published"] else None
    item = FeedItem(feed_url=f"{BASE}/{row['feed']}.xml", link=url_of(row), title=row["title"],
                    summary=row["summary"],
                    published=datetime.combine(published, datetime.min.time(), UTC) if published else None)
    facts: list[Fact] = [Fact("bidder", name, bidder_evidence(row, name), {"role": "bidder"})
                         for name in row["bidders"]]
    facts += [Fact("deadline", d["date"], d["what"], {"kind": deadline_kind(d["what"]),
                                                     "tolerance_days": d["tolerance_days"]})
              for d in row["deadlines"]]
    facts += [Fact("price", f"USD {low}-{high}", f"A price of {low} to {high} dollars.", {"low": low, "high": high})
              for low, high in row["prices_usd"]]
    relevant = bool(row["relevant"])
    article = Article(url=item.link, title=row["title"], text=row["summary"], lang=row["lang"], published=published,
                      source=row["source"])
    return ItemOutcome(item=item, article=article,
                       judgment=Judgment(Relevance(relevant, 0.9 if relevant else 0.1), tuple(facts) if relevant else ()),
                       content_hash=f"hash-{row['id']}")


def all_rows() -> list[dict]:
    return gold_rows() + EXTRAS


def build_gold_warehouse(path: Path) -> Warehouse:
    """A warehouse holding the dev corpus gold (and EXTRAS), as a cycle would have stored it."""
    warehouse = Warehouse(path, lock_timeout=10)
    warehouse.migrate()
    dated = [outcome_of(r) for r in all_rows() if r["published"]]
    warehouse.store_outcomes(dated, run_id="gold")
    warehouse.store_outcomes([outcome_of(r) for r in all_rows() if not r["published"]], run_id="undated",
                             now=UNDATED_FOUND_AT)
    # the outbox: a few alerts sent, one failing
    ids = [i for (i,) in warehouse.query("SELECT id FROM alerts ORDER BY id")[1]]
    warehouse.mark_delivered(ids[:5], now=datetime(2031, 1, 1))
    warehouse.mark_failed(ids[5:6], "SMTP server down", now=datetime(2031, 1, 2))
    return warehouse


def seen_day(row: dict) -> date:
    return date.fromisoformat(row["published"]) if row["published"] else UNDATED_FOUND_AT.date()


def expected_bidders() -> dict[str, dict]:
    """What the bidders view must say, computed from the gold in Python."""
    found: dict[str, list[dict]] = defaultdict(list)
    for row in all_rows():
        if row["relevant"]:
            for name in row["bidders"]:
                found[name].append(row)
    expected = {}
    for name, rows in found.items():
        first = min(rows, key=lambda r: (seen_day(r), url_of(r)))
        expected[name] = {"name": name, "first_seen": seen_day(first), "last_seen": max(seen_day(r) for r in rows),
                          "mentions": len(rows), "sources": len({r["source"] for r in rows}),
                          "first_evidence": bidder_evidence(first, name), "first_article_url": url_of(first)}
    return expected


def expected_deadlines() -> dict[date, dict]:
    found: dict[str, list[tuple[dict, dict]]] = defaultdict(list)
    for row in all_rows():
        if row["relevant"]:
            for d in row["deadlines"]:
                found[d["date"]].append((row, d))
    expected = {}
    for value, pairs in found.items():
        row, first = min(pairs, key=lambda p: (seen_day(p[0]), url_of(p[0])))
        expected[date.fromisoformat(value)] = {
            "kind": deadline_kind(first["what"]), "first_seen": seen_day(row), "mentions": len(pairs),
            "evidence": first["what"], "first_article_url": url_of(row)}
    return expected


@pytest.fixture(scope="module")
def gold_warehouse(tmp_path_factory) -> Warehouse:
    return build_gold_warehouse(tmp_path_factory.mktemp("gold") / "warehouse.duckdb")


def records(warehouse: Warehouse, sql: str, params=None) -> list[dict]:
    columns, rows = warehouse.query(sql, params)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def today(warehouse: Warehouse) -> date:
    return warehouse.query("SELECT current_date")[1][0][0]


# -- the views ------------------------------------------------------------------------------------

def test_the_views_come_with_migrate(gold_warehouse):
    _, rows = gold_warehouse.query("SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW' "
                                   "ORDER BY table_name")
    assert {name for (name,) in rows} >= {"bidders", "deadlines", "timeline", "fact_articles"}


def test_bidders_view_lists_each_gold_bidder_once_with_its_counts(gold_warehouse):
    got = records(gold_warehouse, "SELECT * FROM bidders")
    assert {r["name"]: r for r in got} == expected_bidders()
    assert len(got) == len(expected_bidders())
    # a few by hand, so the expectation code is not the only witness
    by_name = {r["name"]: r for r in got}
    assert by_name["Microsoft"]["first_seen"] == date(2020, 8, 3)
    assert by_name["Microsoft"]["first_article_url"] == f"{BASE}/ms-confirms-talks-2020.html"
    assert by_name["Amazon"]["mentions"] == 2 and by_name["Amazon"]["sources"] == 2
    assert by_name["Amazon"]["first_seen"] == date(2025, 4, 3)
    # the undated article falls back to the fact's found_at
    assert by_name["Undated Holdings"]["first_seen"] == UNDATED_FOUND_AT.date()
    # ordered by first appearance
    assert [r["first_seen"] for r in got] == sorted(r["first_seen"] for r in got)


def test_irrelevant_articles_name_no_bidder(gold_warehouse):
    irrelevant = {url_of(r) for r in all_rows() if not r["relevant"]}
    _, rows = gold_warehouse.query("SELECT DISTINCT url FROM timeline")
    assert irrelevant.isdisjoint(u for (u,) in rows)


def test_deadlines_view_with_status_relative_to_today(gold_warehouse):
    now = today(gold_warehouse)
    got = {r["date"]: r for r in records(gold_warehouse, "SELECT * FROM deadlines")}
    expected = expected_deadlines()
    assert set(got) == set(expected)
    for day, want in expected.items():
        row = got[day]
        assert {k: row[k] for k in want} == want, day
        assert row["days_left"] == (day - now).days
        assert row["status"] == ("past" if day < now else "upcoming")
    assert got[date(2999, 12, 31)]["status"] == "upcoming"
    assert got[date(2020, 9, 15)]["status"] == "past"
    assert got[date(2020, 9, 15)]["mentions"] == 7
    assert got[date(2020, 9, 20)]["kind"] == "ban"


def test_timeline_view_has_every_fact_in_time_order(gold_warehouse):
    got = records(gold_warehouse, "SELECT * FROM timeline")
    facts = [(url_of(r), kind, value) for r in all_rows() if r["relevant"]
             for kind, values in (("bidder", r["bidders"]), ("deadline", [d["date"] for d in r["deadlines"]]),
                                  ("price", [f"USD {lo}-{hi}" for lo, hi in r["prices_usd"]]))
             for value in values]
    assert sorted((r["url"], r["kind"], r["value"]) for r in got) == sorted(set(facts))
    assert [r["seen_at"] for r in got] == sorted(r["seen_at"] for r in got)
    first = got[0]
    assert (first["url"], first["title"], first["source"]) == (
        f"{BASE}/ms-confirms-talks-2020.html", "Microsoft confirms TikTok talks, aims to conclude by Sept. 15",
        "MarketWire")
    assert got[-1]["url"] == f"{BASE}/undated.html" and got[-1]["published_at"] is None


# -- saved queries --------------------------------------------------------------------------------

def test_every_saved_query_has_a_description_and_runs(gold_warehouse):
    queries = saved_queries()
    assert {q.name for q in queries} >= {"bidders", "upcoming_deadlines", "articles_per_source_day",
                                         "bidder_evidence", "alerts_status", "recent_relevant"}
    for q in queries:
        assert q.sql.startswith("-- ") and q.description, q.name
        run_query(gold_warehouse, q.sql, ["Oracle"] if q.params else [])
    assert queries_dir().is_dir()


def test_saved_bidders_matches_the_view(gold_warehouse):
    columns, rows = run_query(gold_warehouse, saved_query("bidders").sql)
    got = [dict(zip(columns, r, strict=True)) for r in rows]
    assert {r["name"]: r for r in got} == expected_bidders()


def test_saved_upcoming_deadlines(gold_warehouse):
    now = today(gold_warehouse)
    columns, rows = run_query(gold_warehouse, saved_query("upcoming_deadlines").sql)
    assert [r[0] for r in rows] == sorted(d for d in expected_deadlines() if d >= now)
    assert rows[-1][columns.index("date")] == date(2999, 12, 31)
    assert rows[-1][columns.index("evidence")] == "closing of the sale <i>expected</i>"


def test_saved_articles_per_source_day(gold_warehouse):
    columns, rows = run_query(gold_warehouse, saved_query("articles_per_source_day").sql)
    assert columns == ["day", "source", "articles", "relevant"]
    expected: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    fetched_on = gold_warehouse.query("SELECT CAST(fetched_at AS DATE) FROM articles WHERE published_at IS NULL")[1]
    for r in all_rows():
        day = date.fromisoformat(r["published"]) if r["published"] else fetched_on[0][0]
        expected[(day, r["source"])][0] += 1
        expected[(day, r["source"])][1] += bool(r["relevant"])
    assert rows == sorted((day, source, n, rel) for (day, source), (n, rel) in expected.items())
    assert (date(2020, 8, 7), "MarketWire", 1, 0) in rows and (date(2020, 8, 7), "Tech Daily", 1, 1) in rows


def test_saved_bidder_evidence_takes_the_bidder_as_parameter(gold_warehouse):
    sql = saved_query("bidder_evidence").sql
    assert query_params(sql) == ["bidder"]
    columns, rows = run_query(gold_warehouse, sql, ["amazon"])  # case-insensitive
    assert columns == ["day", "source", "title", "evidence", "url"]
    assert rows == [
        (date(2025, 4, 3), "Digital-Rundschau", r["title"], bidder_evidence(r, "Amazon"), url_of(r))
        if r["id"] == "de-amazon-last-minute-gebot" else
        (date(2025, 4, 4), "Wirtschaftsblatt", r["title"], bidder_evidence(r, "Amazon"), url_of(r))
        for r in gold_rows() if r["id"] in ("de-amazon-last-minute-gebot", "de-applovin-gebot")]
    oracle = run_query(gold_warehouse, sql, ["bidder=Oracle"])[1]
    assert len(oracle) == sum("Oracle" in r["bidders"] for r in gold_rows() if r["relevant"])
    assert run_query(gold_warehouse, sql, ["Nobody"])[1] == []


def test_saved_alerts_status(gold_warehouse):
    columns, rows = run_query(gold_warehouse, saved_query("alerts_status").sql)
    got = {(r[0], r[1]): dict(zip(columns, r, strict=True)) for r in rows}
    bidders, deadlines = len(expected_bidders()), len(expected_deadlines())
    assert sum(g["alerts"] for g in got.values()) == bidders + deadlines
    assert sum(g["alerts"] for (kind, _), g in got.items() if kind == "bidder") == bidders
    assert sum(g["alerts"] for (_, status), g in got.items() if status == "sent") == 5
    [failing] = [g for (_, status), g in got.items() if g["last_error"]]
    assert failing["last_error"] == "SMTP server down" and failing["status"] == "pending"


def test_saved_recent_relevant(gold_warehouse):
    columns, rows = run_query(gold_warehouse, saved_query("recent_relevant").sql)
    assert len(rows) == 20
    got = [dict(zip(columns, r, strict=True)) for r in rows]
    assert got[0]["url"] == f"{BASE}/undated.html"  # found in 2031
    assert got[1]["url"] == f"{BASE}/future-deadline.html" and got[1]["deadlines"] == "2999-12-31"
    days = [g["day"] for g in got]
    assert days == sorted(days, reverse=True)
    framework = next(g for g in got if g["url"] == f"{BASE}/framework-deadline-dec-16.html")
    assert framework["bidders"] == "Andreessen Horowitz, Oracle, Silver Lake"
    assert framework["deadlines"] == "2025-09-17, 2025-12-16"


def test_parameters_by_position_or_name_and_clear_mistakes():
    assert bind_params("SELECT $a, $b, '$notone' -- $nottwo", ["1", "b=2"]) == {"a": "1", "b": "2"}
    assert bind_params("SELECT $2, $1", ["x", "y"]) == ["x", "y"]
    assert bind_params("SELECT 1", []) is None
    with pytest.raises(QueryError, match="needs --param bidder=VALUE"):
        bind_params("SELECT $bidder", [])
    with pytest.raises(QueryError, match="takes no parameters"):
        bind_params("SELECT 1", ["x"])
    with pytest.raises(QueryError, match="too many"):
        bind_params("SELECT $a", ["x", "y"])
    with pytest.raises(QueryError, match="available: .*bidder_evidence.*upcoming_deadlines"):
        saved_query("no_such_query")


# -- the command line -----------------------------------------------------------------------------

def sql(capsys, db, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["sql", "--db", str(db), *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_csv_parses_and_matches_the_view(gold_warehouse, capsys):
    status, out, _ = sql(capsys, gold_warehouse.path, "--saved", "bidders", "--format", "csv")
    assert status == 0
    parsed = list(csv.DictReader(io.StringIO(out)))
    expected = expected_bidders()
    assert {r["name"] for r in parsed} == set(expected)
    acme = next(r for r in parsed if r["name"] == "Acme <Holdings> & Co")
    assert (acme["first_seen"], acme["mentions"]) == ("2026-01-02", "1")


def test_cli_default_format_off_a_terminal_is_csv(gold_warehouse, capsys):
    status, out, _ = sql(capsys, gold_warehouse.path, "SELECT 1 AS one, 'a,b' AS two")
    assert status == 0 and list(csv.reader(io.StringIO(out))) == [["one", "two"], ["1", "a,b"]]


def test_cli_json_parses(gold_warehouse, capsys):
    status, out, _ = sql(capsys, gold_warehouse.path, "--format", "json", "--saved", "bidder_evidence",
                         "--param", "Microsoft")
    assert status == 0
    parsed = json.loads(out)
    assert len(parsed) == sum("Microsoft" in r["bidders"] for r in gold_rows() if r["relevant"])
    assert parsed[0] == {"day": "2020-08-03", "source": "MarketWire",
                         "title": "Microsoft confirms TikTok talks, aims to conclude by Sept. 15",
                         "evidence": "Microsoft is named as a bidder in ms-confirms-talks-2020.",
                         "url": f"{BASE}/ms-confirms-talks-2020.html"}


def test_cli_table_and_markdown(gold_warehouse, capsys):
    query = "SELECT name, mentions FROM bidders WHERE name IN ('Microsoft', 'Amazon') ORDER BY name"
    status, out, _ = sql(capsys, gold_warehouse.path, "--format", "table", query)
    microsoft = expected_bidders()["Microsoft"]["mentions"]
    assert status == 0
    assert out.splitlines() == ["name       mentions", "---------  --------", "Amazon     2",
                                f"Microsoft  {microsoft}", "(2 rows)"]
    status, out, _ = sql(capsys, gold_warehouse.path, "--format", "markdown", query)
    assert out.splitlines() == ["| name | mentions |", "| --- | --- |", "| Amazon | 2 |", f"| Microsoft | {microsoft} |"]
    status, out, _ = sql(capsys, gold_warehouse.path, "--format", "markdown", "SELECT 'a|b' AS x")
    assert out.splitlines()[2] == "| a\\|b |"


def test_cli_lists_saved_queries(gold_warehouse, capsys):
    status, out, _ = sql(capsys, gold_warehouse.path, "--saved")
    assert status == 0
    for q in saved_queries():
        assert q.name in out and q.description in out
    assert "--param bidder" in out


def test_cli_file_query(gold_warehouse, capsys, tmp_path):
    query = tmp_path / "q.sql"
    query.write_text("-- how many bidders\nSELECT count(*) AS n FROM bidders\n")
    status, out, _ = sql(capsys, gold_warehouse.path, "--file", str(query), "--format", "json")
    assert status == 0 and json.loads(out) == [{"n": len(expected_bidders())}]


def test_cli_mistakes_are_one_line_not_a_traceback(gold_warehouse, capsys):
    status, out, err = sql(capsys, gold_warehouse.path, "SELEC nothing FROM nowhere")
    assert status == 2 and out == ""
    assert err.startswith("dealwatch: error: the query failed: Parser Error") and err.count("\n") == 1
    status, _, err = sql(capsys, gold_warehouse.path, "SELECT * FROM no_such_table")
    assert status == 2 and "Catalog Error" in err and "Traceback" not in err and err.count("\n") == 1
    status, _, err = sql(capsys, gold_warehouse.path, "--saved", "nope")
    assert status == 2 and "no saved query 'nope'; available: " in err and "bidder_evidence" in err
    status, _, err = sql(capsys, gold_warehouse.path, "--saved", "bidder_evidence")
    assert status == 2 and "--param bidder=VALUE" in err
    status, _, err = sql(capsys, gold_warehouse.path)
    assert status == 2 and "give a query" in err


def test_cli_sql_is_read_only(gold_warehouse, capsys):
    status, _, err = sql(capsys, gold_warehouse.path, "DELETE FROM facts")
    assert status == 2 and "read-only" in err
    assert gold_warehouse.query("SELECT count(*) FROM facts")[1][0][0] > 0


def test_format_values():
    rows = [(date(2020, 1, 2), None, ["a", "b"], 1.5)]
    columns = ["d", "n", "l", "f"]
    assert json.loads(format_result(columns, rows, "json")) == [{"d": "2020-01-02", "n": None, "l": ["a", "b"],
                                                                  "f": 1.5}]
    assert list(csv.reader(io.StringIO(format_result(columns, rows, "csv")))) == [
        columns, ["2020-01-02", "", '["a", "b"]', "1.5"]]


# -- Parquet export -------------------------------------------------------------------------------

def test_export_writes_every_table_and_view_as_parquet(gold_warehouse, tmp_path, capsys):
    out = tmp_path / "export"
    capsys.readouterr()
    assert main(["export", "--db", str(gold_warehouse.path), str(out)]) == 0
    printed = capsys.readouterr().out
    names = {p.stem for p in out.glob("*.parquet")}
    assert names >= {"articles", "facts", "alerts", "feeds", "feed_items", "runs", "bidders", "deadlines",
                     "timeline"}
    assert not [p for p in out.iterdir() if p.suffix != ".parquet"]  # no temporary file left over
    con = duckdb.connect()
    for name in names:
        want = gold_warehouse.query(f'SELECT count(*) FROM "{name}"')[1][0][0]
        got = con.execute("SELECT count(*) FROM read_parquet(?)", [str(out / f"{name}.parquet")]).fetchone()[0]
        assert got == want, name
        assert name in printed
    assert con.execute("SELECT count(*) FROM read_parquet(?)", [str(out / "articles.parquet")]).fetchone()[0] == \
        len(all_rows())
    bidders = con.execute("SELECT name, mentions FROM read_parquet(?) ORDER BY name",
                          [str(out / "bidders.parquet")]).fetchall()
    assert bidders == sorted((n, b["mentions"]) for n, b in expected_bidders().items())
    # again: the files are replaced, not appended to
    exported = export_parquet(gold_warehouse, out)
    assert {e.name for e in exported} == names
    assert con.execute("SELECT count(*) FROM read_parquet(?)", [str(out / "facts.parquet")]).fetchone()[0] == \
        gold_warehouse.query("SELECT count(*) FROM facts")[1][0][0]
