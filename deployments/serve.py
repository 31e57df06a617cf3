"""dealwatch's three deployments, built in Python for `dealwatch serve` (deployments/prefect.yaml declares
the same three for `prefect deploy` and a process work pool):

    dealwatch-monitor/monitor                  `dealwatch serve`: a short cycle every minute (--tick) that
                                               polls only the feeds due by their own clock (dealwatch.schedule);
                                               or, with --cron / --interval, a fixed schedule polling every
                                               feed (prefect.yaml: every 15 minutes). At most one at a time: a
                                               run due while one still runs is cancelled
    dealwatch-deliver-alerts/deliver-alerts    triggered by the dealwatch.bidder.new / dealwatch.deadline.new
                                               events a cycle emits for each new fact (at most one run a
                                               minute: the cycle delivers whatever is left at its end)
    dealwatch-backfill/backfill                on demand: prefect deployment run dealwatch-backfill/backfill
                                               --param source=/path/to/urls.txt

Secrets never reach Prefect's database: a deployment's parameters hold the PATH of the config file, and
each run reads it (resolving ${ENV} references) in its own process; a SecretStr parameter would be stored
as '**********' and the URL lost (measured). Without a config file the parameters are the warehouse path
and the feed list, neither secret.

Prefect's temporary server runs no scheduler (measured: no scheduled run of an interval deployment in a
minute) and `serve` needs one, so without PREFECT_API_URL `dealwatch serve` starts `prefect server start`
on 127.0.0.1 (a free port, analytics off, no UI; its database under PREFECT_HOME) for as long as it runs.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

DEFAULT_CRON = "*/15 * * * *"   # the fixed schedule (prefect.yaml, build_deployments without a tick)
DEFAULT_TICK = 60.0             # seconds between `dealwatch serve`'s short cycles: a feed due by its own clock
                                # waits at most this long for the next one (30 s on average)
DELIVER_EVENTS = ("dealwatch.bidder.new", "dealwatch.deadline.new")
DELIVER_DEBOUNCE = timedelta(seconds=60)
SERVER_START_TIMEOUT = 180.0


def deliver_trigger():
    """Run deliver-alerts when a cycle emits a new-fact event: at once for the first, then at most once
    a minute (events within the minute are ignored, the cycle's own delivery sends what is left)."""
    from prefect.events import DeploymentEventTrigger
    return DeploymentEventTrigger(name="dealwatch: a new bidder or deadline", expect=set(DELIVER_EVENTS),
                                  match={"prefect.resource.id": "dealwatch.*"}, posture="Reactive",
                                  threshold=1, within=DELIVER_DEBOUNCE)


def check_schedule(cron: str | None, interval: float | None, tick: float | None = None) -> dict:
    """The monitor's schedule as to_deployment arguments; ValueError with a readable message if invalid.
    tick: the short cycles of the feeds' own clocks, every `tick` seconds."""
    if tick is not None:
        if tick < 1:
            raise ValueError(f"--tick {tick:g}: give a number of seconds, at least 1")
        return {"interval": timedelta(seconds=tick)}
    if interval is not None:
        if interval < 1:
            raise ValueError(f"--interval {interval:g}: give a number of seconds, at least 1")
        return {"interval": timedelta(seconds=interval)}
    from prefect.client.schemas.schedules import CronSchedule
    cron = cron or DEFAULT_CRON
    try:
        CronSchedule(cron=cron)
    except ValueError:
        raise ValueError(f"--cron {cron!r} is not a cron expression (five fields, e.g. '*/15 * * * *')") from None
    return {"cron": cron}


def run_parameters(config: str | Path | None = None, db: str | Path | None = None,
                   feeds: Sequence[str] | None = None) -> dict:
    """The deployments' parameters: the config file's absolute path (read by every run), or without one
    the warehouse and the bundled feed list; --db and --feed override. Loading the config here checks it
    (and that its ${ENV} variables are set) before anything is deployed; ConfigError if not."""
    from dealwatch.config import load_config
    loaded = load_config(config)
    if loaded.source is not None:
        params: dict = {"config": str(loaded.source.resolve())}
    else:
        params = {"db": str(loaded.warehouse.resolve()), "feeds": list(loaded.feeds)}
    if db:
        params["db"] = str(Path(db).resolve())
    if feeds:
        params["feeds"] = list(feeds)
    return params


def build_deployments(params: dict, cron: str | None = None, interval: float | None = None,
                      module_entrypoints: bool = True, tick: float | None = None) -> list:
    """monitor (scheduled, concurrency 1), deliver-alerts (event-triggered), backfill (on demand).
    monitor: with tick, a short cycle every `tick` seconds that polls only the feeds due by their own clock
    (its parameter only_due); else the fixed schedule `cron` (DEFAULT_CRON) or `interval`, polling every
    feed. module_entrypoints: entrypoints as module paths (flows.monitor.monitor), so runs load the
    installed package whatever the working directory."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType

    from flows.backfill import backfill
    from flows.deliver import deliver
    from flows.monitor import monitor
    entry = EntrypointType.MODULE_PATH if module_entrypoints else EntrypointType.FILE_PATH
    common = {k: v for k, v in params.items() if k in ("config", "db")}
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    return [
        monitor.to_deployment(
            name="monitor", **check_schedule(cron, interval, tick),
            parameters=dict(params, only_due=True, tick=tick) if tick is not None else dict(params),
            concurrency_limit=one_at_a_time, tags=["dealwatch"], entrypoint_type=entry,
            description="One dealwatch cycle: poll the feeds (" + ("those due by their own clock"
                        if tick is not None else "all of them") + "), fetch, judge, store, alert."),
        deliver.to_deployment(
            name="deliver-alerts", triggers=[deliver_trigger()], parameters=common, concurrency_limit=1,
            tags=["dealwatch"], entrypoint_type=entry,
            description="Deliver the outbox's due alerts; triggered by dealwatch.*.new events."),
        backfill.to_deployment(
            name="backfill", parameters=common, concurrency_limit=1, tags=["dealwatch"], entrypoint_type=entry,
            description="Backfill a URL list or a folder of saved pages (parameter source); one digest."),
    ]


# -- a Prefect server to serve against ------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as answer:
            return answer.status == 200
    except OSError:
        return False


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to the process's own group, SIGKILL after `grace` seconds; reaped either way."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass


@contextmanager
def local_prefect_server(port: int | None = None, log_path: Path | None = None,
                         env: dict | None = None, timeout: float = SERVER_START_TIMEOUT) -> Iterator[str]:
    """`prefect server start` on 127.0.0.1 (analytics off, no UI) in its own process group for as long
    as the block runs; yields its API URL once /api/health answers. RuntimeError if it does not start."""
    port = port or free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    environment = {**os.environ, **(env or {}), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                   "PREFECT_SERVER_UI_ENABLED": "false"}
    environment.pop("PREFECT_API_URL", None)
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port),
         "--analytics-off", "--no-ui"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not api_healthy(api_url):
            if process.poll() is not None:
                raise RuntimeError(f"the Prefect server exited at start-up (status {process.returncode})"
                                   + (f"; see {log_path}" if log_path else ""))
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not answer within {timeout:.0f} s"
                                   + (f"; see {log_path}" if log_path else ""))
            time.sleep(0.5)
        yield api_url
    finally:
        stop_process_group(process)
        if log_path:
            log.close()


@contextmanager
def prefect_api(out=sys.stdout) -> Iterator[str]:
    """The Prefect server to serve against: PREFECT_API_URL's, or a local one started for the while."""
    given = os.environ.get("PREFECT_API_URL")
    if given:
        if not api_healthy(given, timeout=10):
            raise ConnectionError(f"no Prefect server answers at PREFECT_API_URL={given}: start it "
                                  f"(prefect server start) or unset PREFECT_API_URL to let dealwatch start one")
        yield given
        return
    from prefect.settings import PREFECT_HOME
    home = Path(PREFECT_HOME.value()).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "dealwatch-serve-server.log"
    print(f"dealwatch serve: starting a Prefect server on 127.0.0.1 (log: {log_path}; set PREFECT_API_URL to "
          f"use a long-lived one instead)...", file=out, flush=True)
    with local_prefect_server(log_path=log_path) as api_url:
        os.environ["PREFECT_API_URL"] = api_url   # for the runs this process starts
        yield api_url


def _runner(**kwargs):
    """Prefect's Runner (what prefect.serve uses), with SIGTERM handled as Ctrl-C is: prefect 3.8.8's own
    SIGTERM handler calls the async Runner.stop() without awaiting it and exits from inside the event loop
    (a RuntimeWarning and a traceback in the log); Ctrl-C shuts down cleanly in ~3 s (measured)."""
    from prefect.runner import Runner

    class _Runner(Runner):
        def handle_sigterm(self, *args, **kwargs) -> None:
            signal.raise_signal(signal.SIGINT)

    return _Runner(**kwargs)


def _sigterm_as_interrupt(*_args) -> None:
    signal.raise_signal(signal.SIGINT)


def serve(params: dict, cron: str | None = None, interval: float | None = None, out=sys.stdout,
          tick: float | None = None) -> int:
    """Serve the three deployments until SIGTERM or Ctrl-C (then: exit status 0, a requested stop; the
    local Prefect server, if it started one, is stopped too). Deployments are paused when it stops (so no
    runs pile up while nothing executes them) and resumed when it starts again. With neither cron nor
    interval: the feeds' own clocks, a short cycle every `tick` seconds (DEFAULT_TICK)."""
    import asyncio
    if cron is None and interval is None and tick is None:
        tick = DEFAULT_TICK
    schedule = check_schedule(cron, interval, tick)
    if threading.current_thread() is threading.main_thread():  # SIGTERM while starting: stop cleanly too
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        with prefect_api(out) as api_url:
            from prefect.settings import PREFECT_API_URL, temporary_settings
            with temporary_settings({PREFECT_API_URL: api_url}):
                deployments = build_deployments(params, cron, interval, tick=tick)
                when = (f"every {schedule['interval'].total_seconds():g} s" if "interval" in schedule
                        else f"on cron {schedule['cron']!r} (UTC)")
                when += (", polling the feeds due by their own clock (dealwatch feeds: when and why)"
                         if tick is not None else ", polling every feed")
                source = f"config {params['config']}" if "config" in params else f"warehouse {params.get('db')}"
                print(f"dealwatch serve: Prefect API {api_url}\n"
                      f"  dealwatch-monitor/monitor                 {when}, one at a time\n"
                      f"  dealwatch-deliver-alerts/deliver-alerts   on {' / '.join(DELIVER_EVENTS)} events\n"
                      f"  dealwatch-backfill/backfill               on demand (prefect deployment run "
                      f"dealwatch-backfill/backfill --param source=PATH)\n"
                      f"  with {source}; Ctrl-C or SIGTERM stops", file=out, flush=True)
                runner = _runner(pause_on_shutdown=True)
                for deployment in deployments:
                    runner.add_deployment(deployment)
                asyncio.run(runner.start())
    except KeyboardInterrupt:
        pass
    print("dealwatch serve: stopped", file=out, flush=True)
    return 0
