"""SIGTERM under load: NOT_SERVING, in-flight calls finish, nothing acknowledged is lost."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from recallr.v1 import session_pb2, user_pb2
from recallr.v1 import session_service_pb2 as sessions_pb
from recallr.v1 import user_service_pb2 as users_pb
from tests.api.wire import decode, stubs
from tests.mesh.processes import ServeProcess

CLIENTS = 4
GRACE_SECONDS = 5.0
# Each writer stops at its first failure; these only bound a server that never stops.
MAX_MESSAGES_PER_CLIENT = 5_000
WRITE_SECONDS = 30.0
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Writer(threading.Thread):
    """One client adding messages as fast as the server takes them, until it refuses."""

    def __init__(self, server: ServeProcess, session_id: str, name: str) -> None:
        super().__init__(daemon=True)
        self._server = server
        self._session_id = session_id
        self._name = name
        self.acknowledged: list[str] = []
        self.failure: grpc.StatusCode | None = None
        self.detail = ""

    def run(self) -> None:
        with grpc.insecure_channel(self._server.target) as channel:
            api = stubs(channel)
            stop_at = time.monotonic() + WRITE_SECONDS
            for i in range(MAX_MESSAGES_PER_CLIENT):
                if time.monotonic() > stop_at:
                    return
                request = sessions_pb.AddMessageRequest(
                    user_id="ada",
                    session_id=self._session_id,
                    message=session_pb2.Message(
                        role=session_pb2.MESSAGE_ROLE_USER, content=f"{self._name} says {i}"
                    ),
                    request_id=f"{self._name}-{i}",
                )
                try:
                    added = api.sessions.AddMessage(
                        request, metadata=self._server.metadata, timeout=10
                    )
                except grpc.RpcError as error:
                    self.failure = error.code()
                    self.detail = f"{error.code()}: {error.details()}"
                    return
                self.acknowledged.append(added.message.message_id)


def watch_health(target: str, seen: list[int]) -> None:
    """Records the statuses the server announces until it announces NOT_SERVING."""
    with grpc.insecure_channel(target) as channel:
        updates = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=""), timeout=WRITE_SECONDS
        )
        for update in updates:
            seen.append(update.status)
            if update.status == NOT_SERVING:
                # An open watch would otherwise hold the server for its whole grace period.
                updates.cancel()
                return


def tail_until_it_ends(
    target: str, metadata: tuple[tuple[str, str], ...], ended: list[str]
) -> None:
    with grpc.insecure_channel(target) as channel:
        stream = stubs(channel).sessions.TailMessages(
            sessions_pb.TailMessagesRequest(user_id="ada", n=0, follow=True),
            metadata=metadata,
            timeout=WRITE_SECONDS,
        )
        try:
            for _ in stream:
                pass
        except grpc.RpcError as error:
            failure = decode(error)
            ended.append(f"{failure.code.name} {failure.reason}")


def stored_message_ids(server: ServeProcess) -> set[str]:
    with sqlite3.connect(server.database_file) as db:
        return {row[0] for row in db.execute("SELECT id FROM messages")}


def test_sigterm_under_load_drains_without_losing_an_acknowledged_message(
    serve_process: Callable[..., ServeProcess],
) -> None:
    server = serve_process(RECALLR_SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS))
    with grpc.insecure_channel(server.target) as channel:
        api = stubs(channel)
        api.users.CreateUser(
            users_pb.CreateUserRequest(user=user_pb2.User(user_id="ada")), metadata=server.metadata
        )
        session_id = api.sessions.CreateSession(
            sessions_pb.CreateSessionRequest(user_id="ada", session=session_pb2.Session()),
            metadata=server.metadata,
        ).session.session_id
    health: list[int] = []
    tail_ends: list[str] = []
    watchers = [
        threading.Thread(target=watch_health, args=(server.target, health), daemon=True),
        threading.Thread(
            target=tail_until_it_ends, args=(server.target, server.metadata, tail_ends), daemon=True
        ),
    ]
    writers = [Writer(server, session_id, f"client{n}") for n in range(CLIENTS)]
    for thread in [*watchers, *writers]:
        thread.start()
    while min(len(w.acknowledged) for w in writers) < 10 and all(w.is_alive() for w in writers):
        time.sleep(0.01)

    server.terminate()
    signalled = time.monotonic()
    assert server.wait(timeout=GRACE_SECONDS + 10) == 0
    assert time.monotonic() - signalled < GRACE_SECONDS
    for thread in [*watchers, *writers]:
        thread.join(timeout=10)

    assert health == [SERVING, NOT_SERVING]
    assert tail_ends == ["UNAVAILABLE SERVICE_UNAVAILABLE"]
    # Calls made after the stop began are refused, never cut off half way.
    assert {w.failure for w in writers} == {grpc.StatusCode.UNAVAILABLE}
    acknowledged = {message_id for w in writers for message_id in w.acknowledged}
    assert len(acknowledged) >= CLIENTS * 10
    assert stored_message_ids(server) == acknowledged
