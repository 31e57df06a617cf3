"""dealwatch's four deployments, built in Python for `dealwatch serve` (deployments/prefect.yaml declares
the same four for `prefect deploy` and a process work pool):

    dealwatch-monitor/monitor                  `dealwatch serve`: a short cycle every minute (--tick) that
                                               polls only the feeds due by their own clock (dealwatch.schedule);
                                               or, with --cron / --interval, a fixed schedule polling every
                                               feed (prefect.yaml: every 15 minutes). At most one at a time: a
                                               run due while one still runs is cancelled. With shards > 1
                                               (--shards, the config's [scale] shards), each run starts that
                                               many runs of dealwatch-monitor/shard at once and waits for them
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
    """monitor (scheduled, concurrency 1), shard (the shard runs of a monitor run when params or the config say
    shards > 1), deliver-alerts (event-triggered), backfill (on demand).
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
    shard_params = {k: v for k, v in params.items() if k in ("config", "db", "feeds", "dask_scheduler")}
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    return [
        monitor.to_deployment(
            name="monitor", **check_schedule(cron, interval, tick),
            parameters=dict(params, only_due=True, tick=tick) if tick is not None else dict(params),
            concurrency_limit=one_at_a_time, tags=["dealwatch"], entrypoint_type=entry,
            description="One dealwatch cycle: poll the feeds (" + ("those due by their own clock"
                        if tick is not None else "all of them") + "), fetch, judge, store, alert."),
        monitor.to_deployment(
            name="shard", parameters=shard_params,
            tags=["dealwatch"], entrypoint_type=entry,
            description="One shard of a sharded cycle (parameter shard: K/N), started by the monitor deployment's "
                        "runs when shards > 1; the cycle lock keeps two runs of one shard apart."),
        deliver.to_deployment(
            name="deliver-alerts", triggers=[deliver_trigger()], parameters=common, concurrency_limit=1,
            tags=["dealwatch"], entrypoint_type=entry,
            description="Deliver the outbox's due alerts; triggered by dealwatch.*.new events."),
        backfill.to_deployment(
            name="backfill", parameters={**common, **{k: v for k, v in params.items() if k == "dask_scheduler"}},
            concurrency_limit=1, tags=["dealwatch"], entrypoint_type=entry,
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


_OWN_SERVERS: list[subprocess.Popen] = []   # Prefect servers this process started and has not stopped yet


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
    _OWN_SERVERS.append(process)
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
        _OWN_SERVERS.remove(process)
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


STOP_RUNS_GRACE = 7.5    # seconds the runs in flight get to stop after SIGTERM, then SIGKILL (a cycle needs 0.2-4 s,
                         # most of it Prefect's reporting of the run's end to its server, slower under load)
STOP_DEADLINE = 9.5      # seconds after SIGTERM by which serve has exited, whatever Prefect's shutdown still waits on


def _runner(**kwargs):
    """Prefect's Runner (what prefect.serve uses), stopping its runs itself on SIGTERM or Ctrl-C.

    Prefect 3.8.8's own stop does not suit a cycle: its SIGTERM handler calls the async Runner.stop() without
    awaiting it and exits from inside the event loop; and on KeyboardInterrupt the runs in flight are
    cancelled, which SIGKILLs their processes at once (anyio, when the wait for a process is cancelled;
    seen with strace): the cycle records nothing, its worker processes are orphaned, and its Prefect flow
    run stays RUNNING, holding the monitor deployment's concurrency slot, so that after a restart every
    scheduled cycle is CANCELLED until the slot's lease runs out (300 s). Then the runner's ProcessManager
    kills every flow-run process still registered with a 30 s grace (it checks liveness with kill(pid, 0)),
    which is what a serve that exits 0 exactly 30 s after SIGTERM was waiting for.

    Here a stop first sends SIGTERM to each run's process and waits for them to end (STOP_RUNS_GRACE; then
    SIGKILL, to its worker processes too): a cycle then stops where it is, gives back its claims, stops its
    workers, records its run 'interrupted', and its flow run ends Crashed (flows.monitor.sigterm_stops_the_cycle). Only then does the runner shut down (pausing the deployments), with no
    run left to kill; a watchdog ends the process at STOP_DEADLINE if Prefect's shutdown hangs on its API."""
    import asyncio

    import anyio
    from prefect.runner import Runner

    class _Runner(Runner):
        stop_requested: float | None = None

        def handle_sigterm(self, *args, **kwargs) -> None:
            self.request_stop("SIGTERM")

        def handle_sigint(self, *args, **kwargs) -> None:
            self.request_stop("Ctrl-C")

        def _start_stopping(self) -> None:
            self._stopping_task = self._loop.create_task(self._stop())   # referenced: a task is weakly held

        def request_stop(self, why: str) -> None:
            if self.stop_requested is not None:
                return
            self.stop_requested = time.monotonic()
            print(f"dealwatch serve: {why}: stopping the runs in flight, then Prefect's runner", flush=True)
            _watchdog(self.stop_requested + STOP_DEADLINE)
            if self._loop is not None and self.started:
                self._loop.call_soon_threadsafe(self._start_stopping)
            else:   # not serving yet (starting up): nothing runs
                raise KeyboardInterrupt

        async def _stop(self) -> None:
            # every flow-run process: those the runner tracks, and any child of serve's (a run whose process
            # was being started), but never serve's own Prefect server
            in_flight = self._process_manager
            tracked = {in_flight.get(run_id).pid for run_id in in_flight.flow_run_ids()}
            runs = sorted(({pid for pid in tracked if pid} | set(_children(os.getpid()))) - _own_server_pids())
            for pid in runs:
                _signal(pid, signal.SIGTERM)
            deadline = self.stop_requested + STOP_RUNS_GRACE
            while any(_running(pid) for pid in runs) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            for pid in runs:
                if _running(pid):
                    print(f"dealwatch serve: flow run process {pid} did not stop within {STOP_RUNS_GRACE:g} s: "
                          f"killed", flush=True)
                    _kill_tree(pid)
            self.started, self.stopping = False, True
            self._scheduled_run_poller.stopping = True
            self._loops_task_group.cancel_scope.cancel()

        async def _pause_schedules(self) -> None:
            remaining = (self.stop_requested or time.monotonic()) + STOP_DEADLINE - 1.0 - time.monotonic()
            with anyio.move_on_after(max(remaining, 1.0)) as scope:
                await super()._pause_schedules()
            if scope.cancelled_caught:
                print("dealwatch serve: the Prefect API did not answer in time: the deployments may not be paused",
                      flush=True)

    return _Runner(**kwargs)


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def _process_tree() -> dict[int, list[int]]:
    """parent pid -> its live child processes (zombies are dead already), from ps (POSIX)."""
    try:
        listing = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,stat="], capture_output=True, text=True,
                                 timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    children: dict[int, list[int]] = {}
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0].isdigit() and fields[1].isdigit() and not fields[2].startswith("Z"):
            children.setdefault(int(fields[1]), []).append(int(fields[0]))
    return children


def _children(pid: int) -> list[int]:
    return _process_tree().get(pid, [])


def _descendants(pid: int) -> list[int]:
    """The live processes started by pid and by those."""
    tree = _process_tree()
    found, queue = [], list(tree.get(pid, []))
    while queue:
        child = queue.pop()
        found.append(child)
        queue += tree.get(child, [])
    return found


def _running(pid: int) -> bool:
    """pid is alive and not a zombie (a zombie's kill(pid, 0) succeeds: Prefect's check counts it alive)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return os.path.isdir("/proc") is False   # no /proc: trust kill(pid, 0)


def _kill_tree(pid: int) -> None:
    """SIGKILL pid and every process it started (a cycle's worker processes): nothing left behind."""
    for process in [*_descendants(pid), pid]:
        _signal(process, signal.SIGKILL)


def _own_server_pids() -> set[int]:
    return {server.pid for server in _OWN_SERVERS}


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _watchdog(deadline: float) -> None:
    """Exit with status 0 at deadline (monotonic) if serve is still running then: the runs have stopped by
    then (or were killed), only Prefect's own shutdown (its API calls, its exit hooks) would be left."""
    def watch():
        time.sleep(max(0.0, deadline - time.monotonic()))
        print("dealwatch serve: stopped (Prefect's shutdown did not finish in time; exiting anyway)", flush=True)
        for child in set(_children(os.getpid())) - _own_server_pids():   # a run still there: nothing left behind
            _kill_tree(child)
        for server in list(_OWN_SERVERS):   # our own Prefect server stops by itself on SIGTERM
            try:
                os.killpg(server.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        os._exit(0)
    threading.Thread(target=watch, name="dealwatch-stop-watchdog", daemon=True).start()


def serve(params: dict, cron: str | None = None, interval: float | None = None, out=sys.stdout,
          tick: float | None = None) -> int:
    """Serve the four deployments until SIGTERM or Ctrl-C (then: exit status 0, a requested stop; the
    local Prefect server, if it started one, is stopped too). Deployments are paused when it stops (so no
    runs pile up while nothing executes them) and resumed when it starts again. With neither cron nor
    interval: the feeds' own clocks, a short cycle every `tick` seconds (DEFAULT_TICK)."""
    import asyncio
    if cron is None and interval is None and tick is None:
        tick = DEFAULT_TICK
    schedule = check_schedule(cron, interval, tick)
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:  # SIGTERM while starting: stop cleanly too (nothing runs yet)
        signal.signal(signal.SIGTERM, _interrupt)
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
                      f"  dealwatch-monitor/shard                   the shard runs of a monitor run, when shards > 1\n"
                      f"  dealwatch-deliver-alerts/deliver-alerts   on {' / '.join(DELIVER_EVENTS)} events\n"
                      f"  dealwatch-backfill/backfill               on demand (prefect deployment run "
                      f"dealwatch-backfill/backfill --param source=PATH)\n"
                      f"  with {source}; Ctrl-C or SIGTERM stops", file=out, flush=True)
                runner = _runner(pause_on_shutdown=True)
                for deployment in deployments:
                    runner.add_deployment(deployment)

                async def run() -> None:
                    if main_thread:   # Ctrl-C as SIGTERM (asyncio's own handler would cancel the runs at once)
                        signal.signal(signal.SIGINT, runner.handle_sigint)
                    await runner.start()   # installs runner.handle_sigterm for SIGTERM

                try:
                    asyncio.run(run())
                finally:
                    if main_thread:
                        signal.signal(signal.SIGINT, signal.default_int_handler)
    except KeyboardInterrupt:
        pass
    print("dealwatch serve: stopped", file=out, flush=True)
    return 0
