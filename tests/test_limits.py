"""Limits a user runs into only at the edges: a duration past a year, two first starts at once on
a new database, clients that connect to the feed server and then say nothing."""

from __future__ import annotations

import multiprocessing
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.helpers import run_watcher
from watcher.store import Store
from watcher.store.store import SCHEMA_REVISION
from watcher.web.app import Site
from watcher.web.server import LISTEN_BACKLOG, WebServer

# -- durations ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("    every: 9999999999d\n", "sources[0].every: '9999999999d' is longer than 365d"),
        ("    every: 3000000d\n", "sources[0].every: '3000000d' is longer than 365d"),
        ("    http: {timeout: 1000d}\n", "sources[0].http.timeout: '1000d' is longer than 365d"),
    ],
    ids=["9999999999d", "3000000d", "http-timeout"],
)
def test_config_check_refuses_a_duration_past_a_year_in_one_line(
    line: str, message: str, tmp_path: Path
) -> None:
    config = tmp_path / "watcher.yaml"
    config.write_text("sources:\n  - name: a\n    type: wordpress\n    url: https://e.org\n" + line)
    result = run_watcher("config", "check", config=config)
    assert (result.returncode, result.stderr) == (2, f"{config}:5: {message}\n")


# -- migrations -----------------------------------------------------------------------------

STARTS = 6  # processes opening one new database together
ROUNDS = 5  # without the migration lock, every round of every trial run failed


def _open_store(url: str, barrier: Any) -> str:
    barrier.wait(timeout=60)  # all of them at once, as a daemon and CLI commands started together
    try:
        Store.open(url).close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


@pytest.mark.slow
def test_first_starts_at_once_on_a_new_database_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a second process is
    with context.Manager() as manager, context.Pool(STARTS) as pool:
        for number in range(ROUNDS):
            database = tmp_path / f"round{number}" / "watcher.db"
            url = f"sqlite:///{database}"
            barrier = manager.Barrier(STARTS)
            errors = pool.starmap(_open_store, [(url, barrier)] * STARTS)
            assert [error for error in errors if error] == [], f"round {number}"
            engine = sa.create_engine(url)
            with engine.connect() as connection:
                revisions = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                assert revisions.scalars().all() == [SCHEMA_REVISION]
                tables = sa.inspect(connection).get_table_names()
            engine.dispose()
            assert {"source", "release", "version", "change"} <= set(tables)


# -- the feed server ------------------------------------------------------------------------


@pytest.fixture
def feeds(tmp_path: Path) -> Path:
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "all.atom").write_bytes(b"<feed/>")
    return folder


@contextmanager
def _serving(feeds: Path, **limits: Any) -> Iterator[WebServer]:
    web = WebServer("127.0.0.1:0", Site(feeds, lambda: (True, "")), **limits)
    web.start()
    try:
        yield web
    finally:
        web.stop()


def _connect(web: WebServer) -> socket.socket:
    # The client's own timeout only ends the test if the server never closes the connection.
    return socket.create_connection(("127.0.0.1", web.port), timeout=15)


def _until_closed(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(4096):
        received += chunk
    return received


@pytest.mark.slow
@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connected, never a byte
        b"GET /feeds/all.at",  # half a request line
        b"GET /feeds/all.atom HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # the headers never end
    ],
    ids=["idle", "half-request-line", "half-headers"],
)
def test_a_silent_connection_is_closed_by_the_server(feeds: Path, sent: bytes) -> None:
    with _serving(feeds, timeout=1) as web, _connect(web) as connection:
        connection.sendall(sent)
        assert _until_closed(connection) == b""  # closed, and nothing was served


@pytest.mark.slow
def test_many_idle_connections_do_not_hold_up_a_get(feeds: Path) -> None:
    # the old threaded server needed a bound on threads; uvicorn's connections cost no thread,
    # and past `max_connections` a client is told 503 at once instead of waiting
    with _serving(feeds, timeout=5, max_connections=64) as web:
        idle = [_connect(web) for _ in range(40)]
        try:
            response = httpx.get(f"http://127.0.0.1:{web.port}/feeds/", timeout=60)
        finally:
            for connection in idle:
                connection.close()
        assert response.status_code == 200
        assert "watcher feeds" in response.text


def test_past_the_connection_limit_a_client_is_told_503(feeds: Path) -> None:
    with _serving(feeds, timeout=30, max_connections=2) as web:
        idle = [_connect(web) for _ in range(3)]
        try:
            response = httpx.get(f"http://127.0.0.1:{web.port}/feeds/all.atom", timeout=15)
        finally:
            for connection in idle:
                connection.close()
        assert response.status_code == 503


def test_a_get_is_answered_while_idle_connections_stay_open(feeds: Path) -> None:
    with _serving(feeds, timeout=30, max_connections=8) as web:
        idle = [_connect(web) for _ in range(4)]
        try:
            response = httpx.get(f"http://127.0.0.1:{web.port}/feeds/all.atom", timeout=15)
            assert response.status_code == 200
            assert response.content == b"<feed/>"
            for connection in idle:
                connection.setblocking(False)
                with pytest.raises(BlockingIOError):  # nothing to read, and not closed
                    connection.recv(1)
        finally:
            for connection in idle:
                connection.close()


def test_connections_not_yet_accepted_wait_in_a_128_deep_backlog(feeds: Path) -> None:
    with _serving(feeds) as web:
        assert web.server.config.backlog == LISTEN_BACKLOG == 128
