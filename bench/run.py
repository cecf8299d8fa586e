"""`make bench`: the watcher against urlwatch 2.29 on the same static archive, phase by phase.

For each size N: an asean.org-like archive of N release pages, served on 127.0.0.1 by Debian's
nginx (started here in a temporary directory, stopped at the end); urlwatch (one job per
release page, a CSS filter keeping what the watcher keeps), `watcher check --all-releases`
(one process per phase) and the watcher inside one long-running process go through the same
phases, with the same politeness (no delay between requests, urlwatch's ten workers):

    first pass; nothing changed; a sidebar-only change on every page; 1% of bodies edited;
    nothing changed again

Then, for the watcher: every feed rebuilt from the database, the read-only commands timed, and
the revisit policy over two simulated days at a 15-minute cycle. Once, the WordPress path (REST
API) on a simulated WordPress. CPU is the clients' own (user + system, from their rusage),
never the server's. Prints one report; `--write-results FILE` also writes it as Markdown.

Usage: python bench/run.py [--pages 1000 10000] [--wp-posts 10000] [--write-results FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import revisit_day, wordpress_path  # noqa: E402
from bench.archive import ANNEX_EVERY, Archive  # noqa: E402
from bench.servers import (  # noqa: E402
    AccessLog,
    Requests,
    Server,
    add_server_options,
    chosen_nginx,
)
from bench.tools import (  # noqa: E402
    URLWATCH_VERSION,
    URLWATCH_WORKERS,
    Run,
    Urlwatch,
    WatcherCommand,
    WatcherDaemon,
    ensure_urlwatch,
    run_process,
    urlwatch_venv_default,
    watcher_command,
    watcher_config,
)

URLWATCH = "urlwatch"
COMMAND = "watcher check"
DAEMON = "watcher daemon"

# Targets (issue 10), checked against the numbers of the same run
FIRST_PASS_RATIO = 0.75
NOTHING_RATIO = 0.25
DAEMON_MS_PER_PAGE = 0.6
FLAT_WITHIN = 0.15
READ_ONLY_WALL = 0.4
PEAK_RSS_MB = 150
FEEDS_MS = 50
REQUESTS_SHARE = 1 / 20
# Wall times of the feeds and read-only commands are the best of a few runs (--repeats):
# other processes on the machine only ever add to them
REPEATS = 5


@dataclass
class Phase:
    name: str
    kind: str  # the release changes it makes: new, edited (or none)
    change: Callable[[], int]  # changes the archive; how many release changes it made
    made: int = 0
    runs: dict[str, Run] = field(default_factory=dict)


@dataclass
class Size:
    pages: int
    page_kb: float
    server: str
    phases: list[Phase]
    feeds: dict[str, Any]
    commands: dict[str, Run]
    day: revisit_day.DayResult | None
    minutes: float


def main() -> None:
    args = parse_args()
    nginx = chosen_nginx(args)
    urlwatch = None
    if not args.without_urlwatch:
        ensure_urlwatch(args.urlwatch_venv)
        urlwatch = args.urlwatch_venv
    started = datetime.now(UTC)
    sizes = []
    with contextlib.ExitStack() as stack:
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=False)
            tmp = str(args.workdir)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="watcher-bench-"))
        for pages in args.pages:
            sizes.append(measure_size(pages, Path(tmp) / str(pages), nginx, urlwatch, args))
        wordpress = []
        if args.wp_posts:
            progress(f"WordPress path, {args.wp_posts} posts")
            wordpress = wordpress_path.measure(args.wp_posts, Path(tmp) / "wordpress")
    report = render(sizes, wordpress, args, started, with_urlwatch=urlwatch is not None)
    print(report)
    if args.write_results:
        command = "python bench/run.py " + shlex.join(sys.argv[1:])
        args.write_results.write_text(markdown(report, command))
    if args.json:
        args.json.write_text(json.dumps(as_json(sizes, wordpress), indent=1))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[1000], metavar="N")
    parser.add_argument(
        "--wp-posts", type=int, default=10_000, metavar="N", help="0: no WordPress path"
    )
    parser.add_argument(
        "--days", type=int, default=2, help="simulated days of the revisit policy (0: none)"
    )
    add_server_options(parser)
    parser.add_argument("--without-urlwatch", action="store_true", help="the watcher only")
    parser.add_argument(
        "--repeats",
        type=int,
        default=REPEATS,
        help="runs of each read-only command and feed rebuild; the fastest counts",
    )
    parser.add_argument(
        "--urlwatch-venv",
        type=Path,
        default=urlwatch_venv_default(),
        help="urlwatch's own virtual environment, made once (default: %(default)s)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="a new directory for the archives, configs and databases, kept afterwards "
        "(default: a temporary one, removed at the end)",
    )
    parser.add_argument(
        "--write-results", type=Path, metavar="FILE", help="the report, as Markdown"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="the numbers, as JSON")
    return parser.parse_args()


def progress(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# -- one size ------------------------------------------------------------------------------------


def measure_size(
    pages: int, tmp: Path, nginx: str, urlwatch: Path | None, args: argparse.Namespace
) -> Size:
    began = time.monotonic()
    site = tmp / "site"
    site.mkdir(parents=True)
    kind = "nginx" if nginx else "python"
    with Server(kind, site, tmp / "server", nginx=nginx) as server:
        progress(f"{pages} pages: writing the archive, served by {server.version}")
        archive = Archive.build(site, pages, server.url)
        log = AccessLog(server.log, archive.release_paths())
        sizes = [(site / r.path.strip("/") / "index.html").stat().st_size for r in archive.releases]
        source = revisit_day.html_source(archive, pages)
        command = WatcherCommand(watcher_config(tmp / "command", source))
        daemon = WatcherDaemon(watcher_config(tmp / "daemon", source))
        tools: dict[str, Callable[[str], Run]] = {}
        if urlwatch is not None:
            jobs = [(r.title, server.url + r.path) for r in archive.releases]
            tools[URLWATCH] = Urlwatch(urlwatch, tmp / "urlwatch", jobs).run
        tools[COMMAND] = command.run
        tools[DAEMON] = daemon.run
        phases = [
            Phase("first pass", "new", lambda: pages),
            Phase("nothing changed", "", lambda: 0),
            Phase("sidebar changed", "", archive.change_sidebar),
            Phase("1% of bodies edited", "edited", archive.edit_bodies),
            Phase("nothing changed again", "", lambda: 0),
        ]
        try:
            for phase in phases:
                phase.made = phase.change()
                for name, run in tools.items():
                    progress(f"{pages} pages, {phase.name}: {name}")
                    log.mark()
                    result = run(phase.name)
                    result.requests = log.since_mark()
                    phase.runs[name] = result
            feeds = daemon.feeds(args.repeats)
        finally:
            daemon.close()
        progress(f"{pages} pages: read-only commands")
        commands = time_commands(command.config, args.repeats)
        day = None
        if args.days:
            progress(f"{pages} pages: {args.days} simulated days of the revisit policy")
            archive.attach_documents()
            day = revisit_day.simulate(archive, log, tmp / "day", days=args.days)
    return Size(
        pages=pages,
        page_kb=statistics.mean(sizes) / 1000,
        server=server.version,
        phases=phases,
        feeds=feeds,
        commands=commands,
        day=day,
        minutes=(time.monotonic() - began) / 60,
    )


def time_commands(config: Path, repeats: int) -> dict[str, Run]:
    """The read-only commands on the database the phases left; the fastest of a few runs."""
    watcher = watcher_command()
    setting = ["--config", str(config)]
    commands = {
        "watcher --help": [*watcher, "--help"],
        "watcher status": [*watcher, *setting, "status"],
        "watcher releases": [*watcher, *setting, "releases"],
        f"watcher history {edited_release(config)}": [
            *watcher, *setting, "history", str(edited_release(config)),
        ],
        "watcher config check": [*watcher, *setting, "config", "check"],
    }  # fmt: skip
    timed = {}
    for name, argv in commands.items():
        runs = []
        for _ in range(repeats):
            with open(os.devnull, "wb") as out:
                runs.append(run_process(argv, env=None, out=out))
        timed[name] = min(runs, key=lambda r: r.wall)
    return timed


def edited_release(config: Path) -> int:
    """A release with an edit (its history has a diff), else the first."""
    database = config.parent / "state" / "watcher.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        row = connection.execute(
            "SELECT release_id FROM change WHERE kind = 'edited' ORDER BY id LIMIT 1"
        ).fetchone()
    return int(row[0]) if row else 1


# -- the report ----------------------------------------------------------------------------------


def render(
    sizes: list[Size],
    wordpress: list[wordpress_path.WordPressRun],
    args: argparse.Namespace,
    started: datetime,
    *,
    with_urlwatch: bool,
) -> str:
    out: list[str] = []
    out.append(describe_machine(started, with_urlwatch))
    targets: list[tuple[str, str, bool]] = []
    for size in sizes:
        out.append("")
        out.extend(render_size(size, targets, with_urlwatch))
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        for tool in (COMMAND, DAEMON):
            per_page = [s.phases[0].runs[tool].cpu / s.pages for s in (small, large)]
            drift = per_page[1] / per_page[0] - 1
            targets.append(
                (
                    f"first pass CPU per page ({tool}) flat from {small.pages:,} to "
                    f"{large.pages:,} pages (within {FLAT_WITHIN:.0%})",
                    f"{per_page[0] * 1000:.2f} -> {per_page[1] * 1000:.2f} ms ({drift:+.0%})",
                    abs(drift) <= FLAT_WITHIN,
                )
            )
    if wordpress:
        out.append("")
        out.extend(render_wordpress(wordpress, args.wp_posts, targets))
    out.append("")
    out.append("Targets")
    out.append(
        table(
            ["target", "measured", "met"],
            [[what, value, "yes" if ok else "NO"] for what, value, ok in targets],
        )
    )
    return "\n".join(out)


def describe_machine(started: datetime, with_urlwatch: bool) -> str:
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    dirty = subprocess.run(
        # the results files themselves (this run's, or the previous one's) are not the code
        ["git", "status", "--porcelain", "--", "watcher", "bench", ":!bench/*.md"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    versions = f"Python {platform.python_version()}"
    if with_urlwatch:
        versions += f", urlwatch {URLWATCH_VERSION}"
    return (
        f"{started:%Y-%m-%d}, watcher at {commit or 'an unknown commit'}"
        f"{' with uncommitted changes' if dirty else ''}; {versions}; "
        f"{cpu}, {os.cpu_count()} cores.\n"
        f"Both tools: no delay between requests, {URLWATCH_WORKERS} requests in flight "
        "(urlwatch's workers; the watcher's per_host_concurrency). CPU s = user + system of "
        "the client process only."
    )


def render_size(size: Size, targets: list[tuple[str, str, bool]], with_urlwatch: bool) -> list[str]:
    n = size.pages
    out = [
        f"## {n:,} release pages (~{size.page_kb:.1f} KB each), served by {size.server}, "
        f"measured in {size.minutes:.1f} min",
        "",
    ]
    headers = [
        "phase", "tool", "CPU s", "wall s", "pages 200/304", "other 200/304", "peak RSS MB",
        "DB MB", "found/made", "CPU vs urlwatch",
    ]  # fmt: skip
    rows = []
    for phase in size.phases:
        theirs = phase.runs.get(URLWATCH)
        for index, (tool, run) in enumerate(phase.runs.items()):
            ratio = ""
            if tool != URLWATCH and theirs is not None and theirs.cpu:
                ratio = f"{run.cpu / theirs.cpu:.2f}"
            rows.append(
                [
                    phase.name if index == 0 else "",
                    tool,
                    f"{run.cpu:.2f}",
                    f"{run.wall:.1f}",
                    Requests.split(run.requests.releases),
                    Requests.split(run.requests.others),
                    f"{run.rss_mb:.0f}",
                    f"{run.db_bytes / 1e6:.1f}",
                    f"{sum(run.found.values())}/{phase.made}"
                    + (f" ({run.note})" if run.note else ""),
                    ratio,
                ]
            )
    out.append(table(headers, rows))
    out.append("")
    out.append(
        "pages: requests for release pages; other: listing pages and robots.txt. DB: the "
        "database on disk (with its write-ahead log). found: urlwatch's NEW and CHANGED "
        "reports, the watcher's new, edited and removed releases. urlwatch keeps its "
        "snapshots in one table without an index on the job: after its first run, each job "
        "reads the whole table, so its cost per page grows with the number of jobs."
    )
    rebuilds = size.feeds["rebuilds"]
    best = min(rebuilds, key=lambda r: r["wall"])
    feeds_wall, feeds_cpu = best["wall"] * 1000, (best["user"] + best["system"]) * 1000
    out.append(
        f"Feeds: {len(size.feeds['feeds'])} ({', '.join(f.removesuffix('.atom') for f in size.feeds['feeds'])}; "
        f"Atom and RSS each) rebuilt from the database in {feeds_wall:.0f} ms "
        f"({feeds_cpu:.0f} ms CPU), inside the daemon, best of {len(rebuilds)}."
    )
    out.append("")
    out.append(
        f"Read-only commands on the database of {n:,} releases (best of {len(size.feeds['rebuilds'])}):"
    )
    out.append(
        table(
            ["command", "wall s", "CPU s", "peak RSS MB"],
            [
                [name, f"{run.wall:.2f}", f"{run.cpu:.2f}", f"{run.rss_mb:.0f}"]
                for name, run in size.commands.items()
            ],
        )
    )
    if size.day is not None:
        out.append("")
        out.extend(render_day(size.day, size, targets))
    evaluate(size, targets, with_urlwatch)
    return out


def render_day(
    day: revisit_day.DayResult, size: Size, targets: list[tuple[str, str, bool]]
) -> list[str]:
    n = day.pages
    cycles = round(timedelta(hours=24) / revisit_day.CYCLE)
    theirs = cycles * n
    nothing = size.phases[1].runs.get(URLWATCH)
    out = [
        f"Revisit policy (default: fresh 7d, every 24h, first_pages 2), plain checks every "
        f"15 min over {len(day.days)} simulated days, one release in "
        f"{ANNEX_EVERY} linking a PDF; the first check ({day.baseline_requests:,} requests, "
        "PDFs included) before the first day:",
    ]
    rows = []
    for number, one in enumerate(day.days, 1):
        total = sum(one.requests.total.values())
        rows.append(
            [
                f"day {number}",
                f"{one.checks}",
                f"{total:,}",
                Requests.split(one.requests.releases),
                Requests.split(one.requests.attachments),
                Requests.split(one.requests.others),
                f"{one.most_requests:,}",
                f"{theirs:,}",
                f"{total / theirs:.3f}",
                f"{one.cpu:.1f}",
                f"{nothing.cpu * cycles:.0f}" if nothing else "",
            ]
        )
    out.append(
        table(
            [
                "",
                "checks",
                "requests",
                "pages 200/304",
                "PDFs 200/304",
                "other 200/304",
                "most in a check",
                "urlwatch's",
                "share",
                "CPU s",
                "urlwatch CPU s",
            ],
            rows,
        )
    )
    out.append(
        f"urlwatch's: every page at every cycle ({cycles} x {n:,}), never a PDF; its CPU: "
        f"{cycles} x its nothing-changed run above. PDFs: asked for again, conditionally, when "
        "their release is read again."
    )
    out.append(
        table(
            ["planted", "release age", "at", "found after", "bound", "in time"],
            [
                [
                    p.what,
                    age(p.age),
                    hm(p.at),
                    hm(p.delay) if p.delay is not None else "never",
                    hm(p.bound),
                    "yes" if p.ok else "NO",
                ]
                for p in day.plants
            ],
        )
    )
    if day.false_alarms:
        out.append(f"False alarms: {'; '.join(day.false_alarms)}")
    if day.failed_checks:
        out.append(f"Failed checks: {'; '.join(day.failed_checks)}")
    return out


def render_wordpress(
    runs: list[wordpress_path.WordPressRun], posts: int, targets: list[tuple[str, str, bool]]
) -> list[str]:
    out = [f"## WordPress path: REST API of a simulated WordPress, {posts:,} posts", ""]
    rows = [
        [
            r.phase,
            r.how,
            f"{r.run.cpu:.2f}",
            f"{r.run.wall:.1f}",
            f"{sum(r.statuses.values())}",
            ", ".join(f"{what} {count}" for what, count in sorted(r.asked.items())),
            f"{r.run.rss_mb:.0f}",
            f"{r.run.db_bytes / 1e6:.1f}",
            f"{sum(r.run.found.values())}/{r.made}" + (f" ({r.run.note})" if r.run.note else ""),
        ]
        for r in runs
    ]
    out.append(
        table(
            [
                "pass",
                "how",
                "CPU s",
                "wall s",
                "requests",
                "asked for",
                "peak RSS MB",
                "DB MB",
                "found/made",
            ],
            rows,
        )
    )
    out.append(
        "A `watcher check` command also reads robots.txt and resolves the category at each "
        "start; the daemon keeps both. These posts link no PDF: attachments are measured in the "
        "revisit policy's days above."
    )
    cycles = [r for r in runs if r.how == DAEMON and r.phase == "nothing changed"]
    if cycles:
        requests = max(sum(r.statuses.values()) for r in cycles)
        targets.append(
            (
                f"WordPress, {posts:,} posts: a nothing-changed cycle is one request",
                f"{requests}",
                requests == 1,
            )
        )
    for r in runs:
        if sum(r.run.found.values()) != r.made or not r.run.ok:
            targets.append(
                (
                    f"WordPress {r.phase} ({r.how}): found what was made",
                    f"{sum(r.run.found.values())}/{r.made}",
                    False,
                )
            )
    return out


def evaluate(size: Size, targets: list[tuple[str, str, bool]], with_urlwatch: bool) -> None:
    n = size.pages
    at = f"{n:,} pages"
    phases = {p.name: p for p in size.phases}
    if with_urlwatch:
        first = phases["first pass"].runs
        ratio = first[COMMAND].cpu / first[URLWATCH].cpu
        targets.append(
            (
                f"{at}: first pass CPU <= {FIRST_PASS_RATIO} of urlwatch's",
                f"{ratio:.2f}",
                ratio <= FIRST_PASS_RATIO,
            )
        )
        for name in ("nothing changed", "nothing changed again"):
            runs = phases[name].runs
            ratio = runs[COMMAND].cpu / runs[URLWATCH].cpu
            targets.append(
                (
                    f"{at}: {name} CPU <= {NOTHING_RATIO} of urlwatch's",
                    f"{ratio:.2f}",
                    ratio <= NOTHING_RATIO,
                )
            )
    for name in ("nothing changed", "nothing changed again"):
        for tool in (COMMAND, DAEMON):
            pages = phases[name].runs[tool].requests.releases
            targets.append(
                (
                    f"{at}: {name}, {tool}: every release request answered 304",
                    Requests.split(pages),
                    pages[304] == n and sum(pages.values()) == n,
                )
            )
    if n == 1000:
        run = phases["nothing changed"].runs[DAEMON]
        ms = run.cpu / n * 1000
        targets.append(
            (
                f"{at}: nothing-changed cycle inside the daemon < {DAEMON_MS_PER_PAGE} ms CPU per page",
                f"{ms:.2f} ms",
                ms < DAEMON_MS_PER_PAGE,
            )
        )
    if n >= 10_000:
        slowest = max(size.commands.items(), key=lambda item: item[1].wall)
        targets.append(
            (
                f"{at}: read-only commands < {READ_ONLY_WALL} s wall",
                f"slowest {slowest[0]}: {slowest[1].wall:.2f} s",
                slowest[1].wall < READ_ONLY_WALL,
            )
        )
        rss = max(run.rss_mb for p in size.phases for t, run in p.runs.items() if t != URLWATCH)
        targets.append((f"{at}: peak RSS < {PEAK_RSS_MB} MB", f"{rss:.0f} MB", rss < PEAK_RSS_MB))
        wall = min(r["wall"] for r in size.feeds["rebuilds"]) * 1000
        targets.append(
            (f"{at}: every feed rebuilt < {FEEDS_MS} ms in all", f"{wall:.0f} ms", wall < FEEDS_MS)
        )
        db = size.phases[-1].runs[COMMAND].db_bytes
        targets.append((f"{at}: database size reported", f"{db / 1e6:.1f} MB", True))
    wrong = [
        f"{p.name}, {t}: {sum(r.found.values())}/{p.made}"
        for p in size.phases
        for t, r in p.runs.items()
        if t != URLWATCH
        and (
            sum(r.found.values()) != p.made or r.found.get(p.kind or "new", 0) != p.made or not r.ok
        )
    ]
    targets.append(
        (
            f"{at}: detection exact in every phase (no false alarm, every edit found)",
            "; ".join(wrong) or "exact",
            not wrong,
        )
    )
    if size.day is not None:
        day = size.day
        cap = round(timedelta(hours=24) / revisit_day.CYCLE) * n * REQUESTS_SHARE
        most = max(sum(d.requests.total.values()) for d in day.days)
        targets.append(
            (
                f"{at}: requests of a day <= 1/20 of urlwatch's ({cap:,.0f})",
                f"{most:,}",
                most <= cap,
            )
        )
        late = [p for p in day.plants if not p.ok]
        targets.append(
            (
                f"{at}: planted edits, news and removals found within their bounds",
                f"{len(day.plants) - len(late)}/{len(day.plants)}",
                not late,
            )
        )
        targets.append(
            (
                f"{at}: no false alarm over the simulated days",
                f"{len(day.false_alarms)}",
                not day.false_alarms,
            )
        )


def hm(delta: timedelta | None) -> str:
    if delta is None:
        return ""
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes // 60}h{minutes % 60:02d}"


def age(delta: timedelta | None) -> str:
    if delta is None:
        return "new"
    days = delta.total_seconds() / 86_400
    return f"{days / 365:.1f} years" if days >= 365 else f"{days:.0f} days"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
        for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)


def markdown(report: str, command: str) -> str:
    return (
        "# Benchmark results\n\n"
        f"Produced by `make bench`:\n\n```sh\n{command}\n```\n\n"
        "bench/run.py says what each phase does.\n\n"
        f"```\n{report}\n```\n"
    )


def as_json(sizes: list[Size], wordpress: list[wordpress_path.WordPressRun]) -> dict[str, Any]:
    def run_json(run: Run) -> dict[str, Any]:
        return {
            "cpu": run.cpu,
            "wall": run.wall,
            "rss_mb": run.rss_mb,
            "db_bytes": run.db_bytes,
            "pages": {str(k): v for k, v in run.requests.releases.items()},
            "other": {str(k): v for k, v in run.requests.others.items()},
            "found": dict(run.found),
            "ok": run.ok,
            "note": run.note,
        }

    return {
        "sizes": [
            {
                "pages": size.pages,
                "phases": [
                    {
                        "name": p.name,
                        "made": p.made,
                        "runs": {tool: run_json(run) for tool, run in p.runs.items()},
                    }
                    for p in size.phases
                ],
                "feeds": size.feeds,
                "commands": {name: run_json(run) for name, run in size.commands.items()},
                "day": None
                if size.day is None
                else {
                    "days": [
                        {
                            "checks": d.checks,
                            "requests": sum(d.requests.total.values()),
                            "pdfs": {str(k): v for k, v in d.requests.attachments.items()},
                            "cpu": d.cpu,
                        }
                        for d in size.day.days
                    ],
                    "plants": [
                        {
                            "what": p.what,
                            "kind": p.kind,
                            "at_minutes": p.at.total_seconds() / 60,
                            "delay_minutes": None
                            if p.delay is None
                            else p.delay.total_seconds() / 60,
                            "bound_minutes": p.bound.total_seconds() / 60,
                            "ok": p.ok,
                        }
                        for p in size.day.plants
                    ],
                    "false_alarms": size.day.false_alarms,
                    "failed_checks": size.day.failed_checks,
                },
            }
            for size in sizes
        ],
        "wordpress": [
            {
                "phase": r.phase,
                "how": r.how,
                "made": r.made,
                "requests": sum(r.statuses.values()),
                "asked": dict(r.asked),
                **run_json(r.run),
            }
            for r in wordpress
        ],
    }


if __name__ == "__main__":
    main()
