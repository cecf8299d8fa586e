"""Linking's harder cases, through the daemon's own path (tests/corpus_linked.py's store_new): a
re-post dated by its day only, an original met after its copy, two sources of one site, a
source that keeps its releases apart, and several daemons linking the same releases at once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.corpus_copies import (
    REAL_ORIGIN_TEXT,
    REAL_ORIGIN_TITLE,
    REAL_PUBLISHED,
    SOURCE_ORDER,
    generate,
    linked_pairs,
)
from tests.corpus_linked import NOW, config_text, store_new
from watcher import copies_told, mail
from watcher.config import parse_config
from watcher.copies import Release, Story
from watcher.linking import Linker
from watcher.models import ChangeEntry, ChangeKind
from watcher.options import Config
from watcher.store import Store
from watcher.store.copies import link_stored
from watcher.store.reading import change_entry, changes_query
from watcher.store.tables import RELEASE

REPOST = "Source: ASEAN Secretariat\n\n" + REAL_ORIGIN_TEXT


def watching(directory: Path, sources: dict[str, str], **source_settings: Any) -> Config:
    """html sources named as given, each at its URL (its host the site)."""
    lines = []
    for name, url in sources.items():
        extra = "".join(f", {k}: {v}" for k, v in source_settings.get(name, {}).items())
        lines.append(
            f"  - {{name: {name}, type: html, url: '{url}', selectors: {{item: a}}{extra}}}"
        )
    return parse_config(
        f"state_dir: {directory}\nsources:\n" + "\n".join(lines) + "\n", directory / "w.yaml"
    )


class Site:
    """A database and what its checks stored, release by release."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store.open(config.database_url)
        self.linker = Linker(config)
        self.ids = {s.name: self.store.source_view(s.name, "html", NOW)[0] for s in config.sources}

    def read(self, source: str, url: str, when: datetime, text: str = REAL_ORIGIN_TEXT) -> int:
        release = Release(url, source, 0, REAL_ORIGIN_TITLE, text, when, when + timedelta(hours=1))
        store_new(
            self.store,
            self.ids[source],
            release,
            url,
            now=when + timedelta(hours=1),
            link=self.linker,
        )
        with self.store.engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(RELEASE.c.id).where(
                        RELEASE.c.url == url, RELEASE.c.source_id == self.ids[source]
                    )
                ).scalar_one()
            )

    def changes(self) -> list[ChangeEntry]:
        with self.store.engine.connect() as connection:
            return [change_entry(row) for row in connection.execute(changes_query())]

    def told(self) -> list[tuple[str, ChangeKind]]:
        return [(c.source, c.kind) for c in self.changes()]

    def row(self, release_id: int) -> Any:
        with self.store.engine.connect() as connection:
            return connection.execute(sa.select(RELEASE).where(RELEASE.c.id == release_id)).one()


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(
        watching(tmp_path, {"asean": "http://127.0.0.1:8001/", "mfa": "http://127.0.0.1:8002/"})
    )


def test_a_same_day_repost_dated_by_its_day_alone_is_the_copy(site: Site) -> None:
    # asean.org gives the hour (09:00 UTC); the ministry's page only the day: midnight
    day = REAL_PUBLISHED.replace(hour=0)
    origin = site.read("asean", "http://127.0.0.1:8001/a", REAL_PUBLISHED)
    copy = site.read("mfa", "http://127.0.0.1:8002/m", day, REPOST)
    assert site.told() == [("asean", ChangeKind.NEW), ("mfa", ChangeKind.ALSO_PUBLISHED)]
    assert site.row(copy).copy_of == origin and site.row(origin).copy_of is None


def test_an_original_met_after_its_copy_is_not_the_copy(site: Site) -> None:
    copy = site.read("mfa", "http://127.0.0.1:8002/m", REAL_PUBLISHED + timedelta(days=1), REPOST)
    origin = site.read("asean", "http://127.0.0.1:8001/a", REAL_PUBLISHED)
    assert site.row(copy).copy_of == origin and site.row(copy).similarity > 0.9
    assert site.row(origin).copy_of is None
    # a digest tells the story once: the original's "Also published" under the copy's entry
    body = mail.compose_digest(
        mail.Envelope("w <w@example.org>", ("r@example.org",), "UTC"),
        topic_titles={"all": "All"},
        entries=[_in_topic(c) for c in site.changes()],
        since=None,
        now=NOW,
        message_id="<1@example.org>",
    ).get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "ALSO PUBLISHED:" not in text and "   Also published by mfa" in text


def _in_topic(entry: ChangeEntry) -> ChangeEntry:
    from dataclasses import replace

    return replace(entry, topics=("all",))


def test_two_sources_of_one_site_are_one_release_even_with_a_copy_elsewhere(
    tmp_path: Path,
) -> None:
    site = Site(
        watching(
            tmp_path,
            {
                "news": "http://127.0.0.1:8001/news",
                "statements": "http://127.0.0.1:8001/statements",
                "mfa": "http://127.0.0.1:8002/",
            },
        )
    )
    post = "http://127.0.0.1:8001/2019/02/asean-russia"
    site.read("news", post, REAL_PUBLISHED)
    site.read("mfa", "http://127.0.0.1:8002/m", REAL_PUBLISHED + timedelta(days=1), REPOST)
    site.read("statements", post, REAL_PUBLISHED)
    assert site.told() == [
        ("news", ChangeKind.NEW),
        ("mfa", ChangeKind.ALSO_PUBLISHED),
        ("statements", ChangeKind.NEW),  # the same post, in its other category
    ]


def test_a_separate_source_is_never_told_as_a_copy(tmp_path: Path) -> None:
    site = Site(
        watching(
            tmp_path,
            {
                "asean": "http://127.0.0.1:8001/",
                "mfa": "http://127.0.0.1:8002/",
                "chair": "http://127.0.0.1:8003/",
            },
            chair={"copies": "separate"},
        )
    )
    site.read("mfa", "http://127.0.0.1:8002/m", REAL_PUBLISHED + timedelta(days=1), REPOST)
    # the Chair's, changed, the day after: its own release, whatever it says
    site.read(
        "chair",
        "http://127.0.0.1:8003/c",
        REAL_PUBLISHED + timedelta(days=2),
        REPOST.replace("20 February", "19 February"),
    )
    site.read("asean", "http://127.0.0.1:8001/a", REAL_PUBLISHED)
    told = site.told()
    assert ("chair", ChangeKind.NEW) in told
    assert not [c for c in site.changes() if c.kind == ChangeKind.DIVERGED]


@pytest.mark.slow
def test_daemons_linking_the_same_releases_at_once_link_each_once(
    postgres_url: str, tmp_path: Path
) -> None:
    config = parse_config(
        config_text(tmp_path) + f"database: {postgres_url}\n", tmp_path / "w.yaml"
    )
    store = Store.open(config.database_url)
    ids = {name: store.source_view(name, "html", NOW)[0] for name in SOURCE_ORDER}
    corpus = generate(meetings=30)
    for release in corpus.releases:  # stored before copies were linked
        url = f"http://127.0.0.1:{8001 + SOURCE_ORDER[release.source]}/news/{release.id}"
        store_new(
            store, ids[release.source], release, url, now=release.first_seen or NOW, link=_unlinked
        )
    errors: list[BaseException] = []

    def start() -> None:
        daemon = Store.open(config.database_url)
        try:
            link_stored(daemon.engine, partial(Linker(config), silently=True), NOW)
        except BaseException as exc:
            errors.append(exc)
        finally:
            daemon.close()

    daemons = [threading.Thread(target=start) for _ in range(3)]
    for daemon in daemons:
        daemon.start()
    for daemon in daemons:
        daemon.join(120)
    assert errors == []
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(RELEASE.c.url, RELEASE.c.story_id)).all()
    key = {r.id: r for r in corpus.releases}
    stories: dict[int, list[str]] = {}
    for url, story_id in rows:
        if story_id is not None:
            stories.setdefault(story_id, []).append(key[url.rsplit("/", 1)[1]].id)
    pairs = linked_pairs([Story(origin=m[0], members=tuple(m)) for m in stories.values()])
    assert pairs == corpus.copies
    store.close()


def _unlinked(connection: sa.Connection, reading: Any) -> Any:
    """What an older version did: nothing (store_new wants a linker)."""
    from watcher.models import Linked

    return Linked(reading.change)


def test_an_original_edited_twice_says_which_of_its_texts_each_copy_carries(site: Site) -> None:
    origin = "http://127.0.0.1:8001/a"
    site.read("asean", origin, REAL_PUBLISHED)
    site.read("mfa", "http://127.0.0.1:8002/m", REAL_PUBLISHED + timedelta(days=1), REPOST)
    second = REAL_ORIGIN_TEXT.replace("held on 20 February", "held on 19 February")
    site.read("asean", origin, REAL_PUBLISHED, second)
    site.read("asean", origin, REAL_PUBLISHED, second.replace("Igor Morgulov", "Sergey Ryabkov"))
    edits = [c for c in site.changes() if c.kind == ChangeKind.EDITED]
    carried = [[ref.carries for ref in c.note.copies] for c in edits if c.note is not None]
    assert carried == [["old"], ["earlier"]]
    told = copies_told.lines(edits[1])
    assert told == [
        "The copy at mfa still carries an earlier text, from before the last edit but one "
        "<http://127.0.0.1:8002/m>"
    ]
