"""RSS/Atom feeds (feedparser), each item followed to its article page or read from the feed."""

from __future__ import annotations

import calendar
import re
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from watcher import extract
from watcher.charsets import feed_bytes
from watcher.errors import ExtractError, LimitReached, ListingEmpty
from watcher.models import Gone, Origin, Page
from watcher.options import FeedSpec
from watcher.sources.base import (
    Cached,
    CheckContext,
    Cursor,
    HistoryRead,
    ItemFailed,
    Listed,
    Note,
    Observation,
    Observed,
    PageState,
    Unchanged,
    fetch_listing,
    read_articles,
    revisit_order,
    sweep_due,
    to_read,
    walked_on,
)
from watcher.text import clean_line
from watcher.urls import canonical_url, is_web_url, release_key, same_site

_GUID_POST_ID = re.compile(r"[?&]p=(\d+)$")


@dataclass(frozen=True, slots=True)
class FeedItem:
    link: str
    title: str
    published: datetime | None
    content_html: str | None  # content:encoded / atom:content, when the feed carries it
    wp_id: int | None  # from a WordPress guid such as https://asean.org/?p=123
    summary_html: str | None = None


def parse_feed(page: Page) -> list[FeedItem]:
    """The items of a feed that can be read (see `read_feed`)."""
    return read_feed(page)[0]


def read_feed(page: Page) -> tuple[list[FeedItem], list[ItemFailed]]:
    """The items of a feed, and those that could not be read: one malformed item does not keep
    the others from being stored."""
    try:
        parsed = feedparser.parse(
            feed_bytes(page.body, page.encoding),
            response_headers={"content-type": page.content_type or "application/xml"},
            sanitize_html=False,  # sanitised later, with the same rules as pages
            resolve_relative_uris=False,
        )
    except (ValueError, OverflowError) as exc:  # what a malformed feed can raise from deep down
        raise ExtractError(f"unreadable feed ({exc}): {page.final_url}") from exc
    if parsed.bozo and not parsed.entries:
        reason = str(parsed.get("bozo_exception", "not a feed")).splitlines()[0]
        raise ExtractError(f"not a feed ({reason}): {page.final_url}")
    items, failures = [], []
    atom = str(parsed.get("version", "")).startswith("atom")
    for entry in parsed.entries:
        link = entry.get("link")
        if not link or not is_web_url(link):
            continue  # an item readers could not follow safely is no release
        try:
            items.append(_item(entry, link, atom=atom))
        except (ExtractError, ValueError, OverflowError) as exc:
            failures.append(ItemFailed(link, str(exc)))
    return items, failures


def _item(entry: Any, link: str, *, atom: bool) -> FeedItem:
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(when), UTC) if when else None
    content = entry.get("content")
    content_html = content[0].get("value") if content else None
    guid = entry.get("id", "")
    match = _GUID_POST_ID.search(guid)
    wp_id = int(match.group(1)) if match and same_site(guid, link) else None
    title = _title(entry, atom=atom) or link
    return FeedItem(link, title, published, content_html, wp_id, entry.get("summary"))


def _title(entry: Any, *, atom: bool) -> str:
    """An item's title as its format defines it. An Atom title says whether it is text, HTML
    or XHTML; an RSS title is text (WordPress writes it so: `Tom <tom@example.org> resigns`
    is those words), whatever feedparser guesses from the look of it."""
    detail = entry.get("title_detail") or {}
    value = str(detail.get("value", entry.get("title", "")))
    if atom and detail.get("type") in ("text/html", "application/xhtml+xml"):
        return extract.html_text(value)
    return clean_line(value)


def feed_page_url(url: str, page: int) -> str:
    """WordPress feeds page with `?paged=N`."""
    if page <= 1:
        return url
    return f"{url}{'&' if '?' in url else '?'}paged={page}"


@dataclass(frozen=True, slots=True)
class FeedPage:
    items: list[FeedItem]
    fresh: bool  # parsed now; False when the bytes were unchanged and the items come from cache
    number: int = 1


def walk_feed(
    ctx: CheckContext,
    url: str,
    max_pages: int,
    *,
    sweep: bool,
    allow_empty: bool = False,
    first: int = 1,
) -> Iterator[Observation | FeedPage]:
    """Yields PageState observations and each feed page's items; stops at a missing page.
    An empty first page is a failed check (unless allowed), never the removal of every release.
    `first` is where an earlier check stopped at its limits."""
    for number in range(first, (max_pages or 10_000) + 1):
        page_url = feed_page_url(url, number)
        result = fetch_listing(ctx, page_url, conditional=not sweep)
        if isinstance(result, Gone):
            if number == 1:
                raise ListingEmpty(f"the feed is gone (HTTP {result.status}): {page_url}")
            return
        if isinstance(result, Cached):
            items, fresh = [_item_from_dict(item) for item in result.derived["items"]], False
            failures = [ItemFailed(*failure) for failure in result.derived.get("failed", [])]
        else:
            (items, failures), fresh = read_feed(result), True
            derived = {
                "items": [_item_dict(i) for i in items],
                "failed": [[failure.item, failure.reason] for failure in failures],
            }
            yield PageState(page_url, result.validators, derived)
        yield from failures
        if not items:
            if number == 1 and not allow_empty:
                raise ListingEmpty(f"the feed has no items: {page_url}")
            return
        yield FeedPage(items, fresh, number)


def _item_dict(item: FeedItem) -> dict[str, object]:
    return {
        "link": item.link,
        "title": item.title,
        "published": item.published.isoformat() if item.published else None,
        "content_html": item.content_html,
        "wp_id": item.wp_id,
        "summary_html": item.summary_html,
    }


def _item_from_dict(values: dict[str, Any]) -> FeedItem:
    published = values["published"]
    return FeedItem(
        link=values["link"],
        title=values["title"],
        published=datetime.fromisoformat(published) if published else None,
        content_html=values["content_html"],
        wp_id=values["wp_id"],
        summary_html=values["summary_html"],
    )


def feed_item_observations(
    ctx: CheckContext, item: FeedItem, fresh: bool, exclude: tuple[str, ...]
) -> Iterator[Observation]:
    """A release read from the feed's own content (no page request); nothing is parsed again
    when the feed's bytes did not change."""
    known = ctx.view.releases.get(release_key(item.link, item.wp_id))
    known = known or ctx.view.known_url(canonical_url(item.link))
    if known is not None and not fresh and known.status == "active":
        yield Unchanged(known.key)
        return
    try:
        yield item_observation(item, exclude)
    except ExtractError as exc:
        yield ItemFailed(item.link, str(exc))


def item_observation(item: FeedItem, exclude: tuple[str, ...]) -> Observed:
    body = item.content_html or item.summary_html or ""
    text, html, attachments = extract.fragment(body, item.link, exclude)
    snapshot = extract.snapshot(
        url=item.link,
        title=item.title,
        published=item.published,
        text=text,
        html=html,
        attachments=attachments,
        origin=Origin.FEED,
        wp_id=item.wp_id,
    )
    return Observed(snapshot)


class FeedSource:
    def __init__(self, config: FeedSpec) -> None:
        self.config = config
        self.selectors = config.selectors

    def observe(self, ctx: CheckContext) -> Iterator[Observation]:
        sweep = sweep_due(ctx, self.config.sweep_every)
        # where an earlier check stopped at its limits, on this very feed
        resume = ctx.view.cursor.get("resume_page")
        if not isinstance(resume, Mapping) or resume.get("from") != self.config.url:
            resume = None
        first = int(resume["at"]) if resume else 1
        pages: list[FeedPage] = []
        stopped = yield from self._walk(ctx, first, sweep, pages)
        cursor = {key: v for key, v in ctx.view.cursor.items() if key != "resume_page"}
        if resume is not None and not pages and stopped is None:
            # the feed changed since the walk was cut short: the next walks it afresh
            yield Note(f"the feed moved while it was walked (page {first}); walking it again")
            yield Cursor(cursor)
            return
        if sweep and stopped is None:
            cursor["last_sweep"] = ctx.now.isoformat()
        if stopped is not None:
            at = pages[-1].number + 1 if pages else first
            cursor["resume_page"] = {"from": self.config.url, "at": at}
        whole = stopped is None and resume is None
        links = [item.link for page in pages for item in page.items]
        if whole:
            # only a walk from the first page tells which releases left the feed
            yield Listed(tuple(canonical_url(link) for link in links))
        if self.config.follow:
            ids = {item.link: item.wp_id for page in pages for item in page.items if item.wp_id}
            urls = to_read(ctx, links, whole=whole)
            reading = read_articles(ctx, urls, self.selectors, wp_ids=ids, history=True)
            yield from walked_on(ctx, reading, cursor, history=stopped is None)
        else:
            yield from self._from_the_feed(ctx, pages, history=stopped is None, whole=whole)
            yield Cursor(cursor)
        if stopped is not None:
            raise stopped

    def _walk(
        self, ctx: CheckContext, first: int, sweep: bool, pages: list[FeedPage]
    ) -> Generator[Observation, None, LimitReached | None]:
        """The feed's pages from `first` on, into `pages`; what stopped the walk, if a limit."""
        max_pages = self.config.max_pages if not ctx.view.baseline_done else 1
        try:
            for step in walk_feed(ctx, self.config.url, max_pages, sweep=sweep, first=first):
                if isinstance(step, FeedPage):
                    pages.append(step)
                else:
                    yield step
        except LimitReached as exc:
            return exc
        return None

    def _from_the_feed(
        self, ctx: CheckContext, pages: list[FeedPage], *, history: bool, whole: bool
    ) -> Iterator[Observation]:
        """Releases read from the feed's own content."""
        for page in pages:
            for item in page.items:
                yield from feed_item_observations(ctx, item, page.fresh, self.selectors.exclude)
        if history:
            yield HistoryRead()
        if whole:
            # a release that left the feed (or was missing last time) is asked for by its
            # page, only to know whether it is still there: its content was read from the
            # feed, not the page
            links = [item.link for page in pages for item in page.items]
            listed = set(links)
            left = [url for url in revisit_order(ctx.view, links) if url not in listed]
            yield from read_articles(ctx, left, self.selectors, existence_only=True)
