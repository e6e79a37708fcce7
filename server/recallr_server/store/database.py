"""The database handle: async engine, units of work, backend differences."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 15_000

# One open transaction, as code outside store/ holds it: an opaque handle that it only
# passes back to store functions, so no other layer imports SQLAlchemy.
Tx = AsyncSession


def _normalise(url: str | URL, *, asynchronous: bool) -> URL:
    """Maps user-facing URLs (`sqlite:///x.db`, `postgresql://...`) to our drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite" if asynchronous else "sqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database backend {backend!r}; use sqlite or postgresql")


def sync_url(url: str | URL) -> URL:
    return _normalise(url, asynchronous=False)


def async_url(url: str | URL) -> URL:
    return _normalise(url, asynchronous=True)


def install_sqlite_pragmas(sync_engine: Any) -> None:
    """WAL, foreign keys, a busy timeout, and explicit BEGIN control.

    pysqlite's own transaction handling defers BEGIN and cannot take a write
    lock up front; a read-then-write transaction would then fail with
    SQLITE_BUSY instead of waiting. Write units of work begin IMMEDIATE.
    """

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """Owns the engine; hands out one transaction per unit of work."""

    def __init__(self, url: str | URL, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        # Parameters are what callers sent (message text, metadata, key digests): they stay
        # out of the text of database errors, which end up in logs.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if not self.is_sqlite:
            kwargs |= {"pool_size": pool_size, "max_overflow": pool_size, "pool_pre_ping": True}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            install_sqlite_pragmas(self.engine.sync_engine)
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = async_sessionmaker(
            self.engine.execution_options(sqlite_write=True), expire_on_commit=False
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A read-only unit of work; closing the session rolls it back."""
        async with self._reader() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A unit of work that commits on success and rolls back on error."""
        async with self._writer() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Fails unless the database answers a trivial query."""
        async with self.read() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
