"""Unattended monitoring on a REAL Prefect server (`prefect server start` on a free loopback port, its
database in a temporary PREFECT_HOME, analytics off, no UI), started once for this module:

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
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import httpx
import pytest

from deployments.serve import (DEFAULT_CRON, DELIVER_EVENTS, build_deployments, check_schedule, local_prefect_server,
                               run_parameters, stop_process_group)
from waiting import wait_for

pytestmark = pytest.mark.prefect
ROOT = Path(__file__).resolve().parents[1]


# -- the server and helpers -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    env = {"PREFECT_HOME": str(home), "PREFECT_SERVER_LOGGING_LEVEL": "WARNING"}
    with local_prefect_server(log_path=home / "server.log", env=env, timeout=150) as api_url:
        yield SimpleNamespace(api_url=api_url, home=home, api=httpx.Client(base_url=api_url, timeout=15))


def client_env(server, **extra) -> dict:
    """The environment of a Prefect client process talking to the test server (never the harness's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": server.api_url, "PREFECT_HOME": str(server.home), "DO_NOT_TRACK": "1",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"})
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
    monitor, deliver, backfill = build_deployments(params)
    assert "s3cret" not in json.dumps([d.parameters for d in (monitor, deliver, backfill)])
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
    serve = subprocess.Popen([sys.executable, "-m", "dealwatch", "serve", "--config", str(config), "--interval", "5"],
                             cwd=tmp_path, env=client_env(server), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
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

        started = time.monotonic()
        serve.send_signal(signal.SIGTERM)
        status = serve.wait(timeout=30)
        stopped_in = time.monotonic() - started
    finally:
        stop_process_group(serve, grace=5)
    output = serve.stdout.read().decode(errors="replace")
    assert status == 0, output[-3000:]
    assert stopped_in < 15, f"took {stopped_in:.1f} s to stop"
    assert "dealwatch serve: stopped" in output and "Traceback" not in output, output[-3000:]
    assert deployment(server, "dealwatch-monitor", "monitor")["paused"], "serve pauses its schedule when it stops"


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
