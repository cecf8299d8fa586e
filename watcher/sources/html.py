"""Listing pages walked with CSS selectors, each item followed to its article page."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from watcher import extract
from watcher.errors import LimitReached, ListingEmpty, SourceError
from watcher.models import Gone
from watcher.options import HtmlSpec
from watcher.sources.base import (
    Cached,
    CheckContext,
    Cursor,
    Listed,
    Note,
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
    def __init__(self, config: HtmlSpec) -> None:
        self.config = config
        self.selectors = config.selectors

    def observe(self, ctx: CheckContext) -> Iterator[Observation]:
        listed: list[str] = []
        # where an earlier check stopped at its limits, on this very listing
        resume = ctx.view.cursor.get("resume_listing")
        if not isinstance(resume, Mapping) or resume.get("from") != self.config.url:
            resume = None
        url: str | None = resume["at"] if resume else self.config.url
        pages = int(resume["walked"]) if resume else 0
        # the pages of this walk, over every check it took: a "next" link back to an earlier
        # page ends it, whenever that earlier page was walked
        seen_pages: list[str] = list(resume["seen"]) if resume else []
        sweep = sweep_due(ctx, self.config.sweep_every)
        stopped: LimitReached | None = None
        cursor = {key: v for key, v in ctx.view.cursor.items() if key != "resume_listing"}
        while url and url not in seen_pages:
            if self.config.max_pages and pages >= self.config.max_pages:
                break
            try:
                result = fetch_listing(ctx, url, conditional=not sweep)
            except LimitReached as exc:
                stopped = exc
                break
            items: list[str] = []
            if isinstance(result, Cached):
                items, next_url = list(result.derived["items"]), result.derived["next"]
            elif not isinstance(result, Gone):
                page_listing = extract.listing(result, self.selectors)
                items, next_url = list(page_listing.items), page_listing.next_url
                if items:
                    derived = {"items": items, "next": next_url}
                    yield PageState(url, result.validators, derived)
            if not items and url == resume_at(resume):
                # the listing changed since the walk was cut short: the next walks it afresh
                yield Note(f"the listing moved while it was walked ({url}); walking it again")
                yield Cursor(cursor)
                return
            if isinstance(result, Gone):
                if pages == 0:
                    raise SourceError(f"listing page is gone (HTTP {result.status}): {url}")
                break
            if not items:
                if pages == 0:
                    raise ListingEmpty(
                        f"the listing {url} has no items matching {self.selectors.item!r} "
                        "(layout changed, or not the page it was)"
                    )
                break
            seen_pages.append(url)
            listed.extend(items)
            pages += 1
            url = next_url
        whole = stopped is None and resume is None
        if sweep and stopped is None:
            cursor["last_sweep"] = ctx.now.isoformat()
        if stopped is not None:
            at = {"at": url, "walked": pages, "seen": seen_pages}
            cursor["resume_listing"] = {"from": self.config.url, **at}
        if whole:
            # only a walk from the first page to the last tells which releases left the listing
            yield Listed(tuple(canonical_url(item) for item in listed))
            listed = revisit_order(ctx.view, listed)
        urls = list(dict.fromkeys(listed))
        reading = read_articles(ctx, urls, self.selectors, history=True)
        yield from walked_on(ctx, reading, cursor, history=stopped is None)
        if stopped is not None:
            raise stopped


def resume_at(resume: Mapping[str, Any] | None) -> str | None:
    return str(resume["at"]) if resume else None
