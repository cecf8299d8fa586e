"""`/metrics` (Prometheus's text format) and `/healthz`, served by the daemon's web server and by
`watcher serve`, after checks of the simulated WordPress and of a source that does not answer."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import WATCHER, environment, free_port, running, wait_for, wordpress_source
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.daemon import Daemon
from watcher.models import CheckStatus

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base: str) -> Samples:
    """Every sample of /metrics, by name and labels; the answer must be Prometheus's format."""
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        assert family.name.startswith("watcher_"), family.name
        assert family.documentation, f"{family.name} has no HELP text"
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@contextmanager
def serving(app: App) -> Iterator[tuple[str, Daemon]]:
    """The daemon's web server over `app`, its scheduler not started (the test checks)."""
    daemon = Daemon(app)
    daemon.web.start()
    try:
        yield f"http://127.0.0.1:{daemon.web.port}", daemon
    finally:
        daemon.web.stop()


@pytest.mark.databases
def test_checks_requests_changes_and_the_databases_numbers(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)  # the feed's validators are kept
    first = site.add_post(
        "ASEAN-Japan Joint Statement", "JAKARTA -- Adopted with 12 points.", date_gmt=an_hour_ago
    )
    site.set_modified(first, an_hour_ago)
    # the REST API, and the feed (which answers 304 when nothing changed) on the same host
    feed = {"name": "feed", "type": "feed", "url": f"{site.url}/feed/", "follow": False}
    app = make_app([wordpress_source(site), feed])
    results = app.check()  # the baseline: one new release
    site.edit_post(first, content="JAKARTA -- Adopted with 14 points.")
    site.set_modified(first, an_hour_ago + timedelta(minutes=1))
    second = site.add_post(
        "ASEAN-Russia Senior Officials' Meeting", "BALI -- Met.", date_gmt=an_hour_ago
    )
    site.set_modified(second, an_hour_ago + timedelta(minutes=2))
    results += app.check()  # one edited, one new
    results += app.check()  # nothing changed
    assert [r.status for r in results] == [CheckStatus.OK] * 6
    host = site.url.split("//", 1)[1].rstrip("/")
    before = time.time()

    with serving(app) as (base, _daemon):
        samples = scrape(base)
        head = httpx.head(f"{base}/metrics")
        post = httpx.post(f"{base}/metrics")

    checks = {
        status.value: value(samples, "watcher_checks_total", source="asean", status=status.value)
        for status in CheckStatus
    }
    assert checks == {"ok": 3, "failed": 0, "deferred": 0, "interrupted": 0}
    requests = sum(r.requests + r.attachment_requests for r in results)
    assert requests > 3
    assert value(samples, "watcher_http_requests_total", host=host) == requests
    not_modified = sum(r.not_modified for r in results)
    assert not_modified > 0
    assert value(samples, "watcher_http_not_modified_total", host=host) == not_modified
    latency = "watcher_http_request_duration_seconds"
    assert value(samples, f"{latency}_count", host=host) == requests  # every one answered
    assert value(samples, f"{latency}_bucket", host=host, le="+Inf") == requests
    assert 0 < (value(samples, f"{latency}_sum", host=host) or 0) < 60
    assert value(samples, "watcher_changes_total", source="asean", kind="new") == 2
    assert value(samples, "watcher_changes_total", source="asean", kind="edited") == 1
    assert value(samples, "watcher_changes_total", source="asean", kind="removed") == 0
    # read from the database at the scrape
    assert value(samples, "watcher_database_up") == 1
    assert value(samples, "watcher_releases", source="asean") == 2
    assert value(samples, "watcher_releases", source="feed") == 2
    assert value(samples, "watcher_checks_total", source="feed", status="ok") == 3
    assert value(samples, "watcher_source_consecutive_failures", source="asean") == 0
    success = value(samples, "watcher_source_last_success_timestamp_seconds", source="asean")
    assert success is not None and before - 60 < success <= before
    for status in ("sent", "pending", "failed"):
        assert value(samples, "watcher_outbox_messages", status=status) == 0
    # like every route: GET and HEAD only, with the security headers
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["x-content-type-options"] == "nosniff"
    assert post.status_code == 405


def test_a_source_that_does_not_answer_counts_its_failures(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    port = free_port()  # nothing listens there
    down = {"name": "down", "type": "feed", "url": f"http://127.0.0.1:{port}/feed/"}
    app = make_app([wordpress_source(site), down])
    app.check()
    app.check(["down"])
    with serving(app) as (base, _daemon):
        samples = scrape(base)
    assert value(samples, "watcher_checks_total", source="down", status="failed") == 2
    assert value(samples, "watcher_checks_total", source="down", status="ok") == 0
    assert value(samples, "watcher_checks_total", source="asean", status="ok") == 1
    assert value(samples, "watcher_source_consecutive_failures", source="down") == 2
    assert value(samples, "watcher_source_consecutive_failures", source="asean") == 0
    assert value(samples, "watcher_source_last_success_timestamp_seconds", source="down") is None
    assert value(samples, "watcher_releases", source="down") == 0
    # its requests were sent, and none was answered
    sent = value(samples, "watcher_http_requests_total", host=f"127.0.0.1:{port}")
    assert sent is not None and sent >= 2
    latency = "watcher_http_request_duration_seconds_count"
    assert value(samples, latency, host=f"127.0.0.1:{port}") is None


@pytest.mark.databases
def test_healthz_is_503_when_the_database_is_gone(
    site: SimWordPress,
    make_app: Callable[..., App],
    database_url: str | None,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    site.add_post("One", "Text.")
    app = make_app([wordpress_source(site)])
    with serving(app) as (base, daemon):
        daemon.scheduler.start(paused=True)  # running, no check started
        try:
            healthy = httpx.get(f"{base}/healthz")
            assert (healthy.status_code, healthy.text) == (200, "ok\n")
            if database_url is None:  # the SQLite file's directory moved away
                app.store.engine.dispose()
                (tmp_path / "state").rename(tmp_path / "moved")
            else:
                request.getfixturevalue("postgres").drop_database(database_url)
            gone = httpx.get(f"{base}/healthz")
            samples = scrape(base)
        finally:
            daemon.scheduler.shutdown(wait=True)
    assert gone.status_code == 503
    first, reason, *rest = gone.text.split("\n")
    assert (first, rest) == ("unhealthy", [""])  # the reason on one line
    assert reason.startswith("database: ")
    expected = "unable to open database file" if database_url is None else "does not exist"
    assert expected in reason
    # the metrics still answer, and say so
    assert value(samples, "watcher_database_up") == 0
    assert value(samples, "watcher_releases", source="asean") is None


def test_healthz_is_503_while_the_scheduler_is_not_running(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    app = make_app([wordpress_source(site)])
    with serving(app) as (base, daemon):
        before = httpx.get(f"{base}/healthz")
        daemon.scheduler.start(paused=True)
        running_now = httpx.get(f"{base}/healthz")
        daemon.scheduler.shutdown(wait=True)
        after = httpx.get(f"{base}/healthz")
    assert (before.status_code, before.text) == (503, "unhealthy\nthe scheduler is not running\n")
    assert (running_now.status_code, running_now.text) == (200, "ok\n")
    assert after.status_code == 503


@pytest.mark.slow  # `watcher serve` as a subprocess
def test_watcher_serve_is_healthy_while_its_database_answers(
    site: SimWordPress, make_app: Callable[..., App], tmp_path: Path
) -> None:
    site.add_post("One", "Text.")
    site.add_post("Two", "More text.")
    app = make_app([wordpress_source(site)])
    app.check()
    app.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*WATCHER, "--config", str(app.config.path), "serve", "--listen", f"127.0.0.1:{port}"]
    log = tmp_path / "serve.log"
    with (
        log.open("wb") as stderr,
        running(command, env=environment(), stdout=subprocess.DEVNULL, stderr=stderr) as process,
    ):

        def answers() -> httpx.Response | None:
            assert process.poll() is None, log.read_text(encoding="utf-8")
            try:
                return httpx.get(f"{base}/healthz", timeout=5)
            except httpx.TransportError:
                return None

        health = wait_for(answers, what="watcher serve")
        samples = scrape(base)
    assert health is not None
    assert (health.status_code, health.text) == (200, "ok\n")
    assert value(samples, "watcher_database_up") == 1
    assert value(samples, "watcher_releases", source="asean") == 2
    # it checks nothing itself: its own counters stay at 0
    assert value(samples, "watcher_checks_total", source="asean", status="ok") == 0
