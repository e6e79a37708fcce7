"""Schema migrations applied to a database that already holds rows, on each backend."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from recallr_server.store import migrate
from recallr_server.store.database import sync_url
from tests.support.postgres import ThrowawayPostgres


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    cluster: ThrowawayPostgres = request.getfixturevalue("postgres")
    return cluster.create_database(f"migrations_{uuid.uuid4().hex[:8]}")


def test_message_revision_starts_at_zero_for_existing_users_and_downgrades(url: str) -> None:
    migrate.upgrade(url, "0003")
    engine = create_engine(sync_url(url))
    stamp = datetime(2024, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO projects VALUES ('p', 'p', false, :at)"), {"at": stamp}
            )
            connection.execute(
                text(
                    "INSERT INTO users (pk, project_id, user_id, metadata, created_at,"
                    " last_active_at, index_revision) VALUES ('u', 'p', 'ada', '{}', :at, :at, 7)"
                ),
                {"at": stamp},
            )
        migrate.upgrade(url)
        migrate.check(url)
        with engine.connect() as connection:
            revisions = connection.execute(
                text("SELECT index_revision, message_revision FROM users")
            ).one()
            assert tuple(revisions) == (7, 0)
        with engine.connect() as connection:
            command.downgrade(migrate.alembic_config(connection), "0003")
            connection.commit()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT index_revision FROM users")).scalar() == 7
            columns = connection.execute(text("SELECT * FROM users")).keys()
            assert "message_revision" not in columns
    finally:
        engine.dispose()


def test_sessions_processed_before_the_extractor_was_recorded_name_none_and_downgrade(
    url: str,
) -> None:
    migrate.upgrade(url, "0004")
    engine = create_engine(sync_url(url))
    stamp = datetime(2024, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO projects VALUES ('p', 'p', false, :at)"), {"at": stamp}
            )
            connection.execute(
                text(
                    "INSERT INTO users (pk, project_id, user_id, metadata, created_at,"
                    " last_active_at) VALUES ('u', 'p', 'ada', '{}', :at, :at)"
                ),
                {"at": stamp},
            )
            connection.execute(
                text(
                    "INSERT INTO sessions (id, user_pk, status, metadata, created_at,"
                    " auto_process_after_seconds, failure_reason)"
                    " VALUES ('s', 'u', 'processed', '{}', :at, 0, '')"
                ),
                {"at": stamp},
            )
        migrate.upgrade(url)
        migrate.check(url)
        with engine.connect() as connection:
            row = connection.execute(text("SELECT status, extractor FROM sessions")).one()
            assert tuple(row) == ("processed", "")
        with engine.connect() as connection:
            command.downgrade(migrate.alembic_config(connection), "0004")
            connection.commit()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT status FROM sessions")).scalar() == "processed"
            columns = connection.execute(text("SELECT * FROM sessions")).keys()
            assert "extractor" not in columns
    finally:
        engine.dispose()
