"""Unattended monitoring on a REAL Prefect server (`prefect server start` on a free loopback port, its
database in a temporary PREFECT_HOME, analytics off, no UI: conftest's prefect_server, started once for
the session):

- deployments/prefect.yaml registers with `prefect deploy --all` on a process work pool; emitting
  dealwatch.bidder.new makes the server's automation start deliver-alerts, which a process worker runs:
  the outbox's alert reaches the webhook, its URL read from the config at run time (a ${VAR} set only in
  the worker's environment), never stored in Prefect;
- `dealwatch serve --interval 5` runs scheduled cycles against the sample news site and stops on SIGTERM
  with exit status 0, pausing its deployments.

Every subprocess runs in its own process group and is killed in a finally.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import httpx
import pytest

from deployments.serve import (DEFAULT_CRON, DELIVER_EVENTS, build_deployments, check_schedule,
                               run_parameters, stop_process_group)
from waiting import wait_for

pytestmark = pytest.mark.prefect
ROOT = Path(__file__).resolve().parents[1]


# -- the server and helpers -----------------------------------------------------------------------

def client_env(server, **extra) -> dict:
    """The environment of a Prefect client process talking to the test server (never the harness's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": server.api_url, "PREFECT_HOME": str(server.home), "DO_NOT_TRACK": "1",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING",
                # serve's runner and a worker look for scheduled runs every second (Prefect's default: 10 s)
                "PREFECT_RUNNER_POLL_FREQUENCY": "1", "PREFECT_WORKER_QUERY_SECONDS": "1"})
    env.update(extra)
    return env


def prefect_cli(server, *args, env_extra=None, timeout=120) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "prefect", *args], cwd=ROOT,
                            env=client_env(server, **(env_extra or {})), capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"prefect {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def deployment(server, flow_name: str, name: str) -> dict:
    answer = server.api.get(f"/deployments/name/{flow_name}/{name}")
    answer.raise_for_status()
    return answer.json()


@pytest.fixture(autouse=True)
def _no_deployments_from_other_tests(request):
    """The session's Prefect server is shared (conftest's prefect_server). A test's deployments must not reach
    the next test: a run of the monitor deployment that a test leaves RUNNING holds the deployment's
    concurrency slot (limit 1, CANCEL_NEW), and every scheduled run of the next test's `serve` would then be
    cancelled. Each test that uses the server starts and ends with no deployment on it."""
    def delete_all():
        server = request.getfixturevalue("prefect_server")
        found = wait_for("the Prefect server to list its deployments", lambda: _deployments(server), 60)
        for deployment_id in found["ids"]:
            # (a deployment already gone is fine: 404; a slow answer under load is asked again)
            wait_for(f"the Prefect server to delete deployment {deployment_id}",
                     lambda: server.api.delete(f"/deployments/{deployment_id}").status_code in (200, 204, 404), 60)
    if "prefect_server" in request.fixturenames:
        delete_all()
    yield
    if "prefect_server" in request.fixturenames:
        delete_all()


def _deployments(server) -> dict | None:
    """{"ids": [...]} of every deployment on the server (None when it did not answer 200: ask again)."""
    answer = server.api.post("/deployments/filter", json={"limit": 200})
    return {"ids": [d["id"] for d in answer.json()]} if answer.status_code == 200 else None


def flow_runs(server, deployment_id: str) -> list[dict]:
    answer = server.api.post("/flow_runs/filter", json={"deployments": {"id": {"any_": [deployment_id]}},
                                                        "sort": "EXPECTED_START_TIME_ASC", "limit": 50})
    answer.raise_for_status()
    return answer.json()


def emit(server, event: str, resource_id: str) -> None:
    """emit_event in a process of its own, as a cycle does (this test process talks to the harness)."""
    code = ("from prefect.events import emit_event\n"
            f"assert emit_event(event={event!r}, resource={{'prefect.resource.id': {resource_id!r}}})")
    subprocess.run([sys.executable, "-c", code], env=client_env(server), check=True, timeout=60,
                   capture_output=True, stdin=subprocess.DEVNULL)


def write_config(path: Path, feeds: list[str], warehouse: Path, notify: list[str]) -> Path:
    path.write_text(f"feeds = {json.dumps(feeds)}\n\n[warehouse]\npath = {json.dumps(str(warehouse))}\n\n"
                    f"[notify]\nurls = {json.dumps(notify)}\n", encoding="utf-8")
    return path


def seed_alert(db: Path) -> None:
    """One stored article with one new bidder: one alert in the outbox, as a cycle would leave it."""
    from dealwatch.model import Article, Fact, FeedItem, Judgment, Relevance
    from dealwatch.warehouse import ItemOutcome, Warehouse
    warehouse = Warehouse(db)
    warehouse.migrate()
    item = FeedItem(feed_url="http://127.0.0.1/feed.xml", link="http://127.0.0.1/a/testco.html", title="Testco bids")
    article = Article(url=item.link, title=item.title, text="Testco made a bid for TikTok's US business.",
                      lang="en", published=date.today(), source="Test", text_source="feed")
    judgment = Judgment(Relevance(True, 1.0, reason="test"),
                        (Fact("bidder", "Testco", "Testco made a bid for TikTok's US business."),))
    stored = warehouse.store_outcomes([ItemOutcome(item=item, article=article, judgment=judgment)])
    assert len(stored.alerts_new) == 1


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


# -- no server needed -----------------------------------------------------------------------------

def test_python_definitions_hold_the_config_path_not_its_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("DW_TEST_TOKEN", "s3cret-token")
    config = write_config(tmp_path / "dealwatch.toml", ["https://example.org/feed.xml"], tmp_path / "w.duckdb",
                          ["json://example.org/hook?token=${DW_TEST_TOKEN}"])
    params = run_parameters(config)
    assert params == {"config": str(config.resolve())}
    monitor, shard, deliver, backfill = build_deployments(params)
    assert "s3cret" not in json.dumps([d.parameters for d in (monitor, shard, deliver, backfill)])
    assert (shard.name, shard.parameters, shard.schedules) == ("shard", params, [])
    assert monitor.entrypoint == "flows.monitor.monitor"
    assert [s.schedule.cron for s in monitor.schedules] == [DEFAULT_CRON]
    assert (monitor.concurrency_limit, monitor.concurrency_options.collision_strategy.value) == (1, "CANCEL_NEW")
    [trigger] = deliver.triggers
    assert set(trigger.expect) == set(DELIVER_EVENTS) and deliver.parameters == params
    assert backfill.parameters == params and not backfill.schedules
    # without a config file: the warehouse and the feeds, absolute; --db and --feed override
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")   # no ./dealwatch.toml here
    plain = run_parameters(None, db="x.duckdb", feeds=["https://example.org/f.xml"])
    assert plain == {"db": str(Path("x.duckdb").resolve()), "feeds": ["https://example.org/f.xml"]}
    assert check_schedule(None, 5)["interval"].total_seconds() == 5
    with pytest.raises(ValueError, match="not a cron expression"):
        check_schedule("every five minutes", None)


def test_serve_usage_errors_are_one_line(tmp_path):
    for args, message in ((["--cron", "bad cron"], "not a cron expression"),
                          (["--interval", "0"], "at least 1"),
                          (["--shards", "0"], "--shards 0: give the number of shards"),
                          (["--feed", "ftp://x"], "not an http(s) URL")):
        result = subprocess.run([sys.executable, "-m", "dealwatch", "serve", "--db", str(tmp_path / "w.duckdb"), *args],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path, stdin=subprocess.DEVNULL)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


# -- on the real server ---------------------------------------------------------------------------

def test_prefect_yaml_deploys_and_an_event_triggers_delivery(prefect_server, sample_news, tmp_path):
    server = prefect_server
    db = tmp_path / "w.duckdb"
    notify = sample_news.notify_url.removesuffix("/notify") + "/${DW_TEST_NOTIFY_PATH}"
    config = write_config(tmp_path / "dealwatch.toml", sample_news.feed_urls(), db, [notify])
    prefect_cli(server, "work-pool", "create", "dealwatch", "--type", "process")
    prefect_cli(server, "--no-prompt", "deploy", "--all", "--prefect-file", "deployments/prefect.yaml",
                env_extra={"DEALWATCH_CONFIG": str(config)})

    monitor = deployment(server, "dealwatch-monitor", "monitor")
    deliver = deployment(server, "dealwatch-deliver-alerts", "deliver-alerts")
    backfill = deployment(server, "dealwatch-backfill", "backfill")
    assert [d["entrypoint"] for d in (monitor, deliver, backfill)] == [
        "flows/monitor.py:monitor", "flows/deliver.py:deliver", "flows/backfill.py:backfill"]
    assert all(d["parameters"] == {"config": str(config)} for d in (monitor, deliver, backfill))
    assert all(d["work_pool_name"] == "dealwatch" for d in (monitor, deliver, backfill))
    assert [s["schedule"]["cron"] for s in monitor["schedules"]] == ["*/15 * * * *"]
    assert monitor["global_concurrency_limit"]["limit"] == 1
    assert monitor["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
    automations = server.api.post("/automations/filter", json={}).json()
    [trigger] = [a["trigger"] for a in automations
                 if any(act.get("deployment_id") == deliver["id"] for act in a["actions"])]
    assert set(trigger["expect"]) == set(DELIVER_EVENTS)

    # an alert waits in the outbox; a new-bidder event starts deliver-alerts on the server's own
    seed_alert(db)
    emit(server, "dealwatch.bidder.new", "dealwatch.bidder.Testco")
    [run] = wait_for("a deliver-alerts run started by the event", lambda: flow_runs(server, deliver["id"]), 60)
    assert run["parameters"] == {"config": str(config)}
    # a process worker runs it; the notification URL's ${VAR} exists only in the worker's environment
    worker = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", "dealwatch"],
                              cwd=tmp_path, env=client_env(server, DW_TEST_NOTIFY_PATH="notify"),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        done = wait_for("the deliver-alerts run to complete", lambda: [
            r for r in flow_runs(server, deliver["id"]) if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")], 90)
        assert done[0]["state_type"] == "COMPLETED", done[0]["state"]
    finally:
        stop_process_group(worker, grace=10)
        output = worker.stdout.read().decode(errors="replace")
    assert any("Testco" in n["title"] for n in sample_news.notifications), output[-2000:]
    assert rows(db, "SELECT status FROM alerts") == [("sent",)]
    assert "DW_TEST_NOTIFY_PATH" not in json.dumps(run) and "/notify" not in json.dumps(run)


def test_serve_runs_scheduled_cycles_and_stops_on_sigterm(prefect_server, sample_news, tmp_path):
    server = prefect_server
    db = tmp_path / "w.duckdb"
    config = write_config(tmp_path / "dealwatch.toml", sample_news.feed_urls(), db, [sample_news.notify_url])
    serve = start_serve(server, config, tmp_path)
    try:
        monitor = wait_for("dealwatch serve to register the monitor deployment", lambda: _served(server), 60)
        assert monitor["parameters"] == {"config": str(config)}
        assert [s["schedule"]["interval"] for s in monitor["schedules"]] == [5.0]
        completed = wait_for("a scheduled cycle to complete", lambda: [
            r for r in flow_runs(server, monitor["id"]) if r["state_type"] == "COMPLETED"], 120)
        assert completed[0]["auto_scheduled"]
        # the cycle's alerts reached the webhook, in one digest (the backlog is over the threshold)
        assert rows(db, "SELECT count(*) FROM runs WHERE status = 'completed'")[0][0] >= 1
        assert rows(db, "SELECT count(*) FROM alerts WHERE status <> 'sent'") == [(0,)]
        assert len(sample_news.notifications) >= 1
        status, stopped_in, output = stop_serve(serve)
    finally:
        stop_process_group(serve, grace=5)
    print(f"serve stopped {stopped_in:.1f} s after SIGTERM")
    assert status == 0, output[-3000:]
    assert stopped_in < 10, f"took {stopped_in:.1f} s to stop"
    assert "dealwatch serve: stopped" in output and "Traceback" not in output, output[-3000:]
    assert deployment(server, "dealwatch-monitor", "monitor")["paused"], "serve pauses its schedule when it stops"


def test_serve_with_a_dask_scheduler_judges_its_scheduled_cycles_pages_on_the_clusters_workers(prefect_server,
                                                                                               tmp_path):
    """`dealwatch serve --dask ADDRESS` against a real two-worker cluster (dealwatch.cluster.LocalCluster) and
    the harness's dev corpus (48 pages: enough for the pages to go out in chunks): its scheduled cycle sends
    every page to the cluster's workers, and the run's artifact names which worker judged how many."""
    from dealwatch.cluster import LocalCluster
    from paths import DEV_CORPUS, corpus_server_class

    server = prefect_server
    db = tmp_path / "w.duckdb"
    with corpus_server_class()(DEV_CORPUS) as corpus:
        corpus.set_phase(2)   # all 48 articles at once
        dask_cluster = LocalCluster(workers=2, folder=tmp_path / "dask")
        try:
            before = dask_cluster.executed()
            config = write_config(tmp_path / "dealwatch.toml", corpus.feed_urls(), db, [])
            serve = subprocess.Popen([sys.executable, "-m", "dealwatch", "serve", "--config", str(config),
                                      "--interval", "5", "--dask", dask_cluster.address], cwd=tmp_path,
                                     env=client_env(server), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                def ours():   # the module's server may hold this deployment from another test: this serve's
                    found = _served(server)
                    return found if found and found["parameters"].get("config") == str(config) else None
                monitor = wait_for("dealwatch serve to register the monitor deployment", ours, 60)
                assert monitor["parameters"]["dask_scheduler"] == dask_cluster.address
                completed = wait_for("a scheduled cycle to complete", lambda: [
                    r for r in flow_runs(server, monitor["id"])
                    if r["state_type"] == "COMPLETED" and r["parameters"].get("config") == str(config)], 120)
                status, _, output = stop_serve(serve)
            finally:
                stop_process_group(serve, grace=5)
            ran = dask_cluster.executed() - before
        finally:
            dask_cluster.close()
    assert status == 0 and "Traceback" not in output, output[-3000:]
    assert completed[0]["auto_scheduled"]
    answer = server.api.post("/artifacts/filter", json={"artifacts": {"key": {"any_": ["dealwatch-cycle"]},
                                                                      "flow_run_id": {"any_": [completed[0]["id"]]}}})
    answer.raise_for_status()
    report = answer.json()[0]["data"]
    assert f"Judged on the Dask cluster at {dask_cluster.address}" in report, report
    judged = {name: int(pages) for name, pages in re.findall(r"^- (w\d): (\d+) pages in", report, re.M)}
    assert judged and set(judged) <= {"w0", "w1"} and sum(judged.values()) == 48, report   # every page, once
    assert ran >= 2, ran   # the chunks ran on the cluster (the record is not the cycle's own say-so)
    assert rows(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(48, 48)]
    assert rows(db, "SELECT status FROM runs ORDER BY started_at")[0] == ("completed",)


def test_serve_stopped_mid_cycle_stops_it_cleanly_and_the_next_cycle_completes_it(prefect_server, sample_news,
                                                                                    tmp_path):
    """SIGTERM to serve (to it alone, as systemd's KillMode=mixed does) while its cycle waits on a hung page:
    the cycle stops where it is (no worker process left behind, its run row 'interrupted', its flow run not
    left RUNNING to hold the deployment's slot), serve exits 0 within 10 s, and the next cycle does the rest:
    every article once, every alert once."""
    server = prefect_server
    db = tmp_path / "w.duckdb"
    hung = "/a/de-amazon-last-minute-gebot.html"
    sample_news.delays[hung] = 120
    config = write_config(tmp_path / "dealwatch.toml", sample_news.feed_urls(), db, [sample_news.notify_url])
    serve = start_serve(server, config, tmp_path)
    try:
        wait_for("the served cycle to reach the hung page", lambda: sample_news.hits.get(hung), 150, every=0.2)
        status, stopped_in, output = stop_serve(serve)
        left = process_group(serve.pid)
    finally:
        stop_process_group(serve, grace=5)
        sample_news.delays.clear()
    print(f"serve stopped {stopped_in:.1f} s after SIGTERM")
    assert status == 0, output[-3000:]
    assert stopped_in < 10, f"took {stopped_in:.1f} s to stop:\n{output[-3000:]}"
    assert left == [], f"processes left behind: {left}\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert rows(db, "SELECT status FROM runs") == [("interrupted",)]
    monitor = deployment(server, "dealwatch-monitor", "monitor")
    states = {r["state_type"] for r in flow_runs(server, monitor["id"]) if r["start_time"]}
    assert "RUNNING" not in states and "CRASHED" in states, states

    next_cycle_completes_the_work(server, sample_news, db, tmp_path)


@pytest.mark.parametrize("stage", ["poll", "delivery"])
def test_a_cycle_stopped_by_sigterm_at_any_stage_is_completed_by_the_next(stage, prefect_server, sample_news,
                                                                           tmp_path):
    """SIGTERM to `dealwatch run` (the same flow as serve's runs) while it polls a hung feed or delivers to a
    hung webhook: it stops within seconds and the next cycle completes the work, nothing lost, nothing twice
    (the stop at the batch is the serve test above)."""
    db = tmp_path / "w.duckdb"
    hung = {"poll": "/feeds/" + sample_news.feeds[0] + ".xml", "delivery": "/notify"}[stage]
    sample_news.delays[hung] = 120
    args = [sys.executable, "-m", "dealwatch", "run", "--db", str(db), "--notify", sample_news.notify_url,
            *[arg for url in sample_news.feed_urls() for arg in ("--feed", url)]]
    cycle = subprocess.Popen(args, cwd=tmp_path, env=client_env(prefect_server), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(f"the cycle to reach the hung {stage}", lambda: sample_news.hits.get(hung), 150, every=0.2)
        status, stopped_in, output = stop_serve(cycle)
        print(f"dealwatch run stopped {stopped_in:.1f} s after SIGTERM at the {stage}")
        left = process_group(cycle.pid)
    finally:
        stop_process_group(cycle, grace=5)
        sample_news.delays.clear()
    # 143: SIGTERM reached the cycle between two stages (the command line says so); -15: inside a task, where
    # Prefect's SIGTERM bridge re-raises the signal once the flow run has stopped. Either way, no traceback.
    assert status in (143, -signal.SIGTERM) and stopped_in < 10, (
        f"status {status}, took {stopped_in:.1f} s to stop:\n{output[-3000:]}")
    assert "Traceback" not in output, output[-3000:]
    assert left == [], f"processes left behind: {left}"
    assert rows(db, "SELECT status FROM runs") == [("interrupted",)]
    assert rows(db, "SELECT count(*) FROM alerts WHERE status = 'sending'") == [(0,)]   # claims given back
    next_cycle_completes_the_work(prefect_server, sample_news, db, tmp_path)


def start_serve(server, config: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dealwatch", "serve", "--config", str(config), "--interval", "5"],
                            cwd=cwd, env=client_env(server), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def stop_serve(process: subprocess.Popen) -> tuple[int | None, float, str]:
    """SIGTERM to the process alone; (exit status, seconds it took to exit, its output)."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        status = None
    stopped_in = time.monotonic() - started
    if status is None:
        stop_process_group(process, grace=5)
    return status, stopped_in, process.stdout.read().decode(errors="replace")


def process_group(pgid: int) -> list[str]:
    """The live processes still in a process group, a moment after its leader exited (worker processes left
    behind). Zombies are dead: whether they are reaped at once depends on the machine's init, not on us."""
    time.sleep(0.5)
    found = subprocess.run(["ps", "-e", "-o", "pgid=,stat=,pid=,args="], capture_output=True, text=True).stdout
    return [line.strip() for line in found.splitlines()
            if line.split() and line.split()[0] == str(pgid) and not line.split()[1].startswith("Z")]


def next_cycle_completes_the_work(server, sample_news, db: Path, cwd: Path) -> None:
    """A cycle after the stopped one: every listed article stored once, every alert delivered exactly once."""
    args = [sys.executable, "-m", "dealwatch", "run", "--db", str(db), "--notify", sample_news.notify_url,
            *[arg for url in sample_news.feed_urls() for arg in ("--feed", url)]]
    result = subprocess.run(args, cwd=cwd, env=client_env(server), capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert rows(db, "SELECT status FROM runs ORDER BY started_at")[-1] == ("completed",)
    listed = [a for a in sample_news.articles if a.get("phase", 1) == 1]
    assert rows(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(len(listed), len(listed))]
    assert rows(db, "SELECT count(*) FROM feed_items WHERE status <> 'done'") == [(0,)]
    alerts = rows(db, "SELECT value, status FROM alerts")
    assert alerts and {status for _, status in alerts} == {"sent"}
    titles = [note["title"] for note in sample_news.notifications]
    # one notification per alert, or one digest for all of them: either way nothing twice
    assert len(titles) in (1, len(alerts)), titles
    if len(titles) == len(alerts):
        for value, _ in alerts:
            assert sum(value in title for title in titles) == 1, value


def _served(server) -> dict | None:
    """The monitor deployment once `dealwatch serve` has applied it (its interval schedule)."""
    try:
        found = deployment(server, "dealwatch-monitor", "monitor")
    except httpx.HTTPStatusError:
        return None
    return found if any(s["schedule"].get("interval") for s in found["schedules"]) else None


def test_serve_by_default_runs_short_cycles_of_the_due_feeds(prefect_server, sample_news, tmp_path):
    """`dealwatch serve` without --cron/--interval: the monitor deployment every --tick seconds with only_due;
    its runs poll each feed once, then only when it is due (the sample feeds: not within the minute)."""
    server = prefect_server
    db = tmp_path / "w.duckdb"
    config = write_config(tmp_path / "dealwatch.toml", sample_news.feed_urls(), db, [sample_news.notify_url])
    serve = subprocess.Popen([sys.executable, "-m", "dealwatch", "serve", "--config", str(config), "--tick", "5"],
                             cwd=tmp_path, env=client_env(server), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        def ours():   # the module's server may hold this deployment from another test: wait for this serve's
            found = _served(server)
            return found if found and found["parameters"].get("config") == str(config) else None
        monitor = wait_for("dealwatch serve to register the monitor deployment", ours, 60)
        assert monitor["parameters"] == {"config": str(config), "only_due": True, "tick": 5.0}
        completed = wait_for("two scheduled cycles to complete", lambda: (lambda done: done if len(done) >= 2 else None)(
            [r for r in flow_runs(server, monitor["id"])
             if r["state_type"] == "COMPLETED" and r["parameters"].get("config") == str(config)]), 300)
        assert len(completed) >= 2
    finally:
        stop_process_group(serve, grace=10)
    polled = rows(db, "SELECT feeds_polled FROM runs WHERE status = 'completed' ORDER BY started_at")
    assert polled[0][0] == len(sample_news.feed_urls()) and all(n == 0 for (n,) in polled[1:]), polled
    assert rows(db, "SELECT count(*) FROM feeds WHERE due_at IS NULL OR due_reason IS NULL") == [(0,)]
