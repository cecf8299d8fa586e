"""The `wordpress` source against the simulated site: what a user of the feed would notice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import ShiftedClock, wordpress_source
from tests.sim.wordpress import JOINT_STATEMENT, SimWordPress
from watcher.app import App
from watcher.models import ChangeKind, CheckStatus, ReleaseStatus

# The store's behaviour, on SQLite and on PostgreSQL.
pytestmark = pytest.mark.databases

BODY = (
    'JAKARTA, 27 May 2026 -- The ASEAN-Russia "Senior Officials" Meeting convened today.\n\n'
    "It's the 16th meeting... The officials reviewed the Plan of Action.\n\n"
    '<a href="/wp-content/uploads/2026/05/Joint-Statement.pdf">Download the full Statement here</a>'
)


def kinds(app: App) -> list[tuple[ChangeKind, str]]:
    return [(entry.kind, entry.title) for entry in app.store.recent_changes(100)]


def test_baseline_takes_the_whole_history_dated_by_publication(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    old = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    for number in range(130):
        site.add_post(f"Release {number}", BODY, date_gmt=old + timedelta(days=number))
    site.add_post("A speech", BODY, categories=["speeches"])
    app = make_app([wordpress_source(site)])

    [result] = app.check()

    assert result.status == CheckStatus.OK
    assert result.count(ChangeKind.NEW) == 131
    assert result.requests == 5  # robots.txt, categories, the newest change, 2 pages of 100
    entries = {e.title: e for e in app.store.recent_changes(200)}
    assert entries["Release 0"].feed_date == old  # a baseline entry is dated by publication
    assert entries["Release 0"].baseline


def test_a_check_that_finds_nothing_costs_one_request(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    post = site.add_post("First", BODY)
    # edited a minute ago: a modification within the last seconds is read again, to be sure
    site.set_modified(post, datetime.now(UTC) - timedelta(minutes=1))
    app = make_app([wordpress_source(site, sweep_every="1h")])
    app.check()
    site.clear_hits()

    [result] = app.check()

    assert result.status == CheckStatus.OK
    assert not result.changed
    # the post is new (within revisit.fresh): its PDF is asked for again, counted apart
    assert [(hit.path, hit.status) for hit in site.hits] == [
        ("/wp-json/wp/v2/posts", 200),
        (JOINT_STATEMENT, 304),
    ]
    assert (result.requests, result.attachment_requests) == (1, 1)
    assert site.hits[0].query["modified_after"][0].endswith("Z")
    assert site.hits[0].query["_fields"] == ["id,modified_gmt"]  # the post is in the look-back


def test_new_post_edit_and_title_edit(site: SimWordPress, make_app: Callable[..., App]) -> None:
    post = site.add_post("ASEAN, Russia commit to deepen cooperation", BODY)
    app = make_app([wordpress_source(site)])
    app.check()

    site.add_post("Second release", "Another text.", categories=["statements-meetings"])
    site.edit_post(post, content=BODY.replace("16th meeting", "17th meeting"))
    [result] = app.check()
    assert result.count(ChangeKind.NEW) == 1
    assert result.count(ChangeKind.EDITED) == 1
    edited = next(e for e in app.store.recent_changes(10) if e.kind == ChangeKind.EDITED)
    assert "-It’s the 16th meeting…" in edited.diff
    assert "+It’s the 17th meeting…" in edited.diff

    site.edit_post(post, title="ASEAN, Russia commit to deepen strategic cooperation")
    [result] = app.check()
    assert result.count(ChangeKind.EDITED) == 1
    history = app.store.history(edited.url)
    assert history is not None
    assert [v.title for v in history.versions][-1] == (
        "ASEAN, Russia commit to deepen strategic cooperation"
    )
    assert len(history.versions) == 3


@pytest.mark.parametrize("theme", ["asean", "classic"])
def test_widget_menu_tagline_and_footer_changes_are_not_edits(
    theme: str, make_app: Callable[..., App]
) -> None:
    # no API and excerpt-only feeds, as asean.org may be: every article is read from its page
    with SimWordPress(theme=theme, api="forbidden", feed_content=False) as site:
        for number in range(3):
            site.add_post(f"Release {number}", BODY)
        app = make_app([wordpress_source(site)])
        app.check()
        site.clear_hits()

        site.set_sidebar("Most read this week")
        site.set_menu(["Home", "Secretariat", "Contact"])
        site.set_tagline("A changed tagline")
        site.set_footer("ABOUT ASEAN (edited footer)")
        [result] = app.check()

        assert len([h for h in site.hits if h.path.startswith("/release-")]) == 3
        assert result.status == CheckStatus.OK
        assert not result.changed
        assert {kind for kind, _ in kinds(app)} == {ChangeKind.NEW}


@pytest.mark.parametrize(
    ("theme", "feed_content", "post_ids_on_pages"),
    [
        ("asean", True, True),
        ("classic", True, True),
        ("asean", False, True),
        ("classic", False, False),
    ],
)
def test_switching_between_api_and_fallback_never_creates_an_edit(
    theme: str, feed_content: bool, post_ids_on_pages: bool, make_app: Callable[..., App]
) -> None:
    """The API's content.rendered, a feed's content:encoded and the article page (with or
    without the post id on it) read as one text and one release."""
    with SimWordPress(
        theme=theme, feed_content=feed_content, post_ids_on_pages=post_ids_on_pages
    ) as site:
        site.add_post(
            'It\'s the "ASEAN-Russia" -- partnership...',
            BODY,
            categories=["news", "speeches"],
            date_gmt=datetime(2026, 5, 26, 20, 30, tzinfo=UTC),  # 27 May in Jakarta
        )
        site.add_post(
            "Remarks by the Secretary-General",
            "Excellencies,\nLadies and gentlemen,\n\nThank you.",
            categories=["speeches"],
        )
        clock = ShiftedClock()
        app = make_app([wordpress_source(site)], clock=clock)
        assert app.check()[0].count(ChangeKind.NEW) == 2

        for mode in ("forbidden", "not_found", "html", "challenge", "invalid_json", "on"):
            site.set_api(mode)
            [result] = app.check()
            assert result.status == CheckStatus.OK, (mode, result.error)
            assert not result.changed, (mode, kinds(app))
            assert bool(result.notes) == (mode != "on")
            clock.advance(timedelta(hours=2))  # past the hour a fallback waits to retry the API
        assert len(app.store.releases()) == 2
        assert {r.key for r in app.store.releases()} == {f"wp:{i}" for i in site.posts}


def test_fallback_reads_feeds_and_pages_and_says_so(
    site: SimWordPress, make_app: Callable[..., App], caplog: pytest.LogCaptureFixture
) -> None:
    site.set_api("forbidden")
    post = site.add_post("Statement", BODY, categories=["statements-meetings"])
    app = make_app([wordpress_source(site)])
    with caplog.at_level(logging.INFO, logger="watcher"):
        [result] = app.check()
    assert result.status == CheckStatus.OK
    assert result.count(ChangeKind.NEW) == 1
    assert "REST API unavailable (HTTP 401 at /wp/v2/categories)" in caplog.text
    assert site.requests_to("/category/statements-meetings/feed/")

    site.edit_post(post, content=BODY.replace("reviewed", "adopted"))
    [result] = app.check()
    assert result.count(ChangeKind.EDITED) == 1
    [release] = app.store.releases()
    assert release.key == f"wp:{post}"  # the guid's post id, as the API would give it


def test_slug_change_is_the_same_release(site: SimWordPress, make_app: Callable[..., App]) -> None:
    post = site.add_post("Joint Statement", BODY)
    app = make_app([wordpress_source(site)])
    app.check()
    site.change_slug(post, "joint-statement-of-the-meeting")
    [result] = app.check()
    assert not result.changed
    [release] = app.store.releases()
    assert release.url.endswith("/joint-statement-of-the-meeting/")
    assert release.versions == 1


def test_trash_is_removed_after_two_sweeps_and_restored_when_back(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("Kept", BODY)
    gone = site.add_post("Withdrawn statement", BODY)
    app = make_app([wordpress_source(site)])
    app.check()

    site.trash_post(gone)
    assert not app.check()[0].changed  # missing once: maybe a glitch
    [result] = app.check()
    assert result.count(ChangeKind.REMOVED) == 1
    statuses = {r.title: r.status for r in app.store.releases()}
    assert statuses == {"Kept": ReleaseStatus.ACTIVE, "Withdrawn statement": ReleaseStatus.REMOVED}
    history = app.store.history(site.link(gone))
    assert history is not None
    assert history.versions  # every version is kept

    site.untrash_post(gone)
    [result] = app.check()
    assert result.count(ChangeKind.RESTORED) == 1
    assert {r.status for r in app.store.releases()} == {ReleaseStatus.ACTIVE}


def test_sweep_runs_only_every_sweep_every(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    post = site.add_post("One", BODY)
    site.set_modified(post, datetime.now(UTC) - timedelta(minutes=1))  # not read again
    app = make_app([wordpress_source(site, sweep_every="1h")])
    app.check()
    site.clear_hits()
    app.check()
    api = site.requests_to("/wp-json/")
    assert [h.query.get("orderby") for h in api] == [["modified"]]  # no id list
    assert "modified_after" in site.hits[0].query


def test_scheduled_post_that_appears_without_a_new_modified_date_is_found_by_the_sweep(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("One", BODY)
    app = make_app([wordpress_source(site)])
    app.check()
    late = site.add_post("Published by cron", BODY)
    site.set_modified(late, datetime(2020, 1, 1, tzinfo=UTC))
    [result] = app.check()
    assert result.count(ChangeKind.NEW) == 1


def test_challenge_page_is_a_failed_check_and_removes_nothing(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("One", BODY)
    clock = ShiftedClock()
    app = make_app([wordpress_source(site)], clock=clock)
    app.check()
    site.challenge = True
    for _ in range(4):
        [result] = app.check()
        assert result.status == CheckStatus.FAILED
        assert "challenge" in (result.error or "")
        [waiting] = app.check()  # from the second failure on, checks back off
        assert waiting.status in (CheckStatus.FAILED, CheckStatus.DEFERRED)
        clock.advance(timedelta(hours=7))  # past the longest pause
    site.challenge = False
    [back] = app.check()
    assert back.status == CheckStatus.OK and not back.changed
    assert [r.status for r in app.store.releases()] == [ReleaseStatus.ACTIVE]


def test_repeated_failures_back_off(site: SimWordPress, make_app: Callable[..., App]) -> None:
    site.add_post("One", BODY)
    clock = ShiftedClock()
    app = make_app([wordpress_source(site, every="15m")], clock=clock)
    app.check()
    site.challenge = True
    assert app.check()[0].status == CheckStatus.FAILED  # one failure: the next check runs
    assert app.check()[0].status == CheckStatus.FAILED  # two: pause one interval
    [waiting] = app.check()
    assert (waiting.status, waiting.requests) == (CheckStatus.DEFERRED, 0)
    assert "backing off after 2 failed checks" in (waiting.error or "")
    clock.advance(timedelta(minutes=16))
    assert app.check()[0].status == CheckStatus.FAILED  # three: pause three intervals
    clock.advance(timedelta(minutes=44))
    assert app.check()[0].status == CheckStatus.DEFERRED
    clock.advance(timedelta(minutes=2))
    site.challenge = False
    assert app.check()[0].status == CheckStatus.OK
    [status] = app.store.statuses()
    assert status.consecutive_failures == 0


def test_quote_style_whitespace_and_markup_only_changes_are_not_edits(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    post = site.add_post("Plain title", 'The "Plan" of Action -- 2026.\n\nSecond   paragraph.')
    app = make_app([wordpress_source(site)])
    app.check()
    site.edit_post(
        post,
        content="<p>The <strong>“Plan”</strong> of&nbsp;Action — 2026.</p>\n\n<p>Second paragraph.</p>",
    )
    [result] = app.check()
    assert not result.changed


def test_unknown_category_is_a_clear_failure(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    app = make_app([wordpress_source(site, categories=["news", "no-such-category"])])
    [result] = app.check()
    assert result.status == CheckStatus.FAILED
    assert result.error == f"no category 'no-such-category' at {site.url}"


def test_an_edit_in_the_hour_that_happens_twice_is_found(make_app: Callable[..., App]) -> None:
    """New York, 1 November 2026: 01:00-02:00 happens in summer time, then again in winter
    time. An edit at 01:10 winter time comes after one at 01:50 summer time, yet reads as
    earlier in the site time that WordPress compares `modified_after` with."""
    with SimWordPress(timezone="America/New_York") as site:
        first = site.add_post("ASEAN-US statement", BODY)
        second = site.add_post("ASEAN-US remarks", BODY)
        site.set_modified(first, datetime(2026, 11, 1, 5, 50, tzinfo=UTC))  # 01:50 EDT
        site.set_modified(second, datetime(2026, 11, 1, 5, 40, tzinfo=UTC))  # 01:40 EDT
        app = make_app([wordpress_source(site)])
        app.check()
        site.edit_post(second, content=BODY + "\n\nA sentence added.")
        site.set_modified(second, datetime(2026, 11, 1, 6, 10, tzinfo=UTC))  # 01:10 EST
        [result] = app.check()
    assert result.count(ChangeKind.EDITED) == 1, kinds(app)
