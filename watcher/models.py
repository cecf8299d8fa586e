"""Plain values shared by every stage: enums and frozen dataclasses, no I/O, no SQL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from watcher.story import CopyNote, StoryMember


class ChangeKind(StrEnum):
    NEW = "new"
    EDITED = "edited"
    REMOVED = "removed"
    RESTORED = "restored"
    # a release the archive had and the database did not, found by `watcher backfill`: history,
    # never news (no feed, no mail), kept so that a release's timeline says where it came from
    BACKFILLED = "backfilled"
    # copies across sources (watcher/linking.py): a release re-posting another source's, told
    # as such instead of NEW; and a copy whose words differ from its story's origin
    ALSO_PUBLISHED = "also_published"
    DIVERGED = "diverged"


class CheckStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    # not checked now: its server asked for time (a Retry-After beyond max_retry_after), or the
    # source backs off after failing checks in a row
    DEFERRED = "deferred"
    INTERRUPTED = "interrupted"  # stopped by a signal at a release boundary


class ReleaseStatus(StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"


class Origin(StrEnum):
    """Where a snapshot's content came from; the same post must read the same from each."""

    API = "api"
    FEED = "feed"
    PAGE = "page"


@dataclass(frozen=True, slots=True)
class Validators:
    """What a later conditional request needs, and the hash that lets us skip parsing."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    url: str  # as requested
    final_url: str  # after redirects
    status: int
    content_type: str
    encoding: str | None  # from the Content-Type header, if any
    body: bytes
    validators: Validators
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names

    def unchanged_since(self, previous: Validators | None) -> bool:
        return previous is not None and previous.body_hash == self.validators.body_hash


@dataclass(frozen=True, slots=True)
class NotModified:
    url: str


@dataclass(frozen=True, slots=True)
class Gone:
    """404 or 410: the page is not there (one sighting is not yet a removal)."""

    url: str
    status: int


FetchResult = Page | NotModified | Gone


@dataclass(frozen=True, slots=True)
class Attachment:
    url: str
    label: str
    text: str | None = None  # a PDF's text once read (attachments.py); None: not (yet) read


@dataclass(frozen=True, slots=True)
class AttachmentState:
    """How one attachment of a release was last asked for: the validators of the bytes whose
    text is stored, when it was last asked (None: never, its first text is still to come), and
    why its last reading failed, if it did."""

    url: str
    validators: Validators | None = None
    checked_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ReleaseSnapshot:
    """One reading of one release's article region, normalised."""

    key: str  # identity within the source: "wp:<post id>" or the canonical URL
    url: str
    title: str
    published: datetime | None  # aware UTC; may carry only a day's precision
    text: str  # body text, paragraphs separated by blank lines
    html: str  # sanitised HTML of the body
    attachments: tuple[Attachment, ...]
    content_hash: str  # over the folded title, text and attachments
    origin: Origin
    wp_id: int | None = None
    source_modified: str | None = None  # WordPress modified_gmt, when the API supplied it


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """The stored version a new snapshot is compared with."""

    number: int
    title: str
    published: datetime | None
    text: str
    attachments: tuple[Attachment, ...]
    content_hash: str


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    key: str
    url: str
    title: str
    detected_at: datetime
    feed_date: datetime  # the date a feed shows: publication date for a baseline, else detection
    diff: str = ""  # unified diff against the previous version, empty for NEW and REMOVED
    baseline: bool = False
    related_id: int | None = None  # the story's origin, for ALSO_PUBLISHED and DIVERGED
    note: CopyNote | None = None  # what the entry says of the copies (linking.py)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What detection made of a reading."""

    change: Change | None
    new_version: bool  # store the snapshot as a new version
    published: datetime | None  # the date to keep (a re-reading within tolerance keeps the old)
    # the attachments to store, their texts carried over from the previous version where this
    # reading has none (None: the snapshot's)
    attachments: tuple[Attachment, ...] | None = None
    others: tuple[OtherChange, ...] = ()  # changes of its copies (watcher/linking.py)


@dataclass(frozen=True, slots=True)
class KnownRelease:
    """What a source may know about a release it reported before."""

    key: str
    url: str
    canonical: str
    status: ReleaseStatus
    missing_count: int
    wp_id: int | None
    source_modified: str | None
    listed: bool  # seen on the listing during the previous check
    last_seen: datetime | None = None  # last read, or found unchanged
    published: datetime | None = None
    first_seen: datetime | None = None
    last_changed: datetime | None = None
    versions: int = 1


@dataclass(frozen=True, slots=True)
class SourceView:
    """The stored state one check of a source starts from."""

    name: str
    baseline_done: bool
    cursor: Mapping[str, Any]  # the source kind's own bookkeeping (watermarks, cached ids)
    releases: Mapping[str, KnownRelease]  # by key
    by_canonical: Mapping[str, KnownRelease]
    validators: Mapping[str, Validators]  # by URL
    derived: Mapping[str, Any]  # what was parsed out of an unchanged page last time, by URL
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    created_at: datetime | None = None
    unhealthy_since: datetime | None = None

    def known_url(self, canonical: str) -> KnownRelease | None:
        return self.by_canonical.get(canonical)


@dataclass(frozen=True, slots=True)
class CheckResult:
    source: str
    status: CheckStatus
    started_at: datetime
    seconds: float
    requests: int
    not_modified: int = 0
    counts: Mapping[ChangeKind, int] = field(default_factory=dict)
    failed_pages: int = 0
    error: str | None = None
    notes: tuple[str, ...] = ()  # what the user should know of a check that went well
    failed_items: int = 0  # posts or feed items that could not be read (the others were)
    runner: str | None = None  # the process that checked (host:pid:tag), when recorded
    attachment_requests: int = 0  # requests for attachments (PDFs), apart from `requests`

    def count(self, kind: ChangeKind) -> int:
        return self.counts.get(kind, 0)

    health_changed: bool = False  # the source was reported unhealthy, or recovered

    @property
    def changed(self) -> bool:
        return any(self.counts.values())


@dataclass(frozen=True, slots=True)
class Document:
    """A version as an edit's diff compares it (watcher.render.compare)."""

    title: str
    text: str
    published: datetime | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class ChangeEntry:
    """A stored change as the feeds and the mail show it."""

    uid: str
    kind: ChangeKind
    source: str
    release_id: int
    url: str
    title: str
    detected_at: datetime
    feed_date: datetime
    published: datetime | None
    diff: str
    html: str  # the version's sanitised HTML (NEW, RESTORED), else empty
    baseline: bool
    id: int = 0  # the change's row, in detection order (watermarks of deliveries)
    text: str = ""  # the version's text, when the change made one
    topics: tuple[str, ...] = ()
    # the version before the change and the one it made, when it made one (EDITED, RESTORED
    # with new words): what the word diff and the summary line compare
    before: Document | None = None
    after: Document | None = None
    related_id: int | None = None
    note: CopyNote | None = None


@dataclass(frozen=True, slots=True)
class ReleaseSummary:
    id: int
    source: str
    key: str
    url: str
    title: str
    published: datetime | None
    status: ReleaseStatus
    versions: int
    first_seen: datetime
    last_changed: datetime
    last_seen: datetime
    story_id: int | None = None  # the copies of one release across sources (linking.py)
    copy_of: int | None = None  # the release it was found to copy
    similarity: float | None = None  # how alike, 0 to 1


@dataclass(frozen=True, slots=True)
class VersionView:
    number: int
    created_at: datetime
    title: str
    published: datetime | None
    text: str
    attachments: tuple[Attachment, ...]
    origin: Origin


@dataclass(frozen=True, slots=True)
class ChangeView:
    uid: str
    kind: ChangeKind
    detected_at: datetime
    version: int | None
    diff: str


@dataclass(frozen=True, slots=True)
class ReleaseHistory:
    release: ReleaseSummary
    versions: tuple[VersionView, ...]
    changes: tuple[ChangeView, ...]
    # attachments whose last reading failed: URL -> why (their text, if any, is an older one)
    attachment_failures: Mapping[str, str] = field(default_factory=dict)
    story: tuple[StoryMember, ...] = ()  # its copies across sources, itself among them


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which releases `watcher export` writes; None is any. `changed_since`: releases with a
    change detected then or later (with their whole history)."""

    source: str | None = None
    topic: str | None = None
    changed_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExportedVersion:
    number: int
    observed_at: datetime  # when this version was first read (and stored)
    title: str
    published: datetime | None
    text: str
    attachments: tuple[Attachment, ...]
    content_hash: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class ExportedChange:
    uid: str
    kind: ChangeKind
    detected_at: datetime
    version: int | None  # the version it made; None for a removal (or a restoration as before)
    baseline: bool  # found by a source's first check: kept, never sent
    diff: str
    related_id: int | None = None  # a copy's change: its story's origin
    note: CopyNote | None = None


@dataclass(frozen=True, slots=True)
class ExportedRelease:
    """A release with its whole history, as `watcher export` writes it."""

    id: int
    source: str
    key: str
    url: str
    canonical: str
    title: str
    published: datetime | None
    status: ReleaseStatus
    first_seen: datetime
    last_seen: datetime
    last_changed: datetime
    topics: Mapping[str, tuple[str, ...]]  # topic -> the terms that put the release in it
    versions: tuple[ExportedVersion, ...]  # oldest first
    changes: tuple[ExportedChange, ...]  # in the order they were detected
    story_id: int | None = None  # copies across sources (linking.py)
    copy_of: int | None = None
    similarity: float | None = None


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    kind: str
    baseline_done: bool
    releases: int
    last_success_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    deferred_until: datetime | None
    last_run: CheckResult | None
    running_since: datetime | None = None  # a check of this source under way since then


@dataclass(frozen=True, slots=True)
class TopicMembership:
    """A release in a topic, and the terms that put it there."""

    release: ReleaseSummary
    terms: tuple[str, ...]


class Channel(StrEnum):
    EMAIL = "email"
    NOTIFY = "notify"  # a chat service, through apprise


class MessageKind(StrEnum):
    INSTANT = "instant"
    DIGEST = "digest"
    HEALTH = "health"  # to the admin: a source unhealthy, or recovered


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up on after its retries (`watcher outbox retry`)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message as fixed before sending: sending it again sends the very same bytes."""

    subscription: str
    channel: Channel
    message_id: str
    kind: MessageKind
    change_ids: tuple[int, ...]
    recipients: tuple[str, ...]
    subject: str
    message: str  # the whole RFC 5322 message (email) or the text (notify)
    id: int | None = None
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    name: str
    created_at: datetime
    last_change_id: int  # every change up to this one has been given to the subscription
    last_digest_at: datetime | None


class HealthKind(StrEnum):
    UNHEALTHY = "unhealthy"
    RECOVERED = "recovered"


@dataclass(frozen=True, slots=True)
class HealthEvent:
    uid: str
    source: str
    kind: HealthKind
    at: datetime
    message: str
    id: int = 0


@dataclass(frozen=True, slots=True)
class ReleaseFilter:
    """Which releases a reader asks for; None is any. `since` and `until` bound when a release
    last changed."""

    source: str | None = None
    topic: str | None = None
    kind: ChangeKind | None = None  # releases with at least one change of this kind
    status: ReleaseStatus | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None  # releases one of whose versions this query finds (watcher.search)


@dataclass(frozen=True, slots=True)
class CopyReading:
    """A release's new version, as the check just wrote it."""

    release_id: int
    source_id: int
    source: str
    version: int
    title: str
    text: str
    url: str
    published: datetime | None
    first_seen: datetime
    change: Change | None  # what detection made of it
    now: datetime


@dataclass(frozen=True, slots=True)
class OtherChange:
    """A change about another release than the one read (a copy of an edited origin)."""

    source_id: int
    release_id: int
    change: Change


@dataclass(frozen=True, slots=True)
class Linked:
    change: Change | None  # the reading's own change, as linking tells it
    others: tuple[OtherChange, ...] = ()
