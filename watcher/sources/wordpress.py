"""A WordPress site through its REST API, with the category feeds and article pages as fallback.

REST API (https://developer.wordpress.org/rest-api/reference/posts/, read through wp_api.py):
- category slugs are resolved once through /wp/v2/categories?slug=... and cached;
- a baseline notes the newest `modified_gmt`, then pages through the posts newest first
  (`orderby=date&order=desc`, 100 a page), going on at the next check if it is cut short;
- later checks list the ids and `modified_gmt` of the posts modified since the newest one seen
  (looking back an hour more: see OVERLAP), and read in full (`include=`) only those new or
  moved, so a check that finds nothing costs one small request; a post that cannot be read is
  read again at every check until it can be;
- removals cannot show in `modified_after`: every `sweep_every` the ids of all posts are listed and
  compared, and ids that appear without a modification (scheduled posts, restores) are fetched.
  Only a whole list removes anything; one longer than a check can walk goes on at the next.

When the API does not answer usefully (403, 404, HTML instead of JSON, a challenge page) the check
reads the category feeds (`content:encoded`) and article pages instead, and says so in the log.
Both paths read the same markup (`the_content`), so switching never creates an edit.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from watcher import extract
from watcher.errors import (
    ApiUnavailable,
    ExtractError,
    HttpStatusError,
    IncompleteWalk,
    LimitReached,
    ListingEmpty,
    ResponseTooLarge,
    SourceError,
)
from watcher.models import KnownRelease, Origin, ReleaseStatus
from watcher.options import WordPressSpec
from watcher.sources.base import (
    CheckContext,
    Cursor,
    HistoryRead,
    Incomplete,
    ItemFailed,
    Missing,
    Note,
    Observation,
    Observed,
    Unchanged,
    sweep_due,
)
from watcher.sources.wp_api import (
    PER_PAGE,
    POSTS,
    Malformed,
    Walk,
    WordPressApi,
    capped,
    describe,
    post_id,
    rendered,
    short,
    wp_time,
)
from watcher.sources.wp_feeds import through_feeds
from watcher.urls import is_web_url, release_key

POST_FIELDS = "id,date_gmt,modified_gmt,link,title,content"
# modified_after is strict and second-granular, and WordPress compares it in site time, in which
# the hour before a fall-back to winter time happens twice: an edit in the second pass can read
# as older than the watermark. Look back past that hour; skip what did not move.
OVERLAP = timedelta(minutes=61)
API_RETRY = timedelta(hours=1)  # after a fallback, how long before the API is tried again
# A modified_gmt this recent may be shared by an edit later in the same second: not trusted.
FRESH = timedelta(seconds=2)
EPOCH = "1970-01-01T00:00:00"
CLOCKS_APART = timedelta(hours=1)


class WordPressSource:
    def __init__(self, config: WordPressSpec) -> None:
        self.config = config
        self.base = config.url.rstrip("/")
        self.api = WordPressApi(self.base)
        self.selectors = config.selectors

    def observe(self, ctx: CheckContext) -> Iterator[Observation]:
        cursor = dict(ctx.view.cursor)
        retry_at = cursor.get("api_retry_at")
        try:
            if retry_at is None or datetime.fromisoformat(retry_at) <= ctx.now:
                try:
                    yield from self._through_api(ctx, cursor)
                except ApiUnavailable as exc:
                    yield Note(f"REST API unavailable ({exc}); reading category feeds and pages")
                    cursor["api_retry_at"] = (ctx.now + API_RETRY).isoformat()
                else:
                    cursor.pop("api_retry_at", None)
                    yield Cursor(cursor)
                    return
            sweep = sweep_due(ctx, self.config.sweep_every)
            feeds = [f"{self.base}/category/{slug}/feed/" for slug in self.config.categories]
            yield from through_feeds(ctx, feeds or [f"{self.base}/feed/"], self.config, sweep=sweep)
        except LimitReached:
            yield Cursor(cursor)  # how far this check got: the next one goes on from there
            raise
        if sweep:
            cursor["last_sweep"] = ctx.now.isoformat()
        yield Cursor(cursor)

    # -- REST API --------------------------------------------------------------------------

    def _categories(self, ctx: CheckContext, cursor: dict[str, Any]) -> list[int]:
        wanted = self.config.categories
        cached: dict[str, int] = cursor.get("categories", {})
        if all(slug in cached for slug in wanted):
            return [cached[slug] for slug in wanted]
        answer = self.api.get(
            ctx,
            "/wp/v2/categories",
            {"slug": ",".join(wanted), "per_page": PER_PAGE, "_fields": "id,slug"},
        )
        try:
            found = {str(item["slug"]): post_id(item) for item in answer.data}
        except (TypeError, KeyError, Malformed) as exc:
            raise ApiUnavailable(f"the categories answer is not a list of them ({exc})") from None
        unknown = [slug for slug in wanted if slug not in found]
        if unknown:
            raise SourceError(f"no category {', '.join(map(repr, unknown))} at {self.base}")
        cursor["categories"] = found
        return [found[slug] for slug in wanted]

    def _through_api(self, ctx: CheckContext, cursor: dict[str, Any]) -> Iterator[Observation]:
        sweep = sweep_due(ctx, self.config.sweep_every) or "sweep" in cursor
        if sweep and "sweep" not in cursor:
            cursor.pop("categories", None)  # resolved again: a category may have been re-created
        query: dict[str, Any] = {"per_page": PER_PAGE}
        if self.config.categories:
            query["categories"] = ",".join(map(str, self._categories(ctx, cursor)))
        if cursor.get("watermark") is None:
            yield from self._history(ctx, cursor, query)
            cursor["last_sweep"] = ctx.now.isoformat()
            return
        read: set[int] = set()  # posts asked for in full by this check
        yield from self._since_watermark(ctx, cursor, query, read)
        yield from self._retries(ctx, cursor, read)
        if sweep:
            yield from self._sweep(ctx, cursor, query, read)

    def _since_watermark(
        self, ctx: CheckContext, cursor: dict[str, Any], query: Mapping[str, Any], read: set[int]
    ) -> Iterator[Observation]:
        """The posts modified since the watermark, oldest first, page by page: each page's new
        or moved posts are read in full before the watermark moves past them, so that a check
        cut short anywhere (an error, its deadline) misses nothing. A post that cannot be read
        is noted in the cursor and read again at every check until it can be."""
        watermark = yield from _readable_watermark(ctx, cursor["watermark"])
        since = wp_time(watermark, "the watermark") - OVERLAP
        changed = {
            **query,
            "orderby": "modified",
            "order": "asc",
            "modified_after": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "_fields": "id,modified_gmt",  # the look-back returns known posts: ids are enough
        }
        retry: dict[str, bool] = dict(cursor.get("retry", {}))
        for answer in self.api.pages(ctx, changed):
            moved: list[int] = []
            for index, post in enumerate(answer.data):
                try:
                    found = post_id(post)
                except Malformed as exc:
                    yield ItemFailed(describe(post, index), str(exc))  # no id to read it by
                    continue
                try:
                    watermark = max(watermark, _modified(post))
                except Malformed as exc:
                    yield ItemFailed(f"post {found}", str(exc))
                    retry.setdefault(str(found), False)
                    continue
                if (unchanged := self._unchanged(ctx, post)) is not None:
                    retry.pop(str(found), None)
                    yield unchanged
                else:
                    moved.append(found)
            read.update(moved)
            yield from self._read_moved(ctx, moved, retry)
            held, note = capped(watermark, ctx.now, answer.served_at)
            if note:
                yield Note(note)
            cursor["watermark"], cursor["retry"] = held, retry

    def _read_moved(
        self, ctx: CheckContext, moved: list[int], retry: dict[str, bool]
    ) -> Iterator[Observation]:
        """Posts new or modified since they were read, in full; those that cannot be read are
        noted in `retry` (a post of the baseline read late stays in it)."""
        failed: set[int] = set()
        for baseline in (True, False):
            ids = [found for found in moved if retry.get(str(found), False) is baseline]
            yield from self._read_posts(ctx, ids, failed=failed, baseline=baseline)
        for found in moved:
            if found in failed:
                retry.setdefault(str(found), False)
            else:
                retry.pop(str(found), None)

    def _retries(
        self, ctx: CheckContext, cursor: dict[str, Any], read: set[int]
    ) -> Iterator[Observation]:
        """The posts that could not be read before, read again unless this check just did
        (those of the baseline still enter it, silently)."""
        retry: dict[str, bool] = cursor.get("retry", {})
        for baseline in (True, False):
            ids = sorted(
                int(key) for key, flag in retry.items() if flag is baseline and int(key) not in read
            )
            failed: set[int] = set()
            read.update(ids)
            yield from self._read_posts(ctx, ids, failed=failed, baseline=baseline)
            for found in ids:
                if found not in failed:
                    retry.pop(str(found), None)

    def _history(
        self, ctx: CheckContext, cursor: dict[str, Any], query: Mapping[str, Any]
    ) -> Iterator[Observation]:
        """The baseline: the newest posts first (all of them, or `max_pages` pages of them),
        each entering the feed dated by its publication. The watermark is taken first, so
        that what changes while the history is read shows up in the next check. A history
        longer than one check can read (check_max_pages, check_deadline) goes on at the next."""
        progress = cursor.get("history")
        if progress is not None and progress.get("for") != self._walking(query):
            progress = None  # a history of other categories: read afresh
        if progress is None:
            latest = {**query, "orderby": "modified", "order": "desc", "per_page": 1}
            answer = self.api.get(ctx, POSTS, {**latest, "_fields": "modified_gmt"})
            if not isinstance(answer.data, list):
                raise ApiUnavailable("the posts answer is not a list")
            # an empty site has been read too: its first posts are news, not history
            newest = EPOCH
            if answer.data:
                try:
                    newest = _modified(answer.data[0])
                except Malformed as exc:
                    raise SourceError(f"the newest post's {exc}; nothing stored") from None
                newest, note = capped(newest, ctx.now, answer.served_at)
                if note:
                    yield Note(note)
            progress = {"watermark": newest, "page": 1, "for": self._walking(query)}
            cursor["history"] = progress
        history = {**query, "orderby": "date", "order": "desc", "_fields": POST_FIELDS}
        walk = Walk(page=int(progress["page"]))
        retry: dict[str, bool] = cursor.setdefault("retry", {})
        for answer in self.api.pages(ctx, history, max_pages=self.config.max_pages, walk=walk):
            failed: set[int] = set()
            yield from self._observations(ctx, answer.data, baseline=True, failed=failed)
            retry.update({str(found): True for found in failed})
            progress["page"] = walk.page
        cursor["watermark"] = progress["watermark"]
        del cursor["history"]
        yield HistoryRead()

    def _read_posts(
        self, ctx: CheckContext, ids: list[int], *, failed: set[int], baseline: bool = False
    ) -> Iterator[Observation]:
        """These posts in full, a hundred a request; those that cannot be read go in `failed`."""
        for start in range(0, len(ids), PER_PAGE):
            yield from self._read_chunk(ctx, ids[start : start + PER_PAGE], failed, baseline)

    def _read_chunk(
        self, ctx: CheckContext, chunk: list[int], failed: set[int], baseline: bool
    ) -> Iterator[Observation]:
        """One request for these posts. A post whose content makes the server fail (a 500, an
        answer too large) fails the request for all of them: halves are asked for, down to the
        post that fails, which fails alone."""
        include = {"include": ",".join(map(str, chunk)), "per_page": PER_PAGE}
        try:
            answers = list(self.api.pages(ctx, {**include, "_fields": POST_FIELDS}))
        except (HttpStatusError, ResponseTooLarge) as exc:
            if len(chunk) == 1:
                failed.add(chunk[0])
                yield ItemFailed(f"post {chunk[0]}", str(exc))
                return
            half = len(chunk) // 2
            yield from self._read_chunk(ctx, chunk[:half], failed, baseline)
            yield from self._read_chunk(ctx, chunk[half:], failed, baseline)
            return
        for answer in answers:
            yield from self._observations(ctx, answer.data, baseline=baseline, failed=failed)

    def _observations(
        self, ctx: CheckContext, posts: list[Any], *, baseline: bool, failed: set[int]
    ) -> Iterator[Observation]:
        """Each post of an answer, or the reason it could not be read: one malformed post does
        not keep the others from being stored."""
        for index, post in enumerate(posts):
            try:
                yield self._post_observation(ctx, post, baseline=baseline)
            except (Malformed, ExtractError) as exc:
                yield ItemFailed(describe(post, index), str(exc))
                with suppress(Malformed):  # without an id, it cannot be asked for again
                    failed.add(post_id(post))

    @staticmethod
    def _unchanged(ctx: CheckContext, post: Mapping[str, Any]) -> Unchanged | None:
        """A known post whose `modified_gmt` did not move needs no reading."""
        key = release_key("", int(post["id"]))
        known = ctx.view.releases.get(key)
        modified = str(post.get("modified_gmt") or "")
        if known and known.status == ReleaseStatus.ACTIVE and known.source_modified == modified:
            return Unchanged(key)
        return None

    def _post_observation(
        self, ctx: CheckContext, post: Any, *, baseline: bool = False
    ) -> Observation:
        found = post_id(post)
        modified_at = wp_time(post.get("modified_gmt"), "modified_gmt")
        date_gmt = post.get("date_gmt")
        published = wp_time(date_gmt, "date_gmt") if date_gmt is not None else None
        unchanged = self._unchanged(ctx, post)
        if unchanged is not None:
            return unchanged
        started = ctx.view.created_at
        if started is not None and release_key("", found) not in ctx.view.releases:
            # a post never read, published and last modified well before this source was first
            # checked (one the history did not reach, or skipped as the list moved): history.
            # A scheduled post that went live, or one published today with an older date, is
            # news: its date, or its modified_gmt, is recent. (The site's clock may not be ours.)
            started -= CLOCKS_APART
            baseline = baseline or (
                modified_at < started and (published is None or published < started)
            )
        link = str(post.get("link") or "")
        if not is_web_url(link) or not ctx.fetch.follows(link):
            # what the site says is its link, unless it leads off the site: WordPress's own form
            link = f"{self.base}/?p={found}"
        # modified_gmt has a resolution of one second: a value this fresh may be shared by an
        # edit made later in the same second, so it is not trusted to skip the next reading.
        trusted = ctx.now - modified_at > FRESH
        text, html, attachments = extract.fragment(
            rendered(post, "content"), link, self.selectors.exclude
        )
        return Observed(
            extract.snapshot(
                url=link,
                title=extract.html_text(rendered(post, "title")) or link,
                published=published,
                text=text,
                html=html,
                attachments=attachments,
                origin=Origin.API,
                wp_id=found,
                source_modified=post["modified_gmt"] if trusted else None,
            ),
            baseline=baseline,
        )

    def _sweep(
        self, ctx: CheckContext, cursor: dict[str, Any], query: Mapping[str, Any], read: set[int]
    ) -> Iterator[Observation]:
        """Compare the ids the site lists with the ones we know. Only a whole list, every id
        of it readable, can tell that a post is gone; one longer than a check can walk goes on
        at the next check (`cursor["sweep"]`), and is done with only once its missing posts
        are confirmed and its new ones noted."""
        walk = yield from self._walk_ids(ctx, cursor, query)
        if walk is None:
            return
        present = walk.ids
        if walk.unreadable:
            unreadable = f"{walk.unreadable} unreadable id(s)"
            yield Note(f"the id sweep lists {unreadable}; nothing was removed")
        elif not present and any(
            r.wp_id is not None and r.status == ReleaseStatus.ACTIVE
            for r in ctx.view.releases.values()
        ):
            raise ListingEmpty(f"the id sweep of {self.base} lists no posts; nothing is removed")
        absent, back, there = _compared(ctx.view.releases.values(), present)
        yield from (Unchanged(key) for key in there)  # missed once, listed now
        yield from self._confirmed_missing(ctx, query, [] if walk.unreadable else absent)
        known_ids = {r.wp_id for r in ctx.view.releases.values() if r.wp_id is not None}
        # the posts to read are noted before the sweep is done with: a check cut short while
        # reading them reads the rest at the next
        retry: dict[str, bool] = cursor.setdefault("retry", {})
        for found in [*back, *sorted(present - known_ids)]:
            retry.setdefault(str(found), False)
        cursor.pop("sweep", None)
        cursor["last_sweep"] = ctx.now.isoformat()
        yield from self._retries(ctx, cursor, read)

    def _walk_ids(
        self, ctx: CheckContext, cursor: dict[str, Any], query: Mapping[str, Any]
    ) -> Generator[Observation, None, Walk | None]:
        """Every post id, page by page, kept in the cursor as it goes; None if the list could
        not be walked whole (the next check starts it again)."""
        params = {**query, "orderby": "id", "order": "asc", "_fields": "id"}
        walking = self._walking(query)
        walk = Walk.restored(cursor.get("sweep"), walking)
        if walk.done:
            return walk
        try:
            for answer in self.api.pages(ctx, params, walk=walk, whole=True):
                for index, post in enumerate(answer.data):
                    try:
                        post_id(post)
                    except Malformed as exc:
                        walk.unreadable += 1
                        yield ItemFailed(describe(post, index), str(exc))
                cursor["sweep"] = walk.saved(walking)
        except IncompleteWalk as exc:
            cursor.pop("sweep", None)
            yield Incomplete(f"the id sweep is incomplete ({exc}); nothing was removed")
            return None
        walk.done = True
        cursor["sweep"] = walk.saved(walking)
        return walk

    def _confirmed_missing(
        self, ctx: CheckContext, query: Mapping[str, Any], absent: list[KnownRelease]
    ) -> Iterator[Observation]:
        """The posts a whole sweep did not list, asked for by id: a post is missing only if the
        site does not give it either. (A list that moves while it is walked, one post gone and
        another published, can skip a post that is there.)"""
        if not absent:
            return
        ids = [release.wp_id for release in absent if release.wp_id is not None]
        there: set[int] = set()
        for start in range(0, len(ids), PER_PAGE):
            include = {**query, "include": ",".join(map(str, ids[start : start + PER_PAGE]))}
            try:
                for answer in self.api.pages(ctx, {**include, "_fields": "id"}):
                    there |= {p["id"] for p in answer.data if isinstance(p, Mapping)}
            except IncompleteWalk as exc:
                yield Incomplete(f"the posts the id sweep missed could not be asked for ({exc})")
                return
        for release in absent:
            if release.wp_id not in there:
                yield Missing(release.key, "absent from the id sweep")
        if there:
            yield Note(f"the id sweep missed {len(there)} post(s) that are there; none removed")

    # -- for `watcher backfill` (backfill.py) -----------------------------------------------

    def archive_query(self, ctx: CheckContext) -> dict[str, Any]:
        """What every walk of this source's posts asks: its categories, resolved as checks
        resolve them (a copy of the cursor: a backfill keeps nothing of the checks')."""
        query: dict[str, Any] = {"per_page": PER_PAGE}
        if self.config.categories:
            ids = self._categories(ctx, dict(ctx.view.cursor))
            query["categories"] = ",".join(map(str, ids))
        return query

    def archived(self, ctx: CheckContext, posts: list[Any]) -> Iterator[Observation]:
        """The posts of one page of the archive, read as the history reads them."""
        return self._observations(ctx, posts, baseline=True, failed=set())

    def _walking(self, query: Mapping[str, Any]) -> str:
        """What a walk kept in the cursor walks: one of another site or other categories is
        not gone on with."""
        return f"{self.base}?categories={query.get('categories', '')}"


def _compared(
    releases: Iterable[KnownRelease], present: set[int]
) -> tuple[list[KnownRelease], list[int], list[str]]:
    """What a whole sweep says of the posts known: those active and not listed, those removed
    and listed again, and (by key) those missed before and listed now."""
    absent: list[KnownRelease] = []
    back: list[int] = []
    there: list[str] = []
    for release in releases:
        if release.wp_id is None:
            continue
        if release.wp_id not in present:
            if release.status == ReleaseStatus.ACTIVE:
                absent.append(release)
        elif release.status == ReleaseStatus.REMOVED:
            back.append(release.wp_id)
        elif release.missing_count:
            there.append(release.key)
    return absent, back, there


def _readable_watermark(ctx: CheckContext, stored: Any) -> Generator[Observation, None, str]:
    """The stored watermark; one an earlier version stored as the server sent it (and that
    cannot be read) is replaced by the newest `modified_gmt` of the posts known."""
    try:
        wp_time(stored, "the stored watermark")
    except Malformed:
        watermark = max(
            (k.source_modified for k in ctx.view.releases.values() if k.source_modified),
            default=EPOCH,
        )
        yield Note(f"the stored watermark {short(stored)} is unreadable; going on from {watermark}")
        return watermark
    return str(stored)


def _modified(post: Any) -> str:
    """A post's `modified_gmt`, checked."""
    value = post.get("modified_gmt") if isinstance(post, Mapping) else post
    wp_time(value, "modified_gmt")
    return str(value)
