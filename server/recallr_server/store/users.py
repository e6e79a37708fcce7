"""The users repository: a project's end users."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete

from recallr_server.domain.paging import Page, Window
from recallr_server.domain.records import User
from recallr_server.domain.validation import JsonScalar
from recallr_server.store import models
from recallr_server.store.database import Tx
from recallr_server.store.filters import metadata_matches
from recallr_server.store.lookups import find_user, user_exists
from recallr_server.store.paging import fetch_page
from recallr_server.store.rows import ReadRows


def user_record(row: models.User) -> User:
    return User(
        pk=row.pk,
        user_id=row.user_id,
        metadata=row.metadata_,
        merge_conflict_enabled=row.merge_conflict_enabled,
        created_at=row.created_at,
        last_active_at=row.last_active_at,
    )


class UserStore:
    def __init__(self, session: Tx, *, postgres: bool) -> None:
        self._session = session
        self._postgres = postgres
        self._read = ReadRows(session, models.User)

    async def find(self, project_id: str, user_id: str, *, for_update: bool = False) -> User:
        row = await find_user(self._session, project_id, user_id, for_update=for_update)
        return user_record(self._read.keep(row.pk, row))

    async def exists(self, project_id: str, user_id: str) -> bool:
        return await user_exists(self._session, project_id, user_id)

    async def add(self, project_id: str, user: User) -> None:
        self._session.add(
            models.User(
                pk=user.pk,
                project_id=project_id,
                user_id=user.user_id,
                metadata_=user.metadata,
                merge_conflict_enabled=user.merge_conflict_enabled,
                created_at=user.created_at,
                last_active_at=user.last_active_at,
            )
        )

    async def update(self, user: User) -> None:
        row = await self._read.get(user.pk)
        row.user_id = user.user_id
        row.metadata_ = user.metadata
        row.merge_conflict_enabled = user.merge_conflict_enabled
        row.last_active_at = user.last_active_at

    async def delete(self, user: User) -> None:
        # Sessions, messages, memories and conflicts go with it (ON DELETE CASCADE).
        await self._session.execute(delete(models.User).where(models.User.pk == user.pk))

    async def page(
        self, project_id: str, metadata_filter: Mapping[str, JsonScalar], window: Window
    ) -> Page[User]:
        condition = (models.User.project_id == project_id) & metadata_matches(
            models.User.metadata_, metadata_filter, postgres=self._postgres
        )
        return await fetch_page(
            self._session,
            models.User,
            condition,
            (models.User.created_at.desc(), models.User.pk),
            window,
            user_record,
        )
