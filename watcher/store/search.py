"""The full-text index of every version (title, body, attachments' texts), and the condition
that narrows releases to those one of whose versions a query finds.

SQLite: an FTS5 table, contentless (the versions hold the text), its rowid the version's id.
PostgreSQL: a table of one tsvector per version with a GIN index. Both index the words
watcher.search cuts from the folded text, so that both engines find the same releases; the
engines' own folding (`remove_diacritics 2`, `unaccent`) then finds nothing more to fold.

The index is no table of the code's metadata: migration 0008 makes it, `record_observed` adds
each version to it in the version's transaction, and `watcher db copy` rebuilds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from watcher.search import Term, index_words, parse

NAME = "version_search"
BATCH = 500  # versions indexed at a time when (re)building: memory stays flat
# PostgreSQL refuses a tsvector over 1 MB: a version's first words up to this many characters
# are indexed (some 80 pages of a PDF), whatever their mix of distinct words.
POSTGRES_CHARACTERS = 250_000

_VERSION = sa.table(
    "version",
    sa.column("id", sa.Integer),
    sa.column("release_id", sa.Integer),
    sa.column("title", sa.Text),
    sa.column("text", sa.Text),
    sa.column("attachments", sa.JSON),
)
_SQLITE_INDEX = sa.table(NAME, sa.column("rowid", sa.Integer))
_POSTGRES_INDEX = sa.table(
    NAME, sa.column("release_id", sa.Integer), sa.column("document", sa.Text)
)
_SQLITE = sa.text(
    f"INSERT INTO {NAME} (rowid, title, body, attachments) VALUES (:id, :title, :body, :attached)"
)
_POSTGRES = sa.text(
    f"INSERT INTO {NAME} (version_id, release_id, document) "
    "VALUES (:id, :release_id, to_tsvector('simple', unaccent(:document)))"
)


def is_index_table(name: str | None) -> bool:
    """The index's tables (FTS5 keeps its own beside it): no rows to copy or compare."""
    return name is not None and (name == NAME or name.startswith(f"{NAME}_"))


def create(connection: sa.Connection) -> None:
    """The empty index (migration 0008)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {NAME} USING fts5(title, body, attachments, content='', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        return
    connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
    connection.exec_driver_sql(
        f"CREATE TABLE {NAME} (version_id integer PRIMARY KEY REFERENCES version (id), "
        "release_id integer NOT NULL REFERENCES release (id), document tsvector NOT NULL)"
    )
    connection.exec_driver_sql(f"CREATE INDEX ix_{NAME}_document ON {NAME} USING gin (document)")


def drop(connection: sa.Connection) -> None:
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {NAME}")


def rebuild(connection: sa.Connection) -> int:
    """Every stored version into the (empty) index; how many."""
    done = 0
    rows = connection.execute(sa.select(_VERSION).order_by(_VERSION.c.id))
    while batch := rows.fetchmany(BATCH):
        index_versions(connection, [row._asdict() for row in batch])
        done += len(batch)
    return done


def index_versions(connection: sa.Connection, versions: Sequence[Mapping[str, Any]]) -> None:
    """Versions (id, release_id, title, text, attachments as stored) into the index."""
    if not versions:
        return
    if connection.dialect.name == "sqlite":
        connection.execute(_SQLITE, [_sqlite_values(v) for v in versions])
    else:
        connection.execute(_POSTGRES, [_postgres_values(v) for v in versions])


def matching_releases(
    dialect: str, query: str, release_id: sa.ColumnElement[int]
) -> sa.ColumnElement[bool] | None:
    """Releases (`release_id` the caller's column) one of whose versions the query finds; None
    when the query has no word to look for."""
    terms = parse(query)
    if not terms:
        return None
    if dialect == "sqlite":
        found = sa.select(_VERSION.c.release_id).where(
            _VERSION.c.id.in_(
                sa.select(_SQLITE_INDEX.c.rowid).where(
                    sa.literal_column(NAME).op("MATCH")(fts5_query(terms))
                )
            )
        )
    else:
        tsquery = sa.func.to_tsquery(
            sa.literal_column("'simple'::regconfig"), sa.func.unaccent(ts_query(terms))
        )
        found = sa.select(_POSTGRES_INDEX.c.release_id).where(
            _POSTGRES_INDEX.c.document.op("@@")(tsquery)
        )
    return release_id.in_(found)


def fts5_query(terms: Iterable[Term]) -> str:
    """An FTS5 MATCH string: every term a quoted string (never its syntax), all required."""
    parts = []
    for term in terms:
        quoted = '"' + " ".join(term.words).replace('"', '""') + '"'
        parts.append(f"{quoted} *" if term.prefix else quoted)
    return " AND ".join(parts)


def ts_query(terms: Iterable[Term]) -> str:
    """A to_tsquery string: each word a quoted lexeme, phrases joined by <->, `:*` prefixes."""
    parts = []
    for term in terms:
        lexemes = ["'" + word.replace("'", "''") + "'" for word in term.words]
        if term.prefix:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts)


def _attachment_texts(attachments: Iterable[Mapping[str, Any]] | None) -> list[str]:
    return [a["text"] for a in attachments or () if a.get("text")]


def _sqlite_values(version: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": version["id"],
        "title": index_words(version["title"] or ""),
        "body": index_words(version["text"] or ""),
        "attached": index_words(*_attachment_texts(version["attachments"])),
    }


def _postgres_values(version: Mapping[str, Any]) -> dict[str, Any]:
    words = index_words(
        version["title"] or "", version["text"] or "", *_attachment_texts(version["attachments"])
    )
    if len(words) > POSTGRES_CHARACTERS:
        words = words[:POSTGRES_CHARACTERS].rsplit(" ", 1)[0]
    return {"id": version["id"], "release_id": version["release_id"], "document": words}
