"""Secrets the replicas of one deployment share: random, made once, kept in the database.

Every replica on the same database reads the same value, so whatever one replica signs
another verifies, with nothing for the operator to generate or distribute.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from recallr_server.domain.clock import now
from recallr_server.store import models
from recallr_server.store.database import Database

PAGE_TOKEN_SECRET = "page_token"
SECRET_BYTES = 32


async def shared_secret(db: Database, name: str) -> bytes:
    """The secret called `name`, made on first use. Replicas that start together agree:
    the first insert wins and the others read it."""
    insert = sqlite_insert if db.is_sqlite else postgres_insert
    async with db.write() as session:
        await session.execute(
            insert(models.SharedSecret)
            .values(name=name, value=secrets.token_bytes(SECRET_BYTES), created_at=now())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        value = await session.scalar(
            select(models.SharedSecret.value).where(models.SharedSecret.name == name)
        )
    assert value is not None, "the row was just inserted or already there"
    return value
