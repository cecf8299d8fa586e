"""The daemon's read-only HTTP server: the feeds (with ETag, Last-Modified and 304) and health.

Only its own routes are served: a path is looked up in a fixed table, never joined onto a
directory, so nothing else under `state/` (or anywhere) can be reached.
"""

from __future__ import annotations

import hashlib
import html
import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from watcher import __version__

log = logging.getLogger("watcher.web")

FEED_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
}
HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


IDLE_TIMEOUT = 20.0  # seconds a connection may stay silent, mid-request or before one
MAX_CONNECTIONS = 32  # connections served at once, one thread each
LISTEN_BACKLOG = 128  # connections waiting for one of those threads


class WebServer:
    def __init__(
        self,
        listen: str,
        feeds_dir: Path,
        health: Callable[[], tuple[bool, str]],
        *,
        topics: Mapping[str, str] | None = None,
        base_url: str = "",
        timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        refresh: Callable[[], None] | None = None,
    ) -> None:
        """`topics`: name -> title of each per-topic feed, served under /feeds/topics/;
        `refresh`, called before a feed is served, brings the files up to date."""
        host, _, port = listen.rpartition(":")
        self.feeds_dir = feeds_dir
        self.refresh = refresh
        self.base_url = base_url
        self.routes = Routes(feeds_dir, dict(topics or {}), base_url)
        handler = _handler(self, health)
        # Applied to each connection's socket: a client that opens a connection and sends
        # nothing, or half a request, is dropped instead of keeping its thread forever.
        handler.timeout = timeout
        self.httpd = _BoundedServer((host.strip("[]"), int(port)), handler, max_connections)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            # how soon a stop is noticed: the daemon exits within that of SIGTERM
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": STOP_POLL},
            name="web",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def set_topics(self, topics: Mapping[str, str]) -> None:
        """After a reload: the routes are replaced whole, so a request sees old or new."""
        self.routes = Routes(self.feeds_dir, dict(topics), self.base_url)

    def stop(self) -> None:
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


REQUEST_THREAD = "watcher web request"
STOP_POLL = 0.05  # seconds


class _BoundedServer(ThreadingHTTPServer):
    """At most `max_connections` handler threads. Past them, the accepting thread waits for one
    to end (each ends within the idle timeout), so further clients wait in the listen backlog
    rather than each costing a thread."""

    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], max_connections: int
    ) -> None:
        self.slots = threading.BoundedSemaphore(max_connections)
        self.stopping = threading.Event()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Polled, not blocked on: `stop()` must not wait for a slot to free up.
        while not self.slots.acquire(timeout=0.2):
            if self.stopping.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        threading.current_thread().name = REQUEST_THREAD  # told apart from other servers'
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class Routes:
    """Every file the server may send, by its path (nothing else is ever looked up), and the
    pages made from the list of feeds."""

    def __init__(self, feeds_dir: Path, topics: dict[str, str], base_url: str) -> None:
        self.files = {
            f"/feeds/{name}.{kind}": feeds_dir / f"{name}.{kind}"
            for name in ("all", "health")
            for kind in ("atom", "rss")
        }
        for name in topics:
            for kind in ("atom", "rss"):
                self.files[f"/feeds/topics/{name}.{kind}"] = feeds_dir / "topics" / f"{name}.{kind}"
        self.index = _index_page(topics)
        self.opml = _opml(topics, base_url)


class _Handler(BaseHTTPRequestHandler):
    """One request to the server: its routes come from `web`, set on the subclass each server
    makes (`_handler`)."""

    web: WebServer
    health: Callable[[], tuple[bool, str]]
    server_version = f"watcher/{__version__}"
    sys_version = ""

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self, *, send_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        routes = self.web.routes
        if path in ("/", "/feeds", "/feeds/"):
            self._send_html(routes.index, send_body)
        elif path == "/feeds/opml":
            self._send(HTTPStatus.OK, "text/x-opml; charset=utf-8", routes.opml, send_body)
        elif path == "/healthz":
            ok, detail = self.health()
            lines = ["ok" if ok else "unhealthy", *([detail] if detail else [])]
            body = "".join(f"{line}\n" for line in lines).encode()
            status = HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE
            self._send(status, "text/plain; charset=utf-8", body, send_body)
        elif path in routes.files:
            if self.web.refresh is not None:
                self.web.refresh()
            self._send_file(routes.files[path], send_body)
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n", send_body)

    def _send_file(self, file: Path, send_body: bool) -> None:
        try:
            with file.open("rb") as handle:  # one file: replaced feeds never mix
                modified = datetime.fromtimestamp(int(os.fstat(handle.fileno()).st_mtime), UTC)
                body = handle.read()
        except FileNotFoundError:
            self._send(
                HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not built yet\n", send_body
            )
            return
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True)}
        headers["Cache-Control"] = "no-cache"
        if self._not_modified(etag, modified):
            self._send(HTTPStatus.NOT_MODIFIED, None, b"", False, headers)
            return
        self._send(HTTPStatus.OK, FEED_TYPES[file.suffix], body, send_body, headers)

    def _not_modified(self, etag: str, modified: datetime) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:
            return etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return parsedate_to_datetime(since) >= modified
            except (TypeError, ValueError):
                return False
        return False

    def _send_html(self, page: str, send_body: bool) -> None:
        headers = {"Content-Security-Policy": HTML_POLICY}
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", page.encode(), send_body, headers)

    def _send(
        self,
        status: HTTPStatus,
        content_type: str | None,
        body: bytes,
        send_body: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)


def _handler(
    web: WebServer, health: Callable[[], tuple[bool, str]]
) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"web": web, "health": staticmethod(health)})


def _feed_list(topics: Mapping[str, str]) -> list[tuple[str, str]]:
    """(path without extension, title) of every feed, the main one first."""
    return [
        ("/feeds/all", "All changes"),
        *((f"/feeds/topics/{name}", title) for name, title in topics.items()),
        ("/feeds/health", "Source health (sources failing for too long)"),
    ]


def _index_page(topics: Mapping[str, str]) -> str:
    items = "".join(
        f'<li>{html.escape(title)}: <a href="{path}.atom">Atom</a> · '
        f'<a href="{path}.rss">RSS</a></li>'
        for path, title in _feed_list(topics)
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>watcher feeds</title>"
        f"</head><body><h1>watcher feeds</h1><ul>{items}</ul>"
        '<p><a href="/feeds/opml">All feeds as OPML</a>, to import them into a reader at once.</p>'
        "</body></html>"
    )


def _opml(topics: Mapping[str, str], base_url: str) -> bytes:
    """OPML 2.0: a feed reader imports every feed from it at once."""
    outlines = "".join(
        f'    <outline type="rss" text="{html.escape(title)}" title="{html.escape(title)}" '
        f'xmlUrl="{html.escape(base_url + path)}.atom" htmlUrl="{html.escape(base_url)}/feeds/"/>\n'
        for path, title in _feed_list(topics)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
        "  <head><title>watcher feeds</title></head>\n  <body>\n"
        f"{outlines}  </body>\n</opml>\n"
    ).encode()
