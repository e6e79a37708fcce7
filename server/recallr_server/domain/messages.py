"""Messages: the turns of a session, and a live tail of a user's new ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from recallr_server.domain.appends import AddMessage, MessageAppender
from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.paging import Page, Window
from recallr_server.domain.ports import UnitOfWork
from recallr_server.domain.records import Message, MessageRole, User
from recallr_server.domain.tail import MessageSignal

MAX_RECENT_MESSAGES = 1_000


class Messages:
    def __init__(self, units: UnitOfWork, signal: MessageSignal, appender: MessageAppender) -> None:
        self._units = units
        self._signal = signal
        self._appender = appender

    async def add(
        self,
        project_id: str,
        user_id: str,
        session_id: str,
        role: MessageRole,
        content: str,
        request_id: str,
    ) -> Message:
        """Appends to a pending session; with a request id seen before, the message it made.

        Concurrent adds share a transaction (domain.appends, where the rules a message
        must pass are); each returns once its own has committed.
        """
        return await self._appender.add(
            AddMessage(project_id, user_id, session_id, role, content, request_id)
        )

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
        if not follow:
            async with self._units.read() as tx:
                user = await tx.users.find(project_id, user_id)
                initial = await tx.messages.last(user, n)
            yield initial.messages
            return
        async with self._units.read() as tx:
            user = await tx.users.find(project_id, user_id)
        # Listening before the first read: a message that commits after that read's
        # snapshot wakes the tail, so none falls between the two.
        wake = self._signal.subscribe(project_id, user.pk)
        try:
            async with self._units.read() as tx:
                initial = await tx.messages.last(user, n)
                # Everything up to now counts as seen, even beyond the last n.
                high = initial.last_seq if initial.messages else await tx.messages.last_seq(user)
            yield initial.messages
            async for batch in self._follow(user, high or 0, wake):
                yield batch
        finally:
            self._signal.unsubscribe(project_id, user.pk, wake)

    async def _follow(
        self, user: User, high: int, wake: asyncio.Event
    ) -> AsyncIterator[list[Message]]:
        """Messages above `high` as they commit: a user's messages commit in order."""
        while True:
            await wake.wait()
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
