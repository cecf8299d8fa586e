"""End to end: `watcher run` as a subprocess against the simulated site, read over HTTP."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest
import yaml

from tests.helpers import RUSSIA, DaemonProcess, email_settings, run_watcher, wait_for
from tests.sim.wordpress import SimWordPress
from watcher.config import load_config
from watcher.lock import SENDING, DaemonLock, mail_lock_path

pytestmark = pytest.mark.slow  # `watcher run` as a subprocess

BODY = "JAKARTA, 1 December 2026 -- The ASEAN-Japan Joint Statement was adopted with 12 points.\n\nMore text."


@pytest.mark.parametrize("api", ["on", "forbidden"])
def test_new_and_edited_entries_appear_and_widget_changes_do_not(
    api: str, daemon_for: Callable[..., DaemonProcess]
) -> None:
    """Through the REST API, and through excerpt-only feeds and article pages (where the
    sidebar, menu and tagline are on every page read)."""
    with SimWordPress(api=api, feed_content=False) as site:
        run_the_story(site, daemon_for)


def run_the_story(site: SimWordPress, daemon_for: Callable[..., DaemonProcess]) -> None:
    first = site.add_post("ASEAN-Japan Joint Statement", BODY)
    daemon = daemon_for(site)
    wait_for(lambda: len(daemon.entries()) == 1, what="the baseline entry")

    site.set_sidebar("Most read")
    site.set_menu(["Home", "Media"])
    site.set_tagline("A new tagline")
    site.add_post("ASEAN-Russia Senior Officials' Meeting", "BALI, 21 February 2019 -- Met.")
    site.edit_post(first, content=BODY.replace("12 points", "14 points"))
    wait_for(lambda: len(daemon.entries()) >= 3, what="two more entries")
    entries = daemon.entries()
    titles = sorted(entry.title for entry in entries)
    assert titles == [
        "Edited: ASEAN-Japan Joint Statement",
        "New: ASEAN-Japan Joint Statement",
        "New: ASEAN-Russia Senior Officials’ Meeting",
    ]
    edited = next(e for e in entries if e.title.startswith("Edited"))
    content = edited.content[0].value
    assert "<b>1 paragraph edited; 1 figure changed: 12 → 14</b>" in content
    assert ">12</del><ins" in content and ">14</ins> points." in content

    time.sleep(2.5)  # more cycles: the sidebar and tagline changes never become entries
    assert len(daemon.entries()) == 3

    response = daemon.get("/feeds/all.atom")
    assert response is not None
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    again = daemon.get("/feeds/all.atom", **{"If-None-Match": response.headers["etag"]})
    assert again is not None and again.status_code == 304
    rss = daemon.get("/feeds/all.rss")
    assert rss is not None and feedparser.parse(rss.content).bozo == 0
    traversal = daemon.get("/feeds/../watcher.db")
    assert traversal is not None and traversal.status_code == 404

    started = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - started < 10
    assert "check asean: ok, 1 new, 1 edited, 0 removed" in daemon.log_text()


def test_feeds_exist_before_the_first_check_and_sigint_stops(
    site: SimWordPress, daemon_for: Callable[..., DaemonProcess]
) -> None:
    site.faults["/robots.txt"] = 503  # the first check fails: the feed must still be there
    daemon = daemon_for(site)
    response = wait_for(lambda: daemon.get("/feeds/all.atom"), what="the server")
    assert response is not None and response.status_code == 200
    assert feedparser.parse(response.content).bozo == 0
    health = daemon.get("/healthz")
    assert health is not None and health.status_code == 200
    assert daemon.stop(signal.SIGINT) == 0


def test_stops_within_seconds_even_with_a_request_on_the_wire(
    daemon_for: Callable[..., DaemonProcess],
) -> None:
    with SimWordPress(api="forbidden", feed_content=False) as site:
        slow = site.add_post("A page that takes half a minute", BODY)
        site.delays[f"/{site.posts[slow].slug}/"] = 30
        daemon = daemon_for(site, http={"timeout": "60s"})
        wait_for(lambda: site.waiting, what="the slow request")
        started = time.monotonic()
        assert daemon.stop() == 0
        assert time.monotonic() - started < 10
        assert "exiting without them" in daemon.log_text()


def test_one_daemon_per_database_and_a_killed_one_leaves_no_lock(
    site: SimWordPress, daemon_for: Callable[..., DaemonProcess], tmp_path: Path
) -> None:
    first = daemon_for(site)
    wait_for(first.serving, what="the first daemon")
    second = run_watcher("run", config=tmp_path / "watcher.yaml", timeout=60)
    assert second.returncode == 1
    assert (
        f"another watcher is already running on this database (pid {first.process.pid};"
        in second.stderr
    )
    first.kill()
    third = daemon_for(site)  # the operating system released the lock with the process
    wait_for(third.serving, what="a daemon after the kill")
    assert third.stop() == 0


def test_sighup_reloads_a_valid_config_and_keeps_the_running_one_when_invalid(
    site: SimWordPress, daemon_for: Callable[..., DaemonProcess], tmp_path: Path
) -> None:
    daemon = daemon_for(site)
    wait_for(daemon.serving, what="the daemon")
    config = tmp_path / "watcher.yaml"
    settings = yaml.safe_load(config.read_text())
    assert daemon.get("/feeds/topics/japan.atom").status_code == 404  # type: ignore[union-attr]

    settings["topics"] = {"japan": {"title": "ASEAN–Japan", "preset": "partner/japan"}}
    config.write_text(yaml.safe_dump(settings, allow_unicode=True))
    daemon.process.send_signal(signal.SIGHUP)
    wait_for(
        lambda: "config reloaded: 1 source(s), 1 topic(s)" in daemon.log_text(),
        what="the reload",
    )
    japan = daemon.get("/feeds/topics/japan.atom")
    assert japan is not None and japan.status_code == 200
    assert (
        feedparser.parse(japan.content).feed.title == "ASEAN Secretariat news watcher: ASEAN–Japan"
    )

    settings["sources"][0]["every"] = "15 minutes"
    config.write_text(yaml.safe_dump(settings, allow_unicode=True))
    daemon.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "config not reloaded" in daemon.log_text(), what="the refusal")
    line = next(x for x in daemon.log_text().splitlines() if "config not reloaded" in x)
    every_line = 1 + next(n for n, x in enumerate(config.read_text().splitlines()) if "every:" in x)
    assert line.endswith(
        f"{config}:{every_line}: sources[0].every: '15 minutes' is not a duration (use 15m, 1h, 1d)"
    )
    assert daemon.process.poll() is None
    again = daemon.get("/feeds/topics/japan.atom")
    assert again is not None and again.status_code == 200
    assert daemon.stop() == 0


def test_stops_within_seconds_with_mail_waiting_on_a_stuck_server(
    daemon_for: Callable[..., DaemonProcess], tmp_path: Path
) -> None:
    with socket.socket() as stuck, SimWordPress(api="on") as site:
        stuck.bind(("127.0.0.1", 0))
        stuck.listen(8)  # accepts connections, never says a word
        daemon = daemon_for(
            site,
            topics=RUSSIA,
            email=email_settings(stuck.getsockname()[1], timeout="60s"),
            subscriptions=[
                {"name": "i", "to": ["a@example.org"], "topics": ["russia"], "mode": "instant"}
            ],
        )
        wait_for(lambda: "check asean: ok" in daemon.log_text(), what="the baseline")
        site.add_post("Russia and ASEAN", "Text.")
        wait_for(lambda: "check asean: ok, 1 new" in daemon.log_text(), what="the change")
        time.sleep(1)  # the message is on its way to the stuck server
        started = time.monotonic()
        assert daemon.stop() == 0
        assert time.monotonic() - started < 10


def test_a_daemon_starting_while_a_command_sends_mail_waits_for_it(
    site: SimWordPress, daemon_for: Callable[..., DaemonProcess], tmp_path: Path
) -> None:

    daemon = daemon_for(site)
    config = load_config(tmp_path / "watcher.yaml")
    daemon.kill()  # only its config was wanted; start again below with the lock held
    sending = DaemonLock(mail_lock_path(config), SENDING)
    sending.acquire()  # as `watcher check` holds it while it mails
    try:
        waiting = daemon_for(site)
        wait_for(
            lambda: "is sending this database's mail" in waiting.log_text(),
            what="the daemon to wait",
        )
        time.sleep(1)
        assert waiting.get("/healthz") is None  # not started: it would mail the same changes
    finally:
        sending.release()
    wait_for(waiting.serving, what="the daemon, once the command is done")
    assert waiting.stop() == 0
