"""Command line: build the app, call one function, print. Exit codes: 0 ok, 1 a check failed
(or nothing found), 2 a bad config or usage."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, NoReturn

import click

from watcher import __version__
from watcher.app import App
from watcher.config import Config, config_path, load_config
from watcher.daemon import Daemon
from watcher.errors import ConfigError, StoreError
from watcher.models import ChangeKind, CheckStatus, ReleaseSummary
from watcher.sources import DESCRIPTIONS
from watcher.store.store import safe_url
from watcher.units import format_duration


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message if code == 2 else f"watcher: {message}", err=True)
    sys.exit(code)


class Context:
    def __init__(self, config_option: str | None) -> None:
        self.path = config_path(config_option)
        self.verbose = False
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.path)
            except ConfigError as exc:
                _fail(str(exc), 2)
        return self._config

    def app(self) -> App:
        try:
            return App(self.config)
        except StoreError as exc:
            _fail(str(exc), 1)


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_option",
    metavar="PATH",
    help="Config file (default: $WATCHER_CONFIG, else config/watcher.yaml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every request and change.")
@click.version_option(__version__, prog_name="watcher")
@click.pass_context
def cli(ctx: click.Context, config_option: str | None, verbose: bool) -> None:
    """Watch news sites for new, silently edited and removed releases."""
    ctx.obj = Context(config_option)
    ctx.obj.verbose = verbose


def _logging(context: Context) -> None:
    level = "DEBUG" if context.verbose else context.config.settings.log_level
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


@cli.command()
@pass_context
def run(context: Context) -> None:
    """Run the daemon: check every source on its schedule and serve the feeds."""
    _logging(context)
    app = context.app()
    try:
        try:
            daemon = Daemon(app)
        except OSError as exc:
            _fail(f"cannot listen on {context.config.settings.server.listen}: {exc.strerror}", 1)
        code = daemon.run()
    finally:
        app.close()
    sys.exit(code)


@cli.command()
@click.option("--source", "sources", multiple=True, metavar="NAME", help="Only this source.")
@pass_context
def check(context: Context, sources: Sequence[str]) -> None:
    """Check every source (or the ones named) once, print a summary."""
    _logging(context)
    try:
        for name in sources:
            context.config.source(name)
    except ConfigError as exc:
        _fail(str(exc), 2)
    app = context.app()
    try:
        results = app.check(sources or None)
        app.build_feeds()
    finally:
        app.close()
    rows = [
        [
            r.source,
            r.status,
            str(r.count(ChangeKind.NEW)),
            str(r.count(ChangeKind.EDITED)),
            str(r.count(ChangeKind.REMOVED)),
            str(r.requests),
            f"{r.seconds:.1f}",
            r.error or "",
        ]
        for r in results
    ]
    headers = ["source", "status", "new", "edited", "removed", "requests", "seconds", "error"]
    click.echo(_table(headers, rows))
    sys.exit(0 if all(r.status == CheckStatus.OK for r in results) else 1)


@cli.group("config")
def config_group() -> None:
    """Check the configuration."""


@config_group.command("check")
@pass_context
def config_check(context: Context) -> None:
    """Validate the config and print what it resolves to."""
    config = context.config
    click.echo(f"{config.path}: ok")
    click.echo(f"state:    {config.state_dir}")
    click.echo(f"database: {_redacted(config)}")
    click.echo(f"feeds:    {config.base_url}/feeds/all.atom")
    for source in config.sources:
        state = "" if source.enabled else " (disabled)"
        click.echo(
            f"source {source.name}: {source.type} {source.url} every "
            f"{format_duration(source.every)}{state}"
        )


@config_group.command("kinds")
def config_kinds() -> None:
    """List the source kinds a config can use."""
    for name, description in DESCRIPTIONS.items():
        click.echo(f"{name:10} {description}")


@cli.group("feeds")
def feeds_group() -> None:
    """Feeds."""


@feeds_group.command("build")
@pass_context
def feeds_build(context: Context) -> None:
    """Write the feeds from the database now."""
    app = context.app()
    try:
        app.build_feeds()
    finally:
        app.close()
    click.echo(f"wrote {context.config.feeds_dir}/all.atom and all.rss")


@cli.command()
@click.option("--source", metavar="NAME", help="Only this source's releases.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per release.")
@pass_context
def releases(context: Context, source: str | None, as_json: bool) -> None:
    """List stored releases, newest first."""
    found = _read(context, lambda app: app.store.releases(source))
    if as_json:
        click.echo(json.dumps([_release_json(r) for r in found], indent=2, ensure_ascii=False))
        return
    rows = [
        [str(r.id), r.source, _day(r.published), r.status, str(r.versions), _short(r.title, 70)]
        for r in found
    ]
    click.echo(_table(["id", "source", "published", "status", "versions", "title"], rows))


@cli.command()
@click.argument("release")
@click.option("--json", "as_json", is_flag=True, help="JSON: the release, its versions, changes.")
@pass_context
def history(context: Context, release: str, as_json: bool) -> None:
    """Every version of a release (by id or URL), with what changed."""
    found = _read(context, lambda app: app.store.history(release))
    if found is None:
        _fail(f"no release {release!r} (give an id from `watcher releases` or a URL)", 1)
    if as_json:
        data = {
            "release": _release_json(found.release),
            "versions": [_jsonable(asdict(v)) for v in found.versions],
            "changes": [_jsonable(asdict(c)) for c in found.changes],
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    r = found.release
    click.echo(
        f"{r.title}\n{r.url}\nrelease {r.id} of {r.source}, {r.status}, {r.versions} version(s)"
    )
    for change in found.changes:
        version = f" -> version {change.version}" if change.version else ""
        click.echo(f"\n== {change.detected_at:%Y-%m-%d %H:%M} UTC {change.kind}{version}")
        if change.diff:
            click.echo(change.diff)
    if found.versions:
        latest = found.versions[-1]
        click.echo(f"\n== text of version {latest.number}\n{latest.text}")


@cli.command()
@pass_context
def status(context: Context) -> None:
    """Each source's last check, from the database (works with or without a daemon)."""
    statuses = _read(context, lambda app: app.store.statuses())
    rows = []
    for s in statuses:
        run = s.last_run
        rows.append(
            [
                s.name,
                str(run.status) if run else "never",
                _when(run.started_at) if run else "",
                _when(s.last_success_at),
                str(s.consecutive_failures),
                str(s.releases),
                s.last_error or "",
            ]
        )
    headers = ["source", "last check", "at", "last success", "failures", "releases", "error"]
    click.echo(_table(headers, rows))


def _read(context: Context, query: Callable[[App], Any]) -> Any:
    app = context.app()
    try:
        return query(app)
    finally:
        app.close()


def _release_json(r: ReleaseSummary) -> dict[str, Any]:
    return {
        "id": r.id,
        "url": r.url,
        "title": r.title,
        "published": _iso(r.published),
        "source": r.source,
        "status": str(r.status),
        "versions": r.versions,
        "first_seen": _iso(r.first_seen),
        "last_changed": _iso(r.last_changed),
        "last_seen": _iso(r.last_seen),
        "key": r.key,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _redacted(config: Config) -> str:
    return safe_url(config.database_url)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
        for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="watcher")


if __name__ == "__main__":
    main()
