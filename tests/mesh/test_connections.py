"""Connections that never speak, or speak and then idle, cannot take the descriptors that
health checks and calls need: the server holds a bounded number of them, drops silent ones
after the handshake timeout and idle ones after the idle timeout, and counts them."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from recallr.v1 import user_pb2
from recallr.v1 import user_service_pb2 as users_pb
from recallr_server.config import Settings
from recallr_server.transport import RESERVED_FILE_DESCRIPTORS, connection_options
from tests.api.wire import stubs
from tests.mesh.processes import ServeProcess
from tests.mesh.test_health import probe
from tests.support.metrics import samples

# The server starts with a soft open-file limit below its hard one, and raises it.
OPEN_FILES = (100, 200)
MAX_CONNECTIONS = 64
HANDSHAKE_SECONDS = 5.0
IDLE_SECONDS = 8.0
# More than the limit, and more than every descriptor the server may have.
FLOOD = 300
# What a client sends to open HTTP/2: the connection preface and an empty SETTINGS frame.
HTTP2_OPENING = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")
OPEN_CONNECTIONS = "recallr_grpc_open_connections"


def soft_open_file_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError(f"no open-file limit for process {pid}")


@contextmanager
def idle_connections(target: str, count: int) -> Iterator[list[socket.socket]]:
    host, port = target.rsplit(":", 1)
    with ExitStack() as stack:
        opened = []
        for _ in range(count):
            connection = stack.enter_context(socket.create_connection((host, int(port))))
            connection.setblocking(False)
            opened.append(connection)
        yield opened


def closing_times(connections: list[socket.socket], within: float) -> list[float]:
    """Seconds from now until the server closed each connection (inf: still open)."""
    start = time.monotonic()
    closed = [float("inf")] * len(connections)
    while time.monotonic() - start < within and float("inf") in closed:
        for i, connection in enumerate(connections):
            if closed[i] != float("inf"):
                continue
            try:
                while connection.recv(4096):  # the server's SETTINGS or GOAWAY, if any
                    pass
            except BlockingIOError:
                continue
            except ConnectionResetError:
                pass
            closed[i] = time.monotonic() - start
        time.sleep(0.05)
    return closed


def open_connections(metrics_port: int, equal_to: int, within: float) -> float:
    """The open-connection gauge, polled until it equals `equal_to` or time runs out."""
    deadline = time.monotonic() + within
    while (seen := samples(metrics_port)[(OPEN_CONNECTIONS, frozenset())]) != equal_to:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return seen


def serving_and_creating(channel: grpc.Channel, server: ServeProcess, user_id: str) -> None:
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    request = users_pb.CreateUserRequest(user=user_pb2.User(user_id=user_id))
    created = stubs(channel).users.CreateUser(request, metadata=server.metadata, timeout=5)
    assert created.user.user_id == user_id


@pytest.fixture
def bounded(serve_process: Callable[..., ServeProcess]) -> ServeProcess:
    return serve_process(
        open_files=OPEN_FILES,
        RECALLR_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
        RECALLR_HANDSHAKE_TIMEOUT_SECONDS=str(HANDSHAKE_SECONDS),
        RECALLR_CONNECTION_IDLE_TIMEOUT_SECONDS=str(IDLE_SECONDS),
        RECALLR_METRICS_LISTEN="127.0.0.1:0",
    )


def test_the_server_raises_its_soft_open_file_limit_to_the_hard_one(
    bounded: ServeProcess,
) -> None:
    assert soft_open_file_limit(bounded.pid) == OPEN_FILES[1]


def test_idle_connections_past_the_limit_leave_health_and_calls_served(
    bounded: ServeProcess,
) -> None:
    metrics_port = int(bounded.wait_for_log("metrics on port ").rsplit(" ", 1)[1])
    with grpc.insecure_channel(bounded.target) as channel:
        serving_and_creating(channel, bounded, "before")
        with idle_connections(bounded.target, FLOOD) as flood:
            # The limit is reached: the channel's connection and 63 of the flood's.
            assert open_connections(metrics_port, MAX_CONNECTIONS, HANDSHAKE_SECONDS) == (
                MAX_CONNECTIONS
            )
            serving_and_creating(channel, bounded, "during")
            closed = closing_times(flood, within=HANDSHAKE_SECONDS + 10)
        # The flood past the limit was closed on arrival; the rest at the handshake timeout.
        at_once = [t for t in closed if t < HANDSHAKE_SECONDS / 2]
        assert len(at_once) >= FLOOD - (MAX_CONNECTIONS - 1)
        assert max(closed) < HANDSHAKE_SECONDS + 10
        serving_and_creating(channel, bounded, "after")
        assert open_connections(metrics_port, 1, within=5) == 1
    assert probe(bounded.target) == (0, "status: SERVING\n")
    with grpc.insecure_channel(bounded.target) as fresh:
        serving_and_creating(fresh, bounded, "fresh")


def test_a_connection_with_no_call_in_flight_is_closed_after_the_idle_timeout(
    bounded: ServeProcess,
) -> None:
    with idle_connections(bounded.target, 1) as (idle,):
        idle.sendall(HTTP2_OPENING)
        (closed,) = closing_times([idle], within=IDLE_SECONDS + 10)
    # It spoke HTTP/2, so the handshake timeout no longer applies; the idle timeout does.
    assert IDLE_SECONDS * 0.8 < closed < IDLE_SECONDS + 10


def test_connection_settings_become_grpc_server_options() -> None:
    settings = Settings.from_env(
        {
            "RECALLR_MAX_CONNECTIONS": "500",
            "RECALLR_HANDSHAKE_TIMEOUT_SECONDS": "2.5",
            "RECALLR_CONNECTION_IDLE_TIMEOUT_SECONDS": "60",
        }
    )
    assert dict(connection_options(settings, open_files=4096)) == {
        "grpc.max_allowed_incoming_connections": 500,
        "grpc.server_handshake_timeout_ms": 2_500,
        "grpc.max_connection_idle_ms": 60_000,
    }


@pytest.mark.parametrize(
    ("open_files", "limit"), [(1024, 1024 - RESERVED_FILE_DESCRIPTORS), (200, 100)]
)
def test_by_default_connections_leave_descriptors_for_everything_else(
    open_files: int, limit: int
) -> None:
    assert dict(connection_options(Settings.from_env({}), open_files)) == {
        "grpc.max_allowed_incoming_connections": limit,
        "grpc.server_handshake_timeout_ms": 10_000,
        "grpc.max_connection_idle_ms": 300_000,
    }
