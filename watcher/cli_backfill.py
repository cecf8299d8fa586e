"""`watcher backfill SOURCE`: the command around watcher/backfill.py, its progress shown as a
bar on a terminal and as log lines elsewhere, Ctrl-C stopping it after the release in hand."""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

import click

from watcher.cli_common import MAIL_WAIT, Context, fail, pass_context
from watcher.errors import ConfigError

if TYPE_CHECKING:
    from watcher.app import App
    from watcher.backfill import BackfillResult, Progress

log = logging.getLogger("watcher.backfill")

INTERRUPTED = 130  # as a shell reports a command ended by SIGINT
LINE_EVERY_PAGES = 10  # without a terminal: a progress line every so many pages...
LINE_EVERY_SECONDS = 5.0  # ...or every so many seconds, whichever comes first


@click.command()
@click.argument("source")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="DATE",
    help="Only releases published on DATE (YYYY-MM-DD) or later.",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="DATE",
    help="Only releases published on DATE (YYYY-MM-DD) or earlier.",
)
@click.option("--restart", is_flag=True, help="Walk the archive from its start again.")
@pass_context
def backfill(
    context: Context,
    source: str,
    since: datetime | None,
    until: datetime | None,
    restart: bool,
) -> None:
    """Fill a source's history from its archive (none of it in feeds or mail)."""
    from watcher.backfill import Span
    from watcher.cli import _logging
    from watcher.lock import AlreadyRunning, DaemonLock, lock_path

    _logging(context)
    try:
        spec = context.config.source(source)
    except ConfigError as exc:
        fail(str(exc), 2)
    first = since.replace(tzinfo=UTC) if since else None
    # the whole of the last day
    last = until.replace(tzinfo=UTC) + timedelta(days=1) if until else None
    if first is not None and last is not None and first >= last:
        fail(f"--since {first:%Y-%m-%d} is after --until {until:%Y-%m-%d}", 2)
    # held while it runs: a daemon started meanwhile refuses too (its politeness limits,
    # per host, hold within its own process only)
    lock = DaemonLock(
        lock_path(context.config),
        "a watcher daemon runs on this database (pid {pid}); stop it before a backfill, "
        "whose requests it would not space from its own",
    )
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        fail(str(exc), 1)
    app = context.app()
    try:
        app.mails = False  # mail goes out at the end, by one process at a time
        app.prepare()
        with _stopped_by_ctrl_c(app), _shown(sys.stderr.isatty()) as report:
            from watcher.backfill import backfill as walk

            result = walk(
                app.config,
                spec,
                store=app.store,
                fetcher=app.fetcher,
                span=Span(first, last),
                restart=restart,
                clock=app.clock,
                stop=app.stop,
                report=report,
            )
        feeds_written = _news_of_edits(app, result)
    except KeyboardInterrupt:  # a second Ctrl-C: the release in hand was not recorded
        fail(
            f"stopped at once; `watcher backfill {source}` goes on from the last page", INTERRUPTED
        )
    finally:
        app.close()
        lock.release()
    _finish(result, feeds_written, context)


def _news_of_edits(app: App, result: BackfillResult) -> bool:
    """What the backfill found edited is news like any check's: the feeds, and the mail."""
    if not result.progress.edited:
        return True
    written = app.build_feeds()
    with app.mail_rights(wait=MAIL_WAIT) as may_send:
        if may_send is not None:
            app.mails = True
            app.deliver(instant=True)
        else:
            log.warning("mail is left to the process sending it now")
    return written


def _finish(result: BackfillResult, feeds_written: bool, context: Context) -> None:
    from watcher.backfill import BackfillStatus

    progress, name = result.progress, result.source
    if result.status == BackfillStatus.NOTHING_LEFT:
        click.echo(
            f"backfill {name}: nothing left, its archive was walked to the end "
            f"({_pages(progress.pages, progress.total_pages)}) on {result.finished_at}; "
            "--restart walks it again"
        )
        return
    click.echo(f"backfill {name}: {result.status}, {_summary(result)}")
    if not feeds_written:
        fail(f"the feeds could not be written to {context.config.feeds_dir} (see above)", 1)
    on = progress.pages + 1
    where = f"page {on}" + (f" of {progress.total_pages}" if progress.total_pages else "")
    if result.status == BackfillStatus.INTERRUPTED:
        click.echo(f"stopped on {where}; `watcher backfill {name}` goes on from there")
        sys.exit(INTERRUPTED)
    if result.status == BackfillStatus.FAILED:
        fail(f"{result.error} (on {where}; `watcher backfill {name}` goes on from there)", 1)
    if progress.failed:
        fail(
            f"{progress.failed} page(s) or item(s) could not be read (see above); "
            f"`watcher backfill {name} --restart` tries the whole archive again",
            1,
        )


def _summary(result: BackfillResult) -> str:
    p = result.progress
    return (
        f"{_pages(p.pages, p.total_pages)}, {p.releases} release(s): {p.backfilled} backfilled, "
        f"{p.stored} already stored, {p.edited} edited; {result.requests} requests, "
        f"{result.seconds:.1f} s"
    )


def _pages(walked: int, total: int | None) -> str:
    return f"{walked} of {total} pages" if total else f"{walked} page(s)"


@contextmanager
def _stopped_by_ctrl_c(app: App) -> Iterator[None]:
    """The first Ctrl-C stops the backfill after the release in hand (waits end at once); a
    second one stops it at once (KeyboardInterrupt, as Python does)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        log.warning("stopping after the release in hand (Ctrl-C again to stop at once)")
        app.request_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _shown(terminal: bool) -> Iterator[Callable[[Progress], None]]:
    """How progress is told: a bar on a terminal, else a log line now and then."""
    if not terminal:
        yield _Lines()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn("pages"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[releases]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("backfill", total=None, releases="")

        def report(progress: Progress) -> None:
            bar.update(
                task,
                completed=progress.pages,
                total=progress.total_pages,
                releases=_releases(progress),
            )

        yield report


class _Lines:
    """A progress line every LINE_EVERY_PAGES pages or LINE_EVERY_SECONDS, with an ETA from
    this run's pace when the number of pages is known."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.last_line = self.began
        self.last_pages: int | None = None  # at the last line (None: none yet)
        self.last_count = 0  # releases and failures at the last line

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        count = progress.releases + progress.failed
        since = self.last_pages if self.last_pages is not None else progress.first_page - 1
        walked = progress.pages - since
        due = (
            (self.last_pages is None and walked > 0)  # the first page: the pace shows
            or walked >= LINE_EVERY_PAGES
            or (now - self.last_line >= LINE_EVERY_SECONDS and (walked or count > self.last_count))
        )
        if not due:
            return
        self.last_line, self.last_pages, self.last_count = now, progress.pages, count
        line = f"backfill: {_pages(progress.pages, progress.total_pages)}, {_releases(progress)}"
        done = progress.pages - (progress.first_page - 1)  # by this run
        if progress.total_pages and done > 0:
            left = (now - self.began) / done * (progress.total_pages - progress.pages)
            line += f", ETA {timedelta(seconds=round(left))}"
        log.info(line)


def _releases(progress: Progress) -> str:
    return (
        f"{progress.releases} release(s): {progress.backfilled} new to the database, "
        f"{progress.stored} already stored, {progress.edited} edited"
    )
