"""End to end: `watcher run` as a subprocess against the simulated site, read over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
import yaml

from tests.conftest import ROOT, wordpress_source, write_config
from tests.sim.wordpress import SimWordPress
from watcher.config import load_config
from watcher.lock import SENDING, DaemonLock, mail_lock_path

BODY = "JAKARTA, 1 December 2026 -- The ASEAN-Japan Joint Statement was adopted with 12 points.\n\nMore text."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], object], timeout: float = 30.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Daemon:
    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("WATCHER_CONFIG", None)
        self.log_file = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(config), "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log_file,
        )

    def get(self, path: str, **headers: str) -> httpx.Response | None:
        try:
            return httpx.get(self.base + path, headers=headers, timeout=5)
        except httpx.TransportError:
            return None

    def entries(self) -> list[feedparser.FeedParserDict]:
        response = self.get("/feeds/all.atom")
        if response is None or response.status_code != 200:
            return []
        return list(feedparser.parse(response.content).entries)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)


@pytest.fixture
def daemon_for(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(site: SimWordPress, **settings: Any) -> Daemon:
        port = free_port()
        config = write_config(
            tmp_path,
            [wordpress_source(site, every="1s", sweep_every="0s")],
            server={"listen": f"127.0.0.1:{port}", "base_url": f"http://127.0.0.1:{port}"},
            **settings,
        )
        daemon = Daemon(config, port, tmp_path / "daemon.log")
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()
        daemon.log_file.close()


@pytest.mark.parametrize("api", ["on", "forbidden"])
def test_new_and_edited_entries_appear_and_widget_changes_do_not(
    api: str, daemon_for: Callable[[SimWordPress], Daemon]
) -> None:
    """Through the REST API, and through excerpt-only feeds and article pages (where the
    sidebar, menu and tagline are on every page read)."""
    with SimWordPress(api=api, feed_content=False) as site:
        run_the_story(site, daemon_for)


def run_the_story(site: SimWordPress, daemon_for: Callable[[SimWordPress], Daemon]) -> None:
    first = site.add_post("ASEAN-Japan Joint Statement", BODY)
    daemon = daemon_for(site)
    wait_for(lambda: len(daemon.entries()) == 1, what="the baseline entry")

    site.set_sidebar("Most read")
    site.set_menu(["Home", "Media"])
    site.set_tagline("A new tagline")
    site.add_post("ASEAN-Russia Senior Officials' Meeting", "BALI, 21 February 2019 -- Met.")
    site.edit_post(first, content=BODY.replace("12 points", "14 points"))
    entries = wait_for(
        lambda: len(daemon.entries()) >= 3 and daemon.entries(), what="two more entries"
    )
    assert isinstance(entries, list)
    titles = sorted(entry.title for entry in entries)
    assert titles == [
        "Edited: ASEAN-Japan Joint Statement",
        "New: ASEAN-Japan Joint Statement",
        "New: ASEAN-Russia Senior Officials’ Meeting",
    ]
    edited = next(e for e in entries if e.title.startswith("Edited"))
    assert "<del>12</del>" in edited.content[0].value
    assert "<ins>14</ins>" in edited.content[0].value

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
    log = daemon.log.read_text()
    assert "check asean: ok, 1 new, 1 edited, 0 removed" in log


def test_feeds_exist_before_the_first_check_and_sigint_stops(
    site: SimWordPress, daemon_for: Callable[[SimWordPress], Daemon]
) -> None:
    site.faults["/robots.txt"] = 503  # the first check fails: the feed must still be there
    daemon = daemon_for(site)
    response = wait_for(lambda: daemon.get("/feeds/all.atom"), what="the server")
    assert isinstance(response, httpx.Response)
    assert response.status_code == 200
    assert feedparser.parse(response.content).bozo == 0
    health = daemon.get("/healthz")
    assert health is not None and health.status_code == 200
    daemon.process.send_signal(signal.SIGINT)
    assert daemon.process.wait(timeout=15) == 0


def test_stops_within_seconds_even_with_a_request_on_the_wire(
    daemon_for: Callable[[SimWordPress], Daemon],
) -> None:
    with SimWordPress(api="forbidden", feed_content=False) as site:
        slow = site.add_post("A page that takes half a minute", BODY)
        site.delays[f"/{site.posts[slow].slug}/"] = 30
        daemon = daemon_for(site, http={"timeout": "60s"})
        wait_for(lambda: site.waiting, what="the slow request")
        started = time.monotonic()
        assert daemon.stop() == 0
        assert time.monotonic() - started < 10
        assert "exiting without them" in daemon.log.read_text()


def test_one_daemon_per_database_and_a_killed_one_leaves_no_lock(
    site: SimWordPress, daemon_for: Callable[..., Daemon], tmp_path: Path
) -> None:
    first = daemon_for(site)
    wait_for(lambda: first.get("/healthz"), what="the first daemon")
    config = tmp_path / "watcher.yaml"
    second = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), "run"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert second.returncode == 1
    assert (
        f"another watcher is already running on this database (pid {first.process.pid};"
        in second.stderr
    )
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    third = daemon_for(site)  # the operating system released the lock with the process
    wait_for(lambda: third.get("/healthz"), what="a daemon after the kill")
    assert third.stop() == 0


def test_sighup_reloads_a_valid_config_and_keeps_the_running_one_when_invalid(
    site: SimWordPress, daemon_for: Callable[..., Daemon], tmp_path: Path
) -> None:
    daemon = daemon_for(site)
    wait_for(lambda: daemon.get("/healthz"), what="the daemon")
    config = tmp_path / "watcher.yaml"
    settings = yaml.safe_load(config.read_text())
    assert daemon.get("/feeds/topics/japan.atom").status_code == 404  # type: ignore[union-attr]

    settings["topics"] = {"japan": {"title": "ASEAN–Japan", "preset": "partner/japan"}}
    config.write_text(yaml.safe_dump(settings, allow_unicode=True))
    daemon.process.send_signal(signal.SIGHUP)
    wait_for(
        lambda: "config reloaded: 1 source(s), 1 topic(s)" in daemon.log.read_text(),
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
    wait_for(lambda: "config not reloaded" in daemon.log.read_text(), what="the refusal")
    line = next(x for x in daemon.log.read_text().splitlines() if "config not reloaded" in x)
    every_line = 1 + next(n for n, x in enumerate(config.read_text().splitlines()) if "every:" in x)
    assert line.endswith(
        f"{config}:{every_line}: sources[0].every: '15 minutes' is not a duration (use 15m, 1h, 1d)"
    )
    assert daemon.process.poll() is None
    again = daemon.get("/feeds/topics/japan.atom")
    assert again is not None and again.status_code == 200
    assert daemon.stop() == 0


def test_stops_within_seconds_with_mail_waiting_on_a_stuck_server(
    daemon_for: Callable[..., Daemon], tmp_path: Path
) -> None:
    stuck = socket.socket()
    stuck.bind(("127.0.0.1", 0))
    stuck.listen(8)  # accepts connections, never says a word
    try:
        with SimWordPress(api="on") as site:
            daemon = daemon_for(
                site,
                topics={"russia": {"title": "ASEAN–Russia", "preset": "partner/russia"}},
                email={
                    "smtp": {
                        "host": "127.0.0.1",
                        "port": stuck.getsockname()[1],
                        "security": "none",
                        "timeout": "60s",
                    },
                    "from": "w <w@example.org>",
                },
                subscriptions=[
                    {"name": "i", "to": ["a@example.org"], "topics": ["russia"], "mode": "instant"}
                ],
            )
            wait_for(lambda: "check asean: ok" in daemon.log.read_text(), what="the baseline")
            site.add_post("Russia and ASEAN", "Text.")
            wait_for(lambda: "check asean: ok, 1 new" in daemon.log.read_text(), what="the change")
            time.sleep(1)  # the message is on its way to the stuck server
            started = time.monotonic()
            assert daemon.stop() == 0
            assert time.monotonic() - started < 10
    finally:
        stuck.close()


def test_a_daemon_starting_while_a_command_sends_mail_waits_for_it(
    site: SimWordPress, daemon_for: Callable[..., Daemon], tmp_path: Path
) -> None:
    daemon = daemon_for(site)
    config = load_config(tmp_path / "watcher.yaml")
    daemon.process.kill()  # only its config was wanted; start again below with the lock held
    daemon.process.wait()
    sending = DaemonLock(mail_lock_path(config), SENDING)
    sending.acquire()  # as `watcher check` holds it while it mails
    try:
        waiting = daemon_for(site)
        wait_for(
            lambda: "is sending this database's mail" in waiting.log.read_text(),
            what="the daemon to wait",
        )
        time.sleep(1)
        assert waiting.get("/healthz") is None  # not started: it would mail the same changes
    finally:
        sending.release()
    wait_for(lambda: waiting.get("/healthz"), what="the daemon, once the command is done")
    assert waiting.stop() == 0
