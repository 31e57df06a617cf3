"""dealwatch against the physical floor of its work (extracting text from HTML), side by side in ONE run.

    uv run python benchmarks/run.py [--articles N] [--feeds F] [--repeat K] [--json OUT] [--no-10x] [--shards]
    uv run python benchmarks/run.py --freshness [--hours H] [--json OUT]   (benchmarks/freshness.py)
    uv run python benchmarks/run.py --lake [--articles N] [--repeat K] [--lake-conninfo CONNINFO]

N realistic article pages (benchmarks/corpus.py) are served over loopback HTTP across F RSS feeds with
ETag / Last-Modified / 304 by benchmarks/server.py, in its own process. Each measurement runs in a fresh
process of its own (this file with --phase), so imports, memory and Prefect's temporary server are
measured cleanly and nothing leaks from one into the next:

  floor      bare `trafilatura.extract(page)` over the same N pages in a loop, one process, pages/s
             (also `extract(..., with_metadata=True)`, for information)
  flow       the real Prefect flow `flows.monitor.monitor` on a fresh warehouse: poll, fetch, extract,
             judge, store, deliver; pages/s and its ratio to the floor. Prefect's temporary server is
             started first by a trivial flow run, and its start-up is reported on its own line; so is what
             `dealwatch run` does before Prefect starts (dealwatch.cli.prepare_cycle: checks of the notify
             URLs, profile and warehouse; the worker pool's fork server started), done at the phase's start
             and the fork server waited for before the cycle. Then the
             same flow again with nothing changed: the unchanged re-poll (wall time, requests, bytes,
             article fetches, statuses). Then CHECKPOINT and the warehouse's size per 1,000 articles.
  plain      the same cycle without a flow run: `cycle(..., engine=False)` under `warehouse.cycle_lock()`,
             on a fresh warehouse (after the same preamble as flow): the difference is
             what the Prefect engine costs
  cluster    (--cluster) the flow at N once more in each round, its CPU work on a local Dask cluster of
             two `dask worker` processes (one thread each, dealwatch.dask_preload; dealwatch.cluster.LocalCluster,
             started once before the rounds, as a cluster is up before a cycle) instead of the local pool, right
             before or after the local flow (the order alternates by round): its wall time against the local
             pool's, best against best and round by round (the spread), and the CPU of the cluster's processes
             (scheduler, nannies, workers) during its runs. --cluster-only: just these two, --repeat rounds
  shards     (--shards) the plain cycle in 2 shards at once (`--shard 1/2` and `2/2`, two processes started
             together once each has done the preamble), on a DuckLake whose catalog is in a throwaway
             PostgreSQL (tests/postgres_server.py: Debian's package) and, beside it, on a file: one run each,
             after the others; the wall time from the first shard's start to the last one's end, every
             article stored once (checked)
  flow10x    the flow at 10 x N, on a fresh warehouse: peak RSS against the flow at N, and its speed (the
             longest part: ~1 min a run at the default N=1000 on 2 cores, 2 runs (--repeat-10x), the best
             reported, the highest RSS; at N=10000 it is 100,000 pages, ~20 min a run; --no-10x skips it)
  lake       (--lake, instead of the above) the plain cycle at N on a file and on a DuckLake with its catalog in
             PostgreSQL (docs/scale-out.md), interleaved K times, each on a fresh warehouse (a new database and
             data directory): both printed, best of K. PostgreSQL: --lake-conninfo's server (the benchmark
             creates and drops databases there), else a throwaway one on loopback (tests/postgres_server.py)
floor, flow and plain run K times (--repeat, default 5), interleaved, each time in a fresh process; each
figure is the best of its K runs, all K shown: the speed of a shared 2-core VM drifts by tens of percent
within a minute (in one run of three rounds, the floor's runs gave 131, 203 and 213 pages/s), and a ratio
of two single runs taken a minute apart says as much about the drift; with three rounds, all of one side's
runs could fall in a slow spell (the flow's 145, 133, 145 against the floor's best 200, in another run).
Peak memory: each cycle process reads its own peak RSS (resource.getrusage RUSAGE_SELF), and its worker
processes' (RUSAGE_CHILDREN) once they have exited.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL", "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180", "PREFECT_LOGGING_LOG_PRINTS": "false",
}


# -- helpers shared by the phases -----------------------------------------------------------------------

def stats(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/_stats", timeout=10) as r:
        return json.loads(r.read())


def delta(after: dict, before: dict) -> dict:
    return {k: round(after.get(k, 0) - before.get(k, 0), 3) for k in after if k != "maxrss_mb"}


# The cycle's processes: this one; its worker pool's fork server (a child) and the workers forked from it
# (its children: their CPU reaches the fork server's cutime/cstime once it has reaped them); Prefect's
# temporary server (a child, with its own children). /proc is read directly: Linux, as the benchmark.

def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _is_fork_server(pid: int) -> bool:
    try:
        return b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _cpu_of(pid: int) -> float:
    """CPU seconds of a process and of the children it has reaped."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


class WorkerWatch:
    """Peak RSS of each worker process (they exit at the end of a cycle, before anyone could ask): sampled
    every 0.2 s in a thread, from the fork server's children (or this process's other children)."""

    def __init__(self):
        import threading
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.2):
            for child in _children(os.getpid()):
                for pid in _children(child) if _is_fork_server(child) else [child]:
                    self.peak_mb = max(self.peak_mb, _rss_mb(pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak_mb, 1)


def rss(watch: WorkerWatch | None = None) -> dict:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = max(kids.ru_maxrss / 1024, watch.stop() if watch else 0.0)
    return {"rss_peak_mb": round(me.ru_maxrss / 1024, 1), "workers_rss_peak_mb": round(workers, 1),
            "cpu_self_s": round(me.ru_utime + me.ru_stime, 2), "cpu_children_s": round(cpu_now()[1], 2)}


def cpu_now() -> tuple[float, float]:
    """(this process's CPU seconds, all threads; the worker pool's CPU seconds: reaped children, plus the
    live fork server with the workers it reaped)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    servers = sum(_cpu_of(pid) for pid in _children(os.getpid()) if _is_fork_server(pid))
    return time.process_time(), kids.ru_utime + kids.ru_stime + servers


def live_children_cpu() -> float:
    """CPU seconds of this process's children still running but the worker pool's fork server (Prefect's
    temporary server), with what they reaped."""
    return round(sum(_cpu_of(pid) for pid in _children(os.getpid()) if not _is_fork_server(pid)), 2)


def settled_cpu(start: float, quiet: float = 0.02, every: float = 0.25, timeout: float = 60) -> float:
    """live_children_cpu() once it has stopped growing (less than `quiet` s in `every` s)."""
    last, deadline = start, time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(every)
        now = live_children_cpu()
        if now - last < quiet:
            return now
        last = now
    return last


class Preamble:
    """What `dealwatch run` does before Prefect starts (dealwatch.cli.prepare_cycle: the notify URLs, the
    profile and the warehouse checked, the worker pool's fork server started), done at the phase's start, the
    fork server waited for before the measured cycle: the cycle then costs what the flow run of `dealwatch
    run` costs. Its own cost, once per process, is reported on its own line, like Prefect's start-up."""

    def __init__(self, a, db: Path | str, data_path: str | None = None, shard=None):
        from dealwatch.cli import prepare_cycle
        started, cpu = time.perf_counter(), time.process_time()
        prepare_cycle(db, [u.get_secret_value() for u in _flow_kwargs(a, db)["notify"]], [], None, data_path,
                      shard=shard)
        self.seconds, self.cpu = time.perf_counter() - started, time.process_time() - cpu

    def wait(self, timeout: float = 120) -> dict:
        from dealwatch.cycle import fork_server_ready
        deadline = time.monotonic() + timeout
        while not fork_server_ready() and not os.environ.get("DEALWATCH_DASK_SCHEDULER"):
            if time.monotonic() > deadline:
                raise SystemExit(f"the workers' fork server did not start in {timeout:.0f} s")
            time.sleep(0.01)
        return {"preamble_s": round(self.seconds, 2), "preamble_cpu_s": round(self.cpu, 2),
                "fork_server_cpu_s": round(cpu_now()[1], 2)}


def feed_urls(base: str, set_name: str, feeds: int) -> list[str]:
    return [f"{base}/{set_name}/feeds/{k}.xml" for k in range(feeds)]


def fresh_warehouse(db: Path) -> Path:
    """db, with whatever an earlier run of the phase left there removed: every cycle measured starts empty."""
    for leftover in db.parent.glob(db.name + "*"):
        leftover.unlink()
    return db


def warehouse_size(db: Path) -> dict:
    import duckdb
    con = duckdb.connect(str(db))
    try:
        con.execute("CHECKPOINT")
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        facts = con.execute("SELECT count(*) FROM facts").fetchone()[0]
    finally:
        con.close()
    size = db.stat().st_size + (db.with_name(db.name + ".wal").stat().st_size
                                if db.with_name(db.name + ".wal").exists() else 0)
    return {"db_bytes": size, "articles": articles, "facts": facts,
            "mb_per_1000": round(size / 1e6 / max(articles, 1) * 1000, 2)}


# -- phases (each in its own process) -------------------------------------------------------------------

def phase_floor(a) -> dict:
    import corpus
    import trafilatura
    pages = [corpus.page(a.set, i, a.seed) for i in range(a.articles)]
    trafilatura.extract(pages[0])  # warm-up: imports and lazy initialisation are not the floor
    started = time.perf_counter()
    chars = sum(len(trafilatura.extract(p) or "") for p in pages)
    bare = time.perf_counter() - started
    out = {"pages": len(pages), "seconds": round(bare, 2), "pages_per_s": round(len(pages) / bare, 1),
           "mean_page_kb": round(sum(map(len, pages)) / len(pages) / 1024, 1), "chars": chars}
    if a.meta_floor:
        started = time.perf_counter()
        for p in pages:
            trafilatura.extract(p, with_metadata=True, include_comments=False)
        meta = time.perf_counter() - started
        out["meta_pages_per_s"] = round(len(pages) / meta, 1)
        started = time.perf_counter()
        for p in pages:
            trafilatura.extract(p, fast=True)
        out["fast_pages_per_s"] = round(len(pages) / (time.perf_counter() - started), 1)
    k = min(a.stage_pages, len(pages))
    out["stages"] = stage_costs(pages[:k], [corpus.entry(a.set, i, a.seed) for i in range(k)])
    out.update(rss())
    return out


def stage_costs(pages: list[bytes], entries: list) -> dict:
    """Where one worker's time per page goes: dealwatch's own stages, each timed over the same pages in
    one process (ms per page, best of three passes), beside the floor's single trafilatura.extract."""
    from datetime import date

    import trafilatura

    from dealwatch import extract as ex
    from dealwatch.cycle import CHUNK_MAX, Fetched, process_pages
    from dealwatch.dedup import content_hash, text_fingerprint
    from dealwatch.facts.text import forget_sentences
    from dealwatch.judge import judge
    from dealwatch.model import FeedItem, Page
    from dealwatch.profile import load_profile

    profile = load_profile(None)
    from datetime import UTC, datetime
    # the feed entries as the cycle has them (title, summary, date): the judgment reads them too
    items = [FeedItem(feed_url="http://127.0.0.1/feeds/0.xml", link=f"http://127.0.0.1{e.path}", title=e.title,
                      summary=e.summary, published=datetime(e.published.year, e.published.month, e.published.day,
                                                            12, tzinfo=UTC) if e.published else None)
             for e in entries]
    fetched = [Fetched(it, Page(url=it.link, final_url=it.link, status=200, content_type="text/html; charset=utf-8",
                                body=b, encoding="utf-8")) for it, b in zip(items, pages)]
    today = date.today()

    def timed(fn, args, rounds: int = 3) -> float:
        """CPU ms per call, the best of `rounds` passes (this machine's speed drifts within seconds)."""
        best = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            out = [fn(*x) for x in args]
            best = min(best, time.process_time() - started)
        timed.last = out
        return round(best / len(args) * 1000, 2)

    costs = {"floor: trafilatura.extract (defaults)": timed(trafilatura.extract, [(b,) for b in pages])}
    costs["parse the page (once, lxml)"] = timed(ex.parse_html, [(b, "utf-8") for b in pages])
    trees = timed.last
    nodes = [ex.story_element(t) for t in trees]
    costs["<article> text from the tree"] = timed(lambda n: ex.element_text(n) if n is not None else "", [(n,) for n in nodes])
    stories = timed.last
    costs["main text: trafilatura on the <article> (fast, full when poor)"] = timed(
        ex.main_text, [(t, None, st, n) for t, st, n in zip(trees, stories, nodes)])
    costs["extract_article (all of extract.py)"] = timed(ex.extract_article, [(f.result, f.item, today) for f in fetched])
    articles = timed.last
    costs["  of which language id (py3langid)"] = timed(ex.detect_language, [(a.text,) for a in articles])
    costs["judge (relevance, bidders, deadlines, prices)"] = timed(judge, [(a, profile) for a in articles])
    # the same pages as text never seen: the benchmark's text repeats sentences more than a stream of news does (48
    # templates), and the judgment answers a sentence it read lately from its memos; emptied before each page
    best = float("inf")
    for _ in range(3):
        spent = 0.0
        for a in articles:
            forget_sentences()
            started = time.process_time()
            judge(a, profile)
            spent += time.process_time() - started
        best = min(best, spent)
    costs["  judge, every sentence never seen (memos emptied before each page)"] = round(best / len(articles) * 1000, 2)
    costs["content hash + SimHash"] = timed(lambda t: (content_hash(t), text_fingerprint(t)), [(a.text,) for a in articles])
    # as a worker does it: jobs of CHUNK_MAX pages, each stage over all of a job's pages in turn (process_pages)
    jobs = [(fetched[i:i + CHUNK_MAX], profile, today) for i in range(0, len(fetched), CHUNK_MAX)]
    costs[f"a worker's whole job (process_pages, {CHUNK_MAX} pages a job)"] = round(
        timed(process_pages, jobs) * len(jobs) / len(fetched), 2)
    return {"pages": len(pages), "ms_per_page": costs}


def _flow_kwargs(a, db: Path) -> dict:
    from pydantic import SecretStr
    return dict(db=str(db), feeds=feed_urls(a.base, a.set, a.feeds),
                notify=[SecretStr(f"json://{a.base.removeprefix('http://')}/notify")])


def phase_flow(a) -> dict:
    os.environ.update(QUIET)
    if a.dask:   # the cluster phase: the CPU work on that Dask scheduler's workers
        os.environ["DEALWATCH_DASK_SCHEDULER"] = a.dask
    db = fresh_warehouse(Path(a.workdir) / f"flow-{a.set}.duckdb")
    preamble = Preamble(a, db)
    from prefect import flow
    from flows.monitor import monitor

    @flow(name="bench-warm-up")
    def warm_up() -> int:
        return 1

    started = time.perf_counter()
    warm_up()
    startup = time.perf_counter() - started
    out = {"prefect_startup_s": round(startup, 1), **preamble.wait()}
    cluster_pids = [int(pid) for pid in a.cluster_pids.split(",")] if a.cluster_pids else []
    before, cpu0, prefect0, watch = stats(a.base), cpu_now(), live_children_cpu(), WorkerWatch()
    dask0 = cluster_cpu(cluster_pids)
    started = time.perf_counter()
    report = asyncio.run(monitor(**_flow_kwargs(a, db)))
    wall = time.perf_counter() - started
    after, cpu1, prefect1 = stats(a.base), cpu_now(), live_children_cpu()
    dask1 = cluster_cpu(cluster_pids)
    out["cycle"] = {"seconds": round(wall, 2), "pages_per_s": round(a.articles / wall, 1),
                    "server": delta(after, before), "report": _brief(report),
                    "cpu_main_s": round(cpu1[0] - cpu0[0], 2), "cpu_workers_s": round(cpu1[1] - cpu0[1], 2),
                    "cpu_prefect_server_s": round(prefect1 - prefect0, 2),
                    **({"cpu_cluster_s": {k: round(dask1[k] - dask0[k], 2) for k in dask1}} if cluster_pids else {}),
                    # what the cycle left Prefect's server to do once it had returned: storing the events it
                    # emitted last; counted in the cycle's CPU, not in its wall time
                    "cpu_prefect_server_after_s": round(settled_cpu(prefect1) - prefect1, 2), **rss(watch)}
    if a.repoll:
        before = stats(a.base)
        started = time.perf_counter()
        report = asyncio.run(monitor(**_flow_kwargs(a, db)))
        wall = time.perf_counter() - started
        after = stats(a.base)
        out["repoll"] = {"seconds": round(wall, 2), "server": delta(after, before), "report": _brief(report)}
    out["warehouse"] = warehouse_size(db)
    out.update(rss())
    out["workers_rss_peak_mb"] = max(out["workers_rss_peak_mb"], out["cycle"]["workers_rss_peak_mb"])
    out["prefect_server_cpu_s"] = live_children_cpu()
    return out


def phase_plain(a) -> dict:
    os.environ.update(QUIET)
    if a.lake_db:   # a fresh lake: an empty PostgreSQL database and data directory (orchestrate_lake)
        db, data_path = a.lake_db, a.lake_data
    else:
        db, data_path = fresh_warehouse(Path(a.workdir) / f"plain-{a.set}.duckdb"), None
    preamble = Preamble(a, db, data_path)
    from flows.monitor import cycle
    from dealwatch.warehouse import Warehouse
    kw = _flow_kwargs(a, db)
    warehouse = Warehouse(db)
    preamble.wait()
    before, cpu0, watch = stats(a.base), cpu_now(), WorkerWatch()
    started = time.perf_counter()
    with warehouse.cycle_lock():
        report = asyncio.run(cycle(warehouse, kw["feeds"], kw["notify"], [], None, {}, 10, engine=False))
    wall = time.perf_counter() - started
    after, cpu1 = stats(a.base), cpu_now()
    return {"seconds": round(wall, 2), "pages_per_s": round(a.articles / wall, 1),
            "server": delta(after, before), "report": _brief(report),
            "cpu_main_s": round(cpu1[0] - cpu0[0], 2), "cpu_workers_s": round(cpu1[1] - cpu0[1], 2),
            "cpu_prefect_server_s": 0.0, **rss(watch)}


def phase_shard(a) -> dict:
    """One shard's plain cycle (the shards phase): the preamble, then READY on stdout, then the cycle once a
    line comes on stdin (the orchestrator starts the shards together). The cycle's start and end as epoch
    seconds, for the wall time of all the shards."""
    os.environ.update(QUIET)
    from dealwatch.shards import parse_shard
    shard = parse_shard(a.shard)
    preamble = Preamble(a, a.db, shard=shard)
    from flows.monitor import cycle
    from dealwatch.warehouse import Warehouse
    kw = _flow_kwargs(a, a.db)
    warehouse = Warehouse(a.db)
    preamble.wait()
    print("READY", flush=True)
    sys.stdin.readline()
    cpu0, watch = cpu_now(), WorkerWatch()
    started, wall0 = time.time(), time.perf_counter()
    with warehouse.cycle_lock(shard):
        report = asyncio.run(cycle(warehouse, kw["feeds"], kw["notify"], [], None, {}, 10, engine=False, shard=shard))
    wall, ended, cpu1 = time.perf_counter() - wall0, time.time(), cpu_now()
    return {"shard": str(shard), "started": started, "ended": ended, "seconds": round(wall, 2),
            "report": _brief(report), "cpu_main_s": round(cpu1[0] - cpu0[0], 2),
            "cpu_workers_s": round(cpu1[1] - cpu0[1], 2), **rss(watch)}


def run_shards(a, set_name: str, articles: int, db: str, count: int = 2, timeout: float = 1800) -> dict:
    """The shards phase: `count` shard processes, started together once all are ready; their figures."""
    env = {**os.environ, **QUIET, "PREFECT_HOME": a.prefect_home}
    procs = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--phase", "shard", "--set", set_name,
                               "--articles", str(articles), "--feeds", str(a.feeds), "--base", a.base,
                               "--workdir", a.workdir, "--seed", str(a.seed), "--db", db, "--shard", f"{k}/{count}"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env, cwd=ROOT) for k in range(1, count + 1)]
    try:
        for proc in procs:
            if proc.stdout.readline().strip() != "READY":
                raise SystemExit(f"a shard of the shards phase did not start: {proc.stderr.read()[-4000:]}")
        busy0, _ = cpu_ticks()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                sys.stderr.write(err[-4000:])
                raise SystemExit(f"a shard of the shards phase failed (exit {proc.returncode})")
            results.append(json.loads([l for l in out.splitlines() if l.startswith("PHASE-RESULT ")][-1]
                                      .removeprefix("PHASE-RESULT ")))
        busy1, _ = cpu_ticks()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    from dealwatch.warehouse import Warehouse
    stored = Warehouse(db).query("SELECT count(*), count(DISTINCT url) FROM articles")[1][0]
    ours = sum(r["cpu_main_s"] + r["cpu_workers_s"] for r in results)
    print(f"  shards on {'the lake' if db.startswith('ducklake:') else 'a file'}: done in {wall:.1f} s",
          file=sys.stderr, flush=True)
    return {"seconds": round(wall, 2), "pages_per_s": round(articles / wall, 1), "shards": results,
            "articles_stored": stored[0], "articles_distinct": stored[1],
            "cpu_s": round(ours, 2), "other_load_cores": round(max(0.0, busy1 - busy0 - ours) / wall, 2)}


def shards_phases(a, n: int) -> dict:
    """The shards phase on a lake in a throwaway PostgreSQL, then on a file."""
    sys.path.insert(0, str(ROOT / "tests"))
    from postgres_server import PostgresServer
    from dealwatch.warehouse import Warehouse
    out = {}
    with PostgresServer() as postgres:
        lake = "ducklake:postgres:" + postgres.create_database("bench")
        Warehouse(lake, data_path=Path(a.workdir) / "lake").migrate()
        out["lake"] = run_shards(a, f"n{n}", n, lake)
    out["file"] = run_shards(a, f"n{n}", n, str(fresh_warehouse(Path(a.workdir) / f"shards-n{n}.duckdb")))
    return out


def _brief(report: dict) -> dict:
    keys = ("feeds_polled", "feeds_failed", "items_new", "articles_new", "relevant_new", "facts_new",
            "duplicates", "retry_later", "alerts_new", "alerts_sent")
    return {**{k: report.get(k) for k in keys}, **({"dask": report["dask"]} if report.get("dask") else {})}


# -- the orchestrator -----------------------------------------------------------------------------------

def machine() -> dict:
    import importlib.metadata as md
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    versions = {}
    for pkg in ("trafilatura", "lxml", "prefect", "duckdb", "httpx", "feedparser", "apprise"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "-"
    mem = ""
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GB"
    except (OSError, StopIteration, ValueError):
        pass
    return {"loadavg_at_start": Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "",
            "cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)), "cpu": model, "memory": mem,
            "python": platform.python_version(), "os": f"{platform.system()} {platform.release()}", **versions}


def cpu_ticks() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / hz, sum(fields[:8]) / hz


def run_phase(name: str, a, set_name: str, articles: int, extra: list[str] = (), timeout: float = 1800,
              cluster=None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", name, "--set", set_name,
           "--articles", str(articles), "--feeds", str(a.feeds), "--base", a.base, "--workdir", a.workdir,
           "--seed", str(a.seed), *extra]
    env = {**os.environ, **QUIET, "PREFECT_HOME": a.prefect_home}
    started = time.perf_counter()
    busy0, _ = cpu_ticks()
    server0 = stats(a.base)["cpu_s"]
    pids = [p.pid for p in cluster.procs] if cluster else []   # the scheduler first
    if cluster:
        cmd += ["--cluster-pids", ",".join(map(str, pids))]
    dask0 = cluster_cpu(pids) if cluster else {}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    busy1, _ = cpu_ticks()
    server1 = stats(a.base)["cpu_s"]
    dask1 = cluster_cpu(pids) if cluster else {}
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"benchmark phase {name} failed (exit {proc.returncode})")
    line = [l for l in proc.stdout.splitlines() if l.startswith("PHASE-RESULT ")][-1]
    result = json.loads(line.removeprefix("PHASE-RESULT "))
    result["process_s"] = round(time.perf_counter() - started, 1)
    # CPU the rest of the machine used meanwhile (other people's processes): the figures are only as
    # good as the machine was quiet
    if cluster:   # the cluster's processes work for this phase (and idle in the others: counted as load there)
        result["cpu_cluster_phase_s"] = {k: round(dask1[k] - dask0[k], 2) for k in dask1}
    ours = (result.get("cpu_self_s", 0) + result.get("cpu_children_s", 0) + (server1 - server0)
            + result.get("prefect_server_cpu_s", 0) + sum(result.get("cpu_cluster_phase_s", {}).values()))
    wall = time.perf_counter() - started
    result["other_load_cores"] = round(max(0.0, busy1 - busy0 - ours) / wall, 2)
    result["busy_cores"] = round((busy1 - busy0) / wall, 2)
    print(f"  {name} ({set_name}): done in {result['process_s']} s", file=sys.stderr, flush=True)
    return result


def speed(phase: str, result: dict) -> float:
    """pages/s of a phase's run (the floor's and plain's own figure; a flow's, its cycle's)."""
    return result["cycle"]["pages_per_s"] if phase == "flow" else result["pages_per_s"]


def best_of(results: list[dict], key) -> dict:
    """The fastest run's figures; the first run's figures it lacks (the floor's information lines, taken in
    the first run only) filled in from it."""
    best = max(results, key=key)
    return {**results[0], **best}


def cluster_cpu(pids: list[int]) -> dict:
    """CPU seconds so far of a LocalCluster's processes (pids: its scheduler's, then its nannies'): the
    scheduler, the nannies, their worker processes."""
    import psutil

    def cpu(proc) -> float:
        try:
            t = proc.cpu_times()
            return t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            return 0.0
    out = {"scheduler": 0.0, "nannies": 0.0, "workers": 0.0}
    for n, pid in enumerate(pids):
        try:
            proc = psutil.Process(pid)
            kids = proc.children(recursive=True)
        except psutil.Error:
            continue
        kind = "scheduler" if n == 0 else "nannies"
        out[kind] += cpu(proc)
        out["workers"] += sum(cpu(k) for k in kids)
    return out


@contextmanager
def frozen(local_cluster):
    """The Dask cluster's processes stopped (SIGSTOP) meanwhile: an idle two-worker cluster takes ~0.09 of a
    core (heartbeats, system monitors, nannies' memory checks), which the local pool's runs would otherwise pay
    for a cluster they do not use. Resumed (SIGCONT) after; its heartbeats' time-outs are minutes."""
    groups = [p.pid for p in local_cluster.procs if p.poll() is None] if local_cluster else []
    for pid in groups:
        os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in groups:
            os.killpg(pid, signal.SIGCONT)


def orchestrate(a) -> dict:
    n, f = a.articles, a.feeds
    big = n * 10
    own_tmp = a.workdir is None
    a.workdir = a.workdir or tempfile.mkdtemp(prefix="dealwatch-bench-")
    a.prefect_home = a.prefect_home or str(Path.home() / ".cache" / "dealwatch-bench" / "prefect")
    Path(a.prefect_home).mkdir(parents=True, exist_ok=True)
    a.no_10x = a.no_10x or a.cluster_only
    sets = [f"--set=n{n}:{n}"] + ([] if a.no_10x else [f"--set=n{big}:{big}"])
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, str(HERE / "server.py"), "--feeds", str(f), "--seed", str(a.seed),
                               *sets], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        ready = server.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise SystemExit("the benchmark's news server did not start")
        a.base = f"http://127.0.0.1:{ready[1]}"
        print(f"news server up at {a.base} in {time.perf_counter() - started:.1f} s "
              f"({n}{'' if a.no_10x else f' + {big}'} pages, {f} feeds)", file=sys.stderr, flush=True)
        res: dict = {"machine": machine(), "articles": n, "feeds": f, "repeat": a.repeat}
        # the three measurements interleaved, a.repeat times, each in a fresh process: this machine's speed
        # drifts by tens of percent within a minute, so each figure is the best of its runs (as timeit
        # reports), all of them kept, and the ratio compares bests taken over the same stretch of time
        runs: dict[str, list[dict]] = {"floor": [], "flow": [], "plain": []}
        dask_cluster = None
        if a.cluster or a.cluster_only:
            from dealwatch.cluster import LocalCluster
            dask_cluster = LocalCluster(workers=2, folder=Path(a.workdir) / "dask")
            runs["cluster"] = []
            print(f"local Dask cluster up at {dask_cluster.address} (2 workers, 1 thread each)", file=sys.stderr, flush=True)
        try:
            for i in range(a.repeat):
                if not a.cluster_only:
                    with frozen(dask_cluster):
                        runs["floor"].append(run_phase("floor", a, f"n{n}", n, ["--meta-floor"] if i == 0 else []))
                pair = [("flow", lambda: run_phase("flow", a, f"n{n}", n, [] if a.cluster_only else ["--repoll"]))]
                if dask_cluster:   # local and cluster side by side, in turn first
                    pair.append(("cluster", lambda: run_phase("flow", a, f"n{n}", n, ["--dask", dask_cluster.address],
                                                              cluster=dask_cluster)))
                for name, measure in (pair if i % 2 == 0 else pair[::-1]):
                    with frozen(dask_cluster if name != "cluster" else None):
                        runs[name].append(measure())
                if not a.cluster_only:
                    with frozen(dask_cluster):
                        runs["plain"].append(run_phase("plain", a, f"n{n}", n))
        finally:
            if dask_cluster:
                dask_cluster.close()
        if a.shards:
            res["shards"] = shards_phases(a, n)
        for name, key in (("floor", lambda r: r["pages_per_s"]), ("flow", lambda r: r["cycle"]["pages_per_s"]),
                          ("plain", lambda r: r["pages_per_s"]), ("cluster", lambda r: r["cycle"]["pages_per_s"])):
            if runs.get(name):
                res[name] = best_of(runs[name], key)
        res["runs"] = {name: [speed("flow" if name == "cluster" else name, r) for r in rs] for name, rs in runs.items()}
        if dask_cluster:   # wall time of each round's cluster run over its local run, and of the whole runs
            res["cluster_rounds"] = [{"local_s": l["cycle"]["seconds"], "cluster_s": c["cycle"]["seconds"],
                                      "overhead": round(c["cycle"]["seconds"] / l["cycle"]["seconds"] - 1, 3),
                                      "load_local": l["other_load_cores"], "load_cluster": c["other_load_cores"],
                                      "cpu_local_s": _cycle_cpu(l), "cpu_cluster_s": _cycle_cpu(c)}
                                     for l, c in zip(runs["flow"], runs["cluster"])]
        if not (a.no_10x or a.cluster_only):   # its best of --repeat-10x runs; its peak RSS the highest of them (memory: the worst)
            big_runs = [run_phase("flow", a, f"n{big}", big, timeout=3600) for _ in range(a.repeat_10x)]
            res["flow10x"] = best_of(big_runs, lambda r: r["cycle"]["pages_per_s"])
            for key in ("rss_peak_mb", "workers_rss_peak_mb"):
                res["flow10x"][key] = max(r[key] for r in big_runs)
            res["runs"]["flow10x"] = [speed("flow", r) for r in big_runs]
        res["server_total"] = stats(a.base)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        if own_tmp and not a.keep:
            shutil.rmtree(a.workdir, ignore_errors=True)
    res["total_s"] = round(time.perf_counter() - started, 1)
    return res


def orchestrate_lake(a) -> dict:
    """The plain cycle at N on a file and on a lake, interleaved a.repeat times, each on a fresh warehouse."""
    sys.path.insert(0, str(ROOT / "tests"))
    from postgres_server import PostgresServer
    n, f = a.articles, a.feeds
    a.workdir = tempfile.mkdtemp(prefix="dealwatch-bench-lake-")
    a.prefect_home = a.prefect_home or str(Path.home() / ".cache" / "dealwatch-bench" / "prefect")
    server = subprocess.Popen([sys.executable, str(HERE / "server.py"), "--feeds", str(f), "--seed", str(a.seed),
                               f"--set=n{n}:{n}"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    postgres = None
    try:
        ready = server.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise SystemExit("the benchmark's news server did not start")
        a.base = f"http://127.0.0.1:{ready[1]}"
        if a.lake_conninfo:
            admin = a.lake_conninfo
        else:
            postgres = PostgresServer().start()
            admin = postgres.conninfo()
        import psycopg
        res: dict = {"machine": machine(), "articles": n, "feeds": f, "repeat": a.repeat,
                     "postgres": "--lake-conninfo" if a.lake_conninfo else "a throwaway server on loopback"}
        runs: dict[str, list[dict]] = {"file": [], "lake": []}
        for i in range(a.repeat):
            runs["file"].append(run_phase("plain", a, f"n{n}", n))
            name = f"dealwatch_bench_{os.getpid()}_{i}"
            with psycopg.connect(admin, autocommit=True) as con:
                con.execute(f"CREATE DATABASE {name}")
            try:
                conninfo = psycopg.conninfo.make_conninfo(admin, dbname=name)
                data = Path(a.workdir) / f"lake-{i}"
                runs["lake"].append(run_phase("plain", a, f"n{n}", n, ["--lake-db", f"ducklake:postgres:{conninfo}",
                                                                       "--lake-data", str(data)]))
                shutil.rmtree(data, ignore_errors=True)
            finally:
                with psycopg.connect(admin, autocommit=True) as con:
                    con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        for name, rs in runs.items():
            res[name] = best_of(rs, lambda r: r["pages_per_s"])
        res["runs"] = {name: [r["pages_per_s"] for r in rs] for name, rs in runs.items()}
    finally:
        server.terminate()
        server.wait(timeout=10)
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(a.workdir, ignore_errors=True)
    return res


def render_lake(res: dict) -> str:
    m = res["machine"]
    lines = [f"dealwatch benchmark: the plain cycle on a file and on a DuckLake (catalog in PostgreSQL: "
             f"{res['postgres']}), N={res['articles']} pages, {res['feeds']} feeds, best of {res['repeat']}",
             f"machine: {m['cores_usable']} cores ({m['cpu']}), load at start {m['loadavg_at_start']}, "
             f"duckdb {m['duckdb']}"]
    for name in ("file", "lake"):
        r = res[name]
        lines.append(f"  {name:5} {r['seconds']:7.2f} s  {r['pages_per_s']:7.1f} pages/s   CPU main {r['cpu_main_s']:.2f} s, "
                     f"workers {r['cpu_workers_s']:.2f} s; articles {r['report']['articles_new']}, facts "
                     f"{r['report']['facts_new']}, alerts {r['report']['alerts_new']}; other load "
                     f"{r['other_load_cores']} cores; runs (pages/s): "
                     f"{', '.join(f'{x:.0f}' for x in res['runs'][name])}")
    lines.append(f"  lake/file: {res['lake']['pages_per_s'] / res['file']['pages_per_s']:.2f} of the file's speed")
    return "\n".join(lines)


def _runs(res: dict, phase: str) -> str:
    speeds = res.get("runs", {}).get(phase, [])
    return f"; best of {len(speeds)}: {', '.join(f'{x:.0f}' for x in speeds)}" if len(speeds) > 1 else ""


def _cycle_cpu(run: dict) -> float:
    """CPU seconds of a flow run's cycle in all the processes that did its work: its own, its local workers,
    or the cluster's scheduler, nannies and workers."""
    cyc = run["cycle"]
    return round(cyc["cpu_main_s"] + cyc["cpu_workers_s"] + sum(cyc.get("cpu_cluster_s", {}).values()), 2)


def render_cluster(res: dict) -> list[tuple[str, str]]:
    """The cluster's rows: its best run against the local pool's, and round by round (the spread)."""
    cl, fw, rounds = res.get("cluster"), res.get("flow"), res.get("cluster_rounds", [])
    if not cl:
        return []
    cyc, ccyc = fw["cycle"], cl["cycle"]
    overheads = sorted(r["overhead"] for r in rounds)
    median = overheads[len(overheads) // 2] if len(overheads) % 2 else sum(overheads[len(overheads) // 2 - 1:][:2]) / 2
    cpu = ccyc.get("cpu_cluster_s", {})
    work = ccyc["report"].get("dask", {}).get("workers", {})
    return [
        ("7 flow cycle, CPU work on a local 2-worker Dask cluster", f"{ccyc['pages_per_s']:.1f} pages/s ({ccyc['seconds']} s "
         f"for {ccyc['report']['articles_new']} articles){_runs(res, 'cluster')}"),
        ("  against the local pool, best against best", f"{(ccyc['seconds'] / cyc['seconds'] - 1) * 100:+.1f} % wall time "
         f"({ccyc['seconds']} s against {cyc['seconds']} s)"),
        ("  round by round (cluster / local - 1, each pair side by side)",
         ", ".join(f"{r['overhead'] * 100:+.0f} %" for r in rounds) + f"; median {median * 100:+.0f} %"),
        ("  seconds, local / cluster, by round", ", ".join(f"{r['local_s']}/{r['cluster_s']}" for r in rounds)),
        ("  CPU of the cycle in all its processes, local / cluster, by round",
         ", ".join(f"{r['cpu_local_s']}/{r['cpu_cluster_s']}" for r in rounds if "cpu_local_s" in r)),
        ("  pages judged by each worker (best run)", ", ".join(f"{w}: {v['items']}" for w, v in work.items()) or "-"),
        ("  CPU during the cycle: its process / scheduler / nannies / workers",
         f"{ccyc['cpu_main_s']} s / {cpu.get('scheduler', 0)} s / {cpu.get('nannies', 0)} s / {cpu.get('workers', 0)} s "
         f"(local pool: {cyc['cpu_main_s']} s / workers {cyc['cpu_workers_s']} s)"),
    ]


def render(res: dict) -> tuple[str, str]:
    if "floor" not in res:   # --cluster-only
        rows = render_cluster(res) + [("other processes' CPU meanwhile (cores), by round",
                                       ", ".join(f"{r['load_local']:.2f}/{r['load_cluster']:.2f}"
                                                 for r in res["cluster_rounds"])),
                                      ("benchmark wall time", f"{res['total_s']} s")]
        width = max(len(k) for k, _ in rows)
        each = ", ".join(f"{r['overhead'] * 100:+.0f}%" for r in res["cluster_rounds"])
        best = res["cluster"]["cycle"]["seconds"] / res["flow"]["cycle"]["seconds"] - 1
        return ("\n".join(f"{k.ljust(width)}  {v}" for k, v in rows),
                f"cluster overhead {best:+.1%} best against best; by round {each}")
    m, fl, fw, pl = res["machine"], res["floor"], res["flow"], res["plain"]
    cyc, rep = fw["cycle"], fw.get("repoll")
    n = res["articles"]
    ratio = cyc["pages_per_s"] / fl["pages_per_s"]
    srv = cyc["server"]
    cores = m["cores_usable"]
    floor_ms = 1000 / fl["pages_per_s"]
    prefect_cpu = cyc["cpu_prefect_server_s"] + cyc.get("cpu_prefect_server_after_s", 0)
    cycle_ms = 1000 * (cyc["cpu_main_s"] + cyc["cpu_workers_s"] + prefect_cpu) / n
    cpu_ratio = (cores * 1000 / cycle_ms) / fl["pages_per_s"]
    rows = [
        ("machine", f"{m['cores']} cores ({m['cores_usable']} usable), {m['cpu']}, {m['memory']}, {m['os']}"),
        ("software", f"Python {m['python']}, trafilatura {m['trafilatura']}, lxml {m['lxml']}, prefect {m['prefect']}, "
                     f"duckdb {m['duckdb']}, httpx {m['httpx']}"),
        ("corpus", f"{n} pages ({fl['mean_page_kb']} KB mean), {res['feeds']} feeds, loopback HTTP"),
        ("1 floor: trafilatura.extract, 1 process", f"{fl['pages_per_s']:.1f} pages/s ({fl['seconds']} s){_runs(res, 'floor')}"),
        ("  (extract with_metadata, for information)", f"{fl.get('meta_pages_per_s', '-')} pages/s"),
        ("  (extract fast=True, as dealwatch extracts first, for information)", f"{fl.get('fast_pages_per_s', '-')} pages/s"),
        ("2 flow cycle end to end (monitor)", f"{cyc['pages_per_s']:.1f} pages/s ({cyc['seconds']} s for {n} pages)"
                                              f"{_runs(res, 'flow')}"),
        ("  e2e / floor", f"{ratio:.2f}"),
        ("  articles stored / duplicates / relevant / facts",
         f"{cyc['report']['articles_new']} / {cyc['report']['duplicates']} / {cyc['report']['relevant_new']} / "
         f"{cyc['report']['facts_new']}"),
        ("  requests: feeds / pages / robots",
         f"{srv.get('req_feed', 0):.0f} / {srv.get('req_page', 0):.0f} / {srv.get('req_robots', 0):.0f}"),
        ("  news server CPU during the cycle",
         f"{srv.get('cpu_s', 0):.2f} s = {100 * srv.get('cpu_s', 0) / cyc['seconds']:.1f} % of one core"),
        ("  CPU of the cycle: main / workers / Prefect server (+ after the flow returned) / news server",
         f"{cyc['cpu_main_s']} s / {cyc['cpu_workers_s']} s / {cyc['cpu_prefect_server_s']} s "
         f"(+{cyc.get('cpu_prefect_server_after_s', 0)} s) / {srv.get('cpu_s', 0):.2f} s"),
        ("  CPU per page: floor / cycle (all its processes)", f"{floor_ms:.1f} ms / {cycle_ms:.1f} ms"),
        (f"  e2e / floor if the {cores} cores were all ours (CPU-bound)",
         f"{cpu_ratio:.2f} ({cores * 1000 / cycle_ms:.0f} pages/s)"),
    ]
    if rep:
        rs = rep["server"]
        rows += [("3 unchanged re-poll (flow)",
                  f"{rep['seconds']} s, {rs.get('req_feed', 0) + rs.get('req_page', 0) + rs.get('req_robots', 0):.0f} "
                  f"requests, {rs.get('bytes_in', 0) + rs.get('bytes_out', 0):.0f} bytes"),
                 ("  feeds answered 304 / polled", f"{rs.get('feed_304', 0):.0f} / {rep['report']['feeds_polled']}"),
                 ("  article fetches", f"{rs.get('req_page', 0):.0f}")]
    rows.append(("4 peak RSS, flow cycle at N", f"{fw['rss_peak_mb']:.0f} MB (workers {fw['workers_rss_peak_mb']:.0f} MB)"))
    big = res.get("flow10x")
    if big:
        rows += [(f"  peak RSS, flow cycle at 10 x N = {10 * n}",
                  f"{big['rss_peak_mb']:.0f} MB (workers {big['workers_rss_peak_mb']:.0f} MB), "
                  f"x{big['rss_peak_mb'] / fw['rss_peak_mb']:.2f}"),
                 ("  10 x N cycle", f"{big['cycle']['pages_per_s']:.1f} pages/s ({big['cycle']['seconds']} s), "
                                    f"{big['cycle']['report']['articles_new']} articles, e2e / floor "
                                    f"{big['cycle']['pages_per_s'] / fl['pages_per_s']:.2f}{_runs(res, 'flow10x')}")]
    engine = cyc["seconds"] - pl["seconds"]
    engine_cpu = (cyc["cpu_main_s"] + prefect_cpu) - pl["cpu_main_s"]
    rows += [("5 same cycle without a flow run", f"{pl['pages_per_s']:.1f} pages/s ({pl['seconds']} s; CPU main "
                                                 f"{pl['cpu_main_s']} s, workers {pl['cpu_workers_s']} s){_runs(res, 'plain')}"),
             ("  Prefect engine cost (flow - plain)", f"{engine:+.1f} s wall, {engine_cpu:+.1f} s CPU (main process + "
                                                      f"Prefect server); plus {fw['prefect_startup_s']} s to start "
                                                      f"its temporary server (once per process)"),
             ("  dealwatch run's checks before Prefect starts (once per process, before the cycle)",
              f"{fw.get('preamble_s', '-')} s ({fw.get('preamble_cpu_s', '-')} s CPU: notify URLs, profile, "
              f"warehouse); then the workers' fork server, {fw.get('fork_server_cpu_s', '-')} s CPU on the other core "
              f"(imports, language model, profile) while Prefect starts"),
             ("6 warehouse size", f"{fw['warehouse']['mb_per_1000']:.2f} MB per 1,000 articles "
                                  f"({fw['warehouse']['db_bytes'] / 1e6:.1f} MB for {fw['warehouse']['articles']})")]
    if big:
        rows.append(("  at 10 x N", f"{big['warehouse']['mb_per_1000']:.2f} MB per 1,000 articles"))
    rows += render_cluster(res)
    sh = res.get("shards")
    if sh:
        rows.append(("8 the plain cycle in 2 shards at once (two processes; one run each)", ""))
        for kind, label in (("lake", "on a DuckLake (catalog in PostgreSQL on loopback)"), ("file", "on a file")):
            r = sh[kind]
            parts = ", ".join(f"{x['shard']} {x['seconds']} s ({x['report']['articles_new']} articles)"
                              for x in r["shards"])
            rows.append((f"  {label}", f"{r['pages_per_s']:.1f} pages/s ({r['seconds']} s for {r['articles_distinct']} "
                                       f"articles, {r['articles_stored']} rows; {parts}; other load "
                                       f"{r['other_load_cores']:.2f} cores)"))
        rows.append(("  against the plain cycle of every feed on a file (its best)",
                     f"lake {sh['lake']['seconds'] / pl['seconds'] * 100 - 100:+.0f} % wall time, file "
                     f"{sh['file']['seconds'] / pl['seconds'] * 100 - 100:+.0f} % ({pl['seconds']} s)"))
    loads = ", ".join(f"{k} {res[k]['other_load_cores']:.2f}" for k in ("floor", "flow", "plain", "cluster", "flow10x")
                      if res.get(k))
    rows.append(("other processes' CPU meanwhile (cores)", f"{loads}; load average at start {m['loadavg_at_start']}"))
    rows.append(("benchmark wall time", f"{res['total_s']} s"))
    st = fl.get("stages")
    if st:
        rows.append((f"where a worker's time goes (ms/page, {st['pages']} pages, 1 process)", ""))
        rows += [(f"  {k}", f"{v:.2f}") for k, v in st["ms_per_page"].items()]
    width = max(len(k) for k, _ in rows)
    table = "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
    rss_part = (f"rss {fw['rss_peak_mb']:.0f}->{big['rss_peak_mb']:.0f} MB" if big else f"rss {fw['rss_peak_mb']:.0f} MB")
    repoll = (f"repoll {rep['server'].get('req_page', 0):.0f} fetches {rep['seconds']:.1f} s "
              f"({rep['server'].get('feed_304', 0):.0f}/{rep['report']['feeds_polled']} 304)") if rep else "repoll -"
    summary = (f"e2e/floor {ratio:.2f} (CPU-bound {cpu_ratio:.2f}) | {repoll} | {rss_part} | "
               f"prefect {engine:+.1f} s ({engine_cpu:+.1f} s CPU)")
    return table, summary


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--articles", type=int, default=1000, help="N pages (default 1000, up to 10000)")
    p.add_argument("--feeds", type=int, default=100, help="F feeds (default 100)")
    p.add_argument("--json", metavar="OUT", help="write every figure as JSON here")
    p.add_argument("--no-10x", action="store_true", help="skip the 10 x N memory run")
    p.add_argument("--repeat-10x", type=int, default=2,
                   help="runs of the flow at 10 x N, one after the other; the best is reported (default 2)")
    p.add_argument("--repeat", type=int, default=5,
                   help="runs of the floor, the flow cycle and the plain cycle, interleaved; each figure is the "
                        "best of its runs (default 5)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--workdir", help="where the warehouses go (default: a temporary folder, removed)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument("--prefect-home", help="PREFECT_HOME for the flow runs (default ~/.cache/dealwatch-bench/prefect)")
    p.add_argument("--cluster", action="store_true",
                   help="also the flow with its CPU work on a local two-worker Dask cluster, in each round beside the "
                        "local pool's")
    p.add_argument("--cluster-only", action="store_true",
                   help="only the flow on the local pool and on a local two-worker Dask cluster, --repeat rounds")
    p.add_argument("--shards", action="store_true",
                   help="also the plain cycle in 2 shards at once, on a DuckLake in a throwaway PostgreSQL and on a file")
    p.add_argument("--freshness", action="store_true",
                   help="instead: how soon alerts follow publication, and at how many requests (benchmarks/freshness.py)")
    p.add_argument("--hours", type=float, default=6.0, help="with --freshness: hours of simulated stream (default 6)")
    p.add_argument("--tick", type=float, help="with --freshness: seconds between serve's cycles (default: serve's)")
    p.add_argument("--stream-feeds", type=int, default=100, help="with --freshness: feeds in the stream (default 100)")
    # internal: one phase in this process
    p.add_argument("--phase", choices=["floor", "flow", "plain", "shard"], help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--shard", help=argparse.SUPPRESS)
    p.add_argument("--set", help=argparse.SUPPRESS)
    p.add_argument("--base", help=argparse.SUPPRESS)
    p.add_argument("--repoll", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--meta-floor", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--dask", help=argparse.SUPPRESS)
    p.add_argument("--cluster-pids", help=argparse.SUPPRESS)
    p.add_argument("--stage-pages", type=int, default=200, help=argparse.SUPPRESS)
    p.add_argument("--lake", action="store_true",
                   help="instead: the plain cycle on a file and on a DuckLake on PostgreSQL, side by side")
    p.add_argument("--lake-conninfo", help="with --lake: a PostgreSQL server to use (libpq conninfo of a user "
                   "that may create databases; default: a throwaway server on loopback)")
    p.add_argument("--lake-db", help=argparse.SUPPRESS)
    p.add_argument("--lake-data", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.freshness:
        import freshness
        if not 0 < a.hours <= 48 or not 4 <= a.stream_feeds <= 1000:
            p.error("--hours must be more than 0 and at most 48, --stream-feeds 4..1000")
        return freshness.main(a)
    if a.phase:
        result = {"floor": phase_floor, "flow": phase_flow, "plain": phase_plain, "shard": phase_shard}[a.phase](a)
        print("PHASE-RESULT " + json.dumps(result), flush=True)
        return 0
    if not 1 <= a.articles <= 100_000 or not 1 <= a.feeds <= a.articles:
        p.error("--articles must be 1..100000 and --feeds 1..articles")
    if a.repeat < 1 or a.repeat_10x < 1:
        p.error("--repeat and --repeat-10x must be at least 1")
    if a.lake:
        res = orchestrate_lake(a)
        print(render_lake(res))
        if a.json:
            Path(a.json).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        return 0
    res = orchestrate(a)
    table, summary = render(res)
    res["summary"] = summary
    print(table)
    print(summary)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
