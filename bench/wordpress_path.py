"""The WordPress path: a `wordpress` source reading N posts through the REST API of the
simulated WordPress (tests/sim), in a process of its own so that its work is never counted.
The posts carry the same text as the static archive's releases and were last modified long
ago, as on a settled archive.

Measured: a first pass and a pass where nothing changed as `watcher check` commands; then,
inside one long-running daemon, a first pass, a nothing-changed cycle (one request, whatever
the archive's size) and a sweep (every `sweep_every`: the ids of every post, listed and
compared, to find removals), reported on its own line.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from bench.archive import make_release, newest_date, publication_date
from bench.tools import Run, WatcherCommand, WatcherDaemon, watcher_config

SWEEP_EVERY = timedelta(hours=1)  # the README's default


@dataclass
class WordPressRun:
    phase: str
    how: str
    run: Run
    made: int  # changes made to the site before this pass (the first: every post is new)
    statuses: Counter[int]
    asked: Counter[str]  # requests by what they asked for: posts, categories, robots.txt


def serve(posts: int, pipe: Connection) -> None:
    """The simulated site; answers `hits` (what was asked since the last time) until `stop`."""
    from tests.sim.wordpress import SimWordPress

    newest = newest_date()
    with SimWordPress() as site:
        for number in range(posts):
            release = make_release(number, publication_date(number, posts, newest))
            post = site.add_post(
                release.title,
                "\n\n".join(release.paragraphs),
                date_gmt=release.published,
                slug=release.slug,
            )
            # settled long ago: nothing within the API's look-back window
            site.set_modified(post, release.published + timedelta(hours=1))
        pipe.send(site.url)
        seen = 0
        while (command := pipe.recv()) != "stop":
            assert command == "hits"
            with site.lock:
                hits = site.hits[seen:]
                seen = len(site.hits)
            statuses = Counter(hit.status for hit in hits)
            asked = Counter(_what(hit.path) for hit in hits)
            pipe.send((statuses, asked))


def _what(path: str) -> str:
    if path.startswith("/wp-json/wp/v2/"):
        return path.removeprefix("/wp-json/wp/v2/").split("/")[0]
    return path.strip("/") or "/"


def measure(posts: int, tmp: Path) -> list[WordPressRun]:
    """Each pass, `watcher check` then the daemon."""
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(posts, theirs))
    server.start()
    try:
        url = ours.recv()
        source = {"type": "wordpress", "profile": "asean", "url": url, "categories": ["news"]}
        runs: list[WordPressRun] = []

        def counted(phase: str, how: str, run: Run, made: int) -> None:
            ours.send("hits")
            statuses, asked = ours.recv()
            runs.append(WordPressRun(phase, how, run, made, statuses, asked))

        command = WatcherCommand(watcher_config(tmp / "wp-command", source))
        counted("first pass", "watcher check", command.run("first"), posts)
        counted("nothing changed", "watcher check", command.run("nothing"), 0)
        daemon = WatcherDaemon(watcher_config(tmp / "wp-daemon", source), all_releases=False)
        try:
            counted("first pass", "watcher daemon", daemon.run("first"), posts)
            counted("nothing changed", "watcher daemon", daemon.run("nothing"), 0)
            daemon.advance(SWEEP_EVERY.total_seconds())
            counted("sweep (every 1h)", "watcher daemon", daemon.run("sweep"), 0)
            counted("nothing changed", "watcher daemon", daemon.run("nothing"), 0)
        finally:
            daemon.close()
        return runs
    finally:
        ours.send("stop")
        server.join(30)
