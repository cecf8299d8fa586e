"""The `html` and `feed` sources against the simulated site."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.helpers import ShiftedClock
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.models import ChangeKind, CheckStatus, ReleaseStatus

# The store's behaviour, on SQLite and on PostgreSQL.
pytestmark = pytest.mark.databases

BODY = (
    "BALI, 21 February 2019 -- ASEAN and Russia reviewed the Plan of Action.\n\nSecond paragraph."
)


def html_source(site: SimWordPress, **extra: Any) -> dict[str, Any]:
    return {
        "name": "statements",
        "type": "html",
        "profile": "asean",
        "url": f"{site.url}/category/news/",
        **extra,
    }


def test_listing_walk_respects_max_pages(site: SimWordPress, make_app: Callable[..., App]) -> None:
    for number in range(25):
        site.add_post(f"Release {number}", BODY)
    app = make_app([html_source(site, max_pages=2)])
    [result] = app.check()
    assert result.status == CheckStatus.OK
    assert result.count(ChangeKind.NEW) == 20  # two listing pages of ten
    assert len(site.requests_to("/category/news/")) == 2


def test_html_new_edit_and_sidebar_change(site: SimWordPress, make_app: Callable[..., App]) -> None:
    first = site.add_post("ASEAN, Russia commit to deepen cooperation", BODY)
    app = make_app([html_source(site)])
    [result] = app.check()
    assert result.count(ChangeKind.NEW) == 1
    [release] = app.store.releases()
    assert release.key == f"wp:{first}"  # the page's shortlink names the post id
    history = app.store.history(str(release.id))
    assert history is not None
    text = history.versions[0].text
    assert text.startswith("BALI, 21 February 2019 — ASEAN and Russia")
    assert "ABOUT ASEAN" not in text and "Latest News" not in text

    site.set_sidebar("Trending")
    site.set_footer("ABOUT ASEAN: changed")
    site.add_post("A new one", "Text of the new one.")
    [result] = app.check()
    assert result.count(ChangeKind.NEW) == 1
    assert result.count(ChangeKind.EDITED) == 0

    site.edit_post(first, content=BODY.replace("reviewed", "adopted"))
    [result] = app.check()
    assert result.count(ChangeKind.EDITED) == 1


def test_conditional_requests_and_no_parsing_when_bytes_are_unchanged(
    make_app: Callable[..., App],
) -> None:
    with SimWordPress(etags=True) as site:
        for number in range(5):
            site.add_post(f"Release {number}", BODY)
        app = make_app([html_source(site)])
        app.check()
        site.clear_hits()
        [result] = app.check()
        assert result.status == CheckStatus.OK
        assert result.requests == 6
        assert result.not_modified == 6  # the listing and five articles all answered 304
        assert [hit.status for hit in site.hits] == [304] * 6


def test_layout_change_is_a_failed_check_not_a_mass_removal(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    for number in range(3):
        site.add_post(f"Release {number}", BODY)
    app = make_app([html_source(site)])
    app.check()
    site.theme = "classic"  # the listing's items no longer match `article > a`
    for _ in range(2):
        [result] = app.check()
        assert result.status == CheckStatus.FAILED
        assert "no items matching 'article > a[href]'" in (result.error or "")
    assert {r.status for r in app.store.releases()} == {ReleaseStatus.ACTIVE}


def test_a_release_gone_twice_is_removed_and_kept(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("Kept", BODY)
    gone = site.add_post("Withdrawn", BODY)
    app = make_app([html_source(site)])
    app.check()
    site.trash_post(gone)
    [result] = app.check()
    assert not result.changed  # one 404 may be a glitch
    [result] = app.check()
    assert result.count(ChangeKind.REMOVED) == 1
    removed = [r for r in app.store.releases() if r.status == ReleaseStatus.REMOVED]
    assert [r.title for r in removed] == ["Withdrawn"]
    site.untrash_post(gone)
    [result] = app.check()
    assert result.count(ChangeKind.RESTORED) == 1


@pytest.mark.slow
def test_a_broken_article_fails_the_check_but_not_the_others(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("Good", BODY)
    bad = site.add_post("Bad", BODY)
    site.faults[f"/{site.posts[bad].slug}/"] = 500
    app = make_app([html_source(site)])
    [result] = app.check()
    assert result.status == CheckStatus.FAILED
    assert result.error == (
        "1 page(s) failed, the others were read; first: "
        f"HTTP 500: {site.url}/{site.posts[bad].slug}/"
    )
    assert [r.title for r in app.store.releases()] == ["Good"]
    [status] = app.store.statuses()
    assert status.baseline_done  # one broken page must not keep the source in its baseline
    assert status.consecutive_failures == 1

    site.faults.clear()
    [result] = app.check()
    assert result.status == CheckStatus.OK
    assert result.count(ChangeKind.NEW) == 1


@pytest.mark.slow
def test_a_source_none_of_whose_pages_reads_backs_off(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    """Its listing reads, every article page fails (a new article template, say): the site is
    asked less often, as when nothing of it reads; one good page among bad ones keeps the pace."""
    posts = [site.add_post(f"Release {n}", BODY) for n in range(2)]
    clock = ShiftedClock()
    app = make_app([html_source(site, every="15m")], clock=clock)
    for post in posts:
        site.faults[f"/{site.posts[post].slug}/"] = 500
    [first] = app.check()
    assert first.status == CheckStatus.FAILED
    assert (first.error or "").startswith("no page could be read (2 failed); first: HTTP 500")
    assert app.check()[0].status == CheckStatus.FAILED
    [waiting] = app.check()
    assert (waiting.status, waiting.requests) == (CheckStatus.DEFERRED, 0)
    [status] = app.store.statuses()
    assert not status.baseline_done  # nothing was read: what is there is not news yet

    clock.advance(timedelta(minutes=16))
    del site.faults[f"/{site.posts[posts[0]].slug}/"]  # one page reads again
    for _ in range(3):
        [result] = app.check()
        assert result.status == CheckStatus.FAILED, result.error  # the other still fails...
        assert result.requests > 0  # ...and the source is not paused for it
    [status] = app.store.statuses()
    assert status.baseline_done
    assert [(e.title, e.baseline) for e in app.store.recent_changes(10)] == [("Release 0", True)]


def test_custom_selectors_on_a_classic_theme(make_app: Callable[..., App]) -> None:
    with SimWordPress(theme="classic") as site:
        site.add_post("Classic", BODY)
        app = make_app(
            [
                {
                    "name": "classic",
                    "type": "html",
                    "url": f"{site.url}/category/news/",
                    "selectors": {
                        "item": "h2.entry-title a",
                        "next": "a.page-numbers.next",
                        "title": "h1.entry-title",
                        "date": "time[datetime]",
                        "content": ".entry-content",
                        "exclude": [".sharedaddy"],
                    },
                }
            ]
        )
        [result] = app.check()
        assert result.count(ChangeKind.NEW) == 1
        [release] = app.store.releases()
        history = app.store.history(str(release.id))
        assert history is not None
        assert "Share this" not in history.versions[0].text


def test_feed_source_follows_items_to_their_pages(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    post = site.add_post("From the feed", BODY)
    app = make_app(
        [{"name": "feed", "type": "feed", "url": f"{site.url}/feed/", "profile": "asean"}]
    )
    [result] = app.check()
    assert result.count(ChangeKind.NEW) == 1
    site.edit_post(post, content=BODY + "\n\nA paragraph added later.")
    [result] = app.check()
    assert result.count(ChangeKind.EDITED) == 1


def test_feed_source_reading_the_feed_content_only(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    post = site.add_post("From the feed", BODY)
    app = make_app([{"name": "feed", "type": "feed", "url": f"{site.url}/feed/", "follow": False}])
    [result] = app.check()
    assert result.count(ChangeKind.NEW) == 1
    assert not site.requests_to(f"/{site.posts[post].slug}/")
    [release] = app.store.releases()
    history = app.store.history(str(release.id))
    assert history is not None
    assert "appeared first on" not in history.versions[0].text  # the Yoast footer is not news
    site.clear_hits()
    [result] = app.check()
    assert not result.changed


def test_a_post_trashed_behind_a_304_is_found_by_the_sweep(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    """WordPress dates a feed by its newest published change: trashing an older post leaves the
    feed answering 304 though the post is gone from it. The hourly sweep asks in full."""
    settled = datetime.now(UTC) - timedelta(minutes=10)
    kept = site.add_post("Kept", BODY, date_gmt=settled)
    gone = site.add_post("Withdrawn", BODY, date_gmt=settled - timedelta(minutes=1))
    site.set_modified(gone, settled - timedelta(minutes=1))
    site.set_modified(kept, settled)
    clock = ShiftedClock()
    app = make_app(
        [
            {
                "name": "feed",
                "type": "feed",
                "url": f"{site.url}/feed/",
                "follow": False,  # the feed's content only: no page request tells of a removal
                "sweep_every": "1h",
            }
        ],
        clock=clock,
    )
    app.check()
    site.trash_post(gone)
    site.set_modified(gone, settled - timedelta(minutes=1))  # the trash is not a published change
    site.clear_hits()
    for _ in range(2):
        [result] = app.check()
        assert not result.changed
    assert [hit.status for hit in site.requests_to("/feed/")] == [304, 304]

    clock.advance(timedelta(hours=1, minutes=1))
    [result] = app.check()  # the sweep: the feed in full, the missing post's page asked for
    assert not result.changed
    [result] = app.check()
    assert result.count(ChangeKind.REMOVED) == 1
    assert {r.title: r.status for r in app.store.releases()} == {
        "Kept": ReleaseStatus.ACTIVE,
        "Withdrawn": ReleaseStatus.REMOVED,
    }
