"""Source kinds: each reads one kind of site and yields observations (see base.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from watcher.sources.base import Source
from watcher.sources.feed import FeedSource
from watcher.sources.html import HtmlSource
from watcher.sources.wordpress import WordPressSource

SOURCE_KINDS: dict[str, Callable[[Any], Source]] = {
    "wordpress": WordPressSource,
    "html": HtmlSource,
    "feed": FeedSource,
}

DESCRIPTIONS = {
    "wordpress": "a WordPress site: REST API (new, edited, removed posts), else category feeds "
    "and article pages",
    "html": "listing pages walked with CSS selectors, each item's article page read",
    "feed": "an RSS or Atom feed, each item's article page (or the feed's own content) read",
}


def make_source(config: Any) -> Source:
    return SOURCE_KINDS[config.type](config)
