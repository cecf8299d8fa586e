"""The WordPress path: a `wordpress` source reading N posts through the REST API of the
simulated WordPress (tests/sim), in a process of its own so that its work is never counted.
The posts carry the same text as the static archive's releases and were last modified long
ago, as on a settled archive. Two passes, a first one and one where nothing changed, each as a
`watcher check` command and inside the long-running daemon.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from bench.archive import make_release
from bench.servers import Requests
from bench.tools import Run, WatcherCommand, WatcherDaemon, watcher_config


def serve(posts: int, pipe: Connection) -> None:
    """The simulated site, answering `hits` (statuses since the last ask) until `stop`."""
    from tests.sim.wordpress import SimWordPress

    with SimWordPress() as site:
        for number in range(posts):
            release = make_release(number)
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
            pipe.send(Counter(hit.status for hit in hits))


PHASES = ("first pass", "nothing changed")


def measure(posts: int, tmp: Path) -> list[tuple[str, str, Run]]:
    """(phase, how, run) for each pass, `watcher check` then the daemon."""
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(target=serve, args=(posts, theirs))
    server.start()
    try:
        url = ours.recv()
        source = {"type": "wordpress", "profile": "asean", "url": url, "categories": ["news"]}
        runs: list[tuple[str, str, Run]] = []
        command = WatcherCommand(watcher_config(tmp / "wp-command", source))
        for phase in PHASES:
            runs.append((phase, "watcher check", _counted(command.run(phase), ours)))
        daemon = WatcherDaemon(watcher_config(tmp / "wp-daemon", source))
        try:
            for phase in PHASES:
                runs.append((phase, "watcher daemon", _counted(daemon.run(phase), ours)))
        finally:
            daemon.close()
        return runs
    finally:
        ours.send("stop")
        server.join(30)


def _counted(run: Run, pipe: Connection) -> Run:
    pipe.send("hits")
    statuses: Counter[int] = pipe.recv()
    run.requests = Requests(others=statuses)
    return run
