"""SIGKILL at random moments (during checks, feed writes, mail) twenty times while the site
changes underneath; after each restart and at the end, what is stored agrees with what the site
really published, the database is whole, the feeds parse, and no change went out twice."""

from __future__ import annotations

import random
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

import feedparser
import pytest

from tests.helpers import (
    DaemonProcess,
    free_port,
    listening,
    mail_settings,
    wait_for,
    wordpress_source,
    write_config,
)
from tests.mailserver import MailServer
from tests.sim.wordpress import SimWordPress

pytestmark = pytest.mark.slow  # a daemon killed twenty times

KILLS = 20


def test_twenty_kills_lose_nothing(tmp_path: Path) -> None:
    rng = random.Random(4242)
    revision: dict[int, int] = {}  # post id -> the revision the site shows now
    trashed: set[int] = set()
    with SimWordPress() as site, MailServer() as smtp:
        for number in range(4):
            revision[site.add_post(f"Russia statement {number}", _body(number, 0))] = 0
        port = free_port()
        config = write_config(
            tmp_path,
            [wordpress_source(site, every="1s", sweep_every="0s")],
            **listening(port),
            **mail_settings(smtp.port, mode="instant"),
        )
        database = tmp_path / "state" / "watcher.db"
        feed = tmp_path / "state" / "feeds" / "all.atom"
        for round_number in range(KILLS + 1):
            with DaemonProcess(config, port, tmp_path / f"daemon-{round_number}.log") as daemon:
                wait_for(daemon.serving, what="the daemon")
                _whole(database, feed)  # what the last kill left is consistent
                for _ in range(rng.randint(1, 3)):
                    _mutate(site, rng, revision, trashed)
                    time.sleep(rng.uniform(0.0, 0.3))
                if round_number < KILLS:
                    time.sleep(rng.uniform(0.1, 1.5))
                    daemon.kill()
                    continue
                wait_for(
                    lambda: _settled(database, revision, trashed),
                    timeout=120,
                    what="the site's state",
                )
                assert daemon.stop() == 0
        _whole(database, feed)
        ids: dict[str, set[str]] = defaultdict(set)
        for message in smtp.messages():
            ids[str(message["X-Watcher-Change"])].add(str(message["Message-ID"]))
    assert ids  # changes were mailed...
    assert {c: i for c, i in ids.items() if len(i) > 1} == {}  # ...never under two Message-IDs


def _body(post: int, number: int) -> str:
    return f"The Russian Federation and ASEAN, statement {post}, revision {number}."


def _mutate(
    site: SimWordPress, rng: random.Random, revision: dict[int, int], trashed: set[int]
) -> None:

    live = [p for p in revision if p not in trashed]
    action = rng.choice(["add", "edit", "edit", "trash"] if len(live) > 2 else ["add", "edit"])
    if action == "add":
        number = len(revision)
        revision[site.add_post(f"Russia statement {number}", _body(number, 0))] = 0
    elif action == "edit":
        post = rng.choice(live)
        revision[post] += 1
        site.edit_post(post, content=_body(list(revision).index(post), revision[post]))
    else:
        post = rng.choice(live)
        site.trash_post(post)
        trashed.add(post)


def _whole(database: Path, feed: Path) -> None:
    """The database passes SQLite's own check and its own invariants; the feed parses."""
    if not database.exists():
        return
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        gaps = connection.execute(
            "SELECT r.id FROM release r LEFT JOIN version v ON v.release_id = r.id "
            "GROUP BY r.id HAVING count(v.id) != r.versions OR max(v.number) != r.versions"
        ).fetchall()
        assert gaps == []  # every version kept, numbered without gaps
        orphans = connection.execute(
            "SELECT count(*) FROM change c LEFT JOIN release r ON r.id = c.release_id WHERE r.id IS NULL"
        ).fetchone()
        assert orphans == (0,)
    connection.close()
    if feed.exists():
        assert feedparser.parse(feed.read_bytes()).bozo == 0


def _settled(database: Path, revision: dict[int, int], trashed: set[int]) -> bool:
    """Every post the site shows is stored with its latest revision; every trashed one is
    marked removed; nothing else is removed."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT r.key, r.status, v.text FROM release r JOIN version v "
            "ON v.release_id = r.id AND v.number = r.versions"
        ).fetchall()
    connection.close()
    stored = {key: (status, text) for key, status, text in rows}
    for post, number in revision.items():
        key = f"wp:{post}"
        if post in trashed and key not in stored:
            continue  # published and trashed between two checks: never seen, never news
        status, text = stored.get(key, (None, ""))
        if post in trashed:  # its last edits may have come and gone between two checks
            if status != "removed":
                return False
        elif status != "active" or f"revision {number}." not in text:
            return False
    return set(stored) <= {f"wp:{post}" for post in revision}
