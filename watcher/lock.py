"""One daemon per database, and one process at a time sending its mail: exclusive locks on
files beside it.

The operating system releases a lock when the process ends, however it ends (even SIGKILL), so
a crash never leaves a stale lock behind. The daemon holds both for its whole life; a command
that mails (`watcher check`, `digest send`, `outbox retry`) holds the mail lock only while it
composes and sends, so a daemon starting meanwhile waits for it instead of sending the same
messages, and two such commands never send the same message either.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from watcher.errors import WatcherError
from watcher.options import Config

log = logging.getLogger(__name__)


class AlreadyRunning(WatcherError):
    pass


def lock_path(config: Config) -> Path:
    """Beside the SQLite file; for a database server, in the state directory."""
    match = re.fullmatch(r"sqlite(?:\+\w+)?:///(/.+)", config.database_url)
    if match:
        database = Path(match.group(1))
        return database.with_name(database.name + ".lock")
    return config.state_dir / "watcher.lock"


def mail_lock_path(config: Config) -> Path:
    return lock_path(config).with_suffix(".mail.lock")


@contextmanager
def mail_rights(config: Config, *, wait: float) -> Iterator[bool]:
    """The right to compose and send this database's mail, held for the block; False if another
    process keeps it for longer than `wait` seconds (the daemon keeps it for its whole life)."""
    lock = DaemonLock(mail_lock_path(config), SENDING)
    if not lock.wait_for(wait):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def daemon_running(config: Config) -> bool:
    """Whether a daemon holds this database's lock now (it then does the mailing)."""
    lock = DaemonLock(lock_path(config))
    try:
        lock.acquire()
    except AlreadyRunning:
        return True
    lock.release()
    return False


RUNNING = (
    "another watcher is already running on this database (pid {pid}; lock {path}); stop it first"
)
SENDING = "another watcher process (pid {pid}) is sending this database's mail"


class DaemonLock:
    def __init__(self, path: Path, busy: str = RUNNING) -> None:
        self.path = path
        self.busy = busy  # what it means when another process holds the lock
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(self.busy.format(pid=holder, path=self.path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def wait_for(self, seconds: float | None) -> bool:
        """Acquire, waiting while another process holds the lock: at most `seconds` (None: as
        long as it takes). Whether it was acquired."""
        deadline = None if seconds is None else time.monotonic() + seconds
        said = False
        while True:
            try:
                self.acquire()
                return True
            except AlreadyRunning as exc:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                if not said:
                    log.info("waiting: %s", exc)
                    said = True
            time.sleep(0.2)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock; the file stays, harmlessly
            self._fd = None
