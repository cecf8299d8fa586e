"""Holding a lease while the work it covers runs (several daemons on one PostgreSQL database).

The store takes and gives back leases (store/leases.py); this keeps one alive: a thread renews
it every third of its expiry, so a pause of a third of it (a slow query, a busy machine) costs
nothing. When the lease cannot be renewed (it expired, and another daemon may be doing the work
now), or when the process stops, the work is told to stop, at its next release boundary or
message.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from types import TracebackType

import sqlalchemy as sa

from watcher.store.leases import Leases

log = logging.getLogger("watcher.leases")

POLL = 0.2  # seconds: how soon a stop of the process reaches the work


def holder_id() -> str:
    """This process among every daemon on the database: host, pid, and a tag (a pid comes back
    after a restart, a lease must not)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Heartbeat:
    """`with Heartbeat(leases, name, stop) as halt:` renews `name` while the block runs; `halt`
    is set when the lease is lost (`lost` then says so) or when `stop` is set."""

    def __init__(self, leases: Leases, name: str, stop: threading.Event) -> None:
        self.leases = leases
        self.name = name
        self.stop = stop
        self.halt = threading.Event()
        self.lost = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease {name}", daemon=True)

    def __enter__(self) -> threading.Event:
        self._thread.start()
        return self.halt

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        self._thread.join()

    def _beat(self) -> None:
        ttl = self.leases.ttl.total_seconds()
        renewed = time.monotonic()
        while not self._done.wait(POLL):
            if self.stop.is_set():
                self.halt.set()
            now = time.monotonic()
            if now - renewed < ttl / 3:
                continue
            try:
                held = self.leases.renew(self.name)
            except sa.exc.SQLAlchemyError as exc:
                # the database may be back before the lease runs out: try again until then
                log.warning("lease %s not renewed: %s", self.name, str(exc).splitlines()[0])
                held = now - renewed < ttl
            else:
                renewed = now if held else renewed
            if not held:
                log.warning("lease %s lost (not renewed in time): stopping its work", self.name)
                self.lost = True
                self.halt.set()
                return
