"""Speed and memory of a check, measured against a site served on 127.0.0.1.

A simulated asean.org (in a separate process, so its work is not counted) serves N release pages
of about 7 KB with ETags. The watcher walks the listing and reads every page (first pass), then
walks it again when nothing changed (second pass: conditional requests, nothing parsed), then a
WordPress source reads the same N posts through the REST API. Prints a table:

    pass, pages, requests 200/304, CPU seconds, CPU ms per page, peak RSS

Usage: python bench/first_pass.py [--pages 1000]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PARAGRAPH = (
    "The Meeting reviewed the progress of cooperation under the Plan of Action and exchanged "
    "views on regional and international developments, including ways to strengthen the "
    "ASEAN-led regional architecture and to deepen practical cooperation in trade, connectivity, "
    "energy, digital transformation and people-to-people exchanges. "
)


def serve(pages: int, ready: Connection, stop: Connection) -> None:
    """The simulated site behind a cache that answers like a static file server: rendering
    a page in Python would otherwise cost the server more CPU than the watcher spends reading
    it, and on a two-core machine the two compete."""
    from tests.sim.wordpress import SimWordPress

    with SimWordPress(etags=True) as site:
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for number in range(pages):
            body = f"JAKARTA, {number % 28 + 1} May 2026 -- Release {number}.\n\n" + "\n\n".join(
                PARAGRAPH for _ in range(9)
            )
            post = site.add_post(
                f"ASEAN release number {number}", body, date_gmt=start + timedelta(hours=number)
            )
            # settled long ago, as a real archive is: nothing within the API's look-back window
            site.set_modified(post, start + timedelta(hours=number))
        cache = StaticCache(site.url)
        with ThreadingHTTPServer(("127.0.0.1", 0), cache.handler()) as server:
            # the site's links lead to the cache, as a real site's lead to itself
            cache.own = f"http://127.0.0.1:{server.server_address[1]}"
            for page in range(1, pages // 10 + 2):
                cache.warm("/category/news/" + (f"page/{page}/" if page > 1 else ""))
            for post_id in site.posts:
                cache.warm(urlsplit(site.link(post_id)).path)
            cache.warm("/robots.txt")
            threading.Thread(target=server.serve_forever, daemon=True).start()
            ready.send(cache.own)
            stop.recv()
            server.shutdown()


class StaticCache:
    """Responses kept by path; what is not kept (the REST API) is asked of the site."""

    def __init__(self, origin: str) -> None:
        self.url = origin
        self.origin = urlsplit(origin).netloc
        self.own = origin  # the cache's own address, once it listens
        self.kept: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {}

    def fetch(self, target: str) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(self.origin)
        connection.request("GET", target)
        response = connection.getresponse()
        body = response.read()
        headers = [
            (k, v.replace(self.url, self.own))
            for k, v in response.getheaders()
            if k.lower() not in ("date", "server")
        ]
        connection.close()
        escaped = (self.url.replace("/", "\\/"), self.own.replace("/", "\\/"))  # in JSON
        body = body.replace(self.url.encode(), self.own.encode())
        body = body.replace(escaped[0].encode(), escaped[1].encode())
        return response.status, headers, body

    def warm(self, target: str) -> None:
        self.kept[target] = self.fetch(target)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        cache = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                status, headers, body = cache.kept.get(self.path) or cache.fetch(self.path)
                etag = {k.lower(): v for k, v in headers}.get("etag")
                if etag and self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    args = parser.parse_args()

    import yaml

    from watcher.app import App
    from watcher.config import load_config

    ready_recv, ready_send = multiprocessing.Pipe(duplex=False)
    stop_recv, stop_send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(args.pages, ready_send, stop_recv))
    server.start()
    url = ready_recv.recv()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "watcher.yaml"
        config_path.write_text(
            yaml.safe_dump(
                {
                    "state_dir": tmp,
                    "http": {"min_delay": "0s", "per_host_concurrency": 4},
                    "sources": [
                        {
                            "name": "html",
                            "type": "html",
                            "profile": "asean",
                            "url": f"{url}/category/news/",
                            "max_pages": 0,
                        },
                        {
                            "name": "api",
                            "type": "wordpress",
                            "profile": "asean",
                            "url": url,
                            "categories": ["news"],
                        },
                    ],
                }
            )
        )
        app = App(load_config(config_path))
        http = app.config.source("html").http
        sample = app.fetcher.session(http).get(f"{url}/asean-release-number-1/")
        page_size = len(getattr(sample, "body", b""))
        for label, source in (
            ("html, first pass", "html"),
            ("html, nothing new", "html"),
            ("wordpress API, first pass", "api"),
            ("wordpress API, nothing new", "api"),
        ):
            before, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            # the nothing-new pass reads every page again, as `watcher check --all-releases` does
            [result] = app.check([source], all_releases=True)
            after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - wall
            user = after.ru_utime - before.ru_utime
            system = after.ru_stime - before.ru_stime
            cpu = user + system
            pages = args.pages
            rows.append(
                (
                    label,
                    str(pages),
                    f"{result.requests - result.not_modified}/{result.not_modified}",
                    f"{sum(result.counts.values())}",
                    f"{cpu:.2f}",
                    f"{user:.2f}/{system:.2f}",
                    f"{cpu / pages * 1000:.2f}",
                    f"{wall:.1f}",
                    f"{peak_rss_mb():.0f}",
                    str(result.attachment_requests),
                )
            )
        app.close()
    stop_send.send(True)
    server.join()
    headers = (
        "pass",
        "pages",
        "requests 200/304",
        "changes",
        "CPU s",
        "user/sys s",
        "CPU ms/page",
        "wall s",
        "peak RSS MB",
        "attachment requests",
    )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print(f"{args.pages} releases of ~{page_size / 1000:.1f} KB served on 127.0.0.1")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
