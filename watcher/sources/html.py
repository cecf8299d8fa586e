"""Listing pages walked with CSS selectors, each item followed to its article page."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watcher import extract
from watcher.errors import LimitReached, ListingEmpty, SourceError
from watcher.models import Gone, Page
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
    sweep_due,
    to_read,
    walked_on,
)
from watcher.urls import canonical_url


@dataclass
class _Walk:
    """How far a walk of the listing got, over this check and any it goes on from."""

    url: str | None  # the next page to walk
    pages: int = 0  # walked, over every check this walk took (max_pages counts them all)
    seen: list[str] = field(default_factory=list)  # a "next" link back to one ends the walk
    listed: list[str] = field(default_factory=list)  # this check's items
    stopped: LimitReached | None = None  # by this check's limits
    moved: bool = False  # the page an earlier check stopped at is no longer there
    cut: bool = False  # after its first pages, as the revisit policy wants between deep walks


class HtmlSource:
    def __init__(self, config: HtmlSpec) -> None:
        self.config = config
        self.selectors = config.selectors

    def observe(self, ctx: CheckContext) -> Iterator[Observation]:
        # where an earlier check stopped at its limits, on this very listing
        resume = ctx.view.cursor.get("resume_listing")
        if not isinstance(resume, Mapping) or resume.get("from") != self.config.url:
            resume = None
        sweep = sweep_due(ctx, self.config.sweep_every)
        walk = _Walk(resume["at"], int(resume["walked"]), list(resume["seen"])) if resume else None
        resumed = walk is not None
        # the first pages at every check; all of them when the revisit policy says (a walk an
        # earlier check began is finished)
        deep = resumed or ctx.revisit.ripe(_when(ctx.view.cursor.get("deep_walk")))
        shallow = None if deep or ctx.revisit.policy is None else ctx.revisit.policy.first_pages
        walk = yield from self._walk(
            ctx, walk or _Walk(self.config.url), sweep=sweep, shallow=shallow
        )
        cursor = {key: v for key, v in ctx.view.cursor.items() if key != "resume_listing"}
        if walk.moved:
            # the listing changed since the walk was cut short: the next walks it afresh
            yield Note(f"the listing moved while it was walked ({walk.url}); walking it again")
            yield Cursor(cursor)
            return
        if walk.stopped is None and not walk.cut:
            cursor["deep_walk"] = ctx.now.isoformat()
            if sweep:
                cursor["last_sweep"] = ctx.now.isoformat()
        if walk.stopped is not None:
            at = {"at": walk.url, "walked": walk.pages, "seen": walk.seen}
            cursor["resume_listing"] = {"from": self.config.url, **at}
        whole = walk.stopped is None and not resumed and not walk.cut
        if whole:
            # only a walk from the first page to the last tells which releases left the listing
            yield Listed(tuple(canonical_url(item) for item in walk.listed))
        urls = to_read(ctx, walk.listed, whole=whole)
        reading = read_articles(ctx, urls, self.selectors, history=True)
        ended = walk.stopped is None and not walk.cut
        yield from walked_on(ctx, reading, cursor, history=ended)
        if walk.stopped is not None:
            raise walk.stopped

    def _walk(
        self, ctx: CheckContext, walk: _Walk, *, sweep: bool, shallow: int | None
    ) -> Generator[Observation, None, _Walk]:
        """The listing's pages from `walk.url` on, to its end, `max_pages`, this check's
        limits, or (`shallow`) its first pages only; each page's items parsed once."""
        first = walk.url
        while walk.url and walk.url not in walk.seen:
            if self.config.max_pages and walk.pages >= self.config.max_pages:
                break
            if shallow is not None and walk.pages >= shallow:
                walk.cut = True
                break
            try:
                result = fetch_listing(ctx, walk.url, conditional=not sweep)
            except LimitReached as exc:
                walk.stopped = exc
                break
            items, next_url = yield from self._items(walk.url, result)
            if not items:
                walk.moved = walk.url == first and walk.pages > 0
                if walk.pages == 0:
                    self._refuse_empty(walk.url, result)
                break
            walk.seen.append(walk.url)
            walk.listed.extend(items)
            walk.pages += 1
            walk.url = next_url
        return walk

    def _items(
        self, url: str, result: Page | Cached | Gone
    ) -> Generator[Observation, None, tuple[list[str], str | None]]:
        if isinstance(result, Gone):
            return [], None
        if isinstance(result, Cached):
            return list(result.derived["items"]), result.derived["next"]
        page_listing = extract.listing(result, self.selectors)
        items, next_url = list(page_listing.items), page_listing.next_url
        if items:
            yield PageState(url, result.validators, {"items": items, "next": next_url})
        return items, next_url

    def _refuse_empty(self, url: str, result: Page | Cached | Gone) -> None:
        """The first page of a walk from the top with no items: a failed check, never the
        removal of every release."""
        if isinstance(result, Gone):
            raise SourceError(f"listing page is gone (HTTP {result.status}): {url}")
        raise ListingEmpty(
            f"the listing {url} has no items matching {self.selectors.item!r} "
            "(layout changed, or not the page it was)"
        )


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
