"""One consistent view of a database for a long read (a copy, an export), whatever a check
writes meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that sees the database as it was when the read began, whatever another
    process (a `watcher check`) writes meanwhile. It writes nothing."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            # The driver begins transactions only before writes: without this, each SELECT
            # would see the database of its own moment. In WAL mode, writers go on meanwhile.
            connection.exec_driver_sql("BEGIN")
            try:
                yield connection
            finally:
                connection.rollback()
    else:
        with (
            engine.connect().execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            ) as connection,
            connection.begin(),
        ):
            yield connection
