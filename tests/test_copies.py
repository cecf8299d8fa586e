"""Copies across sources: every re-post linked to its origin, nothing else linked (the next
meeting of a series above all), the origin by date then source order, on the frozen corpus and
on the real re-post; the heavy libraries imported only where matching runs."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from itertools import permutations
from pathlib import Path

import pytest

from tests.corpus_copies import (
    CHAIR,
    MINISTRY,
    REAL_ORIGIN_TEXT,
    REAL_ORIGIN_TITLE,
    REAL_PUBLISHED,
    REAL_REPOST,
    SECRETARIAT,
    SOURCE_ORDER,
    generate,
    linked_pairs,
)
from tests.corpus_linked import LinkedStore
from tests.helpers import ROOT
from watcher.copies import (
    CopyIndex,
    Release,
    Thresholds,
    normalised_words,
    number_sequence,
    numbers_changed,
    title_words,
)
from watcher.models import ChangeKind

CORPUS = generate()  # the frozen one (FROZEN_SEED)
DAY = timedelta(days=1)


def indexed(releases: tuple[Release, ...] | list[Release], **thresholds: object) -> CopyIndex:
    index = CopyIndex(Thresholds(**thresholds))  # type: ignore[arg-type]
    for release in releases:
        index.add(release)
    return index


def origin() -> Release:
    return Release("s", SECRETARIAT, 0, REAL_ORIGIN_TITLE, REAL_ORIGIN_TEXT, REAL_PUBLISHED)


def copy(of: Release, key: str = "m", source: str = MINISTRY, **changes: object) -> Release:
    moved = replace(of, id=key, source=source, source_order=SOURCE_ORDER[source])
    return replace(moved, **changes)  # type: ignore[arg-type]


def test_the_frozen_corpus_is_what_the_thresholds_were_chosen_on() -> None:
    # a change of the generator changes the corpus: the thresholds' comments would lie
    assert len(CORPUS.releases) == 333
    assert (len(CORPUS.copies), len(CORPUS.siblings), len(CORPUS.diverged)) == (155, 61, 20)


@pytest.mark.parametrize("window_days", [7, 3650])
def test_every_copy_is_linked_and_nothing_else_on_the_frozen_corpus(window_days: int) -> None:
    # ten years of window: siblings a year apart are kept apart by their numbers, not the dates
    index = indexed(CORPUS.releases, window=timedelta(days=window_days))
    linked = linked_pairs(index.stories())
    assert CORPUS.copies - linked == set()  # recall 100%
    assert linked - CORPUS.copies == set()  # precision 100%
    assert linked & CORPUS.siblings == set()


def test_a_reposted_release_whose_origin_was_edited_later_is_still_linked() -> None:
    index = indexed(CORPUS.releases)
    for key in CORPUS.diverged:
        story = index.story(key)
        assert story is not None
        assert story.origin == key.split("-")[0]


def test_stories_of_three_have_the_secretariat_release_as_origin() -> None:
    index = indexed(CORPUS.releases)
    threes = [story for story in CORPUS.stories if len(story) == 3]
    assert len(threes) >= 10
    for expected in threes:
        [chair] = [key for key in expected if key.endswith("-chair")]
        story = index.story(chair)
        assert story is not None
        assert set(story.members) == expected
        assert story.origin == chair.removesuffix("-chair")


def test_the_real_repost_is_linked_to_the_secretariat_release() -> None:
    index = indexed([origin()])
    found = index.add(copy(origin(), text=REAL_REPOST, published=REAL_PUBLISHED + 6 * DAY))
    assert found is not None
    assert (found.origin, found.matched) == ("s", "s")
    assert found.similarity > 0.95
    assert found.story.members == ("s", "m")


def next_meeting(text: str) -> str:
    """The 17th ASEAN-Russia Senior Officials' Meeting's release, from the 16th's text."""
    for old, new in [
        ("16th", "17th"),
        ("20 February in Bali, Indonesia", "5 March in Da Nang, Viet Nam"),
        ("BALI, 21 February 2019", "DA NANG, 6 March 2020"),
        ("2016-2020", "2021-2025"),
    ]:
        assert old in text
        text = text.replace(old, new)
    return text


def test_the_next_meeting_with_the_same_title_is_not_linked_even_the_same_week() -> None:
    # the title names no number, most of the text is the same: only the numbers differ
    index = indexed([origin()], window=timedelta(days=3650))
    sibling = copy(origin(), key="next", source=CHAIR, text=next_meeting(REAL_ORIGIN_TEXT))
    assert index.match(sibling) is None
    repost = copy(origin(), key="next-mfa", text=next_meeting(REAL_REPOST))
    assert index.match(repost) is None


def test_one_figure_edited_is_the_same_release_two_are_not() -> None:
    index = indexed([origin()])
    one = REAL_ORIGIN_TEXT.replace("held on 20 February", "held on 19 February")
    assert index.match(copy(origin(), text=one)) is not None
    two = one.replace("3rd ASEAN-Russia Summit,", "4th ASEAN-Russia Summit,")
    assert index.match(copy(origin(), text=two)) is None
    assert indexed([origin()], number_edits=2).match(copy(origin(), text=two)) is not None


def test_the_origin_is_the_earliest_published_then_the_first_source_whatever_the_order() -> None:
    first = origin()
    later = copy(first, "m", MINISTRY, published=REAL_PUBLISHED + DAY)
    earlier = copy(first, "c", CHAIR, published=REAL_PUBLISHED - DAY)
    tied = copy(first, "m", MINISTRY)  # the same time as the Secretariat's: config order decides
    for releases, expected in [((first, later, earlier), "c"), ((first, tied), "s")]:
        for order in permutations(releases):
            index = indexed(list(order))
            story = index.story(order[0].id)
            assert story is not None, order
            assert story.origin == expected
            assert sorted(story.members) == sorted(r.id for r in releases)
            assert story.members[0] == expected


def test_a_new_release_is_told_the_story_it_joins_without_being_added() -> None:
    index = indexed([origin(), copy(origin(), "c", CHAIR)])
    earlier = copy(origin(), "m", published=REAL_PUBLISHED - DAY)
    found = index.match(earlier)
    assert found is not None
    assert found.origin == "m"  # it would become the origin
    assert found.story.members == ("m", "s", "c")
    assert "m" not in index
    assert len(index) == 2
    assert (
        index.add(copy(origin(), "other", CHAIR, title="Unrelated", text="Nothing alike.")) is None
    )
    with pytest.raises(ValueError, match="already"):
        index.add(origin())


def test_copies_are_linked_within_the_window_only() -> None:
    index = indexed([origin()])
    assert index.match(copy(origin(), published=REAL_PUBLISHED + 7 * DAY)) is not None
    assert index.match(copy(origin(), published=REAL_PUBLISHED - 7 * DAY)) is not None
    assert index.match(copy(origin(), published=REAL_PUBLISHED + 8 * DAY)) is None
    wide = indexed([origin()], window=10 * DAY)
    assert wide.match(copy(origin(), published=REAL_PUBLISHED + 8 * DAY)) is not None


def test_a_release_without_a_date_is_compared_on_first_seen_else_never_linked() -> None:
    index = indexed([origin()])
    seen = copy(origin(), published=None, first_seen=REAL_PUBLISHED + 2 * DAY)
    assert index.match(seen) is not None
    late = copy(origin(), published=None, first_seen=REAL_PUBLISHED + 30 * DAY)
    assert index.match(late) is None
    assert index.match(copy(origin(), published=None)) is None


def test_one_site_never_copies_itself() -> None:
    # the same title twice on one site is two releases ("-2" slugs)
    assert indexed([origin()]).match(copy(origin(), "s-2", SECRETARIAT)) is None


# What re-posting changes, each alone, on the real release
REPOSTS = {
    "headline in capitals": {"title": REAL_ORIGIN_TITLE.upper()},
    "headline in lower case": {"title": REAL_ORIGIN_TITLE.lower()},
    "a prefix": {"title": "Press Release: " + REAL_ORIGIN_TITLE},
    "a prefix with a dash": {"title": "Media Release – " + REAL_ORIGIN_TITLE},
    "a site's name after it": {"title": REAL_ORIGIN_TITLE + " | ASEAN Secretariat"},
    "another dateline": {
        "text": REAL_ORIGIN_TEXT.replace("BALI, 21 February 2019 –", "Bali, February 21, 2019 --")
    },
    "a numeric dateline": {
        "text": REAL_ORIGIN_TEXT.replace("BALI, 21 February 2019 –", "BALI, 21/02/2019:")
    },
    "a Source line": {"text": "Source: ASEAN Secretariat News\n\n" + REAL_ORIGIN_TEXT},
    "paragraphs rejoined": {"text": " ".join(REAL_ORIGIN_TEXT.split("\n\n"))},
    "re-wrapped lines": {
        "text": "\n".join(" ".join(REAL_ORIGIN_TEXT.split()[i : i + 9]) for i in range(0, 400, 9))
    },
    "typography": {
        "text": REAL_ORIGIN_TEXT.replace("’", "'").replace("–", "-").replace(" ", "\u00a0", 40)
    },
}


@pytest.mark.parametrize("change", list(REPOSTS))
def test_what_reposting_changes_does_not_hide_a_copy(change: str) -> None:
    found = indexed([origin()]).match(copy(origin(), **REPOSTS[change]))
    assert found is not None
    assert found.similarity > 0.95


def test_the_dateline_and_the_source_line_are_not_words_of_the_release() -> None:
    words = normalised_words(REAL_REPOST)
    assert words[:3] == ["upon", "the", "elevation"]
    assert "source" not in words
    assert title_words("PRESS RELEASE: ASEAN, Russia Commit") == ["asean", "russia", "commit"]


def heavy_modules(code: str) -> list[str]:
    script = f"import sys\n{code}\nprint(sorted(m for m in ('datasketch', 'numpy', 'scipy') if m in sys.modules))"
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return list(ast.literal_eval(run.stdout))


def test_importing_the_matching_does_not_import_numpy() -> None:
    # `watcher --help` and the reading commands start without numpy
    assert heavy_modules("import watcher.copies, watcher.cli") == []
    # where matching runs, numpy is there, and never scipy (datasketch's 55 MB)
    made = heavy_modules(
        "import watcher.copies as c\nc.sign(c.Release('a', 'x', 0, 'T', 'one two three', None))"
    )
    assert made == ["numpy"]


def test_a_title_of_another_meeting_or_partner_is_another_release() -> None:
    # the text alone cannot tell (a statement re-issued for the next meeting): the title does
    numbered = replace(origin(), title="16th ASEAN-Russia Senior Officials' Meeting held in Bali")
    index = indexed([numbered])
    retitled = "Press release: 16th ASEAN-Russia Senior Officials' Meeting held in Bali"
    assert index.match(copy(numbered, title=retitled)) is not None
    next_title = "17th ASEAN-Russia Senior Officials' Meeting held in Bali"
    assert index.match(copy(numbered, title=next_title)) is None
    other = "16th ASEAN Defence Ministers' Meeting convenes in Bali"
    assert index.match(copy(numbered, title=other)) is None


def test_an_edited_figure_among_repeated_numbers_counts_once() -> None:
    # the 23rd meeting, USD 23 million edited to 25: difflib pairs the 23s so that the edit
    # looks like an insertion and a deletion; it is one figure (a copy seed 14 once missed)
    assert numbers_changed(("23", "3", "69", "23", "23"), ("23", "3", "69", "25", "23")) == 1
    # the next meeting: its ordinal (twice) and its day
    assert numbers_changed(("16", "20", "3", "16"), ("17", "5", "3", "17")) == 3
    words = normalised_words("The 16th Meeting pledged USD 1,200 million (4.5 per cent).")
    assert number_sequence(words) == ("16", "1200", "4.5")


@pytest.mark.slow
def test_the_daemons_path_links_the_frozen_corpus_and_reports_each_divergence(
    tmp_path: Path,
) -> None:
    """The frozen corpus stored as checks store it (bands in the database, one transaction a
    release): every copy linked, nothing else; a DIVERGED for each re-post whose origin was
    edited after it was made, none for the others; each story NEW once, its other releases
    ALSO_PUBLISHED."""
    linked = LinkedStore.open(tmp_path)
    try:
        linked.add_all(CORPUS.releases)
        pairs = linked.linked()
        assert CORPUS.copies - pairs == set()  # recall 100%
        assert pairs - CORPUS.copies == set()  # precision 100%
        assert linked.told(ChangeKind.DIVERGED) == set(CORPUS.diverged)
        # each story news once, whichever of its releases was met first
        new, also = linked.told(ChangeKind.NEW), linked.told(ChangeKind.ALSO_PUBLISHED)
        for story in CORPUS.stories:
            assert len(story & new) == 1, sorted(story)
            assert story - new <= also
    finally:
        linked.close()
