"""Helpers and fixtures for engine tests, which run on the `store` fixture (tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from recallr_server.engine.provider.formats import FORMATS
from recallr_server.store import models, projects
from recallr_server.store.database import Database
from recallrai import RecallrAI
from tests.conftest import Tenant
from tests.engine.recorded_provider import RecordedProvider
from tests.engine.scenarios import open_client
from tests.support import seed


async def add_user_with_session(db: Database, user_id: str = "u") -> tuple[str, str]:
    """Returns (user pk, session id) of a new user, in a new project, with one PENDING session."""
    async with db.write() as session:
        project = await projects.create_project(session, project_id=str(uuid.uuid4()))
    user = await seed.add_user(db, project.id, user_id)
    session_id = await seed.add_session(db, user, status=models.SessionStatus.PENDING)
    return user.pk, session_id


@pytest.fixture
def provider() -> Iterator[RecordedProvider]:
    server = RecordedProvider()
    yield server
    server.stop()
    # What was learned of this port must not reach a later provider given the same one.
    FORMATS.forget()


@pytest.fixture
def client(tenant: Tenant) -> Iterator[RecallrAI]:
    """A client of a fresh tenant of the suite's server; modules with a server of their
    own define their own."""
    with open_client(tenant.target, tenant.project_id, tenant.api_key) as opened:
        yield opened
