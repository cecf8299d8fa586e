"""Limits a user runs into only at the edges: a duration past a year, two first starts at once on
a new database, clients that connect to the feed server and then say nothing."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT
from watcher.store import Store
from watcher.store.store import SCHEMA_REVISION

# -- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("    every: 9999999999d\n", "sources[0].every: '9999999999d' is longer than 365d"),
        ("    every: 3000000d\n", "sources[0].every: '3000000d' is longer than 365d"),
        ("    http: {timeout: 1000d}\n", "sources[0].http.timeout: '1000d' is longer than 365d"),
    ],
    ids=["9999999999d", "3000000d", "http-timeout"],
)
def test_config_check_refuses_a_duration_past_a_year_in_one_line(
    line: str, message: str, tmp_path: Path
) -> None:
    config = tmp_path / "watcher.yaml"
    config.write_text("sources:\n  - name: a\n    type: wordpress\n    url: https://e.org\n" + line)
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), "config", "check"],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "WATCHER_CONFIG"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stderr) == (2, f"{config}:5: {message}\n")


# -- migrations -----------------------------------------------------------------------------

STARTS = 6  # processes opening one new database together
ROUNDS = 5  # without the migration lock, every round of every trial run failed


def _open_store(url: str, barrier: Any) -> str:
    barrier.wait(timeout=60)  # all of them at once, as a daemon and CLI commands started together
    try:
        Store.open(url).close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def test_first_starts_at_once_on_a_new_database_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a second process is
    with context.Manager() as manager, context.Pool(STARTS) as pool:
        for number in range(ROUNDS):
            database = tmp_path / f"round{number}" / "watcher.db"
            url = f"sqlite:///{database}"
            barrier = manager.Barrier(STARTS)
            errors = pool.starmap(_open_store, [(url, barrier)] * STARTS)
            assert [error for error in errors if error] == [], f"round {number}"
            engine = sa.create_engine(url)
            with engine.connect() as connection:
                revisions = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                assert revisions.scalars().all() == [SCHEMA_REVISION]
                tables = sa.inspect(connection).get_table_names()
            engine.dispose()
            assert {"source", "release", "version", "change"} <= set(tables)
