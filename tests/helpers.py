"""What the tests share, in one place: paths, the settings builder (a config on loopback), free
ports, waiting for a condition, the `watcher` command as a subprocess, a daemon run as one, and
the servers' thread. Fixtures built on these are in conftest.py; test modules import from here,
never from one another."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import feedparser
import httpx
import yaml

from tests.sim.model import Request, Response
from watcher.app import App
from watcher.daemon import Daemon

if TYPE_CHECKING:
    from tests.sim.wordpress import SimWordPress

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
FIXTURES = ROOT / "tests" / "fixtures"

T = TypeVar("T")

# -- configs ---------------------------------------------------------------------------------

RUSSIA = {"russia": {"title": "ASEAN–Russia", "preset": "partner/russia"}}
SENDER = "ASEAN watcher <watcher@example.org>"


def write_config(directory: Path, sources: list[dict[str, Any]], **settings: Any) -> Path:
    """`directory`/watcher.yaml: loopback only, fast (no delay between requests), state in
    `directory`/state. A setting given as a dict is merged into the default one."""
    data: dict[str, Any] = {
        "state_dir": str(directory / "state"),
        "server": {"listen": "127.0.0.1:0", "base_url": "http://watcher.test"},
        "http": {"min_delay": "0s", "retries": 1, "timeout": "5s"},
        "sources": sources,
    }
    for key, value in settings.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    path = directory / "watcher.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def on_database(url: str | None) -> dict[str, Any]:
    """The `database:` setting for write_config: none (the default SQLite file) or `url`."""
    return {} if url is None else {"database": url}


def listening(port: int) -> dict[str, Any]:
    """The `server:` setting of a daemon serving on 127.0.0.1:port."""
    return {"server": {"listen": f"127.0.0.1:{port}", "base_url": f"http://127.0.0.1:{port}"}}


def wordpress_source(site: SimWordPress, **extra: Any) -> dict[str, Any]:
    """The simulated asean.org, as the README's `wordpress` example watches it."""
    return {
        "name": "asean",
        "type": "wordpress",
        "url": site.url,
        "profile": "asean",
        "categories": ["news", "statements-meetings", "speeches"],
        "sweep_every": "0s",
        **extra,
    }


def email_settings(port: int, **smtp: Any) -> dict[str, Any]:
    """The `email:` section for a mail server on 127.0.0.1:port, plain SMTP."""
    return {
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", **smtp},
        "from": SENDER,
    }


def mail_settings(port: int, **subscription: Any) -> dict[str, Any]:
    """Topic `russia`, email through 127.0.0.1:port and one subscription to the topic
    (`russia-morning`, a digest unless `mode` says otherwise): keyword arguments of
    write_config and make_app."""
    return {
        "topics": RUSSIA,
        "email": email_settings(port),
        "subscriptions": [
            {
                "name": "russia-morning",
                "to": ["analyst@example.org"],
                "topics": ["russia"],
                **subscription,
            }
        ],
    }


class ShiftedClock:
    """The real time plus an offset a test moves forward (the sites keep real time)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


# -- ports, waiting, servers -----------------------------------------------------------------

# Ports handed out for servers started in other processes (a daemon, an SMTP server): below the
# kernel's ephemeral range, where no outgoing connection takes one between our probe and the
# server's bind, and a block of its own for each xdist worker, so two workers never pick the
# same one.
_PORT_BASE = 20000
_PORT_BLOCK = 1000
_port_offsets = itertools.count(random.randrange(_PORT_BLOCK))


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, for a server about to start."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = _PORT_BASE + _PORT_BLOCK * (int(worker) % 12 if worker.isdigit() else 0)
    for _ in range(_PORT_BLOCK):
        port = first + next(_port_offsets) % _PORT_BLOCK
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: by another server, or by a test run still ending
            return port
    raise AssertionError(f"no free port in {first}-{first + _PORT_BLOCK - 1}")


def wait_for(condition: Callable[[], T], timeout: float = 30.0, what: str = "") -> T:
    """Polls `condition` until it returns something true, and returns that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def serve_in_thread(server: socketserver.BaseServer) -> None:
    """Serves in a daemon thread that notices shutdown() within 20 ms (the default 0.5 s
    poll made stopping each test's server cost half a second)."""
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()


def serve_on_loopback(
    handler: type[BaseHTTPRequestHandler],
) -> tuple[ThreadingHTTPServer, str]:
    """A threaded HTTP server on a free port of 127.0.0.1, serving (see serve_in_thread), and
    its address; stop it with shutdown() and server_close()."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    serve_in_thread(server)
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# -- the command and the daemon --------------------------------------------------------------

WATCHER = [sys.executable, "-m", "watcher"]


def run_watcher(
    *args: str,
    config: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`watcher [--config CONFIG] ARGS` as a user runs it, from the project's directory;
    $WATCHER_CONFIG only when `env` sets it."""
    command = [*WATCHER, *(["--config", str(config)] if config is not None else []), *args]
    return subprocess.run(
        command,
        cwd=ROOT,
        env=environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without $WATCHER_CONFIG, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if key != "WATCHER_CONFIG"}
    return {**env, "PYTHONUNBUFFERED": "1", **(extra or {})}


@contextmanager
def running(command: Sequence[str], **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    """A subprocess in a process group of its own, killed with its children (`make run`
    starts the daemon as one) on the way out if it is still running, however the test ends."""
    popen.setdefault("cwd", ROOT)
    process = subprocess.Popen(list(command), start_new_session=True, **popen)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class DaemonProcess:
    """`watcher --config CONFIG run` serving on 127.0.0.1:port, its stderr logged to `log`.
    A context manager: on the way out a daemon still running is killed."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config = config
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self._log_file = log.open("wb")
        self._running = running(
            [*WATCHER, "--config", str(config), "run"],
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
        )
        self.process = self._running.__enter__()

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._running.__exit__(None, None, None)
        self._log_file.close()

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def get(self, path: str, **headers: str) -> httpx.Response | None:
        """GET path from the daemon; None while nothing answers."""
        try:
            return httpx.get(self.base + path, headers=headers, timeout=5)
        except httpx.TransportError:
            return None

    def serving(self) -> bool:
        code = self.process.poll()
        if code is not None:  # it will never serve: say why instead of waiting for it
            tail = "\n".join(self.log_text().splitlines()[-15:])
            raise AssertionError(f"the daemon exited with code {code}:\n{tail}")
        return self.get("/healthz") is not None

    def entries(self) -> list[feedparser.FeedParserDict]:
        response = self.get("/feeds/all.atom")
        if response is None or response.status_code != 200:
            return []
        return list(feedparser.parse(response.content).entries)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Stops it as systemd or Ctrl-C would; its exit code."""
        self.process.send_signal(sig)
        return self.process.wait(timeout=15)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def daemon_in_process(app: App, *, serve: bool = False) -> Iterator[Daemon]:
    """The daemon's scheduler running in this process (checks at once, mail on its worker),
    with its feed server when `serve`; stopped as a SIGTERM stops it, however the test ends."""
    daemon = Daemon(app)
    if serve:
        daemon.web.start()
    daemon.scheduler.start()
    try:
        yield daemon
    finally:
        app.request_stop()
        daemon.scheduler.shutdown(wait=True)
        if serve:
            daemon.web.stop()
        else:
            daemon.web.close()


# -- the simulated WordPress -----------------------------------------------------------------

POSTS = "/wp-json/wp/v2/posts"
BODY = "JAKARTA, 27 May 2026 -- The Senior Officials' Meeting convened today."

Tamper = Callable[[Request, Response], Response]


def add_posts(site: SimWordPress, count: int) -> list[int]:
    """An archive: published and last modified over the past year."""
    old = datetime(2025, 1, 1, tzinfo=UTC)
    ids = []
    for n in range(count):
        when = old + timedelta(hours=n)
        ids.append(site.add_post(f"Release {n}", BODY, date_gmt=when))
        site.set_modified(ids[-1], when)
    return ids


def posts_answer(change: Callable[[Request, Any], Any]) -> Tamper:
    """Rewrites the JSON of every successful /wp/v2/posts answer."""

    def tamper(request: Request, response: Response) -> Response:
        status, headers, body = response
        if request.path != POSTS or status != 200:
            return response
        return status, headers, json.dumps(change(request, json.loads(body))).encode()

    return tamper
