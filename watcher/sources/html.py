"""Listing pages walked with CSS selectors, each item followed to its article page."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from watcher import extract
from watcher.config import HtmlSourceConfig
from watcher.errors import LimitReached, ListingEmpty, SourceError
from watcher.models import Gone
from watcher.sources.base import (
    Cached,
    CheckContext,
    Listed,
    Observation,
    PageState,
    fetch_listing,
    read_articles,
    revisit_order,
    sweep_due,
    walked_on,
)
from watcher.urls import canonical_url


class HtmlSource:
    def __init__(self, config: HtmlSourceConfig) -> None:
        self.config = config
        self.selectors = config.page_selectors()

    def observe(self, ctx: CheckContext) -> Iterator[Observation]:
        listed: list[str] = []
        # where an earlier check stopped at its limits, on this very listing
        resume = ctx.view.cursor.get("resume_listing")
        if not isinstance(resume, Mapping) or resume.get("from") != self.config.url:
            resume = None
        url: str | None = resume["at"] if resume else self.config.url
        pages = int(resume["walked"]) if resume else 0
        seen_pages: set[str] = set()
        sweep = sweep_due(ctx, self.config.sweep_every)
        stopped: LimitReached | None = None
        while url and url not in seen_pages:
            if self.config.max_pages and pages >= self.config.max_pages:
                break
            seen_pages.add(url)
            try:
                result = fetch_listing(ctx, url, conditional=not sweep)
            except LimitReached as exc:
                stopped = exc
                break
            if isinstance(result, Gone):
                if pages == 0:
                    raise SourceError(f"listing page is gone (HTTP {result.status}): {url}")
                break
            if isinstance(result, Cached):
                items, next_url = list(result.derived["items"]), result.derived["next"]
            else:
                page_listing = extract.listing(result, self.selectors)
                items, next_url = list(page_listing.items), page_listing.next_url
                if items:
                    derived = {"items": items, "next": next_url}
                    yield PageState(url, result.validators, derived)
            if not items:
                if pages == 0:
                    raise ListingEmpty(
                        f"the listing {url} has no items matching {self.selectors.item!r} "
                        "(layout changed, or not the page it was)"
                    )
                break
            listed.extend(items)
            pages += 1
            url = next_url
        whole = stopped is None and resume is None
        cursor = {key: v for key, v in ctx.view.cursor.items() if key != "resume_listing"}
        if sweep and whole:
            cursor["last_sweep"] = ctx.now.isoformat()
        if stopped is not None:
            cursor["resume_listing"] = {"from": self.config.url, "at": url, "walked": pages}
        if whole:
            # only a walk from the first page to the last tells which releases left the listing
            yield Listed(tuple(canonical_url(item) for item in listed))
            listed = revisit_order(ctx.view, listed)
        urls = list(dict.fromkeys(listed))
        reading = read_articles(ctx, urls, self.selectors, history=True)
        yield from walked_on(reading, cursor, history=stopped is None)
        if stopped is not None:
            raise stopped
