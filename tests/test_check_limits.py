"""Checks cut short by check_deadline or check_max_pages, again and again: they always get
further, never skip a release, never wedge the source, never hide a failure, and news is news
once the history has been read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.helpers import add_posts, posts_answer, wordpress_source
from tests.sim.model import Request, Response
from tests.sim.wordpress import SimWordPress
from tests.staticsite import StaticSite, article, rss
from watcher.app import App
from watcher.config import http_options
from watcher.fetch import Fetcher
from watcher.models import ChangeKind, CheckStatus, ReleaseStatus
from watcher.store.tables import RELEASE

# The store's behaviour, on SQLite and on PostgreSQL.
pytestmark = pytest.mark.databases

DEEP = "<span>" * 3000


@pytest.fixture
def static() -> Iterator[StaticSite]:
    with StaticSite() as site:
        yield site


def listing_source(site: SimWordPress, **extra: Any) -> dict[str, Any]:
    return {
        "name": "pages",
        "type": "html",
        "profile": "asean",
        "url": f"{site.url}/category/news/",
        **extra,
    }


def slow_pages(site: SimWordPress, seconds: float) -> None:
    for post in site.posts.values():
        site.delays[f"/{post.slug}/"] = seconds


@pytest.mark.slow
def test_a_source_whose_every_check_hits_its_deadline_finishes_its_baseline(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    for n in range(4):
        site.add_post(f"Release {n}", "Its text.")
    slow_pages(site, 0.6)  # four pages: more than one check's 1 s
    app = make_app([listing_source(site, check_deadline="1s")])
    for _ in range(6):
        [result] = app.check()
        assert result.status == CheckStatus.OK, result.error
        assert any("stopped at check_deadline" in note for note in result.notes)
    [shown] = app.store.statuses()
    assert shown.baseline_done  # every release was read once: what comes now is news
    assert len(app.store.releases()) == 4

    site.add_post("Fresh news", "Published after the history was read.")
    [result] = app.check()
    assert result.count(ChangeKind.NEW) == 1
    fresh = [e for e in app.store.recent_changes(10) if e.title == "Fresh news"]
    assert [e.baseline for e in fresh] == [False]


@pytest.mark.slow
def test_a_feed_walk_cut_short_skips_no_item(
    static: StaticSite, make_app: Callable[..., App]
) -> None:
    for page in (1, 2, 3):
        items = [(f"Item {page}{n}", f"{static.url}/{page}{n}/") for n in range(3)]
        static.xml("/feed/" if page == 1 else f"/feed/?paged={page}", rss(items))
        for _, link in items:
            path = link.removeprefix(static.url)
            static.html(path, article(path.strip("/"), "Text."))
            static.delays[path] = 0.4
    source = {
        "name": "f",
        "type": "feed",
        "url": f"{static.url}/feed/",
        "max_pages": 0,
        "check_max_pages": 2,  # two feed pages a check, and their six articles take 2.4 s
        "check_deadline": "1s",
    }
    app = make_app([source])
    for _ in range(8):
        app.check()
    assert len(app.store.releases()) == 9
    assert all(entry.baseline for entry in app.store.recent_changes(20))


def test_pages_that_never_read_do_not_stop_the_check_as_a_site_that_is_down(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    for n in range(12):
        site.add_post(f"Release {n}", f"{DEEP}Too deep." if n % 2 else "Readable.")
    app = make_app([listing_source(site)])
    for _ in range(3):
        [result] = app.check()
        assert result.status == CheckStatus.FAILED
        assert "6 page(s) failed, the others were read" in (result.error or "")
        assert "in a row" not in (result.error or "")
    [shown] = app.store.statuses()
    assert shown.deferred_until is None  # nothing is slowed: most of the site reads


@pytest.mark.slow
def test_a_check_cut_short_still_reports_its_failed_pages(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("Too deep", f"{DEEP}Unreadable.")
    for n in range(3):
        site.add_post(f"Release {n}", "Readable.")
    slow_pages(site, 0.5)
    app = make_app([listing_source(site, check_deadline="1s")])
    results = [app.check()[0] for _ in range(4)]
    assert any(r.failed_pages for r in results)
    for result in results:
        if result.failed_pages:
            assert result.status == CheckStatus.FAILED
            assert "markup nested deeper than 2048 levels" in (result.error or "")


def test_a_resumed_listing_walk_keeps_to_max_pages(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    for n in range(40):  # four listing pages of ten
        site.add_post(f"Release {n}", "Text.")
    app = make_app([listing_source(site, max_pages=3, check_max_pages=2)])
    walked: list[list[str]] = []
    for _ in range(4):
        site.clear_hits()
        app.check()
        walked.append([hit.path for hit in site.requests_to("/category/news/")])
    assert walked[0] == ["/category/news/", "/category/news/page/2/"]
    assert walked[1] == ["/category/news/page/3/"]  # the third of max_pages 3: the walk ends
    assert walked[2][0] == "/category/news/"  # and starts again from the top
    assert all("/category/news/page/4/" not in paths for paths in walked)


def test_a_listing_url_changed_after_a_walk_was_cut_short_starts_afresh(
    site: SimWordPress, make_app: Callable[..., App], tmp_path: Any
) -> None:
    for n in range(25):
        site.add_post(f"Release {n}", "Text.", categories=["news", "speeches"])
    app = make_app([listing_source(site, check_max_pages=1)])
    app.check()  # stopped after page 1 of news: the next check would go on at page 2
    moved = make_app([listing_source(site, url=f"{site.url}/category/speeches/")])
    [result] = moved.check()
    assert result.status == CheckStatus.OK, result.error
    assert site.requests_to("/category/speeches/")


def test_a_post_that_never_reads_does_not_hold_back_the_posts_after_it(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    app = make_app([wordpress_source(site, categories=[], check_max_pages=4)])
    app.check()
    # modified long ago, one after the other: the unreadable one first
    old = datetime(2025, 1, 1, tzinfo=UTC)
    stuck = site.add_post("Pasted from Word", f"{DEEP}Unreadable.")
    site.set_modified(stuck, old)
    for n in range(250):
        later = site.add_post(f"Later {n}", "Text.")
        site.set_modified(later, old + timedelta(minutes=n + 1))
    for _ in range(4):
        app.check()
    titles = {release.title for release in app.store.releases()}
    assert "Later 249" in titles
    assert len(titles) == 250
    [result] = app.check()
    assert any(f"post {stuck}: markup nested deeper" in note for note in result.notes)


def test_a_sweep_longer_than_one_check_goes_on_at_the_next_and_finds_the_removal(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = add_posts(site, 350)
    app = make_app([wordpress_source(site, categories=[], check_max_pages=3)])
    for _ in range(3):
        app.check()  # the history, four pages and the newest change: two checks
    site.trash_post(ids[7])
    removed = 0
    for _ in range(8):  # each sweep of four pages takes two checks; two sweeps to remove
        [result] = app.check()
        removed += result.count(ChangeKind.REMOVED)
    assert removed == 1
    states = {r.title: r.status for r in app.store.releases()}
    assert states["Release 7"] == ReleaseStatus.REMOVED
    assert sum(1 for s in states.values() if s == ReleaseStatus.ACTIVE) == 349


def test_a_post_gone_while_the_sweep_walks_removes_nothing_else(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = add_posts(site, 250)
    app = make_app([wordpress_source(site, categories=[])])
    app.check()

    def trash_after_page_one(request: Request, response: Response) -> Response:
        if request.arg("orderby") == "id" and request.arg("page") == "1":
            site.trash_post(ids[0])  # every later page moves one post back
        return response

    site.tamper = trash_after_page_one
    [result] = app.check()
    site.tamper = None
    assert "posts went away while /wp/v2/posts was walked" in (result.error or "")
    assert all(r.status == ReleaseStatus.ACTIVE for r in app.store.releases())
    assert {r.title: r for r in app.store.releases()}["Release 100"]  # never counted missing


# -- credentials go to the source's own host, over the source's own scheme -------------------


def test_http_auth_never_follows_robots_txt_to_another_host_nor_goes_over_plain_http() -> None:
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[str(request.url)] = request.headers.get("authorization")
        if request.url.path == "/robots.txt" and request.url.host == "intranet.example.org":
            return httpx.Response(301, headers={"Location": "https://cdn.example.net/robots.txt"})
        if request.url.path == "/old/":
            return httpx.Response(301, headers={"Location": "http://intranet.example.org/p/"})
        return httpx.Response(200, headers={"Content-Type": "text/html"}, text="<p>x</p>")

    fetcher = Fetcher(client=httpx.Client(transport=httpx.MockTransport(handler)))
    session = fetcher.session(
        http_options(min_delay="0s"),
        home="https://intranet.example.org/feed/",
        auth=("editor", "s3cret"),
    )
    session.get("https://intranet.example.org/old/")
    assert seen["https://intranet.example.org/robots.txt"] is not None
    assert seen["https://cdn.example.net/robots.txt"] is None
    assert seen["https://intranet.example.org/old/"] is not None
    assert seen["http://intranet.example.org/p/"] is None  # never in clear
    fetcher.close()


def test_a_malformed_post_of_the_baseline_enters_it_silently_once_readable(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("Readable", "Text.")
    broken = site.add_post("Broken", "Text.")
    site.tamper = posts_answer(
        lambda _r, data: [
            {**p, "date_gmt": "31/12/2025"} if p.get("id") == broken else p for p in data
        ]
    )
    app = make_app([wordpress_source(site)])
    app.check()
    site.tamper = None
    [result] = app.check()
    assert result.count(ChangeKind.NEW) == 1
    assert all(entry.baseline for entry in app.store.recent_changes(10))


# -- what a second look found ------------------------------------------------------------------


@pytest.mark.slow
def test_a_release_that_left_the_listing_is_looked_at_even_after_checks_cut_short(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = [site.add_post(f"Release {n}", "Text.") for n in range(5)]
    app = make_app([listing_source(site, check_deadline="1s")])
    app.check()
    site.trash_post(ids[0])  # the oldest: read last
    slow_pages(site, 0.6)
    app.check()  # cut short before it gets to the release that left the listing
    site.delays.clear()
    for _ in range(3):
        app.check()
    states = {release.title: release.status for release in app.store.releases()}
    assert states["Release 0"] == ReleaseStatus.REMOVED


def test_listing_pages_are_asked_for_conditionally_when_a_walk_takes_several_checks(
    make_app: Callable[..., App],
) -> None:
    with SimWordPress(etags=True) as site:
        for n in range(40):  # four listing pages
            site.add_post(f"Release {n}", "Text.")
        app = make_app([listing_source(site, max_pages=0, check_max_pages=3, sweep_every="1d")])
        for _ in range(4):
            app.check()
        site.clear_hits()
        for _ in range(2):
            app.check()
        statuses = {hit.status for hit in site.requests_to("/category/news/")}
        assert statuses == {304}


def test_pages_that_answer_403_do_not_stop_the_check(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = [site.add_post(f"Release {n}", "Text.") for n in range(8)]
    app = make_app([listing_source(site)])
    app.check()
    for n in range(5):
        site.faults[f"/{site.posts[site.add_post(f'Members only {n}', 'Text.')].slug}/"] = 403
    site.edit_post(ids[7], content="Edited text.")
    [result] = app.check()
    assert result.count(ChangeKind.EDITED) == 1
    assert "5 page(s) failed, the others were read" in (result.error or "")
    [shown] = app.store.statuses()
    assert shown.deferred_until is None


@pytest.mark.slow
def test_a_page_of_the_history_that_failed_once_stays_history(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = [site.add_post(f"Release {n}", "Text.") for n in range(40)]
    site.faults[f"/{site.posts[ids[35]].slug}/"] = 500  # once, during the first walk
    app = make_app([listing_source(site, max_pages=0, check_max_pages=2)])
    for _ in range(4):
        app.check()
        site.faults.clear()
    assert len(app.store.releases()) == 40
    assert [e.title for e in app.store.recent_changes(100) if not e.baseline] == []


def test_a_resumed_listing_page_that_fails_once_ends_no_history(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    for n in range(40):
        site.add_post(f"Release {n}", "Text.")
    app = make_app([listing_source(site, max_pages=0, check_max_pages=2)])
    app.check()
    site.faults["/category/news/page/3/"] = 404
    [result] = app.check()
    site.faults.clear()
    assert any("the listing moved while it was walked" in note for note in result.notes)
    for _ in range(3):
        app.check()
    assert len(app.store.releases()) == 40
    assert [e.title for e in app.store.recent_changes(100) if not e.baseline] == []


def test_old_posts_a_limited_history_did_not_reach_are_not_news(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    add_posts(site, 250)
    app = make_app([wordpress_source(site, categories=[], max_pages=1)])
    app.check()  # the newest hundred
    site.add_post("Published today", "Text.")
    app.check()  # the sweep finds the 150 older ones, and the new one
    assert len(app.store.releases()) == 251
    assert [e.title for e in app.store.recent_changes(300) if not e.baseline] == ["Published today"]


def test_posts_a_sweep_cut_short_found_are_read_at_the_next_check(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    add_posts(site, 150)
    app = make_app([wordpress_source(site, categories=[], check_max_pages=2)])
    for _ in range(3):
        app.check()
    hidden = site.add_post("Scheduled, now live", "Text.", date_gmt=datetime.now(UTC))
    site.set_modified(hidden, datetime(2025, 1, 1, tzinfo=UTC))  # as wp_publish_post leaves it
    for _ in range(6):
        app.check()
    news = [e.title for e in app.store.recent_changes(300) if not e.baseline]
    assert news == ["Scheduled, now live"]


@pytest.mark.slow
def test_a_post_that_makes_the_server_fail_fails_alone(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    app = make_app([wordpress_source(site, categories=[])])
    app.check()
    bad = site.add_post("Breaks the server", "Text.")
    site.add_post("Good news", "Text.")

    def fail_with_it(request: Request, response: Response) -> Response:
        if str(bad) in (request.arg("include") or "").split(","):
            return 500, {"Content-Type": "text/html"}, b"<h1>Error</h1>"
        return response

    site.tamper = fail_with_it
    [result] = app.check()
    assert result.count(ChangeKind.NEW) == 1
    assert any(f"post {bad}: HTTP 500" in note for note in result.notes)
    assert [r.title for r in app.store.releases()] == ["Good news"]


def test_a_post_skipped_as_the_list_moved_between_checks_is_never_counted_missing(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = add_posts(site, 250)
    app = make_app([wordpress_source(site, categories=[], check_max_pages=3)])
    for _ in range(3):
        app.check()  # the history over two checks, then the look-back and a sweep's first pages
    site.trash_post(ids[3])  # on the page already walked: every later post moves back one
    site.add_post("Fresh", "Text.")  # and X-WP-Total stays where it was
    notes = [note for _ in range(4) for note in app.check()[0].notes]
    assert "the id sweep missed 1 post(s) that are there; none removed" in notes
    with app.store.engine.connect() as connection:
        missing = connection.execute(
            sa.select(RELEASE.c.title).where(RELEASE.c.missing_count > 0)
        ).scalars()
        assert set(missing) <= {"Release 3"}  # only the one really gone
