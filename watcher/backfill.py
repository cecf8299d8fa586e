"""`watcher backfill`: one source's whole archive walked once, politely, to fill its history.

A check is bounded (`check_max_pages`, `check_deadline`, `max_pages`, the revisit policy) because
it runs every few minutes; a backfill runs once and is not. It walks every page of the archive
(WordPress: the REST API's posts from page 1 to the last, narrowed by `after`/`before`; html: the
listing to its last page; feed: what the feed holds) through the same fetcher as the checks (per
host concurrency, min_delay, robots.txt, retries, Retry-After) and the source kind's own reading
code, and records what it reads through the check's recorder, one transaction per release:

- a release not stored: a change of its own kind, BACKFILLED, which no feed or mail shows;
- a release stored whose text differs: EDITED (or RESTORED), detected as a check detects it;
- a release stored as it is: nothing.

It decides no removal (a page the archive no longer has is the checks' to confirm), and leaves
the releases published since the source's last check to the checks, whose news they are.

Where it is is saved per source after every page (store/backfills.py): one stopped (Ctrl-C, a
failure) goes on from the page it was on, and one finished says there is nothing left.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from watcher import attachments, detect, extract
from watcher.check import Clock, Recorder, utc_now
from watcher.check_attachments import AttachmentReader
from watcher.errors import ApiUnavailable, Interrupted, ListingEmpty, SourceError, WatcherError
from watcher.fetch import Fetcher
from watcher.models import ChangeKind, Gone, NotModified, SourceView, Verdict
from watcher.options import Config, FeedSpec, HtmlSpec, SourceSpec, WordPressSpec
from watcher.sources.base import (
    Budget,
    CheckContext,
    Cursor,
    HistoryRead,
    ItemFailed,
    Listed,
    Missing,
    Observation,
    Observed,
    PageFailed,
    PageState,
    Revisit,
    Unchanged,
    read_articles,
)
from watcher.sources.feed import FeedSource
from watcher.sources.wordpress import POST_FIELDS, WordPressSource
from watcher.sources.wp_api import PER_PAGE, Walk
from watcher.store import Store
from watcher.store.checks import Previous

log = logging.getLogger("watcher.backfill")

# No deadline and no page cap: the archive is walked to its end (a site that pages for ever is
# stopped by its repeating pages, or by Ctrl-C).
NO_DEADLINE = timedelta(days=365 * 100)


@dataclass(frozen=True, slots=True)
class Span:
    """The publication dates a backfill reads: from `since` (inclusive) to `until` (exclusive)."""

    since: datetime | None = None
    until: datetime | None = None

    def key(self) -> str:
        """What a saved position was walked for: a backfill of another span starts afresh."""
        return f"{_iso(self.since)}..{_iso(self.until)}"

    def holds(self, published: datetime | None) -> bool:
        """A release without a date is read: nothing says it is outside."""
        if published is None:
            return True
        return (self.since is None or published >= self.since) and (
            self.until is None or published < self.until
        )


class BackfillStatus(StrEnum):
    DONE = "done"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    NOTHING_LEFT = "nothing left"


@dataclass
class Progress:
    """What a backfill has done so far, for its progress bar or lines."""

    pages: int = 0  # of the archive walked, this run and the runs it goes on from
    total_pages: int | None = None  # when the site says (the REST API's X-WP-Total)
    first_page: int = 1  # where this run started
    backfilled: int = 0  # releases not stored before
    stored: int = 0  # releases stored already, as they are
    edited: int = 0  # releases stored already whose text differs (EDITED, RESTORED)
    failed: int = 0  # pages and items that could not be read
    skipped: int = 0  # releases outside the span, or left to the checks

    @property
    def releases(self) -> int:
        return self.backfilled + self.stored + self.edited


@dataclass(frozen=True, slots=True)
class BackfillResult:
    source: str
    status: BackfillStatus
    progress: Progress
    requests: int = 0
    seconds: float = 0.0
    error: str | None = None
    finished_at: str | None = None  # of a backfill found finished (NOTHING_LEFT)


@dataclass(frozen=True, slots=True)
class PageDone:
    """A page of the archive walked and every release of it recorded: where to go on from."""

    position: Mapping[str, Any]
    walked: int
    total: int | None = None


Step = Observation | PageDone


def backfill(
    config: Config,
    source: SourceSpec,
    *,
    store: Store,
    fetcher: Fetcher,
    span: Span,
    restart: bool = False,
    clock: Clock = utc_now,
    stop: threading.Event | None = None,
    report: Callable[[Progress], None] = lambda progress: None,
) -> BackfillResult:
    began, now = time.monotonic(), clock()
    stop = stop or threading.Event()
    source_id, view = store.source_view(source.name, source.kind, now)
    saved = store.backfill_position(source_id) or {}
    if restart or saved.get("span") != span.key():
        saved = {"span": span.key()}
    elif saved.get("done"):
        return BackfillResult(
            source.name,
            BackfillStatus.NOTHING_LEFT,
            Progress(pages=int(saved.get("walked", 0)), total_pages=saved.get("total")),
            finished_at=saved.get("finished_at"),
        )
    # what was published since the source's last check is news, for the checks to find
    horizon = now if not view.baseline_done else (view.last_success_at or now)
    span_read = Span(span.since, min(span.until or horizon, horizon))
    auth = source.auth.pair() if source.auth else None
    session = fetcher.session(
        source.http, home=source.url, follow_hosts=source.follow_hosts, auth=auth
    )
    documents = fetcher.session(
        replace(source.http, max_bytes=attachments.MAX_BYTES),
        home=source.url,
        follow_hosts=source.follow_hosts,
        auth=auth,
    )
    budget = Budget(NO_DEADLINE, sys.maxsize)
    ctx = CheckContext(
        fetch=session,
        view=view,
        now=now,
        budget=budget,
        revisit=Revisit(now=now, cycle=source.every),  # no policy: every release is read
        log=log,
    )
    reader = AttachmentReader(documents, store, source_id, budget, clock)
    run = _Run(
        store,
        source_id,
        Recorder(config, store, source_id, view, clock, reader, judging=judge_backfilled),
        dict(saved),
        clock,
        report,
    )
    status, error = BackfillStatus.DONE, None
    try:
        for step in _walk(ctx, source, run.position, span_read):
            if isinstance(step, PageDone):
                run.page_done(step)
            if stop.is_set():  # between two releases (or two pages): nothing half-recorded
                raise Interrupted("stopping")
            if not isinstance(step, PageDone):
                _record(step, run.recorder, run.progress, span_read)
                report(run.progress)  # a slow page's releases show as they come
    except Interrupted:
        status = BackfillStatus.INTERRUPTED
    except ApiUnavailable as exc:
        status, error = BackfillStatus.FAILED, f"{exc}; a backfill reads WordPress by its API"
    except WatcherError as exc:
        status, error = BackfillStatus.FAILED, str(exc)
    finally:
        run.ended(done=status == BackfillStatus.DONE)
    return BackfillResult(
        source.name,
        status,
        run.progress,
        requests=session.requests + documents.requests,
        seconds=time.monotonic() - began,
        error=error,
    )


class _Run:
    """What one run of a backfill keeps as it goes: where it is, saved after every page."""

    def __init__(
        self,
        store: Store,
        source_id: int,
        recorder: Recorder,
        position: dict[str, Any],
        clock: Clock,
        report: Callable[[Progress], None],
    ) -> None:
        self.store, self.source_id, self.recorder = store, source_id, recorder
        self.position, self.clock, self.report = position, clock, report
        walked = int(position.get("walked", 0))
        self.progress = Progress(walked, position.get("total"), first_page=walked + 1)

    def page_done(self, step: PageDone) -> None:
        self.position.update(step.position, walked=step.walked, total=step.total)
        self._save_unchanged()
        self.store.save_backfill(self.source_id, self.position, self.clock())
        self.progress.pages, self.progress.total_pages = step.walked, step.total
        self.report(self.progress)

    def ended(self, *, done: bool) -> None:
        self._save_unchanged()
        if done:
            self.position.update(done=True, finished_at=f"{self.clock():%Y-%m-%d %H:%M} UTC")
            self.store.save_backfill(self.source_id, self.position, self.clock())
        self.report(self.progress)

    def _save_unchanged(self) -> None:
        """Releases found as stored were seen now (the revisit policy counts from then)."""
        self.store.save_unchanged(self.source_id, self.recorder.tally.unchanged, self.clock())
        self.recorder.tally.unchanged.clear()


def judge_backfilled(
    previous: Previous, *, snapshot: Any, now: datetime, baseline: bool
) -> Verdict:
    """As a check judges a reading, except that a release never stored is BACKFILLED (dated by
    its publication, as a baseline is): history, not news."""
    verdict = detect.detect(previous.version, previous.status, snapshot, now=now, baseline=True)
    if previous.version is None and verdict.change is not None:
        change = replace(verdict.change, kind=ChangeKind.BACKFILLED)
        return replace(verdict, change=change)
    return verdict


def _record(step: Observation, recorder: Recorder, progress: Progress, span: Span) -> None:
    """One observation of the walk recorded (one transaction per release), and counted."""
    match step:
        case Missing() | Cursor() | Listed() | HistoryRead():
            return  # removals and the checks' bookkeeping are the checks' own
        case Observed(snapshot) if not span.holds(snapshot.published):
            progress.skipped += 1
            return
        case PageFailed() | ItemFailed():
            progress.failed += 1
    counts = dict(recorder.tally.counts)
    failed = len(recorder.tally.failed_items)
    recorder.record(step)
    if not isinstance(step, Observed | Unchanged):
        return
    after = recorder.tally.counts
    if len(recorder.tally.failed_items) > failed:
        progress.failed += 1
    elif after[ChangeKind.BACKFILLED] > counts.get(ChangeKind.BACKFILLED, 0):
        progress.backfilled += 1
    elif sum(after.values()) > sum(counts.values()):
        progress.edited += 1
    else:
        progress.stored += 1


def _walk(
    ctx: CheckContext, source: SourceSpec, position: Mapping[str, Any], span: Span
) -> Iterator[Step]:
    if isinstance(source, WordPressSpec):
        return _wordpress(ctx, source, position, span)
    if isinstance(source, HtmlSpec):
        return _html(ctx, source, position)
    assert isinstance(source, FeedSpec)
    return _feed(ctx, source)


def _wordpress(
    ctx: CheckContext, spec: WordPressSpec, position: Mapping[str, Any], span: Span
) -> Iterator[Step]:
    """The REST API's posts, newest first, page by page to the last. `before` is fixed when the
    backfill begins, so that posts published meanwhile do not move the pages under it. Every
    post is compared in full: an edit that did not move its `modified_gmt` (which the checks
    trust) is found too, at no cost in requests (the answers carry the content anyway)."""
    wordpress = WordPressSource(spec)
    ctx = replace(ctx, view=_untrusted_dates(ctx.view))
    before = position.get("before") or _wp_bound(span.until or ctx.now)
    query = {
        **wordpress.archive_query(ctx),
        "orderby": "date",
        "order": "desc",
        "before": before,
        "_fields": POST_FIELDS,
    }
    if span.since is not None:  # `after` is strict, to the second
        query["after"] = _wp_bound(span.since - timedelta(seconds=1))
    walk = Walk(page=int(position.get("page", 1)))
    for answer in wordpress.api.pages(ctx, query, walk=walk):
        yield from wordpress.archived(ctx, answer.data)
        total = math.ceil(walk.total / PER_PAGE) if walk.total is not None else None
        yield PageDone({"page": walk.page, "before": before}, walk.page - 1, total)


def _html(ctx: CheckContext, spec: HtmlSpec, position: Mapping[str, Any]) -> Iterator[Step]:
    """The listing from where the backfill is, a page at a time: its articles are read and
    recorded before the next page is asked for. A "next" link back to a page walked ends it."""
    url: str | None = position.get("at", spec.url)
    seen: list[str] = list(position.get("seen", []))
    walked = int(position.get("walked", 0))
    while url and url not in seen:
        result = ctx.fetch.get(url)
        if isinstance(result, Gone | NotModified):  # no validators sent: never NotModified
            if walked == 0:
                raise SourceError(f"the listing page is gone: {url}")
            break
        listing = extract.listing(result, spec.selectors)
        if not listing.items:
            if walked == 0:
                raise ListingEmpty(
                    f"the listing {url} has no items matching {spec.selectors.item!r}"
                )
            break
        yield from read_articles(ctx, listing.items, spec.selectors)
        seen.append(url)
        walked += 1
        url = listing.next_url
        yield PageDone({"at": url, "seen": seen}, walked)


def _feed(ctx: CheckContext, spec: FeedSpec) -> Iterator[Step]:
    """What the feed holds, every page of it, read as a source's first check reads it."""
    whole = replace(ctx, view=_first_reading(ctx.view))
    walked = 0
    for observation in FeedSource(replace(spec, max_pages=0)).observe(whole):
        yield observation
        if isinstance(observation, PageState):
            walked += 1
            yield PageDone({}, walked)


def _untrusted_dates(view: SourceView) -> SourceView:
    releases = {key: replace(r, source_modified=None) for key, r in view.releases.items()}
    by_canonical = {r.canonical: r for r in releases.values()}
    return replace(view, releases=releases, by_canonical=by_canonical)


def _first_reading(view: SourceView) -> SourceView:
    """The source as its first check sees it: every feed page walked, nothing cached, and no
    release that left the feed to look for (that is the checks' work, not the archive's)."""
    releases = {key: replace(r, listed=False, missing_count=0) for key, r in view.releases.items()}
    by_canonical = {r.canonical: r for r in releases.values()}
    return replace(
        view,
        baseline_done=False,
        cursor={},
        derived={},
        releases=releases,
        by_canonical=by_canonical,
    )


def _wp_bound(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment is not None else ""
