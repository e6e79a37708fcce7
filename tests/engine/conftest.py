"""A migrated database of its own per test, on each backend, with no server attached."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recallr_server.store import migrate, models, projects
from recallr_server.store.database import Database
from tests.support.postgres import ThrowawayPostgres


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        cluster: ThrowawayPostgres = request.getfixturevalue("postgres")
        url = cluster.create_database(f"store_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(migrate.upgrade, url)
    db = Database(url)
    yield db
    await db.dispose()


async def add_user_with_session(db: Database, user_id: str = "u") -> tuple[str, str]:
    """Returns (user pk, session id) of a new user with one PENDING session."""
    async with db.write() as session:
        project = await projects.create_project(session, project_id=str(uuid.uuid4()))
        stamp = projects.now()
        user = models.User(
            pk=str(uuid.uuid4()),
            project_id=project.id,
            user_id=user_id,
            metadata_={},
            created_at=stamp,
            last_active_at=stamp,
        )
        session.add(user)
        await session.flush()
        row = models.Session(
            id=str(uuid.uuid4()),
            user_pk=user.pk,
            status=models.SessionStatus.PENDING,
            metadata_={},
            created_at=stamp,
        )
        session.add(row)
        return user.pk, row.id
