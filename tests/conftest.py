"""Fixtures: a simulated site on 127.0.0.1, an App on tmp_path, a mail server, a PostgreSQL
server, daemons that are killed however a test ends, golden files. Plain helpers are in
tests/helpers.py."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    GOLDEN,
    DaemonProcess,
    free_port,
    listening,
    wordpress_source,
    write_config,
)
from tests.mailserver import MailServer
from tests.pg import PostgresServer, PostgresUnavailable
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.config import load_config


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite the golden files from the current output (review the diff).",
    )


SLOW = 1.5  # seconds: a test that takes longer than this is marked slow
_unmarked: list[tuple[str, float]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.duration > SLOW and "slow" not in report.keywords:
        _unmarked.append((report.nodeid, report.duration))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _unmarked:
        terminalreporter.write_sep("-", f"over {SLOW} s and not marked slow (mark them?)")
        for nodeid, seconds in sorted(_unmarked, key=lambda found: -found[1]):
            terminalreporter.write_line(f"{seconds:5.1f} s  {nodeid}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # `make test` runs `pytest -m serial` after the others: none marked is nothing to run apart
    if (
        exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED
        and session.config.option.markexpr == "serial"
    ):
        session.exitstatus = pytest.ExitCode.OK


DATABASES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A test marked `databases` runs once per engine: `database_url` (and make_app, which
    # takes it) gives it SQLite's default file or a fresh PostgreSQL database.
    if (
        metafunc.definition.get_closest_marker("databases") is not None
        and "database_url" in metafunc.fixturenames
    ):
        metafunc.parametrize("database_url", DATABASES, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        serial = item.get_closest_marker("serial")
        if serial is not None and not (serial.args or serial.kwargs.get("reason")):
            raise pytest.UsageError(f"{item.nodeid}: say why it is serial: serial(reason=...)")
        if item.get_closest_marker("realwp") is not None:
            # one pytest-xdist worker (with --dist loadgroup) starts the real WordPress, once
            item.add_marker(pytest.mark.xdist_group("realwp"))


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def golden(update_golden: bool) -> Callable[[str, str], None]:
    """Compare text with tests/golden/NAME, or rewrite it with --update-golden."""

    def check(name: str, actual: str) -> None:
        path = GOLDEN / name
        if update_golden:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
        assert path.exists(), f"no golden file {name}: run pytest --update-golden"
        assert actual == path.read_text(encoding="utf-8")

    return check


@pytest.fixture
def site() -> Iterator[SimWordPress]:
    with SimWordPress() as simulated:
        yield simulated


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


REQUIRE_POSTGRES = "WATCHER_REQUIRE_POSTGRES"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server per session (per xdist worker) on 127.0.0.1; see tests/pg.py.

    Skips when PostgreSQL is not installed, unless WATCHER_REQUIRE_POSTGRES=1 (as in CI),
    where it must fail the run rather than quietly leave PostgreSQL untested.
    """
    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        if os.environ.get(REQUIRE_POSTGRES) == "1":
            pytest.fail(f"{exc}; {REQUIRE_POSTGRES}=1 forbids skipping", pytrace=False)
        pytest.skip(str(exc))
    with server:
        yield server


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test:
    `postgresql+psycopg://postgres@127.0.0.1:PORT/NAME` (trust authentication, no password)."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The `database:` of the test's config: None for the default (SQLite in state_dir), a
    fresh PostgreSQL database's URL in the `postgresql` run of a test marked `databases`."""
    engine = getattr(request, "param", "sqlite")
    if engine == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return None


@pytest.fixture
def store_url(database_url: str | None, tmp_path: Path) -> str:
    """The test's database as a URL to give Store.open: SQLite in tmp_path, or (in the
    `postgresql` run of a test marked `databases`) a fresh PostgreSQL database."""
    return database_url or f"sqlite:///{tmp_path / 'state' / 'watcher.db'}"


@pytest.fixture
def make_app(tmp_path: Path, database_url: str | None) -> Iterator[Callable[..., App]]:
    """make_app(sources, clock=None, **settings): an App on a config from write_config, on the
    test's database (see database_url) unless `database` is among the settings."""
    apps: list[App] = []

    def make(
        sources: list[dict[str, Any]],
        *,
        clock: Callable[[], datetime] | None = None,
        **settings: Any,
    ) -> App:
        if database_url is not None:
            settings.setdefault("database", database_url)
        config = load_config(write_config(tmp_path, sources, **settings))
        app = App(config, clock=clock) if clock else App(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def daemon_for(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    """daemon_for(site, **settings): `watcher run` on a free port, checking `site` every
    second; killed at the end of the test if it still runs."""
    started: list[DaemonProcess] = []

    def start(site: SimWordPress, **settings: Any) -> DaemonProcess:
        port = free_port()
        config = write_config(
            tmp_path,
            [wordpress_source(site, every="1s", sweep_every="0s")],
            **listening(port),
            **settings,
        )
        daemon = DaemonProcess(config, port, tmp_path / f"daemon-{len(started)}.log")
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.close()


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback only: a proxy from the environment must never carry test traffic."""
    for name in list(os.environ):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.delenv(name)
