"""A real, throwaway PostgreSQL server on 127.0.0.1 for tests (Debian's package; standard library only).

    with PostgresServer() as server:                       # or the `postgres_server` fixture of conftest.py
        conninfo = server.create_database()                # a fresh, empty database: a libpq conninfo string
        ...                                                # "host=127.0.0.1 port=54321 user=postgres dbname=t3"

The data directory, the log and the unix socket live in one temporary directory, removed on stop(). The
server listens on loopback only, with trust authentication, fsync off (a test server: speed over
durability). PostgreSQL refuses to run as root: when the tests run as root, initdb and postgres run as the
`postgres` user (runuser), which owns the temporary directory.

The binaries are found in $DEALWATCH_PG_BIN, else beside `pg_config --bindir` / `initdb` on PATH, else in
Debian's /usr/lib/postgresql/<version>/bin (the newest). PostgresUnavailable says what is missing.
"""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "PostgresUnavailable", "find_postgres_bin"]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started for the tests: the message says why and what to do."""


def find_postgres_bin() -> Path:
    """The directory holding initdb, pg_ctl and postgres."""
    candidates: list[Path] = []
    if os.environ.get("DEALWATCH_PG_BIN"):
        candidates.append(Path(os.environ["DEALWATCH_PG_BIN"]))
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.CalledProcessError):
            pass
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).parent)
    # Debian/Ubuntu keep the server binaries off PATH, one directory per major version
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                    if Path(p).parent.name.isdigit() else 0, reverse=True)
    candidates.extend(Path(p) for p in debian)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    raise PostgresUnavailable(
        "PostgreSQL's server binaries (initdb, pg_ctl) were not found: install them "
        "(`apt-get install postgresql`, as .ci/run does) or set DEALWATCH_PG_BIN to their directory")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One PostgreSQL server in a temporary directory; start() / stop(), or use it as a context manager."""

    def __init__(self) -> None:
        self.bin = find_postgres_bin()
        self.port = 0
        self.root: Path | None = None
        self._names = itertools.count(1)
        self._as_postgres: list[str] = []

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> "PostgresServer":
        self.root = Path(tempfile.mkdtemp(prefix="dealwatch-pg-"))
        if os.geteuid() == 0:  # postgres will not run as root: hand the directory to the postgres user
            if not shutil.which("runuser"):
                raise PostgresUnavailable("running as root without `runuser`: cannot start PostgreSQL "
                                          "as the postgres user")
            shutil.chown(self.root, user="postgres", group=None)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        last_error = ""
        for _attempt in range(5):  # a free port can be taken by someone else before postgres binds it
            self.port = _free_port()
            options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            try:
                self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-o", options,
                          "-w", "-t", "60", "start")
                return self
            except PostgresUnavailable as error:
                last_error = str(error)
        raise PostgresUnavailable(f"PostgreSQL did not start: {last_error}\n{self.log()}")

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        except PostgresUnavailable:
            pass  # never started, or already gone
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- use ------------------------------------------------------------------------------------------

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string for one database of this server (TCP on loopback)."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (named t1, t2, ... unless `name` is given); its conninfo."""
        name = name or f"t{next(self._names)}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.conninfo(name)

    def psql(self, conninfo: str, sql: str) -> str:
        """Run SQL with psql (unaligned, tuples only); its output. For checks from the PostgreSQL side."""
        return self._run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql)

    def log(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")[-4000:] if self.root else ""
        except OSError:
            return ""

    def _run(self, program: str, *args: str) -> str:
        command = [*self._as_postgres, str(self.bin / program), *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PostgresUnavailable(f"{program} failed: {error}") from error
        if done.returncode != 0:
            raise PostgresUnavailable(f"{program} {' '.join(args[:3])} exited {done.returncode}: "
                                      f"{done.stderr.strip() or done.stdout.strip()}")
        return done.stdout
