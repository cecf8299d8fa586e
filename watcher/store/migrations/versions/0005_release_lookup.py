"""releases looked up by source and canonical URL through one index

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 22:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Without it, finding a release by its URL read every release of its source: each release
    # a check read cost more the larger the archive.
    op.create_index("ix_release_source_canonical", "release", ["source_id", "canonical"])


def downgrade() -> None:
    op.drop_index("ix_release_source_canonical", table_name="release")
