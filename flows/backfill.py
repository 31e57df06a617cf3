"""backfill: judge articles that no feed lists any more, into the same warehouse, with one digest.

    source: a text file of article URLs (one per line; blank lines and lines starting with # are skipped)
            or a folder of saved HTML pages (*.html, *.htm)

The same stages as a cycle (flows/monitor.py): fetch (or read the file) -> extract -> judge -> store with
Warehouse.store_outcomes, in batches, under the warehouse's cycle lock (a backfill and a cycle never run at
once on one warehouse). There is no feed: each item's link is the URL (canonical form) or the file's
file:// URI, its feed_url "backfill:<source>", and the publication date comes from the page's metadata.
Every alert it raises goes out in one digest at the end (digest threshold 0), never one message per old
fact; a backfill emits no dealwatch.*.new events, so the event-triggered deliver-alerts flow does not
split that digest.

URLs in the list are fetched whatever host they name (the address guard trusts a URL a person listed, as
`dealwatch explain` does); a page that fails for a transient reason (timeout, 5xx) is not stored: run
the backfill again and it is fetched again (whatever was stored is not stored twice).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from pydantic import SecretStr

from dealwatch import cluster
from dealwatch.cycle import PARALLEL_MIN_ITEMS, Fetched, process, shutdown_workers, start_workers
from dealwatch.model import FeedItem, Page
from dealwatch.profile import load_profile
from dealwatch.urls import canonical_url
from dealwatch.warehouse import StoreResult, Warehouse, utcnow
from flows.monitor import (BATCH_SIZE, Batch, CycleReport, cycle_markdown, deliver_alerts, fetch_judge_store,
                           from_config, record_cluster_work, record_failed_run)

PAGE_SUFFIXES = (".html", ".htm")


from dealwatch.errors import BackfillInputError  # noqa: E402  (re-exported)


@dataclass(frozen=True)
class BackfillSource:
    kind: str                    # "urls" or "pages"
    path: Path
    items: tuple[FeedItem, ...]


def read_source(source: str | Path) -> BackfillSource:
    """The items of a URL list or a folder of saved pages; BackfillInputError when there are none to use."""
    path = Path(source).expanduser()
    if not path.exists():
        raise BackfillInputError(f"{source}: no such file or folder (give a text file of URLs or a folder of "
                                 f"saved .html pages)")
    path = path.resolve()
    feed_url = f"backfill:{path}"
    if path.is_dir():
        pages = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES)
        if not pages:
            raise BackfillInputError(f"{source}: the folder holds no saved pages (*.html, *.htm)")
        return BackfillSource("pages", path, tuple(FeedItem(feed_url=feed_url, link=p.as_uri()) for p in pages))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise BackfillInputError(f"{source}: cannot read it as a text file of URLs ({e})") from e
    links: dict[str, None] = {}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.lower().startswith(("http://", "https://")) or len(line.split()) > 1:
            raise BackfillInputError(f"{source} line {number}: {line[:80]!r} is not an http(s) URL "
                                     f"(one URL per line; # starts a comment)")
        links[canonical_url(line)] = None
    if not links:
        raise BackfillInputError(f"{source}: no URLs in it (one http(s) URL per line; # starts a comment)")
    return BackfillSource("urls", path, tuple(FeedItem(feed_url=feed_url, link=link) for link in links))


def _saved_page(item: FeedItem) -> Page:
    body = Path(unquote(urlsplit(item.link).path)).read_bytes()
    return Page(url=item.link, final_url=item.link, status=200, content_type="text/html", body=body)


@task(name="read, judge and store a batch of saved pages", cache_policy=NONE)
def read_judge_store(db: str, items: list[FeedItem], profile_path: str | None, run_id: str) -> StoreResult:
    """The saved-pages twin of flows.monitor.fetch_judge_store: the page comes from a file, not the network."""
    profile = load_profile(profile_path)
    outcomes = process([Fetched(item, _saved_page(item)) for item in items], profile, date.today())
    return Warehouse(db).store_outcomes(outcomes, run_id=run_id, target_label=profile.label)


def _run_name() -> str:
    return f"backfill-{Path(str(flow_run.parameters.get('source', ''))).name}"


@flow(name="dealwatch-backfill", flow_run_name=_run_name, log_prints=False, validate_parameters=True)
async def backfill(source: str, db: str | None = None, notify: list[SecretStr] | None = None,
                   notify_configs: list[str] | None = None, profile: str | None = None,
                   fetch_options: dict | None = None, notify_min_interval: float | None = None,
                   config: str | None = None, dask_scheduler: str | None = None) -> dict:
    """Backfill `source` (a URL list or a folder of saved pages) into the warehouse `db`, then deliver the
    outbox as one digest. Parameters left None come from the config file `config`, read at run time.
    Async, as the monitor flow (flows/monitor.py says why): from synchronous code, asyncio.run(backfill(...)).
    dask_scheduler: the CPU work on that Dask cluster, as the monitor flow's."""
    p = from_config(config, db=db, notify=notify, notify_configs=notify_configs, profile=profile,
                    fetch_options=fetch_options, notify_min_interval=notify_min_interval,
                    dask_scheduler=dask_scheduler)
    cluster.use_cluster(p["dask_scheduler"])
    src = read_source(source)
    db = p["db"]
    # the person listed these URLs: fetch them whatever host they name (as `dealwatch explain` does)
    fetch_options = {**p["fetch_options"], "allowed_hosts": [*p["fetch_options"].get("allowed_hosts", []), "*"]}
    warehouse = Warehouse(db)
    with warehouse.cycle_lock():
        warehouse.migrate()
        run_id = str(flow_run.id or utcnow().isoformat())
        warehouse.start_run(run_id)
        report = CycleReport(run_id=run_id)
        items = list(src.items)
        try:
            label = load_profile(p["profile"]).label  # a broken profile fails before any work
            try:
                for start in range(0, len(items), BATCH_SIZE):
                    batch = items[start:start + BATCH_SIZE]
                    if len(batch) >= PARALLEL_MIN_ITEMS:
                        start_workers()  # one worker pool for the whole backfill (as a cycle does)
                    if src.kind == "pages":
                        stored = read_judge_store(db, batch, p["profile"], run_id)
                    else:  # max_attempts 2: a transient failure is not stored, a later backfill fetches it again
                        stored = await fetch_judge_store(db, Batch((item, 0) for item in batch), fetch_options,
                                                         p["profile"], run_id, 2)
                    report.add(stored)
            finally:
                record_cluster_work(report)
                shutdown_workers()
            # digest threshold 0: every alert of the backfill (and any other due one) in one digest
            delivered = deliver_alerts(db, p["notify"], p["notify_configs"], 0, p["notify_min_interval"], label)
            for name, value in delivered.items():
                setattr(report, name, value)
            warehouse.finish_run(run_id, "completed", asdict(report))
        except BaseException as exc:
            record_failed_run(warehouse, run_id, report, exc)
            raise
    get_run_logger().info("backfill of %d %s from %s: %d new articles, %d relevant, %d facts, %d alerts",
                          len(items), src.kind, src.path, report.articles_new, report.relevant_new,
                          report.facts_new, report.alerts_new)
    await acreate_markdown_artifact(
        key="dealwatch-backfill", markdown=cycle_markdown(report).replace("# dealwatch cycle", "# dealwatch backfill", 1),
        description=f"What the backfill of {src.path} found")
    return {**asdict(report), "source": str(src.path), "kind": src.kind, "items": len(items)}
