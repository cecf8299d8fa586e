"""The tables. History is append-only: versions and changes are never updated or deleted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the database keeps (SQLite keeps naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# What the columns keep. SQLite would take longer values, PostgreSQL refuses them: the limits
# hold on both, so a database behaves the same whichever engine it is on.
# Counted in UTF-8 bytes for a release's URLs: PostgreSQL indexes their whole value, and refuses
# an index entry over about 2,700 bytes. Longer than browsers and servers accept anyway.
URL_LENGTH = 2048
ETAG_LENGTH = 512
LAST_MODIFIED_LENGTH = 64  # an HTTP date is 29 characters


def unstorable_url(*urls: str) -> str | None:
    """Why a release with these URLs (its link, its canonical form) cannot be kept, or None."""
    longest = max(len(url.encode("utf-8", "surrogatepass")) for url in urls)
    if longest > URL_LENGTH:
        return f"its URL is {longest} bytes long, over the {URL_LENGTH} a release may have"
    return None


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UtcDateTime(), nullable=nullable, index=index))


class SourceRow(SQLModel, table=True):
    __tablename__ = "source"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    kind: str = Field(max_length=16)
    created_at: datetime = _when()
    baseline_done: bool = False
    cursor: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    deferred_until: datetime | None = _when(nullable=True)
    consecutive_failures: int = 0
    last_success_at: datetime | None = _when(nullable=True)
    last_error: str | None = None
    unhealthy_since: datetime | None = _when(nullable=True)  # reported unhealthy, not recovered
    check_started_at: datetime | None = _when(nullable=True)  # a check under way since then


class ReleaseRow(SQLModel, table=True):
    __tablename__ = "release"
    __table_args__ = (
        sa.UniqueConstraint("source_id", "key", name="uq_release_source_key"),
        sa.Index("ix_release_source_canonical", "source_id", "canonical"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    key: str = Field(max_length=URL_LENGTH)
    canonical: str = Field(max_length=URL_LENGTH, index=True)
    url: str = Field(max_length=URL_LENGTH)
    wp_id: int | None = None
    title: str = ""
    published: datetime | None = _when(nullable=True)
    status: str = Field(default="active", max_length=16)
    versions: int = 0
    first_seen: datetime = _when()
    last_seen: datetime = _when()
    last_changed: datetime = _when()
    missing_count: int = 0
    listed: bool = False
    source_modified: str | None = Field(default=None, max_length=32)
    # copies across sources (store/copies.py): the version whose bands `copy_band` holds; the
    # story it is in (the smallest release id of the story's releases when they were joined);
    # the release it was found to copy, and how alike; the last difference from its story's
    # origin that was reported (None: none, or it carries the origin's text again)
    signed_version: int | None = None
    story_id: int | None = Field(default=None, index=True)
    copy_of: int | None = None
    similarity: float | None = None
    divergence: str | None = Field(default=None, max_length=64)


class VersionRow(SQLModel, table=True):
    __tablename__ = "version"
    __table_args__ = (sa.UniqueConstraint("release_id", "number", name="uq_version_number"),)
    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    number: int
    created_at: datetime = _when()
    content_hash: str = Field(max_length=64)
    title: str
    published: datetime | None = _when(nullable=True)
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    html: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    attachments: list[dict[str, str]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    origin: str = Field(max_length=8)


class ChangeRow(SQLModel, table=True):
    __tablename__ = "change"
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(sa_column=sa.Column(sa.String(36), nullable=False, unique=True))
    source_id: int = Field(foreign_key="source.id", index=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    version_id: int | None = Field(default=None, foreign_key="version.id")
    kind: str = Field(max_length=16)
    detected_at: datetime = _when()
    feed_date: datetime = _when(index=True)
    title: str
    url: str = Field(max_length=URL_LENGTH)
    diff: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    baseline: bool = False
    # the other release of a copy's change (ALSO_PUBLISHED, DIVERGED: the story's origin), and
    # what the entry says of the releases involved, as they were when it was found
    related_id: int | None = Field(default=None, foreign_key="release.id", index=True)
    note: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))


class CopyBandRow(SQLModel, table=True):
    """A release's LSH band hashes (watcher/copies.py): releases sharing one are candidates."""

    __tablename__ = "copy_band"
    release_id: int = Field(foreign_key="release.id", primary_key=True)
    band: int = Field(primary_key=True)
    hash: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, index=True))


class ValidatorRow(SQLModel, table=True):
    __tablename__ = "http_validator"
    __table_args__ = (sa.UniqueConstraint("source_id", "url", name="uq_validator_url"),)
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    url: str = Field(max_length=URL_LENGTH)
    etag: str | None = Field(default=None, max_length=ETAG_LENGTH)
    last_modified: str | None = Field(default=None, max_length=LAST_MODIFIED_LENGTH)
    body_hash: str | None = Field(default=None, max_length=64)
    derived: Any = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    updated_at: datetime = _when()


class AttachmentRow(SQLModel, table=True):
    """How one attachment (a PDF) of a release was last asked for: the validators of the bytes
    whose text the release's latest version holds, when (None: never yet, its first text is
    still to come) and the reason its last reading failed. State, like http_validator: the
    texts themselves are in the versions."""

    __tablename__ = "attachment"
    __table_args__ = (sa.UniqueConstraint("release_id", "url", name="uq_attachment_url"),)
    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    url: str = Field(max_length=URL_LENGTH)
    etag: str | None = Field(default=None, max_length=ETAG_LENGTH)
    last_modified: str | None = Field(default=None, max_length=LAST_MODIFIED_LENGTH)
    body_hash: str | None = Field(default=None, max_length=64)
    checked_at: datetime | None = _when(nullable=True)
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class CheckRunRow(SQLModel, table=True):
    __tablename__ = "check_run"
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    started_at: datetime = _when()
    finished_at: datetime = _when()
    status: str = Field(max_length=16)
    new: int = 0
    edited: int = 0
    removed: int = 0
    restored: int = 0
    requests: int = 0
    not_modified: int = 0
    failed_pages: int = 0
    error: str | None = None
    notes: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    failed_items: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    runner: str | None = Field(default=None, max_length=200)  # the process that checked
    attachment_requests: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )


class HealthEventRow(SQLModel, table=True):
    """A source reported unhealthy (failing for too long) or recovered."""

    __tablename__ = "health_event"
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(sa_column=sa.Column(sa.String(36), nullable=False, unique=True))
    source: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)  # unhealthy | recovered
    at: datetime = _when(index=True)
    message: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    mailed: bool = False  # handed to the outbox for the admin (once)


class ReleaseTopicRow(SQLModel, table=True):
    """A release is in a topic when any of its versions matched; why is kept in `terms`."""

    __tablename__ = "release_topic"
    __table_args__ = (sa.UniqueConstraint("release_id", "topic", name="uq_release_topic"),)
    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    topic: str = Field(max_length=64, index=True)
    terms: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    matched_at: datetime = _when()


class TopicStateRow(SQLModel, table=True):
    """The definition each topic was last applied with, and since when it holds."""

    __tablename__ = "topic_state"
    name: str = Field(primary_key=True, max_length=64)
    fingerprint: str = Field(max_length=64)
    effective_from: datetime = _when()


class SubscriptionStateRow(SQLModel, table=True):
    """What a subscription has been given: every change up to `last_change_id`."""

    __tablename__ = "subscription_state"
    name: str = Field(primary_key=True, max_length=64)
    created_at: datetime = _when()
    last_change_id: int = 0
    last_digest_at: datetime | None = _when(nullable=True)


class OutboxRow(SQLModel, table=True):
    """A message fixed before it is sent (its Message-ID included), sent until it is sent."""

    __tablename__ = "outbox"
    id: int | None = Field(default=None, primary_key=True)
    subscription: str = Field(max_length=64, index=True)
    channel: str = Field(max_length=8)  # email | notify
    message_id: str = Field(sa_column=sa.Column(sa.String(255), nullable=False, unique=True))
    kind: str = Field(max_length=8)  # instant | digest
    created_at: datetime = _when()
    change_ids: list[int] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    recipients: list[str] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    subject: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    message: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(default="pending", max_length=8, index=True)  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = _when()
    last_error: str | None = None
    sent_at: datetime | None = _when(nullable=True)


class LeaseRow(SQLModel, table=True):
    """Who does a piece of work now, when several daemons share a PostgreSQL database: a
    source's checks (`source:<name>`) or the sending of mail (`mail`). A holder keeps its lease
    by renewing it before `expires_at`; past that, another daemon may take it. For a source,
    `next_due_at` is when its next check is due, whichever daemon does it."""

    __tablename__ = "lease"
    name: str = Field(primary_key=True, max_length=200)
    holder: str | None = Field(default=None, max_length=200)
    expires_at: datetime | None = _when(nullable=True)
    taken_at: datetime | None = _when(nullable=True)
    next_due_at: datetime | None = _when(nullable=True)


class HostRow(SQLModel, table=True):
    """One host's shared politeness: its row is locked while a request to it is admitted, and
    `next_start` is the earliest start of the next request (`min_delay` after the last)."""

    __tablename__ = "host"
    name: str = Field(primary_key=True, max_length=255)
    next_start: datetime = _when()


class HostSlotRow(SQLModel, table=True):
    """A request to `host` in flight, by `holder`, until it ends (or `expires_at`, should its
    daemon die meanwhile)."""

    __tablename__ = "host_slot"
    id: int | None = Field(default=None, primary_key=True)
    host: str = Field(max_length=255, index=True)
    holder: str = Field(max_length=200)
    expires_at: datetime = _when()


class BackfillRow(SQLModel, table=True):
    """Where `watcher backfill` of a source is: the date range it walks, the next page, whether
    it reached the end (JSON, its shape the source kind's: backfill.py). Apart from the
    source's row, whose cursor is the checks' own and is written back whole at each check."""

    __tablename__ = "backfill"
    source_id: int = Field(foreign_key="source.id", primary_key=True)
    position: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    updated_at: datetime = _when()


# The tables as SQLAlchemy Core sees them, for the statements of the hot paths.
RELEASE = cast(sa.Table, ReleaseRow.__table__)  # type: ignore[attr-defined]
VERSION = cast(sa.Table, VersionRow.__table__)  # type: ignore[attr-defined]
CHANGE = cast(sa.Table, ChangeRow.__table__)  # type: ignore[attr-defined]
VALIDATOR = cast(sa.Table, ValidatorRow.__table__)  # type: ignore[attr-defined]
SOURCE = cast(sa.Table, SourceRow.__table__)  # type: ignore[attr-defined]
RELEASE_TOPIC = cast(sa.Table, ReleaseTopicRow.__table__)  # type: ignore[attr-defined]
TOPIC_STATE = cast(sa.Table, TopicStateRow.__table__)  # type: ignore[attr-defined]
SUBSCRIPTION = cast(sa.Table, SubscriptionStateRow.__table__)  # type: ignore[attr-defined]
OUTBOX = cast(sa.Table, OutboxRow.__table__)  # type: ignore[attr-defined]
HEALTH_EVENT = cast(sa.Table, HealthEventRow.__table__)  # type: ignore[attr-defined]
LEASE = cast(sa.Table, LeaseRow.__table__)  # type: ignore[attr-defined]
HOST = cast(sa.Table, HostRow.__table__)  # type: ignore[attr-defined]
ATTACHMENT = cast(sa.Table, AttachmentRow.__table__)  # type: ignore[attr-defined]
HOST_SLOT = cast(sa.Table, HostSlotRow.__table__)  # type: ignore[attr-defined]
BACKFILL = cast(sa.Table, BackfillRow.__table__)  # type: ignore[attr-defined]
COPY_BAND = cast(sa.Table, CopyBandRow.__table__)  # type: ignore[attr-defined]
