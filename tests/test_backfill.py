"""`watcher backfill`: a source's whole archive walked once, politely, resumable, its history
filled with BACKFILLED changes that no feed and no mail ever shows."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
import sqlalchemy as sa

from tests.helpers import (
    WATCHER,
    add_posts,
    email_settings,
    environment,
    run_watcher,
    running,
    wait_for,
    wordpress_source,
    write_config,
)
from tests.mailserver import MailServer
from tests.sim.model import Request, Response
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.backfill import BackfillResult, BackfillStatus, Progress, Span, backfill
from watcher.lock import DaemonLock, lock_path
from watcher.models import ChangeKind
from watcher.store import Store
from watcher.store.tables import CHANGE, RELEASE

POSTS = "/wp-json/wp/v2/posts"
# the posts of add_posts say this; a topic of them makes every one mail-worthy
MEETINGS = {"meetings": {"title": "Meetings", "any": ["Senior Officials"]}}


def subscriptions(port: int) -> dict[str, Any]:
    """An instant subscription and a digest, both to every release add_posts publishes."""
    return {
        "topics": MEETINGS,
        "email": email_settings(port),
        "subscriptions": [
            {"name": "at-once", "to": ["a@example.org"], "topics": ["meetings"], "mode": "instant"},
            {"name": "daily", "to": ["b@example.org"], "topics": ["meetings"], "send_empty": True},
        ],
        "feeds": {"limit": 1000},  # room for every change: a backfilled one would show
    }


def kinds(store: Store) -> Counter[str]:
    with store.engine.connect() as connection:
        return Counter(connection.execute(sa.select(CHANGE.c.kind)).scalars())


def releases_by_key(store: Store) -> Counter[str]:
    with store.engine.connect() as connection:
        return Counter(connection.execute(sa.select(RELEASE.c.key)).scalars())


def posts_pages(site: SimWordPress) -> list[int]:
    """The page of each request for the archive's posts, in order (not the check's id lists)."""
    return [
        int(hit.query.get("page", ["1"])[0])
        for hit in site.requests_to(POSTS)
        if hit.query.get("orderby") == ["date"]
    ]


EVERYTHING = Span()


def run(app: App, span: Span = EVERYTHING, **options: Any) -> BackfillResult:
    return backfill(
        app.config,
        app.config.source(app.config.sources[0].name),
        store=app.store,
        fetcher=app.fetcher,
        span=span,
        **options,
    )


def feed_titles(config: Path) -> list[str]:
    atom = config.parent / "state" / "feeds" / "all.atom"
    return [entry.title for entry in feedparser.parse(atom.read_bytes()).entries]


# -- the whole archive, without a mail or a feed entry ----------------------------------------


@pytest.mark.slow  # `watcher` as a user runs it, four times, on 250 posts
def test_a_backfill_fills_every_release_history_and_sends_no_mail_and_no_feed_entry(
    site: SimWordPress, smtp: MailServer, tmp_path: Path
) -> None:
    ids = add_posts(site, 250)  # three pages of the API
    config = write_config(
        tmp_path, [wordpress_source(site, max_pages=1)], **subscriptions(smtp.port)
    )
    first = run_watcher("check", config=config)
    assert first.returncode == 0, first.stderr
    store = Store.open(f"sqlite:///{tmp_path / 'state' / 'watcher.db'}")
    try:
        assert len(releases_by_key(store)) == 100  # what its bounds allowed: one page
        before = feed_titles(config)
        assert len(before) == 100

        out = run_watcher("backfill", "asean", config=config)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(
            "backfill asean: done, 3 of 3 pages, 250 release(s): 150 backfilled, "
            "100 already stored, 0 edited;"
        )
        # every post is one release, with its history: one change each
        assert releases_by_key(store) == Counter(f"wp:{i}" for i in ids)
        assert kinds(store) == {"new": 100, "backfilled": 150}
        with store.engine.connect() as connection:
            release_id = connection.execute(
                sa.select(RELEASE.c.id).where(RELEASE.c.key == f"wp:{ids[0]}")
            ).scalar_one()
        oldest = store.history(str(release_id))
        assert oldest is not None
        assert [c.kind for c in oldest.changes] == [ChangeKind.BACKFILLED]
        assert [v.number for v in oldest.versions] == [1]

        # the checks after it, and the feeds and mail they make, know nothing of it
        again = run_watcher("check", config=config)
        assert again.returncode == 0, again.stderr
        assert feed_titles(config) == before
        assert smtp.received == []
        digest = run_watcher("digest", "preview", "daily", config=config)
        assert digest.returncode == 0, digest.stderr
        assert "Release 0" not in digest.stdout and "BACKFILLED" not in digest.stdout.upper()
        latest = store.change_page(offset=0, limit=1000)  # the web view's latest changes
        assert len(latest) == 100 and {e.kind for e in latest} == {ChangeKind.NEW}
        mailable = store.changes_after(0, ["meetings"], until_id=10**9)
        assert len(mailable) == 100 and {e.kind for e in mailable} == {ChangeKind.NEW}

        # `watcher history` shows where the release came from
        shown = run_watcher("history", str(oldest.release.id), config=config)
        assert " UTC backfilled -> version 1" in shown.stdout
    finally:
        store.close()


def test_a_release_stored_whose_archived_text_differs_is_an_edit(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = add_posts(site, 5)
    app = make_app([wordpress_source(site)], feeds={"limit": 1000})
    app.check()
    # edited without moving its modified_gmt, which the checks trust: only its text tells
    site.edit_post(ids[2], content="JAKARTA: the meeting was postponed.")
    site.set_modified(ids[2], datetime(2025, 1, 1, 2, tzinfo=UTC))

    result = run(app)
    assert result.status == BackfillStatus.DONE
    progress = result.progress
    assert (progress.backfilled, progress.stored, progress.edited) == (0, 4, 1)
    [edit] = [e for e in app.store.recent_changes(100) if e.kind == ChangeKind.EDITED]
    assert edit.title == "Release 2"
    assert "+JAKARTA: the meeting was postponed." in edit.diff


# -- interrupted, resumed, finished -------------------------------------------------------------


def stop_after(pages: int, stop: threading.Event) -> Callable[[Progress], None]:
    """A progress report that asks the backfill to stop once `pages` pages are walked."""

    def report(progress: Progress) -> None:
        if progress.pages >= pages:
            stop.set()

    return report


@pytest.mark.databases
def test_an_interrupted_backfill_goes_on_where_it_stopped_and_then_has_nothing_left(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = add_posts(site, 250)
    app = make_app([wordpress_source(site)])
    stop = threading.Event()
    stopped = run(app, stop=stop, report=stop_after(1, stop))
    assert stopped.status == BackfillStatus.INTERRUPTED
    assert (stopped.progress.pages, stopped.progress.total_pages) == (1, 3)
    assert len(releases_by_key(app.store)) == 100  # the first page's, each recorded whole
    assert posts_pages(site) == [1]

    site.clear_hits()
    resumed = run(app)
    assert resumed.status == BackfillStatus.DONE
    assert posts_pages(site) == [2, 3]  # where the first stopped, not from the start
    assert resumed.progress.backfilled == 150
    assert releases_by_key(app.store) == Counter(f"wp:{i}" for i in ids)  # each exactly once
    assert kinds(app.store) == {"backfilled": 250}

    site.clear_hits()
    finished = run(app)
    assert finished.status == BackfillStatus.NOTHING_LEFT
    assert finished.progress.pages == 3
    assert site.hits == []

    site.clear_hits()
    again = run(app, restart=True)
    assert again.status == BackfillStatus.DONE
    assert posts_pages(site) == [1, 2, 3]
    assert (again.progress.backfilled, again.progress.stored) == (0, 250)
    assert kinds(app.store) == {"backfilled": 250}


def test_a_failure_midway_is_gone_on_from_its_page_and_an_api_refused_is_said(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    add_posts(site, 250)
    app = make_app([wordpress_source(site)])

    def broken_page_two(request: Request, response: Response) -> Response:
        if request.path == POSTS and request.arg("page") == "2":
            return 500, {"Content-Type": "text/html"}, b"<h1>Error</h1>"
        return response

    site.tamper = broken_page_two
    failed = run(app)
    assert failed.status == BackfillStatus.FAILED
    assert failed.error is not None and "broke off at page 2" in failed.error
    assert failed.progress.pages == 1 and len(releases_by_key(app.store)) == 100

    site.tamper = None
    site.clear_hits()
    resumed = run(app)
    assert resumed.status == BackfillStatus.DONE
    assert posts_pages(site) == [2, 3]
    assert len(releases_by_key(app.store)) == 250

    site.set_api("forbidden")
    refused = run(app, restart=True)
    assert refused.status == BackfillStatus.FAILED
    assert refused.error == "HTTP 401 at /wp/v2/categories; a backfill reads WordPress by its API"


def test_since_and_until_narrow_it_by_publication_date(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    add_posts(site, 250)  # one an hour from 1 January 2025
    app = make_app([wordpress_source(site)])
    span = Span(datetime(2025, 1, 3, tzinfo=UTC), datetime(2025, 1, 5, tzinfo=UTC))
    result = run(app, span)
    assert result.status == BackfillStatus.DONE
    assert result.progress.backfilled == 48
    published = [r.published for r in app.store.releases()]
    assert len(published) == 48
    assert all(p is not None and span.holds(p) for p in published)
    [asked] = [hit.query for hit in site.requests_to(POSTS) if "before" in hit.query]
    assert asked["after"] == ["2025-01-02T23:59:59Z"]
    assert asked["before"] == ["2025-01-05T00:00:00Z"]

    # another span is another backfill: its own pages, from its start
    site.clear_hits()
    wider = run(app, Span(datetime(2025, 1, 2, tzinfo=UTC), datetime(2025, 1, 5, tzinfo=UTC)))
    assert wider.status == BackfillStatus.DONE
    assert (wider.progress.backfilled, wider.progress.stored) == (24, 48)


# -- an html source: its listing, page by page ------------------------------------------------


def listing_source(site: SimWordPress, **extra: Any) -> dict[str, Any]:
    return {
        "name": "pages",
        "type": "html",
        "profile": "asean",
        "url": f"{site.url}/category/news/",
        **extra,
    }


def listing_pages(site: SimWordPress) -> list[str]:
    return [hit.path for hit in site.hits if hit.path.startswith("/category/news/")]


def test_an_html_source_is_walked_to_the_last_listing_page_and_resumed_by_page(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = add_posts(site, 25)  # three listing pages of ten
    app = make_app([listing_source(site, max_pages=1)])
    app.check()
    assert len(releases_by_key(app.store)) == 10  # the check walks its max_pages only

    site.clear_hits()
    stop = threading.Event()
    stopped = run(app, stop=stop, report=stop_after(2, stop))
    assert stopped.status == BackfillStatus.INTERRUPTED
    assert stopped.progress.pages == 2 and stopped.progress.total_pages is None
    assert listing_pages(site) == ["/category/news/", "/category/news/page/2/"]
    # the first page's releases were stored, unchanged: read conditionally, nothing recorded
    assert (stopped.progress.stored, stopped.progress.backfilled) == (10, 10)

    site.clear_hits()
    resumed = run(app)
    assert resumed.status == BackfillStatus.DONE
    assert listing_pages(site)[0] == "/category/news/page/3/"
    assert resumed.progress.backfilled == 5
    assert len(releases_by_key(app.store)) == len(ids)
    assert kinds(app.store) == {"new": 10, "backfilled": 15}
    assert {e.kind for e in app.store.recent_changes(100)} == {ChangeKind.NEW}


def test_a_feed_source_reads_every_page_the_feed_holds(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    ids = add_posts(site, 25)  # three feed pages of ten
    feed = {"name": "rss", "type": "feed", "url": f"{site.url}/category/news/feed/"}
    app = make_app([{**feed, "follow": False}])
    app.check()
    assert len(releases_by_key(app.store)) == 10  # a first check reads max_pages: 1

    with app.store.engine.begin() as connection:  # as the listing showed them: all of them
        connection.execute(sa.update(RELEASE).values(listed=True))
    site.trash_post(ids[-1])  # gone from the feed: the checks' to confirm, not the backfill's

    site.clear_hits()
    result = run(app)
    assert result.status == BackfillStatus.DONE
    assert (result.progress.pages, result.progress.backfilled) == (3, 15)
    assert result.progress.stored == 9
    assert kinds(app.store) == {"new": 10, "backfilled": 15}
    # the feed's pages (to the one past its end) and its items' own content: no page asked for
    pages = [hit.query.get("paged", ["1"])[0] for hit in site.hits if hit.path != "/robots.txt"]
    assert pages == ["1", "2", "3", "4"]


def test_the_web_view_shows_a_backfilled_release_in_its_timeline_only(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    from watcher.web.app import Site
    from watcher.web.server import WebServer

    add_posts(site, 3)
    app = make_app([wordpress_source(site)])
    app.check()
    # an old post the checks never list (imported, its dates long past), and one published now
    when = datetime(2024, 6, 1, tzinfo=UTC)
    old = site.add_post("From the archive", "An old statement.", date_gmt=when)
    site.set_modified(old, when)
    site.add_post("Fresh news", "Published after the first check.")  # news, not history
    result = run(app)
    assert (result.progress.backfilled, result.progress.stored) == (1, 3)
    [backfilled] = [r for r in app.store.releases() if r.key == f"wp:{old}"]
    web = WebServer(
        "127.0.0.1:0",
        Site(
            app.config.feeds_dir, lambda: (True, ""), reader=app.store, sources=app.config.sources
        ),
    )
    web.start()
    try:
        base = f"http://127.0.0.1:{web.port}"
        latest = httpx.get(f"{base}/", timeout=15).text
        timeline = httpx.get(f"{base}/releases/{backfilled.id}", timeout=15).text
    finally:
        web.stop()
    assert "Release 1" in latest and "From the archive" not in latest
    assert '<span class="kind">backfilled</span>' in timeline
    [fresh] = app.check()
    assert fresh.count(ChangeKind.NEW) == 1  # left to the check, which tells it as news
    assert [e.title for e in app.store.recent_changes(1)] == ["Fresh news"]


# -- the command: refused beside a daemon, progress lines, Ctrl-C ------------------------------


@pytest.fixture
def archive(site: SimWordPress, tmp_path: Path) -> Path:
    add_posts(site, 250)
    return write_config(tmp_path, [wordpress_source(site)])


@pytest.mark.slow  # `watcher` as a subprocess, twice
def test_it_refuses_while_a_daemon_runs_on_the_database(site: SimWordPress, archive: Path) -> None:
    from watcher.config import load_config

    daemon = DaemonLock(lock_path(load_config(archive)))  # what `watcher run` holds
    daemon.acquire()
    try:
        refused = run_watcher("backfill", "asean", config=archive)
    finally:
        daemon.release()
    assert refused.returncode == 1
    assert refused.stderr.startswith("watcher: a watcher daemon runs on this database (pid ")
    assert len(refused.stderr.splitlines()) == 1
    assert site.hits == []


@pytest.mark.slow  # `watcher` as a subprocess
def test_without_a_terminal_it_logs_progress_lines(site: SimWordPress, archive: Path) -> None:
    out = run_watcher("backfill", "asean", config=archive)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "watcher.backfill: backfill:" in line]
    first_page = (
        r"INFO watcher\.backfill: backfill: 1 of 3 pages, 100 release\(s\): 100 new to the "
        r"database, 0 already stored, 0 edited, ETA \d+:\d\d:\d\d$"
    )
    assert any(re.search(first_page, line) for line in lines), out.stderr
    assert "\x1b[" not in out.stderr  # no bar's escapes in a log


@pytest.mark.slow  # `watcher` as a subprocess, on a terminal
def test_on_a_terminal_it_shows_a_progress_bar(site: SimWordPress, archive: Path) -> None:
    controller, terminal = pty.openpty()
    command = [*WATCHER, "--config", str(archive), "backfill", "asean"]
    env = environment({"COLUMNS": "150", "TERM": "xterm"})
    with running(command, env=env, stdout=subprocess.PIPE, stderr=terminal) as process:
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the command has ended
                break
            if not chunk:
                break
            shown += chunk
        stdout = process.communicate(timeout=60)[0]
    os.close(controller)
    assert process.returncode == 0, shown
    assert stdout.startswith(b"backfill asean: done, 3 of 3 pages, 250 release(s)")
    bar = shown.decode("utf-8", "replace")
    assert "3/3" in bar and "250 release(s): 250 new to the database" in bar
    assert "ETA" in bar and "watcher.backfill: backfill:" not in bar  # a bar, not log lines


def test_bad_dates_and_unknown_sources_are_one_line_errors(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from watcher.cli import cli

    config = write_config(tmp_path, [{"name": "f", "type": "feed", "url": "http://x.test/"}])
    runner = CliRunner()
    unknown = runner.invoke(cli, ["--config", str(config), "backfill", "nope"])
    assert unknown.exit_code == 2 and "no source named 'nope'" in unknown.output
    backwards = runner.invoke(
        cli,
        [
            "--config",
            str(config),
            "backfill",
            "f",
            "--since",
            "2025-02-01",
            "--until",
            "2025-01-01",
        ],
    )
    assert backwards.exit_code == 2
    assert "--since 2025-02-01 is after --until 2025-01-01" in backwards.output
    bad = runner.invoke(cli, ["--config", str(config), "backfill", "f", "--since", "yesterday"])
    assert bad.exit_code == 2 and "'yesterday' does not match the format '%Y-%m-%d'" in bad.output


@pytest.mark.slow  # `watcher` as a subprocess stopped with SIGINT, then again
def test_ctrl_c_stops_it_cleanly_and_the_next_run_goes_on_from_there(
    site: SimWordPress, archive: Path
) -> None:
    site.delays[POSTS] = 0.3  # time to press Ctrl-C between two pages
    command = [*WATCHER, "--config", str(archive), "backfill", "asean"]
    with running(
        command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        # asked for, and held back by the delay (hits are counted once answered)
        wait_for(lambda: site.waiting.count(POSTS) >= 2, what="the second page asked for")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "stopped on page 2 of 3; `watcher backfill asean` goes on from there" in stdout
    store = Store.open(f"sqlite:///{archive.parent / 'state' / 'watcher.db'}")
    try:
        stored = len(releases_by_key(store))
        assert 100 <= stored < 250

        site.clear_hits()
        site.delays.clear()
        out = run_watcher("backfill", "asean", config=archive)
        assert out.returncode == 0, out.stderr
        assert posts_pages(site)[0] == 2
        assert len(releases_by_key(store)) == 250
        assert kinds(store) == {"backfilled": 250}

        done = run_watcher("backfill", "asean", config=archive)
        assert done.returncode == 0
        assert done.stdout.startswith(
            "backfill asean: nothing left, its archive was walked to the end (3 of 3 pages) on "
        )
    finally:
        store.close()
