"""Full-text search over every version of every release, on both engines: folded as topics
fold (case, diacritics), words, phrases and prefixes, old versions and attachments' texts
found, hostile queries harmless, results paged and combined with the other filters."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from watcher.models import Attachment, Origin, ReleaseFilter, ReleaseSnapshot, Verdict
from watcher.search import MAX_TERMS, Term, parse
from watcher.store import Store
from watcher.web.app import Site
from watcher.web.server import WebServer

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def write(
    store: Store,
    source_id: int,
    key: str,
    title: str,
    text: str,
    *,
    at: datetime,
    attachments: tuple[Attachment, ...] = (),
) -> None:
    """A new version of the release `key`, as a check stores one."""
    snapshot = ReleaseSnapshot(
        key=key,
        url=f"https://asean.org/{key}/",
        title=title,
        published=T0,
        text=text,
        html=f"<p>{text}</p>",
        attachments=attachments,
        content_hash=hashlib.sha256(f"{title}\0{text}".encode()).hexdigest()[:32],
        origin=Origin.API,
    )
    store.record_observed(source_id, snapshot, lambda _: Verdict(None, True, T0), now=at, seen=True)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    source_id, _ = opened.source_view("asean", "wordpress", T0)
    annex = Attachment("https://asean.org/annex.pdf", "Annex", "Tariff schedule for durian")
    write(opened, source_id, "hanoi", "Leaders meet in Hà Nội", "Việt Nam hosts.", at=T0)
    write(
        opened,
        source_id,
        "hanoi",
        "Leaders meet in Hà Nội",
        "The hosts welcomed delegations.",  # "Việt Nam" only in the first version now
        at=T0 + timedelta(hours=1),
    )
    write(
        opened,
        source_id,
        "trade",
        "TRADE Ministers convene",
        "Viet Nam and the ASEAN-Russia consultations on fisheries.",
        at=T0 + timedelta(hours=2),
        attachments=(annex,),
    )
    try:
        yield opened
    finally:
        opened.close()


def found(store: Store, query: str, **filters: object) -> list[str]:
    wanted = ReleaseFilter(search=query, **filters)  # type: ignore[arg-type]
    return [r.url.split("/")[3] for r in store.release_page(wanted, offset=0, limit=50)]


@pytest.mark.databases
def test_search_folds_case_and_diacritics_both_ways_and_reads_every_version(store: Store) -> None:
    assert found(store, "Viet Nam") == ["trade", "hanoi"]  # newest first; hanoi's old version
    assert found(store, "Việt Nam") == ["trade", "hanoi"]
    assert found(store, "viet") == ["trade", "hanoi"]
    assert found(store, "ha noi") == found(store, "HÀ NỘI") == ["hanoi"]
    assert found(store, "trade MINISTERS") == ["trade"]
    assert found(store, "welcomed") == ["hanoi"]  # the current version
    assert found(store, "durian") == ["trade"]  # only in the attachment's text
    assert found(store, "Annex") == []  # a label is no text of the release


@pytest.mark.databases
def test_phrases_prefixes_and_the_other_filters(store: Store) -> None:
    assert found(store, '"Viet Nam and"') == ["trade"]
    assert found(store, '"Nam Viet"') == []  # the words, but not in that order
    assert found(store, "ASEAN-Russia") == ["trade"]  # a chunk of several words: a phrase
    assert found(store, "Russia-ASEAN") == []
    assert found(store, "consult*") == ["trade"]
    assert found(store, "consult") == []  # no prefix without the star
    assert found(store, '"tariff sched"*') == ["trade"]
    assert found(store, "delegat* hosts") == ["hanoi"]
    assert found(store, "viet", source="elsewhere") == []
    assert found(store, "viet", since=T0 + timedelta(hours=2)) == ["trade"]


@pytest.mark.databases
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('Viet "Nam and', ["trade"]),  # a phrase to the end
        ("Viet AND OR NOT", []),  # the words "and", "or", "not": not all in any version
        ("Viet AND", ["trade"]),
        ("*", ["trade", "hanoi"]),  # no word: no search
        ('"', ["trade", "hanoi"]),
        ('""*', ["trade", "hanoi"]),
        ("'; drop table version; --", []),
        ("viet:* | nam & !x", []),  # tsquery's syntax is words here ("x" is in no version)
        ("NEAR(viet nam) title:trade", []),  # and FTS5's
        ("x" * 5000 + " viet" * 500, []),  # a long word, and terms past MAX_TERMS dropped
        ("\\ ' % _ ( ) { } ^ : ; < > -", ["trade", "hanoi"]),
    ],
)
def test_hostile_queries_give_results_or_nothing_never_an_error(
    store: Store, query: str, expected: list[str]
) -> None:
    assert found(store, query) == expected
    assert found(store, "viet") == ["trade", "hanoi"]  # and the index is still there


@pytest.mark.databases
def test_search_results_are_paged(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        source_id, _ = store.source_view("asean", "wordpress", T0)
        for n in range(7):
            write(
                store, source_id, f"r{n}", f"Statement {n}", "On fisheries.", at=T0 + timedelta(n)
            )
        write(store, source_id, "other", "Other", "Nothing to see.", at=T0)
        wanted = ReleaseFilter(search="fisheries")
        pages = [store.release_page(wanted, offset=o, limit=3) for o in (0, 3, 6)]
        assert [[r.title for r in page] for page in pages] == [
            ["Statement 6", "Statement 5", "Statement 4"],
            ["Statement 3", "Statement 2", "Statement 1"],
            ["Statement 0"],
        ]
    finally:
        store.close()


def test_the_query_language() -> None:
    assert parse('Viet "joint statement" consult* "tariff sched"*') == (
        Term(("viet",)),
        Term(("joint", "statement")),
        Term(("consult",), prefix=True),
        Term(("tariff", "sched"), prefix=True),
    )
    assert parse("Đà Nẵng U.S.") == (Term(("da",)), Term(("nang",)), Term(("u", "s")))
    assert parse("'; -- * \"") == ()
    assert len(parse("word " * 100)) == MAX_TERMS
    [long] = parse("x" * 1000)
    assert long.prefix and len(long.words[0]) == 100


def test_the_search_box_on_the_releases_page(store: Store, tmp_path: Path) -> None:
    web = WebServer("127.0.0.1:0", Site(tmp_path, lambda: (True, ""), reader=store))
    web.start()
    try:
        base = f"http://127.0.0.1:{web.port}/releases"
        page = httpx.get(base, params={"q": "Viet Nam"}, timeout=15).text
        assert '<input id="q" name="q" type="search" value="Viet Nam"' in page
        assert page.count('class="release ') == 2
        empty = httpx.get(base, params={"q": '"<b>nothing"'}, timeout=15)
        assert empty.status_code == 200
        assert "No release matches “&#34;&lt;b&gt;nothing&#34;”." in empty.text
        assert "<b>nothing" not in empty.text
    finally:
        web.stop()
