"""leases, shared host politeness, who ran each check

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 22:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lease",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "host",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("next_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "host_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("host_slot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_host_slot_host"), ["host"], unique=False)

    with op.batch_alter_table("check_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("runner", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("check_run", schema=None) as batch_op:
        batch_op.drop_column("runner")
    with op.batch_alter_table("host_slot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_host_slot_host"))
    op.drop_table("host_slot")
    op.drop_table("host")
    op.drop_table("lease")
