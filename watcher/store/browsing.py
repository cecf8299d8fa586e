"""What the web pages read: changes and releases a page at a time, the topics of a page's
releases, and when each source's next check is due by the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from watcher.models import ChangeEntry, ReleaseFilter, ReleaseSummary
from watcher.store.reading import change_entry, changes_query, summary_from_row
from watcher.store.search import matching_releases
from watcher.store.tables import CHANGE, LEASE, RELEASE, RELEASE_TOPIC, SOURCE

SOURCE_LEASE_PREFIX = "source:"  # store/leases.py names a source's lease so


class Browsing:
    engine: Engine

    def change_page(
        self, *, offset: int, limit: int, source: str | None = None, topic: str | None = None
    ) -> list[ChangeEntry]:
        """The newest changes (by feed date, on its index), `limit` of them from `offset`,
        each with the topics its release is in."""
        query = changes_query()
        if source is not None:
            query = query.where(SOURCE.c.name == source)
        if topic is not None:
            query = query.where(_in_topic(CHANGE.c.release_id, topic))
        query = query.order_by(CHANGE.c.feed_date.desc(), CHANGE.c.id.desc())
        with self.engine.connect() as connection:
            rows = connection.execute(query.offset(offset).limit(limit)).all()
            topics = _topics(connection, [row.release_id for row in rows])
        return [change_entry(row, tuple(topics.get(row.release_id, {}))) for row in rows]

    def release_page(
        self, wanted: ReleaseFilter, *, offset: int, limit: int
    ) -> list[ReleaseSummary]:
        """Releases that last changed most recently first, as `wanted` narrows them."""
        query = (
            sa.select(RELEASE, SOURCE.c.name.label("source_name"))
            .join(SOURCE, SOURCE.c.id == RELEASE.c.source_id)
            .where(*_conditions(wanted, self.engine.dialect.name))
            .order_by(RELEASE.c.last_changed.desc(), RELEASE.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [summary_from_row(row, row.source_name) for row in connection.execute(query)]

    def topic_sizes(self) -> dict[str, int]:
        """How many releases each topic holds."""
        query = sa.select(RELEASE_TOPIC.c.topic, sa.func.count()).group_by(RELEASE_TOPIC.c.topic)
        with self.engine.connect() as connection:
            return dict(connection.execute(query).all())

    def next_due(self) -> dict[str, datetime]:
        """When each source's next check is due, where daemons sharing the database keep it
        (their leases; empty on a database no daemon shares)."""
        query = sa.select(LEASE.c.name, LEASE.c.next_due_at).where(
            LEASE.c.name.startswith(SOURCE_LEASE_PREFIX), LEASE.c.next_due_at.is_not(None)
        )
        with self.engine.connect() as connection:
            return {
                name.removeprefix(SOURCE_LEASE_PREFIX): due
                for name, due in connection.execute(query).all()
            }


def _in_topic(release_id: Any, topic: str) -> sa.ColumnElement[bool]:
    return sa.exists().where(
        RELEASE_TOPIC.c.release_id == release_id, RELEASE_TOPIC.c.topic == topic
    )


def _conditions(wanted: ReleaseFilter, dialect: str) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if wanted.search is not None:
        found = matching_releases(dialect, wanted.search, RELEASE.c.id)
        if found is not None:
            conditions.append(found)
    if wanted.source is not None:
        conditions.append(SOURCE.c.name == wanted.source)
    if wanted.topic is not None:
        conditions.append(_in_topic(RELEASE.c.id, wanted.topic))
    if wanted.kind is not None:
        conditions.append(
            sa.exists().where(CHANGE.c.release_id == RELEASE.c.id, CHANGE.c.kind == wanted.kind)
        )
    if wanted.status is not None:
        conditions.append(RELEASE.c.status == wanted.status)
    if wanted.since is not None:
        conditions.append(RELEASE.c.last_changed >= wanted.since)
    if wanted.until is not None:
        conditions.append(RELEASE.c.last_changed < wanted.until)
    return conditions


def _topics(connection: Any, release_ids: Sequence[int]) -> dict[int, dict[str, tuple[str, ...]]]:
    found: dict[int, dict[str, tuple[str, ...]]] = {}
    if not release_ids:
        return found
    query = (
        sa.select(RELEASE_TOPIC.c.release_id, RELEASE_TOPIC.c.topic, RELEASE_TOPIC.c.terms)
        .where(RELEASE_TOPIC.c.release_id.in_(set(release_ids)))
        .order_by(RELEASE_TOPIC.c.topic)
    )
    for release_id, topic, terms in connection.execute(query).all():
        found.setdefault(release_id, {})[topic] = tuple(terms)
    return found
