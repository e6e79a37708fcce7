"""Group commit for AddMessage: concurrent adds share one transaction.

One writer per database (in each process) drains the queue of pending adds into one
transaction, and answers each add only once that transaction has committed: an
acknowledged message is exactly as durable as when every add committed alone. Each
statement of the transaction serves the whole batch (ports.MessageAppends), so a batch of
fifty costs little more than one add. While a batch commits, the next one gathers; under
light load a batch is a single add, answered as soon as it commits.

A batch that fails as a whole (say, a unique key another replica took first) is written
again one add at a time, so that a failure is only ever its own request's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from recallr_server.domain import errors
from recallr_server.domain.clock import now
from recallr_server.domain.errors import DomainError
from recallr_server.domain.ports import MessageAppends, MessageLog
from recallr_server.domain.records import (
    Message,
    MessageRole,
    NewMessage,
    OwnedSession,
    Session,
    SessionStatus,
    User,
)
from recallr_server.domain.sessions import invalid_state
from recallr_server.domain.tail import MessageSignal
from recallr_server.domain.validation import MAX_USER_ID_LENGTH, is_uuid

# Adds written in one transaction at most; more wait for the next.
MAX_BATCH = 256


@dataclass(frozen=True)
class AddMessage:
    """One AddMessage call, as the use case received it."""

    project_id: str
    user_id: str
    session_id: str
    role: MessageRole
    content: str
    request_id: str


Outcome = Message | DomainError


@dataclass
class _Loaded:
    """What the database holds for a batch, read with one statement per kind of row."""

    sessions: dict[str, OwnedSession]
    # Only for adds whose session was not found: whether their users exist.
    users: set[tuple[str, str]]
    replayed: dict[tuple[str, str], Message]
    new: list[NewMessage] = field(default_factory=list)
    sessions_written: dict[str, tuple[User, Session]] = field(default_factory=dict)


def admit(session: Session) -> None:
    """The rules a new message must pass to join its session; a request id seen before has
    already been answered with the message it made, so these never refuse a retry."""
    if session.status != SessionStatus.PENDING:
        raise invalid_state(session, "add a message to")


def _owned(add: AddMessage, sessions: dict[str, OwnedSession]) -> OwnedSession | None:
    """The add's session, if it is one of the user's in the calling project."""
    found = sessions.get(add.session_id.lower()) if is_uuid(add.session_id) else None
    if found is None or (found.project_id, found.user.user_id) != (add.project_id, add.user_id):
        return None
    return found


def _not_found(add: AddMessage, loaded: _Loaded) -> DomainError:
    if (add.project_id, add.user_id) not in loaded.users:
        return errors.user_not_found(add.user_id[:MAX_USER_ID_LENGTH])
    if not is_uuid(add.session_id):
        return errors.session_not_found(add.session_id[:64])
    return errors.session_not_found(add.session_id)


def _decide(add: AddMessage, loaded: _Loaded, stamp: datetime) -> Message:
    """The message the add answers with, queuing it in `loaded.new` when it is new."""
    owned = _owned(add, loaded.sessions)
    if owned is None:
        raise _not_found(add, loaded)
    user, session = owned.user, owned.session
    if add.request_id and (earlier := loaded.replayed.get((session.id, add.request_id))):
        return earlier
    admit(session)
    message = Message(
        id=str(uuid.uuid4()),
        session_id=session.id,
        role=add.role,
        content=add.content,
        created_at=stamp,
    )
    loaded.new.append(NewMessage(user.pk, message, add.request_id))
    loaded.sessions_written[session.id] = (user, session)
    if add.request_id:
        # A retry within the same batch is answered like one after it.
        loaded.replayed[(session.id, add.request_id)] = message
    return message


async def _load(tx: MessageAppends, adds: Sequence[AddMessage]) -> _Loaded:
    sessions = await tx.sessions({a.session_id.lower() for a in adds if is_uuid(a.session_id)})
    refused = {(a.project_id, a.user_id) for a in adds if _owned(a, sessions) is None}
    retried = {(a.session_id.lower(), a.request_id) for a in adds if a.request_id}
    return _Loaded(
        sessions,
        await tx.users(refused) if refused else set(),
        await tx.replayed(retried) if retried else {},
    )


async def _write(tx: MessageAppends, loaded: _Loaded, stamp: datetime) -> None:
    await tx.touch_sessions(loaded.sessions_written, stamp)
    for user, session in loaded.sessions_written.values():
        if session.auto_process_after_seconds:
            # Each message pushes automatic processing back: it waits for inactivity.
            run_after = stamp + timedelta(seconds=session.auto_process_after_seconds)
            await tx.jobs.enqueue_processing(user, session.id, run_after=run_after)
    # Last: it locks the users' rows, held until commit, so as briefly as can be.
    await tx.append(loaded.new, stamp)


def _settle(future: asyncio.Future[Message], outcome: Outcome | BaseException) -> None:
    if future.done():  # the caller went away (cancelled, deadline passed)
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class MessageAppender:
    """The one writer of AddMessage's batches for a database."""

    def __init__(self, log: MessageLog, signal: MessageSignal, max_batch: int = MAX_BATCH) -> None:
        self._log = log
        self._signal = signal
        self._max_batch = max_batch
        self._queue: list[tuple[AddMessage, asyncio.Future[Message]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, add: AddMessage) -> Message:
        """The message, once the transaction that stored it has committed."""
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._queue.append((add, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="message-appender")
        return await future

    async def close(self) -> None:
        """Waits for the batch being written, if any."""
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def _drain(self) -> None:
        while self._queue:
            taken, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            # An add whose caller has gone before its batch began is not written at all.
            batch = [(add, future) for add, future in taken if not future.done()]
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: Sequence[tuple[AddMessage, asyncio.Future[Message]]]) -> None:
        try:
            outcomes, users = await self._transaction([add for add, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error)
                return
            for item in batch:
                await self._commit([item])
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)
        for user_pk in users:
            self._signal.notify(user_pk)

    async def _transaction(self, adds: Sequence[AddMessage]) -> tuple[list[Outcome], set[str]]:
        """Each add's outcome, and the users who have new messages, once committed."""
        stamp = now()
        async with self._log.batch() as tx:
            loaded = await _load(tx, adds)
            outcomes = list(_outcomes(adds, loaded, stamp))
            if loaded.new:
                await _write(tx, loaded, stamp)
        return outcomes, {new.user_pk for new in loaded.new}


def _outcomes(adds: Sequence[AddMessage], loaded: _Loaded, stamp: datetime) -> Iterable[Outcome]:
    for add in adds:
        try:
            yield _decide(add, loaded, stamp)
        except DomainError as error:
            yield error
