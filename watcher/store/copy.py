"""`watcher db copy`: every row of every table into an empty database, ids kept (links and
subscriptions' watermarks cite them), read from one snapshot of the source.

The target's schema is made by the migrations, as any new database's is; the rows then go in
one transaction, so a copy that fails leaves the target empty (its schema only) and can simply
be run again.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from watcher.errors import CopyRefused, StoreError
from watcher.store import search, tables  # noqa: F401  (the tables on SQLModel.metadata)
from watcher.store.snapshot import snapshot
from watcher.store.store import (
    SCHEMA_REVISION,
    Store,
    driver_missing,
    first_line,
    make_engine,
    safe_url,
    schema_revision,
)

BATCH = 1000  # rows read and written at a time: memory stays flat however big the database


def copy_database(source: Store, target_url: str) -> dict[str, int]:
    """Copies `source` into the empty database at `target_url`; the rows of each table."""
    target = _open_target(target_url)
    try:
        _refuse_unless_empty(target, target_url)
        try:
            Store(target).upgrade()
            return _copy_rows(source.engine, target)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(
                _hide(f"copy to {safe_url(target_url)}: {first_line(exc)}", target_url)
            ) from None
    finally:
        target.dispose()


def _open_target(url: str) -> Engine:
    try:
        sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise CopyRefused(
            "the target is not a database URL (e.g. postgresql+psycopg://user@host/db)"
        ) from None
    try:
        engine = make_engine(url)
        with engine.connect():
            pass
    except sa.exc.SQLAlchemyError as exc:
        raise CopyRefused(_hide(f"target {safe_url(url)}: {first_line(exc)}", url)) from None
    except ImportError as exc:
        raise CopyRefused(driver_missing(url, exc)) from None
    return engine


def _refuse_unless_empty(target: Engine, url: str) -> None:
    """An empty database, or one the migrations made with not a row in it yet."""
    with target.connect() as connection:
        # the search index is rebuilt from the versions, never copied: the target's is checked
        # for rows as the versions are
        names = {
            n for n in sa.inspect(connection).get_table_names() if not search.is_index_table(n)
        }
        if not names:
            return
        ours = {table.name for table in _tables()} | {"alembic_version"}
        if names == ours and schema_revision(connection) == SCHEMA_REVISION:
            filled = [t.name for t in _tables() if _count(connection, t)]
            if not filled:
                return
            raise CopyRefused(
                f"the target {safe_url(url)} is not empty (rows in {', '.join(filled)}): "
                "copy into an empty database"
            )
    raise CopyRefused(
        f"the target {safe_url(url)} is not empty (tables: {', '.join(sorted(names))}): "
        "copy into an empty database"
    )


def _copy_rows(source: Engine, target: Engine) -> dict[str, int]:
    copied: dict[str, int] = {}
    with snapshot(source) as reading, target.begin() as writing:
        expected = {table.name: _count(reading, table) for table in _tables()}
        for table in _tables():  # parents before the rows that point at them
            rows = reading.execute(sa.select(table).order_by(*table.primary_key.columns))
            while batch := rows.fetchmany(BATCH):
                writing.execute(sa.insert(table), [row._asdict() for row in batch])
        if writing.dialect.name == "postgresql":
            _advance_sequences(writing)
        # each engine indexes in its own way: the target's index is made from the copied versions
        search.rebuild(writing)
        copied = {table.name: _count(writing, table) for table in _tables()}
    if copied != expected:
        differ = [
            f"{name} {expected[name]} -> {copied[name]}"
            for name in expected
            if copied[name] != expected[name]
        ]
        raise StoreError(f"copy: rows differ after copying: {', '.join(differ)}")
    return copied


def _advance_sequences(connection: Connection) -> None:
    """Rows came in with their ids: the next id the database hands out follows the largest."""
    for table in _tables():
        column = table.c.get("id")
        if column is None or not column.autoincrement or not isinstance(column.type, sa.Integer):
            continue
        sequence = sa.func.pg_get_serial_sequence(table.name, column.name)
        following = sa.select(sa.func.coalesce(sa.func.max(column), 0) + 1).scalar_subquery()
        connection.execute(sa.select(sa.func.setval(sequence, following, False)))


def _tables() -> list[sa.Table]:
    return list(SQLModel.metadata.sorted_tables)


def _count(connection: Connection, table: sa.Table) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _hide(message: str, url: str) -> str:
    """A driver's message never shows the target's password, whatever it quotes."""
    try:
        password = sa.engine.make_url(url).password
    except (sa.exc.ArgumentError, ValueError):
        return message
    return message.replace(str(password), "***") if password else message
