"""Tenant-scoped lookups of rows, shared by the repositories and the engine.

Every query starts from the calling project, so isolation holds by
construction: a row of another project is never found, only "not found".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.domain import errors
from recallr_server.domain.errors import DomainError
from recallr_server.domain.validation import MAX_USER_ID_LENGTH, canonical_uuid
from recallr_server.store import models


class Owner(Protocol):
    """A user as a row or as the domain's record: what owns sessions, memories, conflicts."""

    @property
    def pk(self) -> str: ...


def plausible_user_id(user_id: str) -> bool:
    """Whether `user_id` could name a stored user: what cannot is not looked up (a NUL,
    for one, is an error on PostgreSQL rather than a miss)."""
    return 0 < len(user_id) <= MAX_USER_ID_LENGTH and "\x00" not in user_id


async def find_user(
    session: AsyncSession, project_id: str, user_id: str, *, for_update: bool = False
) -> models.User:
    if not plausible_user_id(user_id):
        raise errors.user_not_found(user_id[:MAX_USER_ID_LENGTH])
    query = select(models.User).where(
        models.User.project_id == project_id, models.User.user_id == user_id
    )
    if for_update:
        query = query.with_for_update()
    user = await session.scalar(query)
    if user is None:
        raise errors.user_not_found(user_id)
    return user


async def user_exists(session: AsyncSession, project_id: str, user_id: str) -> bool:
    return (
        await session.scalar(
            select(models.User.pk).where(
                models.User.project_id == project_id, models.User.user_id == user_id
            )
        )
        is not None
    )


async def find_session(
    session: AsyncSession, user: Owner, session_id: str, *, for_update: bool = False
) -> models.Session:
    return await _find_owned(
        session, models.Session, user, session_id, errors.session_not_found, for_update
    )


async def find_memory(session: AsyncSession, user: Owner, memory_id: str) -> models.Memory:
    return await _find_owned(session, models.Memory, user, memory_id, errors.memory_not_found)


async def find_merge_conflict(
    session: AsyncSession, user: Owner, conflict_id: str, *, for_update: bool = False
) -> models.MergeConflict:
    return await _find_owned(
        session,
        models.MergeConflict,
        user,
        conflict_id,
        errors.merge_conflict_not_found,
        for_update,
    )


_Owned = TypeVar("_Owned", models.Session, models.Memory, models.MergeConflict)


async def _find_owned(
    session: AsyncSession,
    model: type[_Owned],
    user: Owner,
    row_id: str,
    not_found: Callable[[str], DomainError],
    for_update: bool = False,
) -> _Owned:
    """One of `user`'s rows by its UUID; `not_found` for a malformed id or anyone else's."""
    canonical = canonical_uuid(row_id)
    if canonical is None:
        raise not_found(row_id[:64])
    query = select(model).where(model.id == canonical, model.user_pk == user.pk)
    if for_update:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise not_found(row_id)
    return row


async def category_names(session: AsyncSession, project_id: str) -> set[str]:
    return set(
        await session.scalars(
            select(models.Category.name).where(models.Category.project_id == project_id)
        )
    )
