"""The revisions of what context recall searches for a user.

`users.index_revision` covers every change; `users.message_revision` only new messages,
which AddMessage appends and a cached index can load by themselves (engine.recall.index).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from recallr_server.store import models


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


async def _bump(session: AsyncSession, user_pk: str, counter: InstrumentedAttribute[int]) -> None:
    await session.execute(
        update(models.User)
        .where(models.User.pk == user_pk)
        .values({counter: counter + 1})
        .execution_options(synchronize_session=False)
    )
