"""The revisions of what context recall searches for a user.

`users.index_revision` covers every change; `users.message_revision` only new messages,
which AddMessage appends and a cached index can load by themselves (engine.recall.index).
A message revision bump is also the one announcement of new messages: on PostgreSQL it
sends a notification that live tails on every replica hear when the transaction commits
(store.message_feed).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from recallr_server.store import models

# The PostgreSQL channel new messages are announced on; the payload is the user's pk.
MESSAGES_CHANNEL = "recallr_messages"

_users = cast(Table, models.User.__table__)


async def bump_index_revision(session: AsyncSession, user_pk: str) -> None:
    """Marks the user's recall index stale, in the transaction of the change itself.

    Call it from every write that adds, removes or changes a user's memories, session
    summaries or messages, except for AddMessage appending a message
    (`bump_message_revision`); a replica's cached index is refreshed when it sees a new
    value.
    """
    await _bump(session, user_pk, models.User.index_revision)


async def bump_message_revision(session: AsyncSession, user_pk: str) -> None:
    """Marks that the user has messages newer than any a cached index holds.

    Only for appending messages, and called before inserting them in the same
    transaction: the index then loads just the messages whose `seq` is above the largest
    it holds, which relies on the row lock this takes (see AddMessage).
    """
    await _bump(session, user_pk, models.User.message_revision)
    await announce_messages(session, [user_pk])


async def bump_message_revisions(
    session: AsyncSession, user_pks: Collection[str], active_at: datetime
) -> None:
    """`bump_message_revision` for several users at once, also marking them active.

    One statement, which on PostgreSQL also sends the announcements. Its index scan
    locks the rows in one order (by pk), so two transactions appending messages of the
    same users wait for each other instead of deadlocking.
    """
    bump = (
        update(_users)
        .where(_users.c.pk.in_(sorted(user_pks)))
        .ordered_values(
            (_users.c.message_revision, _users.c.message_revision + 1),
            (_users.c.last_active_at, active_at),
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(bump.returning(func.pg_notify(MESSAGES_CHANNEL, _users.c.pk)))
    else:
        await session.execute(bump)


async def announce_messages(session: AsyncSession, user_pks: Collection[str]) -> None:
    """Tells every replica's live tails, at commit, that these users have new messages.

    PostgreSQL delivers notifications only once their transaction commits and drops
    duplicates within it. SQLite has no such channel: processes there find other
    processes' messages by polling (store.message_feed).
    """
    if session.get_bind().dialect.name != "postgresql" or not user_pks:
        return
    await session.execute(
        text("SELECT pg_notify(:channel, pk) FROM unnest(CAST(:pks AS text[])) AS pk"),
        {"channel": MESSAGES_CHANNEL, "pks": list(user_pks)},
    )


async def _bump(session: AsyncSession, user_pk: str, counter: InstrumentedAttribute[int]) -> None:
    await session.execute(
        update(models.User)
        .where(models.User.pk == user_pk)
        .values({counter: counter + 1})
        .execution_options(synchronize_session=False)
    )
