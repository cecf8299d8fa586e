"""Where the log goes and how it reads: readable lines by default, JSON lines (one object a
line, for a log collector) with `--log-format json` or `log_format: json`. Either way every
secret the config names is masked before a line is written, whoever wrote it (a library's
exception text included)."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

from watcher.options import Config

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
# Third-party loggers that say too much at INFO; they keep their warnings.
NOISY = ("httpx", "httpcore", "apscheduler", "alembic", "uvicorn")
# What every LogRecord has: anything else on a record was given as `extra=` by its writer.
_STANDARD = frozenset(
    (
        *logging.LogRecord("", 0, "", 0, "", (), None).__dict__,
        "message",
        "asctime",
        "taskName",
        "color_message",  # uvicorn's copy of the message with terminal colours
    )
)


def configure(
    level: str, log_format: str, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """The root logger writes to `stream` (stderr) at `level`, as `log_format` says. Like
    logging.basicConfig, without a `stream` it leaves alone a root logger that the program
    running the watcher set up (a test runner capturing the log, say)."""
    root = logging.getLogger()
    if stream is None and any(not isinstance(h, _Handler) for h in root.handlers):
        return
    redact = Redactor(secrets)
    formatter: logging.Formatter
    formatter = JsonFormatter(redact) if log_format == "json" else TextFormatter(redact)
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(formatter)
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)  # configured again in one process: not twice
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def secrets_of(config: Config) -> Iterator[str]:
    """Every secret the config leads to: the database URL's password, the SMTP password, the
    sources' HTTP passwords and the chat services' URLs (they carry tokens)."""
    password = urlsplit(config.database_url).password
    if password:
        yield password
        yield unquote(password)  # as a driver's message may quote it
    names = [s.auth.password_env for s in config.sources if s.auth is not None]
    if config.email is not None and config.email.smtp.password_env:
        names.append(config.email.smtp.password_env)
    names += [name for s in config.subscriptions for name in s.notify_env]
    for name in names:
        value = os.environ.get(name)
        if value:
            yield value


class _Handler(logging.StreamHandler[TextIO]):
    """The watcher's own, told apart from handlers others added (a test's log capture)."""


class Redactor:
    """Masks each secret wherever it appears in a text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # the longest first: a secret that holds another is masked whole
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


class TextFormatter(logging.Formatter):
    """`2026-05-27T08:00:00+0000 INFO watcher.check: check asean: ok, ...`"""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S%z")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: `time` (ISO 8601, UTC), `level`, `logger`, `message`, the fields
    its writer gave as `extra=`, and `exception` (the traceback) when there is one."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = self._value(value)
        if record.exc_info:
            entry["exception"] = self.redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)

    def _value(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.redact(str(value))
