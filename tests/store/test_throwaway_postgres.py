"""The throwaway PostgreSQL cluster the store tests run against."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import EXTERNAL_URL_VARIABLE, ThrowawayPostgres, libpq_conninfo


@pytest.fixture(scope="module")
def postgres() -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres() as server:
        yield server


def test_url_is_an_async_psycopg_url_that_answers_queries(postgres: ThrowawayPostgres) -> None:
    assert postgres.url.startswith("postgresql+psycopg://")
    with psycopg.connect(libpq_conninfo(postgres.url)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_skip_locked_claims_a_row_another_transaction_has_not_locked(
    postgres: ThrowawayPostgres,
) -> None:
    url = postgres.create_database("skip_locked")
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as setup:
        setup.execute("CREATE TABLE jobs (id int PRIMARY KEY)")
        setup.execute("INSERT INTO jobs VALUES (1), (2)")
    claim = "SELECT id FROM jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
    with (
        psycopg.connect(libpq_conninfo(url)) as first,
        psycopg.connect(libpq_conninfo(url)) as second,
        psycopg.connect(libpq_conninfo(url)) as third,
    ):
        assert first.execute(claim).fetchone() == (1,)
        assert second.execute(claim).fetchone() == (2,)
        assert third.execute(claim).fetchone() is None


def test_created_databases_are_independent(postgres: ThrowawayPostgres) -> None:
    left = postgres.create_database("independent_left")
    right = postgres.create_database("independent_right")
    assert left != right
    with psycopg.connect(libpq_conninfo(left), autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('only on the left')")
    with psycopg.connect(libpq_conninfo(right)) as conn:
        assert conn.execute("SELECT to_regclass('notes')").fetchone() == (None,)


@pytest.mark.skipif(
    bool(os.environ.get(EXTERNAL_URL_VARIABLE)), reason="an external server is not ours to stop"
)
def test_exit_stops_the_server_and_removes_its_files() -> None:
    before = _cluster_directories()
    with ThrowawayPostgres() as server:
        ours = _cluster_directories() - before
        conninfo = libpq_conninfo(server.url)
    assert ours
    assert not any(path.exists() for path in ours)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(conninfo, connect_timeout=2)


def _cluster_directories() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("recallr-pg-*"))
