"""What a check writes: one transaction per release (the release, its new version, its change
and its page validators together), so an interruption loses at most the release in flight.

This is the hot path of a check, so it speaks SQL through prebuilt statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from watcher.models import (
    AttachmentState,
    Change,
    ChangeKind,
    CheckResult,
    CheckStatus,
    CopyReading,
    KnownRelease,
    Linked,
    ReleaseSnapshot,
    ReleaseStatus,
    SourceView,
    Validators,
    Verdict,
    VersionRecord,
)
from watcher.store.attachments import (
    attachment_json,
    save_states,
    stored_attachments,
    usable_states,
)
from watcher.store.copies import serialised
from watcher.store.search import index_versions
from watcher.store.tables import (
    CHANGE,
    RELEASE,
    SOURCE,
    VALIDATOR,
    VERSION,
    CheckRunRow,
    ReleaseRow,
    SourceRow,
)
from watcher.store.topics import Matches, add_matches
from watcher.store.validators import upsert_validators
from watcher.urls import canonical_url

# The hot path's statements are built once and given their values as parameters, so that
# SQLAlchemy compiles each of them once instead of once per release.
_LATEST_VERSION = (
    sa.select(VERSION)
    .where(VERSION.c.release_id == sa.bindparam("rid"))
    .order_by(VERSION.c.number.desc())
    .limit(1)
)
# By key; else by URL, where one side does not know the WordPress post id: a post read from a
# page without a shortlink and the same post read through the API are one release. Two indexed
# lookups (by key, by canonical URL) joined, rather than one OR that databases answer by reading
# every release of the source: that made each release cost more the larger the archive.
_FOUND = (RELEASE.c.id, RELEASE.c.key, RELEASE.c.status, RELEASE.c.versions, RELEASE.c.first_seen)
_BY_KEY_OR_URL = sa.union_all(
    sa.select(*_FOUND, sa.literal_column("0").label("rank")).where(
        RELEASE.c.source_id == sa.bindparam("sid"), RELEASE.c.key == sa.bindparam("k")
    ),
    sa.select(*_FOUND, sa.literal_column("1").label("rank")).where(
        RELEASE.c.source_id == sa.bindparam("sid"),
        RELEASE.c.canonical == sa.bindparam("c"),
        sa.or_(sa.bindparam("wp", type_=sa.Integer).is_(None), RELEASE.c.wp_id.is_(None)),
    ),
).subquery()
_FIND_RELEASE = (
    sa.select(*(_BY_KEY_OR_URL.c[column.name] for column in _FOUND))
    .order_by(_BY_KEY_OR_URL.c.rank)
    .limit(1)
)
_UPDATE_RELEASE = sa.update(RELEASE).where(RELEASE.c.id == sa.bindparam("rid"))
_INSERT_RELEASE = sa.insert(RELEASE)
_INSERT_VERSION = sa.insert(VERSION)
_INSERT_CHANGE = sa.insert(CHANGE)


# the linking of copies (watcher/linking.py), run in a release's transaction
Link = Callable[[sa.Connection, CopyReading], Linked]


@dataclass(frozen=True, slots=True)
class Previous:
    version: VersionRecord | None
    status: ReleaseStatus | None


class CheckRecords:
    engine: Engine

    def source_view(self, name: str, kind: str, now: datetime) -> tuple[int, SourceView]:
        with Session(self.engine) as session, session.begin():
            source = session.exec(select(SourceRow).where(SourceRow.name == name)).first()
            if source is None:
                source = SourceRow(name=name, kind=kind, created_at=now)
                session.add(source)
                session.flush()
            assert source.id is not None
            # rows, not ORM objects: a source of 10,000 releases is read at every check, and
            # their objects cost three times the memory and twice the time
            connection = session.connection()
            known = {
                row.key: _known(row)
                for row in connection.execute(
                    sa.select(*(RELEASE.c[name] for name in _KNOWN_COLUMNS)).where(
                        RELEASE.c.source_id == source.id
                    )
                )
            }
            validators: dict[str, Validators] = {}
            derived: dict[str, Any] = {}
            for row in connection.execute(
                sa.select(
                    VALIDATOR.c.url,
                    VALIDATOR.c.etag,
                    VALIDATOR.c.last_modified,
                    VALIDATOR.c.body_hash,
                    VALIDATOR.c.derived,
                ).where(VALIDATOR.c.source_id == source.id)
            ):
                validators[row.url] = Validators(row.etag, row.last_modified, row.body_hash)
                if row.derived is not None:
                    derived[row.url] = row.derived
            view = SourceView(
                name=name,
                baseline_done=source.baseline_done,
                cursor=dict(source.cursor or {}),
                releases=known,
                by_canonical={k.canonical: k for k in known.values()},
                validators=validators,
                derived=derived,
                consecutive_failures=source.consecutive_failures,
                last_success_at=source.last_success_at,
                created_at=source.created_at,
                unhealthy_since=source.unhealthy_since,
            )
            return source.id, view

    def deferred_until(self, name: str) -> tuple[datetime | None, int]:
        """Until when a source waits (Retry-After, or backing off), and its failures in a row."""
        with Session(self.engine) as session:
            row = session.exec(
                select(SourceRow.deferred_until, SourceRow.consecutive_failures).where(
                    SourceRow.name == name
                )
            ).first()
            return (row[0], row[1]) if row else (None, 0)

    def record_observed(
        self,
        source_id: int,
        snapshot: ReleaseSnapshot,
        judge: Callable[[Previous], Verdict],
        *,
        now: datetime,
        page_url: str | None = None,
        validators: Validators | None = None,
        topics: Matches | None = None,
        attachment_states: Sequence[AttachmentState] = (),
        seen: bool = True,
        link: Link | None = None,
        source: str = "",
    ) -> Verdict:
        """Read what is stored of the release, let `judge` decide, and write the release, its
        new version, its change, the topics its new version adds, its page validators and how
        its attachments were asked for: all in one transaction. Not `seen`: only its
        attachments were read, not its page (which keeps its place in the revisit schedule).

        This is the hot path of a check (once per release read), so it speaks SQL directly."""
        with self.engine.begin() as connection:
            release = _find_release(connection, source_id, snapshot)
            previous = Previous(None, None)
            if release is not None:
                version = connection.execute(_LATEST_VERSION, {"rid": release.id}).first()
                record = _record_from_row(version) if version is not None else None
                previous = Previous(record, ReleaseStatus(release.status))
            verdict = judge(previous)
            if link is not None and verdict.new_version:
                # before any row is written; a reading that makes no version links nothing
                serialised(connection)
            values = _release_values(snapshot, verdict, release, now, seen=seen)
            if release is None:
                values.update(source_id=source_id, first_seen=now, last_changed=now)
                values.setdefault("title", snapshot.title)
                release_id = _insert(connection, _INSERT_RELEASE, values)
            else:
                release_id = release.id
                connection.execute(_UPDATE_RELEASE, {"rid": release_id, **values})
            version_id = None
            current = snapshot.attachments if verdict.attachments is None else verdict.attachments
            if verdict.new_version:
                attachments = attachment_json(current)
                version_id = _insert(
                    connection,
                    _INSERT_VERSION,
                    {
                        "release_id": release_id,
                        "number": values["versions"],
                        "created_at": now,
                        "content_hash": snapshot.content_hash,
                        "title": snapshot.title,
                        "published": verdict.published,
                        "text": snapshot.text,
                        "html": snapshot.html,
                        "attachments": attachments,
                        "origin": snapshot.origin.value,
                    },
                )
                index_versions(
                    connection,
                    [
                        {
                            "id": version_id,
                            "release_id": release_id,
                            "title": snapshot.title,
                            "text": snapshot.text,
                            "attachments": attachments,
                        }
                    ],
                )
            if link is not None and verdict.new_version:
                reading = CopyReading(
                    release_id=release_id,
                    source_id=source_id,
                    source=source,
                    version=values["versions"],
                    title=snapshot.title,
                    text=snapshot.text,
                    url=snapshot.url,
                    published=verdict.published,
                    first_seen=release.first_seen if release is not None else now,
                    change=verdict.change,
                    now=now,
                )
                verdict = _told(verdict, link(connection, reading))
            _write_changes(connection, verdict, source_id, release_id, version_id)
            if verdict.new_version and topics:
                add_matches(connection, release_id, topics, now)
            if page_url and validators is not None:
                upsert_validators(connection, source_id, page_url, validators, None, now)
            if attachment_states or (verdict.new_version and release is not None):
                kept = (a.url for a in current)
                save_states(connection, release_id, attachment_states, kept)
            return verdict

    def attachment_states(
        self, source_id: int, snapshot: ReleaseSnapshot
    ) -> dict[str, AttachmentState]:
        """How the stored release a reading is of asked for its attachments (none if new)."""
        with self.engine.connect() as connection:
            release = _find_release(connection, source_id, snapshot)
            if release is None:
                return {}
            version = connection.execute(_LATEST_VERSION, {"rid": release.id}).first()
            attachments = stored_attachments(version.attachments) if version is not None else ()
            return usable_states(connection, release.id, attachments)

    def check_started(self, source_id: int, at: datetime) -> None:
        """Noted so that `watcher status` can show a check under way (and one that runs past
        its deadline)."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(SOURCE).where(SOURCE.c.id == source_id).values(check_started_at=at)
            )

    def clear_running(self) -> None:
        """At a daemon's start: no check of this database is under way any more."""
        with self.engine.begin() as connection:
            connection.execute(sa.update(SOURCE).values(check_started_at=None))

    def save_unchanged(self, source_id: int, keys: Iterable[str], now: datetime) -> None:
        keys = list(keys)
        if not keys:
            return
        with Session(self.engine) as session, session.begin():
            for start in range(0, len(keys), 500):
                session.execute(
                    sa.update(ReleaseRow)
                    .where(col(ReleaseRow.source_id) == source_id)
                    .where(col(ReleaseRow.key).in_(keys[start : start + 500]))
                    .values(last_seen=now, missing_count=0)
                )

    def record_missing(
        self,
        source_id: int,
        key: str,
        judge: Callable[[KnownRelease], tuple[int, Change | None]],
        now: datetime,
    ) -> Change | None:
        """A release was not found: `judge` decides from what is stored now (not from the
        start of the check) how many misses that makes and whether it is removed."""
        with self.engine.begin() as connection:
            release = connection.execute(
                sa.select(RELEASE).where(RELEASE.c.source_id == source_id, RELEASE.c.key == key)
            ).first()
            if release is None:
                return None
            count, change = judge(_known(release))
            values: dict[str, Any] = {"missing_count": count}
            if change is not None:
                values.update(status=ReleaseStatus.REMOVED.value, last_changed=now)
                change = replace(change, title=release.title)  # the title it was known by
                connection.execute(
                    sa.insert(CHANGE), _change_values(change, source_id, release.id, None)
                )
            connection.execute(_UPDATE_RELEASE, {"rid": release.id, **values})
            return change

    def save_page_state(
        self, source_id: int, url: str, validators: Validators, derived: Any, now: datetime
    ) -> None:
        with self.engine.begin() as connection:
            upsert_validators(connection, source_id, url, validators, derived, now)

    def finish_check(
        self,
        source_id: int,
        result: CheckResult,
        *,
        finished_at: datetime,
        cursor: Mapping[str, Any] | None,
        listed: Iterable[str] | None,
        baseline_done: bool,
        deferred_until: datetime | None = None,
        runner: str | None = None,
    ) -> None:
        """Record the run (and which process ran it), and what the check got to keep: how far
        it got (the source kind's cursor), what its listing showed, whether its baseline is
        done. A check that failed keeps none of it, and is simply done again."""
        with Session(self.engine) as session, session.begin():
            source = session.get(SourceRow, source_id)
            assert source is not None
            source.check_started_at = None
            if cursor is not None:
                source.cursor = dict(cursor)
            if listed is not None:
                _save_listed(session, source_id, set(listed))
            if baseline_done:
                source.baseline_done = True
            if result.status == CheckStatus.OK:
                source.consecutive_failures = 0
                source.last_success_at = finished_at
                source.last_error = None
            elif result.status in (CheckStatus.FAILED, CheckStatus.DEFERRED):
                # a long Retry-After is a failure to read the source too (and shows as one)
                source.consecutive_failures += 1
                source.last_error = result.error
            source.deferred_until = deferred_until
            session.add(source)
            session.add(
                CheckRunRow(
                    source_id=source_id,
                    started_at=result.started_at,
                    finished_at=finished_at,
                    status=result.status,
                    new=result.count(ChangeKind.NEW),
                    edited=result.count(ChangeKind.EDITED),
                    removed=result.count(ChangeKind.REMOVED),
                    restored=result.count(ChangeKind.RESTORED),
                    requests=result.requests,
                    not_modified=result.not_modified,
                    failed_pages=result.failed_pages,
                    error=result.error,
                    notes="\n".join(result.notes) or None,
                    failed_items=result.failed_items,
                    runner=runner,
                    attachment_requests=result.attachment_requests,
                )
            )

    # -- reading ---------------------------------------------------------------------------


def _write_changes(
    connection: sa.Connection,
    verdict: Verdict,
    source_id: int,
    release_id: int,
    version_id: int | None,
) -> None:
    """The reading's change, and those linking found of its copies."""
    if verdict.change is not None:
        change = _change_values(verdict.change, source_id, release_id, version_id)
        connection.execute(_INSERT_CHANGE, change)
    for other in verdict.others:
        row = _change_values(other.change, other.source_id, other.release_id, None)
        connection.execute(_INSERT_CHANGE, row)


def _told(verdict: Verdict, linked: Linked) -> Verdict:
    """The verdict as the release's story tells it (watcher/linking.py)."""
    return replace(verdict, change=linked.change, others=linked.others)


def _release_values(
    snapshot: ReleaseSnapshot, verdict: Verdict, release: Any, now: datetime, *, seen: bool
) -> dict[str, Any]:
    """The release's columns after a reading (`release`: its row, None if new)."""
    # a reading without the post id does not demote a release known by its id
    key = release.key if release is not None and snapshot.wp_id is None else snapshot.key
    values: dict[str, Any] = {
        "key": key,
        "url": snapshot.url,
        "canonical": canonical_url(snapshot.url),
        "source_modified": snapshot.source_modified,
        "published": verdict.published,
    }
    if seen:  # else only its attachments were read: its page keeps its place in the schedule
        values.update(status=ReleaseStatus.ACTIVE.value, missing_count=0, last_seen=now)
    if snapshot.wp_id is not None:
        values["wp_id"] = snapshot.wp_id
    if verdict.new_version:
        values["title"] = snapshot.title
        values["versions"] = (release.versions if release is not None else 0) + 1
    if verdict.change is not None:
        values["last_changed"] = now
    return values


def _insert(connection: sa.Connection, insert: sa.Insert, values: Mapping[str, Any]) -> int:
    key = connection.execute(insert, dict(values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def _find_release(connection: sa.Connection, source_id: int, snapshot: ReleaseSnapshot) -> Any:
    parameters = {
        "sid": source_id,
        "k": snapshot.key,
        "wp": snapshot.wp_id,
        "c": canonical_url(snapshot.url),
    }
    return connection.execute(_FIND_RELEASE, parameters).first()


def _record_from_row(row: Any) -> VersionRecord:
    return VersionRecord(
        number=row.number,
        title=row.title,
        published=row.published,
        text=row.text,
        attachments=stored_attachments(row.attachments),
        content_hash=row.content_hash,
    )


_KNOWN_COLUMNS = (
    "key", "url", "canonical", "status", "missing_count", "wp_id", "source_modified", "listed",
    "last_seen", "published", "first_seen", "last_changed", "versions",
)  # fmt: skip


def _known(row: Any) -> KnownRelease:
    """From a release row, ORM or Core (the columns have the same names)."""
    return KnownRelease(
        key=row.key,
        url=row.url,
        canonical=row.canonical,
        status=ReleaseStatus(row.status),
        missing_count=row.missing_count,
        wp_id=row.wp_id,
        source_modified=row.source_modified,
        listed=row.listed,
        last_seen=row.last_seen,
        published=row.published,
        first_seen=row.first_seen,
        last_changed=row.last_changed,
        versions=row.versions,
    )


def _change_values(
    change: Change, source_id: int, release_id: int, version_id: int | None
) -> dict[str, Any]:
    return {
        "uid": str(uuid.uuid4()),
        "source_id": source_id,
        "release_id": release_id,
        "version_id": version_id,
        "kind": change.kind.value,
        "detected_at": change.detected_at,
        "feed_date": change.feed_date,
        "title": change.title,
        "url": change.url,
        "diff": change.diff,
        "baseline": change.baseline,
        "related_id": change.related_id,
        "note": change.note.to_json() if change.note else None,
    }


def _save_listed(session: Session, source_id: int, canonicals: set[str]) -> None:
    session.execute(
        sa.update(ReleaseRow)
        .where(col(ReleaseRow.source_id) == source_id)
        .values(listed=col(ReleaseRow.canonical).in_(canonicals) if canonicals else False)
    )
