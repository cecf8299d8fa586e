"""The WordPress REST API as a site may really answer it: requests, paging that trusts no
header, and the values of a post checked before anything is made of them.

(https://developer.wordpress.org/rest-api/reference/posts/ for what WordPress sends.)
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

from watcher.errors import (
    ApiUnavailable,
    ChallengePage,
    Deferred,
    FetchError,
    HttpStatusError,
    IncompleteWalk,
    RobotsDisallowed,
    SourceError,
)
from watcher.models import Gone, NotModified, Page
from watcher.sources.base import CheckContext
from watcher.text import replace_lone_surrogates

PER_PAGE = 100  # the REST API's maximum
POSTS = "/wp/v2/posts"
# A post dated in the future would carry the watermark past every later edit: it never moves
# further than this past the present (the server's clock or ours, whichever is earlier).
FUTURE_SLACK = timedelta(minutes=5)
_WP_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
# What WordPress answers for a page past the last one: after a full page, the normal end.
PAST_THE_LAST_PAGE = "rest_post_invalid_page_number"


class Malformed(ValueError):
    """A value from the server that is not what WordPress sends: that item fails, not the check."""


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    data: Any
    total: int | None  # X-WP-Total, when the server (or a proxy) did not drop it
    served_at: datetime | None  # the server's Date


class _PastTheLastPage(Exception):
    pass


@dataclass
class Walk:
    """Where a walk of pages is, and what it saw, to tell whether it was whole; kept in a
    cursor, a walk longer than one check goes on at the next."""

    page: int = 1  # the next page to ask for
    ids: set[int] = field(default_factory=set)
    listed: int = 0  # entries, readable or not
    total: int | None = None  # X-WP-Total, as last answered
    unreadable: int = 0  # entries without a readable id
    done: bool = False  # walked to its end

    def take(self, answer: ApiAnswer, *, whole: bool) -> None:
        """The next page's answer, or the IncompleteWalk it makes of the walk."""
        if not isinstance(answer.data, list):
            raise IncompleteWalk(f"page {self.page} of {POSTS} is not a list of posts")
        fell = answer.total is not None and self.total is not None and answer.total < self.total
        if whole and fell:
            raise IncompleteWalk(f"posts went away while {POSTS} was walked")
        self.total = answer.total if answer.total is not None else self.total
        readable = {
            post["id"]
            for post in answer.data
            if isinstance(post, Mapping) and type(post.get("id")) is int
        }
        if readable and readable <= self.ids:
            raise IncompleteWalk(f"page {self.page} of {POSTS} repeats posts listed before")
        self.ids |= readable
        self.listed += len(answer.data)
        self.page += 1

    def saved(self, walking: str) -> dict[str, Any]:
        """For the cursor; `walking` names what is walked (the site, its categories)."""
        return {
            "for": walking,
            "page": self.page,
            "ids": sorted(self.ids),
            "listed": self.listed,
            "total": self.total,
            "unreadable": self.unreadable,
            "done": self.done,
        }

    @classmethod
    def restored(cls, values: Mapping[str, Any] | None, walking: str) -> Walk:
        if not values or values.get("for") != walking:
            return cls()
        return cls(
            int(values["page"]),
            set(values["ids"]),
            int(values["listed"]),
            values.get("total"),
            int(values.get("unreadable", 0)),
            bool(values.get("done", False)),
        )


class WordPressApi:
    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, ctx: CheckContext, route: str, params: Mapping[str, Any]) -> ApiAnswer:
        """One API request: the decoded JSON, X-WP-Total and the server's Date."""
        ctx.budget.page()
        url = f"{self.base}/wp-json{route}?{urlencode(params)}"
        try:
            result = ctx.fetch.get(url, accept="application/json")
        except (ChallengePage, RobotsDisallowed, HttpStatusError) as exc:
            refused = _refused(exc, route, int(params.get("page", 1)))
            if refused is exc:
                raise
            raise refused from exc
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

    def pages(
        self,
        ctx: CheckContext,
        params: Mapping[str, Any],
        *,
        max_pages: int = 0,
        walk: Walk | None = None,
        whole: bool = False,
    ) -> Iterator[ApiAnswer]:
        """The pages of /wp/v2/posts to the end of the list, from `walk.page` on.

        X-WP-TotalPages is not trusted (a proxy or a hardening plugin may drop it, a broken
        site may claim a billion pages): pages are read while they come back full, and a 400
        `rest_post_invalid_page_number` after a full page is the normal end. An error past the
        first page, or a page that repeats what was listed, is an IncompleteWalk. So is, for a
        walk that must be `whole` (one that decides removals), listing fewer entries than
        X-WP-Total, or a total that fell while it was walked (a post gone meanwhile moves the
        ones after it a page back: one of them may have been skipped). `walk` is updated as
        pages come. With `max_pages`, the walk stops there."""
        walk = walk if walk is not None else Walk()
        first = walk.page
        size = int(params.get("per_page", PER_PAGE))
        while not (max_pages and walk.page > max_pages):
            try:
                answer = self.get(ctx, POSTS, {**params, "page": walk.page})
            except _PastTheLastPage:
                break  # asked for after a full page (or where an earlier check stopped)
            except Deferred:
                raise  # the site asks to be left alone for a while: the whole check waits
            except SourceError as exc:
                if walk.page == first:
                    raise
                raise IncompleteWalk(f"{POSTS} broke off at page {walk.page}: {exc}") from None
            walk.take(answer, whole=whole)
            yield answer
            if len(answer.data) < size:
                break
            if "include" in params and len(walk.ids) >= len(str(params["include"]).split(",")):
                break  # every post asked for: there can be no more
        if whole and walk.total is not None and walk.listed < walk.total:
            raise IncompleteWalk(
                f"{POSTS} listed {walk.listed} posts of the {walk.total} it counts"
            )


def _refused(error: FetchError, route: str, page: int) -> Exception:
    """What a refusal means for the API: past the last page (after the first), or an API
    that does not answer usefully (the source falls back to its feeds), or the error itself."""
    if isinstance(error, ChallengePage):
        return ApiUnavailable(f"challenge page at {route}")
    if isinstance(error, RobotsDisallowed):
        return ApiUnavailable(f"robots.txt keeps out of {route}")
    if isinstance(error, HttpStatusError) and error.status == 400 and page > 1:
        return _PastTheLastPage() if _error_code(error.body) == PAST_THE_LAST_PAGE else error
    if isinstance(error, HttpStatusError) and error.status in (400, 401, 403):
        return ApiUnavailable(f"HTTP {error.status} at {route}")
    return error


def post_id(post: Any) -> int:
    if not isinstance(post, Mapping):
        raise Malformed(f"not a post: {short(post)}")
    value = post.get("id")
    if type(value) is not int or value <= 0:
        raise Malformed(f"id {short(value)} is not a post id")
    return value


def wp_time(value: Any, name: str) -> datetime:
    """A WordPress `*_gmt` value (2026-06-08T03:04:05) as an aware UTC datetime."""
    if isinstance(value, str) and _WP_TIME.fullmatch(value):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise Malformed(f"{name} {short(value)} is not a date")


def describe(post: Any, index: int) -> str:
    try:
        return f"post {post_id(post)}"
    except Malformed:
        return f"item {index + 1} of an answer"


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def capped(watermark: str, now: datetime, served_at: datetime | None) -> tuple[str, str | None]:
    """The watermark, held a little past the present (by the server's clock or ours, whichever
    is earlier) when a post is dated past it, and why."""
    ceiling = (now if served_at is None else min(served_at, now)) + FUTURE_SLACK
    if wp_time(watermark, "the watermark") <= ceiling:
        return watermark, None
    held = ceiling.strftime("%Y-%m-%dT%H:%M:%S")
    return held, (
        f"a post is modified in the future ({watermark}); the watermark stays at {held} UTC, "
        "so that later edits are still found"
    )


def rendered(post: Mapping[str, Any], name: str) -> str:
    value = post.get(name)
    if isinstance(value, Mapping):
        return str(value.get("rendered") or "")
    return str(value or "")


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
