"""A check that takes long (a slow or endless site) holds neither the mail nor the daemon's
health: mail has its own worker, /healthz and `watcher status` name a check running past its
deadline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from tests.helpers import (
    POSTS,
    daemon_in_process,
    email_settings,
    run_watcher,
    wait_for,
    wordpress_source,
)
from tests.mailserver import MailServer
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.models import HealthKind


def test_mail_goes_out_while_the_only_check_worker_is_busy(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("A release", "Its text.")
    site.hold(POSTS)  # the check waits on the site until the test is done
    with MailServer() as smtp:
        app = make_app(
            [wordpress_source(site, http={"timeout": "60s"})],
            email=email_settings(smtp.port),
            health={"admin": ["ops@example.org"]},
        )
        # an admin mail owed from before: the daemon's mail job sends it at start
        now = datetime.now(UTC)
        source_id, _ = app.store.source_view("other", "html", now)
        app.store.record_health(source_id, "other", HealthKind.UNHEALTHY, "failing", now)
        with daemon_in_process(app) as daemon, site.releasing():  # one source: one worker
            wait_for(lambda: POSTS in site.waiting, timeout=10, what="the check to start")
            wait_for(lambda: smtp.received, timeout=10, what="the admin's mail")
            assert "asean" in daemon.checks  # sent while the check still runs
    [message] = smtp.messages()
    assert "other" in str(message["Subject"])


@pytest.mark.slow  # waits out the deadline, runs `watcher status`
def test_a_check_past_its_deadline_is_named_by_healthz_and_status(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("A release", "Its text.")
    site.hold(POSTS)  # the check waits on the site until the test is done
    app = make_app([wordpress_source(site, check_deadline="1s", http={"timeout": "60s"})])
    with daemon_in_process(app, serve=True) as daemon:  # checks the source at once
        with site.releasing():
            wait_for(lambda: POSTS in site.waiting, timeout=10, what="the check to start")
            url = f"http://127.0.0.1:{daemon.web.port}/healthz"

            def named() -> httpx.Response | None:
                response = httpx.get(url, timeout=5)
                return response if "check asean running since" in response.text else None

            response = wait_for(named, timeout=10, what="/healthz to name the late check")
            assert response is not None
            assert response.status_code == 200  # the daemon works: it says so, names the check
            assert response.text.startswith("ok\nchecks past their deadline: check asean")

            status = run_watcher("status", config=app.config.path, timeout=60)
            assert status.returncode == 0, status.stderr
            [row] = [line for line in status.stdout.splitlines() if line.startswith("asean")]
            assert "running past its deadline" in row
        wait_for(lambda: not daemon.checks, timeout=30, what="the check to end")
    [shown] = app.store.statuses()
    assert shown.running_since is None  # the check ended, and says where it stopped
    assert shown.last_run is not None
    assert any("stopped at check_deadline (1s)" in note for note in shown.last_run.notes)
