"""Storage: the schema is what the migrations make, SQLite in WAL, nothing deleted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import wordpress_source
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.errors import StoreError
from watcher.models import ChangeKind
from watcher.store import (
    Store,
    tables,  # noqa: F401  (the tables on SQLModel.metadata)
)
from watcher.store.store import SCHEMA_REVISION

# The store's behaviour, on SQLite and on PostgreSQL.
pytestmark = pytest.mark.databases


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'w.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
    store.close()


def test_history_is_never_deleted(site: SimWordPress, make_app: Callable[..., App]) -> None:
    post = site.add_post("Statement", "Version 1.")
    site.add_post("Another", "Stays.")  # an id sweep that lists nothing is not believed
    app = make_app([wordpress_source(site)])
    app.check()
    for number in range(2, 5):
        site.edit_post(post, content=f"Version {number}.")
        app.check()
    site.trash_post(post)
    app.check()
    app.check()
    [release] = [r for r in app.store.releases() if r.title == "Statement"]
    history = app.store.history(str(release.id))
    assert history is not None
    assert [v.text for v in history.versions] == [f"Version {n}." for n in range(1, 5)]
    assert [c.kind for c in history.changes] == [
        ChangeKind.NEW,
        ChangeKind.EDITED,
        ChangeKind.EDITED,
        ChangeKind.EDITED,
        ChangeKind.REMOVED,
    ]


def test_the_schema_revision_the_code_expects_is_the_newest_migration() -> None:
    from importlib import resources

    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("watcher.store") / "migrations"))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_a_database_whose_files_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    database = tmp_path / "watcher.db"
    (tmp_path / "watcher.db.migrate.lock").mkdir()  # what a botched restore might leave
    with pytest.raises(StoreError, match=r"^database sqlite:///.*: Is a directory \(.*lock\)$"):
        Store.open(f"sqlite:///{database}")


def test_an_edit_is_read_with_the_version_before_it_and_the_one_it_made(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    """What the word diff of feeds and mail compares: the two versions, not the stored diff."""
    post = site.add_post("Statement", "First.\n\nThey pledged USD 5 million.")
    app = make_app([wordpress_source(site)])
    app.check()
    site.edit_post(post, content="First.\n\nThey pledged USD 3 million.")
    app.check()
    [edit, new] = app.store.recent_changes(10)
    assert (edit.kind, new.kind) == (ChangeKind.EDITED, ChangeKind.NEW)
    assert edit.before is not None and edit.after is not None
    assert edit.before.text.endswith("USD 5 million.") and edit.after.text.endswith(
        "USD 3 million."
    )
    assert edit.before.title == edit.after.title == "Statement"
    assert new.before is None  # nothing came before the first version
