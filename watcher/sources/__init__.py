"""Source kinds: each reads one kind of site and yields observations (see base.py).

The one registry of them: the config's `type:` values are `SourceKind`'s, and each kind here
says which spec it takes, which class reads it, and what it is (`watcher config kinds`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from watcher.options import FeedSpec, HtmlSpec, SourceKind, SourceSpec, WordPressSpec
from watcher.sources.base import Source
from watcher.sources.feed import FeedSource
from watcher.sources.html import HtmlSource
from watcher.sources.wordpress import WordPressSource

S = TypeVar("S", bound=SourceSpec)


@dataclass(frozen=True, slots=True)
class SourceKindInfo(Generic[S]):
    spec: type[S]
    read_with: Callable[[S], Source]
    description: str


SOURCE_KINDS: dict[SourceKind, SourceKindInfo[Any]] = {
    SourceKind.WORDPRESS: SourceKindInfo(
        WordPressSpec,
        WordPressSource,
        "a WordPress site: REST API (new, edited, removed posts), else category feeds "
        "and article pages",
    ),
    SourceKind.HTML: SourceKindInfo(
        HtmlSpec,
        HtmlSource,
        "listing pages walked with CSS selectors, each item's article page read",
    ),
    SourceKind.FEED: SourceKindInfo(
        FeedSpec,
        FeedSource,
        "an RSS or Atom feed, each item's article page (or the feed's own content) read",
    ),
}


def make_source(spec: SourceSpec) -> Source:
    kind = SOURCE_KINDS[spec.kind]
    if not isinstance(spec, kind.spec):
        raise TypeError(f"a {spec.kind} source is read from a {kind.spec.__name__}")
    return kind.read_with(spec)
