"""AddMessage's batches (domain.appends): a few statements for a whole batch of adds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from recallr_server.domain.errors import WriteConflict
from recallr_server.domain.records import Message, NewMessage, OwnedSession
from recallr_server.store import models
from recallr_server.store.database import Database, Tx
from recallr_server.store.lookups import plausible_user_id
from recallr_server.store.messages import message_record
from recallr_server.store.revisions import bump_message_revisions
from recallr_server.store.sessions import count_messages, session_record
from recallr_server.store.unit_of_work import QueuedJobs
from recallr_server.store.users import user_record

_messages = cast(Table, models.Message.__table__)
_sessions = cast(Table, models.Session.__table__)


class AppendTransaction:
    """One write transaction of a batch of adds."""

    def __init__(self, session: Tx) -> None:
        self._session = session
        self.jobs = QueuedJobs(session)

    async def sessions(self, session_ids: Collection[str]) -> dict[str, OwnedSession]:
        if not session_ids:
            return {}
        # Locked in one order (by id): batches of two replicas wait rather than deadlock.
        # SQLite ignores FOR UPDATE; its write transactions exclude each other anyway.
        rows = await self._session.execute(
            select(models.Session, models.User)
            .join(models.User, models.User.pk == models.Session.user_pk)
            .where(models.Session.id.in_(session_ids))
            .order_by(models.Session.id)
            .with_for_update(of=models.Session)
        )
        return {
            session.id: OwnedSession(
                user.project_id, user_record(user), session_record(session, user.user_id)
            )
            for session, user in rows
        }

    async def users(self, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        keys = [key for key in keys if plausible_user_id(key[1])]
        if not keys:
            return set()
        rows = await self._session.execute(
            select(models.User.project_id, models.User.user_id).where(
                tuple_(models.User.project_id, models.User.user_id).in_(list(keys))
            )
        )
        return {(row.project_id, row.user_id) for row in rows}

    async def replayed(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], Message]:
        if not keys:
            return {}
        rows = await self._session.scalars(
            select(models.Message).where(
                tuple_(models.Message.session_id, models.Message.request_id).in_(list(keys))
            )
        )
        return {(row.session_id, row.request_id or ""): message_record(row) for row in rows}

    async def touch_sessions(self, session_ids: Collection[str], stamp: datetime) -> None:
        await self._session.execute(
            update(_sessions).where(_sessions.c.id.in_(session_ids)).values(last_message_at=stamp)
        )

    async def append(self, messages: Sequence[NewMessage], stamp: datetime) -> None:
        # The users' rows are locked before the insert takes seq values and until commit,
        # as for a single add (store.messages): a user's messages commit in seq order.
        await bump_message_revisions(self._session, {m.user_pk for m in messages}, stamp)
        await self._session.execute(
            insert(_messages),
            [
                {
                    "id": new.message.id,
                    "session_id": new.message.session_id,
                    "user_pk": new.user_pk,
                    "role": new.message.role,
                    "content": new.message.content,
                    "created_at": new.message.created_at,
                    "request_id": new.request_id or None,
                }
                for new in messages
            ],
        )
        await count_messages(self._session, (new.message.session_id for new in messages))


class StoreMessageLog:
    """Opens the transactions AddMessage's batches are written in."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[AppendTransaction]:
        try:
            async with self._db.write() as session:
                yield AppendTransaction(session)
        except IntegrityError as error:
            raise WriteConflict() from error
