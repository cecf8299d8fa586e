"""The web server (inside `watcher run`, or alone under `watcher serve`): its own routes only, validators and 304s, safe headers."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from watcher.config import ServerSettings
from watcher.web.app import Site
from watcher.web.server import WebServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "all.atom").write_bytes(b"<feed/>")
    (feeds / "all.rss").write_bytes(b"<rss/>")
    (tmp_path / "watcher.db").write_bytes(b"secret")
    web = WebServer("127.0.0.1:0", Site(feeds, lambda: (True, "")))
    web.start()
    yield f"http://127.0.0.1:{web.port}", feeds
    web.stop()


def test_feeds_with_validators_and_304(server: tuple[str, Path]) -> None:
    base, _ = server
    response = httpx.get(f"{base}/feeds/all.atom")
    assert response.status_code == 200
    assert response.content == b"<feed/>"
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    by_etag = httpx.get(
        f"{base}/feeds/all.atom", headers={"If-None-Match": response.headers["etag"]}
    )
    assert (by_etag.status_code, by_etag.content) == (304, b"")
    since = httpx.get(
        f"{base}/feeds/all.atom", headers={"If-Modified-Since": response.headers["last-modified"]}
    )
    assert since.status_code == 304
    earlier = format_datetime(datetime.now(UTC) - timedelta(days=1), usegmt=True)
    assert (
        httpx.get(f"{base}/feeds/all.atom", headers={"If-Modified-Since": earlier}).status_code
        == 200
    )
    rss = httpx.get(f"{base}/feeds/all.rss")
    assert rss.headers["content-type"] == "application/rss+xml; charset=utf-8"
    head = httpx.head(f"{base}/feeds/all.rss")
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "6")


def test_a_rewritten_feed_gets_a_new_etag(server: tuple[str, Path]) -> None:
    base, feeds = server
    first = httpx.get(f"{base}/feeds/all.atom").headers["etag"]
    (feeds / "all.atom").write_bytes(b"<feed><entry/></feed>")
    again = httpx.get(f"{base}/feeds/all.atom", headers={"If-None-Match": first})
    assert again.status_code == 200
    assert again.headers["etag"] != first


@pytest.mark.parametrize(
    "path",
    [
        "/watcher.db",
        "/feeds/../watcher.db",
        "/feeds/%2e%2e/watcher.db",
        "/feeds/all.atom.bak",
        "/state/watcher.db",
        "/feeds/%2e%2e%2fwatcher.db",
        "/feeds/topics/../../watcher.db",
        "/feeds/..%5cwatcher.db",
        "//watcher.db",
        "/feeds//etc/passwd",
        "/feeds/all.atom%00.db",
    ],
)
def test_nothing_but_its_own_routes(server: tuple[str, Path], path: str) -> None:
    base, _ = server
    # sent exactly as written: an HTTP client would remove the dot segments first
    connection = http.client.HTTPConnection(httpx.URL(base).host, httpx.URL(base).port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 404
        assert b"secret" not in response.read()
    finally:
        connection.close()


def test_index_and_health(server: tuple[str, Path]) -> None:
    base, _ = server
    index = httpx.get(f"{base}/feeds/")
    assert index.status_code == 200
    assert "default-src 'none'" in index.headers["content-security-policy"]
    assert 'href="/feeds/all.atom"' in index.text
    assert "frame-ancestors 'none'" in index.headers["content-security-policy"]
    assert index.headers["referrer-policy"] == "no-referrer"
    opml = httpx.get(f"{base}/feeds/opml")
    assert opml.headers["content-type"] == "text/x-opml; charset=utf-8"
    assert 'xmlUrl="/feeds/all.atom"' in opml.text
    assert httpx.get(f"{base}/healthz").text == "ok\n"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_read_only(server: tuple[str, Path], method: str) -> None:
    base, feeds = server
    response = httpx.request(method, f"{base}/feeds/all.atom", content=b"<feed>replaced</feed>")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert (feeds / "all.atom").read_bytes() == b"<feed/>"


def test_listens_on_loopback_unless_told_otherwise() -> None:
    assert ServerSettings().listen.startswith("127.0.0.1:")


def test_a_feed_is_refreshed_before_it_is_served(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    calls: list[str] = []

    def refresh() -> None:  # as the daemon does: rebuilt when the database moved
        calls.append("refresh")
        (feeds / "all.atom").write_bytes(b"<feed>rebuilt</feed>")

    web = WebServer("127.0.0.1:0", Site(feeds, lambda: (True, ""), refresh=refresh))
    web.start()
    try:
        response = httpx.get(f"http://127.0.0.1:{web.port}/feeds/all.atom")
        health = httpx.get(f"http://127.0.0.1:{web.port}/healthz")
    finally:
        web.stop()
    assert (response.status_code, response.content) == (200, b"<feed>rebuilt</feed>")
    assert health.status_code == 200
    assert calls == ["refresh"]  # before the feed, not before health


def test_unhealthy_is_503_with_its_reason(tmp_path: Path) -> None:
    web = WebServer("127.0.0.1:0", Site(tmp_path, lambda: (False, "the scheduler is not running")))
    web.start()
    try:
        response = httpx.get(f"http://127.0.0.1:{web.port}/healthz")
    finally:
        web.stop()
    assert (response.status_code, response.text) == (
        503,
        "unhealthy\nthe scheduler is not running\n",
    )


def test_a_port_in_use_is_an_error_at_once(tmp_path: Path) -> None:
    first = WebServer("127.0.0.1:0", Site(tmp_path, lambda: (True, "")))
    try:
        with pytest.raises(OSError, match="in use"):
            WebServer(f"127.0.0.1:{first.port}", Site(tmp_path, lambda: (True, "")))
    finally:
        first.close()


def test_answers_on_a_kept_alive_connection_are_sent_at_once(tmp_path: Path) -> None:
    # Without TCP_NODELAY on the accepted socket, every answer after the first on a kept-alive
    # connection (a browser's) waits for the client's delayed ACK: 40 ms a page.
    web = WebServer("127.0.0.1:0", Site(tmp_path, lambda: (True, "")))
    web.start()
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    try:
        for _ in range(2):
            connection.request("GET", "/healthz")
            assert connection.getresponse().read() == b"ok\n"
        [protocol] = web.server.server_state.connections
        accepted = protocol.transport.get_extra_info("socket")
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        connection.close()
        web.stop()
