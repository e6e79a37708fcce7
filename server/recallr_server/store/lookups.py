"""Tenant-scoped lookups shared by the servicers.

Every query starts from the calling project, so isolation holds by
construction: a row of another project is never found, only "not found".
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.domain import errors
from recallr_server.domain.validation import MAX_USER_ID_LENGTH, is_uuid
from recallr_server.store import models


def _plausible_user_id(user_id: str) -> bool:
    return 0 < len(user_id) <= MAX_USER_ID_LENGTH and "\x00" not in user_id


async def find_user(
    session: AsyncSession, project_id: str, user_id: str, *, for_update: bool = False
) -> models.User:
    if not _plausible_user_id(user_id):
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
    session: AsyncSession, user: models.User, session_id: str, *, for_update: bool = False
) -> models.Session:
    if not is_uuid(session_id):
        raise errors.session_not_found(session_id[:64])
    query = select(models.Session).where(
        models.Session.id == session_id.lower(), models.Session.user_pk == user.pk
    )
    if for_update:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise errors.session_not_found(session_id)
    return row


async def category_names(session: AsyncSession, project_id: str) -> set[str]:
    return set(
        await session.scalars(
            select(models.Category.name).where(models.Category.project_id == project_id)
        )
    )
