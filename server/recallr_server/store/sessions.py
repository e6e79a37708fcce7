"""The sessions repository: a user's conversations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping

from sqlalchemy import delete, select, update

from recallr_server.domain.paging import Page, Window
from recallr_server.domain.records import Session, SessionStatus, User
from recallr_server.domain.validation import JsonScalar
from recallr_server.store import jobs, models
from recallr_server.store.database import Tx
from recallr_server.store.filters import metadata_matches
from recallr_server.store.lookups import find_session
from recallr_server.store.paging import fetch_page
from recallr_server.store.revisions import bump_index_revision
from recallr_server.store.rows import ReadRows


def session_record(row: models.Session, user_id: str) -> Session:
    return Session(
        id=row.id,
        user_id=user_id,
        status=row.status,
        metadata=row.metadata_,
        created_at=row.created_at,
        auto_process_after_seconds=row.auto_process_after_seconds,
        failure_reason=row.failure_reason,
        last_message_at=row.last_message_at,
        extractor=row.extractor,
        message_count=row.message_count,
    )


async def count_messages(session: Tx, session_ids: Iterable[str]) -> None:
    """Adds messages just inserted, one id per message, to their sessions' counts.

    Every path that inserts messages calls it in the same transaction, so a session's
    count is its number of messages, whichever call added them.
    """
    for session_id, added in Counter(session_ids).items():
        await session.execute(
            update(models.Session)
            .where(models.Session.id == session_id)
            .values(message_count=models.Session.message_count + added)
        )


class SessionStore:
    def __init__(self, session: Tx, *, postgres: bool) -> None:
        self._session = session
        self._postgres = postgres
        self._read = ReadRows(session, models.Session)

    async def find(self, user: User, session_id: str, *, for_update: bool = False) -> Session:
        row = await find_session(self._session, user, session_id, for_update=for_update)
        return session_record(self._read.keep(row.id, row), user.user_id)

    async def replayed(self, user: User, request_id: str) -> Session | None:
        row = await self._session.scalar(
            select(models.Session).where(
                models.Session.user_pk == user.pk, models.Session.request_id == request_id
            )
        )
        return None if row is None else session_record(row, user.user_id)

    async def add(self, user: User, session: Session, *, request_id: str) -> None:
        self._session.add(
            models.Session(
                id=session.id,
                user_pk=user.pk,
                status=session.status,
                metadata_=session.metadata,
                created_at=session.created_at,
                auto_process_after_seconds=session.auto_process_after_seconds,
                failure_reason=session.failure_reason,
                request_id=request_id or None,
            )
        )

    async def update(self, session: Session) -> None:
        row = await self._read.get(session.id)
        row.status = session.status
        row.metadata_ = session.metadata
        row.failure_reason = session.failure_reason
        row.last_message_at = session.last_message_at

    async def delete(self, user: User, session: Session) -> None:
        # The user's row is locked (by the bump) before the job's, the order every
        # transaction takes (jobs.py), so that none of them deadlock.
        await bump_index_revision(self._session, user.pk)
        # Its processing job goes with it, queued or running (jobs.py).
        await jobs.drop(self._session, models.JobKind.PROCESS_SESSION, session.id)
        await self._session.execute(delete(models.Session).where(models.Session.id == session.id))

    async def page(
        self,
        user: User,
        metadata_filter: Mapping[str, JsonScalar],
        statuses: Collection[SessionStatus],
        window: Window,
    ) -> Page[Session]:
        condition = (models.Session.user_pk == user.pk) & metadata_matches(
            models.Session.metadata_, metadata_filter, postgres=self._postgres
        )
        if statuses:
            condition &= models.Session.status.in_(statuses)
        return await fetch_page(
            self._session,
            models.Session,
            condition,
            (models.Session.created_at.desc(), models.Session.id),
            window,
            lambda row: session_record(row, user.user_id),
        )
