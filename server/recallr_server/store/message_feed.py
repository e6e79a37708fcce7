"""One feed per process of the messages other processes add, for the live tails.

PostgreSQL: one connection LISTENs on the channel every message revision bump notifies
(store.revisions), so a replica's tails hear another's adds as they commit. SQLite has
no such channel: one poll for the whole process, running only while tails are open,
asks which users have messages above the highest `seq` it saw, and only after the
database's files changed (a stat of each, every poll interval: an idle database costs no
query). The poll runs on PostgreSQL too, once a second, as a backstop for anything that
writes messages without announcing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

import psycopg
from sqlalchemy import func, select

from recallr_server.domain.tail import MessageSignal
from recallr_server.store import models
from recallr_server.store.database import Database
from recallr_server.store.revisions import MESSAGES_CHANNEL

log = logging.getLogger("recallr.tail")

# How long a lost LISTEN connection waits before connecting again.
RECONNECT_SECONDS = 1.0
# How often PostgreSQL's backstop poll runs, at the least.
BACKSTOP_SECONDS = 1.0

Signature = tuple[tuple[int, int] | None, ...]


def _file_state(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:  # no WAL file between connections
        return None
    return stat.st_size, stat.st_mtime_ns


class MessageFeed:
    def __init__(self, db: Database, signal: MessageSignal, poll_interval: float) -> None:
        self._db = db
        self._signal = signal
        self._interval = poll_interval if db.is_sqlite else max(poll_interval, BACKSTOP_SECONDS)
        self._tasks: list[asyncio.Task[None]] = []
        database = db.url.database if db.is_sqlite else None
        # A commit appends to the WAL file; a checkpoint rewrites the database file.
        self._files = [database, f"{database}-wal"] if database else []

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._poll(), name="message-feed-poll"))
        if not self._db.is_sqlite:
            self._tasks.append(asyncio.create_task(self._listen(), name="message-feed-listen"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _poll(self) -> None:
        while True:
            await self._signal.watched.wait()
            try:
                high = await self._highest_seq()
            except Exception as error:
                log.warning("cannot read the newest message: %s", type(error).__name__)
                await asyncio.sleep(self._interval)
                continue
            # What committed before the poll began, but after a tail's first read.
            self._signal.notify_all()
            files, changed = self._files_state(), True
            while self._signal.watched.is_set():
                await asyncio.sleep(self._interval)
                now = self._files_state()
                # A file may change a moment before its commit shows: after a change,
                # one more look once the files are still again.
                if now == files and not changed and self._files:
                    continue
                changed, files = now != files, now
                high = await self._announce_since(high)

    def _files_state(self) -> Signature:
        return tuple(_file_state(path) for path in self._files)

    async def _highest_seq(self) -> int:
        async with self._db.read() as session:
            return await session.scalar(select(func.max(models.Message.seq))) or 0

    async def _announce_since(self, high: int) -> int:
        """Wakes the tails of users with messages above `high`; the new highest seq."""
        try:
            async with self._db.read() as session:
                rows = await session.execute(
                    select(models.Message.user_pk, func.max(models.Message.seq))
                    .where(models.Message.seq > high)
                    .group_by(models.Message.user_pk)
                )
                found = rows.all()
        except Exception as error:
            log.warning("cannot look for new messages: %s", type(error).__name__)
            return high
        for user_pk, seq in found:
            self._signal.notify(user_pk)
            high = max(high, seq)
        return high

    async def _listen(self) -> None:
        conninfo = self._db.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    conninfo, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {MESSAGES_CHANNEL}")
                    # Anything announced while this process was not listening.
                    self._signal.notify_all()
                    async for note in connection.notifies():
                        self._signal.notify(note.payload)
            except Exception as error:
                log.warning("message notifications lost, reconnecting: %s", type(error).__name__)
                await asyncio.sleep(RECONNECT_SECONDS)
