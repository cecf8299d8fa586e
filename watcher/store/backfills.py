"""Where `watcher backfill` of each source is, saved after every page it walks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from watcher.store.tables import BACKFILL


class BackfillRecords:
    engine: Engine

    def backfill_position(self, source_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            position = connection.execute(
                sa.select(BACKFILL.c.position).where(BACKFILL.c.source_id == source_id)
            ).scalar()
        return dict(position) if position is not None else None

    def save_backfill(self, source_id: int, position: Mapping[str, Any], now: datetime) -> None:
        values = {"position": dict(position), "updated_at": now}
        with self.engine.begin() as connection:
            updated = connection.execute(
                sa.update(BACKFILL).where(BACKFILL.c.source_id == source_id).values(**values)
            )
            if updated.rowcount == 0:
                connection.execute(sa.insert(BACKFILL).values(source_id=source_id, **values))
