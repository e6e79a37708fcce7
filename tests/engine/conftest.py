"""Helpers for engine tests, which run on the `store` fixture (tests/conftest.py)."""

from __future__ import annotations

import uuid

from recallr_server.store import models, projects
from recallr_server.store.database import Database
from tests.support import seed


async def add_user_with_session(db: Database, user_id: str = "u") -> tuple[str, str]:
    """Returns (user pk, session id) of a new user, in a new project, with one PENDING session."""
    async with db.write() as session:
        project = await projects.create_project(session, project_id=str(uuid.uuid4()))
    user = await seed.add_user(db, project.id, user_id)
    session_id = await seed.add_session(db, user, status=models.SessionStatus.PENDING)
    return user.pk, session_id
