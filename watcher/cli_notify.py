"""Commands for topics and deliveries: `watcher topics ...`, `watcher digest ...` and
`watcher outbox ...`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from watcher.cli_common import (
    MAIL_WAIT,
    Context,
    Reader,
    day,
    fail,
    look,
    pass_context,
    read,
    short,
    table,
)
from watcher.models import Channel, TopicMembership

if TYPE_CHECKING:
    from watcher.app import App
    from watcher.options import Subscription


@click.group("topics")
def topics_group() -> None:
    """Topics: which releases are about what."""


@topics_group.command("presets")
def topics_presets() -> None:
    """Every built-in preset, with its terms and what does not count."""
    from watcher.topics import PRESETS

    for slug, preset in PRESETS.items():
        click.echo(f"{slug}  ({preset.name})")
        click.echo(f"  terms: {', '.join(preset.terms)}")
        if preset.not_counted:
            click.echo(f"  not counted: {', '.join(preset.not_counted)}")


@topics_group.command("list")
@pass_context
def topics_list(context: Context) -> None:
    """The configured topics and how many stored releases each holds."""
    config = context.config
    counts = look(context, lambda app: {n: len(app.store.topic_members(n)) for n in config.topics})
    rows = [
        [name, topic.title, str(counts[name]), short(", ".join(topic.any), 60)]
        for name, topic in config.topics.items()
    ]
    click.echo(table(["topic", "title", "releases", "terms"], rows))


@topics_group.command("test")
@click.argument("topic")
@pass_context
def topics_test(context: Context, topic: str) -> None:
    """Which stored releases are in TOPIC, and the terms that put each there."""
    if topic not in context.config.topics:
        known = ", ".join(context.config.topics) or "none configured"
        fail(f"{context.path}: no topic named {topic!r} (topics: {known})", 2)

    def members(app: App) -> list[list[str]]:
        app.prepare()
        return [
            [str(m.release.id), day(m.release.published), short(m.release.title, 60), _terms(m)]
            for m in app.store.topic_members(topic)
        ]

    rows = read(context, members)
    click.echo(table(["id", "published", "title", "matched"], rows))
    click.echo(f"{len(rows)} release(s) in {topic}")


@topics_group.command("apply")
@click.option("--all", "everything", is_flag=True, help="Every topic, changed or not.")
@pass_context
def topics_apply(context: Context, everything: bool) -> None:
    """Match stored releases again for topics whose terms changed (done at start, too)."""
    counts = read(context, lambda app: app.apply_topics(force=everything))
    if not counts:
        click.echo("every topic is up to date")
    for name, count in counts.items():
        click.echo(f"{name}: {count} release(s)")


@click.group("digest")
def digest_group() -> None:
    """Digests: what subscriptions receive."""


@digest_group.command("preview")
@click.argument("subscription")
@pass_context
def digest_preview(context: Context, subscription: str) -> None:
    """The next digest of SUBSCRIPTION as it would be sent now (nothing is sent or recorded)."""

    def render(reader: Reader) -> list[str]:
        from watcher.delivery import Deliverer

        deliverer = Deliverer(reader.config, reader.store, reader.clock)
        try:
            chosen = deliverer.subscription(subscription)
        except KeyError as exc:
            fail(f"{context.path}: {exc.args[0]}", 2)
        messages = deliverer.preview(chosen)
        emails = [m.message for m in messages if m.channel == Channel.EMAIL]
        return emails or [m.message for m in messages]

    for raw in look(context, render):
        click.echo(_readable(raw))


@digest_group.command("send")
@click.option("--dry-run", is_flag=True, help="Show what is due, send nothing, record nothing.")
@pass_context
def digest_send(context: Context, dry_run: bool) -> None:
    """Send the digests whose time has come, and whatever waits in the outbox."""
    from watcher.lock import daemon_running

    def send(app: App) -> int:
        if not dry_run:
            app.prepare()
        due = app.deliverer.digests_due(record=not dry_run)
        for subscription in due:
            click.echo(
                f"due: {subscription.name} ({subscription.schedule} {subscription.timezone})"
            )
        if dry_run:
            _show_what_would_be_sent(app, due)
            return 0
        for subscription in due:
            app.deliverer.enqueue_digest(subscription)
        sent, failed = app.deliverer.deliver()
        click.echo(f"sent {sent}, failed {failed}")
        return 1 if failed else 0

    if not dry_run and daemon_running(context.config):
        fail("the running daemon sends the digests (and retries the outbox); nothing sent", 1)
    if dry_run:
        sys.exit(read(context, send))

    def send_alone(app: App) -> int:
        with app.mail_rights(wait=MAIL_WAIT) as may_send:
            if may_send is None:
                fail("another watcher process is sending mail now; nothing sent", 1)
            return send(app)

    sys.exit(read(context, send_alone))


def _show_what_would_be_sent(app: App, due: Sequence[Subscription]) -> None:
    for subscription in due:
        for message in app.deliverer.preview(subscription):
            click.echo(f"  would send: {message.subject} to {', '.join(message.recipients)}")


@click.group("outbox")
def outbox_group() -> None:
    """Messages waiting to be sent, sent, or given up on."""


@outbox_group.command("list")
@click.argument("subscription", required=False)
@click.option("--all", "everything", is_flag=True, help="Sent messages too.")
@pass_context
def outbox_list(context: Context, subscription: str | None, everything: bool) -> None:
    """What waits in the outbox (pending, or given up on), oldest first."""
    messages = look(context, lambda app: app.store.outbox(subscription, sent=everything))
    rows = [
        [
            str(m.id),
            m.subscription,
            m.kind,
            m.status,
            str(m.attempts),
            short(m.subject, 60),
            short(m.last_error or "", 60),
        ]
        for m in messages
    ]
    headers = ["id", "subscription", "kind", "status", "attempts", "subject", "error"]
    click.echo(table(headers, rows))


@outbox_group.command("retry")
@click.argument("subscription", required=False)
@pass_context
def outbox_retry(context: Context, subscription: str | None) -> None:
    """Try again the messages given up on (after 12 attempts), of one subscription or of every
    configured one; each keeps its Message-ID. Without a running daemon they are sent now, with
    whatever else is due."""
    from watcher.delivery import ADMIN
    from watcher.lock import daemon_running

    names = [s.name for s in context.config.subscriptions]
    if context.config.health.admin:
        names.append(ADMIN)
    if subscription is not None and subscription not in names:
        known = ", ".join(names) or "none configured"
        fail(f"{context.path}: no subscription named {subscription!r} (subscriptions: {known})", 2)
    wanted = [subscription] if subscription else names
    requeued = read(context, lambda app: app.store.requeue_failed(app.clock(), wanted))
    click.echo(f"{requeued} message(s) to try again")
    if daemon_running(context.config):
        click.echo("the running daemon sends them within a minute")
        sys.exit(0)

    def send(app: App) -> tuple[int, int] | None:
        with app.mail_rights(wait=MAIL_WAIT) as may_send:
            if may_send is None:
                return None
            return app.deliverer.deliver(stop=may_send)

    outcome = read(context, send)
    if outcome is None:
        click.echo("the watcher process sending mail now sends them")
        sys.exit(0)
    sent, failed = outcome
    click.echo(f"sent {sent}, failed {failed}")
    sys.exit(1 if failed else 0)


def _terms(membership: TopicMembership) -> str:
    return ", ".join(membership.terms)


def _readable(raw: str) -> str:
    """A stored message as a person reads it: decoded headers, then the plain text."""
    if not raw.startswith("From:") and "\r\n\r\n" not in raw:
        return raw  # a chat notification is plain text already
    # imported here: the email package costs every command's start-up
    import email
    from email import policy
    from email.message import EmailMessage

    message = email.message_from_string(raw, policy=policy.default)
    head = [f"{name}: {message[name]}" for name in ("From", "To", "Date", "Subject", "Message-ID")]
    body = message.get_body(("plain",)) if isinstance(message, EmailMessage) else None
    text = body.get_content() if body is not None else ""
    return "\n".join(head) + "\n\n" + text
