"""The categories repository: a project's memory categories."""

from __future__ import annotations

from sqlalchemy import delete, select

from recallr_server.domain.records import Category
from recallr_server.store import models
from recallr_server.store.database import Tx
from recallr_server.store.lookups import category_names


class CategoryStore:
    def __init__(self, session: Tx) -> None:
        self._session = session

    async def names(self, project_id: str) -> set[str]:
        return await category_names(self._session, project_id)

    async def all(self, project_id: str) -> list[Category]:
        rows = await self._session.scalars(
            select(models.Category)
            .where(models.Category.project_id == project_id)
            .order_by(models.Category.name)
        )
        return [Category(row.name, row.description) for row in rows]

    async def exists(self, project_id: str, name: str) -> bool:
        return await self._session.get(models.Category, (project_id, name)) is not None

    async def add(self, project_id: str, category: Category) -> None:
        self._session.add(
            models.Category(
                project_id=project_id, name=category.name, description=category.description
            )
        )

    async def delete(self, project_id: str, name: str) -> bool:
        result = await self._session.execute(
            delete(models.Category).where(
                models.Category.project_id == project_id, models.Category.name == name
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
