"""What the use cases need from the store, as protocols.

The store implements the repositories and the unit of work over its database, and the
composition root (app.py) wires them in. Every repository method runs in the
transaction of the unit of work that made it.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from recallr_server.domain.paging import Page, Window
from recallr_server.domain.records import Category, User
from recallr_server.domain.validation import JsonScalar


class UserRepository(Protocol):
    async def find(self, project_id: str, user_id: str, *, for_update: bool = False) -> User:
        """The user, or USER_NOT_FOUND."""
        ...

    async def exists(self, project_id: str, user_id: str) -> bool: ...

    async def add(self, project_id: str, user: User) -> None: ...

    async def update(self, user: User) -> None:
        """Stores the user's id, metadata, setting and activity time as given."""
        ...

    async def delete(self, user: User) -> None:
        """Deletes the user with everything they own."""
        ...

    async def page(
        self, project_id: str, metadata_filter: Mapping[str, JsonScalar], window: Window
    ) -> Page[User]:
        """Newest first."""
        ...


class CategoryRepository(Protocol):
    async def names(self, project_id: str) -> set[str]: ...

    async def all(self, project_id: str) -> list[Category]:
        """By name."""
        ...

    async def exists(self, project_id: str, name: str) -> bool: ...

    async def add(self, project_id: str, category: Category) -> None: ...

    async def delete(self, project_id: str, name: str) -> bool:
        """Whether there was such a category."""
        ...


class Transaction(Protocol):
    """One unit of work: everything done through it commits, or nothing does."""

    @property
    def users(self) -> UserRepository: ...
    @property
    def categories(self) -> CategoryRepository: ...


class UnitOfWork(Protocol):
    """Opens transactions. A write that collides with a concurrent one on a unique key
    raises `errors.WriteConflict`, at the statement or at commit."""

    def read(self) -> AbstractAsyncContextManager[Transaction]: ...

    def write(self) -> AbstractAsyncContextManager[Transaction]: ...
