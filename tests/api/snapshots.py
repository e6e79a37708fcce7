"""Snapshots of everything a project owns, row by row, to tell whether a call changed it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table, select

from recallr_server.store import models
from recallr_server.store.database import Database


def _rows_of(table: Table, project_id: str) -> Select[Any]:
    users = select(models.User.pk).where(models.User.project_id == project_id)
    if table.name == models.Project.__tablename__:
        return select(table).where(table.c.id == project_id)
    if "project_id" in table.c:
        return select(table).where(table.c.project_id == project_id)
    if "user_pk" in table.c:
        return select(table).where(table.c.user_pk.in_(users))
    if "memory_id" in table.c:
        memories = select(models.Memory.id).where(models.Memory.user_pk.in_(users))
        return select(table).where(table.c.memory_id.in_(memories))
    raise AssertionError(f"teach the snapshot which project owns a row of {table.name}")


async def snapshot(db: Database, project_id: str) -> dict[str, list[tuple[Any, ...]]]:
    async with db.read() as session:
        return {
            table.name: sorted(
                (tuple(row) for row in await session.execute(_rows_of(table, project_id))),
                key=repr,
            )
            for table in models.Base.metadata.sorted_tables
        }
