"""What the CLI, the feeds and (later) the web view read: changes, releases, histories."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from watcher.models import (
    Attachment,
    ChangeEntry,
    ChangeKind,
    ChangeView,
    CheckResult,
    CheckStatus,
    Origin,
    ReleaseHistory,
    ReleaseStatus,
    ReleaseSummary,
    SourceStatus,
    VersionView,
)
from watcher.store.tables import (
    ChangeRow,
    CheckRunRow,
    ReleaseRow,
    ReleaseTopicRow,
    SourceRow,
    VersionRow,
)
from watcher.urls import canonical_url


class Reading:
    engine: Engine

    def recent_changes(self, limit: int, topic: str | None = None) -> list[ChangeEntry]:
        """The newest changes (by feed date), of every release or of a topic's releases."""
        with Session(self.engine) as session:
            query = (
                select(ChangeRow, SourceRow.name, ReleaseRow.published, VersionRow.html)
                .join(SourceRow, col(SourceRow.id) == ChangeRow.source_id)
                .join(ReleaseRow, col(ReleaseRow.id) == ChangeRow.release_id)
                .outerjoin(VersionRow, col(VersionRow.id) == ChangeRow.version_id)
            )
            if topic is not None:
                query = query.join(
                    ReleaseTopicRow,
                    sa.and_(
                        col(ReleaseTopicRow.release_id) == ChangeRow.release_id,
                        col(ReleaseTopicRow.topic) == topic,
                    ),
                )
            rows = session.exec(
                query.order_by(col(ChangeRow.feed_date).desc(), col(ChangeRow.id).desc()).limit(
                    limit
                )
            ).all()
            return [
                ChangeEntry(
                    uid=change.uid,
                    kind=ChangeKind(change.kind),
                    source=source,
                    release_id=change.release_id,
                    url=change.url,
                    title=change.title,
                    detected_at=change.detected_at,
                    feed_date=change.feed_date,
                    published=published,
                    diff=change.diff,
                    html=html or "",
                    baseline=change.baseline,
                    id=change.id or 0,
                )
                for change, source, published, html in rows
            ]

    def releases(self, source: str | None = None, topic: str | None = None) -> list[ReleaseSummary]:
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
            changes = session.exec(
                select(ChangeRow)
                .where(ChangeRow.release_id == release.id)
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
            )

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
        attachments=tuple(Attachment(a["url"], a["label"]) for a in row.attachments),
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
    )
