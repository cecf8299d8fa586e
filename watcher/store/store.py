"""Sessions, migrations and every query the program makes.

A release, its new version and its change are written in one transaction, so an interruption
loses at most the release in flight; nothing is ever deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from watcher.errors import StoreError
from watcher.models import (
    Attachment,
    Change,
    ChangeEntry,
    ChangeKind,
    ChangeView,
    CheckResult,
    CheckStatus,
    KnownRelease,
    Origin,
    ReleaseHistory,
    ReleaseSnapshot,
    ReleaseStatus,
    ReleaseSummary,
    SourceStatus,
    SourceView,
    Validators,
    Verdict,
    VersionRecord,
    VersionView,
)
from watcher.store.tables import (
    ChangeRow,
    CheckRunRow,
    ReleaseRow,
    SourceRow,
    ValidatorRow,
    VersionRow,
)
from watcher.urls import canonical_url

SQLITE_BUSY_TIMEOUT_MS = 15_000
SCHEMA_REVISION = "0001"  # the newest migration in store/migrations/versions
RELEASE = cast(sa.Table, ReleaseRow.__table__)  # type: ignore[attr-defined]
VERSION = cast(sa.Table, VersionRow.__table__)  # type: ignore[attr-defined]
CHANGE = cast(sa.Table, ChangeRow.__table__)  # type: ignore[attr-defined]
VALIDATOR = cast(sa.Table, ValidatorRow.__table__)  # type: ignore[attr-defined]
# The hot path's statements are built once and given their values as parameters, so that
# SQLAlchemy compiles each of them once instead of once per release.
_LATEST_VERSION = (
    sa.select(VERSION)
    .where(VERSION.c.release_id == sa.bindparam("rid"))
    .order_by(VERSION.c.number.desc())
    .limit(1)
)
# By key; else by URL, where one side does not know the WordPress post id: a post read from a
# page without a shortlink and the same post read through the API are one release.
_FIND_RELEASE = (
    sa.select(RELEASE.c.id, RELEASE.c.key, RELEASE.c.status, RELEASE.c.versions)
    .where(
        RELEASE.c.source_id == sa.bindparam("sid"),
        sa.or_(
            RELEASE.c.key == sa.bindparam("k"),
            sa.and_(
                RELEASE.c.canonical == sa.bindparam("c"),
                sa.or_(sa.bindparam("wp", type_=sa.Integer).is_(None), RELEASE.c.wp_id.is_(None)),
            ),
        ),
    )
    .order_by(sa.case((RELEASE.c.key == sa.bindparam("k"), 0), else_=1))
    .limit(1)
)
_UPDATE_RELEASE = sa.update(RELEASE).where(RELEASE.c.id == sa.bindparam("rid"))
_VALIDATOR_FIELDS = ("etag", "last_modified", "body_hash", "derived", "updated_at")
# One statement where the database has INSERT ... ON CONFLICT (SQLite, PostgreSQL).


def _upsert(insert: Any) -> Any:
    statement = insert(VALIDATOR)
    changes = {field: statement.excluded[field] for field in _VALIDATOR_FIELDS}
    return statement.on_conflict_do_update(index_elements=["source_id", "url"], set_=changes)


_UPSERT_VALIDATOR = {"sqlite": _upsert(sqlite.insert), "postgresql": _upsert(postgresql.insert)}
_UPDATE_VALIDATOR = sa.update(VALIDATOR).where(
    VALIDATOR.c.source_id == sa.bindparam("sid"), VALIDATOR.c.url == sa.bindparam("u")
)


@dataclass(frozen=True, slots=True)
class Previous:
    version: VersionRecord | None
    status: ReleaseStatus | None


class Store:
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

    def source_view(self, name: str, kind: str, now: datetime) -> tuple[int, SourceView]:
        with Session(self.engine) as session, session.begin():
            source = session.exec(select(SourceRow).where(SourceRow.name == name)).first()
            if source is None:
                source = SourceRow(name=name, kind=kind, created_at=now)
                session.add(source)
                session.flush()
            assert source.id is not None
            releases = session.exec(
                select(ReleaseRow).where(ReleaseRow.source_id == source.id)
            ).all()
            known = {r.key: _known(r) for r in releases}
            validators: dict[str, Validators] = {}
            derived: dict[str, Any] = {}
            for row in session.exec(
                select(ValidatorRow).where(ValidatorRow.source_id == source.id)
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
            )
            return source.id, view

    def deferred_until(self, name: str) -> datetime | None:
        with Session(self.engine) as session:
            return session.exec(
                select(SourceRow.deferred_until).where(SourceRow.name == name)
            ).first()

    def record_observed(
        self,
        source_id: int,
        snapshot: ReleaseSnapshot,
        judge: Callable[[Previous], Verdict],
        *,
        now: datetime,
        page_url: str | None = None,
        validators: Validators | None = None,
    ) -> Verdict:
        """Read what is stored of the release, let `judge` decide, and write the release, its
        new version, its change and its page validators: all in one transaction.

        This is the hot path of a check (once per release read), so it speaks SQL directly."""
        with self.engine.begin() as connection:
            release = _find_release(connection, source_id, snapshot)
            previous = Previous(None, None)
            if release is not None:
                version = connection.execute(_LATEST_VERSION, {"rid": release.id}).first()
                record = _record_from_row(version) if version is not None else None
                previous = Previous(record, ReleaseStatus(release.status))
            verdict = judge(previous)
            # a reading without the post id does not demote a release known by its id
            key = release.key if release is not None and snapshot.wp_id is None else snapshot.key
            values: dict[str, Any] = {
                "key": key,
                "url": snapshot.url,
                "canonical": canonical_url(snapshot.url),
                "source_modified": snapshot.source_modified,
                "published": verdict.published,
                "status": ReleaseStatus.ACTIVE.value,
                "missing_count": 0,
                "last_seen": now,
            }
            if snapshot.wp_id is not None:
                values["wp_id"] = snapshot.wp_id
            if verdict.new_version:
                values["title"] = snapshot.title
                values["versions"] = (release.versions if release is not None else 0) + 1
            if verdict.change is not None:
                values["last_changed"] = now
            if release is None:
                values.update(source_id=source_id, first_seen=now, last_changed=now)
                values.setdefault("title", snapshot.title)
                release_id = _insert(connection, RELEASE, values)
            else:
                release_id = release.id
                connection.execute(_UPDATE_RELEASE, {"rid": release_id, **values})
            version_id = None
            if verdict.new_version:
                attachments = [{"url": a.url, "label": a.label} for a in snapshot.attachments]
                version_id = _insert(
                    connection,
                    VERSION,
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
            if verdict.change is not None:
                change = _change_values(verdict.change, source_id, release_id, version_id)
                connection.execute(sa.insert(CHANGE), change)
            if page_url and validators is not None:
                _upsert_validators(connection, source_id, page_url, validators, None, now)
            return verdict

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
                row = _change_values(change, source_id, release.id, None)
                row["title"] = release.title
                connection.execute(sa.insert(CHANGE), row)
            connection.execute(_UPDATE_RELEASE, {"rid": release.id, **values})
            return change

    def save_page_state(
        self, source_id: int, url: str, validators: Validators, derived: Any, now: datetime
    ) -> None:
        with self.engine.begin() as connection:
            _upsert_validators(connection, source_id, url, validators, derived, now)

    def finish_check(
        self,
        source_id: int,
        result: CheckResult,
        *,
        finished_at: datetime,
        cursor: Mapping[str, Any] | None,
        listed: Iterable[str] | None,
        completed: bool,
        deferred_until: datetime | None = None,
    ) -> None:
        """Record the run. A check that went through the whole source (even if some pages
        failed) also saves the cursor, the listing and the baseline flag; one that stopped
        early is simply done again."""
        with Session(self.engine) as session, session.begin():
            source = session.get(SourceRow, source_id)
            assert source is not None
            if completed:
                source.baseline_done = True
                if cursor is not None:
                    source.cursor = dict(cursor)
                if listed is not None:
                    _save_listed(session, source_id, set(listed))
            if result.status == CheckStatus.OK:
                source.consecutive_failures = 0
                source.last_success_at = finished_at
                source.last_error = None
            elif result.status == CheckStatus.FAILED:
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
                )
            )

    # -- reading ---------------------------------------------------------------------------

    def recent_changes(self, limit: int) -> list[ChangeEntry]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(ChangeRow, SourceRow.name, ReleaseRow.published, VersionRow.html)
                .join(SourceRow, col(SourceRow.id) == ChangeRow.source_id)
                .join(ReleaseRow, col(ReleaseRow.id) == ChangeRow.release_id)
                .outerjoin(VersionRow, col(VersionRow.id) == ChangeRow.version_id)
                .order_by(col(ChangeRow.feed_date).desc(), col(ChangeRow.id).desc())
                .limit(limit)
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
                )
                for change, source, published, html in rows
            ]

    def releases(self, source: str | None = None) -> list[ReleaseSummary]:
        with Session(self.engine) as session:
            query = select(ReleaseRow, SourceRow.name).join(
                SourceRow, col(SourceRow.id) == ReleaseRow.source_id
            )
            if source is not None:
                query = query.where(SourceRow.name == source)
            query = query.order_by(
                col(ReleaseRow.published).desc().nulls_last(), col(ReleaseRow.id).desc()
            )
            return [_summary(row, name) for row, name in session.exec(query).all()]

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
                release=_summary(release, name),
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


def _insert(connection: sa.Connection, table: sa.Table, values: Mapping[str, Any]) -> int:
    key = connection.execute(sa.insert(table), dict(values)).inserted_primary_key
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
        attachments=tuple(Attachment(a["url"], a["label"]) for a in row.attachments),
        content_hash=row.content_hash,
    )


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
    )


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


def _summary(row: ReleaseRow, source: str) -> ReleaseSummary:
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
    }


def _upsert_validators(
    connection: sa.Connection,
    source_id: int,
    url: str,
    validators: Validators,
    derived: Any,
    now: datetime,
) -> None:
    values = {
        "etag": validators.etag,
        "last_modified": validators.last_modified,
        "body_hash": validators.body_hash,
        "derived": derived,
        "updated_at": now,
    }
    dialect = connection.dialect.name
    if dialect in _UPSERT_VALIDATOR:
        connection.execute(
            _UPSERT_VALIDATOR[dialect], {"source_id": source_id, "url": url, **values}
        )
        return
    updated = connection.execute(_UPDATE_VALIDATOR, {"sid": source_id, "u": url, **values})
    if updated.rowcount == 0:
        connection.execute(sa.insert(VALIDATOR), {"source_id": source_id, "url": url, **values})


def _save_listed(session: Session, source_id: int, canonicals: set[str]) -> None:
    session.execute(
        sa.update(ReleaseRow)
        .where(col(ReleaseRow.source_id) == source_id)
        .values(listed=col(ReleaseRow.canonical).in_(canonicals) if canonicals else False)
    )


def safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(unparsable URL)"


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
