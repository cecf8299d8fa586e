"""Which releases are in which topic, and the definition each topic was applied with.

A release is in a topic when any of its versions matched: new versions only add topics. When a
topic's definition changes, its rows are computed again from every stored version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from watcher.models import TopicMembership
from watcher.store.conflicts import insert_unless_present
from watcher.store.reading import summary_from_row
from watcher.store.tables import RELEASE, RELEASE_TOPIC, SOURCE, TOPIC_STATE, VERSION

# Matches of one reading: topic name -> the terms that matched.
Matches = Mapping[str, tuple[str, ...]]


def add_matches(
    connection: sa.Connection, release_id: int, matches: Matches, now: datetime
) -> None:
    """Within the caller's transaction: the topics a new reading adds to its release."""
    if not matches:
        return
    present = set(
        connection.execute(
            sa.select(RELEASE_TOPIC.c.topic).where(RELEASE_TOPIC.c.release_id == release_id)
        ).scalars()
    )
    rows = [
        {"release_id": release_id, "topic": topic, "terms": list(terms), "matched_at": now}
        for topic, terms in matches.items()
        if topic not in present
    ]
    if rows:
        connection.execute(sa.insert(RELEASE_TOPIC), rows)


class TopicIndex:
    engine: Engine

    def topic_fingerprints(self) -> dict[str, str]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(TOPIC_STATE.c.name, TOPIC_STATE.c.fingerprint))
            return {row[0]: row[1] for row in rows}

    def forget_topics(self, keep: Iterable[str]) -> None:
        """Topics no longer configured: matched again in full if they ever come back."""
        with self.engine.begin() as connection:
            gone = TOPIC_STATE.c.name.not_in(list(keep))
            connection.execute(sa.delete(TOPIC_STATE).where(gone))
            connection.execute(
                sa.delete(RELEASE_TOPIC).where(RELEASE_TOPIC.c.topic.not_in(list(keep)))
            )

    def apply_topic(
        self,
        name: str,
        fingerprint: str,
        judge: Callable[[str, str], tuple[str, ...] | None],
        now: datetime,
        *,
        force: bool = False,
    ) -> int:
        """Compute a topic again over every stored version; returns how many releases are in
        it. A release that was already in the topic keeps the time it joined (what it was owed
        stays owed); one that joins now is in it from `now` (its past is not news).

        One process at a time: the topic's row is locked first, and a process that waited for
        it finds the definition applied (daemons sharing a database start together)."""
        members: dict[int, tuple[str, ...]] = {}
        with self.engine.begin() as connection:
            insert_unless_present(
                connection, TOPIC_STATE, {"name": name, "fingerprint": "", "effective_from": now}
            )
            applied = connection.execute(
                sa.select(TOPIC_STATE.c.fingerprint)
                .where(TOPIC_STATE.c.name == name)
                .with_for_update()
            ).scalar_one()
            if applied == fingerprint and not force:
                return int(
                    connection.execute(
                        sa.select(sa.func.count()).where(RELEASE_TOPIC.c.topic == name)
                    ).scalar_one()
                )
            joined = dict(
                connection.execute(
                    sa.select(RELEASE_TOPIC.c.release_id, RELEASE_TOPIC.c.matched_at).where(
                        RELEASE_TOPIC.c.topic == name
                    )
                ).all()
            )
            versions = connection.execute(
                sa.select(VERSION.c.release_id, VERSION.c.title, VERSION.c.text).order_by(
                    VERSION.c.release_id, VERSION.c.number
                )
            )
            for release_id, title, text in versions:
                if release_id in members:
                    continue
                terms = judge(title, text)
                if terms is not None:
                    members[release_id] = terms
            connection.execute(sa.delete(RELEASE_TOPIC).where(RELEASE_TOPIC.c.topic == name))
            if members:
                connection.execute(
                    sa.insert(RELEASE_TOPIC),
                    [
                        {
                            "release_id": rid,
                            "topic": name,
                            "terms": list(terms),
                            "matched_at": joined.get(rid, now),
                        }
                        for rid, terms in members.items()
                    ],
                )
            connection.execute(
                sa.update(TOPIC_STATE)
                .where(TOPIC_STATE.c.name == name)
                .values(fingerprint=fingerprint, effective_from=now)
            )
        return len(members)

    def release_topics(self, release_ids: Iterable[int]) -> dict[int, dict[str, tuple[str, ...]]]:
        ids = list(release_ids)
        found: dict[int, dict[str, tuple[str, ...]]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(ids), 500):
                rows = connection.execute(
                    sa.select(
                        RELEASE_TOPIC.c.release_id, RELEASE_TOPIC.c.topic, RELEASE_TOPIC.c.terms
                    )
                    .where(RELEASE_TOPIC.c.release_id.in_(ids[start : start + 500]))
                    .order_by(RELEASE_TOPIC.c.topic)
                )
                for release_id, topic, terms in rows:
                    found.setdefault(release_id, {})[topic] = tuple(terms)
        return found

    def topic_members(self, topic: str) -> list[TopicMembership]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(RELEASE, SOURCE.c.name.label("source_name"), RELEASE_TOPIC.c.terms)
                .join(RELEASE_TOPIC, RELEASE_TOPIC.c.release_id == RELEASE.c.id)
                .join(SOURCE, SOURCE.c.id == RELEASE.c.source_id)
                .where(RELEASE_TOPIC.c.topic == topic)
                .order_by(RELEASE.c.published.desc().nulls_last(), RELEASE.c.id.desc())
            )
            return [
                TopicMembership(summary_from_row(row, row.source_name), tuple(row.terms))
                for row in rows
            ]
