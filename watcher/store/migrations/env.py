"""Alembic environment: the program hands in its own connection (see Store.upgrade)."""

from alembic import context
from sqlmodel import SQLModel

from watcher.store import search, tables  # noqa: F401  (registers the tables on the metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
    # the search index is made by hand (an FTS5 table on SQLite), not from the metadata
    include_name=lambda name, kind, _: kind != "table" or not search.is_index_table(name),
)
with context.begin_transaction():
    context.run_migrations()
