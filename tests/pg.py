"""A throwaway PostgreSQL server for the tests: Debian's `initdb` and `pg_ctl` in a temporary
directory, listening on 127.0.0.1 only (its unix socket stays in that directory), trust
authentication, no durability (the data dies with the session).

PostgreSQL refuses to run as root: as root, the server's commands run as the `postgres` user
that Debian's package creates, and the directory is given to it.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

from tests.helpers import free_port

SERVER_USER = "postgres"  # the account Debian's package creates, and the superuser's name
START_TIMEOUT = 60  # seconds: pg_ctl waits this long for the server to accept connections
# Another process may take the free port between our probe and the server's bind.
START_ATTEMPTS = 3
# Test data: nothing is worth waiting for the disk, and a few connections per test suffice.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "16MB",
    "timezone": "UTC",
    "log_min_messages": "warning",
}


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed, or it cannot run here; the message says what is missing."""


def binaries() -> Path:
    """The directory of initdb and pg_ctl: the newest of Debian's versions, else the PATH's."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    raise PostgresUnavailable(
        "PostgreSQL is not installed: no initdb/pg_ctl (apt-get install postgresql)"
    )


class PostgresServer:
    """A server whose data, socket and log live in one temporary directory, removed by stop().

    create_database() hands out a fresh, empty database as a SQLAlchemy URL for psycopg 3.
    """

    def __init__(self) -> None:
        self.bin = binaries()
        self.as_user = _server_user()
        self.directory = Path(tempfile.mkdtemp(prefix="watcher-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.port = 0
        self._names = itertools.count(1)
        self._started = False
        if self.as_user is not None:
            os.chown(self.directory, self.as_user.pw_uid, self.as_user.pw_gid)

    def __enter__(self) -> PostgresServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._run(
            self.bin / "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            SERVER_USER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )
        for _ in range(START_ATTEMPTS):
            self.port = free_port()
            options = {**SETTINGS, "port": str(self.port)}
            options["unix_socket_directories"] = str(self.directory)
            started = self._run(
                self.bin / "pg_ctl",
                "start",
                "--wait",
                "--timeout",
                str(START_TIMEOUT),
                "--pgdata",
                str(self.data),
                "--log",
                str(self.log),
                "--options",
                " ".join(f"-c {key}={value}" for key, value in options.items()),
                check=False,
            )
            if started.returncode == 0:
                self._started = True
                return
            if "could not bind" not in self._log_tail():
                break
        raise PostgresUnavailable(f"PostgreSQL did not start:\n{self._log_tail()}")

    def stop(self) -> None:
        """Stops the server (connections still open are cut) and removes its directory; safe
        to call twice."""
        if self._started:
            self._run(
                self.bin / "pg_ctl", "stop", "--wait", "--mode", "immediate",
                "--pgdata", str(self.data),
                check=False,
            )  # fmt: skip
            self._started = False
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        login = SERVER_USER if password is None else f"{SERVER_USER}:{password}"
        return f"postgresql+psycopg://{login}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with self.connect() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drops a database create_database made, cutting the connections a test left open."""
        name = url.rsplit("/", 1)[1]
        assert re.fullmatch(r"test_\d+_\d+", name), name
        with self.connect() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A psycopg connection in autocommit mode, as the superuser."""
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SERVER_USER, dbname=database, autocommit=True
        )

    def _run(self, *command: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix: list[str] = []
        if self.as_user is not None:
            prefix = ["setpriv", f"--reuid={self.as_user.pw_uid}", f"--regid={self.as_user.pw_gid}"]
            prefix += ["--clear-groups", "--"]
        result = subprocess.run(
            [*prefix, *map(str, command)],
            cwd=self.directory,
            env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT + 30,
            check=False,
        )
        if check and result.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(command[0]).name} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: None for the current user, `postgres` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and there is no `{SERVER_USER}` user to run PostgreSQL as"
        ) from None
