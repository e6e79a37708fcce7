"""Secrets shared by the replicas of a deployment: made once, the same for every reader."""

from __future__ import annotations

import asyncio

from recallr_server.store.database import Database
from recallr_server.store.secrets import PAGE_TOKEN_SECRET, SECRET_BYTES, shared_secret


async def test_replicas_starting_together_agree_on_one_secret(store: Database) -> None:
    # Each replica has its own engine and connections, as separate processes would.
    replicas = [Database(store.url) for _ in range(6)]
    try:
        values = await asyncio.gather(*(shared_secret(db, PAGE_TOKEN_SECRET) for db in replicas))
    finally:
        await asyncio.gather(*(db.dispose() for db in replicas))
    assert len(set(values)) == 1
    assert len(values[0]) == SECRET_BYTES
    assert await shared_secret(store, PAGE_TOKEN_SECRET) == values[0]
    assert await shared_secret(store, "another") != values[0]
