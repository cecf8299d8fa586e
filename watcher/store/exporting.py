"""What `watcher export` reads: every release with its versions, changes and topics, one release
at a time, from one snapshot of the database.

Four ordered streams (releases, versions, changes, topics, each by release id) are read side by
side and merged here, so memory holds one release's history, never the archive: the database
walks its indexes, PostgreSQL through server-side cursors, SQLite through its own cursors.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from watcher.models import (
    ChangeKind,
    ExportedChange,
    ExportedRelease,
    ExportedVersion,
    ExportFilter,
    Origin,
    ReleaseStatus,
)
from watcher.store.attachments import stored_attachments
from watcher.store.snapshot import snapshot
from watcher.store.tables import CHANGE, RELEASE, RELEASE_TOPIC, SOURCE, VERSION
from watcher.story import CopyNote

# Rows fetched at a time from each stream: enough to keep round trips few, few enough that a
# batch of versions (a few KB each, a PDF's text up to a million characters) stays small.
BATCH = 50

_STREAMING = {"stream_results": True, "yield_per": BATCH}


class Exporting:
    engine: Engine

    def stored_sources(self) -> list[str]:
        """The names of the sources the database holds releases of (or ever checked)."""
        with self.engine.connect() as connection:
            return list(connection.scalars(sa.select(SOURCE.c.name).order_by(SOURCE.c.name)))

    def exported_releases(self, wanted: ExportFilter) -> Generator[ExportedRelease, None, None]:
        """The releases `wanted` asks for, by id, each with its whole history. A generator:
        the database is read as it is consumed (close it, or read it to its end)."""
        with snapshot(self.engine) as connection:
            yield from _merged(connection, _release_ids(wanted))


def _release_ids(wanted: ExportFilter) -> sa.Select[Any] | None:
    """The ids of the releases wanted, for `IN (...)` in each stream (None: every release, each
    stream read straight down its index). On aliases of their own, so that no stream's tables
    are taken for theirs."""
    if wanted == ExportFilter():
        return None
    chosen, source = RELEASE.alias("chosen"), SOURCE.alias("chosen_source")
    topic, change = RELEASE_TOPIC.alias("chosen_topic"), CHANGE.alias("chosen_change")
    query = sa.select(chosen.c.id)
    if wanted.source is not None:
        query = query.join(source, source.c.id == chosen.c.source_id).where(
            source.c.name == wanted.source
        )
    if wanted.topic is not None:
        query = query.where(
            sa.exists().where(topic.c.release_id == chosen.c.id, topic.c.topic == wanted.topic)
        )
    if wanted.changed_since is not None:
        query = query.where(
            sa.exists().where(
                change.c.release_id == chosen.c.id, change.c.detected_at >= wanted.changed_since
            )
        )
    return query


def _merged(connection: Connection, chosen: sa.Select[Any] | None) -> Iterator[ExportedRelease]:
    releases = sa.select(RELEASE, SOURCE.c.name.label("source_name")).join(
        SOURCE, SOURCE.c.id == RELEASE.c.source_id
    )
    versions = sa.select(*(c for c in VERSION.c if c.name != "html"))
    changes = sa.select(CHANGE, VERSION.c.number.label("version_number")).outerjoin(
        VERSION, VERSION.c.id == CHANGE.c.version_id
    )
    topics = sa.select(RELEASE_TOPIC.c.release_id, RELEASE_TOPIC.c.topic, RELEASE_TOPIC.c.terms)

    def stream(query: sa.Select[Any], release_id: Any, *order: Any) -> _Cursor:
        if chosen is not None:
            query = query.where(release_id.in_(chosen))
        return _Cursor(
            iter(connection.execute(query.order_by(*order), execution_options=_STREAMING))
        )

    release_rows = stream(releases, RELEASE.c.id, RELEASE.c.id)
    version_rows = stream(versions, VERSION.c.release_id, VERSION.c.release_id, VERSION.c.number)
    change_rows = stream(changes, CHANGE.c.release_id, CHANGE.c.release_id, CHANGE.c.id)
    topic_rows = stream(
        topics, RELEASE_TOPIC.c.release_id, RELEASE_TOPIC.c.release_id, RELEASE_TOPIC.c.topic
    )
    for row in release_rows.rest():
        yield ExportedRelease(
            id=row.id,
            source=row.source_name,
            key=row.key,
            url=row.url,
            canonical=row.canonical,
            title=row.title,
            published=row.published,
            status=ReleaseStatus(row.status),
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            last_changed=row.last_changed,
            topics={t.topic: tuple(t.terms) for t in topic_rows.of(row.id)},
            versions=tuple(_version(v) for v in version_rows.of(row.id)),
            changes=tuple(_change(c) for c in change_rows.of(row.id)),
            story_id=row.story_id,
            copy_of=row.copy_of,
            similarity=row.similarity,
        )


class _Cursor:
    """A stream of rows ordered by release id, taken one release at a time."""

    def __init__(self, rows: Iterator[Any]) -> None:
        self._rows = rows
        self._next: Any = next(rows, None)

    def rest(self) -> Iterator[Any]:
        while self._next is not None:
            row, self._next = self._next, next(self._rows, None)
            yield row

    def of(self, release_id: int) -> list[Any]:
        """The rows of this release (those of releases before it, none, are passed over)."""
        found = []
        while self._next is not None and self._release(self._next) <= release_id:
            if self._release(self._next) == release_id:
                found.append(self._next)
            self._next = next(self._rows, None)
        return found

    @staticmethod
    def _release(row: Any) -> int:
        return int(row.release_id)


def _version(row: Any) -> ExportedVersion:
    return ExportedVersion(
        number=row.number,
        observed_at=row.created_at,
        title=row.title,
        published=row.published,
        text=row.text,
        attachments=stored_attachments(row.attachments),
        content_hash=row.content_hash,
        origin=Origin(row.origin),
    )


def _change(row: Any) -> ExportedChange:
    return ExportedChange(
        uid=row.uid,
        kind=ChangeKind(row.kind),
        detected_at=row.detected_at,
        version=row.version_number,
        baseline=row.baseline,
        diff=row.diff,
        related_id=row.related_id,
        note=CopyNote.from_json(row.note),
    )
