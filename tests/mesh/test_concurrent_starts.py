"""Replicas started at the same moment on a fresh database, as an orchestrator rolls out a
deployment: every one migrates or waits for the migration, makes sure the configured
project and key exist, and serves."""

from __future__ import annotations

import secrets
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from recallr.v1 import user_service_pb2 as users_pb
from recallr_server.store import migrate
from tests.api.wire import stubs
from tests.conftest import BACKENDS
from tests.mesh.processes import ServeProcess
from tests.support.postgres import ThrowawayPostgres, libpq_conninfo

REPLICAS = 20
# Twenty processes importing at once on two cores take far longer than one.
START_SECONDS = 300.0
# A remote embedder that no call here reaches: configured with its size, it is never asked
# anything, so twenty replicas start without loading the local model twenty times.
UNUSED_EMBEDDER = {
    "RECALLR_EMBEDDING_BASE_URL": "http://127.0.0.1:9",
    "RECALLR_EMBEDDING_MODEL": "unused",
    "RECALLR_EMBEDDING_DIMENSIONS": "384",
}


def replica_env(database_url: str) -> dict[str, str]:
    return {
        **UNUSED_EMBEDDER,
        "RECALLR_DATABASE_URL": database_url,
        "RECALLR_PROJECT_ID": str(uuid.uuid4()),
        "RECALLR_API_KEY": f"rk_{secrets.token_urlsafe(24)}",
        "RECALLR_WORKERS": "0",
    }


def fresh_database(backend: str, request: pytest.FixtureRequest, directory: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory / 'shared.db'}"
    cluster: ThrowawayPostgres = request.getfixturevalue("postgres")
    return cluster.create_database(f"recallr_starts_{uuid.uuid4().hex[:8]}")


def answers(replica: ServeProcess) -> None:
    with grpc.insecure_channel(replica.target) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=10
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        listed = stubs(channel).users.ListUsers(
            users_pb.ListUsersRequest(), metadata=replica.metadata, timeout=10
        )
        assert list(listed.users) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_replicas_started_together_on_a_fresh_database_all_serve(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env = replica_env(fresh_database(backend, request, tmp_path))
    directories = [tmp_path / f"replica{i}" for i in range(REPLICAS)]
    for directory in directories:
        directory.mkdir()
    # Each thread spawns its process at once and then waits for it to serve.
    with ThreadPoolExecutor(REPLICAS) as pool:
        starts: list[Future[ServeProcess]] = [
            pool.submit(ServeProcess, directory, env, start_seconds=START_SECONDS)
            for directory in directories
        ]
        wait(starts)
    started = [start.result() for start in starts if start.exception() is None]
    try:
        failures = [str(start.exception()) for start in starts if start.exception() is not None]
        assert failures == []
        for replica in started:
            answers(replica)
    finally:
        for replica in started:
            replica.close()


def someone_waits_for(database_url: str) -> bool:
    """Whether a process is blocked waiting for the database's startup lock."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        with psycopg.connect(libpq_conninfo(database_url)) as connection:
            waiting = connection.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
        return waiting is not None and waiting[0] > 0
    inode = Path(f"{url.database}.lock").stat().st_ino
    # A blocked request shows in /proc/locks as "N: -> FLOCK ADVISORY WRITE PID DEV:INODE ...".
    blocked = [
        line.split() for line in Path("/proc/locks").read_text().splitlines() if "->" in line
    ]
    return any(fields[2] == "FLOCK" and fields[6].endswith(f":{inode}") for fields in blocked)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_replica_migrates_only_once_the_startup_lock_is_free(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env = replica_env(fresh_database(backend, request, tmp_path))
    url = env["RECALLR_DATABASE_URL"]
    with ThreadPoolExecutor(1) as pool:
        with migrate.exclusive(url):
            starting = pool.submit(ServeProcess, tmp_path, env, start_seconds=START_SECONDS)
            deadline = time.monotonic() + START_SECONDS
            while not someone_waits_for(url):
                assert time.monotonic() < deadline and not starting.done()
                time.sleep(0.1)
            log = (tmp_path / "server.log").read_text()
            assert "upgrade" not in log, log  # Alembic has not run: the schema is untouched
        replica = starting.result()
    try:
        answers(replica)
    finally:
        replica.close()
