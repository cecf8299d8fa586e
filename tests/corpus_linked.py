"""A corpus of tests/corpus_copies.py fed through the daemon's own path: each release stored as a
check stores it (`Store.record_observed`, in its transaction), linked by `watcher.linking.Linker`
against the releases stored before it, the bands in the database. Used by tests/test_copies.py
on the frozen corpus and by bench/copies.py on others."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from tests.corpus_copies import SOURCE_ORDER, linked_pairs
from watcher.config import parse_config
from watcher.copies import Release, Story
from watcher.detect import detect
from watcher.linking import Linker
from watcher.models import ChangeKind, CopyReading, Linked, Origin, ReleaseSnapshot, Verdict
from watcher.store import Store
from watcher.store.tables import CHANGE, RELEASE
from watcher.text import content_hash

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def config_text(state: Path) -> str:
    """Three sources on three sites (a site's own two sources never copy each other)."""
    sources = "\n".join(
        f"  - {{name: {name}, type: html, url: 'http://127.0.0.1:{8001 + n}/news', "
        "selectors: {item: 'a'}}"
        for name, n in sorted(SOURCE_ORDER.items(), key=lambda item: item[1])
    )
    return f"state_dir: {state}\nsources:\n{sources}\n"


def store_new(
    store: Store,
    source_id: int,
    release: Release,
    url: str,
    *,
    now: datetime,
    link: Callable[[sa.Connection, CopyReading], Linked],
) -> Verdict:
    """Writes a corpus release as a check writes one it meets for the first time (detection
    says NEW), with `link` run in its transaction."""
    snapshot = ReleaseSnapshot(
        key=url,
        url=url,
        title=release.title,
        published=release.published,
        text=release.text,
        html="",
        attachments=(),
        content_hash=content_hash(release.title, release.text, ()),
        origin=Origin.PAGE,
    )
    return store.record_observed(
        source_id,
        snapshot,
        lambda previous: detect(
            previous.version, previous.status, snapshot, now=now, baseline=False
        ),
        now=now,
        link=link,
        source=release.source,
    )


@dataclass
class LinkedStore:
    """A database of the corpus's releases, stored and linked one by one."""

    store: Store
    linker: Linker
    source_ids: dict[str, int]
    ids: dict[str, int]  # corpus id -> release id

    @classmethod
    def open(cls, directory: Path) -> LinkedStore:
        config = parse_config(config_text(directory), directory / "watcher.yaml")
        store = Store.open(config.database_url)
        source_ids = {name: store.source_view(name, "html", NOW)[0] for name in SOURCE_ORDER}
        return cls(store, Linker(config), source_ids, {})

    def url(self, release: Release) -> str:
        return f"http://127.0.0.1:{8001 + SOURCE_ORDER[release.source]}/news/{release.id}"

    def add(self, release: Release) -> None:
        """The release read by its source's check for the first time: NEW, then linked."""
        url = self.url(release)
        store_new(
            self.store,
            self.source_ids[release.source],
            release,
            url,
            now=release.first_seen or NOW,
            link=self.linker,
        )
        with self.store.engine.connect() as connection:
            self.ids[release.id] = connection.execute(
                sa.select(RELEASE.c.id).where(RELEASE.c.key == url)
            ).scalar_one()

    def add_all(
        self, releases: Iterable[Release], each: Callable[[Release], None] | None = None
    ) -> None:
        for release in releases:
            self.add(release)
            if each is not None:
                each(release)

    def linked(self) -> frozenset[frozenset[str]]:
        """The pairs put in one story."""
        corpus_id = {v: k for k, v in self.ids.items()}
        stories: dict[int, list[str]] = {}
        with self.store.engine.connect() as connection:
            for release_id, story_id in connection.execute(
                sa.select(RELEASE.c.id, RELEASE.c.story_id).where(RELEASE.c.story_id.is_not(None))
            ):
                stories.setdefault(story_id, []).append(corpus_id[release_id])
        return linked_pairs([Story(origin=ids[0], members=tuple(ids)) for ids in stories.values()])

    def told(self, kind: ChangeKind) -> set[str]:
        """The corpus ids of the releases a change of `kind` was recorded for."""
        corpus_id = {v: k for k, v in self.ids.items()}
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                sa.select(CHANGE.c.release_id).where(CHANGE.c.kind == kind.value)
            )
            return {corpus_id[release_id] for (release_id,) in rows}

    def close(self) -> None:
        self.store.close()
