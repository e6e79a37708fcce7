"""SIGKILL at random points while sessions process: nothing lost, nothing doubled.

The same conversations are processed once without interruption and once while
the server is killed (SIGKILL, no chance to clean up) and restarted several
times; both runs must end with every session PROCESSED and the same memories.
"""

from __future__ import annotations

import contextlib
import random
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from recallr.v1 import session_pb2
from recallr.v1 import session_service_pb2 as sessions_pb
from recallrai import RecallrAI
from recallrai.models import SessionStatus
from tests.api.wire import stubs
from tests.engine.scenarios import ASSISTANT, USER, at, wait_until
from tests.mesh.processes import ServeProcess

PROJECT_ID, API_KEY = "crash-project", "rai_crash_test_key"
# Short leases so a killed server's claims are taken over quickly after restart.
ENV = {
    "RECALLR_PROJECT_ID": PROJECT_ID,
    "RECALLR_API_KEY": API_KEY,
    "RECALLR_JOB_LEASE_SECONDS": "1.5",
}
KILLS = 4

CONVERSATIONS: dict[str, list[list[tuple[Any, str]]]] = {
    f"user{n}": [
        [
            (USER, f"I live in {city} and I work as a {job}."),
            (ASSISTANT, f"I recommend you visit the {city} botanical garden."),
            (USER, f"Yesterday I adopted a cat named {pet}."),
        ],
        [
            (USER, f"I moved to {moved} last month."),
            (USER, f"My cat {pet} loves sleeping in the sun."),
            (USER, "I'm allergic to peanuts."),
        ],
        [
            (USER, f"My favorite food is {food}."),
            (USER, "I started learning the piano two weeks ago."),
        ],
    ]
    for n, (city, job, pet, moved, food) in enumerate(
        [
            ("Paris", "nurse", "Milo", "Lyon", "ramen"),
            ("Oslo", "teacher", "Luna", "Bergen", "tacos"),
            ("Lima", "chef", "Tom", "Cusco", "sushi"),
            ("Rome", "pilot", "Kiki", "Milan", "curry"),
        ]
    )
}


def _ingest_and_process(client: RecallrAI) -> list[tuple[str, str]]:
    sessions = []
    for user_id, conversation in CONVERSATIONS.items():
        user = client.create_user(user_id)
        for index, turns in enumerate(conversation):
            session = user.create_session(custom_created_at_utc=at(2024, 1 + 2 * index, 10))
            for role, content in turns:
                session.add_message(role=role, content=content)
            sessions.append((user_id, session.session_id))
    for user_id, session_id in sessions:
        client.get_user(user_id, validate=False).get_session(session_id, validate=False).process()
    return sessions


def _all_processed(client: RecallrAI, sessions: list[tuple[str, str]]) -> bool:
    statuses = [client.get_user(u, validate=False).get_session(s).status for u, s in sessions]
    assert SessionStatus.FAILED not in statuses
    return all(status == SessionStatus.PROCESSED for status in statuses)


MemoryState = dict[str, list[tuple[Any, ...]]]


def _unprocessed(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM sessions WHERE status != 'processed'"
        ).fetchone()
    return int(count)


def _memory_state(client: RecallrAI) -> MemoryState:
    """Every version of every memory, without ids and record times (they differ per run)."""
    state: MemoryState = {}
    for user_id in CONVERSATIONS:
        user = client.get_user(user_id)
        rows: list[tuple[Any, ...]] = []
        for memory in user.list_memories(limit=200).items:
            rows.append(
                (
                    memory.content,
                    memory.version_number,
                    memory.total_versions,
                    tuple(memory.categories),
                    memory.event_date_start,
                    tuple(
                        (p.content, p.version_number, p.expiration_reason)
                        for p in memory.previous_versions or []
                    ),
                    len(memory.source_message_ids),
                )
            )
        state[user_id] = sorted(rows, key=repr)
    return state


def _run(directory: Path, *, kill: bool) -> MemoryState:
    directory.mkdir()
    rng = random.Random(20261124)
    server = ServeProcess(directory, ENV)
    try:
        with RecallrAI(api_key=API_KEY, project_id=PROJECT_ID, target=server.target) as client:
            sessions = _ingest_and_process(client)
        interrupted = 0
        for _ in range(KILLS if kill else 0):
            time.sleep(rng.uniform(0.05, 1.2))
            interrupted += _unprocessed(server.database_file) > 0
            server.close()  # SIGKILL
            server = ServeProcess(directory, ENV)
        # Otherwise the kills proved nothing.
        assert interrupted or not kill
        with RecallrAI(api_key=API_KEY, project_id=PROJECT_ID, target=server.target) as client:
            wait_until(lambda: _all_processed(client, sessions), "every session", timeout=240)
            return _memory_state(client)
    finally:
        server.close()


def test_killing_the_server_while_processing_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    clean = _run(tmp_path / "clean", kill=False)
    crashed = _run(tmp_path / "crashed", kill=True)
    assert sum(len(rows) for rows in clean.values()) >= len(CONVERSATIONS) * 4
    assert crashed == clean


class RetryingWriter(threading.Thread):
    """A client adding messages, each retried with its request id until acknowledged."""

    def __init__(self, target: str, session_id: str, name: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self._target, self._session_id, self._name, self._stopped = target, session_id, name, stop
        self.acknowledged: dict[str, str] = {}  # request id -> message id

    def run(self) -> None:
        metadata = (("authorization", f"Bearer {API_KEY}"), ("x-recallr-project-id", PROJECT_ID))
        with grpc.insecure_channel(self._target) as channel:
            add = stubs(channel).sessions.AddMessage
            n = 0
            while not self._stopped.is_set():
                request_id = f"{self._name}-{n}"
                request = sessions_pb.AddMessageRequest(
                    user_id="ada",
                    session_id=self._session_id,
                    message=session_pb2.Message(
                        role=session_pb2.MESSAGE_ROLE_USER, content=request_id
                    ),
                    request_id=request_id,
                )
                try:
                    added = add(request, metadata=metadata, timeout=5)
                except grpc.RpcError:
                    time.sleep(0.05)  # the server is down: the same request again
                    continue
                self.acknowledged[request_id] = added.message.message_id
                n += 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stored_messages(database: Path) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return [(r, i) for r, i in db.execute("SELECT request_id, id FROM messages")]


@pytest.mark.parametrize("processes", ["1", "2"])
def test_killing_the_server_mid_batch_loses_and_duplicates_no_acknowledged_message(
    tmp_path: Path, processes: str
) -> None:
    """Many writers at once keep AddMessage's group commit writing batches when SIGKILL
    comes; each writer retries with the same request id until a server answers."""
    rng = random.Random(20261207)
    env = {**ENV, "RECALLR_LISTEN": f"127.0.0.1:{_free_port()}", "RECALLR_PROCESSES": processes}
    server = ServeProcess(tmp_path, env)
    stop = threading.Event()
    try:
        with RecallrAI(api_key=API_KEY, project_id=PROJECT_ID, target=server.target) as client:
            session_id = client.create_user("ada").create_session().session_id
        writers = [RetryingWriter(server.target, session_id, f"w{n}", stop) for n in range(24)]
        for writer in writers:
            writer.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 1.5))
            server.close()  # SIGKILL, batches in flight
            server = ServeProcess(tmp_path, env)
        time.sleep(1.0)  # writes flow again after the last restart
    finally:
        stop.set()
        for writer in writers:
            writer.join(timeout=30)
        server.close()

    acknowledged = {r: m for writer in writers for r, m in writer.acknowledged.items()}
    stored = _stored_messages(tmp_path / "recallr.db")
    stored_ids = dict(stored)
    assert len(acknowledged) > 100
    assert len(stored_ids) == len(stored)  # no request id written twice
    assert {r: stored_ids.get(r) for r in acknowledged} == acknowledged
    # At most each writer's one unanswered request committed without its answer.
    assert len(stored) - len(acknowledged) <= len(writers)
