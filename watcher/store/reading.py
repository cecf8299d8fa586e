"""What the CLI, the feeds and the mail read: changes, releases, histories, statuses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from watcher.models import (
    ChangeEntry,
    ChangeKind,
    ChangeView,
    CheckResult,
    CheckStatus,
    Document,
    Origin,
    ReleaseHistory,
    ReleaseStatus,
    ReleaseSummary,
    SourceStatus,
    VersionView,
)
from watcher.store.attachments import stored_attachments
from watcher.store.tables import (
    ATTACHMENT,
    CHANGE,
    HEALTH_EVENT,
    RELEASE,
    RELEASE_TOPIC,
    SOURCE,
    VERSION,
    ChangeRow,
    CheckRunRow,
    ReleaseRow,
    ReleaseTopicRow,
    SourceRow,
    VersionRow,
)
from watcher.story import CopyNote, StoryMember
from watcher.urls import canonical_url


class Reading:
    engine: Engine

    def recent_changes(self, limit: int, topic: str | None = None) -> list[ChangeEntry]:
        """The newest changes (by feed date), of every release or of a topic's releases."""
        query = changes_query()
        if topic is not None:
            query = query.where(
                sa.exists().where(
                    RELEASE_TOPIC.c.release_id == about_release(),
                    RELEASE_TOPIC.c.topic == topic,
                )
            )
        query = query.order_by(CHANGE.c.feed_date.desc(), CHANGE.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [change_entry(row) for row in connection.execute(query)]

    def releases(
        self, source: str | None = None, topic: str | None = None, *, limit: int | None = None
    ) -> list[ReleaseSummary]:
        """Newest first; the `limit` newest when given."""
        with Session(self.engine) as session:
            query = select(ReleaseRow, SourceRow.name).join(
                SourceRow, col(SourceRow.id) == ReleaseRow.source_id
            )
            if source is not None:
                query = query.where(SourceRow.name == source)
            if topic is not None:
                query = query.join(
                    ReleaseTopicRow,
                    sa.and_(
                        col(ReleaseTopicRow.release_id) == ReleaseRow.id,
                        col(ReleaseTopicRow.topic) == topic,
                    ),
                )
            query = query.order_by(
                col(ReleaseRow.published).desc().nulls_last(), col(ReleaseRow.id).desc()
            )
            if limit is not None:
                query = query.limit(limit)
            return [summary_from_row(row, name) for row, name in session.exec(query).all()]

    def history(self, id_or_url: str) -> ReleaseHistory | None:
        with Session(self.engine) as session:
            query = select(ReleaseRow, SourceRow.name).join(
                SourceRow, col(SourceRow.id) == ReleaseRow.source_id
            )
            if id_or_url.isdigit():
                query = query.where(ReleaseRow.id == int(id_or_url))
            else:
                query = query.where(ReleaseRow.canonical == canonical_url(id_or_url))
            found = session.exec(query.order_by(col(ReleaseRow.id))).first()
            if found is None:
                return None
            release, name = found
            versions = session.exec(
                select(VersionRow)
                .where(VersionRow.release_id == release.id)
                .order_by(col(VersionRow.number))
            ).all()
            numbers = {v.id: v.number for v in versions}
            # a copy's changes are its origin's history too (it was also published, it diverged)
            changes = session.exec(
                select(ChangeRow)
                .where(
                    sa.or_(
                        col(ChangeRow.release_id) == release.id,
                        col(ChangeRow.related_id) == release.id,
                    )
                )
                .order_by(col(ChangeRow.id))
            ).all()
            return ReleaseHistory(
                release=summary_from_row(release, name),
                versions=tuple(_version_view(v) for v in versions),
                changes=tuple(
                    ChangeView(
                        uid=c.uid,
                        kind=ChangeKind(c.kind),
                        detected_at=c.detected_at,
                        version=numbers.get(c.version_id) if c.version_id else None,
                        diff=c.diff,
                    )
                    for c in changes
                ),
                story=self._story(session, release.story_id),
                attachment_failures={
                    row.url: row.error
                    for row in session.execute(
                        sa.select(ATTACHMENT.c.url, ATTACHMENT.c.error).where(
                            ATTACHMENT.c.release_id == release.id, ATTACHMENT.c.error.is_not(None)
                        )
                    )
                },
            )

    def _story(self, session: Session, story_id: int | None) -> tuple[StoryMember, ...]:
        if story_id is None:
            return ()
        rows = session.execute(
            sa.select(
                RELEASE.c.id,
                SOURCE.c.name,
                RELEASE.c.url,
                RELEASE.c.title,
                RELEASE.c.published,
                RELEASE.c.first_seen,
                RELEASE.c.copy_of,
                RELEASE.c.similarity,
            )
            .join(SOURCE, SOURCE.c.id == RELEASE.c.source_id)
            .where(RELEASE.c.story_id == story_id)
            .order_by(RELEASE.c.id)
        )
        return tuple(StoryMember(*row) for row in rows)

    def check_runs(self, source: str) -> list[CheckResult]:
        """Every check of a source, oldest first."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(CheckRunRow)
                .join(SourceRow, col(SourceRow.id) == CheckRunRow.source_id)
                .where(SourceRow.name == source)
                .order_by(col(CheckRunRow.id))
            ).all()
            return [_run_result(row, source) for row in rows]

    def feeds_marker(self) -> tuple[int, ...]:
        """Moves whenever what the feeds show may have changed (a change, a health event,
        topics matched again), whichever process wrote it."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(
                    sa.select(sa.func.max(CHANGE.c.id)).scalar_subquery(),
                    sa.select(sa.func.max(HEALTH_EVENT.c.id)).scalar_subquery(),
                    sa.select(sa.func.max(RELEASE_TOPIC.c.id)).scalar_subquery(),
                    sa.select(sa.func.count()).select_from(RELEASE_TOPIC).scalar_subquery(),
                )
            ).one()
            return tuple(int(value or 0) for value in row)

    def statuses(self) -> list[SourceStatus]:
        with Session(self.engine) as session:
            counts = dict(
                session.exec(
                    select(ReleaseRow.source_id, func.count()).group_by(col(ReleaseRow.source_id))
                ).all()
            )
            out = []
            for source in session.exec(select(SourceRow).order_by(SourceRow.name)).all():
                run = session.exec(
                    select(CheckRunRow)
                    .where(CheckRunRow.source_id == source.id)
                    .order_by(col(CheckRunRow.id).desc())
                ).first()
                out.append(
                    SourceStatus(
                        name=source.name,
                        kind=source.kind,
                        baseline_done=source.baseline_done,
                        releases=counts.get(source.id or 0, 0),
                        last_success_at=source.last_success_at,
                        consecutive_failures=source.consecutive_failures,
                        last_error=source.last_error,
                        deferred_until=source.deferred_until,
                        last_run=_run_result(run, source.name) if run else None,
                        running_since=source.check_started_at,
                    )
                )
            return out


def _version_view(row: VersionRow) -> VersionView:
    return VersionView(
        number=row.number,
        created_at=row.created_at,
        title=row.title,
        published=row.published,
        text=row.text,
        attachments=stored_attachments(row.attachments),
        origin=Origin(row.origin),
    )


def summary_from_row(row: Any, source: str) -> ReleaseSummary:
    """From a release row, ORM or Core."""
    assert row.id is not None
    return ReleaseSummary(
        id=row.id,
        source=source,
        key=row.key,
        url=row.url,
        title=row.title,
        published=row.published,
        status=ReleaseStatus(row.status),
        versions=row.versions,
        first_seen=row.first_seen,
        last_changed=row.last_changed,
        last_seen=row.last_seen,
        story_id=row.story_id,
        copy_of=row.copy_of,
        similarity=row.similarity,
    )


def _run_result(row: CheckRunRow, source: str) -> CheckResult:
    return CheckResult(
        source=source,
        status=CheckStatus(row.status),
        started_at=row.started_at,
        seconds=(row.finished_at - row.started_at).total_seconds(),
        requests=row.requests,
        not_modified=row.not_modified,
        counts={
            ChangeKind.NEW: row.new,
            ChangeKind.EDITED: row.edited,
            ChangeKind.REMOVED: row.removed,
            ChangeKind.RESTORED: row.restored,
        },
        failed_pages=row.failed_pages,
        error=row.error,
        notes=tuple(row.notes.splitlines()) if row.notes else (),
        failed_items=row.failed_items,
        runner=row.runner,
        attachment_requests=row.attachment_requests,
    )


_PREVIOUS = VERSION.alias("previous")


def changes_query() -> sa.Select[Any]:
    """Changes with what a reader sees of them: source, publication date, the version made and
    the one before it (which an edit's diff compares with). Every reader of news (the feeds,
    the mail, the latest changes page) reads through here: a backfill's changes are history,
    not news, and are left out (a release's own history still shows them)."""
    return (
        sa.select(
            CHANGE,
            SOURCE.c.name.label("source_name"),
            RELEASE.c.published,
            VERSION.c.html.label("version_html"),
            VERSION.c.text.label("version_text"),
            VERSION.c.title.label("version_title"),
            VERSION.c.published.label("version_published"),
            VERSION.c.attachments.label("version_attachments"),
            _PREVIOUS.c.title.label("previous_title"),
            _PREVIOUS.c.text.label("previous_text"),
            _PREVIOUS.c.published.label("previous_published"),
            _PREVIOUS.c.attachments.label("previous_attachments"),
        )
        .join(SOURCE, SOURCE.c.id == CHANGE.c.source_id)
        .join(RELEASE, RELEASE.c.id == CHANGE.c.release_id)
        .outerjoin(VERSION, VERSION.c.id == CHANGE.c.version_id)
        .outerjoin(
            _PREVIOUS,
            sa.and_(
                _PREVIOUS.c.release_id == CHANGE.c.release_id,
                _PREVIOUS.c.number == VERSION.c.number - 1,
            ),
        )
        .where(CHANGE.c.kind != ChangeKind.BACKFILLED.value)
    )


def about_release() -> sa.ColumnElement[Any]:
    """The release whose topics a change is filed under: a copy's change, under its story's
    origin's (the feeds and subscriptions of the origin's topics hear of its copies)."""
    return sa.func.coalesce(CHANGE.c.related_id, CHANGE.c.release_id)


def change_entry(row: Any, topics: Sequence[str] = ()) -> ChangeEntry:
    """A row of `changes_query`, as feeds and mail show it."""
    return ChangeEntry(
        uid=row.uid,
        kind=ChangeKind(row.kind),
        source=row.source_name,
        release_id=row.release_id,
        url=row.url,
        title=row.title,
        detected_at=row.detected_at,
        feed_date=row.feed_date,
        published=row.published,
        diff=row.diff,
        html=row.version_html or "",
        baseline=row.baseline,
        id=row.id,
        text=row.version_text or "",
        topics=tuple(sorted(topics)),
        related_id=row.related_id,
        note=CopyNote.from_json(row.note),
        before=_document(
            row.previous_title, row.previous_text, row.previous_published, row.previous_attachments
        ),
        after=_document(
            row.version_title, row.version_text, row.version_published, row.version_attachments
        ),
    )


def _document(
    title: str | None, text: str | None, published: Any, attachments: Any
) -> Document | None:
    if title is None or text is None:
        return None  # no such version (a NEW change has no version before it)
    return Document(
        title=title,
        text=text,
        published=published,
        attachments=stored_attachments(attachments),
    )
