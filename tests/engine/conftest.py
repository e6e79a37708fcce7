"""A migrated database of its own per test, on each backend, with no server attached."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recallr_server.store import migrate, models, projects
from recallr_server.store.database import Database
from tests.support import seed
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
    """Returns (user pk, session id) of a new user, in a new project, with one PENDING session."""
    async with db.write() as session:
        project = await projects.create_project(session, project_id=str(uuid.uuid4()))
    user = await seed.add_user(db, project.id, user_id)
    session_id = await seed.add_session(db, user, status=models.SessionStatus.PENDING)
    return user.pk, session_id
