"""AddMessage's group commit on a real database: shared transactions, separate outcomes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, select, text

from recallr_server.app import message_appender
from recallr_server.domain.appends import AddMessage, MessageAppender
from recallr_server.domain.errors import DomainError, Reason, WriteConflict
from recallr_server.domain.records import Message, MessageRole
from recallr_server.domain.tail import MessageSignal
from recallr_server.store import models, projects
from recallr_server.store.database import Database
from tests.support import seed


async def new_project(db: Database) -> str:
    async with db.write() as session:
        return (await projects.create_project(session)).id


def commits(db: Database) -> list[None]:
    seen: list[None] = []
    event.listen(db.engine.sync_engine, "commit", lambda _conn: seen.append(None))
    return seen


def add(
    project_id: str, user_id: str, session_id: str, content: str, request_id: str = ""
) -> AddMessage:
    return AddMessage(project_id, user_id, session_id, MessageRole.USER, content, request_id)


async def together(appender: MessageAppender, adds: Sequence[AddMessage]) -> list[Any]:
    """Every add at once, as concurrent calls make them; each one's message or error."""
    return await asyncio.gather(*(appender.add(a) for a in adds), return_exceptions=True)


async def stored(db: Database, user_pk: str) -> list[tuple[str, str]]:
    """The user's messages (id, content) in seq order."""
    async with db.read() as session:
        rows = await session.execute(
            select(models.Message.id, models.Message.content)
            .where(models.Message.user_pk == user_pk)
            .order_by(models.Message.seq)
        )
        return [(row.id, row.content) for row in rows]


async def test_concurrent_adds_share_a_transaction_and_each_is_stored_in_order(
    store: Database,
) -> None:
    project_id = await new_project(store)
    users = [await seed.add_user(store, project_id, f"user{n}") for n in range(3)]
    sessions = {
        u.user_id: [await seed.add_session(store, u, status=models.SessionStatus.PENDING)]
        for u in users
    }
    adds = [
        add(project_id, u.user_id, sessions[u.user_id][0], f"{u.user_id} says {i}")
        for i in range(15)
        for u in users
    ]
    signal = MessageSignal()
    woken = {u.pk: signal.subscribe(project_id, u.pk) for u in users}
    committed = commits(store)

    messages = await together(message_appender(store, signal), adds)

    assert all(isinstance(m, Message) for m in messages)
    assert len(committed) < len(adds) / 10
    for user in users:
        expected = [(m.id, m.content) for m in messages if m.content.startswith(user.user_id)]
        assert await stored(store, user.pk) == expected
        assert woken[user.pk].is_set()


async def test_a_failing_add_fails_only_its_own_request(store: Database) -> None:
    project_id = await new_project(store)
    ada = await seed.add_user(store, project_id, "ada")
    pending = await seed.add_session(store, ada, status=models.SessionStatus.PENDING)
    processed = await seed.add_session(store, ada, status=models.SessionStatus.PROCESSED)
    adds = [
        add(project_id, "ada", pending, "first"),
        add(project_id, "nobody", pending, "unknown user"),
        add(project_id, "ada", str(uuid.uuid4()), "unknown session"),
        add(project_id, "ada", "not-a-uuid", "malformed session"),
        add(project_id, "ada", processed, "processed session"),
        add(project_id, "ada", pending.upper(), "second"),
    ]

    outcomes = await together(message_appender(store, MessageSignal()), adds)

    reasons = [o.reason if isinstance(o, DomainError) else o.content for o in outcomes]
    assert reasons == [
        "first",
        Reason.USER_NOT_FOUND,
        Reason.SESSION_NOT_FOUND,
        Reason.SESSION_NOT_FOUND,
        Reason.INVALID_SESSION_STATE,
        "second",
    ]
    assert [content for _, content in await stored(store, ada.pk)] == ["first", "second"]


async def test_a_retry_in_the_same_batch_gets_the_message_the_first_made(
    store: Database,
) -> None:
    project_id = await new_project(store)
    ada = await seed.add_user(store, project_id, "ada")
    session_id = await seed.add_session(store, ada, status=models.SessionStatus.PENDING)
    appender = message_appender(store, MessageSignal())
    retried = add(project_id, "ada", session_id, "hello", request_id="r1")

    first, again = await together(appender, [retried, retried])
    later = await appender.add(retried)

    assert first == again == later
    assert await stored(store, ada.pk) == [(first.id, "hello")]


async def refuse_content(db: Database, content: str) -> None:
    """Makes the database itself refuse to insert a message with this content."""
    if db.is_sqlite:
        statements = [
            "CREATE TRIGGER refuse BEFORE INSERT ON messages"
            f" WHEN NEW.content = '{content}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
    else:
        statements = [
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.content = '{content}' THEN"
            " RAISE EXCEPTION 'refused' USING ERRCODE = 'unique_violation'; END IF;"
            " RETURN NEW; END $$",
            "CREATE TRIGGER refuse BEFORE INSERT ON messages"
            " FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]
    async with db.write() as session:
        for statement in statements:
            await session.execute(text(statement))


async def test_a_batch_the_database_refuses_is_written_again_one_add_at_a_time(
    store: Database,
) -> None:
    project_id = await new_project(store)
    ada = await seed.add_user(store, project_id, "ada")
    session_id = await seed.add_session(store, ada, status=models.SessionStatus.PENDING)
    await refuse_content(store, "poison")
    contents = ["one", "two", "poison", "three"]
    committed = commits(store)

    outcomes = await together(
        message_appender(store, MessageSignal()),
        [add(project_id, "ada", session_id, c) for c in contents],
    )

    assert isinstance(outcomes[2], WriteConflict)
    assert [o.content for i, o in enumerate(outcomes) if i != 2] == ["one", "two", "three"]
    assert [content for _, content in await stored(store, ada.pk)] == ["one", "two", "three"]
    # The batch failed as a whole, then each add was written alone.
    assert len(committed) == 3


async def test_a_batch_bumps_each_users_message_revision_and_marks_it_active(
    store: Database,
) -> None:
    project_id = await new_project(store)
    ada = await seed.add_user(store, project_id, "ada")
    session_id = await seed.add_session(store, ada, status=models.SessionStatus.PENDING)
    async with store.read() as session:
        before = await session.get_one(models.User, ada.pk)

    messages = await together(
        message_appender(store, MessageSignal()),
        [add(project_id, "ada", session_id, f"m{i}") for i in range(5)],
    )

    async with store.read() as session:
        after = await session.get_one(models.User, ada.pk)
        chat = await session.get_one(models.Session, session_id)
    assert after.message_revision > before.message_revision
    assert after.index_revision == before.index_revision
    assert after.last_active_at == chat.last_message_at == messages[-1].created_at


async def test_an_add_whose_caller_left_before_its_batch_is_not_written(store: Database) -> None:
    project_id = await new_project(store)
    ada = await seed.add_user(store, project_id, "ada")
    session_id = await seed.add_session(store, ada, status=models.SessionStatus.PENDING)
    appender = message_appender(store, MessageSignal())
    kept = asyncio.ensure_future(appender.add(add(project_id, "ada", session_id, "kept")))
    left = asyncio.ensure_future(appender.add(add(project_id, "ada", session_id, "left")))
    await asyncio.sleep(0)  # both queued, the writer not yet running
    left.cancel()
    await kept
    assert [content for _, content in await stored(store, ada.pk)] == ["kept"]
