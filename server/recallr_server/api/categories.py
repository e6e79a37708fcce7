"""CategoryService."""

from __future__ import annotations

from recallr.v1 import category_service_pb2 as pb
from recallr_server.api import convert
from recallr_server.api.handlers import Call
from recallr_server.domain.categories import CATEGORY_NAME, MAX_DESCRIPTION_LENGTH, Categories
from recallr_server.domain.records import Category
from recallr_server.domain.validation import Violations, check_text


class CategoryServicer:
    def __init__(self, categories: Categories) -> None:
        self._categories = categories

    async def ListCategories(
        self, request: pb.ListCategoriesRequest, call: Call
    ) -> pb.ListCategoriesResponse:
        categories = await self._categories.all(call.project_id)
        return pb.ListCategoriesResponse(categories=[convert.category(c) for c in categories])

    async def CreateCategory(
        self, request: pb.CreateCategoryRequest, call: Call
    ) -> pb.CreateCategoryResponse:
        given = request.category
        v = Violations()
        if not CATEGORY_NAME.fullmatch(given.name):
            v.add("category.name", "must be 1-64 lowercase letters, digits or _, from a letter")
        check_text(
            v,
            "category.description",
            given.description,
            max_length=MAX_DESCRIPTION_LENGTH,
            required=False,
        )
        v.raise_if_any()
        category = await self._categories.create(
            call.project_id, Category(given.name, given.description)
        )
        return pb.CreateCategoryResponse(category=convert.category(category))

    async def DeleteCategory(
        self, request: pb.DeleteCategoryRequest, call: Call
    ) -> pb.DeleteCategoryResponse:
        await self._categories.delete(call.project_id, request.name)
        return pb.DeleteCategoryResponse()
