"""search: the full-text index of every version's title, body and attachments' texts

Filled from the versions already stored, so that a search finds what was said before the
upgrade as well.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-20 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

from watcher.store import search

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    search.create(connection)
    # The index must hold the words the code's queries look for, cut and folded by the same
    # rules: the store's own function fills it, not a copy frozen here.
    search.rebuild(connection)


def downgrade() -> None:
    search.drop(op.get_bind())
