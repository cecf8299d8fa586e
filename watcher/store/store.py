"""The database: connection, migrations, and every query, grouped by who needs them.

Nothing is ever deleted: versions and changes are only added.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from watcher.errors import StoreError
from watcher.store.attachments import AttachmentRecords
from watcher.store.backfills import BackfillRecords
from watcher.store.browsing import Browsing
from watcher.store.checks import CheckRecords
from watcher.store.deliveries import Deliveries
from watcher.store.exporting import Exporting
from watcher.store.health import Health
from watcher.store.leases import Leases
from watcher.store.reading import Reading
from watcher.store.topics import TopicIndex

SQLITE_BUSY_TIMEOUT_MS = 15_000
SCHEMA_REVISION = "0010"  # the newest migration in store/migrations/versions
# Any fixed number will do, as long as every watcher process uses the same one; PostgreSQL
# scopes advisory locks to the database, so other databases on the server are not affected.
MIGRATION_LOCK_KEY = 0x7761746368657200  # "watcher\0"

log = logging.getLogger(__name__)


class Store(
    CheckRecords,
    AttachmentRecords,
    BackfillRecords,
    Reading,
    Browsing,
    TopicIndex,
    Deliveries,
    Health,
    Exporting,
):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Connect, and bring the schema up to date (every start does it; it is idempotent)."""
        try:
            engine = make_engine(url)
            store = cls(engine)
            if upgrade:
                store.upgrade()
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"database {safe_url(url)}: {first_line(exc)}") from None
        except ImportError as exc:
            raise StoreError(driver_missing(url, exc)) from None
        except OSError as exc:  # its directory, or the migration lock beside it
            where = f" ({exc.filename})" if exc.filename else ""
            raise StoreError(f"database {safe_url(url)}: {exc.strerror}{where}") from None
        return store

    @classmethod
    def open_existing(cls, url: str) -> Store:
        """For commands that only read: the database as it is, never created nor changed."""
        missing = StoreError(
            f"no database at {_where(url)} yet: `watcher check` or `watcher run` creates it"
        )
        try:
            database = sa.engine.make_url(url).database if url.startswith("sqlite") else None
            if database and database != ":memory:" and not Path(database).exists():
                raise missing
            engine = make_engine(url, create=False)
            with engine.connect() as connection:
                revision = schema_revision(connection)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"database {safe_url(url)}: {first_line(exc)}") from None
        except ImportError as exc:
            raise StoreError(driver_missing(url, exc)) from None
        if revision is None:
            engine.dispose()
            raise missing
        if revision != SCHEMA_REVISION:
            engine.dispose()
            raise StoreError(
                f"the database at {_where(url)} has schema {revision}, this watcher reads "
                f"{SCHEMA_REVISION}: run `watcher db upgrade`"
            )
        return cls(engine)

    def upgrade(self) -> None:
        """Apply the migrations the database lacks, one process at a time: a daemon and a CLI
        command started together on a new database would otherwise both create the tables.
        A database already at SCHEMA_REVISION is left alone without loading Alembic, which
        keeps every CLI command quick to start."""
        with _migration_lock(self.engine) as connection:
            # Read under the lock: a process that waited finds the schema its holder made.
            if schema_revision(connection) == SCHEMA_REVISION:
                return
            connection.rollback()  # the read's transaction; the migration runs in its own
            from alembic import command  # noqa: PLC0415  (only when there is something to do)
            from alembic.config import Config as AlembicConfig  # noqa: PLC0415

            config = AlembicConfig()
            config.set_main_option(
                "script_location", str(resources.files("watcher.store") / "migrations")
            )
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> str | None:
        """Why the database does not answer a trivial query (one line), or None if it does."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1").scalar()
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            return first_line(exc)
        return None

    def leases(self, holder: str, ttl: timedelta) -> Leases | None:
        """What several daemons sharing this database coordinate through, if it can be shared:
        PostgreSQL can; a SQLite database belongs to one daemon (None)."""
        if self.engine.dialect.name != "postgresql":
            return None
        return Leases(self.engine, holder, ttl)

    # -- the state a check starts from ---------------------------------------------------


def schema_revision(connection: Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    current = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return None if current is None else str(current)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection, held while no other process can be migrating this database."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        # Taken before connecting: the first connection to a new file already writes (it turns
        # WAL on), and two of them at once fail with "database is locked".
        path = Path(database)
        with _file_lock(path.with_name(path.name + ".migrate.lock")), engine.connect() as conn:
            yield conn
    elif engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            # A session lock, not a transaction one: it has to outlive the read's transaction
            # and the migration's, and it ends with the session if this process dies.
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
            connection.commit()
            try:
                yield connection
            finally:
                try:
                    connection.rollback()
                    connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
                    connection.commit()
                except sa.exc.SQLAlchemyError:
                    # Never back into the pool still holding the lock: closing the session
                    # drops it.
                    connection.invalidate()
    else:
        with engine.connect() as connection:
            yield connection


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Waits for as long as another process migrates; the system drops the lock when its
    holder ends, however it ends, so a crashed migration never blocks the next start."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting: another process is migrating this database (lock %s)", path)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def make_engine(url: str, *, create: bool = True) -> Engine:
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if create and database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets the CLI read while the daemon writes; NORMAL is durable at each
            # checkpoint and never corrupts, which is what a watcher needs.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _where(url: str) -> str:
    """A database as a user finds it: its file, else its URL without the password."""
    try:
        return str(sa.engine.make_url(url).database) if url.startswith("sqlite") else safe_url(url)
    except sa.exc.ArgumentError:
        return "(unparsable URL)"


def safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "(unparsable URL)"


def driver_missing(url: str, exc: ImportError) -> str:
    """The database's driver is an optional extra of the watcher: how to install it."""
    hint = " (pip install '.[postgres]' in the watcher's checkout)" if "postgres" in url else ""
    return f"database {safe_url(url)}: its driver {exc.name or exc} is not installed{hint}"


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
