"""The database: connection, migrations, and every query, grouped by who needs them.

Nothing is ever deleted: versions and changes are only added.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from watcher.errors import StoreError
from watcher.store.checks import CheckRecords
from watcher.store.deliveries import Deliveries
from watcher.store.health import Health
from watcher.store.reading import Reading
from watcher.store.topics import TopicIndex

SQLITE_BUSY_TIMEOUT_MS = 15_000
SCHEMA_REVISION = "0003"  # the newest migration in store/migrations/versions


class Store(CheckRecords, Reading, TopicIndex, Deliveries, Health):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Connect, and bring the schema up to date (every start does it; it is idempotent)."""
        try:
            engine = _engine(url)
            store = cls(engine)
            if upgrade:
                store.upgrade()
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"database {safe_url(url)}: {_first_line(exc)}") from None
        return store

    def upgrade(self) -> None:
        """Apply the migrations the database lacks. A database already at SCHEMA_REVISION is
        left alone without loading Alembic, which keeps every CLI command quick to start."""
        with self.engine.connect() as connection:
            if sa.inspect(connection).has_table("alembic_version"):
                current = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                if current.scalar() == SCHEMA_REVISION:
                    return
        from alembic import command  # noqa: PLC0415  (only when there is something to do)
        from alembic.config import Config as AlembicConfig  # noqa: PLC0415

        config = AlembicConfig()
        config.set_main_option(
            "script_location", str(resources.files("watcher.store") / "migrations")
        )
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()

    # -- the state a check starts from ---------------------------------------------------


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
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


def safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(unparsable URL)"


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
