"""Alembic environment: the program hands in its own connection (see Store.upgrade)."""

from alembic import context
from sqlmodel import SQLModel

from watcher.store import tables  # noqa: F401  (registers the tables on the metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
