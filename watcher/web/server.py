"""Serving the application: uvicorn in a thread of its own, on a socket bound at once (a port
in use is an error when the daemon starts, not later in a thread), stopped within the daemon's
shutdown."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from watcher.web.app import Site, create_app

log = logging.getLogger("watcher.web")

IDLE_TIMEOUT = 20.0  # seconds a connection may stay silent, mid-request or before one
# Connections served at once. One costs a few kilobytes, not a thread; past this uvicorn
# answers 503 at once rather than letting them pile up.
MAX_CONNECTIONS = 256
LISTEN_BACKLOG = 128  # connections waiting to be accepted
STOP_GRACE = 2  # seconds the requests under way get to finish when the server stops
STOP_JOIN = 5.0  # seconds the server's thread gets to end


class WebServer:
    def __init__(
        self,
        listen: str,
        site: Site,
        *,
        timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.site = site
        self.socket = bind(listen)
        config = uvicorn.Config(
            create_app(site),
            http=_protocol(timeout),
            timeout_keep_alive=max(1, round(timeout)),
            limit_concurrency=max_connections,
            backlog=LISTEN_BACKLOG,
            timeout_graceful_shutdown=STOP_GRACE,
            lifespan="off",
            server_header=False,
            log_config=None,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, name="web", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stops accepting, gives requests under way `STOP_GRACE`, closes every connection."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=STOP_JOIN)
        self.close()

    def close(self) -> None:
        """The listening socket of a server never started (or already stopped)."""
        self.socket.close()


def bind(listen: str) -> socket.socket:
    """A listening socket on HOST:PORT (`[::1]:8080` for IPv6); OSError if it cannot be had."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not left 0: asyncio sets TCP_NODELAY only on sockets that say they
    # are TCP, and without it each answer on a kept-alive connection waits for the client's
    # delayed ACK (40 ms a page). The option is set here too: accepted sockets inherit it.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, int(port)))
        sock.listen(LISTEN_BACKLOG)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


class _Protocol(H11Protocol):
    """uvicorn ends a keep-alive connection left idle after a response, but waits for ever on
    one that sends nothing, or half a request line or headers. This one also ends those: a
    request must arrive whole within `request_timeout` of the connection opening (or of the
    previous response), so a silent client does not keep its connection."""

    request_timeout = IDLE_TIMEOUT
    deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._serving():  # a request's line and headers are in: it is answered
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self._serving():  # unless a pipelined request is already under way
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _serving(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self.deadline = self.loop.call_later(self.request_timeout, self._expire)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _expire(self) -> None:
        if not self._serving() and not self.transport.is_closing():
            log.debug("closing a connection that sent no whole request in time")
            self.transport.close()


def _protocol(timeout: float) -> type[H11Protocol]:
    return type("Protocol", (_Protocol,), {"request_timeout": timeout})
