"""`watcher db`: the database's schema, and a copy of it into another database."""

from __future__ import annotations

import os

import click

from watcher.cli_common import Context, fail, pass_context, read, redacted, table


@click.group("db")
def db_group() -> None:
    """The database."""


@db_group.command("upgrade")
@pass_context
def db_upgrade(context: Context) -> None:
    """Apply the migrations the database lacks (`run` and `check` do it at start, too)."""
    from watcher.store.store import SCHEMA_REVISION

    read(context, lambda app: None)
    click.echo(f"{redacted(context.config)}: schema {SCHEMA_REVISION}, up to date")


@db_group.command("copy")
@click.option("--to", "to_url", metavar="URL", help="The empty database to copy into.")
@click.option(
    "--to-env",
    metavar="VAR",
    help="Read the target's URL from this environment variable (keeps a password out of the "
    "process list and the shell's history).",
)
@pass_context
def db_copy(context: Context, to_url: str | None, to_env: str | None) -> None:
    """Copy every row of the database into an empty one (SQLite to PostgreSQL, say), ids
    kept; no daemon may run on it meanwhile."""
    if (to_url is None) == (to_env is None):
        fail("db copy: name the target database with --to URL or --to-env VAR", 2)
    if to_env is not None:
        to_url = os.environ.get(to_env)
        if not to_url:
            fail(f"db copy: environment variable {to_env} is not set", 2)
    assert to_url is not None
    from watcher.errors import CopyRefused, StoreError
    from watcher.lock import AlreadyRunning, DaemonLock, lock_path
    from watcher.store import Store
    from watcher.store.copy import copy_database
    from watcher.store.store import SCHEMA_REVISION, safe_url

    config = context.config
    # Held for the whole copy: a daemon that starts meanwhile stops at once, saying why.
    lock = DaemonLock(lock_path(config))
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        fail(f"db copy: {exc}", 2)
    try:
        source = Store.open_existing(config.database_url)
        try:
            counts = copy_database(source, to_url)
        finally:
            source.close()
    except CopyRefused as exc:
        fail(f"db copy: {exc}", 2)
    except StoreError as exc:
        fail(f"db copy: {exc}", 1)
    finally:
        lock.release()
    click.echo(f"copied {redacted(config)} to {safe_url(to_url)} (schema {SCHEMA_REVISION})")
    click.echo(table(["table", "rows"], [[name, str(rows)] for name, rows in counts.items()]))
