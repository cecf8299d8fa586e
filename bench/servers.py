"""The web server in front of the archive, on 127.0.0.1, in a process of its own (its CPU is
never counted): Debian's nginx, started with a config of our own in a temporary directory and
stopped at the end; or, for the benchmark's own test where nginx is not installed
(`--server auto`), a small Python server that answers the way nginx does (ETag `"mtime-size"`, Last-Modified, 304 on a matching
If-None-Match, `if_modified_since exact`).

Both write one line per request to an access log: `status method uri "user agent"`. `AccessLog`
counts the lines a phase added, release pages apart from the rest (listing pages, robots.txt).

Run as a script (`python bench/servers.py ROOT LOG`), this module is the Python server.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

INSTALL_NGINX = (
    "nginx is not installed: the benchmark serves its site with Debian's nginx.\n"
    "Install it (as root) with:  apt-get install nginx-light\n"
    "(it need not run as a service: the benchmark starts its own on 127.0.0.1 and stops it)"
)

NGINX_CONF = """\
# Written by the benchmark: Debian's defaults for static files (ETag, Last-Modified,
# if_modified_since exact, gzip for text/html), on 127.0.0.1 only.
daemon off;
master_process on;
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include {mime_types};
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    gzip on;
    log_format bench '$status $request_method $request_uri "$http_user_agent"';
    access_log {log} bench;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {root};
        index index.html;
    }}
}}
"""


TYPES = {".txt": "text/plain", ".json": "application/json", ".pdf": "application/pdf"}


class ServerMissing(Exception):
    pass


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """--server and --nginx, as every benchmark script takes them."""
    parser.add_argument(
        "--server",
        choices=("nginx", "auto", "python"),
        default="nginx",
        help="auto: nginx if installed, else a Python server with nginx's validators (for "
        "the benchmark's own test)",
    )
    parser.add_argument("--nginx", help="the nginx binary (default: PATH, then /usr/sbin)")


def chosen_nginx(args: argparse.Namespace) -> str:
    """The nginx binary the options ask for; "" for the Python server. Stops with how to
    install nginx when it is required and missing."""
    if args.server == "python":
        return ""
    try:
        return find_nginx(args.nginx)
    except ServerMissing as missing:
        if args.server == "nginx":
            raise SystemExit(str(missing)) from None
        return ""


def find_nginx(given: str | None) -> str:
    """The nginx binary (PATH, then /usr/sbin, where Debian puts it), or ServerMissing."""
    for candidate in (given,) if given else (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return candidate
    raise ServerMissing(INSTALL_NGINX)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_listening(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited at start (code {process.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within 15 s")


@dataclass
class Server:
    """A static file server on 127.0.0.1 in a process of its own; a context manager."""

    kind: str  # "nginx" or "python"
    root: Path
    tmp: Path
    nginx: str = ""
    port: int = 0
    log: Path = field(init=False)
    version: str = ""
    _process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.log = self.tmp / "access.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        if self.kind == "nginx":
            self._process = self._start_nginx()
            what = "nginx"
        else:
            command = [sys.executable, __file__, str(self.root), str(self.log), str(self.port)]
            self._process = subprocess.Popen(command)
            self.version = "Python http.server (nginx's validators), for the benchmark's test"
            what = "the Python server"
        wait_listening(self.port, self._process, what)
        return self

    def _start_nginx(self) -> subprocess.Popen[bytes]:
        version = subprocess.run([self.nginx, "-v"], capture_output=True, text=True, check=False)
        self.version = version.stderr.strip().removeprefix("nginx version: ")
        mime_types = "/etc/nginx/mime.types"
        if not Path(mime_types).exists():  # a build of nginx elsewhere: the types we serve
            mime_types = str(self.tmp / "mime.types")
            Path(mime_types).write_text(
                "types { text/html html; text/plain txt; application/json json; "
                "application/pdf pdf; }\n"
            )
        conf = self.tmp / "nginx.conf"
        # Started as root, nginx's workers would drop to `nobody`, who cannot read a private
        # temporary directory: they stay the user who started it (ignored otherwise).
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        conf.write_text(
            NGINX_CONF.format(
                tmp=self.tmp,
                log=self.log,
                port=self.port,
                root=self.root,
                mime_types=mime_types,
                user=user,
            )
        )
        return subprocess.Popen(
            [self.nginx, "-p", str(self.tmp), "-c", str(conf), "-e", str(self.tmp / "error.log")]
        )

    def __exit__(self, *exc: object) -> None:
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)  # nginx: fast shutdown of master and workers
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


@dataclass
class Requests:
    """Requests a phase made, by status: release pages, PDFs, and everything else."""

    releases: Counter[int] = field(default_factory=Counter)
    others: Counter[int] = field(default_factory=Counter)
    attachments: Counter[int] = field(default_factory=Counter)  # PDFs

    @staticmethod
    def split(counts: Counter[int]) -> str:
        """`200/304`, plus any other status (`3 x 404`)."""
        text = f"{counts[200]}/{counts[304]}"
        extra = [f"{n} x {s}" for s, n in sorted(counts.items()) if s not in (200, 304)]
        return text + (f" ({', '.join(extra)})" if extra else "")

    @property
    def total(self) -> Counter[int]:
        return self.releases + self.others + self.attachments


class AccessLog:
    """Reads what the server logged since the last call."""

    def __init__(self, path: Path, release_paths: set[str]) -> None:
        self.path = path
        self.release_paths = release_paths
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def since_mark(self) -> Requests:
        found = Requests()
        if not self.path.exists():
            return found
        # A server logs a request once its answer is sent: the client may have read it and
        # exited a moment before the last line is written. Wait until the log stops growing.
        size = -1
        while size != (size := self.path.stat().st_size):
            time.sleep(0.05)
        with self.path.open("rb") as log:
            log.seek(self.offset)
            data = log.read()
        self.offset += len(data)
        for line in data.decode("utf-8", "replace").splitlines():
            status, _method, uri = line.split(" ", 3)[:3]
            path = uri.split("?")[0]
            if path in self.release_paths:
                counts = found.releases
            elif path.endswith(".pdf"):
                counts = found.attachments
            else:
                counts = found.others
            counts[int(status)] += 1
        return found


# -- the Python server, for the benchmark's test (run as a script) ------------------------------


def _handler(root: Path, log: IO[str]) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            target = root / path.lstrip("/")
            if path.endswith("/"):
                target = target / "index.html"
            if ".." in path or not target.is_file():
                self._answer(404, {"Content-Type": "text/plain"}, b"not found")
                return
            stat = target.stat()
            etag = f'"{int(stat.st_mtime):x}-{stat.st_size:x}"'
            modified = email.utils.formatdate(int(stat.st_mtime), usegmt=True)
            headers = {"ETag": etag, "Last-Modified": modified}
            headers["Content-Type"] = TYPES.get(Path(path).suffix, "text/html")
            since = self.headers.get("If-Modified-Since")
            match = self.headers.get("If-None-Match")
            # nginx: if_modified_since exact, then If-None-Match; either present must match
            fresh = (since is not None or match is not None) and (
                (since is None or since == modified)
                and (match is None or etag in (m.strip() for m in match.split(",")))
            )
            if fresh:
                self._answer(304, headers, b"")
            else:
                self._answer(200, headers, target.read_bytes())

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)
            agent = self.headers.get("User-Agent", "-")
            with lock:
                log.write(f'{status} {self.command} {self.path} "{agent}"\n')
                log.flush()

    return Handler


def serve(root: Path, log_path: Path, port: int) -> None:
    with log_path.open("a") as log:
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler(root, log))
        server.daemon_threads = True
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            server.serve_forever()
        finally:
            server.server_close()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
