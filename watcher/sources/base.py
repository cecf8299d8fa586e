"""What every source kind yields, and the article-page walk that html, feed and the WordPress
fallback share.

A source reads the site and yields observations; it never writes: `check.py` turns observations
into stored versions and changes, one transaction per release.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from watcher import extract
from watcher.errors import (
    ExtractError,
    FetchNetworkError,
    FetchTimeout,
    HttpStatusError,
    LimitReached,
    OffSite,
    ResponseTooLarge,
    SourceError,
)
from watcher.fetch import FetchSession
from watcher.models import (
    Gone,
    KnownRelease,
    NotModified,
    Origin,
    Page,
    ReleaseSnapshot,
    ReleaseStatus,
    SourceView,
    Validators,
)
from watcher.options import RevisitPolicy
from watcher.profiles import Selectors
from watcher.units import format_duration
from watcher.urls import canonical_url, host_key

_LONG_AGO = datetime.min.replace(tzinfo=UTC)
# After this many article pages fail in a row, the site is down or blocking: stop the check.
MAX_FAILURES_IN_A_ROW = 5


@dataclass(frozen=True, slots=True)
class Observed:
    """A release as read now, and the validators of the page it was read from (if any)."""

    snapshot: ReleaseSnapshot
    page_url: str | None = None
    validators: Validators | None = None
    baseline: bool = False  # part of a source's first walk of its history, whenever that is


@dataclass(frozen=True, slots=True)
class Unchanged:
    """A known release whose page or API record did not change (304, same bytes, same modified)."""

    key: str


@dataclass(frozen=True, slots=True)
class Missing:
    """A known release that was not there this time (404/410, or absent from an id sweep)."""

    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class Listed:
    """The canonical URLs a listing (or feed) showed this time, for the revisit policy."""

    canonicals: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PageState:
    """A listing page's validators and what was parsed from it, to skip parsing it again."""

    url: str
    validators: Validators
    derived: Any


@dataclass(frozen=True, slots=True)
class Cursor:
    """The source kind's own bookkeeping, saved when the check ends well."""

    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PageFailed:
    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class ItemFailed:
    """One post or feed item that could not be read (a malformed value); the others were."""

    item: str
    reason: str


@dataclass(frozen=True, slots=True)
class Incomplete:
    """A part of the check that must be whole to decide anything (an id sweep) was not: it
    decided nothing, and is done again at the next check."""

    reason: str


@dataclass(frozen=True, slots=True)
class HistoryRead:
    """Every release the source's listing shows has been read once: whatever is found from now
    on is news, even if this check is cut short by its limits."""


@dataclass(frozen=True, slots=True)
class Note:
    """Something the user should read in the log and in `watcher status` (e.g. falling back
    from the REST API)."""

    message: str


Observation = (
    Observed
    | Unchanged
    | Missing
    | Listed
    | PageState
    | Cursor
    | PageFailed
    | ItemFailed
    | Incomplete
    | HistoryRead
    | Note
)


class Budget:
    """What is left of one check's `check_deadline` and `check_max_pages`: a site that never
    stops paging, or answers slowly forever, cannot hold a check (and a worker) for ever."""

    def __init__(
        self,
        deadline: timedelta,
        max_pages: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.deadline = deadline
        self.max_pages = max_pages
        self.clock = clock
        self.ends = clock() + deadline.total_seconds()
        self.pages = 0

    def page(self) -> None:
        """Before each listing, feed or API page."""
        self.in_time()
        if self.pages >= self.max_pages:
            raise LimitReached(
                f"stopped after {self.max_pages} listing or API pages (check_max_pages); "
                "the next check goes on from there"
            )
        self.pages += 1

    def has_time(self) -> bool:
        """Whether there is time left for more (attachments, which never cut a check short)."""
        return self.clock() < self.ends

    def in_time(self) -> None:
        """Before each article page, and each listing page."""
        if self.clock() >= self.ends:
            raise LimitReached(
                f"stopped at check_deadline ({format_duration(self.deadline)}); "
                "the next check goes on from there"
            )


@dataclass(frozen=True)
class Revisit:
    """Which known releases (and listing pages) a check reads again; `policy` None reads every
    one (`watcher check --all-releases`, and a source's first walk)."""

    now: datetime
    cycle: timedelta  # the source's `every`: what is due within it is read now
    policy: RevisitPolicy | None = None

    def due(self, known: KnownRelease) -> bool:
        policy = self.policy
        if policy is None or known.status != ReleaseStatus.ACTIVE or known.missing_count:
            return True  # a removal, or a release back, is confirmed at once
        born = known.published or known.first_seen
        if born is not None and self.now - born < policy.fresh:
            return True
        changed = known.last_changed
        if known.versions > 1 and changed is not None and self.now - changed < policy.fresh:
            return True  # edited lately: edited again, often
        return self.ripe(known.last_seen)

    def ripe(self, last: datetime | None) -> bool:
        """Whether what was last done at `last` (a release read, a deep listing walk) is due."""
        if self.policy is None or last is None:
            return True
        return self.now - last >= self.policy.every - self.cycle

    def filtered(self, view: SourceView, urls: Iterable[str]) -> list[str]:
        """The listing's URLs a check reads: the unknown, and the known that are due."""
        kept = []
        for url in urls:
            known = view.known_url(canonical_url(url))
            if known is None or self.due(known):
                kept.append(url)
        return kept


@dataclass
class CheckContext:
    fetch: FetchSession
    view: SourceView
    now: datetime
    budget: Budget
    revisit: Revisit
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("watcher.check"))


class Source(Protocol):
    def observe(self, ctx: CheckContext) -> Iterator[Observation]: ...


@dataclass(frozen=True, slots=True)
class Cached:
    """What was parsed from a listing or feed page last time; its bytes have not changed."""

    derived: Any


def sweep_due(ctx: CheckContext, every: timedelta) -> bool:
    """Whether this check looks for removals in full (see `sweep_every`)."""
    last = ctx.view.cursor.get("last_sweep")
    return last is None or ctx.now - datetime.fromisoformat(last) >= every


def fetch_listing(ctx: CheckContext, url: str, *, conditional: bool = True) -> Page | Cached | Gone:
    """A listing or feed page, asked for conditionally when what was parsed from it is kept,
    and not parsed again when its bytes did not change.

    A sweep asks unconditionally: WordPress dates a feed by its newest published change, so a
    trashed post vanishes from the feed while the feed still answers 304."""
    ctx.budget.page()
    previous = ctx.view.validators.get(url)
    cached = ctx.view.derived.get(url)
    send = previous if cached is not None and conditional else None
    result = ctx.fetch.get(url, validators=send)
    if isinstance(result, Gone):
        return result
    if cached is not None and (isinstance(result, NotModified) or result.unchanged_since(previous)):
        return Cached(cached)
    if isinstance(result, NotModified):
        raise SourceError(f"unexpected 304 to an unconditional request: {url}")
    return result


PAGE_ERRORS = (
    FetchTimeout, FetchNetworkError, HttpStatusError, ResponseTooLarge, OffSite, ExtractError,
)  # fmt: skip


def read_articles(
    ctx: CheckContext,
    urls: Iterable[str],
    selectors: Selectors,
    *,
    wp_ids: Mapping[str, int] | None = None,
    existence_only: bool = False,
    history: bool = False,
) -> Iterator[Observation]:
    """Fetch each article page conditionally; parse only pages whose bytes changed.

    `wp_ids` are post ids known from elsewhere (a feed's guid) for pages that may not name
    their own. With `existence_only`, a page only tells whether the release is still there
    (its content comes from elsewhere, such as a feed). A page that fails is reported and
    skipped; a challenge page, a Retry-After deferral or a robots refusal ends the whole check
    (the site is telling us to stop). With `history` (the URLs are a whole listing), a
    HistoryRead is yielded once every release never read before has been tried."""
    failures_in_a_row = 0  # of pages read before: the site may be down
    elsewhere: dict[str, int] = {}
    ordered = _reading_order(ctx.view, urls)
    never_read = sum(1 for url in ordered if ctx.view.known_url(canonical_url(url)) is None)
    for position, url in enumerate(ordered):
        if history and position == never_read:
            yield HistoryRead()
        if not ctx.fetch.follows(url):
            elsewhere[host_key(url)] = elsewhere.get(host_key(url), 0) + 1
            continue
        ctx.budget.in_time()
        known = ctx.view.known_url(canonical_url(url))
        try:
            yield from _read_page(ctx, url, known, selectors, wp_ids or {}, existence_only)
        except PAGE_ERRORS as exc:
            if known is not None and _site_down(exc):
                failures_in_a_row += 1
            yield PageFailed(url, str(exc))
            if failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                raise SourceError(
                    f"{failures_in_a_row} pages failed in a row, last: {exc}"
                ) from exc
            continue
        failures_in_a_row = 0
    if history and never_read == len(ordered):
        yield HistoryRead()
    if elsewhere:
        hosts = ", ".join(sorted(elsewhere))
        yield Note(
            f"{sum(elsewhere.values())} item(s) on other hosts not read ({hosts}); "
            "add a host to follow_hosts to read its pages"
        )


def _read_page(
    ctx: CheckContext,
    url: str,
    known: KnownRelease | None,
    selectors: Selectors,
    wp_ids: Mapping[str, int],
    existence_only: bool,
) -> Iterator[Observation]:
    """What one article page says of its release (raises what PAGE_ERRORS name)."""
    # A removed release is read in full: the same bytes as before are then news (restored).
    active = known is not None and known.status == ReleaseStatus.ACTIVE
    previous = ctx.view.validators.get(url) if active else None
    result = ctx.fetch.get(url, validators=previous)
    if isinstance(result, Gone):
        if known is not None:
            yield Missing(known.key, f"HTTP {result.status}")
        return
    if (
        isinstance(result, NotModified)
        or result.unchanged_since(previous)
        or (existence_only and known is not None)
    ):
        if known is not None:
            yield Unchanged(known.key)
        return
    parts = extract.article(result, selectors)
    if not parts.is_article:
        # A removed release often redirects to the home page or a listing.
        if known is not None:
            yield Missing(known.key, f"now a listing, not an article: {result.final_url}")
        return
    wp_id = parts.wp_id or wp_ids.get(url) or (known.wp_id if known else None)
    snapshot = extract.snapshot(
        url=result.final_url,
        title=parts.title,
        published=parts.published,
        text=parts.text,
        html=parts.html,
        attachments=parts.attachments,
        origin=Origin.PAGE,
        wp_id=wp_id,
    )
    yield Observed(snapshot, url, result.validators)


def _site_down(error: Exception) -> bool:
    """Whether a page's failure may mean the whole site is down or blocking: a page that
    answered (another template, members only, not ours to read) says nothing of the others."""
    if isinstance(error, HttpStatusError):
        return error.status >= 500
    return isinstance(error, FetchTimeout | FetchNetworkError)


def walked_on(
    ctx: CheckContext,
    reading: Iterable[Observation],
    cursor: Mapping[str, Any],
    *,
    history: bool,
) -> Iterator[Observation]:
    """The reading of a listing's articles (`read_articles(..., history=True)`), with the
    cursor of how far the listing was walked, saved once every release never read before has
    been tried: cut short earlier, the next check walks the same pages again and reads first
    what it did not get to. `history`: the walk reached the listing's end (over one check or
    several), so that once they are read, everything found later is news.

    A page of the history that could not be read is noted in the cursor (`history_pending`):
    read later, it still enters the history, silently."""
    pending = set(cursor.get("history_pending", ()))
    failed: set[str] = set()
    for observation in reading:
        match observation:
            case Observed(snapshot, page_url) if canonical_url(page_url or snapshot.url) in pending:
                pending.discard(canonical_url(page_url or snapshot.url))
                yield replace(observation, baseline=True)
                continue
            case PageFailed(url) if not ctx.view.baseline_done:
                if ctx.view.known_url(canonical_url(url)) is None:
                    failed.add(canonical_url(url))
            case HistoryRead():
                tried = {**cursor, "history_pending": sorted(pending | failed)}
                if not tried["history_pending"]:
                    del tried["history_pending"]
                yield Cursor(tried)
                if history:
                    yield observation
                continue
        yield observation


def _reading_order(view: SourceView, urls: Iterable[str]) -> list[str]:
    """Releases never read first, then the known ones, those looked at longest ago first:
    a check cut short by its deadline goes on at the next check where it stopped, and the
    news comes first."""

    def last_seen(url: str) -> tuple[bool, datetime]:
        known = view.known_url(canonical_url(url))
        if known is None:
            return False, _LONG_AGO
        return True, known.last_seen or _LONG_AGO

    return sorted(urls, key=last_seen)  # stable: in the listing's order otherwise


def to_read(ctx: CheckContext, listed: Iterable[str], *, whole: bool) -> list[str]:
    """The article pages a check reads: the listing's, those the revisit policy says are due;
    and, after a whole walk, the releases that left the listing (or were missing last time),
    whatever the policy, until each is confirmed gone or there."""
    unique = list(dict.fromkeys(listed))
    chosen = ctx.revisit.filtered(ctx.view, unique)
    if whole:
        shown = set(unique)
        chosen += [url for url in revisit_order(ctx.view, unique) if url not in shown]
    return chosen


def revisit_order(view: SourceView, listed: Iterable[str]) -> list[str]:
    """The listing's URLs, then releases that left the listing since the last check or that
    were missing last time: a removed release vanishes from its listing, so its page is asked
    for again until it is confirmed gone (or back)."""
    urls = dict.fromkeys(listed)
    canonicals = {canonical_url(url) for url in urls}
    for release in view.releases.values():
        if release.status != ReleaseStatus.ACTIVE or release.canonical in canonicals:
            continue
        if release.listed or release.missing_count > 0:
            urls[release.url] = None
    return list(urls)
