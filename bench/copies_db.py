"""The daemon's linking path for bench/copies.py: a SQLite database made by `Store.open`, a
config of three sources, each corpus release written by `Store.record_observed` as a check
writes a new release, with `watcher.linking.Linker` run in its transaction.

Each source's releases get URLs on a host:port of their own, because linking.py never links
two releases of one site (two categories of one site share its posts)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

import sqlalchemy as sa

from tests.corpus_copies import SOURCE_ORDER
from tests.corpus_linked import store_new
from watcher.config import parse_config
from watcher.copies import Release
from watcher.linking import Linker
from watcher.models import (
    CopyReading,
    Linked,
    Verdict,
)
from watcher.options import Config
from watcher.store import Store
from watcher.store.tables import RELEASE

PORTS = {"asean": 8101, "mfa": 8102, "chair": 8103}  # nothing listens: no request is sent
# when a release without a date was first seen (the corpus dates every one)
UNDATED = datetime(2019, 1, 1, tzinfo=UTC)


def config(folder: Path) -> Config:
    """Three html sources in the corpus's order: the order breaks an origin's ties."""
    names = sorted(SOURCE_ORDER, key=SOURCE_ORDER.__getitem__)
    text = "sources:\n" + "".join(
        f"  - name: {name}\n    type: html\n    profile: asean\n"
        f"    url: http://127.0.0.1:{PORTS[name]}/\n"
        for name in names
    )
    return parse_config(text, folder / "watcher.yaml")


def url_of(release: Release, prefix: str = "") -> str:
    return f"http://127.0.0.1:{PORTS[release.source]}/{prefix}{release.id}"


class Daemon:
    """A database as the daemon keeps it, and the write a check makes for a new release."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "watcher.db"
        self.config = config(folder)
        self.store = Store.open(f"sqlite:///{self.path}")
        self.linker = Linker(self.config)
        self.source_ids: dict[str, int] = {}
        for source in self.config.sources:
            self.source_ids[source.name], _ = self.store.source_view(
                source.name, source.kind.value, UNDATED
            )

    def close(self) -> None:
        self.store.engine.dispose()

    def record(
        self,
        release: Release,
        *,
        prefix: str = "",
        link: Callable[[sa.Connection, CopyReading], Linked] | None = None,
    ) -> Verdict:
        """Writes the release as a check meets it for the first time, seen when published."""
        return store_new(
            self.store,
            self.source_ids[release.source],
            release,
            url_of(release, prefix),
            now=release.when or UNDATED,
            link=link or self.linker,
        )

    def reading(self, release: Release, prefix: str = "") -> CopyReading:
        """What the linker is given for a release not stored (its id never one of the stored)."""
        return CopyReading(
            release_id=-1,
            source_id=self.source_ids[release.source],
            source=release.source,
            version=1,
            title=release.title,
            text=release.text,
            url=url_of(release, prefix),
            published=release.published,
            first_seen=release.when or UNDATED,
            change=None,
            now=release.when or UNDATED,
        )

    def linked_pairs(self, ids_by_url: dict[str, str]) -> frozenset[frozenset[str]]:
        """Every pair of releases the database put in one story (`release.story_id`)."""
        stories: dict[int, list[str]] = defaultdict(list)
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                sa.select(RELEASE.c.url, RELEASE.c.story_id).where(RELEASE.c.story_id.is_not(None))
            )
            for url, story_id in rows:
                stories[story_id].append(ids_by_url[url])
        return frozenset(
            frozenset(pair) for ids in stories.values() for pair in combinations(ids, 2)
        )

    def size(self) -> dict[str, int]:
        """Bytes on disk: the whole file once the WAL is folded in, and the bands' table with
        its indexes (SQLite's dbstat, when this SQLite has it)."""
        with self.store.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes = {"file": self.path.stat().st_size}
        with sqlite3.connect(self.path) as database:
            try:
                rows = database.execute(
                    "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"
                ).fetchall()
            except sqlite3.OperationalError:  # built without SQLITE_ENABLE_DBSTAT_VTAB
                return sizes
            owners = dict(
                database.execute(
                    "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"
                ).fetchall()
            )
        database.close()
        by_table: dict[str, int] = defaultdict(int)
        for name, size in rows:
            by_table[owners.get(name, name)] += size
        sizes.update(bands=by_table.get("copy_band", 0), versions=by_table.get("version", 0))
        return sizes
