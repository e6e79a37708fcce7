"""The revision of what context recall searches for a user (`users.index_revision`)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.store import models


async def bump_index_revision(session: AsyncSession, user_pk: str) -> None:
    """Marks the user's recall index stale, in the transaction of the change itself.

    Call it from every write that adds, removes or changes a user's memories, session
    summaries or messages; a replica's cached index is refreshed when it sees a new value.
    """
    await session.execute(
        update(models.User)
        .where(models.User.pk == user_pk)
        .values(index_revision=models.User.index_revision + 1)
        .execution_options(synchronize_session=False)
    )
