"""A small site on 127.0.0.1 that answers from a table a test fills: for pages and feeds no
WordPress would serve (odd links, redirects to other hosts, robots.txt per host)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.helpers import serve_on_loopback

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class StaticSite:
    pages: dict[str, Answer] = field(default_factory=dict)  # path (with query) -> answer
    hits: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # path, headers
    delays: dict[str, float] = field(default_factory=dict)  # path -> seconds before answering
    url: str = ""

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> StaticSite:
        self._server, self.url = serve_on_loopback(_handler(self))
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def html(self, path: str, body: str) -> None:
        self.pages[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, body.encode())

    def xml(self, path: str, body: str) -> None:
        self.pages[path] = (200, {"Content-Type": "application/rss+xml"}, body.encode())

    def redirect(self, path: str, location: str) -> None:
        self.pages[path] = (302, {"Location": location}, b"")

    def paths(self) -> list[str]:
        with self._lock:
            return [path for path, _ in self.hits]


def _handler(site: StaticSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with site._lock:
                site.hits.append((self.path, dict(self.headers.items())))
            time.sleep(site.delays.get(self.path, 0))
            default: Answer = (404, {"Content-Type": "text/plain"}, b"not found")
            status, headers, body = site.pages.get(self.path, default)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def article(title: str, text: str) -> str:
    """An article in WordPress's usual markup (the default `wordpress` profile reads it)."""
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body class='single'>"
        f"<article><h1 class='entry-title'>{title}</h1>"
        f"<div class='entry-content'><p>{text}</p></div></article></body></html>"
    )


def rss(items: list[tuple[str, str]], *, content: bool = False) -> str:
    """An RSS 2.0 feed of (title as it appears in the XML, link) items."""
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        + (f"<description>Text of {link}.</description>" if content else "")
        + "</item>"
        for title, link in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Feed</title>'
        f"<link>http://example.org/</link><description>d</description>{entries}</channel></rss>"
    )
