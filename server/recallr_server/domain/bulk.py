"""Conversations in bulk: a whole session in one call, and a batch of messages.

Each call is one transaction: everything it adds is stored, or nothing. The messages get
their own timestamps (historical conversations keep theirs) and commit in the order
given, as that many AddMessage calls would; live tails see them like any other.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from recallr_server.domain.clock import now
from recallr_server.domain.errors import WriteConflict
from recallr_server.domain.ports import Transaction, UnitOfWork, WorkQueued
from recallr_server.domain.records import Message, MessageRole, Session, SessionStatus, User
from recallr_server.domain.sessions import NewSession, invalid_state
from recallr_server.domain.tail import MessageSignal

MAX_BATCH_MESSAGES = 10_000


@dataclass(frozen=True)
class NewMessage:
    role: MessageRole
    content: str
    # When it was written, if not at the call (a historical conversation).
    created_at: datetime | None = None


@dataclass(frozen=True)
class ImportedSession:
    session: Session
    # The messages' ids, in the order given.
    message_ids: list[str]


def batch_request_ids(request_id: str, count: int) -> list[str | None]:
    """The request id each message of a batch is stored under.

    Messages are unique per session by request id; a batch's messages each take one
    derived from the batch's, short enough for any key a caller may choose, so that a
    retried batch finds the messages its first attempt added.
    """
    if not request_id:
        return [None] * count
    digest = hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return [f"batch-{digest}-{index}" for index in range(count)]


def _messages(session_id: str, new: Sequence[NewMessage], default_time: datetime) -> list[Message]:
    return [
        Message(
            id=str(uuid.uuid4()),
            session_id=session_id,
            role=message.role,
            content=message.content,
            created_at=message.created_at or default_time,
        )
        for message in new
    ]


async def _queue_processing(
    tx: Transaction, user: User, session: Session, stamp: datetime, *, at_once: bool
) -> bool:
    """Queues processing now, or after the session's inactivity; whether it is due now."""
    if at_once:
        await tx.jobs.enqueue_processing(user, session.id)
        return True
    if session.auto_process_after_seconds:
        # As after AddMessage: automatic processing waits for inactivity from the write.
        delay = timedelta(seconds=session.auto_process_after_seconds)
        await tx.jobs.enqueue_processing(user, session.id, run_after=stamp + delay)
    return False


class BulkWrites:
    def __init__(self, units: UnitOfWork, work_queued: WorkQueued, signal: MessageSignal) -> None:
        self._units = units
        self._work_queued = work_queued
        self._signal = signal

    async def import_session(
        self,
        project_id: str,
        user_id: str,
        new: NewSession,
        messages: Sequence[NewMessage],
        *,
        process: bool,
        request_id: str,
    ) -> ImportedSession:
        """A session with its messages (queued for processing with `process`), or with a
        request id seen before, the session it made."""
        try:
            imported, user, due = await self._import_session(
                project_id, user_id, new, messages, process=process, request_id=request_id
            )
        except WriteConflict:
            # The same request id raced itself; the winner's session is the answer.
            imported, user, due = await self._import_session(
                project_id, user_id, new, messages, process=process, request_id=request_id
            )
        if due:
            self._work_queued()
        self._signal.notify(user.pk)
        return imported

    async def _import_session(
        self,
        project_id: str,
        user_id: str,
        new: NewSession,
        messages: Sequence[NewMessage],
        *,
        process: bool,
        request_id: str,
    ) -> tuple[ImportedSession, User, bool]:
        async with self._units.write() as tx:
            user = await tx.users.find(project_id, user_id)
            if request_id and (existing := await tx.sessions.replayed(user, request_id)):
                ids = await tx.user_data.first_message_ids(existing, len(messages))
                return ImportedSession(existing, ids), user, False
            stamp = now()
            session = Session(
                id=str(uuid.uuid4()),
                user_id=user.user_id,
                status=SessionStatus.PROCESSING if process else SessionStatus.PENDING,
                metadata=new.metadata,
                created_at=new.created_at or stamp,
                auto_process_after_seconds=new.auto_process_after_seconds,
                failure_reason="",
                last_message_at=stamp if messages else None,
            )
            await tx.sessions.add(user, session, request_id=request_id)
            added = _messages(session.id, messages, session.created_at)
            await tx.user_data.add_messages(user, added, [None] * len(added))
            await tx.users.update(replace(user, last_active_at=stamp))
            due = await _queue_processing(tx, user, session, stamp, at_once=process)
        return ImportedSession(session, [m.id for m in added]), user, due

    async def add_messages(
        self,
        project_id: str,
        user_id: str,
        session_id: str,
        messages: Sequence[NewMessage],
        request_id: str,
    ) -> list[Message]:
        """Appends to a pending session; with a request id seen before, what it added."""
        async with self._units.write() as tx:
            user = await tx.users.find(project_id, user_id)
            session = await tx.sessions.find(user, session_id, for_update=True)
            keys = batch_request_ids(request_id, len(messages))
            if request_id and (
                existing := await tx.user_data.messages_by_request_ids(
                    session, [k for k in keys if k]
                )
            ):
                return existing
            if session.status != SessionStatus.PENDING:
                raise invalid_state(session, "add messages to")
            stamp = now()
            added = _messages(session.id, messages, stamp)
            await tx.user_data.add_messages(user, added, keys)
            session = replace(session, last_message_at=stamp)
            await tx.sessions.update(session)
            await tx.users.update(replace(user, last_active_at=stamp))
            await _queue_processing(tx, user, session, stamp, at_once=False)
        self._signal.notify(user.pk)
        return added
