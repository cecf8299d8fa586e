"""How many requests one host gets at once, and how far apart: the gates fetch.py passes each
request through. One `HostGate` per host in a process, first come, first served; `SharedHosts`
holds the same limits across every process sharing a PostgreSQL database (store/leases.py)."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Protocol

from watcher.errors import Interrupted


class HostGate:
    """One host's requests in flight, from every source. Each request is admitted only while
    fewer than its own source's `per_host_concurrency` are in flight: sources that share a host
    with different limits each get what they asked for, the strictest never more."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_start = 0.0
        self._changed = threading.Condition()
        self._in_flight = 0
        self._queue: deque[object] = deque()  # first come, first served: nobody starves

    def enter(self, limit: int, stop: threading.Event) -> None:
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            try:
                while self._queue[0] is not ticket or self._in_flight >= limit:
                    if stop.is_set():  # a stop must not wait for a busy host
                        raise Interrupted("stopping")
                    self._changed.wait(0.2)
            finally:
                self._queue.remove(ticket)
                self._changed.notify_all()
            self._in_flight += 1

    def leave(self) -> None:
        with self._changed:
            self._in_flight -= 1
            self._changed.notify_all()


class SharedHosts(Protocol):
    """Hosts' requests in flight and their spacing, shared with other processes (the store's
    leases, on PostgreSQL)."""

    def admit(
        self, host: str, *, limit: int, min_delay: timedelta, hold: timedelta
    ) -> tuple[int, float, datetime] | None:
        """A slot, the seconds to wait before starting and that start; None while `limit` are
        in flight."""
        ...

    def leave(self, slot: int) -> None: ...
