"""The Starlette application: what a `Site` shows, behind one guard (GET and HEAD only, the
security headers on every answer). Routes live in feeds.py and pages.py; they ask the store's
readers for values and never hold SQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watcher.options import SourceSpec
from watcher.topics import Topic
from watcher.web import feeds, pages

if TYPE_CHECKING:
    from watcher.store import Store

# Pages carry no script and load nothing from elsewhere; their style is inline, their one form
# (the search) submits here.
HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
METHODS = ("GET", "HEAD")


@dataclass
class Site:
    """What the application serves. `refresh`, called before a feed is served, brings the files
    up to date; `reader`, the store, gives the pages (without it only the feeds are served);
    `next_checks`, each source's next scheduled check as the daemon's scheduler knows it (else
    the pages ask the database); `metrics`, the text of `/metrics` (else no such route)."""

    feeds_dir: Path
    health: Callable[[], tuple[bool, str]]
    topics: Mapping[str, Topic] = field(default_factory=dict)
    base_url: str = ""
    refresh: Callable[[], None] | None = None
    reader: Store | None = None
    next_checks: Callable[[], Mapping[str, datetime | None]] | None = None
    title: str = "watcher"
    sources: tuple[SourceSpec, ...] = ()  # for their schedule, when no scheduler says it
    metrics: Callable[[], bytes] | None = None  # `/metrics`, in Prometheus's text format

    def __post_init__(self) -> None:
        self.feeds = feeds.FeedFiles(self.feeds_dir, self.topics, self.base_url)

    def set_topics(self, topics: Mapping[str, Topic]) -> None:
        """After a reload: replaced whole, so a request sees the old topics or the new."""
        self.feeds = feeds.FeedFiles(self.feeds_dir, dict(topics), self.base_url)
        self.topics = dict(topics)


def create_app(site: Site) -> ASGIApp:
    routes = feeds.routes(site)
    routes += pages.routes(site) if site.reader is not None else feeds.index_routes(site)
    app = Starlette(routes=routes)
    # a path is served by its route or not at all: no redirects to guessed neighbours
    app.router.redirect_slashes = False
    return Guard(app)


class Guard:
    """Answers only GET and HEAD (405 otherwise, before any route runs), and adds the security
    headers to every answer: no type sniffing, no referrer, and on HTML the content policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = HTML_POLICY
            await send(message)

        if scope["method"] not in METHODS:
            refused = PlainTextResponse(
                "method not allowed: this server only reads\n",
                status_code=405,
                headers={"Allow": ", ".join(METHODS)},
            )
            await refused(scope, receive, send_guarded)
            return
        await self.app(scope, receive, send_guarded)
