"""A WordPress that answers badly (headers dropped by a proxy, values no WordPress sends, pages
that never end): never a false removal, never a missed edit, never a wedged source."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import BODY, POSTS, add_posts, posts_answer, wordpress_source
from tests.sim.model import Request, Response
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.models import ChangeKind, CheckStatus, ReleaseStatus
from watcher.store.tables import SOURCE


def without_totals(request: Request, response: Response) -> Response:
    """What a proxy or a hardening plugin that drops WordPress's paging headers sends."""
    status, headers, body = response
    kept = {k: v for k, v in headers.items() if k not in ("X-WP-Total", "X-WP-TotalPages")}
    return status, kept, body


def statuses(app: App) -> dict[ReleaseStatus, int]:
    counted: dict[ReleaseStatus, int] = {}
    for release in app.store.releases():
        counted[release.status] = counted.get(release.status, 0) + 1
    return counted


# -- 1. a sweep must be whole to remove anything ---------------------------------------------


def test_a_sweep_without_paging_headers_reads_every_page_and_removes_nothing(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    add_posts(site, 300)
    site.tamper = without_totals
    app = make_app([wordpress_source(site, categories=[])])
    for _ in range(3):  # a post absent from two sweeps in a row would be removed
        [result] = app.check()
        assert result.status == CheckStatus.OK, result.error
    assert statuses(app) == {ReleaseStatus.ACTIVE: 300}
    assert {entry.kind for entry in app.store.recent_changes(400)} == {ChangeKind.NEW}
    sweeps = [hit for hit in site.requests_to(POSTS) if hit.query.get("orderby") == ["id"]]
    # each sweep reads three full pages and asks for a fourth: "past the last page" ends it
    assert sorted({hit.query["page"][0] for hit in sweeps}) == ["1", "2", "3", "4"]
    assert {hit.status for hit in sweeps if hit.query["page"] == ["4"]} == {400}


def test_an_error_on_page_two_of_a_sweep_removes_nothing_and_says_so(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    add_posts(site, 150)
    app = make_app([wordpress_source(site, categories=[])])
    app.check()

    def refuse_page_two(request: Request, response: Response) -> Response:
        if request.path == POSTS and request.arg("orderby") == "id" and request.arg("page") == "2":
            error = {"code": "rest_invalid_param", "message": "Invalid parameter(s): page"}
            return 400, {"Content-Type": "application/json"}, json.dumps(error).encode()
        return response

    site.tamper = refuse_page_two
    for _ in range(2):
        [result] = app.check()
        assert result.status == CheckStatus.FAILED
        assert "the id sweep is incomplete" in (result.error or "")
        assert "nothing was removed" in (result.error or "")
    assert statuses(app) == {ReleaseStatus.ACTIVE: 150}
    [shown] = app.store.statuses()
    assert shown.deferred_until is None  # the rest of the check worked: nothing is slowed

    site.tamper = None
    [result] = app.check()
    assert result.status == CheckStatus.OK
    assert statuses(app) == {ReleaseStatus.ACTIVE: 150}


def test_a_sweep_listing_fewer_ids_than_the_site_counts_removes_nothing(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    add_posts(site, 150)
    app = make_app([wordpress_source(site, categories=[])])
    app.check()

    def short_page_two(request: Request, data: Any) -> Any:
        # a cache serving a stale, shorter page 2: the header still counts 150
        if request.arg("orderby") == "id" and request.arg("page") == "2":
            return data[:10]
        return data

    site.tamper = posts_answer(short_page_two)
    for _ in range(2):
        [result] = app.check()
        assert "listed 110 posts of the 150 it counts" in (result.error or "")
    assert statuses(app) == {ReleaseStatus.ACTIVE: 150}


def test_a_real_removal_is_still_found(site: SimWordPress, make_app: Callable[..., App]) -> None:
    ids = add_posts(site, 120)
    site.tamper = without_totals
    app = make_app([wordpress_source(site, categories=[])])
    app.check()
    site.trash_post(ids[5])
    app.check()
    [result] = app.check()
    assert result.count(ChangeKind.REMOVED) == 1
    assert statuses(app) == {ReleaseStatus.ACTIVE: 119, ReleaseStatus.REMOVED: 1}


# -- 2. a post dated in the future -----------------------------------------------------------


def test_a_post_dated_2099_does_not_hide_later_edits(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    future = site.add_post("Dated in the future", BODY)
    other = site.add_post("An ordinary release", BODY)
    site.set_modified(future, datetime(2099, 1, 1, tzinfo=UTC))
    app = make_app([wordpress_source(site)])
    [first] = app.check()
    assert any("modified in the future (2099-01-01T00:00:00)" in note for note in first.notes)

    site.edit_post(other, content=BODY.replace("today", "on Tuesday"))
    [result] = app.check()
    assert result.count(ChangeKind.EDITED) == 1
    assert any("the watermark stays at" in note for note in result.notes)
    [shown] = app.store.statuses()
    assert shown.last_run is not None
    assert any("modified in the future" in note for note in shown.last_run.notes)
    watermark = datetime.fromisoformat(shown_cursor(app)["watermark"]).replace(tzinfo=UTC)
    assert watermark < datetime.now(UTC) + timedelta(minutes=6)


def shown_cursor(app: App) -> dict[str, Any]:
    with app.store.engine.connect() as connection:
        return dict(connection.execute(sa.select(SOURCE.c.cursor)).scalar_one())


# -- 3. values no WordPress sends -----------------------------------------------------------


@pytest.mark.parametrize("bad", ["not-a-date", None, "2026-13-45T00:00:00", 20260101])
def test_a_malformed_modified_gmt_fails_that_post_and_the_source_recovers(
    bad: Any, site: SimWordPress, make_app: Callable[..., App]
) -> None:
    post = site.add_post("First", BODY)
    app = make_app([wordpress_source(site)])
    app.check()
    site.edit_post(post, content=BODY.replace("today", "on Monday"))

    def broken(request: Request, data: Any) -> Any:
        return [{**p, "modified_gmt": bad} if p.get("id") == post else p for p in data]

    site.tamper = posts_answer(broken)
    [result] = app.check()
    assert result.status == CheckStatus.OK  # the others were read
    assert result.failed_items == 1
    assert f"post {post}: modified_gmt {bad!r} is not a date" in " ".join(result.notes)
    watermark = shown_cursor(app)["watermark"]
    assert watermark != str(bad)
    datetime.fromisoformat(watermark)  # never what the server sent

    site.tamper = None  # the server answers well again: the edit is found, nothing by hand
    [result] = app.check()
    assert result.status == CheckStatus.OK
    assert result.count(ChangeKind.EDITED) == 1


def test_a_malformed_newest_date_fails_the_first_check_and_the_next_one_works(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("First", BODY)
    site.tamper = posts_answer(lambda _r, data: [{**p, "modified_gmt": "yesterday"} for p in data])
    app = make_app([wordpress_source(site)])
    [result] = app.check()
    assert result.status == CheckStatus.FAILED
    assert "modified_gmt 'yesterday' is not a date" in (result.error or "")
    site.tamper = None
    [result] = app.check()
    assert result.status == CheckStatus.OK
    assert result.count(ChangeKind.NEW) == 1


def test_a_watermark_stored_unreadable_by_an_earlier_version_recovers(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    post = site.add_post("First", BODY)
    app = make_app([wordpress_source(site)])
    app.check()
    with app.store.engine.begin() as connection:
        cursor = {**shown_cursor(app), "watermark": "None"}
        connection.execute(sa.update(SOURCE).values(cursor=cursor))
    site.edit_post(post, content=BODY.replace("today", "on Monday"))
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error
    assert result.count(ChangeKind.EDITED) == 1
    assert any("stored watermark 'None' is unreadable" in note for note in result.notes)


# -- 7. one malformed post among good ones ---------------------------------------------------

MALFORMED: dict[str, Callable[[dict[str, Any]], Any]] = {
    "a string id": lambda p: {**p, "id": str(p["id"])},
    "a bare integer": lambda p: 7,
    "modified yesterday": lambda p: {**p, "modified_gmt": "yesterday"},
    "a date in another form": lambda p: {**p, "date_gmt": "31/12/2025"},
    "a document for content": lambda p: {**p, "content": {"rendered": "<!doctype html>"}},
    "a document for title": lambda p: {**p, "title": {"rendered": "<html lang=en>"}},
}


@pytest.mark.parametrize("how", MALFORMED)
def test_one_malformed_post_fails_alone_and_the_others_are_stored(
    how: str, site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = [site.add_post(f"Release {n}", BODY) for n in range(5)]
    broken_id = ids[2]

    def break_one(request: Request, data: Any) -> Any:
        return [MALFORMED[how](p) if p.get("id") == broken_id else p for p in data]

    site.tamper = posts_answer(break_one)
    app = make_app([wordpress_source(site)])
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error
    assert result.failed_items == 1
    assert result.count(ChangeKind.NEW) == 4
    assert any("1 item(s) failed, the others were read" in note for note in result.notes)

    # later, a new post and an edit among them are found as usual
    site.add_post("Release 5", BODY)
    site.edit_post(ids[4], content=BODY.replace("today", "on Friday"))
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error
    assert result.count(ChangeKind.NEW) == 1
    assert result.count(ChangeKind.EDITED) == 1

    site.tamper = None  # repaired: the post that failed is read at the next sweep
    [result] = app.check()
    assert result.failed_items == 0
    assert len(app.store.releases()) == 6


def test_a_sweep_with_an_unreadable_id_removes_nothing(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = [site.add_post(f"Release {n}", BODY) for n in range(5)]
    app = make_app([wordpress_source(site)])
    app.check()
    site.trash_post(ids[0])

    def unreadable_id(request: Request, data: Any) -> Any:
        if request.arg("orderby") != "id":
            return data
        return [{"id": "x"}, *data[1:]]

    site.tamper = posts_answer(unreadable_id)
    for _ in range(2):
        [result] = app.check()
        assert result.status == CheckStatus.OK, result.error
        assert any("unreadable id(s); nothing was removed" in note for note in result.notes)
    assert statuses(app) == {ReleaseStatus.ACTIVE: 5}


# -- 5. a site that never stops paging -------------------------------------------------------


def endless(request: Request, response: Response) -> Response:
    """A site claiming a billion pages, answering every page past its posts with none."""
    status, headers, body = response
    if request.path != POSTS:
        return response
    headers = {**headers, "X-WP-Total": "100000000000", "X-WP-TotalPages": "1000000000"}
    if status == 400:
        return 200, {**headers, "Content-Type": "application/json; charset=UTF-8"}, b"[]"
    return status, headers, body


def test_a_billion_pages_end_at_the_first_empty_one(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    add_posts(site, 120)
    site.tamper = endless
    app = make_app([wordpress_source(site, categories=[])])
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error
    assert result.count(ChangeKind.NEW) == 120
    [result] = app.check()
    # the sweep cannot be whole (the site counts more than it lists): nothing removed
    assert "listed 120 posts of the 100000000000 it counts" in (result.error or "")
    assert result.requests < 10
    assert statuses(app) == {ReleaseStatus.ACTIVE: 120}


def test_a_history_longer_than_one_check_goes_on_at_the_next_and_stays_silent(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    add_posts(site, 250)
    # the newest change, then two pages of 100: the third page waits for the next check
    app = make_app([wordpress_source(site, categories=[], check_max_pages=3)])
    [first] = app.check()
    assert first.status == CheckStatus.OK
    assert first.count(ChangeKind.NEW) == 200
    assert any("stopped after 3 listing or API pages (check_max_pages)" in n for n in first.notes)
    [shown] = app.store.statuses()
    assert not shown.baseline_done

    site.add_post("Published meanwhile", BODY)
    [second] = app.check()
    assert second.count(ChangeKind.NEW) == 50  # the rest of the history
    [shown] = app.store.statuses()
    assert shown.baseline_done
    [third] = app.check()
    assert third.count(ChangeKind.NEW) == 1  # what was published while the history was read
    entries = app.store.recent_changes(400)
    assert [e.title for e in entries if not e.baseline] == ["Published meanwhile"]
    assert len(app.store.releases()) == 251


@pytest.mark.slow
def test_a_check_past_its_deadline_keeps_what_it_read_and_the_next_goes_on(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    for n in range(6):
        site.add_post(f"Release {n}", BODY)
    site.set_api("forbidden")  # the category feeds and article pages, one slow page each
    for post in list(site.posts.values()):
        site.delays[f"/{post.slug}/"] = 0.7
    source = {
        "name": "pages",
        "type": "html",
        "profile": "asean",
        "url": f"{site.url}/category/news/",
        "check_deadline": "2s",
    }
    app = make_app([source])
    [first] = app.check()
    assert first.status == CheckStatus.OK
    assert 0 < first.count(ChangeKind.NEW) < 6
    assert any("stopped at check_deadline (2s)" in note for note in first.notes)
    done = first.count(ChangeKind.NEW)
    while done < 6:
        [later] = app.check()
        assert later.count(ChangeKind.NEW) > 0  # every check gets further
        done += later.count(ChangeKind.NEW)
    assert len(app.store.releases()) == 6
    assert all(entry.baseline for entry in app.store.recent_changes(10))
