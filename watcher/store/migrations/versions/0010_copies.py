"""copies: releases linked across sources, their LSH bands, and changes about another release

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "copy_band",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["release.id"]),
        sa.PrimaryKeyConstraint("release_id", "band"),
    )
    op.create_index("ix_copy_band_hash", "copy_band", ["hash"])
    # the releases stored before are signed and linked at the next start, silently
    with op.batch_alter_table("release") as batch:
        batch.add_column(sa.Column("signed_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("copy_of", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("similarity", sa.Float(), nullable=True))
        batch.add_column(sa.Column("divergence", sa.String(length=64), nullable=True))
        batch.create_index("ix_release_story_id", ["story_id"])
    with op.batch_alter_table("change") as batch:
        batch.add_column(sa.Column("related_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("note", sa.JSON(), nullable=True))
        batch.create_foreign_key("fk_change_related_id_release", "release", ["related_id"], ["id"])
        # a release's history reads the changes of its copies too
        batch.create_index("ix_change_related_id", ["related_id"])


def downgrade() -> None:
    with op.batch_alter_table("change") as batch:
        batch.drop_index("ix_change_related_id")
        batch.drop_constraint("fk_change_related_id_release", type_="foreignkey")
        batch.drop_column("note")
        batch.drop_column("related_id")
    with op.batch_alter_table("release") as batch:
        batch.drop_index("ix_release_story_id")
        for column in ("divergence", "similarity", "copy_of", "story_id", "signed_version"):
            batch.drop_column(column)
    op.drop_index("ix_copy_band_hash", table_name="copy_band")
    op.drop_table("copy_band")
