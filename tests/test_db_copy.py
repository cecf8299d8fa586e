"""`watcher db copy`: a populated SQLite database into an empty PostgreSQL one, every row of
every table with its id, and the copy goes on as the original would; the refusals are one line,
exit 2, and never show the target's password."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from tests.helpers import mail_settings, run_watcher, wordpress_source, write_config
from tests.mailserver import MailServer
from tests.pg import PostgresServer
from tests.sim.wordpress import JOINT_STATEMENT, SimWordPress
from watcher.app import App
from watcher.backfill import Span, backfill
from watcher.config import load_config
from watcher.lock import DaemonLock, lock_path
from watcher.models import ChangeKind, CheckStatus
from watcher.store import (
    Store,
    tables,  # noqa: F401  (the tables on SQLModel.metadata)
)
from watcher.store.copy import copy_database

pytestmark = pytest.mark.slow  # `watcher db copy` as a subprocess

PASSWORD = "pw-never-shown-7f3a"  # the test server trusts loopback: any password connects
EVERY_TABLE = {table.name for table in SQLModel.metadata.sorted_tables}
SHARED_ONLY = {"lease", "host", "host_slot"}  # the leases of several daemons (store/leases.py)


def with_password(url: str) -> str:
    return url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


def dump(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in id order, as the store reads it back."""
    store = Store.open(url, upgrade=False)
    try:
        with store.engine.connect() as connection:
            return {
                table.name: [
                    row._asdict()
                    for row in connection.execute(
                        sa.select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in SQLModel.metadata.sorted_tables
            }
    finally:
        store.close()


AT_ONCE = {"unhealthy_after": "0s"}  # a failed check is reported unhealthy at once


def sources(site: SimWordPress) -> list[dict[str, Any]]:
    """The site through its API, and through its listing pages (which keep validators)."""
    listing = {
        "name": "news",
        "type": "html",
        "profile": "asean",
        "url": f"{site.url}/category/news/",
    }
    return [wordpress_source(site), listing]


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()


def populate(site: SimWordPress, make_app: Callable[..., App], smtp: MailServer) -> App:
    """A database with something in every table: releases new, edited and removed, their
    topics, instant mail sent, page validators, check runs, a health report and a backfill's
    position."""
    russia = site.add_post("ASEAN-Russia consultations", "The Russian Federation and ASEAN met.")
    # the statement the simulated site serves: a PDF, so that its attachment row is copied too
    kept = site.add_post("Statement", f'Version 1. <a href="{JOINT_STATEMENT}">Statement</a>')
    app = make_app(sources(site), **mail_settings(smtp.port, mode="instant"), health=AT_ONCE)
    app.prepare()
    app.check()
    site.edit_post(russia, content="The Russian Federation and ASEAN met again.")
    site.add_post("Russia and ASEAN, later", "Russia.")
    app.check()
    site.trash_post(kept)
    app.check()
    app.check()
    site.challenge = True  # failing now: reported unhealthy at once
    app.check()
    site.challenge = False
    app.check()
    # a backfill walked the archive: its position is kept, and copied
    backfill(
        app.config,
        app.config.source(app.config.sources[0].name),
        store=app.store,
        fetcher=app.fetcher,
        span=Span(),
    )
    return app


def test_sqlite_to_postgresql_copies_every_row_and_the_copy_goes_on(
    site: SimWordPress,
    make_app: Callable[..., App],
    smtp: MailServer,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    app = populate(site, make_app, smtp)
    source_url = app.config.database_url
    app.close()
    original = dump(source_url)
    # every table holds rows, but those only daemons sharing a PostgreSQL database write
    assert {name for name, rows in original.items() if not rows} == SHARED_ONLY

    config = tmp_path / "watcher.yaml"
    copied = run_watcher(
        "db",
        "copy",
        "--to-env",
        "TARGET",
        config=config,
        env={"TARGET": with_password(postgres_url)},
    )
    assert copied.returncode == 0, copied.stderr
    assert PASSWORD not in copied.stdout + copied.stderr
    lines = copied.stdout.splitlines()
    assert (
        lines[0].startswith("copied sqlite:///")
        and " to postgresql+psycopg://postgres:***@" in lines[0]
    )
    counts = dict(line.split() for line in lines[2:])
    assert counts == {name: str(len(rows)) for name, rows in original.items()}
    assert dump(postgres_url) == original

    # The copy is the database now: a check finds nothing new, and new rows take new ids.
    on_copy = make_app(
        sources(site),
        **mail_settings(smtp.port, mode="instant"),
        health=AT_ONCE,
        database=postgres_url,
    )
    results = on_copy.check()
    assert [(r.status, dict(r.counts)) for r in results] == [(CheckStatus.OK, {})] * 2
    site.add_post("Russia: a new release", "Russia and ASEAN.")
    results = on_copy.check()
    assert [r.counts for r in results] == [{ChangeKind.NEW: 1}] * 2
    after = dump(postgres_url)
    for name in ("release", "version", "change", "outbox", "check_run"):
        old_ids = [row["id"] for row in original[name]]
        new_ids = [row["id"] for row in after[name][len(old_ids) :]]
        assert new_ids and min(new_ids) > max(old_ids), name


def test_postgresql_to_sqlite_copies_back(
    site: SimWordPress,
    make_app: Callable[..., App],
    smtp: MailServer,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    site.add_post("ASEAN-Russia consultations", "The Russian Federation and ASEAN met.")
    app = make_app(
        [wordpress_source(site)], **mail_settings(smtp.port, mode="instant"), database=postgres_url
    )
    app.check()
    target = f"sqlite:///{tmp_path / 'copy' / 'watcher.db'}"
    counts = copy_database(app.store, target)
    app.close()
    assert set(counts) == EVERY_TABLE and counts["release"] == 1
    assert dump(target) == dump(postgres_url)


def one_line(result: Any) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert PASSWORD not in result.stderr
    [line] = result.stderr.splitlines()
    return str(line)


def test_refusals_are_one_line_exit_2_without_the_password(
    site: SimWordPress,
    postgres: PostgresServer,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    site.add_post("One", "Text.")
    config = write_config(tmp_path, [wordpress_source(site)])
    assert run_watcher("check", config=config).returncode == 0

    def copy(*args: str, env: dict[str, str] | None = None) -> str:
        return one_line(run_watcher("db", "copy", *args, config=config, env=env))

    target = with_password(postgres_url)
    assert "--to URL or --to-env VAR" in copy()
    assert (
        copy("--to-env", "UNSET_TARGET") == "db copy: environment variable UNSET_TARGET is not set"
    )
    assert "is not a database URL" in copy("--to", "not a url")
    bad_port = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:port/db"
    assert copy("--to", bad_port).startswith("db copy: ")
    nobody = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{postgres.port}/no_such_db"
    refused = copy("--to-env", "TARGET", env={"TARGET": nobody})
    assert "postgres:***@" in refused and "no_such_db" in refused

    lock = DaemonLock(lock_path(load_config(config)))  # as `watcher run` holds it
    lock.acquire()
    try:
        assert "already running on this database" in copy("--to", target)
    finally:
        lock.release()
    assert table_names(postgres_url) == set()  # nothing was written

    assert run_watcher("db", "copy", "--to", target, config=config).returncode == 0
    again = copy("--to", target)
    assert again.startswith("db copy: the target postgresql+psycopg://postgres:***@")
    assert "is not empty (rows in source, " in again
