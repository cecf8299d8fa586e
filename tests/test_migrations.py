"""The schema on both engines: the migrations make exactly the tables the code uses, and a
database an older watcher made, with data in it, is brought up to date in place, nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from tests.helpers import on_database, run_watcher, write_config
from watcher.models import ReleaseFilter
from watcher.store import (
    Store,
    search,
    tables,  # noqa: F401  (the tables on SQLModel.metadata)
)
from watcher.store.store import SCHEMA_REVISION

pytestmark = pytest.mark.databases

T0 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def migrate(url: str, revision: str) -> None:
    """The database at `revision`, as the watcher of that revision left it."""
    store = Store.open(url, upgrade=False)
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("watcher.store") / "migrations"))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    store.close()


def skip_search_index(name: str | None, kind: str, _: object) -> bool:
    """The search index is made by hand, beside the metadata (store/search.py)."""
    return kind != "table" or not search.is_index_table(name)


def test_migrations_make_exactly_the_tables_the_code_uses(store_url: str) -> None:
    store = Store.open(store_url)
    with store.engine.connect() as connection:
        opts = {"compare_type": True, "include_name": skip_search_index}
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, SQLModel.metadata) == []
        names = set(sa.inspect(connection).get_table_names())
    assert {"source", "release", "version", "change", "http_validator", "check_run"} <= names
    Store.open(store_url).close()  # a second start upgrades nothing
    store.close()


def rows_0003() -> dict[str, list[dict[str, Any]]]:
    """A source with a release edited once, mailed to a subscription, and a health report:
    every table of revision 0003, in the order their foreign keys need."""
    later = T0 + timedelta(hours=2)
    return {
        "source": [
            {
                "name": "asean",
                "kind": "wordpress",
                "created_at": T0,
                "baseline_done": True,
                "cursor": {"watermark": "2026-03-01T08:00:00", "seen": [1, 2]},
                "deferred_until": None,
                "consecutive_failures": 0,
                "last_success_at": later,
                "last_error": None,
                "unhealthy_since": None,
            }
        ],
        "release": [
            {
                "source_id": 1,
                "key": "wp:7",
                "canonical": "asean.org/statement",
                "url": "https://asean.org/statement/",
                "wp_id": 7,
                "title": "Statement — édité",
                "published": T0,
                "status": "active",
                "versions": 2,
                "first_seen": T0,
                "last_seen": later,
                "last_changed": later,
                "missing_count": 0,
                "listed": True,
                "source_modified": "2026-03-01T10:00:00",
            }
        ],
        "version": [
            {
                "release_id": 1,
                "number": number,
                "created_at": when,
                "content_hash": f"{number:064d}",
                "title": "Statement — édité",
                "published": T0,
                "text": f"Version {number}.",
                "html": f"<p>Version {number}.</p>",
                "attachments": [{"url": "https://asean.org/a.pdf", "label": "Annex"}],
                "origin": "api",
            }
            for number, when in ((1, T0), (2, later))
        ],
        "change": [
            {
                "uid": f"00000000-0000-0000-0000-00000000000{number}",
                "source_id": 1,
                "release_id": 1,
                "version_id": number,
                "kind": kind,
                "detected_at": when,
                "feed_date": when,
                "title": "Statement — édité",
                "url": "https://asean.org/statement/",
                "diff": "" if kind == "new" else "-Version 1.\n+Version 2.\n",
                "baseline": kind == "new",
            }
            for number, kind, when in ((1, "new", T0), (2, "edited", later))
        ],
        "http_validator": [
            {
                "source_id": 1,
                "url": "https://asean.org/category/news/",
                "etag": '"abc"',
                "last_modified": "Sun, 01 Mar 2026 08:00:00 GMT",
                "body_hash": "f" * 64,
                "derived": {"items": ["https://asean.org/statement/"]},
                "updated_at": later,
            }
        ],
        "check_run": [
            {
                "source_id": 1,
                "started_at": later,
                "finished_at": later + timedelta(seconds=3),
                "status": "ok",
                "new": 0,
                "edited": 1,
                "removed": 0,
                "restored": 0,
                "requests": 4,
                "not_modified": 1,
                "failed_pages": 0,
                "error": None,
            }
        ],
        "release_topic": [
            {"release_id": 1, "topic": "russia", "terms": ["Russia"], "matched_at": T0}
        ],
        "topic_state": [{"name": "russia", "fingerprint": "9" * 64, "effective_from": T0}],
        "subscription_state": [
            {
                "name": "russia-morning",
                "created_at": T0,
                "last_change_id": 2,
                "last_digest_at": later,
            }
        ],
        "outbox": [
            {
                "subscription": "russia-morning",
                "channel": "email",
                "message_id": "<digest-1@watcher.test>",
                "kind": "digest",
                "created_at": later,
                "change_ids": [1, 2],
                "recipients": ["analyst@example.org"],
                "subject": "[ASEAN–Russia] 1 new, 1 edited",
                "message": "Subject: ...\n\nBody.",
                "status": "sent",
                "attempts": 1,
                "next_attempt_at": later,
                "last_error": None,
                "sent_at": later,
            }
        ],
        "health_event": [
            {
                "uid": "00000000-0000-0000-0000-0000000000aa",
                "source": "asean",
                "kind": "unhealthy",
                "at": T0,
                "message": "asean has failed for 6 h",
                "mailed": True,
            }
        ],
    }


def read_back(engine: sa.Engine, table: sa.Table, columns: list[str]) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns))
        return [{name: _utc(row._mapping[name]) for name in columns} for row in rows]


def _key(result: sa.CursorResult[Any]) -> Any:
    key = result.inserted_primary_key
    assert key is not None
    return key[0]


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLite gives back what it was given, without a zone
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


@pytest.mark.slow  # the `watcher` commands as subprocesses
def test_a_database_of_schema_0003_with_data_is_upgraded_in_place(
    store_url: str, database_url: str | None, tmp_path: Path
) -> None:
    migrate(store_url, "0003")
    data = rows_0003()
    old = sa.MetaData()
    engine = sa.create_engine(store_url)
    old.reflect(engine)
    assert set(data) == set(old.tables) - {"alembic_version"}
    with engine.begin() as connection:
        for name, rows in data.items():
            ids = [connection.execute(sa.insert(old.tables[name]), row) for row in rows]
            if "id" in old.tables[name].c:  # numbered by the database, as the old watcher did
                assert [_key(result) for result in ids] == list(range(1, len(rows) + 1))
    engine.dispose()

    config = write_config(tmp_path, [], **on_database(database_url))
    if database_url is None:  # the default file is the one migrated
        assert store_url.endswith(str(tmp_path / "state" / "watcher.db"))
    before = run_watcher("releases", config=config)
    assert before.returncode == 1 and "run `watcher db upgrade`" in before.stderr
    upgraded = run_watcher("db", "upgrade", config=config)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"schema {SCHEMA_REVISION}, up to date" in upgraded.stdout

    store = Store.open(store_url, upgrade=False)
    try:
        new = sa.MetaData()
        new.reflect(store.engine)
        for name, rows in data.items():
            assert read_back(store.engine, new.tables[name], list(rows[0])) == rows, name
        [run] = read_back(store.engine, new.tables["check_run"], ["notes", "failed_items"])
        assert run == {"notes": None, "failed_items": 0}
        # the PDF of the latest version: never asked for, its first text a silent baseline
        [attachment] = read_back(
            store.engine, new.tables["attachment"], ["release_id", "url", "checked_at"]
        )
        assert attachment == {"release_id": 1, "url": "https://asean.org/a.pdf", "checked_at": None}
        assert store.attachments_due_since(1) == {"wp:7": None}
        [release] = store.releases()
        assert (release.id, release.title, release.versions) == (1, "Statement — édité", 2)
        history = store.history("1")
        assert history is not None
        assert [c.kind.value for c in history.changes] == ["new", "edited"]
        # the versions stored before the upgrade are searched, the first one's words too
        for query, found in (("edite version 1", [1]), ("statement version 3", [])):
            page = store.release_page(ReleaseFilter(search=query), offset=0, limit=10)
            assert [r.id for r in page] == found, query
        # the database goes on numbering after the rows it had
        with store.engine.begin() as connection:
            added = connection.execute(
                sa.insert(new.tables["change"]),
                {**data["change"][1], "uid": "00000000-0000-0000-0000-000000000003"},
            )
            assert _key(added) == 3
    finally:
        store.close()
    listed = run_watcher("releases", "--json", config=config)
    assert listed.returncode == 0, listed.stderr
    assert "Statement — édité" in listed.stdout
