"""The setup for several machines (docs/scale-out.md), on one: a REAL Prefect server whose own database is a
real PostgreSQL (tests/postgres_server.py; PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://...),
deployments/prefect.yaml deployed on a process work pool, a process worker, and a config with
`[scale] shards = 2`, its warehouse a DuckLake on the same PostgreSQL server (another database): one monitor
run starts the two shard runs at once on the pool, which create the lake, store every article once and
notify every alert once. One Prefect server start for the module (seconds)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from deployments.serve import local_prefect_server, stop_process_group
from test_deployments import client_env, deployment, flow_runs, prefect_cli
from test_shards import rows
from test_shards import news_in_two_shards  # noqa: F401 (a fixture)
from waiting import wait_for

pytestmark = pytest.mark.prefect


def prefect_database_url(postgres_server, name: str) -> str:
    """A fresh PostgreSQL database, as the SQLAlchemy URL Prefect's server takes (asyncpg: installed with
    prefect)."""
    postgres_server.create_database(name)
    return f"postgresql+asyncpg://postgres@127.0.0.1:{postgres_server.port}/{name}"


@pytest.fixture(scope="module")
def prefect_on_postgres(postgres_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    env = {"PREFECT_HOME": str(home), "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
           "PREFECT_API_DATABASE_CONNECTION_URL": prefect_database_url(postgres_server, "prefect")}
    with local_prefect_server(log_path=home / "server.log", env=env, timeout=150) as api_url:
        yield SimpleNamespace(api_url=api_url, home=home, api=httpx.Client(base_url=api_url, timeout=15),
                              database=postgres_server.conninfo("prefect"), postgres=postgres_server)


def test_a_sharded_cycle_on_the_work_pool_with_prefect_on_postgresql(prefect_on_postgres, news_in_two_shards,
                                                                    tmp_path):
    server, news = prefect_on_postgres, news_in_two_shards
    db = "ducklake:postgres:" + server.postgres.create_database()   # a new lake: the first shard run creates it
    config = tmp_path / "dealwatch.toml"
    config.write_text(f"feeds = {json.dumps(news.feed_urls())}\n\n[warehouse]\npath = {json.dumps(db)}\n"
                      f"data_path = {json.dumps(str(tmp_path / 'lake'))}\n\n"
                      f"[notify]\nurls = {json.dumps([news.notify_url])}\ndigest_threshold = 1000\n\n"
                      f"[scale]\nshards = 2\n", encoding="utf-8")
    prefect_cli(server, "work-pool", "create", "dealwatch", "--type", "process")
    prefect_cli(server, "--no-prompt", "deploy", "--all", "--prefect-file", "deployments/prefect.yaml",
                env_extra={"DEALWATCH_CONFIG": str(config)})
    monitor = deployment(server, "dealwatch-monitor", "monitor")
    shard = deployment(server, "dealwatch-monitor", "shard")
    assert shard["parameters"] == {"config": str(config)} and not shard["schedules"]
    for schedule in monitor["schedules"]:   # no quarter-hour run in the middle of the test
        server.api.patch(f"/deployments/{monitor['id']}/schedules/{schedule['id']}",
                         json={"active": False}).raise_for_status()
    for run in flow_runs(server, monitor["id"]):   # nor one the scheduler had planned already
        server.api.delete(f"/flow_runs/{run['id']}").raise_for_status()

    prefect_cli(server, "deployment", "run", "dealwatch-monitor/monitor")
    worker = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", "dealwatch"],
                              cwd=tmp_path, env=client_env(server), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        [parent] = wait_for("the monitor run to end", lambda: [
            r for r in flow_runs(server, monitor["id"]) if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")],
            300)
        shards = flow_runs(server, shard["id"])
    finally:
        stop_process_group(worker, grace=10)
        output = worker.stdout.read().decode(errors="replace")
    assert parent["state_type"] == "COMPLETED", f"{parent['state']}\n{output[-3000:]}"
    # two shard runs, started by the monitor run (as its subflows), each with its shard, both completed
    assert sorted(r["parameters"].get("shard") for r in shards) == ["1/2", "2/2"], shards
    assert {r["state_type"] for r in shards} == {"COMPLETED"}
    assert all(r["parent_task_run_id"] for r in shards)
    started = sorted(r["start_time"] for r in shards)
    ended = sorted(r["end_time"] for r in shards)
    assert started[1] < ended[0], "the shard runs ran at the same time"

    # the warehouse: each shard's run row, every listed article once, every alert notified once
    assert sorted(rows(db, "SELECT run_id, shard_index, shard_count, status FROM runs")) == sorted(
        (r["id"], int(r["parameters"]["shard"][0]), 2, "completed") for r in shards)
    listed = [a for a in news.articles if a.get("phase", 1) == 1]
    assert rows(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(len(listed), len(listed))]
    assert rows(db, "SELECT count(*) FROM feed_items WHERE status <> 'done'") == [(0,)]
    alerts = [v for (v,) in rows(db, "SELECT value FROM alerts")]
    assert alerts and rows(db, "SELECT DISTINCT status FROM alerts") == [("sent",)]
    titles = [n["title"] for n in news.notifications]
    assert len(titles) == len(alerts) and all(any(v in t for t in titles) for v in alerts), (titles, alerts)

    # and Prefect kept all of it in PostgreSQL
    assert server.postgres.psql(server.database, "SELECT count(*) FROM flow_run WHERE start_time IS NOT NULL "
                                "AND state_type = 'COMPLETED'").strip() == "3"
    assert server.postgres.psql(server.database, "SELECT count(*) FROM deployment").strip() == "4"
