"""The messages repository: the turns of a user's sessions, ordered by `seq`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from recallr_server.domain.paging import Page, Window
from recallr_server.domain.records import Message, MessageBatch, Session, User
from recallr_server.store import models
from recallr_server.store.database import Tx
from recallr_server.store.paging import fetch_page
from recallr_server.store.revisions import bump_message_revision
from recallr_server.store.sessions import count_messages


def message_record(row: models.Message) -> Message:
    return Message(
        id=row.id,
        session_id=row.session_id,
        role=row.role,
        content=row.content,
        created_at=row.created_at,
    )


def _batch(rows: Sequence[models.Message]) -> MessageBatch:
    return MessageBatch([message_record(row) for row in rows], rows[-1].seq if rows else None)


class MessageStore:
    def __init__(self, session: Tx) -> None:
        self._session = session

    async def replayed(self, session: Session, request_id: str) -> Message | None:
        row = await self._session.scalar(
            select(models.Message).where(
                models.Message.session_id == session.id, models.Message.request_id == request_id
            )
        )
        return None if row is None else message_record(row)

    async def add(self, user: User, message: Message, *, request_id: str) -> None:
        # Before the insert, not after: a cached recall index loads only the messages
        # whose seq is above the largest it holds, so a user's messages must commit in
        # seq order. PostgreSQL takes seq from a sequence at insert time, and two
        # AddMessages of one user (in different sessions) could otherwise commit in
        # the opposite order, hiding the earlier seq from every index that saw the
        # later one. Holding the user row's lock from before the insert until commit
        # serialises them. (SQLite serialises all writes anyway: BEGIN IMMEDIATE.)
        await bump_message_revision(self._session, user.pk)
        self._session.add(
            models.Message(
                id=message.id,
                session_id=message.session_id,
                user_pk=user.pk,
                role=message.role,
                content=message.content,
                created_at=message.created_at,
                request_id=request_id or None,
            )
        )
        await count_messages(self._session, [message.session_id])

    async def page(self, session: Session, window: Window) -> Page[Message]:
        return await fetch_page(
            self._session,
            models.Message,
            models.Message.session_id == session.id,
            (models.Message.seq,),
            window,
            message_record,
        )

    async def last(self, user: User, n: int) -> MessageBatch:
        if n == 0:
            return MessageBatch([], None)
        rows = await self._session.scalars(
            select(models.Message)
            .where(models.Message.user_pk == user.pk)
            .order_by(models.Message.seq.desc())
            .limit(n)
        )
        return _batch(list(reversed(rows.all())))

    async def after(self, user: User, seq: int) -> MessageBatch:
        # A user's messages commit in seq order (see `add`), so none can appear below it.
        rows = await self._session.scalars(
            select(models.Message)
            .where(models.Message.user_pk == user.pk, models.Message.seq > seq)
            .order_by(models.Message.seq)
        )
        return _batch(rows.all())

    async def last_seq(self, user: User) -> int | None:
        return await self._session.scalar(
            select(func.max(models.Message.seq)).where(models.Message.user_pk == user.pk)
        )
