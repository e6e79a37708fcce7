"""The domain's unit of work over the database: one transaction, its repositories, and
database errors turned into domain errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from recallr_server.domain.errors import WriteConflict
from recallr_server.domain.records import User
from recallr_server.store import jobs, models
from recallr_server.store.categories import CategoryStore
from recallr_server.store.database import Database, Tx
from recallr_server.store.memories import MemoryStore
from recallr_server.store.merge_conflicts import MergeConflictStore
from recallr_server.store.messages import MessageStore
from recallr_server.store.sessions import SessionStore
from recallr_server.store.transfer import UserDataStore
from recallr_server.store.users import UserStore


class QueuedJobs:
    """The domain's job queue, on the durable queue in store.jobs."""

    def __init__(self, session: Tx) -> None:
        self._session = session

    async def enqueue_processing(
        self, user: User, session_id: str, *, run_after: datetime | None = None
    ) -> None:
        await jobs.enqueue(
            self._session,
            models.JobKind.PROCESS_SESSION,
            session_id,
            user.pk,
            run_after=run_after,
        )

    async def enqueue_resolution(self, user: User, conflict_id: str) -> None:
        await jobs.enqueue(
            self._session, models.JobKind.RESOLVE_MERGE_CONFLICT, conflict_id, user.pk
        )


class StoreTransaction:
    """The repositories of one open transaction."""

    def __init__(self, session: Tx, *, postgres: bool) -> None:
        self.users = UserStore(session, postgres=postgres)
        self.sessions = SessionStore(session, postgres=postgres)
        self.messages = MessageStore(session)
        self.memories = MemoryStore(session, postgres=postgres)
        self.merge_conflicts = MergeConflictStore(session)
        self.categories = CategoryStore(session)
        self.jobs = QueuedJobs(session)
        self.user_data = UserDataStore(session, postgres=postgres)


class StoreUnitOfWork:
    """Opens the domain's transactions on `db`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def read(self) -> AsyncIterator[StoreTransaction]:
        async with self._db.read() as session:
            yield self._transaction(session)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[StoreTransaction]:
        try:
            async with self._db.write() as session:
                yield self._transaction(session)
        except IntegrityError as error:
            # A unique key another transaction committed first: the use case decides
            # what that means (the id is taken, or a retried request raced itself).
            raise WriteConflict() from error

    def _transaction(self, session: Tx) -> StoreTransaction:
        return StoreTransaction(session, postgres=not self._db.is_sqlite)
