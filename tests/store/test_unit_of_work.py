"""The store's unit of work: what the domain's transactions do on a real database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from recallr_server.app import units_of_work
from recallr_server.domain.clock import now
from recallr_server.domain.errors import WriteConflict
from recallr_server.domain.records import User
from recallr_server.store import projects
from recallr_server.store.database import Database


def new_user(user_id: str) -> User:
    stamp = now()
    return User(str(uuid.uuid4()), user_id, {"team": "bees"}, None, stamp, stamp)


async def new_project(db: Database) -> str:
    async with db.write() as session:
        return (await projects.create_project(session)).id


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


async def test_a_unique_key_taken_at_commit_is_a_write_conflict_and_nothing_commits(
    store: Database,
) -> None:
    units = units_of_work(store)
    project_id = await new_project(store)
    async with units.write() as tx:
        await tx.users.add(project_id, new_user("ada"))

    async def add_bob_and_another_ada() -> None:
        async with units.write() as tx:
            await tx.users.add(project_id, new_user("bob"))
            await tx.users.add(project_id, new_user("ada"))

    with pytest.raises(WriteConflict):
        await add_bob_and_another_ada()

    async with units.read() as tx:
        assert await tx.users.exists(project_id, "ada")
        assert not await tx.users.exists(project_id, "bob")


async def test_writing_a_user_back_updates_only_what_changed_without_reading_again(
    store: Database,
) -> None:
    units = units_of_work(store)
    project_id = await new_project(store)
    async with units.write() as tx:
        await tx.users.add(project_id, new_user("ada"))

    async with statements(store) as seen, units.write() as tx:
        user = await tx.users.find(project_id, "ada", for_update=True)
        later = user.last_active_at + timedelta(minutes=1)
        await tx.users.update(replace(user, metadata=dict(user.metadata), last_active_at=later))

    # One read and one write: writing the record back does not read the row again.
    statements_on_users = [s.split()[0] for s in seen if "users" in s]
    assert statements_on_users == ["SELECT", "UPDATE"], seen
    (update,) = [s for s in seen if s.startswith("UPDATE")]
    assignments = update.split(" SET ")[1].split(" WHERE ")[0].split(", ")
    assert [a.split("=")[0] for a in assignments] == ["last_active_at"]
    async with units.read() as tx:
        assert (await tx.users.find(project_id, "ada")).last_active_at == later
