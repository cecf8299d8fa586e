"""Subscriptions' watermarks and the outbox.

A message is written to the outbox, with its Message-ID, in the same transaction that moves
its subscription's watermark past the changes it carries: a change is either waiting in the
outbox or not yet taken, never lost and never taken twice. Sending marks it sent afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from watcher.models import (
    ChangeEntry,
    Channel,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    SubscriptionState,
)
from watcher.store.conflicts import insert_unless_present
from watcher.store.reading import about_release, change_entry, changes_query
from watcher.store.tables import (
    CHANGE,
    OUTBOX,
    RELEASE_TOPIC,
    SUBSCRIPTION,
)


class Deliveries:
    engine: Engine

    def subscription_state(
        self, name: str, now: datetime, *, create: bool = True
    ) -> SubscriptionState:
        """A new subscription starts after the newest change: it never mails the past. With
        `create` False, one not seen yet is described as it would start, and not recorded."""
        with self.engine.begin() as connection:
            row = connection.execute(
                sa.select(SUBSCRIPTION).where(SUBSCRIPTION.c.name == name)
            ).first()
            if row is None:
                newest = connection.execute(sa.select(sa.func.max(CHANGE.c.id))).scalar() or 0
                if not create:
                    return SubscriptionState(name, now, newest, None)
                values = {"name": name, "created_at": now, "last_change_id": newest}
                if insert_unless_present(connection, SUBSCRIPTION, values):
                    return SubscriptionState(name, now, newest, None)
                # another process recorded it first (daemons sharing a database start together)
                row = connection.execute(
                    sa.select(SUBSCRIPTION).where(SUBSCRIPTION.c.name == name)
                ).one()
            return SubscriptionState(
                row.name, row.created_at, row.last_change_id, row.last_digest_at
            )

    def changes_after(
        self, last_change_id: int, topics: Sequence[str], *, until_id: int
    ) -> list[ChangeEntry]:
        """Changes after the watermark (up to `until_id`) that happened while their release was
        in one of `topics`, oldest first, each with the version text it made and those topics.
        A release that joins a topic (its terms changed) brings no news from before."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                changes_query()
                .where(CHANGE.c.id > last_change_id, CHANGE.c.id <= until_id)
                .where(
                    sa.exists().where(
                        RELEASE_TOPIC.c.release_id == about_release(),
                        RELEASE_TOPIC.c.topic.in_(list(topics)),
                        RELEASE_TOPIC.c.matched_at <= CHANGE.c.detected_at,
                    )
                )
                .order_by(CHANGE.c.id)
            ).all()
            memberships: dict[int, list[tuple[str, datetime]]] = {}
            release_ids = list({row.related_id or row.release_id for row in rows})
            for start in range(0, len(release_ids), 500):
                for release_id, topic, joined in connection.execute(
                    sa.select(
                        RELEASE_TOPIC.c.release_id,
                        RELEASE_TOPIC.c.topic,
                        RELEASE_TOPIC.c.matched_at,
                    )
                    .where(RELEASE_TOPIC.c.release_id.in_(release_ids[start : start + 500]))
                    .where(RELEASE_TOPIC.c.topic.in_(list(topics)))
                ):
                    memberships.setdefault(release_id, []).append((topic, joined))
            return [
                change_entry(
                    row,
                    [
                        t
                        for t, joined in memberships.get(row.related_id or row.release_id, [])
                        if joined <= row.detected_at
                    ],
                )
                for row in rows
            ]

    def newest_change_id(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.max(CHANGE.c.id))).scalar() or 0)

    def enqueue(
        self,
        subscription: str,
        messages: Sequence[OutboxMessage],
        *,
        read_watermark: int,
        last_change_id: int,
        digest_at: datetime | None,
        now: datetime,
    ) -> bool:
        """The messages and the watermark past their changes, together; only if the watermark
        is still the one they were composed from (else another process took these changes,
        and nothing is written). Returns whether they were written."""
        with self.engine.begin() as connection:
            values: dict[str, Any] = {"last_change_id": last_change_id}
            if digest_at is not None:
                values["last_digest_at"] = digest_at
            moved = connection.execute(
                sa.update(SUBSCRIPTION)
                .where(
                    SUBSCRIPTION.c.name == subscription,
                    SUBSCRIPTION.c.last_change_id == read_watermark,
                )
                .values(**values)
            )
            if moved.rowcount != 1:
                return False
            for message in messages:
                insert_outbox(connection, message, now)
            return True

    def forget_subscriptions(self, keep: Sequence[str]) -> None:
        """Subscriptions no longer configured: one added again later starts afresh."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.delete(SUBSCRIPTION).where(SUBSCRIPTION.c.name.not_in(list(keep)))
            )

    def due_messages(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(OUTBOX)
                .where(OUTBOX.c.status == OutboxStatus.PENDING, OUTBOX.c.next_attempt_at <= now)
                .order_by(OUTBOX.c.id)
                .limit(limit)
            )
            return [_message(row) for row in rows]

    def mark_sent(self, message_id: int, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(OUTBOX)
                .where(OUTBOX.c.id == message_id)
                .values(status=OutboxStatus.SENT, sent_at=now, last_error=None)
            )

    def mark_attempt_failed(
        self, message_id: int, error: str, *, retry_at: datetime | None
    ) -> None:
        """Another try at `retry_at`; None gives up (the message stays, marked failed)."""
        with self.engine.begin() as connection:
            values: dict[str, Any] = {"attempts": OUTBOX.c.attempts + 1, "last_error": error}
            if retry_at is None:
                values["status"] = OutboxStatus.FAILED
            else:
                values["next_attempt_at"] = retry_at
            connection.execute(sa.update(OUTBOX).where(OUTBOX.c.id == message_id).values(**values))

    def requeue_failed(self, now: datetime, subscriptions: Sequence[str]) -> int:
        """These subscriptions' messages given up on are tried again from now, with a fresh
        count of attempts and their own Message-IDs (a message the server did take is never a
        different one)."""
        with self.engine.begin() as connection:
            result = connection.execute(
                sa.update(OUTBOX)
                .where(
                    OUTBOX.c.status == OutboxStatus.FAILED,
                    OUTBOX.c.subscription.in_(list(subscriptions)),
                )
                .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now)
            )
            return int(result.rowcount)

    def outbox(self, subscription: str | None = None, *, sent: bool = True) -> list[OutboxMessage]:
        with self.engine.connect() as connection:
            query = sa.select(OUTBOX).order_by(OUTBOX.c.id)
            if subscription is not None:
                query = query.where(OUTBOX.c.subscription == subscription)
            if not sent:
                query = query.where(OUTBOX.c.status != OutboxStatus.SENT)
            return [_message(row) for row in connection.execute(query)]

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        """Per subscription: how many messages are pending, sent, failed."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(OUTBOX.c.subscription, OUTBOX.c.status, sa.func.count()).group_by(
                    OUTBOX.c.subscription, OUTBOX.c.status
                )
            )
            counts: dict[str, dict[str, int]] = {}
            for subscription, status, count in rows:
                counts.setdefault(subscription, {})[status] = count
            return counts


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        subscription=row.subscription,
        channel=Channel(row.channel),
        message_id=row.message_id,
        kind=MessageKind(row.kind),
        change_ids=tuple(row.change_ids),
        recipients=tuple(row.recipients),
        subject=row.subject,
        message=row.message,
        id=row.id,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
    )


def insert_outbox(connection: sa.Connection, message: OutboxMessage, now: datetime) -> None:
    connection.execute(
        sa.insert(OUTBOX),
        {
            "subscription": message.subscription,
            "channel": message.channel,
            "message_id": message.message_id,
            "kind": message.kind,
            "created_at": now,
            "change_ids": list(message.change_ids),
            "recipients": list(message.recipients),
            "subject": message.subject,
            "message": message.message,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        },
    )
