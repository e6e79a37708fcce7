"""Messages: the turns of a session, and a live tail of a user's new ones."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

from recallr_server.domain.clock import now
from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.paging import Page, Window
from recallr_server.domain.ports import UnitOfWork
from recallr_server.domain.records import Message, MessageRole, Session, SessionStatus, User
from recallr_server.domain.sessions import invalid_state
from recallr_server.domain.tail import MessageSignal

MAX_RECENT_MESSAGES = 1_000
# Processing reads a whole session at once, so its size bounds the work and memory of one
# job; a conversation longer than this continues in a new session.
DEFAULT_MAX_MESSAGES_PER_SESSION = 10_000


def session_full(session: Session, limit: int) -> DomainError:
    return DomainError(
        Reason.SESSION_FULL,
        f"session {session.id} holds the most messages a session may ({limit}); "
        "continue in a new session",
        metadata={"session_id": session.id, "max_messages": str(limit)},
    )


class Messages:
    def __init__(
        self,
        units: UnitOfWork,
        signal: MessageSignal,
        poll_interval: float,
        max_per_session: int = DEFAULT_MAX_MESSAGES_PER_SESSION,
    ) -> None:
        self._units = units
        self._signal = signal
        self._poll_interval = poll_interval
        self._max_per_session = max_per_session

    async def add(
        self,
        project_id: str,
        user_id: str,
        session_id: str,
        role: MessageRole,
        content: str,
        request_id: str,
    ) -> Message:
        """Appends to a pending session; with a request id seen before, the message it made."""
        async with self._units.write() as tx:
            user = await tx.users.find(project_id, user_id)
            session = await tx.sessions.find(user, session_id, for_update=True)
            if request_id and (existing := await tx.messages.replayed(session, request_id)):
                return existing
            if session.status != SessionStatus.PENDING:
                raise invalid_state(session, "add a message to")
            if session.message_count >= self._max_per_session:
                raise session_full(session, self._max_per_session)
            stamp = now()
            message = Message(
                id=str(uuid.uuid4()),
                session_id=session.id,
                role=role,
                content=content,
                created_at=stamp,
            )
            await tx.messages.add(user, message, request_id=request_id)
            await tx.sessions.update(
                replace(session, last_message_at=stamp, message_count=session.message_count + 1)
            )
            await tx.users.update(replace(user, last_active_at=stamp))
            if session.auto_process_after_seconds:
                # Each message pushes automatic processing back: it waits for inactivity.
                await tx.jobs.enqueue_processing(
                    user,
                    session.id,
                    run_after=stamp + timedelta(seconds=session.auto_process_after_seconds),
                )
        self._signal.notify(user.pk)
        return message

    async def page(
        self, project_id: str, user_id: str, session_id: str, window: Window
    ) -> Page[Message]:
        async with self._units.read() as tx:
            user = await tx.users.find(project_id, user_id)
            session = await tx.sessions.find(user, session_id)
            return await tx.messages.page(session, window)

    async def recent(self, project_id: str, user_id: str, n: int) -> list[Message]:
        """The user's last `n` messages across sessions, oldest first."""
        async with self._units.read() as tx:
            user = await tx.users.find(project_id, user_id)
            return (await tx.messages.last(user, n)).messages

    async def tail(
        self, project_id: str, user_id: str, n: int, *, follow: bool
    ) -> AsyncIterator[list[Message]]:
        """The last `n` messages, then (when following) each batch of new ones as it commits."""
        async with self._units.read() as tx:
            user = await tx.users.find(project_id, user_id)
        # A tail is refused before it sends anything when the replica follows too many.
        wake = self._signal.subscribe(user.pk) if follow else None
        try:
            async with self._units.read() as tx:
                initial = await tx.messages.last(user, n)
                # Everything up to now counts as seen, even beyond the last n.
                high = initial.last_seq if initial.messages else await tx.messages.last_seq(user)
            yield initial.messages
            if wake is not None:
                async for batch in self._follow(user, high or 0, wake):
                    yield batch
        finally:
            if wake is not None:
                self._signal.unsubscribe(user.pk, wake)

    async def _follow(
        self, user: User, high: int, wake: asyncio.Event
    ) -> AsyncIterator[list[Message]]:
        """Messages above `high` as they commit: a user's messages commit in order."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._poll_interval)
            wake.clear()
            if self._signal.closing.is_set():
                raise DomainError(
                    Reason.SERVICE_UNAVAILABLE,
                    "the server is shutting down; resume the tail on another replica",
                )
            async with self._units.read() as tx:
                batch = await tx.messages.after(user, high)
            if batch.last_seq is not None:
                high = batch.last_seq
                yield batch.messages
