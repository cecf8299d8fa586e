"""One check of a source: deferral, interruption and scheduling, with a fake site in-process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx

from tests.helpers import ShiftedClock, write_config
from watcher.app import App
from watcher.config import load_config
from watcher.daemon import Daemon
from watcher.fetch import Fetcher
from watcher.models import CheckStatus

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://news.example/</link>
<description>d</description><item><title>One</title><link>https://news.example/one/</link>
<guid>https://news.example/one/</guid><description>Text one.</description></item></channel></rss>"""


def app_with(
    tmp_path: Path, handler: Callable[[httpx.Request], httpx.Response], **extra: object
) -> tuple[App, ShiftedClock]:
    source = {
        "name": "feed",
        "type": "feed",
        "url": "https://news.example/feed/",
        "follow": False,
        **extra,
    }
    config = load_config(write_config(tmp_path, [source]))
    clock = ShiftedClock()
    fetcher = Fetcher(transport=httpx.MockTransport(handler))
    return App(config, fetcher=fetcher, clock=clock), clock


def test_a_long_retry_after_defers_the_source_instead_of_waiting(tmp_path: Path) -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        if len(asked) <= 2:
            return httpx.Response(503, headers={"Retry-After": "3600"})
        return httpx.Response(200, content=FEED, headers={"Content-Type": "application/rss+xml"})

    app, clock = app_with(tmp_path, handler)
    [first] = app.check()
    assert first.status == CheckStatus.DEFERRED
    assert "Retry-After" in (first.error or "")
    [second] = app.check()  # within the hour: no request at all
    assert (second.status, second.requests) == (CheckStatus.DEFERRED, 0)
    assert len(asked) == 2
    clock.advance(timedelta(hours=1, minutes=1))
    [third] = app.check()
    assert third.status == CheckStatus.OK
    assert [r.title for r in app.store.releases()] == ["One"]
    app.close()


def test_a_stop_ends_the_check_and_keeps_the_baseline_to_do(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=FEED, headers={"Content-Type": "application/rss+xml"})

    app, _ = app_with(tmp_path, handler)
    app.request_stop()
    result = app.check_one("feed")
    assert result.status == CheckStatus.INTERRUPTED
    [status] = app.store.statuses()
    assert not status.baseline_done
    assert app.store.releases() == []
    app.close()


def test_the_schedule_has_every_and_jitter(tmp_path: Path) -> None:
    app, _ = app_with(tmp_path, lambda r: httpx.Response(404), every="10m", jitter="30s")
    daemon = Daemon(app)
    [job] = daemon.scheduler.get_jobs()
    assert job.trigger.interval == timedelta(minutes=10)
    assert job.trigger.jitter == 30
    daemon.web.close()
    app.close()


def test_a_reload_keeps_each_source_on_its_times(tmp_path: Path) -> None:
    app, _ = app_with(tmp_path, lambda r: httpx.Response(404), every="2h")
    daemon = Daemon(app)
    [job] = daemon.scheduler.get_jobs()
    planned = job.next_run_time
    daemon._schedule(first_run=None)  # the same config again, as after a SIGHUP
    assert daemon.scheduler.get_job("feed").next_run_time == planned
    daemon.web.close()
    app.close()
