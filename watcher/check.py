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
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from watcher import detect
from watcher.config import Config, SourceConfig
from watcher.errors import Deferred, Interrupted, SourceError
from watcher.fetch import Fetcher
from watcher.models import (
    ChangeKind,
    CheckResult,
    CheckStatus,
    HealthKind,
    ReleaseSnapshot,
    SourceView,
    Verdict,
)
from watcher.sources import make_source
from watcher.sources.base import (
    CheckContext,
    Cursor,
    Listed,
    Missing,
    Note,
    Observed,
    PageFailed,
    PageState,
    Unchanged,
)
from watcher.store import Store
from watcher.store.checks import Previous
from watcher.topics import Topic, match

log = logging.getLogger("watcher.check")

Clock = Callable[[], datetime]
MAX_BACKOFF = timedelta(hours=6)


def utc_now() -> datetime:
    return datetime.now(UTC)


def check_source(
    config: Config,
    source: SourceConfig,
    *,
    store: Store,
    fetcher: Fetcher,
    clock: Clock = utc_now,
    stop: threading.Event | None = None,
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
    source_id, view = store.source_view(source.name, source.type, started)
    session = fetcher.session(source.http_settings(config.settings.http))
    ctx = CheckContext(fetch=session, view=view, now=started, log=log)
    counts: Counter[ChangeKind] = Counter()
    unchanged: list[str] = []
    seen: set[str] = set()  # releases read (or found unchanged) in this check
    failed_pages, first_page_failure = 0, ""
    notes: list[str] = []
    cursor: Mapping[str, Any] | None = None
    listed: tuple[str, ...] | None = None
    status, error, deferred_until = CheckStatus.OK, None, None
    completed = False
    baseline = not view.baseline_done
    try:
        for observation in make_source(source).observe(ctx):
            if stop is not None and stop.is_set():
                raise Interrupted("stopping")
            now = clock()
            match observation:
                case Observed(snapshot, page_url, validators, in_history):
                    verdict = store.record_observed(
                        source_id,
                        snapshot,
                        partial(judge, snapshot=snapshot, now=now, baseline=baseline or in_history),
                        now=now,
                        page_url=page_url,
                        validators=validators,
                        topics=topic_matches(config.topics, snapshot),
                    )
                    seen.add(snapshot.key)
                    if verdict.change is not None:
                        counts[verdict.change.kind] += 1
                        log.debug("%s: %s %s", source.name, verdict.change.kind, snapshot.url)
                case Unchanged(key):
                    seen.add(key)
                    known = view.releases.get(key)
                    if known is not None and known.missing_count:
                        store.save_unchanged(source_id, [key], now)  # a miss in a row no more
                    else:
                        unchanged.append(key)
                case Missing(key, reason):
                    if key in seen:
                        continue  # read under another URL in this very check
                    change = store.record_missing(
                        source_id, key, partial(detect.missing, now=now), now
                    )
                    if change is not None:
                        counts[change.kind] += 1
                    log.info("%s: %s missing (%s)", source.name, key, reason)
                case PageState(url, validators, derived):
                    store.save_page_state(source_id, url, validators, derived, now)
                case Listed(canonicals):
                    listed = canonicals
                case Cursor(values):
                    cursor = values
                case PageFailed(url, reason):
                    failed_pages += 1
                    first_page_failure = first_page_failure or reason
                    log.warning("%s: %s", source.name, reason)
                case Note(message):
                    notes.append(message)
                    log.warning("%s: %s", source.name, message)
        completed = True
        if failed_pages and seen:
            status = CheckStatus.FAILED
            error = (
                f"{failed_pages} page(s) failed, the others were read; first: {first_page_failure}"
            )
        elif failed_pages:
            # nothing of the site could be read (a new article template, say): not a reading
            # of it, so neither a baseline nor a success, and paused as a site that is down
            status, completed = CheckStatus.FAILED, False
            error = f"no page could be read ({failed_pages} failed); first: {first_page_failure}"
    except Deferred as exc:
        status, error = CheckStatus.DEFERRED, str(exc)
        deferred_until = clock() + exc.retry_after
    except Interrupted:
        status, error = CheckStatus.INTERRUPTED, "stopped before the end"
    except SourceError as exc:
        status, error = CheckStatus.FAILED, str(exc)
    except Exception as exc:  # a bug or a shape nobody foresaw must not take the daemon down
        log.exception("%s: unexpected error", source.name)
        status, error = CheckStatus.FAILED, f"unexpected error: {type(exc).__name__}: {exc}"
    finally:
        store.save_unchanged(source_id, unchanged, clock())
    if status == CheckStatus.FAILED and not completed:
        # a site that cannot be read is asked less often; a few broken pages slow nothing
        pause = backoff(source.every, view.consecutive_failures + 1)
        deferred_until = clock() + pause if pause else None
    result = CheckResult(
        source=source.name,
        status=status,
        started_at=started,
        seconds=time.monotonic() - began,
        requests=session.requests,
        not_modified=session.not_modified,
        counts=dict(counts),
        failed_pages=failed_pages,
        error=error,
        notes=tuple(notes),
    )
    store.finish_check(
        source_id,
        result,
        finished_at=clock(),
        cursor=cursor,
        listed=listed,
        completed=completed,
        deferred_until=deferred_until,
    )
    _log(result)
    if _report_health(config, store, source_id, view, result, completed, clock()):
        result = replace(result, health_changed=True)
    return result


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
        if since is not None and now - since >= config.settings.health.unhealthy_after:
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


def _log(result: CheckResult) -> None:
    counts = ", ".join(
        f"{result.count(kind)} {kind}"
        for kind in (ChangeKind.NEW, ChangeKind.EDITED, ChangeKind.REMOVED)
    )
    restored = result.count(ChangeKind.RESTORED)
    if restored:
        counts += f", {restored} restored"
    line = (
        f"check {result.source}: {result.status}, {counts}, "
        f"{result.requests} requests, {result.seconds:.1f} s"
    )
    if result.error:
        line += f": {result.error}"
    level = logging.INFO if result.status == CheckStatus.OK else logging.WARNING
    log.log(level, line)
