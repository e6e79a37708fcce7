"""Processing reads a long session a chunk of messages at a time: what spans two chunks
reads as it would within one, and processing holds about one chunk's worth of memory
however many chunks the session has."""

from __future__ import annotations

import tracemalloc
import uuid
from collections.abc import Sequence
from datetime import timedelta

from recallr_server.engine.embeddings import MiniLMEmbedder
from recallr_server.engine.ingest.processing import CHUNK_MESSAGES, SessionProcessor
from recallr_server.engine.ingest.worker import Worker, release_freed_memory
from recallr_server.store import jobs, models, projects
from recallr_server.store.database import Database
from recallrai import RecallrAI, User
from recallrai.models import MessageRole, NewMessage, SessionStatus
from recallrai.models import UserMemoryItem as Memory
from tests.engine.scenarios import ASSISTANT, USER, at, memories, wait_until
from tests.support import seed
from tests.support.everyday import everyday_conversation

Turn = tuple[MessageRole, str]


def _small_talk(count: int) -> list[Turn]:
    """Turns that state nothing lasting, the user's first."""
    return [(USER, "Thanks!") if i % 2 == 0 else (ASSISTANT, "Any time.") for i in range(count)]


def _process(user: User, turns: Sequence[Turn]) -> None:
    session = user.create_session(custom_created_at_utc=at(2024, 5, 6))
    session.add_messages([NewMessage(role=role, content=content) for role, content in turns])
    session.process()

    def done() -> bool:
        session.refresh()
        return session.status in (SessionStatus.PROCESSED, SessionStatus.FAILED)

    wait_until(done, f"session {session.session_id} to be processed", timeout=300)
    assert session.status == SessionStatus.PROCESSED, session.failure_reason


def _mentioning(user: User, word: str) -> list[Memory]:
    return [m for m in memories(user) if word.lower() in m.content.lower()]


def test_an_answer_opening_a_chunk_reads_with_the_question_closing_the_one_before(
    client: RecallrAI,
) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    question = (ASSISTANT, "What do you do? It helps to know how busy your evenings are.")
    answer = (USER, "Paediatric nurse, mostly nights.")
    # The question is the last message of the first chunk, the answer the first of the second.
    turns = [*_small_talk(CHUNK_MESSAGES - 1), question, answer, *_small_talk(CHUNK_MESSAGES + 99)]
    assert len(turns) > 2 * CHUNK_MESSAGES and turns[CHUNK_MESSAGES] == answer
    _process(user, turns)
    (memory,) = _mentioning(user, "nurse")
    assert memory.content == "Noor works as a paediatric nurse, mostly nights."


def test_a_change_in_a_later_chunk_supersedes_a_memory_from_an_earlier_chunk(
    client: RecallrAI,
) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    turns = [
        (USER, "I live in Porto and I love it."),
        *_small_talk(2 * CHUNK_MESSAGES + 20),
        (USER, "I moved to Berlin last month."),
    ]
    _process(user, turns)
    (current,) = _mentioning(user, "Berlin")
    (previous,) = current.previous_versions or []
    assert "Porto" in previous.content
    assert not _mentioning(user, "Porto")


# Chunks small enough for the test to run quickly, large enough that the messages of one
# outweigh what reading any chunk holds at its peak whatever its length (spaCy's working
# memory for a batch of 64 turns, some 13 MB).
SMALL_CHUNK = 300


async def _queued_session(db: Database, messages: int) -> None:
    async with db.write() as tx:
        project = await projects.create_project(tx, project_id=str(uuid.uuid4()))
    user = await seed.add_user(db, project.id, "ada", metadata={"name": "Ada"})
    session_id = await seed.add_session(db, user, status=models.SessionStatus.PROCESSING)
    async with db.write() as tx:
        tx.add_all(
            models.Message(
                id=str(uuid.uuid4()),
                session_id=session_id,
                user_pk=user.pk,
                role=models.MessageRole(role),
                content=content,
                created_at=at(2024, 5, 6),
            )
            for role, content in everyday_conversation(messages)
        )
    async with db.write() as tx:
        await jobs.enqueue(tx, models.JobKind.PROCESS_SESSION, session_id, user.pk)


async def _peak_while_processing(worker: Worker, db: Database, messages: int) -> int:
    """The most memory Python held, beyond what it held before, while one session of
    `messages` messages was processed."""
    await _queued_session(db, messages)
    release_freed_memory()
    tracemalloc.start()
    try:
        assert await worker.run_until_idle() == 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


async def test_processing_memory_stays_that_of_one_chunk_however_long_the_session(
    store: Database,
) -> None:
    processor = SessionProcessor(store, MiniLMEmbedder.load(), chunk_messages=SMALL_CHUNK)
    worker = Worker(store, {models.JobKind.PROCESS_SESSION: processor}, lease=timedelta(minutes=5))
    # Loads the models and meets the conversation's words once, so neither counts below.
    await _peak_while_processing(worker, store, 100)
    one = await _peak_while_processing(worker, store, SMALL_CHUNK)
    three = await _peak_while_processing(worker, store, 3 * SMALL_CHUNK)
    # Reading the whole session at once holds two chunks' messages more: about 1.4 times.
    assert three < 1.2 * one, (one, three)
