"""Pure: what a new reading of a release means, given what was stored before.

NEW for a release never seen; EDITED when its normalised content changed; RESTORED when a release
that had been removed is back; REMOVED only after it was missing twice in a row.

A release's content is its title, date, text, the links to its attachments and the attachments'
texts (PDFs, see attachments.py). An attachment's first text is no news: it only fills in what
was not read yet, so it makes a version without a change. A reading that has no text for an
attachment (not asked this time, or failed) keeps the text stored before.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from datetime import datetime, timedelta

from watcher.models import (
    Attachment,
    Change,
    ChangeKind,
    KnownRelease,
    ReleaseSnapshot,
    ReleaseStatus,
    Verdict,
    VersionRecord,
)
from watcher.text import fold

# A page may give only the local day while the API gives a UTC instant: a date that moved by
# less than this is the same date read two ways, not a re-dated release.
DATE_TOLERANCE = timedelta(days=1, hours=12)
MISSING_BEFORE_REMOVED = 2


def detect(
    previous: VersionRecord | None,
    status: ReleaseStatus | None,
    snapshot: ReleaseSnapshot,
    *,
    now: datetime,
    baseline: bool,
) -> Verdict:
    if previous is None:
        feed_date = snapshot.published if baseline and snapshot.published else now
        change = _change(ChangeKind.NEW, snapshot, now, feed_date, baseline=baseline)
        return Verdict(change, True, snapshot.published)
    attachments = carried(previous.attachments, snapshot.attachments)
    snapshot = replace(snapshot, attachments=attachments)
    # what was stored, with the first texts read now: those show in no diff
    before = replace(previous, attachments=first_texts(previous.attachments, attachments))
    new_texts = before.attachments != previous.attachments
    published = _same_date(previous.published, snapshot.published)
    content_changed = previous.content_hash != snapshot.content_hash or _texts_changed(
        before.attachments, attachments
    )
    # a date appearing where none was read before is more knowledge, not an edit
    redated = previous.published is not None and published != previous.published
    new_version = content_changed or redated or new_texts
    if status == ReleaseStatus.REMOVED:
        diff = unified_diff(before, snapshot, published) if content_changed or redated else ""
        change = _change(ChangeKind.RESTORED, snapshot, now, now, diff=diff)
        return Verdict(change, new_version, published, attachments)
    if not content_changed and not redated:
        return Verdict(None, new_version, previous.published, attachments)
    diff = unified_diff(before, snapshot, published)
    edited = _change(ChangeKind.EDITED, snapshot, now, now, diff=diff)
    return Verdict(edited, True, published, attachments)


def carried(
    previous: tuple[Attachment, ...], current: tuple[Attachment, ...]
) -> tuple[Attachment, ...]:
    """The current attachments, each without a text of its own given the one stored before."""
    texts = {a.url: a.text for a in previous if a.text is not None}
    return tuple(
        replace(a, text=texts[a.url]) if a.text is None and a.url in texts else a for a in current
    )


def first_texts(
    previous: tuple[Attachment, ...], current: tuple[Attachment, ...]
) -> tuple[Attachment, ...]:
    """The previous attachments, those without a text given the one read now, if any."""
    texts = {a.url: a.text for a in current if a.text is not None}
    return tuple(
        replace(a, text=texts[a.url]) if a.text is None and a.url in texts else a for a in previous
    )


def _texts_changed(previous: tuple[Attachment, ...], current: tuple[Attachment, ...]) -> bool:
    """Whether an attachment's words changed (typography and spacing folded): its bytes alone,
    rewritten by another PDF writer, are no edit."""
    texts = {a.url: a.text for a in previous if a.text is not None}
    return any(
        a.text is not None and a.url in texts and fold(a.text) != fold(texts[a.url])
        for a in current
    )


def missing(known: KnownRelease, now: datetime) -> tuple[int, Change | None]:
    """A release was not found: one more miss, and REMOVED once it has been missing twice."""
    count = known.missing_count + 1
    if known.status == ReleaseStatus.ACTIVE and count >= MISSING_BEFORE_REMOVED:
        change = Change(
            kind=ChangeKind.REMOVED,
            key=known.key,
            url=known.url,
            title="",
            detected_at=now,
            feed_date=now,
        )
        return count, change
    return count, None


def document(
    title: str, published: datetime | None, text: str, attachments: tuple[Attachment, ...]
) -> list[str]:
    """The lines a diff is made of: title, date, paragraphs, attachments, and the text of each
    attachment read, under its label."""
    lines = [title]
    if published is not None:
        lines.append(f"Published: {published:%d %B %Y}")
    lines.append("")
    for paragraph in text.split("\n\n"):
        lines.extend(paragraph.split("\n"))
        lines.append("")
    if attachments:
        lines.append("Attachments:")
        lines.extend(f"- {a.label} <{a.url}>" for a in attachments)
    for attachment in attachments:
        if attachment.text:
            lines += ["", f"Attachment: {attachment.label}", ""]
            for paragraph in attachment.text.split("\n\n"):
                lines.extend(paragraph.split("\n"))
                lines.append("")
    while lines and not lines[-1]:
        lines.pop()
    return lines


def unified_diff(
    previous: VersionRecord, snapshot: ReleaseSnapshot, published: datetime | None
) -> str:
    old = document(previous.title, previous.published, previous.text, previous.attachments)
    new = document(snapshot.title, published, snapshot.text, snapshot.attachments)
    return "\n".join(
        difflib.unified_diff(
            old,
            new,
            fromfile=f"version {previous.number}",
            tofile=f"version {previous.number + 1}",
            lineterm="",
            n=1,
        )
    )


def _same_date(old: datetime | None, new: datetime | None) -> datetime | None:
    """The date to keep: the old one, unless the new reading really moved it. Two exact
    instants must agree to the minute; a day read from a page (midnight UTC) agrees with any
    instant of that local day."""
    if old is None:
        return new
    if new is None:
        return old
    tolerance = DATE_TOLERANCE if _day_only(old) or _day_only(new) else timedelta(minutes=1)
    return old if abs(new - old) < tolerance else new


def _day_only(moment: datetime) -> bool:
    return (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)


def _change(
    kind: ChangeKind,
    snapshot: ReleaseSnapshot,
    now: datetime,
    feed_date: datetime,
    *,
    diff: str = "",
    baseline: bool = False,
) -> Change:
    return Change(
        kind=kind,
        key=snapshot.key,
        url=snapshot.url,
        title=snapshot.title,
        detected_at=now,
        feed_date=feed_date,
        diff=diff,
        baseline=baseline,
    )
