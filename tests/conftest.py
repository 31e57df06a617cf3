"""Shared pytest fixtures. Each section belongs to the module that needs it; add yours, keep the others."""
from __future__ import annotations

import pytest


# -- notification receivers (tests/receivers.py; used by tests/test_alerts.py) ----------------------

@pytest.fixture
def webhook():
    """A real HTTP receiver on 127.0.0.1 for apprise's json:// and form:// (records POSTs)."""
    from receivers import WebhookReceiver

    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on 127.0.0.1, started; stop() and start() it to simulate an outage."""
    from receivers import SmtpServer

    server = SmtpServer()
    server.start()
    yield server
    server.stop()


# -- a real Prefect engine (tests/test_cycle.py and every flow test) ------------------------------

@pytest.fixture(scope="session")
def prefect_engine():
    """Prefect's test harness: a real temporary API server and database for the whole session (~17 s once)."""
    import os

    from dealwatch.cli import quiet_prefect

    quiet_prefect(progress=False)
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """A REAL `prefect server start` on a free loopback port for the session (its database in a temporary
    PREFECT_HOME, analytics off, no UI): the API of the `dealwatch` and `prefect` processes tests start
    (test_deployments.client_env gives their environment). Started once (~10 s quiet, 30 s under load), where
    each `dealwatch run` process would otherwise start and stop an ephemeral server of its own. .api: a client."""
    from types import SimpleNamespace

    import httpx

    from deployments.serve import local_prefect_server

    home = tmp_path_factory.mktemp("prefect-home")
    env = {"PREFECT_HOME": str(home), "PREFECT_SERVER_LOGGING_LEVEL": "WARNING"}
    with local_prefect_server(log_path=home / "server.log", env=env, timeout=150) as api_url:
        with httpx.Client(base_url=api_url, timeout=15) as api:
            yield SimpleNamespace(api_url=api_url, home=home, api=api)


@pytest.fixture
def sample_news():
    """The bundled sample news site (dealwatch.demo.SampleNewsServer) on a free loopback port."""
    from dealwatch.demo import SampleNewsServer

    with SampleNewsServer() as server:
        yield server


# -- a programmable HTTP server (tests/loopback.py; used by tests/test_fetch.py, reusable anywhere) ----

@pytest.fixture
def loopback():
    """A real HTTP server on 127.0.0.1 whose routes each test programs (loopback.LoopbackServer)."""
    from loopback import LoopbackServer

    with LoopbackServer() as server:
        yield server


# -- a real PostgreSQL server (tests/postgres_server.py; used by the DuckLake warehouse tests) -------

@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL server on 127.0.0.1 for the session (~2 s to start), stopped at the end.

    Never skipped: a test that needs PostgreSQL fails, saying why, when no server can start (.ci/run
    installs Debian's package when it is missing)."""
    from postgres_server import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer().start()
    except PostgresUnavailable as error:
        pytest.fail(f"a test needs a real PostgreSQL server and none could start: {error}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's PostgreSQL server: its libpq conninfo
    ("host=127.0.0.1 port=N user=postgres dbname=tN")."""
    return postgres_server.create_database()
