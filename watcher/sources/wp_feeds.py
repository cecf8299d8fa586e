"""A WordPress site whose REST API does not answer usefully: its category feeds
(`content:encoded`) and article pages, read the way the API's content is, so that switching
between the two paths never creates an edit."""

from __future__ import annotations

from collections.abc import Iterator

from watcher.errors import ListingEmpty
from watcher.options import WordPressSpec
from watcher.sources.base import (
    CheckContext,
    Listed,
    Observation,
    read_articles,
    revisit_order,
)
from watcher.sources.feed import FeedPage, feed_item_observations, walk_feed
from watcher.urls import canonical_url


def through_feeds(
    ctx: CheckContext, feeds: list[str], spec: WordPressSpec, *, sweep: bool
) -> Iterator[Observation]:
    max_pages = spec.max_pages if not ctx.view.baseline_done else 1
    pages: list[FeedPage] = []
    for feed_url in feeds:
        # One watched category may well be empty; all of them at once is not believable.
        for step in walk_feed(ctx, feed_url, max_pages, sweep=sweep, allow_empty=True):
            if isinstance(step, FeedPage):
                pages.append(step)
            else:
                yield step
    links = list(dict.fromkeys(item.link for page in pages for item in page.items))
    if not links and ctx.view.releases:
        raise ListingEmpty(f"every category feed of {spec.url.rstrip('/')} is empty")
    yield Listed(tuple(canonical_url(link) for link in links))
    without_content: list[str] = []
    done: set[str] = set()
    for page in pages:
        for item in page.items:
            if item.link in done:
                continue  # a post in two watched categories
            done.add(item.link)
            if item.content_html:
                yield from feed_item_observations(ctx, item, page.fresh, spec.selectors.exclude)
            else:
                without_content.append(item.link)
    extra = [url for url in revisit_order(ctx.view, links) if url not in done]
    ids = {item.link: item.wp_id for page in pages for item in page.items if item.wp_id}
    urls = ctx.revisit.filtered(ctx.view, without_content) + extra
    yield from read_articles(ctx, urls, spec.selectors, wp_ids=ids, history=True)
