"""`make bench-pages`: how fast the web pages answer on a large history.

An archive of N release pages (bench/archive.py) is served on 127.0.0.1 by nginx (or the
Python stand-in); `watcher check` reads it whole, then every release is edited and read again,
VERSIONS - 1 times: N releases of VERSIONS versions each, every version in the search index.
Then `watcher serve` (its own process, as a user runs it) answers each page REPEATS times,
after one request to warm it; the table shows the median and slowest answer, measured by the
client over loopback, and the page's size. Target: every page under 100 ms at 10,000 releases.

Usage: python bench/pages.py [--pages 10000] [--versions 3] [--write-results FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import revisit_day
from bench.archive import Archive
from bench.run import describe_machine, progress, table
from bench.servers import Server, add_server_options, chosen_nginx, free_port
from bench.tools import SOURCE, WatcherCommand, watcher_command, watcher_config

TARGET_MS = 100.0
REPEATS = 5


@dataclass
class PageTime:
    page: str
    path: str
    median_ms: float
    slowest_ms: float
    kb: float
    status: int

    @property
    def met(self) -> bool:
        return self.status == 200 and self.slowest_ms < TARGET_MS


def main() -> None:
    args = parse_args()
    nginx = chosen_nginx(args)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="watcher-pages-") as directory:
        tmp = Path(directory)
        site = tmp / "site"
        site.mkdir()
        # the site is needed only while the history is made
        with Server("nginx" if nginx else "python", site, tmp / "server", nginx=nginx) as server:
            progress(f"{args.pages} release pages, served by {server.version}")
            archive = Archive.build(site, args.pages, server.url)
            command = WatcherCommand(
                watcher_config(tmp / "watcher", revisit_day.html_source(archive, args.pages))
            )
            for version in range(1, args.versions + 1):
                if version > 1:
                    archive.edit_bodies(share=1.0)
                progress(f"version {version} of every release: watcher check")
                run = command.run(f"version {version}")
                if not run.ok:
                    raise SystemExit(f"watcher check failed ({run.note}): see {command.log}")
        database = command.config.parent / "state" / "watcher.db"
        counts = _counts(database)
        progress(f"{counts['releases']} releases, {counts['versions']} versions: watcher serve")
        counts["database_bytes"] = sum(
            p.stat().st_size for p in database.parent.glob("watcher.db*")
        )
        with serving(command.config) as base:
            times = [_time(base, name, path, args.repeats) for name, path in pages(database)]
    report = render(times, counts, args, started)
    print(report)
    if args.write_results:
        args.write_results.write_text(
            f"# Web pages\n\nProduced by `make bench-pages`:\n\n```\n{report}\n```\n"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"counts": counts, "pages": [asdict(t) | {"met": t.met} for t in times]}, indent=1
            )
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000, metavar="N", help="release pages")
    parser.add_argument("--versions", type=int, default=3, help="versions of every release")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed requests per page")
    add_server_options(parser)
    parser.add_argument(
        "--write-results", type=Path, metavar="FILE", help="the report, as Markdown"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="the numbers, as JSON")
    return parser.parse_args()


@contextlib.contextmanager
def serving(config: Path) -> Iterator[str]:
    """`watcher serve` on a free port of 127.0.0.1, until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [*watcher_command(), "--config", str(config), "serve", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"watcher serve did not start (exit {process.poll()})")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def pages(database: Path) -> list[tuple[str, str]]:
    """Every kind of page, with filters and searches a reader would use, deep pages included."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        release, versions = connection.execute(
            "SELECT release_id, count(*) FROM version GROUP BY release_id "
            "ORDER BY count(*) DESC, release_id LIMIT 1"
        ).fetchone()
        releases = connection.execute("SELECT count(*) FROM release").fetchone()[0]
        changes = connection.execute("SELECT count(*) FROM change").fetchone()[0]
        newest = connection.execute("SELECT max(last_changed) FROM release").fetchone()[0]
    day = datetime.fromisoformat(newest).date()
    week = {"since": str(day - timedelta(days=7)), "until": str(day)}
    per_page = 50
    return [
        ("latest changes", "/"),
        ("latest changes, last page", f"/?page={max(1, changes // per_page)}"),
        ("releases", "/releases"),
        ("releases, last page", f"/releases?page={max(1, releases // per_page)}"),
        ("releases of a source", "/releases?" + urlencode({"source": SOURCE})),
        ("releases of a topic", "/releases?topic=russia"),
        ("releases edited", "/releases?kind=edited"),
        ("releases of a week", "/releases?" + urlencode(week)),
        ("search, a word", "/releases?" + urlencode({"q": "scholarships"})),
        ("search, a rare word", "/releases?" + urlencode({"q": "Vientiane"})),
        ("search, a phrase", "/releases?" + urlencode({"q": '"next session"'})),
        ("search, a prefix", "/releases?" + urlencode({"q": "cyber*"})),
        ("search and topic", "/releases?" + urlencode({"q": "climate", "topic": "japan"})),
        ("search, nothing found", "/releases?" + urlencode({"q": "zzyzx"})),
        (f"a release ({versions} versions)", f"/releases/{release}"),
        ("a release, diff 1 to last", f"/releases/{release}?from=1&to={versions}"),
        ("topics", "/topics"),
        ("a topic", "/topics/russia"),
        ("sources", "/sources"),
        ("feed, all (Atom)", "/feeds/all.atom"),
    ]


def _time(base: str, name: str, path: str, repeats: int) -> PageTime:
    with httpx.Client(base_url=base, timeout=60) as client:
        client.get(path)  # warm: the first request after start pays for imports and caches
        times, response = [], None
        for _ in range(repeats):
            began = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - began) * 1000)
    assert response is not None
    return PageTime(
        page=name,
        path=path,
        median_ms=statistics.median(times),
        slowest_ms=max(times),
        kb=len(response.content) / 1000,
        status=response.status_code,
    )


def _counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return {
            name: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for name, table in (
                ("releases", "release"),
                ("versions", "version"),
                ("changes", "change"),
            )
        }


def render(
    times: list[PageTime],
    counts: dict[str, int],
    args: argparse.Namespace,
    started: datetime,
) -> str:
    size = counts["database_bytes"] / 1e6
    rows = [
        [
            t.page,
            f"{t.median_ms:.1f}",
            f"{t.slowest_ms:.1f}",
            f"{t.kb:.1f}",
            str(t.status),
            "yes" if t.met else "NO",
        ]
        for t in times
    ]
    slowest = max(times, key=lambda t: t.slowest_ms)
    lines = [
        describe_machine(started, with_urlwatch=False).splitlines()[0],
        "",
        f"{counts['releases']:,} releases, {counts['versions']:,} versions, "
        f"{counts['changes']:,} changes; SQLite database {size:.1f} MB. `watcher serve` in its "
        f"own process; each page asked once to warm, then {args.repeats} times (ms, from the "
        "client, over loopback).",
        "",
        table(["page", "median ms", "slowest ms", "KB", "status", f"< {TARGET_MS:.0f} ms"], rows),
        "",
        "paths: " + "; ".join(f"{t.page}: {t.path}" for t in times),
        "",
        f"Every page under {TARGET_MS:.0f} ms: "
        + ("yes" if all(t.met for t in times) else "NO")
        + f" (slowest: {slowest.page}, {slowest.slowest_ms:.1f} ms)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
