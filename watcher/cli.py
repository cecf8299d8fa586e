"""Command line: build the app, call one function, print. Exit codes: 0 ok, 1 a check failed
(or nothing found), 2 a bad config or usage."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from watcher import __version__
from watcher.cli_backfill import backfill
from watcher.cli_common import (
    MAIL_WAIT,
    Context,
    Reader,
    day,
    fail,
    jsonable,
    look,
    pass_context,
    redacted,
    release_json,
    short,
    table,
    when,
)
from watcher.cli_db import db_group
from watcher.cli_export import export
from watcher.cli_notify import digest_group, outbox_group, topics_group
from watcher.cli_serve import serve
from watcher.errors import ConfigError
from watcher.models import (
    ChangeKind,
    CheckStatus,
    OutboxMessage,
    ReleaseHistory,
    ReleaseSummary,
)
from watcher.story import StoryMember
from watcher.units import format_duration

if TYPE_CHECKING:
    pass

# A command imports what it needs when it runs (the daemon, the store, the sources): `--help`,
# `config check` and the commands that only read start in a fraction of the time.


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_option",
    metavar="PATH",
    help="Config file (default: $WATCHER_CONFIG, else config/watcher.yaml).",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Log every request, and each release a first check finds."
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    help="Log lines as text or one JSON object each (default: `log_format` of the config, text).",
)
@click.version_option(__version__, prog_name="watcher")
@click.pass_context
def cli(
    ctx: click.Context, config_option: str | None, verbose: bool, log_format: str | None
) -> None:
    """Watch news sites for new, silently edited and removed releases."""
    ctx.obj = Context(config_option)
    ctx.obj.verbose = verbose
    ctx.obj.log_format = log_format


def _logging(context: Context) -> None:
    from watcher.logs import configure, secrets_of

    config = context.config
    configure(
        "DEBUG" if context.verbose else config.log_level,
        context.log_format or config.log_format,
        secrets_of(config),
    )


@cli.command()
@pass_context
def run(context: Context) -> None:
    """Run the daemon: check every source on its schedule and serve the feeds."""
    from watcher.daemon import Daemon
    from watcher.lock import SENDING, AlreadyRunning, DaemonLock, lock_path, mail_lock_path

    _logging(context)
    if why := context.config.nothing_to_watch():
        fail(why, 2)
    lock = DaemonLock(lock_path(context.config))
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        fail(str(exc), 1)
    app = context.app()
    mail_lock = DaemonLock(mail_lock_path(context.config), SENDING)
    if app.leases is None:
        # A SQLite database's mail is this daemon's for its whole life; a command sending
        # mail now finishes first: nothing goes twice. On a shared database each round of
        # mail takes the database's lease instead.
        mail_lock.wait_for(None)
    try:
        try:
            daemon = Daemon(app)
        except OSError as exc:
            fail(f"cannot listen on {context.config.server.listen}: {exc.strerror}", 1)
        code = daemon.run()
    finally:
        app.close()
        mail_lock.release()
        lock.release()
    sys.exit(code)


@cli.command()
@click.option("--source", "sources", multiple=True, metavar="NAME", help="Only this source.")
@click.option(
    "--all-releases",
    is_flag=True,
    help="Read every known release again, whatever `revisit:` says (verify everything now).",
)
@pass_context
def check(context: Context, sources: Sequence[str], all_releases: bool) -> None:
    """Check every source (or the ones named) once, print a summary."""
    from watcher.lock import daemon_running

    _logging(context)
    try:
        for name in sources:
            context.config.source(name)
    except ConfigError as exc:
        fail(str(exc), 2)
    if not sources and (why := context.config.nothing_to_watch()):
        fail(why, 2)
    app = context.app()
    try:
        app.mails = False  # mail goes out after the checks, by one process at a time
        app.prepare()
        results = app.check(sources or None, all_releases=all_releases)
        feeds_written = app.build_feeds()
        if daemon_running(context.config):
            logging.getLogger("watcher").info("mail is left to the running daemon")
        else:
            with app.mail_rights(wait=MAIL_WAIT) as may_send:
                if may_send is not None:
                    app.mails = True
                    app.deliver(instant=True)  # what the daemon sends after a check
                else:
                    logging.getLogger("watcher").warning(
                        "mail is left to the process sending it now"
                    )
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
            "; ".join(filter(None, (r.error, *r.notes))),
        ]
        for r in results
    ]
    headers = [
        "source", "status", "new", "edited", "removed", "requests", "seconds", "error/warning",
    ]  # fmt: skip
    click.echo(table(headers, rows))
    if not feeds_written:
        fail(f"the feeds could not be written to {context.config.feeds_dir} (see above)", 1)
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
    click.echo(f"database: {redacted(config)}")
    click.echo(f"feeds:    {config.base_url}/feeds/all.atom")
    for source in config.sources:
        state = "" if source.enabled else " (disabled)"
        click.echo(
            f"source {source.name}: {source.kind} {source.url} every "
            f"{format_duration(source.every)}{state}"
        )
    if why := config.nothing_to_watch():
        # a machine that only shows or exports the database needs no source: not an error here
        click.echo(f"warning: {why}", err=True)


@config_group.command("kinds")
def config_kinds() -> None:
    """List the source kinds a config can use."""
    from watcher.sources import SOURCE_KINDS

    for kind, info in SOURCE_KINDS.items():
        click.echo(f"{kind:10} {info.description}")


@cli.group("feeds")
def feeds_group() -> None:
    """Feeds."""


@feeds_group.command("build")
@pass_context
def feeds_build(context: Context) -> None:
    """Write the feeds from the database now."""
    app = context.app()
    try:
        written = app.build_feeds()
    finally:
        app.close()
    if not written:
        fail(f"the feeds could not be written to {context.config.feeds_dir}", 1)
    click.echo(f"wrote {context.config.feeds_dir}/all.atom and all.rss")


RELEASES_SHOWN = 100


@cli.command()
@click.option("--source", metavar="NAME", help="Only this source's releases.")
@click.option("--topic", metavar="NAME", help="Only the releases in this topic.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per release.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    metavar="N",
    help=f"The N newest (default {RELEASES_SHOWN}, or all with --json); 0 lists all.",
)
@pass_context
def releases(
    context: Context, source: str | None, topic: str | None, as_json: bool, limit: int | None
) -> None:
    """List stored releases, newest first."""
    if limit is None:
        limit = 0 if as_json else RELEASES_SHOWN
    if topic is not None and topic not in context.config.topics:
        known = ", ".join(context.config.topics) or "none configured"
        fail(f"{context.path}: no topic named {topic!r} (topics: {known})", 2)

    def query(
        reader: Reader,
    ) -> tuple[list[ReleaseSummary], dict[int, dict[str, tuple[str, ...]]]]:
        # one more than shown, to tell whether there are more
        found = reader.store.releases(source, topic, limit=limit + 1 if limit else None)
        if found:
            _warn_of_topics_changed(reader)
        return found, reader.store.release_topics(r.id for r in found)

    found, topics = look(context, query)
    configured = [s.name for s in context.config.sources]
    if source is not None and not found and source not in configured:
        # a source since removed from the config still lists its releases; a typo lists none
        known = ", ".join(configured) or "none configured"
        fail(f"{context.path}: no source named {source!r} (sources: {known})", 2)
    if as_json:
        shown = found[: limit or None]
        data = [{**release_json(r), "topics": topics.get(r.id, {})} for r in shown]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    rows = [
        [str(r.id), r.source, day(r.published), r.status, str(r.versions), short(r.title, 70)]
        for r in found[: limit or None]
    ]
    click.echo(table(["id", "source", "published", "status", "versions", "title"], rows))
    if limit and len(found) > limit:
        click.echo(f"(the {limit} newest; --limit N shows more, --limit 0 all)")


@cli.command()
@click.argument("release")
@click.option("--json", "as_json", is_flag=True, help="JSON: the release, its versions, changes.")
@pass_context
def history(context: Context, release: str, as_json: bool) -> None:
    """Every version of a release (by id or URL), with what changed."""
    from watcher.linking import origin_first

    def read(app: Reader) -> tuple[ReleaseHistory | None, list[StoryMember]]:
        found = app.store.history(release)
        return found, origin_first(app.config.sources, found.story) if found else []

    found, story = look(context, read)
    if found is None:
        fail(f"no release {release!r} (give an id from `watcher releases` or a URL)", 1)
    if as_json:
        data = {
            "release": release_json(found.release),
            "story": [
                {**jsonable(asdict(member)), "origin": n == 0} for n, member in enumerate(story)
            ],
            "versions": [jsonable(asdict(v)) for v in found.versions],
            "changes": [jsonable(asdict(c)) for c in found.changes],
            "attachment_failures": dict(found.attachment_failures),
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    _print_history(found, story)


def _print_history(found: ReleaseHistory, story: list[StoryMember]) -> None:
    r = found.release
    click.echo(
        f"{r.title}\n{r.url}\nrelease {r.id} of {r.source}, {r.status}, {r.versions} version(s)"
    )
    for n, member in enumerate(story):
        role = "origin" if n == 0 else f"copy, {member.similarity or 0:.2f} alike"
        this = " (this one)" if member.id == r.id else ""
        click.echo(f"  {role}: release {member.id} of {member.source}{this} {member.url}")
    for change in found.changes:
        version = f" -> version {change.version}" if change.version else ""
        click.echo(f"\n== {change.detected_at:%Y-%m-%d %H:%M} UTC {change.kind}{version}")
        if change.diff:
            click.echo(change.diff)
    if found.versions:
        latest = found.versions[-1]
        click.echo(f"\n== text of version {latest.number}\n{latest.text}")
        for attachment in latest.attachments:
            if attachment.text is not None:
                click.echo(f"\n== attachment {attachment.label}\n{attachment.text}")
    for url, reason in found.attachment_failures.items():
        click.echo(f"\n== attachment not read at its last reading: {url}\n{reason}")


@cli.command()
@pass_context
def status(context: Context) -> None:
    """Each source's last check, from the database (works with or without a daemon)."""
    statuses, now, counts, failures = look(
        context,
        lambda app: (
            app.store.statuses(),
            app.clock(),
            app.store.delivery_counts(),
            app.store.outbox(),
        ),
    )
    deadlines = {source.name: source.check_deadline for source in context.config.sources}
    rows = []
    for s in statuses:
        run = s.last_run
        # a source backing off, or asked by its server to wait: not checked before then
        paused = s.deferred_until if s.deferred_until and s.deferred_until > now else None
        last, at = (str(run.status), when(run.started_at)) if run else ("never", "")
        if s.running_since is not None:
            last, at = "running", when(s.running_since)
            deadline = deadlines.get(s.name)
            if deadline is not None and now - s.running_since > deadline:
                last = "running past its deadline"
        problem = s.last_error or ""
        if run is not None and run.status == CheckStatus.OK and run.notes:
            problem = "; ".join(run.notes)  # what the user should know of a check that went well
        rows.append(
            [
                s.name,
                last,
                at,
                when(s.last_success_at),
                str(s.consecutive_failures),
                when(paused) or "-",
                str(s.releases),
                problem,
            ]
        )
    headers = [
        "source", "last check", "at", "last success", "failures", "paused until", "releases",
        "error/warning",
    ]  # fmt: skip
    click.echo(table(headers, rows))
    modes: dict[str, str] = {s.name: s.mode for s in context.config.subscriptions}
    if context.config.health.admin:
        from watcher.delivery import ADMIN

        modes[ADMIN] = "health"  # the admin's mail about sources' health
    names = [*modes, *(name for name in counts if name not in modes)]
    if names:
        rows = [
            [
                name,
                modes.get(name, "(removed)"),
                str(counts.get(name, {}).get("sent", 0)),
                str(counts.get(name, {}).get("pending", 0)),
                str(counts.get(name, {}).get("failed", 0)),
                _last_error(failures, name),
            ]
            for name in names
        ]
        click.echo("")
        click.echo(table(["subscription", "mode", "sent", "pending", "failed", "last error"], rows))


def _last_error(messages: Sequence[OutboxMessage], subscription: str) -> str:
    errors = [m.last_error for m in messages if m.subscription == subscription and m.last_error]
    return errors[-1] if errors else ""


def _warn_of_topics_changed(app: Reader) -> None:
    """Only reading, this command does not match releases again for topics whose terms
    changed: it says so, rather than show memberships as if they were current."""
    from watcher.topics import topic_fingerprint

    applied = app.store.topic_fingerprints()
    changed = [n for n, t in app.config.topics.items() if applied.get(n) != topic_fingerprint(t)]
    if changed:
        click.echo(
            f"note: topic(s) {', '.join(changed)} changed since they were applied: "
            "`watcher topics apply` (or the daemon's next start) matches the releases again",
            err=True,
        )


cli.add_command(backfill)
cli.add_command(db_group)
cli.add_command(export)
cli.add_command(serve)
cli.add_command(topics_group)
cli.add_command(digest_group)
cli.add_command(outbox_group)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="watcher")


if __name__ == "__main__":
    main()
