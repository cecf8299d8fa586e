"""What the checks keep of attachments besides their texts (which are in the versions): how each
PDF of a release was last asked for, to ask again conditionally on the release's revisit
schedule, and why its last reading failed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from watcher.models import (
    Attachment,
    AttachmentState,
    Origin,
    ReleaseSnapshot,
    ReleaseStatus,
    Validators,
)
from watcher.store.tables import (
    ATTACHMENT,
    ETAG_LENGTH,
    LAST_MODIFIED_LENGTH,
    RELEASE,
    VERSION,
    unstorable_url,
)
from watcher.store.validators import fitting

_LATEST = sa.select(VERSION).where(
    VERSION.c.release_id == sa.bindparam("rid"), VERSION.c.number == sa.bindparam("n")
)
_STATES = sa.select(ATTACHMENT).where(ATTACHMENT.c.release_id == sa.bindparam("rid"))


class AttachmentRecords:
    engine: Engine

    def attachments_due_since(self, source_id: int) -> dict[str, datetime | None]:
        """By release key, for the active releases with attachments (and not missing): when
        their attachments were asked for last (the longest ago), None if one never was."""
        query = (
            sa.select(
                RELEASE.c.key,
                sa.func.count().label("attachments"),
                sa.func.count(ATTACHMENT.c.checked_at).label("checked"),
                sa.func.min(ATTACHMENT.c.checked_at).label("oldest"),
            )
            .join(ATTACHMENT, ATTACHMENT.c.release_id == RELEASE.c.id)
            .where(
                RELEASE.c.source_id == source_id,
                RELEASE.c.status == ReleaseStatus.ACTIVE.value,
                RELEASE.c.missing_count == 0,
            )
            .group_by(RELEASE.c.key)
        )
        with self.engine.connect() as connection:
            return {
                row.key: row.oldest if row.checked == row.attachments else None
                for row in connection.execute(query)
            }

    def latest_snapshot(self, source_id: int, key: str) -> ReleaseSnapshot | None:
        """A release as its latest version has it."""
        with self.engine.connect() as connection:
            release = connection.execute(
                sa.select(RELEASE).where(RELEASE.c.source_id == source_id, RELEASE.c.key == key)
            ).first()
            if release is None:
                return None
            version = connection.execute(_LATEST, {"rid": release.id, "n": release.versions})
            row = version.first()
            if row is None:
                return None
            return ReleaseSnapshot(
                key=release.key,
                url=release.url,
                title=row.title,
                published=row.published,
                text=row.text,
                html=row.html,
                attachments=stored_attachments(row.attachments),
                content_hash=row.content_hash,
                origin=Origin(row.origin),
                wp_id=release.wp_id,
                source_modified=release.source_modified,
            )


def stored_attachments(values: Iterable[Mapping[str, Any]] | None) -> tuple[Attachment, ...]:
    """A version's attachments as stored (JSON): the text only once one was read."""
    return tuple(Attachment(a["url"], a["label"], a.get("text")) for a in values or ())


def attachment_json(attachments: Iterable[Attachment]) -> list[dict[str, str]]:
    out = []
    for attachment in attachments:
        value = {"url": attachment.url, "label": attachment.label}
        if attachment.text is not None:
            value["text"] = attachment.text
        out.append(value)
    return out


def usable_states(
    connection: sa.Connection, release_id: int, attachments: tuple[Attachment, ...]
) -> dict[str, AttachmentState]:
    """The states of a release's attachments; validators only where the stored version holds
    the text read from those bytes (a 304 must leave a text to keep)."""
    with_text = {a.url for a in attachments if a.text is not None}
    states = {}
    for row in connection.execute(_STATES, {"rid": release_id}):
        validators = Validators(row.etag, row.last_modified, row.body_hash)
        states[row.url] = AttachmentState(
            url=row.url,
            validators=validators if row.url in with_text else None,
            checked_at=row.checked_at,
            error=row.error,
        )
    return states


def save_states(
    connection: sa.Connection,
    release_id: int,
    states: Iterable[AttachmentState],
    kept: Iterable[str],
) -> None:
    """The states read now, in the release's transaction; the rows of attachments no longer
    linked (not in `kept`) go."""
    urls = set(kept)
    existing = {
        row.url: row.id for row in connection.execute(_STATES, {"rid": release_id}) if row.url
    }
    gone = [row_id for url, row_id in existing.items() if url not in urls]
    if gone:
        connection.execute(sa.delete(ATTACHMENT).where(ATTACHMENT.c.id.in_(gone)))
    for state in states:
        if state.url not in urls or unstorable_url(state.url):
            continue
        validators = state.validators or Validators()
        values = {
            "etag": fitting(validators.etag, ETAG_LENGTH),
            "last_modified": fitting(validators.last_modified, LAST_MODIFIED_LENGTH),
            "body_hash": validators.body_hash,
            "checked_at": state.checked_at,
            "error": state.error,
        }
        if state.url in existing:
            connection.execute(
                sa.update(ATTACHMENT).where(ATTACHMENT.c.id == existing[state.url]), values
            )
        else:
            connection.execute(
                sa.insert(ATTACHMENT), {"release_id": release_id, "url": state.url, **values}
            )
