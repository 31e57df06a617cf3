"""The `dealwatch` command: parse, call the library or the flows, print. Nothing else lives here.

A user's mistake (bad config, unwritable database, a malformed notification URL, a wrong query) ends
with one line naming what was wrong and what to do, exit status 2; an unexpected failure with one line
and exit status 1 (`--debug` shows the traceback).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# Prefect reads these at import: quiet, offline, and patient with its temporary server on a busy machine.
QUIET_PREFECT = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LOG_PRINTS": "false",
}


from dealwatch.errors import DealwatchError, UsageError  # noqa: E402  (re-exported: dealwatch.cli.UsageError)


def quiet_prefect(progress: bool) -> None:
    for name, value in QUIET_PREFECT.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if progress else "WARNING")


def dask_scheduler(args, config) -> str | None:
    """The Dask scheduler for the CPU work: --dask, else $DEALWATCH_DASK_SCHEDULER, else the config's [scale]
    dask_scheduler, else None (the local worker pool). Set for this process (dealwatch.cluster) and in its
    environment, which the runs `serve` starts inherit."""
    from dealwatch import cluster
    address = getattr(args, "dask", None) or os.environ.get(cluster.ENV_SCHEDULER) or config.dask_scheduler
    if address:
        os.environ[cluster.ENV_SCHEDULER] = address
    cluster.use_cluster(address)
    return address or None


def check_cluster(address: str | None) -> None:
    """Connect to the Dask scheduler now, before Prefect starts: one clear line if it does not answer."""
    if address:
        from dealwatch import cluster
        cluster.pool()


# -- run ------------------------------------------------------------------------------------------

def _settings(args):
    from dealwatch.config import load_config
    from dealwatch.warehouse import is_lake
    config = load_config(args.config)
    db = getattr(args, "db", None)
    db = (db if is_lake(db) else Path(db)) if db else config.warehouse   # a lake's address stays a string
    return config, db


def _warehouse(args, config, db, **kwargs):
    """The warehouse at db; a lake with its data directory from --data-path or the config's, if given."""
    from dealwatch.warehouse import Warehouse
    data_path = getattr(args, "data_path", None) or config.data_path
    return Warehouse(db, data_path=data_path, **kwargs) if data_path else Warehouse(db, **kwargs)


def check_feed_urls(urls: Sequence[str]) -> None:
    for url in urls:
        if not url.lower().startswith(("http://", "https://")):
            raise UsageError(f"--feed {url!r} is not an http(s) URL: give the feed's full address")


def shard_arg(text: str | None):
    """--shard K/N as a dealwatch.shards.Shard (None without it); UsageError for anything else."""
    from dealwatch.shards import ShardError, parse_shard
    try:
        return parse_shard(text)
    except ShardError as e:
        raise UsageError(f"--{e}") from None


def prepare_cycle(db: Path | str, notify: Sequence[str], notify_configs: Sequence[Path], profile: Path | None,
                  data_path: str | None = None, shard=None) -> None:
    """What `dealwatch run` does before Prefect starts: the user's mistakes (a notify URL, a profile, a
    warehouse that cannot be opened or is locked) surface here, in one line, not from inside a flow run; and
    the workers' fork server starts on the other core while Prefect starts on this one."""
    from dealwatch.alerts import Notifier
    from dealwatch.cycle import prepare_workers, workers_likely
    from dealwatch.profile import load_profile
    from dealwatch.warehouse import Warehouse

    if notify or notify_configs:
        Notifier(list(notify), [str(p) for p in notify_configs])
    load_profile(profile)
    from dealwatch import cluster
    check_cluster(cluster.scheduler_address())
    warehouse = Warehouse(db, data_path=data_path) if data_path else Warehouse(db)
    warehouse.migrate()   # (a new lake is created here, with its data directory; the flow's tasks find it)
    with warehouse.cycle_lock(shard):
        pass
    if workers_likely(warehouse.last_run_articles()):
        prepare_workers()


def run_cycle(feeds: Sequence[str], db: Path, notify: Sequence[str], notify_configs: Sequence[Path],
              profile: Path | None, fetch_options: dict, digest_threshold: int,
              notify_min_interval: float | None = None, dask: str | None = None,
              data_path: str | None = None, shard=None) -> dict:
    """One cycle as a Prefect flow run; the CycleReport as a dict. dask: the Dask scheduler for the CPU work.
    shard: only the feeds of that shard (dealwatch.shards.Shard)."""
    from pydantic import SecretStr

    prepare_cycle(db, notify, notify_configs, profile, data_path, shard)
    from flows.monitor import monitor
    # shards=1: one cycle here (of every feed, or of --shard's), whatever the config's [scale] shards says of
    # deployed cycles
    return asyncio.run(monitor(
        db=str(db), feeds=list(feeds), notify=[SecretStr(u) for u in notify],
        notify_configs=[str(p) for p in notify_configs], profile=str(profile) if profile else None,
        fetch_options=fetch_options, digest_threshold=digest_threshold, notify_min_interval=notify_min_interval,
        dask_scheduler=dask, shard=str(shard) if shard else None, shards=1))


def print_cluster_work(r: dict, out=None) -> None:  # (None: print to sys.stdout as it is then)
    """Which Dask worker judged how many pages, when the CPU work went to a cluster."""
    if r.get("dask"):
        workers = r["dask"]["workers"]
        print(f"  dask      {sum(w['items'] for w in workers.values())} pages judged on {r['dask']['scheduler']}: "
              + (", ".join(f"{name} {w['items']} ({w.get('_process_chunk', 0)} chunks)" for name, w in workers.items())
                 or "none"), file=out)


def print_report(report: dict, db: Path, seconds: float, out=None) -> None:
    r = report
    what = f"cycle of shard {r['shard']}" if r.get("shard") else "cycle"
    print(f"dealwatch: {what} completed in {seconds:.1f} s", file=out)
    print(f"  feeds     {r['feeds_polled']} polled, {r['feeds_failed']} failed, "
          f"{r['feeds_skipped']} skipped (parked, backing off or asked to wait)"
          + (f", {r['feeds_not_due']} not due yet" if r.get("feeds_not_due") else ""), file=out)
    print(f"  articles  {r['articles_new']} new, {r['relevant_new']} relevant"
          f" ({r['duplicates']} copies of known stories, {r['retry_later']} to retry, {r['parked']} parked)",
          file=out)
    print(f"  facts     {r['facts_new']} new", file=out)
    waiting = f", {r['alerts_waiting']} waiting (no --notify URL)" if r["alerts_waiting"] else ""
    print(f"  alerts    {r['alerts_new']} raised, {r['alerts_sent']} sent, {r['alerts_failed']} failed{waiting}",
          file=out)
    if r["new_items"]:
        print(f"  new       {', '.join(r['new_items'])}", file=out)
    print_cluster_work(r, out)
    for error in r["feed_errors"][:10]:
        print(f"  feed error: {error}", file=out)
    print(f"  warehouse {db}", file=out)


def cmd_run(args) -> int:
    config, db = _settings(args)
    feeds = args.feed or list(config.feeds)
    check_feed_urls(feeds)
    if not feeds:
        raise UsageError("no feeds: give --feed URL or list feeds in the config")
    shard = shard_arg(args.shard)
    notify = list(config.notify_urls) + (args.notify or [])
    address = dask_scheduler(args, config)
    started = time.monotonic()
    report = run_cycle(feeds, db, notify, config.notify_configs, config.profile, config.fetch,
                       config.digest_threshold, config.notify_min_interval, dask=address,
                       data_path=args.data_path or config.data_path, shard=shard)
    print_report(report, db, time.monotonic() - started)
    return 0


# -- demo -----------------------------------------------------------------------------------------

def cmd_demo(args) -> int:
    """Two real cycles on the bundled sample: the backlog (one digest), then the news of a later day (new
    items only, one alert each, nothing repeated)."""
    from dealwatch.demo import SampleNewsServer
    from dealwatch.warehouse import Warehouse
    db = Path(args.db or "dealwatch-demo.duckdb")
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    with SampleNewsServer() as server:
        print(f"dealwatch demo: a sample news site with {len(server.feeds)} feeds is up at {server.base_url}; "
              f"alerts go to its webhook {server.notify_url}", flush=True)
        for day, phase in (("first cycle: the backlog", 1), ("second cycle: a later day's news", 2)):
            server.phase = phase
            print(f"\n== {day} ({sum(len(server.listed(f)) for f in server.feeds)} articles listed)", flush=True)
            seen = len(server.notifications)
            started = time.monotonic()
            report = run_cycle(server.feed_urls(), db, [server.notify_url], [], None, {}, args.digest_threshold)
            print_report(report, db, time.monotonic() - started)
            print(f"  notifications received by the webhook:")
            for note in server.notifications[seen:] or [{"title": "(none)"}]:
                print(f"    - {note.get('title', '')}")
    warehouse = Warehouse(db)
    _, bidders = warehouse.query("SELECT value, count(*) AS articles FROM facts WHERE kind = 'bidder' "
                                 "GROUP BY value ORDER BY articles DESC, value")
    _, deadlines = warehouse.query("SELECT value, count(*) AS articles FROM facts WHERE kind = 'deadline' "
                                   "GROUP BY value ORDER BY value")
    print("\nBidders found (articles naming them as bidders):")
    print("  " + ", ".join(f"{name} ({n})" for name, n in bidders))
    print("Deadlines found (articles naming them):")
    print("  " + ", ".join(f"{day} ({n})" for day, n in deadlines))
    print(f"\nThe warehouse is {db.resolve()}. Ask it anything, for example:")
    print(f"  uv run dealwatch sql --db {db} \"SELECT value, evidence FROM facts WHERE kind = 'bidder' LIMIT 5\"")
    print(f"  uv run dealwatch explain dealwatch/demo_data/articles/de-amazon-last-minute-gebot.html")
    return 0


# -- explain --------------------------------------------------------------------------------------

def cmd_explain(args) -> int:
    from datetime import date

    from dealwatch.config import load_config
    from dealwatch.extract import ExtractionError, extract_article
    from dealwatch.fetch import FetchError, FetchSettings, fetch_pages
    from dealwatch.judge import explain
    from dealwatch.model import FeedItem, Page
    from dealwatch.profile import load_profile
    config = load_config(args.config)
    profile = load_profile(config.profile)
    target = args.target
    if args.db:   # the article as the warehouse stored it, judged again now
        article, stored = stored_article(args, config, target)
        print(explain(article, profile) + stored)
        return 0
    item = FeedItem(feed_url="", link=target)
    if target.lower().startswith(("http://", "https://")):
        from dealwatch.urls import publisher_url
        item = FeedItem(feed_url="", link=publisher_url(target))   # an aggregator's link: the publisher's page
        # the user named this page: the address guard against links from untrusted feeds does not apply
        settings = FetchSettings.from_options({**config.fetch, "allowed_hosts": ["*"]})
        [page] = asyncio.run(fetch_pages([item], settings))
        if isinstance(page, FetchError):
            raise UsageError(f"cannot fetch {target}: {page}")
    else:
        path = Path(target)
        if not path.is_file():
            raise UsageError(f"{target} is neither an http(s) URL nor a file")
        page = Page(url=path.resolve().as_uri(), final_url=path.resolve().as_uri(), status=200,
                    content_type="text/html", body=path.read_bytes())
    try:
        article = extract_article(page, item, date.today())
    except ExtractionError as e:
        raise UsageError(f"{target}: {e}") from e
    print(explain(article, profile))
    return 0


def stored_article(args, config, url: str):
    """(the Article stored under url in the --db warehouse, a few lines on what was stored for it then): the
    text the cycle judged, whatever the page says now or if it is gone; UsageError when it is not there."""
    from dealwatch.model import Article
    from dealwatch.urls import canonical_url, publisher_url
    if not url.lower().startswith(("http://", "https://")):
        raise UsageError(f"explain --db looks an article up by its URL, and {url!r} is not an http(s) URL: "
                         f"give the article's URL (the url column of the articles table), or drop --db to judge a file")
    _, db = _settings(args)
    links = list(dict.fromkeys([url, canonical_url(url), publisher_url(url)]))
    _, rows = _warehouse(args, config, db).query(
        "SELECT url, final_url, title, text, lang, published_at, source, text_source, relevant, relevance_score, "
        "fetched_at, story_url, "
        "(SELECT list(kind || ' ' || value ORDER BY kind, value) FROM facts f WHERE f.article_url = a.url) "
        "FROM articles a WHERE url IN (SELECT unnest(?::VARCHAR[])) OR final_url IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY fetched_at LIMIT 1", [links, links])
    if not rows:
        raise UsageError(f"no article {url} in the warehouse {db}: `dealwatch sql \"SELECT url, title FROM articles\"` "
                         f"lists those stored; drop --db to fetch the page and judge it now")
    (url, final_url, title, text, lang, published, source, text_source, relevant, score, fetched_at, story,
     facts) = rows[0]
    article = Article(url=url, title=title or "", text=text or "", lang=lang, final_url=final_url,
                      published=published.date() if published else None, source=source or "",
                      text_source=text_source or "page")
    stored = (f"\nSTORED  in {db}, fetched {fetched_at:%Y-%m-%d %H:%M} UTC ({text_source} text): judged "
              f"{'RELEVANT' if relevant else 'not relevant'} then, score {'-' if score is None else f'{score:.2f}'}; "
              + (f"a copy of {story}, whose facts stand for the story\n" if story and story != url else
                 f"facts stored: {', '.join(facts) if facts else 'none'}\n"))
    return article, stored


# -- sql, alerts, feeds ---------------------------------------------------------------------------

def print_table(columns: list[str], rows: list[tuple], out=None) -> None:
    from dealwatch.queries import format_table
    (out or sys.stdout).write(format_table(columns, rows))  # (sys.stdout as it is now, not when this was imported)


def print_checks(results) -> int:
    """One line per (what, ok, detail) checked; the exit status: 0 when every one worked."""
    failed = 0
    for what, ok, detail in results:
        failed += not ok
        print(f"  {'ok    ' if ok else 'FAILED'}  {what}{f'  {detail}' if detail else ''}")
    return 1 if failed else 0


def cmd_sql(args) -> int:
    from dealwatch.queries import format_result, format_saved_list, run_query, saved_queries, saved_query
    if args.saved == "":  # --saved with no name: list them
        sys.stdout.write(format_saved_list(saved_queries()))
        return 0
    sources = [bool(args.query), bool(args.file), args.saved is not None]
    if sum(sources) > 1:
        raise UsageError("give one query: the SQL, --file QUERY.sql or --saved NAME")
    if args.saved is not None:
        query = saved_query(args.saved).sql
    elif args.file:
        try:
            query = Path(args.file).read_text(encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot read the query file {args.file}: {e.strerror}") from e
    else:
        query = args.query
    if not query or not query.strip():
        raise UsageError("give a query: dealwatch sql \"SELECT ...\" (or --file QUERY.sql, or --saved NAME; "
                         "--saved alone lists the saved queries)")
    from dealwatch.warehouse import Warehouse
    config, db = _settings(args)
    columns, rows = run_query(_warehouse(args, config, db, lock_timeout=args.wait), query,
                              args.param or [])   # QueryError if it fails
    fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
    sys.stdout.write(format_result(columns, rows, fmt))
    return 0


def cmd_report(args) -> int:
    from dealwatch.profile import load_profile
    from dealwatch.report import write_report
    config, db = _settings(args)
    profile = load_profile(config.profile)   # its label and description head the page
    data, html_path, png_path = write_report(_warehouse(args, config, db, lock_timeout=args.wait), args.html, args.png,
                                             target=profile.label, description=profile.description)
    upcoming = sum(1 for d in data.deadlines if d.get("status") == "upcoming")
    print(f"dealwatch: report written: {html_path} ({len(data.bidders)} bidders, {len(data.deadlines)} deadlines, "
          f"{upcoming} upcoming), chart {png_path}")
    return 0


def cmd_export(args) -> int:
    from dealwatch.queries import export_parquet
    from dealwatch.warehouse import Warehouse
    config, db = _settings(args)
    exported = export_parquet(_warehouse(args, config, db, lock_timeout=args.wait), args.dir)
    for e in exported:
        print(f"  {e.kind:5}  {e.name:24} {e.rows:8} rows  {e.path}")
    print(f"dealwatch: exported {len(exported)} tables and views as Parquet to {args.dir}")
    return 0


def cmd_alerts(args) -> int:
    from dealwatch.warehouse import Warehouse
    config, db = _settings(args)
    if args.test:
        from dealwatch.alerts import Notifier, send_test
        urls = list(config.notify_urls) + (args.notify or [])
        if not urls and not config.notify_configs:
            raise UsageError("no notification URL: give --notify APPRISE_URL or set notify.urls in the config")
        results = send_test(Notifier(urls, [str(p) for p in config.notify_configs]))
        return print_checks((url, ok, "" if ok else f"({error})") for url, ok, error in results)
    warehouse = _warehouse(args, config, db)
    if args.retry is not None:
        ids = [_alert_id(i) for i in args.retry] or None
        warehouse.migrate()
        count = warehouse.retry_alerts(ids)
        print(f"re-queued {count} alert(s): the next delivery (a cycle, or deliver-alerts) tries them again"
              if count else "no failed alert to re-queue" + (f" among {', '.join(args.retry)}" if ids else ""))
        return 0
    columns, rows = warehouse.query(
        "SELECT id, target_label AS target, kind, value, status, attempts, created_at, sent_at, last_error, "
        "article_url FROM alerts ORDER BY id")
    print_table(columns, rows)
    columns, rows = warehouse.query(
        "SELECT destination, CASE WHEN state = 'failing' THEN 'failing since ' || strftime(failing_since, "
        "'%Y-%m-%d %H:%M') || ' UTC' ELSE state END AS state, failed_attempts, last_ok_at, last_error, "
        "(SELECT count(*) FROM alert_failures f WHERE f.destination = d.destination) AS alerts_refused "
        "FROM destinations d ORDER BY state = 'ok', destination")
    if rows:
        print("\nDestinations:")
        print_table(columns, rows)
    return 0


def _alert_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"--retry {text!r}: give alert ids (the id column of `dealwatch alerts`), or none "
                         f"for every failed alert") from None


def cmd_feeds(args) -> int:
    from dealwatch.warehouse import Warehouse
    config, db = _settings(args)
    if args.unpark:
        count = _warehouse(args, config, db).unpark_feeds(None if "all" in args.unpark else args.unpark)
        print(f"unparked {count} feed(s)")
        return 0
    if args.check:
        from dealwatch.fetch import FetchSettings, poll_feeds
        feeds = args.feed or list(config.feeds)
        check_feed_urls(feeds)
        polls = asyncio.run(poll_feeds([(url, None, None) for url in feeds], FetchSettings.from_options(config.fetch)))
        return print_checks((poll.feed_url, poll.ok, poll.error or f"{len(poll.items)} items"
                             + (f" (but: {poll.warning})" if poll.warning else "")) for poll in polls)
    warehouse = _warehouse(args, config, db)
    if isinstance(db, str) or Path(db).exists():   # (a lake: its migrate() creates nothing it has)
        warehouse.migrate()   # a warehouse of an older dealwatch: the schedule's and the warnings' columns
    columns, rows = warehouse.query(
        "SELECT url, title, last_success_at, last_status, consecutive_failures AS failures, parked, items_seen, "
        "CASE WHEN parked THEN NULL ELSE greatest(due_at, next_poll_at) END AS next_poll, "
        "CASE WHEN parked THEN due_reason WHEN due_at IS NULL AND next_poll_at IS NULL THEN 'new: due now' "
        "ELSE due_reason END AS why, last_error, last_warning AS warning FROM feeds "
        "ORDER BY parked DESC, failures DESC, url")
    print_table(columns, [_with_countdown(row, columns.index("next_poll")) for row in rows])
    return 0


def _with_countdown(row: tuple, at: int) -> tuple:
    """The row with its next poll as 'HH:MM:SS UTC (in N min)' or 'now'."""
    from dealwatch.warehouse import utcnow
    when = row[at]
    if when is None:
        return row
    left = (when - utcnow()).total_seconds()
    shown = "now" if left <= 0 else (f"{when:%Y-%m-%d %H:%M:%S} UTC (in "
                                     + (f"{left / 60:.0f} min)" if left >= 90 else f"{left:.0f} s)"))
    return (*row[:at], shown, *row[at + 1:])


# -- serve, backfill (deployments/, flows/backfill.py) -------------------------------------------

def cmd_serve(args) -> int:
    """The schedule, the event-triggered delivery and the backfill deployment in one process, until
    SIGTERM or Ctrl-C (exit status 0: a requested stop)."""
    from deployments.serve import check_schedule, run_parameters, serve
    check_feed_urls(args.feed or [])
    try:
        check_schedule(args.cron, args.interval, args.tick)
    except ValueError as e:
        raise UsageError(str(e)) from e
    config, _ = _settings(args)
    if config.notify_urls or config.notify_configs:  # a malformed URL fails now, not at the first alert
        from dealwatch.alerts import Notifier
        Notifier(list(config.notify_urls), [str(p) for p in config.notify_configs])
    from dealwatch.profile import load_profile
    load_profile(config.profile)   # and a profile that cannot be used, now, not in every scheduled run
    params = run_parameters(args.config, args.db, args.feed)
    address = dask_scheduler(args, config)
    check_cluster(address)   # now, not at the first scheduled run
    from dealwatch import cluster
    cluster.close()   # the runs connect for themselves
    if address:
        params["dask_scheduler"] = address
    if args.shards is not None:
        from dealwatch.shards import ShardError, all_shards
        try:
            all_shards(args.shards)
        except ShardError as e:
            raise UsageError(f"--{e}") from None
        params["shards"] = args.shards
    try:
        return serve(params, args.cron, args.interval, tick=args.tick)
    except ConnectionError as e:
        raise UsageError(str(e)) from e


def cmd_backfill(args) -> int:
    from pydantic import SecretStr

    from flows.backfill import backfill, read_source
    config, db = _settings(args)
    source = read_source(args.source)   # BackfillInputError: one line, like every DealwatchError
    notify = list(config.notify_urls) + (args.notify or [])
    configs = [str(p) for p in config.notify_configs]
    if notify or configs:
        from dealwatch.alerts import Notifier
        Notifier(notify, configs)  # a malformed URL fails before any work
    address = dask_scheduler(args, config)
    check_cluster(address)
    started = time.monotonic()
    r = asyncio.run(backfill(source=str(source.path), db=str(db), notify=[SecretStr(u) for u in notify],
                             notify_configs=configs, profile=str(config.profile) if config.profile else None,
                             fetch_options=config.fetch, notify_min_interval=config.notify_min_interval,
                             dask_scheduler=address))
    what = "URLs" if r["kind"] == "urls" else "saved pages"
    print(f"dealwatch: backfill of {r['items']} {what} from {r['source']} completed in "
          f"{time.monotonic() - started:.1f} s")
    retry = f", {r['retry_later']} not fetched now (run the backfill again)" if r["retry_later"] else ""
    print(f"  articles  {r['articles_new']} new, {r['relevant_new']} relevant "
          f"({r['duplicates']} copies of known stories{retry})")
    print(f"  facts     {r['facts_new']} new")
    waiting = f", {r['alerts_waiting']} waiting (no --notify URL)" if r["alerts_waiting"] else ""
    digest = " (one digest)" if r["alerts_sent"] else ""
    print(f"  alerts    {r['alerts_new']} raised, {r['alerts_sent']} sent{digest}, {r['alerts_failed']} failed"
          f"{waiting}")
    if r["new_items"]:
        print(f"  new       {', '.join(r['new_items'])}")
    print_cluster_work(r)
    print(f"  warehouse {db}")
    return 0


# -- the parser -----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dealwatch", description="Watch the news for new bidders and deadlines "
                                     "in a corporate saga (the profile's; by default TikTok's forced sale); facts "
                                     "into DuckDB, alerts through apprise.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(p):
        p.add_argument("--config", help="TOML config file (default: ./dealwatch.toml if present)")
        p.add_argument("--db", help="DuckDB warehouse file (default: from the config, warehouse/dealwatch.duckdb), "
                       "or a DuckLake: ducklake:postgres:<libpq conninfo> (docs/scale-out.md)")
        p.add_argument("--data-path", metavar="DIR", help="a DuckLake warehouse's data directory (needed to create "
                       "the lake; default: the config's [warehouse] data_path, else the one the lake recorded)")

    def dask(p):
        p.add_argument("--dask", metavar="ADDRESS", help="extract and judge on this Dask cluster (its scheduler, "
                       "e.g. tcp://host:8786; default: $DEALWATCH_DASK_SCHEDULER, the config's [scale] "
                       "dask_scheduler, else worker processes on this machine)")

    p = sub.add_parser("run", help="one monitoring cycle: poll, fetch, judge, store, alert")
    common(p)
    p.add_argument("--feed", action="append", metavar="URL", help="poll only this feed (repeatable)")
    p.add_argument("--notify", action="append", metavar="APPRISE_URL", help="also notify here (repeatable)")
    p.add_argument("--shard", metavar="K/N", help="poll only the feeds of shard K of N (a stable hash of each "
                   "feed's URL), beside the other shards' cycles (docs/scale-out.md)")
    dask(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="serve the bundled sample articles on loopback and run a real cycle on them")
    p.add_argument("--db", help="warehouse file for the demo (default: ./dealwatch-demo.duckdb, recreated)")
    p.add_argument("--digest-threshold", type=int, default=10, help="more new alerts than this: one digest")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("explain", help="judge one article (URL or saved HTML file) and show why; with --db, the "
                       "article stored under that URL, as the warehouse holds it")
    common(p)
    p.add_argument("target", metavar="URL|FILE")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("sql", help="run a read-only SQL query against the warehouse")
    common(p)
    p.add_argument("query", nargs="?", help="the SQL")
    p.add_argument("--file", help="read the query from this file")
    p.add_argument("--saved", nargs="?", const="", metavar="NAME",
                   help="run the saved query warehouse/queries/NAME.sql; alone: list the saved queries")
    p.add_argument("--param", action="append", metavar="VALUE|NAME=VALUE",
                   help="a value for the query's $name or $1 placeholder (repeatable, in order)")
    p.add_argument("--format", choices=["table", "csv", "json", "markdown"],
                   help="output format (default: table on a terminal, csv otherwise)")
    p.add_argument("--wait", type=float, default=30.0, help="seconds to wait while a cycle holds the file")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("report", help="write a static HTML report (bidders, deadlines, timeline chart, articles)")
    common(p)
    p.add_argument("--html", default="dealwatch-report.html", metavar="FILE",
                   help="the page to write (default: dealwatch-report.html)")
    p.add_argument("--png", metavar="FILE",
                   help="the timeline chart, also embedded in the page (default: dealwatch-timeline.png beside it)")
    p.add_argument("--wait", type=float, default=30.0, help="seconds to wait while a cycle holds the file")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="write every table and view as Parquet files (one per table) to DIR")
    common(p)
    p.add_argument("dir", metavar="DIR", help="folder for NAME.parquet (created; files replaced atomically)")
    p.add_argument("--wait", type=float, default=30.0, help="seconds to wait while a cycle holds the file")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("alerts", help="list alerts, their delivery status and each destination's state; "
                       "--test sends a test notification, --retry re-queues failed alerts")
    common(p)
    p.add_argument("--test", action="store_true", help="send a test notification to every configured URL")
    p.add_argument("--notify", action="append", metavar="APPRISE_URL", help="also test this URL")
    p.add_argument("--retry", nargs="*", metavar="ID", help="re-queue failed alerts (these ids; none: every "
                   "failed one): the next delivery tries them again where they failed")
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser("feeds", help="each feed's health; --check validates the configured feeds now")
    common(p)
    p.add_argument("--check", action="store_true", help="fetch every feed once and say which work")
    p.add_argument("--feed", action="append", metavar="URL", help="with --check: only this feed")
    p.add_argument("--unpark", nargs="+", metavar="URL", help="poll these parked feeds again ('all' for every one)")
    p.set_defaults(func=cmd_feeds)

    p = sub.add_parser("serve", help="run unattended: cycles on a schedule, event-triggered alert delivery "
                       "(Prefect's serve; a local Prefect server unless PREFECT_API_URL is set)")
    common(p)
    p.add_argument("--feed", action="append", metavar="URL", help="poll only this feed (repeatable)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--tick", type=float, metavar="SECONDS",
                      help="the default: a short cycle every SECONDS (default 60) polling only the feeds due by "
                           "their own clock (adapted to how often each publishes; `dealwatch feeds` shows when)")
    when.add_argument("--cron", metavar="EXPR", help="a fixed schedule instead, UTC (e.g. '*/15 * * * *'): "
                                                     "every feed at every run")
    when.add_argument("--interval", type=float, metavar="SECONDS",
                      help="a fixed schedule instead: a cycle polling every feed every SECONDS")
    p.add_argument("--shards", type=int, metavar="N", help="each cycle as N shard runs at once, each polling "
                   "the feeds of its shard (default: the config's [scale] shards, else 1; docs/scale-out.md)")
    dask(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("backfill", help="judge a list of article URLs or a folder of saved pages into the "
                       "warehouse; one digest for all they raise")
    common(p)
    p.add_argument("source", metavar="URLS.txt|FOLDER",
                   help="a text file of URLs (one per line, # comments) or a folder of saved .html pages")
    p.add_argument("--notify", action="append", metavar="APPRISE_URL", help="also notify here (repeatable)")
    dask(p)
    p.set_defaults(func=cmd_backfill)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    quiet_prefect(progress=sys.stderr.isatty())
    try:
        return args.func(args)
    except DealwatchError as e:   # every error dealwatch raises on purpose (dealwatch/errors.py): its one line
        print(f"dealwatch: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dealwatch: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if args.debug:
            raise
        print(f"dealwatch: failed: {type(e).__name__}: {e} (run with --debug for the traceback)", file=sys.stderr)
        return 1
    except BaseException as e:
        # SIGTERM during a flow run: Prefect raises its TerminationSignal (a BaseException) once the cycle has
        # stopped cleanly (its run recorded 'interrupted', its claims given back); the next cycle carries on
        if type(e).__name__ != "TerminationSignal" or args.debug:
            raise
        print("dealwatch: stopped by SIGTERM; the next run carries on where this one stopped", file=sys.stderr)
        return 143


if __name__ == "__main__":
    sys.exit(main())
