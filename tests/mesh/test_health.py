"""Health that tells the truth: NOT_SERVING while the database is unreachable or on SIGTERM.

Checked through the standard health service, and with the real grpc-health-probe
that Kubernetes and meshes run against a replica.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg import sql
from sqlalchemy.engine import make_url

from recallr_server.app import SERVICES
from recallr_server.config import Settings
from tests.conftest import ServerThread
from tests.mesh.processes import ServeProcess, tool
from tests.support.postgres import ThrowawayPostgres, libpq_conninfo

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
ALL_SERVICES = ["", *(s.full_name for s in SERVICES)]
PROBE_SECONDS = 0.2
# grpc-health-probe's exit code for a status other than SERVING.
PROBE_UNHEALTHY = 4


def statuses(target: str) -> set[int]:
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        return {
            health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status
            for name in ALL_SERVICES
        }


def eventually(target: str, wanted: int, within: float = 10.0) -> set[int]:
    deadline = time.monotonic() + within
    while (seen := statuses(target)) != {wanted} and time.monotonic() < deadline:
        time.sleep(PROBE_SECONDS / 2)
    return seen


class DatabaseSwitch:
    """Makes one PostgreSQL database refuse connections, and accept them again."""

    def __init__(self, url: str) -> None:
        database = make_url(url).database
        assert database is not None
        self._database = database
        self._admin = libpq_conninfo(make_url(url).set(database="postgres").render_as_string(False))

    def _execute(self, statement: sql.Composed) -> None:
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(statement)

    def cut(self) -> None:
        name = sql.Identifier(self._database)
        self._execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(name))
        self._execute(
            sql.SQL(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {}"
            ).format(sql.Literal(self._database))
        )

    def restore(self) -> None:
        name = sql.Identifier(self._database)
        self._execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(name))


@pytest.fixture
def postgres_server(postgres: ThrowawayPostgres) -> Iterator[tuple[ServerThread, DatabaseSwitch]]:
    url = postgres.create_database(f"recallr_health_{uuid.uuid4().hex[:8]}")
    settings = replace(
        Settings(),
        database_url=url,
        listen="127.0.0.1:0",
        shutdown_grace_seconds=1,
        health_probe_seconds=PROBE_SECONDS,
    )
    server = ServerThread(settings)
    switch = DatabaseSwitch(url)
    yield server, switch
    switch.restore()
    server.stop()


def test_every_service_is_not_serving_while_the_database_is_unreachable(
    postgres_server: tuple[ServerThread, DatabaseSwitch],
) -> None:
    server, database = postgres_server
    assert statuses(server.target) == {SERVING}
    database.cut()
    assert eventually(server.target, NOT_SERVING) == {NOT_SERVING}
    database.restore()
    assert eventually(server.target, SERVING) == {SERVING}


def probe(target: str, *args: str) -> tuple[int, str]:
    """grpc-health-probe's exit code and what it printed."""
    result = subprocess.run(
        [str(tool("grpc-health-probe")), f"-addr={target}", "-connect-timeout=5s", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def test_grpc_health_probe_sees_a_serving_server_and_each_service(served: ServeProcess) -> None:
    for name in ALL_SERVICES:
        assert probe(served.target, f"-service={name}") == (0, "status: SERVING\n")


def test_grpc_health_probe_fails_for_an_unknown_service(served: ServeProcess) -> None:
    code, output = probe(served.target, "-service=recallr.v1.NoSuchService")
    assert code != 0
    assert "NotFound" in output


def test_grpc_health_probe_sees_not_serving_once_sigterm_starts_the_drain(
    serve_process: Callable[..., ServeProcess],
) -> None:
    server = serve_process(RECALLR_SHUTDOWN_DRAIN_SECONDS="1.5", RECALLR_SHUTDOWN_GRACE_SECONDS="2")
    assert probe(server.target)[0] == 0
    server.terminate()
    server.wait_for_log("shutting down")
    code, output = probe(server.target)
    assert (code, "NOT_SERVING" in output) == (PROBE_UNHEALTHY, True), output
    assert server.wait(timeout=15) == 0
