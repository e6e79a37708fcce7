"""The domain's unit of work over the database: one transaction, its repositories, and
database errors turned into domain errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError

from recallr_server.domain.errors import WriteConflict
from recallr_server.store.categories import CategoryStore
from recallr_server.store.database import Database, Tx
from recallr_server.store.users import UserStore


class StoreTransaction:
    """The repositories of one open transaction."""

    def __init__(self, session: Tx, *, postgres: bool) -> None:
        self.users = UserStore(session, postgres=postgres)
        self.categories = CategoryStore(session)


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
