"""Copies across sources as the database keeps them: each release's LSH bands (`copy_band`), its
story (`release.story_id`), what it copies and how alike, the last difference reported.

These run inside a check's transaction for one release (store/checks.py), on its connection:
a release, its link and the changes about it are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from watcher.models import CopyReading
from watcher.store.tables import COPY_BAND, RELEASE, SOURCE, VERSION


@dataclass(frozen=True, slots=True)
class StoredRelease:
    """A release as linking compares it: its current version's words."""

    id: int
    source_id: int
    source: str
    title: str
    url: str
    published: datetime | None
    first_seen: datetime | None
    story_id: int | None
    divergence: str | None
    text: str


def _releases() -> sa.Select[Any]:
    return (
        sa.select(
            RELEASE.c.id,
            RELEASE.c.source_id,
            SOURCE.c.name.label("source"),
            RELEASE.c.title,
            RELEASE.c.url,
            RELEASE.c.published,
            RELEASE.c.first_seen,
            RELEASE.c.story_id,
            RELEASE.c.divergence,
            VERSION.c.text,
        )
        .join(SOURCE, SOURCE.c.id == RELEASE.c.source_id)
        .join(
            VERSION,
            sa.and_(VERSION.c.release_id == RELEASE.c.id, VERSION.c.number == RELEASE.c.versions),
        )
    )


def _stored(rows: Iterable[Any]) -> list[StoredRelease]:
    return [
        StoredRelease(
            id=row.id,
            source_id=row.source_id,
            source=row.source,
            title=row.title,
            url=row.url,
            published=row.published,
            first_seen=row.first_seen,
            story_id=row.story_id,
            divergence=row.divergence,
            text=row.text,
        )
        for row in rows
    ]


# The key of the lock that serialises linking across the daemons sharing a PostgreSQL database:
# "watc" in ASCII, one for the whole database.
_LINKING = 0x77617463


def serialised(connection: Connection) -> None:
    """Holds, until this transaction ends, the lock under which releases are linked. A release
    is matched against what other releases' transactions wrote: two daemons storing an original
    and its copy at once would each miss the other (and merging stories, or noting a copy's
    difference, could deadlock on each other's rows). Taken before any row is written. SQLite
    has one writer at a time already."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_LINKING)))


def save_bands(connection: Connection, release_id: int, version: int, bands: Sequence[int]) -> None:
    """The bands of the release's version `version`, in place of those of an earlier one."""
    connection.execute(sa.delete(COPY_BAND).where(COPY_BAND.c.release_id == release_id))
    connection.execute(
        sa.insert(COPY_BAND),
        [{"release_id": release_id, "band": n, "hash": h} for n, h in enumerate(bands)],
    )
    connection.execute(
        sa.update(RELEASE).where(RELEASE.c.id == release_id).values(signed_version=version)
    )


def candidates(
    connection: Connection,
    bands: Sequence[int],
    *,
    other_than: int,
    since: datetime,
    until: datetime,
) -> list[StoredRelease]:
    """The releases of other sources than `other_than` that share a band with these and were
    published (or, undated, first seen) between `since` and `until`."""
    sharing = (
        sa.select(COPY_BAND.c.release_id).where(COPY_BAND.c.hash.in_(list(bands))).distinct()
    ).subquery()
    when = sa.func.coalesce(RELEASE.c.published, RELEASE.c.first_seen)
    query = (
        _releases()
        .join(sharing, sharing.c.release_id == RELEASE.c.id)
        .where(RELEASE.c.source_id != other_than, when >= since, when <= until)
        .order_by(RELEASE.c.id)
    )
    return _stored(connection.execute(query))


def story(connection: Connection, story_id: int) -> list[StoredRelease]:
    query = _releases().where(RELEASE.c.story_id == story_id).order_by(RELEASE.c.id)
    return _stored(connection.execute(query))


def join(
    connection: Connection,
    release_id: int,
    found: Iterable[StoredRelease],
    *,
    copy: int,
    copy_of: int,
    similarity: float,
) -> int:
    """Puts the release in one story with the releases it is a copy or an original of (merging
    their stories when it matches releases of two), notes which of the pair most alike is the
    copy (`copy`, of `copy_of`); returns the story's id: the smallest id among them."""
    found = list(found)
    keys = sorted({f.story_id or f.id for f in found} | {release_id})
    story_id = keys[0]
    connection.execute(
        sa.update(RELEASE).where(RELEASE.c.story_id.in_(keys)).values(story_id=story_id)
    )
    connection.execute(
        sa.update(RELEASE)
        .where(RELEASE.c.id.in_([release_id] + [f.id for f in found if f.story_id is None]))
        .values(story_id=story_id)
    )
    connection.execute(
        sa.update(RELEASE)
        .where(RELEASE.c.id == copy)
        .values(copy_of=copy_of, similarity=similarity)
    )
    return story_id


def earlier_texts(connection: Connection, release_id: int, version: int) -> list[str]:
    """The texts of the release's versions before `version`, the newest first."""
    rows = connection.execute(
        sa.select(VERSION.c.text)
        .where(VERSION.c.release_id == release_id, VERSION.c.number < version)
        .order_by(VERSION.c.number.desc())
    )
    return [text for (text,) in rows]


def set_divergence(connection: Connection, release_id: int, key: str | None) -> None:
    connection.execute(sa.update(RELEASE).where(RELEASE.c.id == release_id).values(divergence=key))


def unsigned(connection: Connection, limit: int) -> list[tuple[int, int]]:
    """Releases whose current version has no bands yet (stored before copies were linked, or
    before a second source was watched): (id, version), the first seen first."""
    rows = connection.execute(
        sa.select(RELEASE.c.id, RELEASE.c.versions)
        .where(
            RELEASE.c.versions > 0,
            sa.or_(
                RELEASE.c.signed_version.is_(None), RELEASE.c.signed_version != RELEASE.c.versions
            ),
        )
        .order_by(RELEASE.c.first_seen, RELEASE.c.id)
        .limit(limit)
    )
    return [(row.id, row.versions) for row in rows]


def link_stored(
    engine: Engine, link: Callable[[Connection, CopyReading], Any], now: datetime
) -> int:
    """Every release not signed yet, signed and linked by `link` (the first seen first, so that
    each is matched against those before it), a batch a transaction; returns how many."""
    done = 0
    while True:
        with engine.begin() as connection:
            serialised(connection)  # another daemon may be linking these very releases
            batch = unsigned(connection, 200)
            if not batch:
                return done
            for release_id, version in batch:
                found = release(connection, release_id)
                if found is None:  # no version to sign: never again asked for
                    connection.execute(
                        sa.update(RELEASE)
                        .where(RELEASE.c.id == release_id)
                        .values(signed_version=version)
                    )
                    continue
                link(
                    connection,
                    CopyReading(
                        release_id=found.id,
                        source_id=found.source_id,
                        source=found.source,
                        version=version,
                        title=found.title,
                        text=found.text,
                        url=found.url,
                        published=found.published,
                        first_seen=found.first_seen or now,
                        change=None,
                        now=now,
                    ),
                )
            done += len(batch)


def release(connection: Connection, release_id: int) -> StoredRelease | None:
    found = _stored(connection.execute(_releases().where(RELEASE.c.id == release_id)))
    return found[0] if found else None
