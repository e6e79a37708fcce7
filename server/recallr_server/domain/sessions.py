"""Sessions: a user's conversations, and asking for them to be turned into memories."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from recallr_server.domain.clock import now
from recallr_server.domain.errors import DomainError, Reason, WriteConflict
from recallr_server.domain.paging import Page, Window
from recallr_server.domain.ports import UnitOfWork, WorkQueued
from recallr_server.domain.records import Session, SessionStatus
from recallr_server.domain.validation import JsonScalar

MAX_AUTO_PROCESS_SECONDS = 30 * 24 * 3600
# Processing may (re)start from these; a session being processed or processed may not.
PROCESSABLE = (SessionStatus.PENDING, SessionStatus.FAILED)


# Processing reads a whole session at once, so its size bounds the work and memory of one
# job; a conversation longer than this continues in a new session.
DEFAULT_MAX_MESSAGES_PER_SESSION = 10_000


def session_full(session_id: str, limit: int) -> DomainError:
    return DomainError(
        Reason.SESSION_FULL,
        f"session {session_id} would hold more messages than a session may ({limit}); "
        "continue in a new session",
        metadata={"session_id": session_id, "max_messages": str(limit)},
    )


def invalid_state(session: Session, action: str) -> DomainError:
    return DomainError(
        Reason.INVALID_SESSION_STATE,
        f"cannot {action} session {session.id}: it is {session.status.value}",
        metadata={"session_id": session.id, "status": session.status.value.upper()},
    )


@dataclass(frozen=True)
class NewSession:
    metadata: dict[str, Any]
    auto_process_after_seconds: int
    # When the conversation began, if not now (importing an older one).
    created_at: datetime | None = None


class Sessions:
    def __init__(self, units: UnitOfWork, work_queued: WorkQueued) -> None:
        self._units = units
        self._work_queued = work_queued

    async def create(
        self, project_id: str, user_id: str, new: NewSession, request_id: str
    ) -> Session:
        """A new pending session; with a request id seen before, the session it made."""
        try:
            async with self._units.write() as tx:
                user = await tx.users.find(project_id, user_id)
                if request_id and (existing := await tx.sessions.replayed(user, request_id)):
                    return existing
                session = Session(
                    id=str(uuid.uuid4()),
                    user_id=user.user_id,
                    status=SessionStatus.PENDING,
                    metadata=new.metadata,
                    created_at=new.created_at or now(),
                    auto_process_after_seconds=new.auto_process_after_seconds,
                    failure_reason="",
                    last_message_at=None,
                    extractor="",
                )
                await tx.sessions.add(user, session, request_id=request_id)
                await tx.users.update(replace(user, last_active_at=now()))
        except WriteConflict:
            # The same request id raced itself; the winner's session is the answer.
            return await self.create(project_id, user_id, new, request_id)
        return session

    async def get(self, project_id: str, user_id: str, session_id: str) -> Session:
        async with self._units.read() as tx:
            user = await tx.users.find(project_id, user_id)
            return await tx.sessions.find(user, session_id)

    async def page(
        self,
        project_id: str,
        user_id: str,
        metadata_filter: dict[str, JsonScalar],
        statuses: Collection[SessionStatus],
        window: Window,
    ) -> Page[Session]:
        async with self._units.read() as tx:
            user = await tx.users.find(project_id, user_id)
            return await tx.sessions.page(user, metadata_filter, statuses, window)

    async def update_metadata(
        self, project_id: str, user_id: str, session_id: str, metadata: dict[str, Any]
    ) -> Session:
        async with self._units.write() as tx:
            user = await tx.users.find(project_id, user_id)
            session = await tx.sessions.find(user, session_id, for_update=True)
            session = replace(session, metadata=metadata)
            await tx.sessions.update(session)
        return session

    async def delete(self, project_id: str, user_id: str, session_id: str) -> None:
        async with self._units.write() as tx:
            user = await tx.users.find(project_id, user_id)
            session = await tx.sessions.find(user, session_id)
            await tx.sessions.delete(user, session)

    async def process(self, project_id: str, user_id: str, session_id: str) -> Session:
        """Queues processing now; a failed session may be tried again."""
        async with self._units.write() as tx:
            user = await tx.users.find(project_id, user_id)
            session = await tx.sessions.find(user, session_id, for_update=True)
            if session.status not in PROCESSABLE:
                raise invalid_state(session, "process")
            session = replace(session, status=SessionStatus.PROCESSING, failure_reason="")
            await tx.sessions.update(session)
            await tx.jobs.enqueue_processing(user, session.id)
        self._work_queued()
        return session
