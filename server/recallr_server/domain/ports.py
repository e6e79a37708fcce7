"""What the use cases need from the store, as protocols.

The store implements the repositories, the job queue and the unit of work over its
database, and the composition root (app.py) wires them in. Every repository method runs
in the transaction of the unit of work that made it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from recallr_server.domain.paging import Page, Window
from recallr_server.domain.records import (
    Category,
    ConflictOrder,
    MemoryDetails,
    MemoryQuery,
    MemoryVersion,
    MergeConflict,
    MergeConflictStatus,
    Message,
    MessageBatch,
    NewMessage,
    OwnedSession,
    Session,
    SessionStatus,
    User,
)
from recallr_server.domain.user_data import DataCounts, Record, UserData
from recallr_server.domain.validation import JsonScalar

# Wakes the job worker after a transaction that queued work for now has committed.
WorkQueued = Callable[[], None]


class UserRepository(Protocol):
    async def find(self, project_id: str, user_id: str, *, for_update: bool = False) -> User:
        """The user, or USER_NOT_FOUND."""
        ...

    async def exists(self, project_id: str, user_id: str) -> bool: ...

    async def add(self, project_id: str, user: User) -> None: ...

    async def update(self, user: User) -> None:
        """Stores the user's id, metadata, setting and activity time as given."""
        ...

    async def delete(self, user: User) -> None:
        """Deletes the user with everything they own."""
        ...

    async def page(
        self, project_id: str, metadata_filter: Mapping[str, JsonScalar], window: Window
    ) -> Page[User]:
        """Newest first."""
        ...


class SessionRepository(Protocol):
    async def find(self, user: User, session_id: str, *, for_update: bool = False) -> Session:
        """One of the user's sessions, or SESSION_NOT_FOUND."""
        ...

    async def replayed(self, user: User, request_id: str) -> Session | None:
        """The session an earlier create with this request id made, if any."""
        ...

    async def add(self, user: User, session: Session, *, request_id: str) -> None: ...

    async def update(self, session: Session) -> None:
        """Stores the session's status, metadata, failure reason and last message time."""
        ...

    async def delete(self, user: User, session: Session) -> None: ...

    async def page(
        self,
        user: User,
        metadata_filter: Mapping[str, JsonScalar],
        statuses: Collection[SessionStatus],
        window: Window,
    ) -> Page[Session]:
        """Newest first; every status when `statuses` is empty."""
        ...


class MessageRepository(Protocol):
    async def replayed(self, session: Session, request_id: str) -> Message | None:
        """The message an earlier add with this request id made, if any."""
        ...

    async def add(self, user: User, message: Message, *, request_id: str) -> None: ...

    async def page(self, session: Session, window: Window) -> Page[Message]:
        """In the order they were added."""
        ...

    async def last(self, user: User, n: int) -> MessageBatch:
        """The user's last `n` messages across sessions, oldest first."""
        ...

    async def after(self, user: User, seq: int) -> MessageBatch:
        """The user's messages that committed after the batch that ended at `seq`."""
        ...

    async def last_seq(self, user: User) -> int | None:
        """Where the user's messages end so far; None before the first."""
        ...


class MemoryRepository(Protocol):
    async def find(self, user: User, memory_id: str) -> MemoryVersion:
        """One of the user's memory versions, or MEMORY_NOT_FOUND."""
        ...

    async def versions(self, user: User, memory_ids: Collection[str]) -> list[MemoryVersion]:
        """Those of the user's memory versions that exist among `memory_ids`."""
        ...

    async def page(self, user: User, query: MemoryQuery, window: Window) -> Page[MemoryVersion]:
        """Current versions only, newest first."""
        ...

    async def details(
        self, user: User, versions: Sequence[MemoryVersion], *, include_connected: bool
    ) -> MemoryDetails: ...

    async def delete(self, user: User, memory: MemoryVersion, *, with_previous: bool) -> None:
        """Deletes the version (and the older ones); the newest remaining becomes current."""
        ...


class MergeConflictRepository(Protocol):
    async def find(
        self, user: User, conflict_id: str, *, for_update: bool = False
    ) -> MergeConflict:
        """One of the user's merge conflicts, or MERGE_CONFLICT_NOT_FOUND."""
        ...

    async def update(self, conflict: MergeConflict) -> None:
        """Stores the conflict's status and answers."""
        ...

    async def page(
        self,
        user: User,
        status: MergeConflictStatus | None,
        order: ConflictOrder,
        window: Window,
    ) -> Page[MergeConflict]: ...


class CategoryRepository(Protocol):
    async def names(self, project_id: str) -> set[str]: ...

    async def all(self, project_id: str) -> list[Category]:
        """By name."""
        ...

    async def exists(self, project_id: str, name: str) -> bool: ...

    async def add(self, project_id: str, category: Category) -> None: ...

    async def delete(self, project_id: str, name: str) -> bool:
        """Whether there was such a category."""
        ...


class UserDataRepository(Protocol):
    """A user's data in bulk: all of it read out, or written in at once."""

    async def hold_snapshot(self) -> None:
        """Makes every later read of this transaction see the same committed state; call
        it first."""
        ...

    async def counts(self, user: User) -> DataCounts: ...

    def records(self, user: User, batch_size: int) -> AsyncIterator[list[Record]]:
        """Everything of the user but the user, in batches of one kind of record:
        sessions, messages, memory versions, links, merge conflicts, session summaries."""
        ...

    async def user_by_pk(self, project_id: str, pk: str) -> User | None: ...

    async def id_in_use(self, data: UserData) -> str | None:
        """One of the data's ids that a stored record of any user already has, if any."""
        ...

    async def add(self, user: User, data: UserData) -> None:
        """Stores the data of a user just added, ids and all."""
        ...

    async def add_messages(
        self, user: User, messages: Sequence[Message], request_ids: Sequence[str | None]
    ) -> None:
        """Appends messages (of sessions of the user) in the order given."""
        ...

    async def messages_by_request_ids(
        self, session: Session, request_ids: Sequence[str]
    ) -> list[Message]:
        """The session's messages added with these request ids, in the order added."""
        ...

    async def first_message_ids(self, session: Session, n: int) -> list[str]: ...


class JobQueue(Protocol):
    """Durable background work, queued in the transaction that asks for it."""

    async def enqueue_processing(
        self, user: User, session_id: str, *, run_after: datetime | None = None
    ) -> None:
        """Queues (or re-queues) turning the session's messages into memories."""
        ...

    async def enqueue_resolution(self, user: User, conflict_id: str) -> None:
        """Queues applying the answers of the merge conflict."""
        ...


class Transaction(Protocol):
    """One unit of work: everything done through it commits, or nothing does."""

    @property
    def users(self) -> UserRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def messages(self) -> MessageRepository: ...
    @property
    def memories(self) -> MemoryRepository: ...
    @property
    def merge_conflicts(self) -> MergeConflictRepository: ...
    @property
    def categories(self) -> CategoryRepository: ...
    @property
    def jobs(self) -> JobQueue: ...
    @property
    def user_data(self) -> UserDataRepository: ...


class UnitOfWork(Protocol):
    """Opens transactions. A write that collides with a concurrent one on a unique key
    raises `errors.WriteConflict`, at the statement or at commit."""

    def read(self) -> AbstractAsyncContextManager[Transaction]: ...

    def write(self) -> AbstractAsyncContextManager[Transaction]: ...


class ApiKeys(Protocol):
    async def project_for(self, api_key: str) -> str | None:
        """The project an active key opens; None for an unknown or revoked key."""
        ...


class MessageAppends(Protocol):
    """The reads and writes of one group-commit transaction of AddMessage
    (domain.appends): every statement serves the whole batch of adds."""

    async def sessions(self, session_ids: Collection[str]) -> dict[str, OwnedSession]:
        """The sessions with these (lower-case) ids, with their owners, each locked against
        concurrent changes until the transaction ends."""
        ...

    async def users(self, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (project id, user id) users exist."""
        ...

    async def replayed(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], Message]:
        """The messages earlier adds made, by (session id, request id)."""
        ...

    async def touch_sessions(self, session_ids: Collection[str], stamp: datetime) -> None:
        """Stores `stamp` as the sessions' last message time."""
        ...

    async def append(self, messages: Sequence[NewMessage], stamp: datetime) -> None:
        """Marks the messages' users active at `stamp` and bumps their message revisions,
        then inserts the messages in the order given: a user's messages take their `seq`
        in that order, and commit in it."""
        ...

    @property
    def jobs(self) -> JobQueue: ...


class MessageLog(Protocol):
    """Where AddMessage's batches are written."""

    def batch(self) -> AbstractAsyncContextManager[MessageAppends]:
        """One write transaction; a collision on a unique key raises `errors.WriteConflict`."""
        ...
