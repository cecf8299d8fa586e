"""What every command shares: the config and app it runs on, tables, JSON, exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

from watcher.errors import ConfigError, StoreError
from watcher.models import ReleaseSummary

if TYPE_CHECKING:
    from watcher.app import App
    from watcher.options import Config
    from watcher.store import Store

# How long a command that mails waits for another command sending mail to finish.
MAIL_WAIT = 60.0


def fail(message: str, code: int) -> NoReturn:
    click.echo(message if code == 2 else f"watcher: {message}", err=True)
    sys.exit(code)


class Context:
    def __init__(self, config_option: str | None) -> None:
        from watcher.config import config_path

        self.path = config_path(config_option)
        self.verbose = False
        self.log_format: str | None = None  # --log-format, over the config's `log_format`
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from watcher.config import load_config

            try:
                self._config = load_config(self.path)
            except ConfigError as exc:
                fail(str(exc), 2)
        return self._config

    def app(self) -> App:
        from watcher.app import App

        try:
            return App(self.config)
        except StoreError as exc:
            fail(str(exc), 1)


pass_context = click.make_pass_decorator(Context)


def read(context: Context, query: Callable[[App], Any]) -> Any:
    """For commands that write: the database, created and brought up to date if need be."""
    app = context.app()
    try:
        return query(app)
    finally:
        app.close()


@dataclass(frozen=True)
class Reader:
    """What a command that only reads needs: the config and the database, nothing that fetches
    or sends (which keeps such commands quick to start)."""

    config: Config
    store: Store

    @staticmethod
    def clock() -> datetime:
        return datetime.now(UTC)


def look(context: Context, query: Callable[[Reader], Any]) -> Any:
    """For commands that only read: the database as it is. Nothing is created or changed;
    with no database yet, or one of an older schema, one line says what to run."""
    from watcher.store import Store

    try:
        store = Store.open_existing(context.config.database_url)
    except StoreError as exc:
        fail(str(exc), 1)
    try:
        return query(Reader(context.config, store))
    finally:
        store.close()


def release_json(r: ReleaseSummary) -> dict[str, Any]:
    return {
        "id": r.id,
        "url": r.url,
        "title": r.title,
        "published": iso(r.published),
        "source": r.source,
        "status": str(r.status),
        "versions": r.versions,
        "first_seen": iso(r.first_seen),
        "last_changed": iso(r.last_changed),
        "last_seen": iso(r.last_seen),
        "key": r.key,
        # copies across sources: the story it is in, the release it copies and how alike
        "story": r.story_id,
        "copy_of": r.copy_of,
        "similarity": round(r.similarity, 3) if r.similarity is not None else None,
    }


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def redacted(config: Config) -> str:
    from watcher.urls import without_password

    return without_password(config.database_url)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
        for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)
