"""Subscriptions: which changes each one is owed, when, and getting them out.

Never skip, never duplicate (within what SMTP allows):
1. `enqueue_*` composes the messages a subscription is owed and writes them to the outbox, each
   with its Message-ID, in the same transaction that moves the subscription's watermark past
   their changes. A crash before that commit loses nothing (the changes are taken again); after
   it, the messages wait in the outbox.
2. `deliver` sends what waits and marks it sent; failures are retried with backoff.
The one window SMTP leaves: the server accepted a message and the process died before marking
it sent. The message is then sent again after the restart, with the same Message-ID (mail
clients and servers treat it as the same message), never as a different one.

Only changes detected after a subscription was created, and after the definition of the topic
that brings them took effect, are mailed; a source's baseline is never mailed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from watcher import mail
from watcher.models import (
    ChangeEntry,
    ChangeKind,
    Channel,
    MessageKind,
    OutboxMessage,
    SubscriptionState,
)
from watcher.options import Config, Subscription, SubscriptionMode
from watcher.store import Store

log = logging.getLogger("watcher.delivery")

RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
)
ADMIN = "_admin"  # the outbox's name for the admin's mail about sources' health
MAX_ATTEMPTS = 12  # then the message is marked failed and shown by `watcher status`

Clock = Callable[[], datetime]
Notifier = Callable[[str, str, str], bool]  # (apprise URL, title, body) -> delivered


class Deliverer:
    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Clock,
        notifier: Notifier | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.notifier = notifier or apprise_notify
        self.stop = stop or threading.Event()

    @property
    def subscriptions(self) -> list[Subscription]:
        return list(self.config.subscriptions)

    def subscription(self, name: str) -> Subscription:
        for subscription in self.subscriptions:
            if subscription.name == name:
                return subscription
        known = ", ".join(s.name for s in self.subscriptions) or "none configured"
        raise KeyError(f"no subscription named {name!r} (subscriptions: {known})")

    # -- what is owed -------------------------------------------------------------------------

    def owed(
        self, state: SubscriptionState, subscription: Subscription, until_id: int
    ) -> list[ChangeEntry]:
        """The changes after the subscription's watermark it should hear about: none from a
        source's baseline, none from before the subscription, none from before a release was
        in one of its topics."""
        return [
            entry
            for entry in self.store.changes_after(
                state.last_change_id, subscription.topics, until_id=until_id
            )
            if not entry.baseline and entry.detected_at >= state.created_at
        ]

    def enqueue_instant(self) -> int:
        """One message per change for every instant subscription; returns how many."""
        queued = 0
        newest = self.store.newest_change_id()
        now = self.clock()
        for subscription in self.subscriptions:
            if subscription.mode != SubscriptionMode.INSTANT:
                continue
            state = self.store.subscription_state(subscription.name, now)
            # a copy is no news of its own: its origin was mailed (a digest lists it there)
            entries = [
                entry
                for entry in self.owed(state, subscription, newest)
                if entry.kind != ChangeKind.ALSO_PUBLISHED
            ]
            messages = [m for entry in entries for m in self._instant(subscription, entry)]
            if self.store.enqueue(
                subscription.name,
                messages,
                read_watermark=state.last_change_id,
                last_change_id=newest,
                digest_at=None,
                now=now,
            ):
                queued += len(messages)
        return queued

    def enqueue_health(self) -> int:
        """One message to the admin for each source reported unhealthy or recovered."""
        events = self.store.health_events(unmailed=True)
        if not events:
            return 0
        health, email = self.config.health, self.config.email
        messages = []
        if health.admin and email is not None:
            envelope = mail.Envelope(email.sender, tuple(health.admin), "UTC")
            for event in events:
                message_id = mail.new_message_id(email.sender)
                message = mail.compose_health(envelope, event=event, message_id=message_id)
                messages.append(
                    OutboxMessage(
                        ADMIN,
                        Channel.EMAIL,
                        message_id,
                        MessageKind.HEALTH,
                        (),
                        tuple(health.admin),
                        str(message["Subject"]),
                        mail.as_text(message),
                    )
                )
        self.store.enqueue_health_mail(messages, [e.id for e in events], self.clock())
        return len(messages)

    def digests_due(self, *, record: bool = True) -> list[Subscription]:
        """Digest subscriptions whose scheduled time has come since their last digest (or since
        they were created: a new subscription's first digest waits for its schedule)."""
        now = self.clock()
        due = []
        for subscription in self.subscriptions:
            if subscription.mode != SubscriptionMode.DIGEST:
                continue
            state = self.store.subscription_state(subscription.name, now, create=record)
            start = state.last_digest_at or state.created_at
            trigger = CronTrigger.from_crontab(
                subscription.cron, timezone=ZoneInfo(subscription.timezone)
            )
            fire = trigger.get_next_fire_time(None, start + timedelta(seconds=1))
            if fire is not None and fire <= now:
                due.append(subscription)
        return due

    def enqueue_digest(self, subscription: Subscription) -> OutboxMessage | None:
        """The digest for the period that just ended (None if it is empty and not wanted)."""
        now = self.clock()
        newest = self.store.newest_change_id()
        state = self.store.subscription_state(subscription.name, now)
        entries = self.owed(state, subscription, newest)
        messages = self._digest(
            subscription, entries, state.last_digest_at or state.created_at, now
        )
        written = self.store.enqueue(
            subscription.name,
            messages,
            read_watermark=state.last_change_id,
            last_change_id=newest,
            digest_at=now,
            now=now,
        )
        return messages[0] if messages and written else None

    def preview(self, subscription: Subscription) -> list[OutboxMessage]:
        """The next digest (or the pending instant messages) as they would be sent now;
        nothing is recorded."""
        now = self.clock()
        state = self.store.subscription_state(subscription.name, now, create=False)
        entries = self.owed(state, subscription, self.store.newest_change_id())
        if subscription.mode == SubscriptionMode.INSTANT:
            return [m for entry in entries for m in self._instant(subscription, entry)]
        since = state.last_digest_at or state.created_at
        return self._digest(subscription, entries, since, now, preview=True)

    # -- getting it out -----------------------------------------------------------------------

    def deliver(self, stop: threading.Event | None = None) -> tuple[int, int]:
        """Send what waits in the outbox and is due; returns (sent, failed attempts). `stop`
        (else the process's) ends it between two messages: a stop, or the right to send lost."""
        sent = failed = 0
        tried: set[int] = set()
        halt = stop or self.stop
        for message in self._due(tried):
            if halt.is_set():
                break  # the rest waits in the outbox for the next start
            assert message.id is not None
            tried.add(message.id)
            try:
                self._send(message)
            except Exception as exc:  # any failure of one message: retried, never fatal
                failed += 1
                attempts = message.attempts + 1
                retry = None
                if attempts < MAX_ATTEMPTS:
                    retry = self.clock() + RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.store.mark_attempt_failed(message.id, reason, retry_at=retry)
                log.warning(
                    "delivery %s to %s failed (attempt %d): %s",
                    message.message_id,
                    message.subscription,
                    attempts,
                    reason,
                )
                continue
            self.store.mark_sent(message.id, self.clock())
            sent += 1
            log.info("delivered %s (%s) to %s", message.subject, message.kind, message.subscription)
        return sent, failed

    def _due(self, tried: set[int]) -> Iterator[OutboxMessage]:
        """Every due message, a batch at a time (a long outage leaves many), each once."""
        while True:
            batch = [m for m in self.store.due_messages(self.clock()) if m.id not in tried]
            if not batch:
                return
            yield from batch

    def _send(self, message: OutboxMessage) -> None:
        if message.channel == Channel.NOTIFY:
            url = os.environ.get(message.recipients[0], "")
            if not url or not self.notifier(url, message.subject, message.message):
                raise mail.MailError(
                    f"notification through ${message.recipients[0]} was not delivered"
                )
            return
        email = self.config.email
        if email is None:
            raise mail.MailError("no `email:` section to send with")
        mail.send(
            message.message, email.sender, message.recipients, email.smtp, email.smtp.password()
        )

    # -- composing ----------------------------------------------------------------------------

    def _titles(self, subscription: Subscription) -> dict[str, str]:
        return {name: self.config.topics[name].title for name in subscription.topics}

    def _envelope(self, subscription: Subscription) -> mail.Envelope:
        email = self.config.email
        sender = email.sender if email else "watcher <watcher@localhost>"
        return mail.Envelope(sender, tuple(subscription.to), subscription.timezone)

    def _instant(self, subscription: Subscription, entry: ChangeEntry) -> list[OutboxMessage]:
        envelope = self._envelope(subscription)
        message_id = mail.new_message_id(envelope.sender)
        message = mail.compose_instant(
            envelope,
            topic_titles=self._titles(subscription),
            entry=entry,
            now=self.clock(),
            message_id=message_id,
            pages_url=self.config.pages_url,
        )
        return self._outgoing(subscription, MessageKind.INSTANT, message, message_id, (entry.id,))

    def _digest(
        self,
        subscription: Subscription,
        entries: Sequence[ChangeEntry],
        since: datetime,
        now: datetime,
        *,
        preview: bool = False,
    ) -> list[OutboxMessage]:
        if not entries and not subscription.send_empty and not preview:
            return []
        envelope = self._envelope(subscription)
        message_id = mail.new_message_id(envelope.sender)
        message = mail.compose_digest(
            envelope,
            topic_titles=self._titles(subscription),
            entries=entries,
            since=since,
            now=now,
            message_id=message_id,
            pages_url=self.config.pages_url,
        )
        return self._outgoing(
            subscription, MessageKind.DIGEST, message, message_id, tuple(e.id for e in entries)
        )

    def _outgoing(
        self,
        subscription: Subscription,
        kind: MessageKind,
        message: EmailMessage,
        message_id: str,
        change_ids: tuple[int, ...],
    ) -> list[OutboxMessage]:
        subject = str(message["Subject"])
        out = []
        if subscription.to:
            out.append(
                OutboxMessage(
                    subscription.name,
                    Channel.EMAIL,
                    message_id,
                    kind,
                    change_ids,
                    tuple(subscription.to),
                    subject,
                    mail.as_text(message),
                )
            )
        plain = message.get_body(("plain",))
        text = plain.get_content() if plain is not None else subject
        for variable in subscription.notify_env:
            out.append(
                OutboxMessage(
                    subscription.name,
                    Channel.NOTIFY,
                    f"{message_id}#{variable}",
                    kind,
                    change_ids,
                    (variable,),
                    subject,
                    text,
                )
            )
        return out


def apprise_notify(url: str, title: str, body: str) -> bool:
    """Chat services (Slack, Telegram, Matrix, ...) through apprise; the URL carries a token,
    so it comes from the environment and is never logged."""
    import apprise  # noqa: PLC0415  (large, and only needed when a subscription uses it)

    notifier = apprise.Apprise()
    if not notifier.add(url):
        return False
    return bool(notifier.notify(title=title, body=body))
