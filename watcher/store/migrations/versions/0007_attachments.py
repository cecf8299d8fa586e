"""attachments: how each PDF of a release was last asked for; attachment requests per check

Every PDF linked from the latest version of a stored release gets its row, never asked for yet:
the checks after the upgrade read its first text, silently (a baseline, no change).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:00:00.000000
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# what attachments.readable() read when this was written: a migration keeps its own copy
_READABLE = re.compile(r"\.pdf$", re.IGNORECASE)
_URL_LENGTH = 2048


def upgrade() -> None:
    attachment = op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=_URL_LENGTH), nullable=False),
        sa.Column("etag", sa.String(length=512), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["release_id"], ["release.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("release_id", "url", name="uq_attachment_url"),
    )
    op.create_index("ix_attachment_release_id", "attachment", ["release_id"])
    with op.batch_alter_table("check_run") as batch:
        batch.add_column(
            sa.Column("attachment_requests", sa.Integer(), nullable=False, server_default="0")
        )
    _rows_for_stored_releases(attachment)


def _rows_for_stored_releases(attachment: sa.Table) -> None:
    connection = op.get_bind()
    version = sa.table(
        "version",
        sa.column("release_id", sa.Integer),
        sa.column("number", sa.Integer),
        sa.column("attachments", sa.JSON),
    )
    release = sa.table("release", sa.column("id", sa.Integer), sa.column("versions", sa.Integer))
    latest = sa.select(version.c.release_id, version.c.attachments).join(
        release,
        sa.and_(release.c.id == version.c.release_id, release.c.versions == version.c.number),
    )
    rows = []
    for release_id, attachments in connection.execute(latest):
        urls = dict.fromkeys(
            a["url"]
            for a in attachments or ()
            if _READABLE.search(a["url"].split("?", 1)[0].split("#", 1)[0])
            and len(a["url"].encode()) <= _URL_LENGTH
        )
        rows += [{"release_id": release_id, "url": url} for url in urls]
        if len(rows) >= 1000:
            op.bulk_insert(attachment, rows)
            rows = []
    if rows:
        op.bulk_insert(attachment, rows)


def downgrade() -> None:
    with op.batch_alter_table("check_run") as batch:
        batch.drop_column("attachment_requests")
    op.drop_index("ix_attachment_release_id", table_name="attachment")
    op.drop_table("attachment")
