"""The pages over the stored history: latest changes, releases (filtered, searched), a release
with its versions and the diff of any two. Each asks the store's readers for values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from watcher.linking import origin_first
from watcher.models import ChangeKind, ReleaseFilter, ReleaseStatus, VersionView
from watcher.render import compare, inline_html, side_by_side_html
from watcher.web import status
from watcher.web.rendering import render

if TYPE_CHECKING:
    from watcher.store import Store
    from watcher.web.app import Site

PER_PAGE = 50


class BadRequest(ValueError):
    """A query parameter that means nothing: answered 400 with the reason."""


def routes(site: Site) -> list[BaseRoute]:
    def page(handler: Callable[[Request, Store], Response]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            assert site.reader is not None  # pages are routed only with a reader
            try:
                return handler(request, site.reader)
            except BadRequest as exc:
                return PlainTextResponse(f"{exc}\n", status_code=400)

        return endpoint

    def latest(request: Request, store: Store) -> Response:
        number = _page_number(request)
        entries = store.change_page(offset=(number - 1) * PER_PAGE, limit=PER_PAGE + 1)
        return _html(
            "changes.html",
            site,
            entries=entries[:PER_PAGE],
            pages=_pages(request, number, len(entries) > PER_PAGE),
        )

    def releases(request: Request, store: Store) -> Response:
        number = _page_number(request)
        wanted = release_filter(request.query_params)
        found = store.release_page(wanted, offset=(number - 1) * PER_PAGE, limit=PER_PAGE + 1)
        shown = found[:PER_PAGE]
        return _html(
            "releases.html",
            site,
            releases=shown,
            topics_of=store.release_topics([r.id for r in shown]),
            wanted=wanted,
            sources=[s.name for s in store.statuses()],
            kinds=list(ChangeKind),
            statuses=list(ReleaseStatus),
            values=request.query_params,
            pages=_pages(request, number, len(found) > PER_PAGE),
        )

    def release(request: Request, store: Store) -> Response:
        history = store.history(str(request.path_params["id"]))
        if history is None:
            return PlainTextResponse("no such release\n", status_code=404)
        versions = {v.number: v for v in history.versions}
        compared = _compared(request, versions)
        return _html(
            "release.html",
            site,
            history=history,
            current=history.versions[-1] if history.versions else None,
            topics=store.release_topics([history.release.id]).get(history.release.id, {}),
            compared=compared,
            story=origin_first(site.sources, history.story),
        )

    return [
        Route("/", page(latest)),
        Route("/releases", page(releases)),
        Route("/releases/{id:int}", page(release)),
        *status.routes(site, page),
    ]


def release_filter(params: Mapping[str, str]) -> ReleaseFilter:
    """The filters of /releases from its query string; an empty field is no filter."""

    def value(name: str) -> str | None:
        return params.get(name, "").strip() or None

    kind_text, status_text = value("kind"), value("status")
    try:
        kind = ChangeKind(kind_text) if kind_text else None
        status_ = ReleaseStatus(status_text) if status_text else None
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    until = _day(value("until"))
    return ReleaseFilter(
        source=value("source"),
        topic=value("topic"),
        kind=kind,
        status=status_,
        since=_day(value("since")),
        until=until + timedelta(days=1) if until else None,  # the whole of the last day
        search=value("q"),
    )


def _day(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    if not text.isdigit() or int(text) < 1:
        raise BadRequest(f"page {text!r} is not a page number")
    return int(text)


def _pages(request: Request, number: int, more: bool) -> dict[str, str | None]:
    """Links to the previous and next page, keeping the other parameters."""

    def link(to: int) -> str:
        return "?" + urlencode({**request.query_params, "page": str(to)})

    return {
        "previous": link(number - 1) if number > 1 else None,
        "next": link(number + 1) if more else None,
    }


def _compared(request: Request, versions: Mapping[int, VersionView]) -> dict[str, Any] | None:
    """Two versions (`?from=N&to=M`) as a diff, inline and side by side."""
    first, second = request.query_params.get("from"), request.query_params.get("to")
    if first is None or second is None:
        return None
    if not (first.isdigit() and second.isdigit()):
        raise BadRequest("from and to are version numbers")
    old, new = versions.get(int(first)), versions.get(int(second))
    if old is None or new is None:
        raise BadRequest(f"versions are numbered 1 to {len(versions)}")
    # the same comparison, summary line and marks as the feeds' and the mail's
    edit = compare(old, new)
    return {
        "old": old,
        "new": new,
        "summary": edit.summary.line,
        "inline": inline_html(edit),
        "sides": side_by_side_html(edit),
    }


def _html(template: str, site: Site, **values: Any) -> HTMLResponse:
    return HTMLResponse(render(template, site=site, alternates=site.feeds.listed[:1], **values))
