"""The topics (their releases, terms and feeds) and the sources' health."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from watcher.models import ReleaseFilter, SourceStatus
from watcher.options import SourceSpec
from watcher.web.rendering import render

if TYPE_CHECKING:
    from watcher.store import Store
    from watcher.web.app import Site

Page = Callable[[Callable[[Request, "Store"], Response]], Callable[[Request], Response]]
TOPIC_PAGE = 50


def routes(site: Site, page: Page) -> list[BaseRoute]:
    def topics(_request: Request, store: Store) -> Response:
        return _html("topics.html", site, sizes=store.topic_sizes())

    def topic(request: Request, store: Store) -> Response:
        name = request.path_params["name"]
        found = site.topics.get(name)
        if found is None:
            return PlainTextResponse("no such topic\n", status_code=404)
        releases = store.release_page(ReleaseFilter(topic=name), offset=0, limit=TOPIC_PAGE)
        path = f"/feeds/topics/{name}"
        return HTMLResponse(
            render(
                "topic.html",
                site=site,
                topic_name=name,
                topic=found,
                releases=releases,
                topics_of=store.release_topics([r.id for r in releases]),
                alternates=[(path, found.title)],
                feed=path,
            )
        )

    def sources(_request: Request, store: Store) -> Response:
        statuses = store.statuses()
        return _html("sources.html", site, rows=[(s, _next(site, store, s)) for s in statuses])

    return [
        Route("/topics", page(topics)),
        Route("/topics/{name}", page(topic)),
        Route("/sources", page(sources)),
    ]


def _next(site: Site, store: Store, status: SourceStatus) -> datetime | None:
    """The next check: the daemon's scheduler knows it; else the daemons' leases in the
    database; else the last check plus the source's `every`."""
    if site.next_checks is not None:
        return site.next_checks().get(status.name)
    due = store.next_due().get(status.name)
    if due is not None:
        return due
    spec = _spec(site, status.name)
    if spec is None or status.last_run is None:
        return None
    return status.last_run.started_at + spec.every


def _spec(site: Site, name: str) -> SourceSpec | None:
    return next((s for s in site.sources if s.name == name), None)


def _html(template: str, site: Site, **values: Any) -> HTMLResponse:
    return HTMLResponse(render(template, site=site, alternates=site.feeds.listed[:1], **values))
