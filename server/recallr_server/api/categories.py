"""CategoryService."""

from __future__ import annotations

from sqlalchemy import delete, select

from recallr.v1 import category_pb2
from recallr.v1 import category_service_pb2 as pb
from recallr_server.api.handlers import Call
from recallr_server.domain.categories import CATEGORY_NAME
from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.validation import Violations, check_text
from recallr_server.store import models
from recallr_server.store.database import Database

MAX_DESCRIPTION_LENGTH = 1_000


def _not_found(name: str) -> DomainError:
    return DomainError(
        Reason.CATEGORY_NOT_FOUND,
        f"category {name!r} not found",
        metadata={"category": name[:64]},
    )


class CategoryServicer:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def ListCategories(
        self, request: pb.ListCategoriesRequest, call: Call
    ) -> pb.ListCategoriesResponse:
        async with self._db.read() as session:
            rows = await session.scalars(
                select(models.Category)
                .where(models.Category.project_id == call.project_id)
                .order_by(models.Category.name)
            )
            return pb.ListCategoriesResponse(
                categories=[
                    category_pb2.Category(name=r.name, description=r.description) for r in rows
                ]
            )

    async def CreateCategory(
        self, request: pb.CreateCategoryRequest, call: Call
    ) -> pb.CreateCategoryResponse:
        category = request.category
        v = Violations()
        if not CATEGORY_NAME.fullmatch(category.name):
            v.add("category.name", "must be 1-64 lowercase letters, digits or _, from a letter")
        check_text(
            v,
            "category.description",
            category.description,
            max_length=MAX_DESCRIPTION_LENGTH,
            required=False,
        )
        v.raise_if_any()
        async with self._db.write() as session:
            key = (call.project_id, category.name)
            if await session.get(models.Category, key) is not None:
                raise DomainError(
                    Reason.CATEGORY_ALREADY_EXISTS,
                    f"category {category.name!r} already exists",
                    metadata={"category": category.name},
                )
            session.add(
                models.Category(
                    project_id=call.project_id,
                    name=category.name,
                    description=category.description,
                )
            )
        return pb.CreateCategoryResponse(category=category)

    async def DeleteCategory(
        self, request: pb.DeleteCategoryRequest, call: Call
    ) -> pb.DeleteCategoryResponse:
        if not CATEGORY_NAME.fullmatch(request.name):
            raise _not_found(request.name)
        async with self._db.write() as session:
            result = await session.execute(
                delete(models.Category).where(
                    models.Category.project_id == call.project_id,
                    models.Category.name == request.name,
                )
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise _not_found(request.name)
        return pb.DeleteCategoryResponse()
