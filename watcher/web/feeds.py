"""The feeds as files (ETag, Last-Modified, 304), their list, OPML, health and metrics.

A feed's path is looked up in a fixed table, never joined onto a directory, so nothing else
under `state/` (or anywhere) can be reached."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from watcher.topics import Topic
from watcher.web.rendering import render

if TYPE_CHECKING:
    from watcher.web.app import Site

# Prometheus's text exposition format, version 0.0.4
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FEED_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
}


class FeedFiles:
    """Every feed file the server may send, by its path (nothing else is ever looked up), and
    the list of feeds the pages link to."""

    def __init__(self, feeds_dir: Path, topics: Mapping[str, Topic], base_url: str) -> None:
        self.files = {
            f"/feeds/{name}.{kind}": feeds_dir / f"{name}.{kind}"
            for name in ("all", "health")
            for kind in ("atom", "rss")
        }
        for name in topics:
            for kind in ("atom", "rss"):
                self.files[f"/feeds/topics/{name}.{kind}"] = feeds_dir / "topics" / f"{name}.{kind}"
        self.listed = [
            ("/feeds/all", "All changes"),
            *((f"/feeds/topics/{name}", topic.title) for name, topic in topics.items()),
            ("/feeds/health", "Source health (sources failing for too long)"),
        ]
        self.opml = render("feeds.opml", feeds=self.listed, base_url=base_url).encode()


def routes(site: Site) -> list[BaseRoute]:
    def feed(request: Request) -> Response:
        file = site.feeds.files.get(request.scope["path"])
        if file is None:
            return not_found()
        if site.refresh is not None:
            site.refresh()
        return _file(file, request)

    def opml(_request: Request) -> Response:
        return Response(site.feeds.opml, media_type="text/x-opml; charset=utf-8")

    def healthz(_request: Request) -> Response:
        ok, detail = site.health()
        lines = ["ok" if ok else "unhealthy", *([detail] if detail else [])]
        return PlainTextResponse("".join(f"{line}\n" for line in lines), 200 if ok else 503)

    def metrics(_request: Request) -> Response:
        assert site.metrics is not None
        # reads the database: a sync route, in a worker thread like the others
        return Response(site.metrics(), media_type=METRICS_TYPE)

    def feed_list(_request: Request) -> Response:
        return HTMLResponse(render("feeds.html", site=site, feeds=site.feeds.listed))

    return [
        *([Route("/metrics", metrics)] if site.metrics is not None else []),
        Route("/feeds/opml", opml),
        Route("/healthz", healthz),
        Route("/feeds", feed_list),
        Route("/feeds/", feed_list),
        # sync endpoints run in a worker thread: reading a file or the database never holds
        # up the other connections
        Route("/feeds/{name:path}", feed),
    ]


def index_routes(site: Site) -> list[BaseRoute]:
    """Without a database to show, the front page is the list of feeds."""

    def feed_list(_request: Request) -> Response:
        return HTMLResponse(render("feeds.html", site=site, feeds=site.feeds.listed))

    return [Route("/", feed_list)]


def not_found(what: str = "not found") -> Response:
    return PlainTextResponse(f"{what}\n", status_code=404)


def _file(file: Path, request: Request) -> Response:
    try:
        with file.open("rb") as handle:  # one file: replaced feeds never mix
            modified = datetime.fromtimestamp(int(os.fstat(handle.fileno()).st_mtime), UTC)
            body = handle.read()
    except FileNotFoundError:
        return not_found("not built yet")
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Cache-Control": "no-cache",
    }
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    return Response(body, headers=headers, media_type=FEED_TYPES[file.suffix])


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    match = request.headers.get("If-None-Match")
    if match is not None:
        return etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            return parsedate_to_datetime(since) >= modified
        except (TypeError, ValueError):
            return False
    return False
