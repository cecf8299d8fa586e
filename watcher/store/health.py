"""Sources reported unhealthy and recovered: the health feed's entries and the admin's mail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from watcher.models import HealthEvent, HealthKind, OutboxMessage
from watcher.store.deliveries import insert_outbox
from watcher.store.tables import HEALTH_EVENT, SOURCE


class Health:
    engine: Engine

    def record_health(
        self, source_id: int, source: str, kind: HealthKind, message: str, now: datetime
    ) -> HealthEvent:
        """The event and the source's state change together: reported once, recovered once."""
        uid = str(uuid.uuid4())
        with self.engine.begin() as connection:
            event_id = connection.execute(
                sa.insert(HEALTH_EVENT),
                {"uid": uid, "source": source, "kind": kind.value, "at": now, "message": message},
            ).inserted_primary_key
            since = now if kind == HealthKind.UNHEALTHY else None
            connection.execute(
                sa.update(SOURCE).where(SOURCE.c.id == source_id).values(unhealthy_since=since)
            )
        return HealthEvent(uid, source, kind, now, message, int(event_id[0]) if event_id else 0)

    def health_events(self, limit: int = 50, *, unmailed: bool = False) -> list[HealthEvent]:
        query = sa.select(HEALTH_EVENT)
        if unmailed:
            query = query.where(HEALTH_EVENT.c.mailed.is_(False)).order_by(HEALTH_EVENT.c.id)
        else:
            query = query.order_by(HEALTH_EVENT.c.at.desc(), HEALTH_EVENT.c.id.desc())
        with self.engine.connect() as connection:
            return [
                HealthEvent(row.uid, row.source, HealthKind(row.kind), row.at, row.message, row.id)
                for row in connection.execute(query.limit(limit))
            ]

    def enqueue_health_mail(
        self, messages: Sequence[OutboxMessage], event_ids: Sequence[int], now: datetime
    ) -> None:
        """The admin's messages, and the events marked mailed, together: each is mailed once."""
        with self.engine.begin() as connection:
            for message in messages:
                insert_outbox(connection, message, now)
            if event_ids:
                connection.execute(
                    sa.update(HEALTH_EVENT)
                    .where(HEALTH_EVENT.c.id.in_(list(event_ids)))
                    .values(mailed=True)
                )
