"""Live tails are woken, not polled: by this process's adds, and by other processes'
through the process's one message feed; and a project may hold only so many open."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import cast

import pytest

from recallr_server.app import message_appender, units_of_work
from recallr_server.domain.appends import AddMessage
from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.messages import Messages
from recallr_server.domain.records import Message, MessageRole
from recallr_server.domain.tail import MessageSignal
from recallr_server.store import models, projects
from recallr_server.store.database import Database
from recallr_server.store.message_feed import MessageFeed
from tests.support import seed

# Bounds a wait that fails the test; never what a passing test waits for.
ARRIVAL_SECONDS = 10.0
# A poll this slow never runs within a test: what arrives was pushed.
NO_POLL = 3600.0


class Process:
    """What one server process holds: its signal, its appender, its message feed."""

    def __init__(self, db: Database, poll_interval: float, max_tails: int | None = None) -> None:
        self.signal = MessageSignal(max_tails)
        self.appender = message_appender(db, self.signal)
        self.messages = Messages(units_of_work(db), self.signal, self.appender)
        self.feed = MessageFeed(db, self.signal, poll_interval)

    async def add(self, project_id: str, session_id: str, content: str) -> Message:
        return await self.appender.add(
            AddMessage(project_id, "ada", session_id, MessageRole.USER, content, "")
        )


@contextlib.asynccontextmanager
async def running(process: Process) -> AsyncIterator[Process]:
    process.feed.start()
    try:
        yield process
    finally:
        await process.feed.stop()


class Tail:
    """A following tail, its batches gathered as they arrive."""

    def __init__(self, process: Process, project_id: str) -> None:
        stream = process.messages.tail(project_id, "ada", 0, follow=True)
        self._stream = cast(AsyncGenerator[list[Message]], stream)

    async def open(self) -> Tail:
        assert await anext(self._stream) == []
        return self

    async def next_contents(self) -> list[str]:
        batch = await asyncio.wait_for(anext(self._stream), ARRIVAL_SECONDS)
        return [m.content for m in batch]

    async def close(self) -> None:
        await self._stream.aclose()


async def chat(db: Database) -> tuple[str, str]:
    async with db.write() as session:
        project_id = (await projects.create_project(session)).id
    ada = await seed.add_user(db, project_id, "ada")
    return project_id, await seed.add_session(db, ada, status=models.SessionStatus.PENDING)


async def test_a_tail_receives_its_own_processs_messages_without_polling(
    store: Database,
) -> None:
    project_id, session_id = await chat(store)
    async with running(Process(store, NO_POLL)) as process:
        tail = await Tail(process, project_id).open()
        await process.add(project_id, session_id, "hello")
        assert await tail.next_contents() == ["hello"]
        await tail.close()


async def test_a_tail_receives_another_processs_messages_through_the_feed(
    store: Database,
) -> None:
    """On PostgreSQL by notification alone (no poll); on SQLite by the one shared poll."""
    project_id, session_id = await chat(store)
    poll = 0.05 if store.is_sqlite else NO_POLL
    other_db = Database(store.url)
    try:
        other = Process(other_db, NO_POLL)
        async with running(Process(store, poll)) as process:
            tail = await Tail(process, project_id).open()
            await other.add(project_id, session_id, "from elsewhere")
            assert await tail.next_contents() == ["from elsewhere"]
            await tail.close()
    finally:
        await other_db.dispose()


async def test_every_tail_of_a_user_receives_each_message(store: Database) -> None:
    project_id, session_id = await chat(store)
    async with running(Process(store, NO_POLL)) as process:
        tails = [await Tail(process, project_id).open() for _ in range(20)]
        await process.add(project_id, session_id, "to all")
        for tail in tails:
            assert await tail.next_contents() == ["to all"]
            await tail.close()


async def test_a_project_past_its_tail_limit_is_refused_until_one_closes(
    store: Database,
) -> None:
    project_id, _ = await chat(store)
    other_project, _ = await chat(store)
    process = Process(store, NO_POLL, max_tails=2)
    tails = [await Tail(process, project_id).open() for _ in range(2)]

    with pytest.raises(DomainError) as refused:
        await Tail(process, project_id).open()
    assert refused.value.reason == Reason.RATE_LIMITED
    assert refused.value.retry_after_seconds is not None
    assert refused.value.metadata["limit"] == "2"
    # The limit is each project's own.
    await (await Tail(process, other_project).open()).close()

    await tails.pop().close()
    tails.append(await Tail(process, project_id).open())
    for tail in tails:
        await tail.close()


async def test_a_tail_without_follow_takes_no_slot(store: Database) -> None:
    project_id, _ = await chat(store)
    process = Process(store, NO_POLL, max_tails=1)
    held = await Tail(process, project_id).open()
    snapshot = [b async for b in process.messages.tail(project_id, "ada", 5, follow=False)]
    assert snapshot == [[]]
    await held.close()
