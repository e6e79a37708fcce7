"""Shared fixtures: a real Recallr server on loopback, on SQLite and on PostgreSQL.

One server per backend runs for the whole test session in its own thread and
event loop, so both the sync client (which blocks its caller) and the async
client can call it. Every test gets a fresh project (tenant) of its own. Tests of the
store and the engine take `store` instead: a migrated database of their own, on each
backend, with no server attached.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest

from recallr_server import app
from recallr_server.config import Settings
from recallr_server.store import migrate, projects
from recallr_server.store.database import Database
from tests.support.postgres import ThrowawayPostgres

T = TypeVar("T")
BACKENDS = ("sqlite", "postgres")


class ServerThread:
    """Runs a RecallrServer on a private event loop in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        migrate.upgrade(settings.database_url)
        self.running = self.run(app.start(settings))
        self.db = Database(settings.database_url)
        self.target = f"127.0.0.1:{self.running.port}"

    @property
    def base_url(self) -> str:
        """The HTTP API's, for a server started with `http_listen`."""
        assert self.running.http is not None, "this server serves no HTTP API"
        return f"http://127.0.0.1:{self.running.http.port}"

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def stop(self) -> None:
        self.run(self.running.stop())
        self.run(self.db.dispose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


@dataclass(frozen=True)
class Tenant:
    """A fresh project on a running server, with a key that opens it."""

    server: ServerThread
    project_id: str
    api_key: str

    @property
    def target(self) -> str:
        return self.server.target

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (
            ("authorization", f"Bearer {self.api_key}"),
            ("x-recallr-project-id", self.project_id),
        )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.server.run(coroutine)


def new_tenant(server: ServerThread) -> Tenant:
    async def create() -> tuple[str, str]:
        async with server.db.write() as session:
            project = await projects.create_project(session, project_id=str(uuid.uuid4()))
            return project.id, await projects.add_api_key(session, project.id)

    project_id, api_key = server.run(create())
    return Tenant(server, project_id, api_key)


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres() as cluster:
        yield cluster


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'recallr.db'}"
    else:
        cluster: ThrowawayPostgres = request.getfixturevalue("postgres")
        url = cluster.create_database(f"recallr_{uuid.uuid4().hex[:8]}")
    settings = replace(
        Settings(),
        database_url=url,
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        tail_poll_interval_seconds=0.05,
        shutdown_grace_seconds=2,
    )
    running = ServerThread(settings)
    yield running
    running.stop()


@pytest.fixture(params=BACKENDS)
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


@pytest.fixture
def tenant(server: ServerThread) -> Tenant:
    return new_tenant(server)


@pytest.fixture
def channel(tenant: Tenant) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(tenant.target) as opened:
        yield opened


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
