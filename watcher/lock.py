"""One daemon per database: an exclusive lock on a file beside it.

The operating system releases the lock when the process ends, however it ends (even SIGKILL),
so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

from watcher.config import Config
from watcher.errors import WatcherError


class AlreadyRunning(WatcherError):
    pass


def lock_path(config: Config) -> Path:
    """Beside the SQLite file; for a database server, in the state directory."""
    match = re.fullmatch(r"sqlite(?:\+\w+)?:///(/.+)", config.database_url)
    if match:
        database = Path(match.group(1))
        return database.with_name(database.name + ".lock")
    return config.state_dir / "watcher.lock"


def daemon_running(config: Config) -> bool:
    """Whether a daemon holds this database's lock now (it then does the mailing)."""
    lock = DaemonLock(lock_path(config))
    try:
        lock.acquire()
    except AlreadyRunning:
        return True
    lock.release()
    return False


class DaemonLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another watcher is already running on this database (pid {holder}; lock "
                f"{self.path}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock; the file stays, harmlessly
            self._fd = None
