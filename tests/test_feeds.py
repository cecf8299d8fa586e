"""Feeds: golden Atom and RSS, valid for feedparser, RFC 4287 and RSS 2.0."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
from lxml import etree

from watcher import feeds
from watcher.models import ChangeEntry, ChangeKind, Document
from watcher.render import from_unified, inline_html

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"
DIFF = "\n".join(
    [
        "--- version 1",
        "+++ version 2",
        "@@ -5,2 +5,2 @@",
        " ",
        "-They agreed on 10 points & <more>.",
        "+They agreed on 12 points & <more>.",
    ]
)

BEFORE = "\n\n".join(
    [
        "BALI, 21 February 2019 – Upon the elevation of the ASEAN-Russia partnership…",
        "The Ministers met in Bali.",
        "They discussed trade.",
        "They agreed on 10 points & <more>.",
        "The next meeting is in Moscow.",
        "Both sides welcomed the talks.",
    ]
)


def entries() -> list[ChangeEntry]:
    url = "https://asean.org/asean-russia-commit-to-deepen-cooperation/"
    common: dict[str, Any] = {
        "source": "asean",
        "release_id": 1,
        "url": url,
        "title": "ASEAN, Russia commit to deepen cooperation",
        "published": datetime(2019, 2, 21, 3, 0, tzinfo=UTC),
    }
    return [
        ChangeEntry(
            uid="00000000-0000-4000-8000-000000000003",
            kind=ChangeKind.REMOVED,
            detected_at=datetime(2026, 11, 29, 10, 0, tzinfo=UTC),
            feed_date=datetime(2026, 11, 29, 10, 0, tzinfo=UTC),
            diff="",
            html="",
            baseline=False,
            **common,
        ),
        ChangeEntry(
            uid="00000000-0000-4000-8000-000000000002",
            kind=ChangeKind.EDITED,
            detected_at=datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
            feed_date=datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
            diff=DIFF,
            html="",
            baseline=False,
            before=Document(common["title"], BEFORE, common["published"]),
            after=Document(
                common["title"], BEFORE.replace("10 points", "12 points"), common["published"]
            ),
            **common,
        ),
        ChangeEntry(
            uid="00000000-0000-4000-8000-000000000001",
            kind=ChangeKind.NEW,
            detected_at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
            feed_date=datetime(2019, 2, 21, 3, 0, tzinfo=UTC),
            diff="",
            html="<p>BALI, 21 February 2019 – Upon the elevation of the ASEAN-Russia partnership\x0b…</p>",
            baseline=True,
            **common,
        ),
    ]


def render(items: list[ChangeEntry], pages_url: str | None = None) -> feeds.FeedDocuments:
    return feeds.render(
        items,
        title="ASEAN Secretariat news watcher",
        base_url="http://127.0.0.1:8080",
        name="all",
        now=NOW,
        pages_url=pages_url,
    )


def test_golden_atom_and_rss(golden: Callable[[str, str], None]) -> None:
    documents = render(entries())
    golden("feeds/all.atom", documents.atom.decode())
    golden("feeds/all.rss", documents.rss.decode())


def test_golden_entries_link_to_the_release_pages_at_a_public_address(
    golden: Callable[[str, str], None],
) -> None:
    documents = render(entries(), pages_url="https://watch.example.org")
    golden("feeds/all-pages.atom", documents.atom.decode())
    golden("feeds/all-pages.rss", documents.rss.decode())


def test_each_entry_links_its_history_and_keeps_its_link_and_id() -> None:
    plain = render(entries())
    linked = render(entries(), pages_url="https://watch.example.org")
    for before, after in ((plain.atom, linked.atom), (plain.rss, linked.rss)):
        without, with_pages = feedparser.parse(before), feedparser.parse(after)
        assert [(e.id, e.link) for e in with_pages.entries] == [
            (e.id, e.link) for e in without.entries
        ]
        assert {e.link for e in with_pages.entries} == {
            "https://asean.org/asean-russia-commit-to-deepen-cooperation/"
        }
        history = '<a href="https://watch.example.org/releases/1">'
        for entry in with_pages.entries:
            assert f"<p>History and diff: {history}" in _body(entry)
        # without a public address the pages are not linked: the listen address reaches
        # nobody but this machine
        assert not any("/releases/" in _body(e) for e in without.entries)
        assert b"127.0.0.1:8080/releases" not in before


def _body(entry: Any) -> str:
    """An entry's HTML as feedparser reads it: Atom's content, RSS's description."""
    return str(entry.content[0].value if "content" in entry else entry.summary)


def test_feeds_parse_cleanly_and_carry_what_the_specs_require() -> None:
    documents = render(entries())
    for data in (documents.atom, documents.rss):
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert len(parsed.entries) == 3
        assert [e.title for e in parsed.entries] == [
            "Removed: ASEAN, Russia commit to deepen cooperation",
            "Edited: ASEAN, Russia commit to deepen cooperation",
            "New: ASEAN, Russia commit to deepen cooperation",
        ]
        assert len({e.id for e in parsed.entries}) == 3
    atom = etree.fromstring(documents.atom)
    for name in ("id", "title", "updated", "author"):
        assert atom.find(f"{ATOM}{name}") is not None
    for entry in atom.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated", "author"):
            assert entry.find(f"{ATOM}{name}") is not None, name
    rss = etree.fromstring(documents.rss)
    for guid in rss.iter("guid"):
        assert guid.get("isPermaLink") == "false"
        assert guid.text.startswith("urn:uuid:")


def test_an_edit_shows_its_summary_and_the_changed_words() -> None:
    parsed = feedparser.parse(render(entries()).atom)
    edited = parsed.entries[1].content[0].value
    assert "<b>1 paragraph edited; 1 figure changed: 10 → 12</b>" in edited
    assert ">10</del>" in edited and ">12</ins>" in edited
    assert "&lt;more&gt;" in edited  # page text is escaped, never markup


def test_empty_feed_is_valid() -> None:
    documents = render([])
    for data in (documents.atom, documents.rss):
        assert feedparser.parse(data).bozo == 0


def test_writing_replaces_both_files_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    feeds.write(tmp_path, "all", render(entries()))
    feeds.write(tmp_path, "all", render([]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.atom", "all.rss"]
    assert feedparser.parse((tmp_path / "all.atom").read_bytes()).entries == []


def test_a_feed_whose_entries_are_the_same_is_left_as_it_was(tmp_path: Path) -> None:
    feeds.write(tmp_path, "all", render(entries()))
    atom, rss = tmp_path / "all.atom", tmp_path / "all.rss"
    for path in (atom, rss):
        os.utime(path, (1_000_000_000, 1_000_000_000))  # as if written long ago
    feeds.write(tmp_path, "all", render(entries()))  # rendered again, the same bytes
    assert atom.stat().st_mtime == rss.stat().st_mtime == 1_000_000_000
    feeds.write(tmp_path, "all", render(entries()[:1]))
    assert atom.stat().st_mtime > 1_000_000_000 and rss.stat().st_mtime > 1_000_000_000


def test_a_changed_line_that_starts_with_dashes_is_shown() -> None:
    diff = "\n".join(
        [
            "--- version 1",
            "+++ version 2",
            "@@ -1,4 +1,4 @@",
            " Title",
            " ",
            "--- a list item",
            "+-- a list item, changed",
        ]
    )
    edit = from_unified(diff)
    assert [(b.old, b.new) for b in edit.blocks] == [("-- a list item", "-- a list item, changed")]
    assert "-- a list item<ins" in inline_html(edit)
