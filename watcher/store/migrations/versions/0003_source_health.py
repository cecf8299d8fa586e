"""source health

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 14:02:14.630100
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "health_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("mailed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    with op.batch_alter_table("health_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_event_source"), ["source"], unique=False)

    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unhealthy_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_column("unhealthy_since")

    with op.batch_alter_table("health_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_event_source"))
        batch_op.drop_index(batch_op.f("ix_health_event_at"))

    op.drop_table("health_event")
