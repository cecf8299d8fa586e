"""INSERT ... ON CONFLICT DO NOTHING, on the engines that have it (SQLite, PostgreSQL).

Several processes may create the same row at once (daemons sharing a PostgreSQL database all
start by recording their topics and subscriptions): the first one's row stands, and the others'
inserts are no error. The dialect's module is imported when first needed, not at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa


def insert_unless_present(
    connection: sa.Connection, table: sa.Table, values: Mapping[str, Any]
) -> bool:
    """Inserts the row unless one with the same key exists (or is being inserted by another
    transaction, which this one then waits for); whether this one inserted it."""
    dialect = connection.dialect.name
    statement: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415

        statement = postgresql.insert(table).values(dict(values)).on_conflict_do_nothing()
    elif dialect == "sqlite":
        from sqlalchemy.dialects import sqlite  # noqa: PLC0415

        statement = sqlite.insert(table).values(dict(values)).on_conflict_do_nothing()
    else:
        raise NotImplementedError(f"no INSERT ... ON CONFLICT on {dialect}")
    return bool(connection.execute(statement).rowcount)
