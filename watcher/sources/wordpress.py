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

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from watcher import extract
from watcher.config import WordPressSourceConfig
from watcher.errors import (
    ApiUnavailable,
    ChallengePage,
    HttpStatusError,
    ListingEmpty,
    RobotsDisallowed,
    SourceError,
)
from watcher.models import Gone, NotModified, Origin, ReleaseStatus
from watcher.sources.base import (
    CheckContext,
    Cursor,
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
EPOCH = "1970-01-01T00:00:00"


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

    def _api(self, ctx: CheckContext, route: str, params: Mapping[str, Any]) -> tuple[Any, int]:
        """One API request: the decoded JSON and X-WP-TotalPages. A 400 for a page after the
        first means the list shrank while it was paged (posts trashed meanwhile): no more."""
        url = f"{self.base}/wp-json{route}?{urlencode(params)}"
        try:
            result = ctx.fetch.get(url, accept="application/json")
        except ChallengePage as exc:
            raise ApiUnavailable(f"challenge page at {route}") from exc
        except RobotsDisallowed as exc:
            raise ApiUnavailable(f"robots.txt keeps out of {route}") from exc
        except HttpStatusError as exc:
            if exc.status == 400 and int(params.get("page", 1)) > 1:
                return [], 0
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
        pages = result.headers.get("x-wp-totalpages", "1")
        return data, int(pages) if pages.isdigit() else 1

    def _categories(self, ctx: CheckContext, cursor: dict[str, Any]) -> list[int]:
        wanted = self.config.categories
        cached: dict[str, int] = cursor.get("categories", {})
        if all(slug in cached for slug in wanted):
            return [cached[slug] for slug in wanted]
        data, _ = self._api(
            ctx,
            "/wp/v2/categories",
            {"slug": ",".join(wanted), "per_page": PER_PAGE, "_fields": "id,slug"},
        )
        if not isinstance(data, list):
            raise ApiUnavailable("categories answer is not a list")
        found = {str(item["slug"]): int(item["id"]) for item in data}
        unknown = [slug for slug in wanted if slug not in found]
        if unknown:
            raise SourceError(f"no category {', '.join(map(repr, unknown))} at {self.base}")
        cursor["categories"] = found
        return [found[slug] for slug in wanted]

    def _posts(
        self, ctx: CheckContext, params: dict[str, Any], max_pages: int = 0
    ) -> Iterator[dict[str, Any]]:
        page, total = 1, 1
        while page <= total and not (max_pages and page > max_pages):
            data, total = self._api(ctx, "/wp/v2/posts", {**params, "page": page})
            if not isinstance(data, list):
                raise ApiUnavailable("posts answer is not a list")
            yield from data
            page += 1

    def _through_api(self, ctx: CheckContext, cursor: dict[str, Any]) -> Iterator[Observation]:
        sweep = sweep_due(ctx, self.config.sweep_every)
        if sweep:
            cursor.pop("categories", None)  # resolved again: a category may have been re-created
        query: dict[str, Any] = {"per_page": PER_PAGE}
        if self.config.categories:
            query["categories"] = ",".join(map(str, self._categories(ctx, cursor)))
        watermark: str | None = cursor.get("watermark")
        if watermark is None:
            yield from self._history(ctx, cursor, query)
            cursor["last_sweep"] = ctx.now.isoformat()
            return
        since = datetime.fromisoformat(watermark).replace(tzinfo=UTC) - OVERLAP
        changed = {
            **query,
            "orderby": "modified",
            "order": "asc",
            "modified_after": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "_fields": "id,modified_gmt",  # the look-back returns known posts: ids are enough
        }
        newest = watermark
        moved: list[int] = []
        for post in self._posts(ctx, changed):
            newest = max(newest, str(post.get("modified_gmt") or ""))
            unchanged = self._unchanged(ctx, post)
            if unchanged is not None:
                yield unchanged
            else:
                moved.append(int(post["id"]))
        yield from self._read_posts(ctx, moved)
        cursor["watermark"] = newest
        if sweep:
            yield from self._sweep(ctx, query)
            cursor["last_sweep"] = ctx.now.isoformat()

    def _history(
        self, ctx: CheckContext, cursor: dict[str, Any], query: Mapping[str, Any]
    ) -> Iterator[Observation]:
        """The baseline: the newest posts first (all of them, or `max_pages` pages of them),
        each entering the feed dated by its publication. The watermark is taken first, so
        that what changes while the history is read shows up in the next check."""
        latest = {**query, "orderby": "modified", "order": "desc", "per_page": 1}
        newest, _ = self._api(ctx, "/wp/v2/posts", {**latest, "_fields": "modified_gmt"})
        history = {**query, "orderby": "date", "order": "desc", "_fields": POST_FIELDS}
        for post in self._posts(ctx, history, self.config.max_pages):
            yield self._post_observation(ctx, post, baseline=True)
        # an empty site has been read too: its first posts are news, not history
        cursor["watermark"] = str(newest[0]["modified_gmt"]) if newest else EPOCH

    def _read_posts(self, ctx: CheckContext, ids: list[int]) -> Iterator[Observation]:
        """These posts in full, a hundred a request."""
        for start in range(0, len(ids), PER_PAGE):
            chunk = ids[start : start + PER_PAGE]
            include = {"include": ",".join(map(str, chunk)), "per_page": PER_PAGE}
            for post in self._posts(ctx, {**include, "_fields": POST_FIELDS}):
                yield self._post_observation(ctx, post)

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
        self, ctx: CheckContext, post: Mapping[str, Any], *, baseline: bool = False
    ) -> Observation:
        unchanged = self._unchanged(ctx, post)
        if unchanged is not None:
            return unchanged
        modified = str(post.get("modified_gmt") or "")
        link = str(post.get("link") or "")
        if not is_web_url(link):  # what the site says is its link; else WordPress's own form
            link = f"{self.base}/?p={post['id']}"
        # modified_gmt has a resolution of one second: a value this fresh may be shared by an
        # edit made later in the same second, so it is not trusted to skip the next reading.
        modified_at = datetime.fromisoformat(modified).replace(tzinfo=UTC) if modified else None
        trusted = modified_at is not None and ctx.now - modified_at > FRESH
        text, html, attachments = extract.fragment(
            _rendered(post, "content"), link, self.selectors.exclude
        )
        date_gmt = post.get("date_gmt")
        return Observed(
            extract.snapshot(
                url=link,
                title=extract.html_text(_rendered(post, "title")) or link,
                published=datetime.fromisoformat(date_gmt).replace(tzinfo=UTC)
                if date_gmt
                else None,
                text=text,
                html=html,
                attachments=attachments,
                origin=Origin.API,
                wp_id=int(post["id"]),
                source_modified=modified if trusted else None,
            ),
            baseline=baseline,
        )

    def _sweep(self, ctx: CheckContext, query: Mapping[str, Any]) -> Iterator[Observation]:
        """Compare the ids the site lists with the ones we know."""
        params = {**query, "orderby": "id", "order": "asc", "_fields": "id"}
        present = {int(post["id"]) for post in self._posts(ctx, params)}
        if not present and any(
            r.wp_id is not None and r.status == ReleaseStatus.ACTIVE
            for r in ctx.view.releases.values()
        ):
            raise ListingEmpty(f"the id sweep of {self.base} lists no posts; nothing is removed")
        unseen: list[int] = []
        for release in ctx.view.releases.values():
            if release.wp_id is None:
                continue
            if release.wp_id not in present:
                if release.status == ReleaseStatus.ACTIVE:
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
