"""A page's validators (ETag, Last-Modified, the body's hash) kept per source and URL, for the
next request to be conditional."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from watcher.models import Validators
from watcher.store.tables import ETAG_LENGTH, LAST_MODIFIED_LENGTH, VALIDATOR, unstorable_url

_FIELDS = ("etag", "last_modified", "body_hash", "derived", "updated_at")
_UPDATE = sa.update(VALIDATOR).where(
    VALIDATOR.c.source_id == sa.bindparam("sid"), VALIDATOR.c.url == sa.bindparam("u")
)


@cache
def _upsert(dialect: str) -> Any:
    """One statement where the database has INSERT ... ON CONFLICT (SQLite, PostgreSQL), built
    the first time it is needed: importing a dialect's module costs every command start-up."""
    statement: Any
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite  # noqa: PLC0415

        statement = sqlite.insert(VALIDATOR)
    elif dialect == "postgresql":
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415

        statement = postgresql.insert(VALIDATOR)
    else:
        return None
    changes = {field: statement.excluded[field] for field in _FIELDS}
    return statement.on_conflict_do_update(index_elements=["source_id", "url"], set_=changes)


def upsert_validators(
    connection: sa.Connection,
    source_id: int,
    url: str,
    validators: Validators,
    derived: Any,
    now: datetime,
) -> None:
    if unstorable_url(url):
        return  # not kept: the page is simply read again in full next time
    values = {
        # a validator too long to keep is dropped: the next request is unconditional
        "etag": fitting(validators.etag, ETAG_LENGTH),
        "last_modified": fitting(validators.last_modified, LAST_MODIFIED_LENGTH),
        "body_hash": validators.body_hash,
        "derived": derived,
        "updated_at": now,
    }
    upsert = _upsert(connection.dialect.name)
    if upsert is not None:
        connection.execute(upsert, {"source_id": source_id, "url": url, **values})
        return
    updated = connection.execute(_UPDATE, {"sid": source_id, "u": url, **values})
    if updated.rowcount == 0:
        connection.execute(sa.insert(VALIDATOR), {"source_id": source_id, "url": url, **values})


def fitting(value: str | None, length: int) -> str | None:
    """The value, or None when it is too long for its column."""
    return value if value is None or len(value) <= length else None
