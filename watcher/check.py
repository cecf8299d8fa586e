"""One check of one source: fetch -> extract -> detect -> store, one transaction per release.

A source's failure is recorded as a failed check with a one-line reason; it never escapes to the
caller, so the daemon keeps running and other sources are unaffected.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from watcher import attachments, detect
from watcher.check_attachments import AttachmentReader, has_readable
from watcher.errors import Deferred, Interrupted, LimitReached, SourceError, WatcherError
from watcher.fetch import Fetcher
from watcher.linking import Linker, copies_watched
from watcher.models import (
    AttachmentState,
    Change,
    ChangeKind,
    CheckResult,
    CheckStatus,
    HealthKind,
    ReleaseSnapshot,
    SourceView,
    Verdict,
)
from watcher.options import Config, SourceSpec
from watcher.sources import make_source
from watcher.sources.base import (
    Budget,
    CheckContext,
    Cursor,
    HistoryRead,
    Incomplete,
    ItemFailed,
    Listed,
    Missing,
    Note,
    Observation,
    Observed,
    PageFailed,
    PageState,
    Revisit,
    Unchanged,
)
from watcher.store import Store
from watcher.store.checks import Previous
from watcher.store.tables import unstorable_url
from watcher.topics import Topic, match
from watcher.urls import canonical_url

log = logging.getLogger("watcher.check")

Clock = Callable[[], datetime]
# what a reading means, given what is stored: `judge` below, or a backfill's
Judge = Callable[..., Verdict]
MAX_BACKOFF = timedelta(hours=6)


def utc_now() -> datetime:
    return datetime.now(UTC)


def check_source(
    config: Config,
    source: SourceSpec,
    *,
    store: Store,
    fetcher: Fetcher,
    clock: Clock = utc_now,
    stop: threading.Event | None = None,
    all_releases: bool = False,
    runner: str | None = None,
) -> CheckResult:
    started = clock()
    began = time.monotonic()
    deferred, failures = store.deferred_until(source.name)
    if deferred is not None and deferred > started:
        why = f"backing off after {failures} failed checks" if failures else "Retry-After"
        result = CheckResult(
            source.name,
            CheckStatus.DEFERRED,
            started,
            0.0,
            0,
            error=f"waiting until {deferred:%Y-%m-%d %H:%M} UTC ({why})",
        )
        _log(result)
        return result
    source_id, view = store.source_view(source.name, source.kind, started)
    session = fetcher.session(
        source.http,
        home=source.url,
        follow_hosts=source.follow_hosts,
        auth=source.auth.pair() if source.auth else None,
    )
    # attachments apart: their own size cap, and their requests counted on their own
    documents = fetcher.session(
        replace(source.http, max_bytes=attachments.MAX_BYTES),
        home=source.url,
        follow_hosts=source.follow_hosts,
        auth=source.auth.pair() if source.auth else None,
    )
    budget = Budget(source.check_deadline, source.check_max_pages)
    # a source's first walk, or an operator's "verify everything now", reads every release
    policy = None if all_releases or not view.baseline_done else source.revisit
    revisit = Revisit(now=started, cycle=source.every, policy=policy)
    ctx = CheckContext(
        fetch=session, view=view, now=started, log=log, budget=budget, revisit=revisit
    )
    reader = AttachmentReader(documents, store, source_id, budget, clock)
    recorder = Recorder(config, store, source_id, view, clock, reader)
    ended: Exception | None = None
    store.check_started(source_id, started)
    try:
        for observation in make_source(source).observe(ctx):
            if stop is not None and stop.is_set():
                raise Interrupted("stopping")
            recorder.record(observation)
        for key in reader.due(view, revisit, recorder.attached):
            if (stop is not None and stop.is_set()) or not budget.has_time():
                break
            recorder.attachments_again(key)
    except WatcherError as exc:
        ended = exc
    except Exception as exc:  # a bug or a shape nobody foresaw must not take the daemon down
        log.exception("%s: unexpected error", source.name)
        ended = exc
    finally:
        store.save_unchanged(source_id, recorder.tally.unchanged, clock())
    outcome = decide(recorder.tally, ended)
    deferred_until = clock() + outcome.retry_after if outcome.retry_after else None
    if outcome.status == CheckStatus.FAILED and not outcome.read:
        # a site that cannot be read is asked less often; a few broken pages slow nothing
        pause = backoff(source.every, view.consecutive_failures + 1)
        deferred_until = clock() + pause if pause else None
    tally = recorder.tally
    result = CheckResult(
        source=source.name,
        status=outcome.status,
        started_at=started,
        seconds=time.monotonic() - began,
        requests=session.requests,
        not_modified=session.not_modified,
        counts=dict(tally.counts),
        failed_pages=tally.failed_pages,
        error=outcome.error,
        notes=outcome.notes,
        failed_items=len(tally.failed_items),
        attachment_requests=documents.requests,
    )
    store.finish_check(
        source_id,
        result,
        finished_at=clock(),
        cursor=tally.cursor if outcome.keep_progress else None,
        listed=_still_listed(tally, view, cut_short=outcome.cut_short)
        if outcome.keep_progress
        else None,
        baseline_done=outcome.baseline_done,
        deferred_until=deferred_until,
        runner=runner,
    )
    result = replace(result, runner=runner)
    _log(result)
    if _report_health(config, store, source_id, view, result, outcome.read, clock()):
        result = replace(result, health_changed=True)
    return result


@dataclass
class Tally:
    """What the observations of one check add up to."""

    counts: Counter[ChangeKind] = field(default_factory=Counter)
    unchanged: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # releases read (or found unchanged)
    missing: set[str] = field(default_factory=set)  # releases found missing
    failed_pages: int = 0
    first_page_failure: str = ""
    # each item that could not be read, once (a post can fail in the look-back and the sweep)
    failed_items: dict[str, str] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)  # parts that decided nothing
    notes: dict[str, None] = field(default_factory=dict)  # in order, each once
    cursor: Mapping[str, Any] | None = None
    listed: tuple[str, ...] | None = None
    history_read: bool = False  # every release the listing shows was read once

    def fold(self, observation: Observation, source: str) -> None:
        """What an observation that writes nothing tells of the check."""
        match observation:
            case Listed(canonicals):
                self.listed = canonicals
            case Cursor(values):
                self.cursor = values
            case PageFailed(_, reason):
                self.failed_pages += 1
                self.first_page_failure = self.first_page_failure or reason
                log.warning("%s: %s", source, reason)
            case ItemFailed(item, reason) if item not in self.failed_items:
                self.failed_items[item] = reason
                log.warning("%s: %s: %s", source, item, reason)
            case Incomplete(reason):
                self.incomplete.append(reason)
                log.warning("%s: %s", source, reason)
            case HistoryRead():
                self.history_read = True
            case Note(message) if message not in self.notes:
                self.notes[message] = None
                log.warning("%s: %s", source, message)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: CheckStatus
    error: str | None = None
    read: bool = False  # the site could be read (else: backed off, and in time unhealthy)
    keep_progress: bool = False  # the cursor and the listing are kept
    baseline_done: bool = False  # what is found from now on is news
    cut_short: bool = False  # by the check's deadline or page limit
    retry_after: timedelta | None = None  # the server asked to wait this long
    notes: tuple[str, ...] = ()


def decide(tally: Tally, ended: Exception | None) -> Outcome:
    """The outcome of a check, from what it observed and how its walk ended (None: the end,
    LimitReached: its deadline or page limit)."""
    notes = list(tally.notes)
    if tally.failed_items:
        item, reason = next(iter(tally.failed_items.items()))
        notes.append(
            f"{len(tally.failed_items)} item(s) failed, the others were read; "
            f"first: {item}: {reason}"
        )
    match ended:
        case Deferred(retry_after=wait):
            return Outcome(CheckStatus.DEFERRED, str(ended), retry_after=wait, notes=tuple(notes))
        case Interrupted():
            return Outcome(CheckStatus.INTERRUPTED, "stopped before the end", notes=tuple(notes))
        case SourceError():
            return Outcome(CheckStatus.FAILED, str(ended), notes=tuple(notes))
        case LimitReached():
            notes.append(str(ended))
        case Exception():
            error = f"unexpected error: {type(ended).__name__}: {ended}"
            return Outcome(CheckStatus.FAILED, error, notes=tuple(notes))
    if tally.failed_pages and not tally.seen:
        # nothing of the site could be read (a new article template, say): not a reading
        # of it, so neither a baseline nor a success, and paused as a site that is down
        error = (
            f"no page could be read ({tally.failed_pages} failed); "
            f"first: {tally.first_page_failure}"
        )
        return Outcome(CheckStatus.FAILED, error, notes=tuple(notes))
    problems = list(tally.incomplete)
    if tally.failed_pages:
        problems.append(
            f"{tally.failed_pages} page(s) failed, the others were read; "
            f"first: {tally.first_page_failure}"
        )
    return Outcome(
        CheckStatus.FAILED if problems else CheckStatus.OK,
        "; ".join(problems) or None,
        read=True,
        keep_progress=True,
        # once every release the source lists has been read once (over one check or several,
        # whatever cut them short), what is found is news
        baseline_done=tally.history_read,
        cut_short=isinstance(ended, LimitReached),
        notes=tuple(notes),
    )


class Recorder:
    """Stores each observation as it comes (one transaction per release) and tallies it.
    Detection runs inside the store's transaction, through `judge` below (a backfill gives its
    own, which names what was not stored BACKFILLED)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        source_id: int,
        view: SourceView,
        clock: Clock,
        reader: AttachmentReader,
        judging: Judge | None = None,
    ) -> None:
        self.config = config
        self.judge: Judge = judging or judge
        self.reader = reader
        self.attached: set[str] = set()  # releases whose attachments this check read
        self.store = store
        self.source_id = source_id
        self.view = view
        self.clock = clock
        self.baseline = not view.baseline_done
        self.tally = Tally()
        self.linker = Linker(config) if copies_watched(config) else None

    def record(self, observation: Observation) -> None:
        match observation:
            case Observed(snapshot) if reason := unstorable_url(
                snapshot.url, snapshot.key, canonical_url(snapshot.url)
            ):
                self.tally.fold(ItemFailed(f"{snapshot.url[:60]}...", reason), self.view.name)
            case Observed():
                self._observed(observation)
            case Unchanged(key):
                self._unchanged(key)
            case Missing(key, reason):
                self._missing(key, reason)
            case PageState(url, validators, derived):
                self.store.save_page_state(self.source_id, url, validators, derived, self.clock())
            case _:
                self.tally.fold(observation, self.view.name)

    def _observed(self, observed: Observed, *, seen: bool = True) -> None:
        """A reading, its attachments read, judged against what is stored (`judge`, in the
        store's transaction). Not `seen`: only the attachments were read again."""
        snapshot, now = observed.snapshot, self.clock()
        asked: list[AttachmentState] = []
        if has_readable(snapshot):
            states = self.store.attachment_states(self.source_id, snapshot)
            snapshot, asked, failed = self.reader.complete(snapshot, states)
            for failure in failed:
                self.tally.fold(failure, self.view.name)
        self.attached.add(snapshot.key)
        baseline = self.baseline or observed.baseline
        verdict = self.store.record_observed(
            self.source_id,
            snapshot,
            partial(self.judge, snapshot=snapshot, now=now, baseline=baseline),
            now=now,
            page_url=observed.page_url,
            validators=observed.validators,
            topics=topic_matches(self.config.topics, snapshot),
            attachment_states=asked,
            seen=seen,
            link=self.linker,
            source=self.view.name,
        )
        if seen:
            self.tally.seen.add(snapshot.key)
        if verdict.change is not None:
            self.tally.counts[verdict.change.kind] += 1
            _log_change(self.view.name, verdict.change)
        for other in verdict.others:
            self.tally.counts[other.change.kind] += 1
            _log_change(self.view.name, other.change)

    def attachments_again(self, key: str) -> None:
        """A known release's attachments asked for again, its page not read: the release as
        stored, with what they say now."""
        stored = self.store.latest_snapshot(self.source_id, key)
        if stored is not None:
            self._observed(Observed(stored), seen=False)

    def _unchanged(self, key: str) -> None:
        self.tally.seen.add(key)
        known = self.view.releases.get(key)
        if known is not None and known.missing_count:
            self.store.save_unchanged(
                self.source_id, [key], self.clock()
            )  # a miss in a row no more
        else:
            self.tally.unchanged.append(key)

    def _missing(self, key: str, reason: str) -> None:
        if key in self.tally.seen:
            return  # read under another URL in this very check
        now = self.clock()
        change = self.store.record_missing(
            self.source_id, key, partial(detect.missing, now=now), now
        )
        self.tally.missing.add(key)
        log.info("%s: %s missing (%s)", self.view.name, key, reason)
        if change is not None:
            self.tally.counts[change.kind] += 1
            _log_change(self.view.name, change)


def _still_listed(tally: Tally, view: SourceView, *, cut_short: bool) -> tuple[str, ...] | None:
    """What the listing showed, to keep. A release that left it is looked at again by the next
    checks until it is confirmed gone or there; a check cut short before it got to one keeps
    it as listed, so that the next check still looks."""
    if tally.listed is None or not cut_short:
        return tally.listed
    handled = tally.seen | tally.missing
    pending = (r.canonical for r in view.releases.values() if r.listed and r.key not in handled)
    return (*tally.listed, *pending)


def backoff(every: timedelta, failures: int) -> timedelta:
    """After the second failure in a row, checks are skipped: 1, 3, 7, 15... intervals, at most
    MAX_BACKOFF, so a site that is down is not asked every few minutes for days."""
    if failures < 2:
        return timedelta()
    pause: timedelta = every * (2 ** min(failures - 1, 10) - 1)
    return min(pause, max(MAX_BACKOFF, every))


def _report_health(
    config: Config,
    store: Store,
    source_id: int,
    view: SourceView,
    result: CheckResult,
    completed: bool,
    now: datetime,
) -> bool:
    """A source that could not be read (failing, or told to wait) for longer than
    `health.unhealthy_after` is reported once, and once more when it works again. Returns
    whether something was reported."""
    unreadable = result.status in (CheckStatus.FAILED, CheckStatus.DEFERRED) and not completed
    if unreadable and view.unhealthy_since is None:
        since = view.last_success_at or view.created_at
        if since is not None and now - since >= config.health.unhealthy_after:
            when = f"{since:%Y-%m-%d %H:%M} UTC"
            message = (
                f"failing since {when} ({view.consecutive_failures + 1} checks): {result.error}"
            )
            store.record_health(source_id, result.source, HealthKind.UNHEALTHY, message, now)
            log.warning("%s: unhealthy, %s", result.source, message)
            return True
    elif result.status == CheckStatus.OK and view.unhealthy_since is not None:
        message = f"working again (unhealthy since {view.unhealthy_since:%Y-%m-%d %H:%M} UTC)"
        store.record_health(source_id, result.source, HealthKind.RECOVERED, message, now)
        log.info("%s: recovered", result.source)
        return True
    return False


def topic_matches(
    topics: Mapping[str, Topic], snapshot: ReleaseSnapshot
) -> dict[str, tuple[str, ...]]:
    """The topics a reading is in, and the terms that put it there."""
    found = {}
    for name, topic in topics.items():
        matched = match(topic, title=snapshot.title, body=snapshot.text)
        if matched is not None:
            found[name] = matched.terms
    return found


def judge(
    previous: Previous, *, snapshot: ReleaseSnapshot, now: datetime, baseline: bool
) -> Verdict:
    return detect.detect(previous.version, previous.status, snapshot, now=now, baseline=baseline)


def _log_change(source: str, change: Change) -> None:
    """One line per change found, its fields apart in JSON logs. A first check's releases (its
    baseline: the archive as it stands, not news) only with `-v`."""
    level = logging.DEBUG if change.baseline else logging.INFO
    fields = {"kind": str(change.kind), "source": source, "title": change.title, "url": change.url}
    log.log(
        level,
        'change %s: %s "%s" <%s>',
        source,
        change.kind,
        change.title,
        change.url,
        extra=fields,
    )


def _log(result: CheckResult) -> None:
    counts = ", ".join(
        f"{result.count(kind)} {kind}"
        for kind in (ChangeKind.NEW, ChangeKind.EDITED, ChangeKind.REMOVED)
    )
    for kind in (ChangeKind.RESTORED, ChangeKind.ALSO_PUBLISHED, ChangeKind.DIVERGED):
        if result.count(kind):
            counts += f", {result.count(kind)} {kind.value.replace('_', ' ')}"
    line = (
        f"check {result.source}: {result.status}, {counts}, "
        f"{result.requests} requests, {result.seconds:.1f} s"
    )
    if result.attachment_requests:  # on the same line, apart: pages are what checks cost most
        line = line.replace(
            " requests, ", f" requests, {result.attachment_requests} attachment requests, ", 1
        )
    if result.error:
        line += f": {result.error}"
    if result.notes:
        line += f" ({'; '.join(result.notes)})"
    level = logging.INFO if result.status == CheckStatus.OK else logging.WARNING
    log.log(level, line)
