"""Users: creating, reading, listing, renaming and deleting a project's end users."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from recallr_server.domain.clock import now
from recallr_server.domain.errors import DomainError, Reason, WriteConflict
from recallr_server.domain.paging import Page, Window
from recallr_server.domain.ports import UnitOfWork
from recallr_server.domain.records import User
from recallr_server.domain.validation import JsonScalar


def already_exists(user_id: str) -> DomainError:
    return DomainError(
        Reason.USER_ALREADY_EXISTS,
        f"user {user_id!r} already exists",
        metadata={"user_id": user_id},
    )


@dataclass(frozen=True)
class UserUpdate:
    """New values for the fields in `fields` (AIP-134); the other values are ignored.

    `merge_conflict_enabled=None` in `fields` unsets the user's own setting, so the
    project's applies again.
    """

    fields: frozenset[str]
    user_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    merge_conflict_enabled: bool | None = None


class Users:
    def __init__(self, units: UnitOfWork) -> None:
        self._units = units

    async def create(
        self,
        project_id: str,
        user_id: str,
        metadata: dict[str, Any],
        merge_conflict_enabled: bool | None,
    ) -> User:
        stamp = now()
        user = User(
            pk=str(uuid.uuid4()),
            user_id=user_id,
            metadata=metadata,
            merge_conflict_enabled=merge_conflict_enabled,
            created_at=stamp,
            last_active_at=stamp,
        )
        try:
            async with self._units.write() as tx:
                if await tx.users.exists(project_id, user_id):
                    raise already_exists(user_id)
                await tx.users.add(project_id, user)
        except WriteConflict:
            # A concurrent create won the race between the check and the insert.
            raise already_exists(user_id) from None
        return user

    async def get(self, project_id: str, user_id: str) -> User:
        async with self._units.read() as tx:
            return await tx.users.find(project_id, user_id)

    async def page(
        self, project_id: str, metadata_filter: dict[str, JsonScalar], window: Window
    ) -> Page[User]:
        async with self._units.read() as tx:
            return await tx.users.page(project_id, metadata_filter, window)

    async def update(self, project_id: str, user_id: str, update: UserUpdate) -> User:
        try:
            async with self._units.write() as tx:
                user = await tx.users.find(project_id, user_id, for_update=True)
                new_id = update.user_id
                if "user_id" in update.fields and new_id != user.user_id:
                    if await tx.users.exists(project_id, new_id):
                        raise already_exists(new_id)
                    user = replace(user, user_id=new_id)
                if "metadata" in update.fields:
                    user = replace(user, metadata=update.metadata)
                if "merge_conflict_enabled" in update.fields:
                    user = replace(user, merge_conflict_enabled=update.merge_conflict_enabled)
                user = replace(user, last_active_at=now())
                await tx.users.update(user)
        except WriteConflict:
            raise already_exists(update.user_id) from None
        return user

    async def delete(self, project_id: str, user_id: str) -> None:
        async with self._units.write() as tx:
            user = await tx.users.find(project_id, user_id)
            # Sessions, messages, memories and conflicts go with it.
            await tx.users.delete(user)
