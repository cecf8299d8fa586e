"""The revisit policy: a check reads again the pages where edits happen (the new, the lately
edited), every other release at least once a day, and the listing's deeper pages as rarely;
every edit is still found within a day, every removal within two."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.helpers import ShiftedClock
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.models import ChangeKind, ReleaseStatus

# The store's behaviour, on SQLite and on PostgreSQL.
pytestmark = pytest.mark.databases

CYCLE = timedelta(minutes=15)
OLD = datetime(2024, 3, 1, tzinfo=UTC)


def listing(site: SimWordPress, **extra: Any) -> dict[str, Any]:
    return {
        "name": "pages",
        "type": "html",
        "profile": "asean",
        "url": f"{site.url}/category/news/",
        "max_pages": 0,
        "every": "15m",
        **extra,
    }


def archive(site: SimWordPress, old: int, new: int = 0) -> tuple[list[int], list[int]]:
    """`old` releases published years ago, then `new` published today."""
    olds = [
        site.add_post(f"Old {n}", "Text.", date_gmt=OLD + timedelta(days=n)) for n in range(old)
    ]
    news = [site.add_post(f"New {n}", "Text.") for n in range(new)]
    return olds, news


def pages_read(site: SimWordPress) -> set[str]:
    return {
        hit.path
        for hit in site.hits
        if hit.path.count("/") == 2 and not hit.path.startswith(("/category/", "/wp-json/"))
    }


def test_a_check_reads_again_only_the_new_and_lately_edited(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    olds, news = archive(site, old=12, new=2)
    clock = ShiftedClock()
    app = make_app([listing(site)], clock=clock)
    app.check()
    site.edit_post(olds[3], content="Edited text.")  # an old release, edited
    clock.advance(CYCLE)
    site.clear_hits()
    [result] = app.check()
    assert pages_read(site) == {f"/{site.posts[p].slug}/" for p in news}
    assert result.count(ChangeKind.EDITED) == 0  # not read yet: found within a day

    clock.advance(timedelta(hours=24) - CYCLE)
    site.clear_hits()
    [result] = app.check()
    assert result.count(ChangeKind.EDITED) == 1
    assert len(pages_read(site)) == 14  # every release, once a day

    site.edit_post(olds[3], content="Edited again.")
    clock.advance(CYCLE)
    site.clear_hits()
    [result] = app.check()
    assert f"/{site.posts[olds[3]].slug}/" in pages_read(site)  # edited lately: every check
    assert result.count(ChangeKind.EDITED) == 1


def test_all_releases_reads_every_page_now(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    olds, _ = archive(site, old=12)
    clock = ShiftedClock()
    app = make_app([listing(site)], clock=clock)
    app.check()
    site.edit_post(olds[5], content="Edited text.")
    clock.advance(CYCLE)
    site.clear_hits()
    [result] = app.check(all_releases=True)
    assert len(pages_read(site)) == 12
    assert result.count(ChangeKind.EDITED) == 1


def test_the_listing_s_deeper_pages_are_walked_once_a_day(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    archive(site, old=45)  # five listing pages of ten
    clock = ShiftedClock()
    app = make_app([listing(site)], clock=clock)
    app.check()
    walked = []
    for advance in (CYCLE, CYCLE, timedelta(hours=24) - 2 * CYCLE):
        clock.advance(advance)
        site.clear_hits()
        app.check()
        walked.append(len(site.requests_to("/category/news/")))
    assert walked == [2, 2, 5]  # the first two pages, then the whole listing again


@pytest.mark.slow
def test_a_removal_deep_in_an_old_listing_is_found_within_two_days(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    olds, _ = archive(site, old=45)
    clock = ShiftedClock()
    app = make_app([listing(site)], clock=clock)
    app.check()
    site.trash_post(olds[2])  # on the last listing page
    checks = 0
    while {r.title: r.status for r in app.store.releases()}["Old 2"] == ReleaseStatus.ACTIVE:
        clock.advance(CYCLE)
        app.check()
        checks += 1
        assert checks * CYCLE <= timedelta(hours=48)
