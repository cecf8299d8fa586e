"""Copies across sources, as a check meets them: each new version of a release is signed, a new
release is linked to the releases of other sources it copies (watcher/copies.py), and a story's
copies are compared with its origin (watcher/divergence.py).

Runs inside the check's transaction for the release (store/checks.py), so that the release, its
link and the changes about it are stored together or not at all. What it tells:

- a copy from a source with `copies: link` gets no NEW of its own but an ALSO_PUBLISHED change,
  filed under its story's origin (its topics, its feeds); an origin met after a copy of it (whose
  NEW told the story already) gets one too, so that a story is news once;
- a copy whose words differ in substance from its origin's gets a DIVERGED change, once per
  distinct difference (the copy edited again, still different but otherwise, is another);
- the origin's EDITED change notes, of each copy, whether it still carries the old text.

Releases stored before a second source was watched are signed and linked silently (`silently`):
no entry, no mail, and the differences they show are taken as known.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.engine import Connection

from watcher.copies import Release, Signed, Thresholds, copies, origin_key, sign, story_of
from watcher.divergence import difference
from watcher.models import (
    Change,
    ChangeKind,
    CopyReading,
    Linked,
    OtherChange,
)
from watcher.options import Config, SourceSpec
from watcher.store import copies as stored
from watcher.store.copies import StoredRelease
from watcher.story import CopyNote, CopyRef, StoryMember

log = logging.getLogger(__name__)


def origin_first(
    sources: Sequence[SourceSpec], members: Sequence[StoryMember]
) -> list[StoryMember]:
    """A story's releases, its origin first (copies.origin_key), then the copies in the same
    order."""
    order = {source.name: n for n, source in enumerate(sources)}
    return sorted(
        members,
        key=lambda m: origin_key(
            m.published or m.first_seen, order.get(m.source, len(order)), m.id
        ),
    )


def copies_watched(config: Config) -> bool:
    """Copies are linked when two sources or more are watched."""
    return len(config.watched()) >= 2


class Linker:
    def __init__(self, config: Config) -> None:
        self.thresholds: Thresholds = config.copies
        self.order = {source.name: n for n, source in enumerate(config.sources)}
        self.modes = {source.name: source.copies for source in config.sources}

    def __call__(
        self, connection: Connection, reading: CopyReading, *, silently: bool = False
    ) -> Linked:
        signed = self.signed(reading)
        stored.save_bands(connection, reading.release_id, reading.version, signed.bands())
        current = stored.release(connection, reading.release_id)
        if current is None:
            return Linked(reading.change)
        story_id = current.story_id
        if story_id is None:
            story_id = self._join(connection, signed, reading)
            if story_id is None:
                return Linked(reading.change)
        members = stored.story(connection, story_id)
        change, others = self._told(connection, members, reading, silently=silently)
        return Linked(None if silently else change, () if silently else others)

    def _join(self, connection: Connection, signed: Signed, reading: CopyReading) -> int | None:
        """The story the release joins, with the stored releases it copies or that copy it
        (None: none)."""
        found = self.found(connection, signed, reading)
        if not found:
            return None
        best, similarity = found[0]
        copied = story_of([signed.release, self._of(best)]).origin == str(best.id)
        copy, copy_of = (reading.release_id, best.id) if copied else (best.id, reading.release_id)
        log.info(
            "%s: %s is %s %s's %s (%.2f alike)",
            reading.source,
            reading.url,
            "a copy of" if copied else "the original of",
            best.source,
            best.url,
            similarity,
        )
        return stored.join(
            connection,
            reading.release_id,
            [f for f, _ in found],
            copy=copy,
            copy_of=copy_of,
            similarity=similarity,
        )

    def _told(
        self,
        connection: Connection,
        members: list[StoredRelease],
        reading: CopyReading,
        *,
        silently: bool,
    ) -> tuple[Change | None, tuple[OtherChange, ...]]:
        """The reading's change as its story tells it, and the divergences found."""
        change = reading.change
        new = change is not None and change.kind == ChangeKind.NEW
        origin = self._origin(members)
        me = next(m for m in members if m.id == reading.release_id)
        others: list[OtherChange] = []
        if origin.id != me.id:
            if not self._copy(me, origin):
                return change, ()
            if change is not None and new:
                change = _also_published(change, me, origin)
            diverged = self._diverged(connection, me, origin, reading, silently=silently)
            if diverged is not None:
                others.append(OtherChange(me.source_id, me.id, diverged))
            return change, tuple(others)
        copies_of_me = [m for m in members if m.id != me.id and self._copy(m, me)]
        if change is not None and new and copies_of_me:
            # the original met after a copy, whose entry told the story already: once
            change = _also_published(change, copies_of_me[0], me)
        if change is not None and change.kind == ChangeKind.EDITED and copies_of_me:
            earlier = stored.earlier_texts(connection, me.id, reading.version)
            change = _witnessed(change, copies_of_me, earlier, me.text)
        for copy in copies_of_me:
            diverged = self._diverged(connection, copy, me, reading, silently=silently)
            if diverged is not None:
                others.append(OtherChange(copy.source_id, copy.id, diverged))
        return change, tuple(others)

    def _copy(self, member: StoredRelease, origin: StoredRelease) -> bool:
        """Whether a release of the story is told as a copy of its origin: not when it is the
        same post on the same site (two categories of one site), nor when its source keeps its
        releases apart (`copies: separate`; it came in with another copy)."""
        return not _same_site(member.url, origin.url) and self._links(member.source)

    def signed(self, reading: CopyReading) -> Signed:
        """The release read, as matching compares it."""
        return sign(
            self._release(
                reading.release_id,
                reading.source,
                reading.title,
                reading.text,
                reading.published,
                reading.first_seen,
            )
        )

    def _links(self, source: str) -> bool:
        return self.modes.get(source, "link") == "link"

    def _release(
        self,
        release_id: int,
        source: str,
        title: str,
        text: str,
        published: datetime | None,
        first_seen: datetime | None,
    ) -> Release:
        return Release(
            id=str(release_id),
            source=source,
            source_order=self.order.get(source, len(self.order)),
            title=title,
            text=text,
            published=published,
            first_seen=first_seen,
        )

    def _of(self, row: StoredRelease) -> Release:
        return self._release(row.id, row.source, row.title, row.text, row.published, row.first_seen)

    def _origin(self, members: list[StoredRelease]) -> StoredRelease:
        by_id = {str(m.id): m for m in members}
        return by_id[story_of(self._of(m) for m in members).origin]

    def found(
        self, connection: Connection, signed: Signed, reading: CopyReading
    ) -> list[tuple[StoredRelease, float]]:
        """The stored releases of other sites this one copies or is copied by, the most alike
        first; a pair only where the later of the two (the copy) comes from a source that links
        copies."""
        when = signed.release.when
        if when is None:
            return []
        window = self.thresholds.window
        rows = stored.candidates(
            connection,
            signed.bands(),
            other_than=reading.source_id,
            since=when - window,
            until=when + window,
        )
        found = []
        for row in rows:
            # two sources of one site (two categories) share its posts: one release, no copy
            if _same_site(row.url, reading.url):
                continue
            other = sign(self._of(row))
            similarity = copies(signed, other, self.thresholds)
            if similarity is None:
                continue
            story = story_of([signed.release, other.release])
            later = reading.source if story.origin == other.release.id else row.source
            if self._links(later):
                found.append((row, similarity))
        return sorted(found, key=lambda pair: (-pair[1], pair[0].id))

    def _diverged(
        self,
        connection: Connection,
        copy: StoredRelease,
        origin: StoredRelease,
        reading: CopyReading,
        *,
        silently: bool,
    ) -> Change | None:
        """A DIVERGED change when the copy's words differ from the origin's otherwise than last
        reported; None when they do not (or as reported)."""
        found = difference(origin.text, copy.text)
        key = found.key if found is not None else None
        if key == copy.divergence:
            return None
        stored.set_divergence(connection, copy.id, key)
        if found is None or silently:
            return None
        baseline = reading.change.baseline if reading.change is not None else False
        return Change(
            kind=ChangeKind.DIVERGED,
            key=copy.url,
            url=copy.url,
            title=origin.title,
            detected_at=reading.now,
            feed_date=reading.now,
            diff=found.unified(),
            baseline=baseline,
            related_id=origin.id,
            note=CopyNote(origin=_described(origin), copy=_described(copy)),
        )


def _same_site(a: str, b: str) -> bool:
    return urlsplit(a).netloc.lower() == urlsplit(b).netloc.lower()


def _described(release: StoredRelease, carries: str = "") -> CopyRef:
    return CopyRef(release.source, release.title, release.url, release.published, carries)


def _also_published(change: Change, copy: StoredRelease, origin: StoredRelease) -> Change:
    return replace(
        change,
        kind=ChangeKind.ALSO_PUBLISHED,
        title=origin.title,
        url=origin.url,
        related_id=origin.id,
        note=CopyNote(origin=_described(origin), copy=_described(copy)),
    )


def _witnessed(
    change: Change, copies_of_origin: list[StoredRelease], earlier: list[str], new: str
) -> Change:
    """The origin's edit, noting of each copy which text it carries: the one just replaced
    ("old"), one before it ("earlier": `earlier` is every version before, the newest first),
    the new one, or none of them ("other")."""
    witnesses = []
    for copy in copies_of_origin:
        if difference(new, copy.text) is None:
            carries = "new"
        else:
            same = (n for n, text in enumerate(earlier) if difference(text, copy.text) is None)
            place = next(same, None)
            carries = "other" if place is None else "old" if place == 0 else "earlier"
        witnesses.append(_described(copy, carries))
    return replace(change, note=CopyNote(copies=tuple(witnesses))) if witnesses else change
