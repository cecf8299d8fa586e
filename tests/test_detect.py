"""Detection is pure: previous version + new reading -> change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from watcher import extract
from watcher.detect import detect, missing
from watcher.models import (
    ChangeKind,
    KnownRelease,
    Origin,
    ReleaseSnapshot,
    ReleaseStatus,
    VersionRecord,
)

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
PUBLISHED = datetime(2026, 6, 8, 1, 13, 55, tzinfo=UTC)


def reading(
    text: str, *, title: str = "Joint Statement", published: datetime | None = PUBLISHED
) -> ReleaseSnapshot:
    return extract.snapshot(
        url="https://asean.org/joint-statement/",
        title=title,
        published=published,
        text=text,
        html=f"<p>{text}</p>",
        attachments=(),
        origin=Origin.API,
        wp_id=7,
    )


def stored(snapshot: ReleaseSnapshot, number: int = 1) -> VersionRecord:
    return VersionRecord(
        number, snapshot.title, snapshot.published, snapshot.text, (), snapshot.content_hash
    )


def test_new_release_in_a_baseline_is_dated_by_publication() -> None:
    verdict = detect(None, None, reading("Text."), now=NOW, baseline=True)
    assert verdict.change is not None
    assert (verdict.change.kind, verdict.change.feed_date, verdict.change.baseline) == (
        ChangeKind.NEW,
        PUBLISHED,
        True,
    )
    later = detect(None, None, reading("Text."), now=NOW, baseline=False)
    assert later.change is not None and later.change.feed_date == NOW


def test_edit_has_a_unified_diff() -> None:
    old = reading("ASEAN and Russia met.\n\nThey agreed on 10 points.")
    new = reading("ASEAN and Russia met.\n\nThey agreed on 12 points.")
    verdict = detect(stored(old), ReleaseStatus.ACTIVE, new, now=NOW, baseline=False)
    assert verdict.change is not None and verdict.change.kind == ChangeKind.EDITED
    assert verdict.new_version
    assert verdict.change.diff.splitlines() == [
        "--- version 1",
        "+++ version 2",
        "@@ -5,2 +5,2 @@",
        " ",
        "-They agreed on 10 points.",
        "+They agreed on 12 points.",
    ]


def test_same_words_is_no_change() -> None:
    old = reading('It\'s the "Plan" -- 2026.')
    new = reading("It’s the “Plan” – 2026.")
    verdict = detect(stored(old), ReleaseStatus.ACTIVE, new, now=NOW, baseline=False)
    assert verdict.change is None and not verdict.new_version


def test_a_date_read_two_ways_is_not_an_edit_but_a_re_dated_release_is() -> None:
    old = reading("Text.")
    day_only = reading("Text.", published=datetime(2026, 6, 8, tzinfo=UTC))
    assert (
        detect(stored(old), ReleaseStatus.ACTIVE, day_only, now=NOW, baseline=False).change is None
    )
    moved = reading("Text.", published=PUBLISHED + timedelta(days=3))
    verdict = detect(stored(old), ReleaseStatus.ACTIVE, moved, now=NOW, baseline=False)
    assert verdict.change is not None and verdict.change.kind == ChangeKind.EDITED
    assert "+Published: 11 June 2026" in verdict.change.diff


def test_back_after_removal_is_restored() -> None:
    old = reading("Text.")
    verdict = detect(stored(old), ReleaseStatus.REMOVED, reading("Text."), now=NOW, baseline=False)
    assert verdict.change is not None and verdict.change.kind == ChangeKind.RESTORED
    assert not verdict.new_version and verdict.change.diff == ""


def test_removed_only_when_missing_twice() -> None:
    known = KnownRelease(
        "wp:7", "https://asean.org/x/", "asean.org/x", ReleaseStatus.ACTIVE, 0, 7, None, True
    )
    count, change = missing(known, NOW)
    assert (count, change) == (1, None)
    count, change = missing(replace(known, missing_count=1), NOW)
    assert count == 2 and change is not None and change.kind == ChangeKind.REMOVED
    already = replace(known, status=ReleaseStatus.REMOVED, missing_count=5)
    assert missing(already, NOW) == (6, None)  # removed once, never again


def test_a_date_appearing_is_not_an_edit_but_an_exact_one_moving_is() -> None:
    undated = reading("Text.", published=None)
    dated = reading("Text.")
    assert (
        detect(stored(undated), ReleaseStatus.ACTIVE, dated, now=NOW, baseline=False).change is None
    )
    hour_later = reading("Text.", published=PUBLISHED + timedelta(hours=3))
    verdict = detect(stored(dated), ReleaseStatus.ACTIVE, hour_later, now=NOW, baseline=False)
    assert verdict.change is not None and verdict.change.kind == ChangeKind.EDITED
