"""Categories: the vocabulary every new project starts with, and a project's own."""

from __future__ import annotations

import re

from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.ports import UnitOfWork
from recallr_server.domain.records import Category

CATEGORY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_DESCRIPTION_LENGTH = 1_000

DEFAULT_CATEGORIES: dict[str, str] = {
    "personal_info": "Name, age, birthday, family background and other identity facts.",
    "relationships": "Family, partners, friends, colleagues and pets, and how they relate.",
    "food_preferences": "Foods, drinks, cuisines and diets the user likes or avoids.",
    "allergies": "Allergies and intolerances.",
    "health": "Health conditions, fitness, medication and wellbeing.",
    "work": "Job, employer, role, career plans and work events.",
    "education": "Schools, studies, degrees and learning.",
    "hobbies": "Hobbies, sports, arts, games and pastimes.",
    "travel": "Trips taken and planned, and places visited.",
    "places": "Where the user lives, has lived, or spends time.",
    "possessions": "Things the user owns, bought or wants to buy.",
    "plans": "Intentions, goals and scheduled future events.",
    "events": "Things that happened to or were done by the user.",
    "opinions": "Views, beliefs, likes and dislikes that are not about food.",
    "preferences": "How the user wants things done, including by the assistant.",
    "assistant_recommendations": "What the assistant told or recommended to the user.",
}


def not_found(name: str) -> DomainError:
    return DomainError(
        Reason.CATEGORY_NOT_FOUND,
        f"category {name!r} not found",
        metadata={"category": name[:64]},
    )


class Categories:
    def __init__(self, units: UnitOfWork) -> None:
        self._units = units

    async def all(self, project_id: str) -> list[Category]:
        async with self._units.read() as tx:
            return await tx.categories.all(project_id)

    async def create(self, project_id: str, category: Category) -> Category:
        async with self._units.write() as tx:
            if await tx.categories.exists(project_id, category.name):
                raise DomainError(
                    Reason.CATEGORY_ALREADY_EXISTS,
                    f"category {category.name!r} already exists",
                    metadata={"category": category.name},
                )
            await tx.categories.add(project_id, category)
        return category

    async def delete(self, project_id: str, name: str) -> None:
        # A name no category can have names none: not found, not invalid.
        if not CATEGORY_NAME.fullmatch(name):
            raise not_found(name)
        async with self._units.write() as tx:
            if not await tx.categories.delete(project_id, name):
                raise not_found(name)
