"""Two `recallr-server serve` processes over one database, as replicas behind a balancer.

Each process caches per-user search indexes; what one replica writes must be in the next
context the other recalls, on both backends.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from recallrai import RecallrAI, Session
from recallrai.models import MessageRole, RecallStrategy, SessionStatus
from tests.conftest import BACKENDS
from tests.mesh.processes import ServeProcess
from tests.support.postgres import ThrowawayPostgres


def _database_url(backend: str, request: pytest.FixtureRequest, name: str) -> str:
    if backend == "sqlite":
        directory = request.getfixturevalue("tmp_path")
        return f"sqlite:///{directory / 'shared.db'}"
    cluster: ThrowawayPostgres = request.getfixturevalue("postgres")
    return cluster.create_database(name)


def _client(process: ServeProcess) -> RecallrAI:
    return RecallrAI(api_key=process.api_key, project_id=process.project_id, target=process.target)


def _recalled(session: Session) -> tuple[set[str], set[str]]:
    context = session.get_context(
        recall_strategy=RecallStrategy.LOW_LATENCY,
        memories_threshold=0.0,
        include_metadata_ids=True,
    )
    metadata = context.metadata
    assert metadata is not None
    return set(metadata.memory_ids or ()), set(metadata.message_ids or ())


def _processed(session: Session) -> None:
    session.process()
    deadline = time.monotonic() + 60
    while session.status != SessionStatus.PROCESSED:
        assert time.monotonic() < deadline, f"session still {session.status}"
        time.sleep(0.1)
        session.refresh()


@pytest.mark.parametrize("backend", BACKENDS)
def test_what_one_replica_writes_the_other_recalls_next(
    backend: str,
    request: pytest.FixtureRequest,
    serve_process: Callable[..., ServeProcess],
) -> None:
    first = serve_process(RECALLR_DATABASE_URL=_database_url(backend, request, "replicas"))
    second = serve_process(
        RECALLR_DATABASE_URL=first.database_url,
        RECALLR_PROJECT_ID=first.project_id,
        RECALLR_API_KEY=first.api_key,
    )
    with _client(first) as one, _client(second) as other:
        asking = one.create_user("ada", metadata={"name": "Ada"}).create_session()
        asking.add_message(role=MessageRole.USER, content="Which locker code and bike lock?")
        assert _recalled(asking) == (set(), set())  # the first replica's index is now cached

        ada = other.get_user("ada")
        earlier = ada.create_session()
        locker = earlier.add_message(role=MessageRole.USER, content="My locker code is 4711.")
        assert _recalled(asking)[1] == {locker.message_id}

        bike = ada.create_session()
        bike.add_message(role=MessageRole.USER, content="I bought a new bike lock, code 1234.")
        _processed(bike)
        (memory,) = ada.list_memories().items
        memories, _ = _recalled(asking)
        assert memory.memory_id in memories

        ada.delete_memory(memory.memory_id)
        earlier.delete()
        memories, messages = _recalled(asking)
        assert not memories and locker.message_id not in messages
