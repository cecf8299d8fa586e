"""The PostgreSQL server the tests start: loopback only, a fresh empty database per test, and
the store's schema made there by the migrations."""

from __future__ import annotations

import socket

import sqlalchemy as sa

from tests.pg import PostgresServer
from watcher.store.store import SCHEMA_REVISION, Store


def test_each_test_gets_an_empty_database_of_its_own(
    postgres: PostgresServer, postgres_url: str
) -> None:
    other = postgres.create_database()
    try:
        assert other != postgres_url
        engine = sa.create_engine(postgres_url)
        with engine.connect() as connection:
            assert sa.inspect(connection).get_table_names() == []
        engine.dispose()
    finally:
        postgres.drop_database(other)


def test_the_server_listens_on_loopback_only(postgres: PostgresServer) -> None:
    with postgres.connect() as connection:
        row = connection.execute("SHOW listen_addresses").fetchone()
    assert row == ("127.0.0.1",)
    with socket.create_connection(("127.0.0.1", postgres.port), timeout=5):
        pass


def test_the_store_creates_its_schema_on_postgresql(postgres_url: str) -> None:
    store = Store.open(postgres_url)
    try:
        with store.engine.connect() as connection:
            revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert revision.scalar() == SCHEMA_REVISION
            assert {"source", "release", "version", "change", "outbox"} <= set(
                sa.inspect(connection).get_table_names()
            )
    finally:
        store.close()
