"""What the real site's servers share: one error type and how to stop a process for good."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class RealWordPressError(RuntimeError):
    """The real site could not be started or refused a change; the message says why."""


def terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process's group, SIGKILL it if it lingers, and reap it."""
    if process.poll() is None:
        # Servers run in their own process group, so their workers (PHP's) go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    else:
        process.wait()


def tail(path: Path, lines: int = 20) -> str:
    """The end of a log, for an error message."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path.name} was not written)"
    return "\n".join(text.splitlines()[-lines:])
