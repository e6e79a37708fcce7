"""The recall index's refresh: after AddMessage alone it loads only the new messages.

Messages are written through the SessionServicer, so the revisions are bumped by the same
code as in production; the index is compared with one built from scratch.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Hashable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import event, update

from recallr.v1 import session_pb2
from recallr.v1 import session_service_pb2 as pb
from recallr_server.api.handlers import Call
from recallr_server.app import message_appender
from recallr_server.app import session_servicer as SessionServicer
from recallr_server.domain.tail import MessageSignal
from recallr_server.engine.recall.index import IndexCache, MessageDoc, UserIndex
from recallr_server.store import models, projects
from recallr_server.store.database import Database
from tests.support import seed

DIMENSIONS = 384
USER_ID = "u"


class Chat:
    """A user with a session, talking through a real SessionServicer."""

    def __init__(self, db: Database, project_id: str, user: seed.SeededUser) -> None:
        self.db = db
        self.user = user
        self._call = Call(project_id, "test", cast(Any, None))
        signal = MessageSignal()
        self._servicer = SessionServicer(db, signal, message_appender(db, signal), lambda: None)

    async def session(self, created: datetime | None = None) -> str:
        session_id = await seed.add_session(self.db, self.user, status=models.SessionStatus.PENDING)
        if created is not None:
            async with self.db.write() as session:
                await session.execute(
                    update(models.Session)
                    .where(models.Session.id == session_id)
                    .values(created_at=created)
                )
        return session_id

    async def say(self, session_id: str, content: str, request_id: str = "") -> str:
        request = pb.AddMessageRequest(
            user_id=USER_ID,
            session_id=session_id,
            message=session_pb2.Message(role=session_pb2.MESSAGE_ROLE_USER, content=content),
            request_id=request_id,
        )
        return (await self._servicer.AddMessage(request, self._call)).message.message_id

    async def delete(self, session_id: str) -> None:
        request = pb.DeleteSessionRequest(user_id=USER_ID, session_id=session_id)
        await self._servicer.DeleteSession(request, self._call)

    async def revisions(self) -> tuple[int, int]:
        async with self.db.read() as session:
            user = await session.get_one(models.User, self.user.pk)
            return user.index_revision, user.message_revision


async def start(db: Database) -> Chat:
    async with db.write() as session:
        project = await projects.create_project(session, project_id=str(uuid.uuid4()))
    return Chat(db, project.id, await seed.add_user(db, project.id, USER_ID))


async def current(db: Database, cache: IndexCache, user_pk: str) -> UserIndex:
    """The cached index, refreshed as a recall would."""
    async with db.read() as session:
        user = await session.get_one(models.User, user_pk)
        async with cache.current(
            session, user_pk, user.index_revision, user.message_revision
        ) as index:
            return index


def messages_of(index: UserIndex) -> dict[Hashable, tuple[MessageDoc | None, list[str]]]:
    """Each indexed message with the terms it was indexed under (its neighbours' included)."""
    shelf = index.messages
    return {key: (shelf.docs[at], shelf._terms[at]) for key, at in shelf.positions.items()}


async def rebuilt(db: Database, user_pk: str) -> UserIndex:
    return await current(db, IndexCache(DIMENSIONS), user_pk)


@asynccontextmanager
async def statements(db: Database) -> AsyncIterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


@contextmanager
def unchanged_memories(index: UserIndex) -> Iterator[None]:
    shelf, positions, versions = index.memories, dict(index.memories.positions), index.versions
    yield
    assert index.memories is shelf and index.memories.positions == positions
    assert index.versions is versions


async def test_a_new_message_alone_loads_only_new_messages(store: Database) -> None:
    chat = await start(store)
    await seed.add_chain(store, chat.user, [seed.Version("Ada keeps bees in her garden.")])
    first = await chat.session()
    await chat.say(first, "I keep bees")
    cache = IndexCache(DIMENSIONS)
    index = await current(store, cache, chat.user.pk)
    assert len(index.memories.positions) == 1
    revisions = await chat.revisions()

    later = await chat.session(created=datetime(2023, 7, 1, 12, tzinfo=UTC))
    question = await chat.say(later, "Where did the swarm go?")
    reply = await chat.say(first, "The swarm settled in the plum tree")
    assert await chat.revisions() == (revisions[0], revisions[1] + 2)
    with unchanged_memories(index):
        async with statements(store) as seen:
            assert await current(store, cache, chat.user.pk) is index
    loaded = [s for s in seen if " FROM " in s and "FROM users" not in s]
    assert all("FROM memor" not in s and "session_summaries" not in s for s in loaded), loaded
    assert [s.split(" FROM ")[1].split()[0] for s in loaded] == ["messages", "sessions"]

    assert index.message_position(question) is not None
    assert index.message_position(reply) is not None
    assert index.session_times[later] == datetime(2023, 7, 1, 12, tzinfo=UTC)
    fresh = await rebuilt(store, chat.user.pk)
    # "I keep bees" was re-indexed with its successor, as a full build indexes it.
    assert messages_of(index) == messages_of(fresh)
    assert index.session_times == fresh.session_times


async def test_a_deleted_session_still_removes_its_messages(store: Database) -> None:
    chat = await start(store)
    kept, dropped = await chat.session(), await chat.session()
    await chat.say(kept, "My violin is a Mittenwald")
    cache = IndexCache(DIMENSIONS)
    index = await current(store, cache, chat.user.pk)
    gone = [await chat.say(dropped, "The weather is grey"), await chat.say(dropped, "Rain")]
    assert all(index.message_position(m) is None for m in gone)
    index = await current(store, cache, chat.user.pk)
    assert all(index.message_position(m) is not None for m in gone)

    await chat.delete(dropped)
    index = await current(store, cache, chat.user.pk)
    assert all(index.message_position(m) is None for m in gone)
    assert dropped not in index.session_times
    later = await chat.say(kept, "It was made in 1920")
    index = await current(store, cache, chat.user.pk)
    assert index.message_position(later) is not None
    assert messages_of(index) == messages_of(await rebuilt(store, chat.user.pk))


async def test_a_message_reusing_a_deleted_messages_seq_replaces_it(store: Database) -> None:
    chat = await start(store)
    kept, dropped = await chat.session(), await chat.session()
    await chat.say(kept, "My violin is a Mittenwald")
    gone = await chat.say(dropped, "The weather is grey")
    cache = IndexCache(DIMENSIONS)
    index = await current(store, cache, chat.user.pk)
    await chat.delete(dropped)
    # On SQLite the new message takes the deleted one's seq, before any refresh sees either.
    said = await chat.say(kept, "It was made in 1920")
    index = await current(store, cache, chat.user.pk)
    assert index.message_position(gone) is None
    position = index.message_position(said)
    assert position is not None
    held = index.messages.docs[position]
    assert held is not None and held.id == said
    assert messages_of(index) == messages_of(await rebuilt(store, chat.user.pk))


async def test_add_message_bumps_the_user_row_before_inserting_and_not_on_replay(
    store: Database,
) -> None:
    chat = await start(store)
    session_id = await chat.session()
    before = await chat.revisions()
    async with statements(store) as seen:
        first = await chat.say(session_id, "Hello", request_id="r1")
    bump = next(i for i, s in enumerate(seen) if s.startswith("UPDATE users SET message_revision"))
    insert = next(i for i, s in enumerate(seen) if s.startswith("INSERT INTO messages"))
    assert bump < insert
    assert await chat.say(session_id, "Hello", request_id="r1") == first
    assert await chat.revisions() == (before[0], before[1] + 1)
