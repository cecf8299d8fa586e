"""A WordPress site through its REST API, with the category feeds and article pages as fallback.

REST API (https://developer.wordpress.org/rest-api/reference/posts/):
- category slugs are resolved once through /wp/v2/categories?slug=... and cached;
- a baseline notes the newest `modified_gmt`, then pages through the posts newest first
  (`orderby=date&order=desc`, 100 a page, `X-WP-TotalPages`);
- later checks list the ids and `modified_gmt` of the posts modified since the newest one seen
  (looking back an hour more: see OVERLAP), and read in full (`include=`) only those new or
  moved, so a check that finds nothing costs one small request;
- removals cannot show in `modified_after`: every `sweep_every` the ids of all posts are listed and
  compared, and ids that appear without a modification (scheduled posts, restores) are fetched.

When the API does not answer usefully (403, 404, HTML instead of JSON, a challenge page) the check
reads the category feeds (`content:encoded`) and article pages instead, and says so in the log.
Both paths read the same markup (`the_content`), so switching never creates an edit.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from watcher import extract
from watcher.config import WordPressSourceConfig
from watcher.errors import (
    ApiUnavailable,
    ChallengePage,
    Deferred,
    ExtractError,
    HttpStatusError,
    IncompleteWalk,
    LimitReached,
    ListingEmpty,
    RobotsDisallowed,
    SourceError,
)
from watcher.models import Gone, NotModified, Origin, Page, ReleaseStatus
from watcher.sources.base import (
    CheckContext,
    Cursor,
    Incomplete,
    ItemFailed,
    Listed,
    Missing,
    Note,
    Observation,
    Observed,
    Unchanged,
    read_articles,
    revisit_order,
    sweep_due,
)
from watcher.sources.feed import FeedPage, feed_item_observations, walk_feed
from watcher.text import replace_lone_surrogates
from watcher.urls import canonical_url, is_web_url, release_key

PER_PAGE = 100  # the REST API's maximum
POST_FIELDS = "id,date_gmt,modified_gmt,link,title,content"
# modified_after is strict and second-granular, and WordPress compares it in site time, in which
# the hour before a fall-back to winter time happens twice: an edit in the second pass can read
# as older than the watermark. Look back past that hour; skip what did not move.
OVERLAP = timedelta(minutes=61)
API_RETRY = timedelta(hours=1)  # after a fallback, how long before the API is tried again
# A modified_gmt this recent may be shared by an edit later in the same second: not trusted.
FRESH = timedelta(seconds=2)
# A post dated in the future would carry the watermark past every later edit: it never moves
# further than this past the present (the server's clock or ours, whichever is earlier).
FUTURE_SLACK = timedelta(minutes=5)
EPOCH = "1970-01-01T00:00:00"
_WP_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
# What WordPress answers for a page past the last one: after a full page, the normal end.
PAST_THE_LAST_PAGE = "rest_post_invalid_page_number"


class _Malformed(ValueError):
    """A value from the server that is not what WordPress sends: that item fails, not the check."""


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    data: Any
    total: int | None  # X-WP-Total, when the server (or a proxy) did not drop it
    served_at: datetime | None  # the server's Date


class _PastTheLastPage(Exception):
    pass


@dataclass
class _Walk:
    """What a walk of API pages saw, to tell whether it was whole."""

    ids: set[int] = field(default_factory=set)
    listed: int = 0  # entries, readable or not
    total: int | None = None


class WordPressSource:
    def __init__(self, config: WordPressSourceConfig) -> None:
        self.config = config
        self.base = config.url.rstrip("/")
        self.selectors = config.page_selectors()

    def observe(self, ctx: CheckContext) -> Iterator[Observation]:
        cursor = dict(ctx.view.cursor)
        retry_at = cursor.get("api_retry_at")
        if retry_at is None or datetime.fromisoformat(retry_at) <= ctx.now:
            try:
                yield from self._through_api(ctx, cursor)
            except ApiUnavailable as exc:
                yield Note(f"REST API unavailable ({exc}); reading category feeds and pages")
                cursor["api_retry_at"] = (ctx.now + API_RETRY).isoformat()
            except LimitReached:
                yield Cursor(cursor)  # how far this check got: the next one goes on from there
                raise
            else:
                cursor.pop("api_retry_at", None)
                yield Cursor(cursor)
                return
        sweep = sweep_due(ctx, self.config.sweep_every)
        yield from self._through_feeds(ctx, sweep=sweep)
        if sweep:
            cursor["last_sweep"] = ctx.now.isoformat()
        yield Cursor(cursor)

    # -- REST API --------------------------------------------------------------------------

    def _api(self, ctx: CheckContext, route: str, params: Mapping[str, Any]) -> ApiAnswer:
        """One API request: the decoded JSON, X-WP-Total and the server's Date."""
        ctx.budget.page()
        url = f"{self.base}/wp-json{route}?{urlencode(params)}"
        try:
            result = ctx.fetch.get(url, accept="application/json")
        except ChallengePage as exc:
            raise ApiUnavailable(f"challenge page at {route}") from exc
        except RobotsDisallowed as exc:
            raise ApiUnavailable(f"robots.txt keeps out of {route}") from exc
        except HttpStatusError as exc:
            if exc.status == 400 and int(params.get("page", 1)) > 1:
                if _error_code(exc.body) == PAST_THE_LAST_PAGE:
                    raise _PastTheLastPage from exc
                raise
            if exc.status in (400, 401, 403):
                raise ApiUnavailable(f"HTTP {exc.status} at {route}") from exc
            raise
        if isinstance(result, Gone):
            raise ApiUnavailable(f"HTTP {result.status} at {route}")
        if isinstance(result, NotModified):
            raise ApiUnavailable(f"unexpected 304 at {route}")
        if "json" not in result.content_type:
            raise ApiUnavailable(f"{result.content_type or 'no content type'} instead of JSON")
        try:
            data = _whole_characters(json.loads(result.body))
        except ValueError as exc:
            raise ApiUnavailable(f"invalid JSON at {route}") from exc
        total = result.headers.get("x-wp-total", "").strip()
        return ApiAnswer(data, int(total) if total.isdigit() else None, _served_at(result))

    def _categories(self, ctx: CheckContext, cursor: dict[str, Any]) -> list[int]:
        wanted = self.config.categories
        cached: dict[str, int] = cursor.get("categories", {})
        if all(slug in cached for slug in wanted):
            return [cached[slug] for slug in wanted]
        answer = self._api(
            ctx,
            "/wp/v2/categories",
            {"slug": ",".join(wanted), "per_page": PER_PAGE, "_fields": "id,slug"},
        )
        try:
            found = {str(item["slug"]): _post_id(item) for item in answer.data}
        except (TypeError, KeyError, _Malformed) as exc:
            raise ApiUnavailable(f"the categories answer is not a list of them ({exc})") from None
        unknown = [slug for slug in wanted if slug not in found]
        if unknown:
            raise SourceError(f"no category {', '.join(map(repr, unknown))} at {self.base}")
        cursor["categories"] = found
        return [found[slug] for slug in wanted]

    def _pages(
        self,
        ctx: CheckContext,
        params: Mapping[str, Any],
        *,
        max_pages: int = 0,
        first: int = 1,
        whole: bool = False,
    ) -> Iterator[tuple[int, ApiAnswer]]:
        """The pages of /wp/v2/posts, each with its number, to the end of the list.

        X-WP-TotalPages is not trusted (a proxy or a hardening plugin may drop it, a broken
        site may claim a billion pages): pages are read while they come back full, and a 400
        `rest_post_invalid_page_number` after a full page is the normal end. An error past the
        first page, or a page that repeats what was listed, is an IncompleteWalk; so is, for a
        walk that must be `whole` (one that decides removals), listing fewer ids than
        X-WP-Total. With `max_pages`, the walk stops there."""
        walk = _Walk()
        number = first
        while not (max_pages and number > max_pages):
            try:
                answer = self._api(ctx, "/wp/v2/posts", {**params, "page": number})
            except _PastTheLastPage:
                break  # asked for after a full page (or where an earlier check stopped)
            except Deferred:
                raise  # the site asks to be left alone for a while: the whole check waits
            except SourceError as exc:
                if number == first:
                    raise
                raise IncompleteWalk(f"/wp/v2/posts broke off at page {number}: {exc}") from None
            if not isinstance(answer.data, list):
                raise IncompleteWalk(f"page {number} of /wp/v2/posts is not a list of posts")
            walk.total = answer.total if answer.total is not None else walk.total
            readable = {
                post["id"]
                for post in answer.data
                if isinstance(post, Mapping) and type(post.get("id")) is int
            }
            if readable and readable <= walk.ids:
                raise IncompleteWalk(f"page {number} of /wp/v2/posts repeats posts listed before")
            walk.ids |= readable
            walk.listed += len(answer.data)
            yield number, answer
            if len(answer.data) < int(params.get("per_page", PER_PAGE)):
                break
            if "include" in params and len(walk.ids) >= len(str(params["include"]).split(",")):
                break  # every post asked for: there can be no more
            number += 1
        if whole and walk.total is not None and walk.listed < walk.total:
            raise IncompleteWalk(
                f"/wp/v2/posts listed {walk.listed} posts of the {walk.total} it counts"
            )

    def _through_api(self, ctx: CheckContext, cursor: dict[str, Any]) -> Iterator[Observation]:
        sweep = sweep_due(ctx, self.config.sweep_every)
        if sweep:
            cursor.pop("categories", None)  # resolved again: a category may have been re-created
        query: dict[str, Any] = {"per_page": PER_PAGE}
        if self.config.categories:
            query["categories"] = ",".join(map(str, self._categories(ctx, cursor)))
        if cursor.get("watermark") is None:
            yield from self._history(ctx, cursor, query)
            cursor["last_sweep"] = ctx.now.isoformat()
            return
        yield from self._since_watermark(ctx, cursor, query)
        if sweep:
            yield from self._sweep(ctx, query)
            cursor["last_sweep"] = ctx.now.isoformat()

    def _since_watermark(
        self, ctx: CheckContext, cursor: dict[str, Any], query: Mapping[str, Any]
    ) -> Iterator[Observation]:
        """The posts modified since the watermark, oldest first, page by page: each page's new
        or moved posts are read in full before the watermark moves past them, and it never
        moves past a post that could not be read, so that a check cut short anywhere (an error,
        its deadline) misses nothing."""
        watermark = cursor["watermark"]
        try:
            since = _wp_time(watermark, "the stored watermark")
        except _Malformed:
            # an earlier version stored what the server sent: start again from what is known
            watermark = max(
                (k.source_modified for k in ctx.view.releases.values() if k.source_modified),
                default=EPOCH,
            )
            yield Note(
                f"the stored watermark {cursor['watermark']!r} is unreadable; from {watermark}"
            )
            since = _wp_time(watermark, "the watermark")
        changed = {
            **query,
            "orderby": "modified",
            "order": "asc",
            "modified_after": (since - OVERLAP).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "_fields": "id,modified_gmt",  # the look-back returns known posts: ids are enough
        }
        held = False  # a post could not be read: the watermark waits before it
        for _number, answer in self._pages(ctx, changed):
            listed: list[tuple[int | None, str | None]] = []  # in order; None: unreadable
            moved: list[int] = []
            for index, post in enumerate(answer.data):
                try:
                    post_id = _post_id(post)
                    modified = post.get("modified_gmt")
                    _wp_time(modified, "modified_gmt")
                except _Malformed as exc:
                    yield ItemFailed(_describe(post, index), str(exc))
                    listed.append((None, None))
                    continue
                listed.append((post_id, modified))
                unchanged = self._unchanged(ctx, post)
                if unchanged is not None:
                    yield unchanged
                else:
                    moved.append(post_id)
            failed: set[str] = set()
            for observation in self._read_posts(ctx, moved):
                if isinstance(observation, ItemFailed):
                    failed.add(observation.item)
                yield observation
            for read_id, read_modified in listed:
                if held or read_id is None or read_modified is None or f"post {read_id}" in failed:
                    held = True
                    continue
                watermark = max(watermark, read_modified)
            capped, note = _capped(watermark, _ceiling(ctx, answer.served_at))
            if note:
                yield Note(note)
            cursor["watermark"] = capped

    def _history(
        self, ctx: CheckContext, cursor: dict[str, Any], query: Mapping[str, Any]
    ) -> Iterator[Observation]:
        """The baseline: the newest posts first (all of them, or `max_pages` pages of them),
        each entering the feed dated by its publication. The watermark is taken first, so
        that what changes while the history is read shows up in the next check. A history
        longer than one check can read (check_max_pages, check_deadline) goes on at the next."""
        progress = cursor.get("history")
        if progress is None:
            latest = {**query, "orderby": "modified", "order": "desc", "per_page": 1}
            answer = self._api(ctx, "/wp/v2/posts", {**latest, "_fields": "modified_gmt"})
            if not isinstance(answer.data, list):
                raise ApiUnavailable("the posts answer is not a list")
            # an empty site has been read too: its first posts are news, not history
            newest = EPOCH
            if answer.data:
                first = answer.data[0]
                value = first.get("modified_gmt") if isinstance(first, Mapping) else first
                try:
                    _wp_time(value, "modified_gmt")
                except _Malformed as exc:
                    raise SourceError(f"the newest post's {exc}; nothing stored") from None
                newest, note = _capped(str(value), _ceiling(ctx, answer.served_at))
                if note:
                    yield Note(note)
            progress = cursor["history"] = {"watermark": newest, "page": 1}
        history = {**query, "orderby": "date", "order": "desc", "_fields": POST_FIELDS}
        first_page = int(progress["page"])
        walk = self._pages(ctx, history, max_pages=self.config.max_pages, first=first_page)
        for number, answer in walk:
            yield from self._observations(ctx, answer.data, baseline=True)
            progress["page"] = number + 1
        cursor["watermark"] = progress["watermark"]
        del cursor["history"]

    def _read_posts(self, ctx: CheckContext, ids: list[int]) -> Iterator[Observation]:
        """These posts in full, a hundred a request."""
        for start in range(0, len(ids), PER_PAGE):
            chunk = ids[start : start + PER_PAGE]
            include = {"include": ",".join(map(str, chunk)), "per_page": PER_PAGE}
            for _number, answer in self._pages(ctx, {**include, "_fields": POST_FIELDS}):
                yield from self._observations(ctx, answer.data)

    def _observations(
        self, ctx: CheckContext, posts: list[Any], *, baseline: bool = False
    ) -> Iterator[Observation]:
        """Each post of an answer, or the reason it could not be read: one malformed post does
        not keep the others from being stored."""
        for index, post in enumerate(posts):
            try:
                yield self._post_observation(ctx, post, baseline=baseline)
            except (_Malformed, ExtractError) as exc:
                yield ItemFailed(_describe(post, index), str(exc))

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
        post_id = _post_id(post)
        modified_at = _wp_time(post.get("modified_gmt"), "modified_gmt")
        date_gmt = post.get("date_gmt")
        published = _wp_time(date_gmt, "date_gmt") if date_gmt is not None else None
        unchanged = self._unchanged(ctx, post)
        if unchanged is not None:
            return unchanged
        link = str(post.get("link") or "")
        if not is_web_url(link) or not ctx.fetch.follows(link):
            # what the site says is its link, unless it leads off the site: WordPress's own form
            link = f"{self.base}/?p={post_id}"
        # modified_gmt has a resolution of one second: a value this fresh may be shared by an
        # edit made later in the same second, so it is not trusted to skip the next reading.
        trusted = ctx.now - modified_at > FRESH
        text, html, attachments = extract.fragment(
            _rendered(post, "content"), link, self.selectors.exclude
        )
        return Observed(
            extract.snapshot(
                url=link,
                title=extract.html_text(_rendered(post, "title")) or link,
                published=published,
                text=text,
                html=html,
                attachments=attachments,
                origin=Origin.API,
                wp_id=post_id,
                source_modified=post["modified_gmt"] if trusted else None,
            ),
            baseline=baseline,
        )

    def _sweep(self, ctx: CheckContext, query: Mapping[str, Any]) -> Iterator[Observation]:
        """Compare the ids the site lists with the ones we know. Only a whole list, every id
        of it readable, can tell that a post is gone."""
        params = {**query, "orderby": "id", "order": "asc", "_fields": "id"}
        present: set[int] = set()
        unreadable = 0
        try:
            for _number, answer in self._pages(ctx, params, whole=True):
                for index, post in enumerate(answer.data):
                    try:
                        present.add(_post_id(post))
                    except _Malformed as exc:
                        unreadable += 1
                        yield ItemFailed(_describe(post, index), str(exc))
        except IncompleteWalk as exc:
            yield Incomplete(f"the id sweep is incomplete ({exc}); nothing was removed")
            return
        if unreadable:
            yield Note(f"the id sweep lists {unreadable} unreadable id(s); nothing was removed")
        elif not present and any(
            r.wp_id is not None and r.status == ReleaseStatus.ACTIVE
            for r in ctx.view.releases.values()
        ):
            raise ListingEmpty(f"the id sweep of {self.base} lists no posts; nothing is removed")
        unseen: list[int] = []
        for release in ctx.view.releases.values():
            if release.wp_id is None:
                continue
            if release.wp_id not in present:
                if release.status == ReleaseStatus.ACTIVE and not unreadable:
                    yield Missing(release.key, "absent from the id sweep")
            elif release.status == ReleaseStatus.REMOVED:
                unseen.append(release.wp_id)
            elif release.missing_count:
                yield Unchanged(release.key)
        known_ids = {r.wp_id for r in ctx.view.releases.values() if r.wp_id is not None}
        unseen += sorted(present - known_ids)
        yield from self._read_posts(ctx, unseen)

    # -- fallback: category feeds and article pages --------------------------------------

    def _through_feeds(self, ctx: CheckContext, *, sweep: bool) -> Iterator[Observation]:
        feeds = [f"{self.base}/category/{slug}/feed/" for slug in self.config.categories]
        max_pages = self.config.max_pages if not ctx.view.baseline_done else 1
        pages: list[FeedPage] = []
        for feed_url in feeds or [f"{self.base}/feed/"]:
            # One watched category may well be empty; all of them at once is not believable.
            for step in walk_feed(ctx, feed_url, max_pages, sweep=sweep, allow_empty=True):
                if isinstance(step, FeedPage):
                    pages.append(step)
                else:
                    yield step
        links = list(dict.fromkeys(item.link for page in pages for item in page.items))
        if not links and ctx.view.releases:
            raise ListingEmpty(f"every category feed of {self.base} is empty")
        yield Listed(tuple(canonical_url(link) for link in links))
        without_content: list[str] = []
        done: set[str] = set()
        for page in pages:
            for item in page.items:
                if item.link in done:
                    continue  # a post in two watched categories
                done.add(item.link)
                if item.content_html:
                    yield from feed_item_observations(ctx, item, page.fresh, self.selectors.exclude)
                else:
                    without_content.append(item.link)
        extra = [url for url in revisit_order(ctx.view, links) if url not in done]
        ids = {item.link: item.wp_id for page in pages for item in page.items if item.wp_id}
        yield from read_articles(ctx, without_content + extra, self.selectors, wp_ids=ids)


def _post_id(post: Any) -> int:
    if not isinstance(post, Mapping):
        raise _Malformed(f"not a post: {_short(post)}")
    value = post.get("id")
    if type(value) is not int or value <= 0:
        raise _Malformed(f"id {_short(value)} is not a post id")
    return value


def _wp_time(value: Any, name: str) -> datetime:
    """A WordPress `*_gmt` value (2026-06-08T03:04:05) as an aware UTC datetime."""
    if isinstance(value, str) and _WP_TIME.fullmatch(value):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise _Malformed(f"{name} {_short(value)} is not a date")


def _describe(post: Any, index: int) -> str:
    try:
        return f"post {_post_id(post)}"
    except _Malformed:
        return f"item {index + 1} of an answer"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _ceiling(ctx: CheckContext, served_at: datetime | None) -> datetime:
    """How far a watermark may go: a little past the present, by the server's clock or ours,
    whichever is earlier."""
    now = ctx.now if served_at is None else min(served_at, ctx.now)
    return now + FUTURE_SLACK


def _capped(watermark: str, ceiling: datetime) -> tuple[str, str | None]:
    """The watermark, held at the ceiling when a post is dated past it (and why)."""
    if _wp_time(watermark, "the watermark") <= ceiling:
        return watermark, None
    held = ceiling.strftime("%Y-%m-%dT%H:%M:%S")
    return held, (
        f"a post is modified in the future ({watermark}); the watermark stays at {held} UTC, "
        "so that later edits are still found"
    )


def _served_at(page: Page) -> datetime | None:
    try:
        served = email.utils.parsedate_to_datetime(page.headers.get("date", ""))
    except (TypeError, ValueError):
        return None
    return served.astimezone(UTC) if served.tzinfo else served.replace(tzinfo=UTC)


def _error_code(body: bytes) -> str | None:
    """The `code` of a REST API error answer."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return str(data.get("code")) if isinstance(data, dict) else None


def _rendered(post: Mapping[str, Any], name: str) -> str:
    value = post.get(name)
    if isinstance(value, Mapping):
        return str(value.get("rendered") or "")
    return str(value or "")


def _whole_characters(value: Any) -> Any:
    """Decoded JSON with every lone surrogate (a valid JSON escape, never a character)
    replaced, before any text of it reaches the HTML parser."""
    if isinstance(value, str):
        return replace_lone_surrogates(value)
    if isinstance(value, list):
        return [_whole_characters(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole_characters(item) for key, item in value.items()}
    return value
