"""A user's data in bulk: read out for an export, written in for an import or a batch.

Reads walk each table of the user in pages (keyset, in a stable order); writes insert
many rows per statement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, text
from sqlalchemy.orm import InstrumentedAttribute

from recallr_server.domain.records import Message, Session, User
from recallr_server.domain.user_data import (
    DataCounts,
    MemoryLink,
    Record,
    SessionSummary,
    StoredConflict,
    StoredMemory,
    UserData,
)
from recallr_server.store import models
from recallr_server.store.database import Tx
from recallr_server.store.memories import version_record
from recallr_server.store.merge_conflicts import conflict_record
from recallr_server.store.messages import message_record
from recallr_server.store.revisions import bump_message_revision
from recallr_server.store.sessions import session_record
from recallr_server.store.users import user_record

Row = TypeVar("Row", bound=models.Base)
# Ids per IN list, well under SQLite's limit on bound parameters.
_CHUNK = 500


def _after(keys: Sequence[InstrumentedAttribute[Any]], last: Sequence[Any]) -> ColumnElement[bool]:
    """Rows past `last` in the order of `keys` (one or two columns)."""
    if len(keys) == 1:
        after: ColumnElement[bool] = keys[0] > last[0]
        return after
    first, second = keys
    return or_(first > last[0], and_(first == last[0], second > last[1]))


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class UserDataStore:
    def __init__(self, session: Tx, *, postgres: bool) -> None:
        self._session = session
        self._postgres = postgres

    async def hold_snapshot(self) -> None:
        # SQLite's read transaction already reads one snapshot from its first statement
        # on; PostgreSQL's default (READ COMMITTED) takes a new one per statement.
        if self._postgres:
            await self._session.execute(
                text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            )

    async def _count(self, model: type[models.Base], owner: Any, pk: str) -> int:
        return (
            await self._session.scalar(select(func.count()).select_from(model).where(owner == pk))
            or 0
        )

    async def counts(self, user: User) -> DataCounts:
        return DataCounts(
            sessions=await self._count(models.Session, models.Session.user_pk, user.pk),
            messages=await self._count(models.Message, models.Message.user_pk, user.pk),
            memories=await self._count(models.Memory, models.Memory.user_pk, user.pk),
            memory_links=await self._count(models.MemoryLink, models.MemoryLink.user_pk, user.pk),
            merge_conflicts=await self._count(
                models.MergeConflict, models.MergeConflict.user_pk, user.pk
            ),
            session_summaries=await self._count(
                models.SessionSummary, models.SessionSummary.user_pk, user.pk
            ),
        )

    async def _pages(
        self,
        model: type[Row],
        owner: InstrumentedAttribute[str],
        pk: str,
        keys: Sequence[InstrumentedAttribute[Any]],
        batch_size: int,
    ) -> AsyncIterator[list[Row]]:
        """The user's rows of `model` in the order of `keys`, a page at a time."""
        last: list[Any] | None = None
        while True:
            query = select(model).where(owner == pk)
            if last is not None:
                query = query.where(_after(keys, last))
            rows = list(await self._session.scalars(query.order_by(*keys).limit(batch_size)))
            if rows:
                yield rows
            if len(rows) < batch_size:
                return
            last = [getattr(rows[-1], key.key) for key in keys]

    async def records(self, user: User, batch_size: int) -> AsyncIterator[list[Record]]:
        pk, size, user_id = user.pk, batch_size, user.user_id
        by_time = (models.Session.created_at, models.Session.id)
        async for sessions in self._pages(
            models.Session, models.Session.user_pk, pk, by_time, size
        ):
            yield [session_record(row, user_id) for row in sessions]
        by_seq = (models.Message.seq,)
        async for messages in self._pages(models.Message, models.Message.user_pk, pk, by_seq, size):
            yield [message_record(row) for row in messages]
        async for memories in self._memories(pk, size):
            yield list(memories)
        async for links in self._pages(
            models.MemoryLink,
            models.MemoryLink.user_pk,
            pk,
            (models.MemoryLink.chain_a, models.MemoryLink.chain_b),
            size,
        ):
            yield [MemoryLink(row.chain_a, row.chain_b) for row in links]
        async for conflicts in self._pages(
            models.MergeConflict,
            models.MergeConflict.user_pk,
            pk,
            (models.MergeConflict.created_at, models.MergeConflict.id),
            size,
        ):
            yield [StoredConflict(conflict_record(row, user_id), row.proposal) for row in conflicts]
        async for summaries in self._pages(
            models.SessionSummary,
            models.SessionSummary.user_pk,
            pk,
            (models.SessionSummary.created_at, models.SessionSummary.session_id),
            size,
        ):
            yield [_summary(row) for row in summaries]

    async def _memories(self, pk: str, batch_size: int) -> AsyncIterator[list[StoredMemory]]:
        """Each chain's versions together, oldest first, numbered from 1 as the product
        numbers them (stored sequence numbers may have gaps where versions were deleted)."""
        chain, number = "", 0
        async for rows in self._pages(
            models.Memory,
            models.Memory.user_pk,
            pk,
            (models.Memory.chain_id, models.Memory.chain_seq),
            batch_size,
        ):
            categories = await self._categories([row.id for row in rows])
            batch = []
            for row in rows:
                number = number + 1 if row.chain_id == chain else 1
                chain = row.chain_id
                batch.append(
                    StoredMemory(
                        version=replace(version_record(row), chain_seq=number),
                        categories=tuple(sorted(categories.get(row.id, ()))),
                        subject_key=row.subject_key,
                        attribute_key=row.attribute_key,
                        attribute_value=row.attribute_value,
                        embedding=row.embedding,
                    )
                )
            yield batch

    async def _categories(self, memory_ids: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for memory_id, category in await self._session.execute(
            select(models.MemoryCategory.memory_id, models.MemoryCategory.category).where(
                models.MemoryCategory.memory_id.in_(memory_ids)
            )
        ):
            found.setdefault(memory_id, []).append(category)
        return found

    async def user_by_pk(self, project_id: str, pk: str) -> User | None:
        row = await self._session.scalar(
            select(models.User).where(models.User.pk == pk, models.User.project_id == project_id)
        )
        return None if row is None else user_record(row)

    async def id_in_use(self, data: UserData) -> str | None:
        checks: list[tuple[InstrumentedAttribute[str], list[str]]] = [
            (models.Session.id, [s.id for s in data.sessions]),
            (models.Message.id, [m.id for m in data.messages]),
            (models.Memory.id, [m.version.id for m in data.memories]),
            # Chains are compared by id alone, so a chain id names one user's chain.
            (models.Memory.chain_id, sorted({m.version.chain_id for m in data.memories})),
            (models.MergeConflict.id, [c.conflict.id for c in data.conflicts]),
        ]
        for column, ids in checks:
            for chunk in _chunks(ids):
                taken = await self._session.scalar(select(column).where(column.in_(chunk)).limit(1))
                if taken is not None:
                    return taken
        return None

    async def add(self, user: User, data: UserData) -> None:
        await self._insert(models.Session, [_session_row(user, s) for s in data.sessions])
        await self.add_messages(user, data.messages, [None] * len(data.messages))
        await self._insert(models.Memory, [_memory_row(user, m) for m in data.memories])
        await self._insert(
            models.MemoryCategory,
            [
                {"memory_id": m.version.id, "category": category}
                for m in data.memories
                for category in m.categories
            ],
        )
        await self._insert(models.MemoryLink, [_link_row(user, link) for link in data.links])
        await self._insert(models.MergeConflict, [_conflict_row(user, c) for c in data.conflicts])
        await self._insert(
            models.SessionSummary,
            [
                {
                    "session_id": s.session_id,
                    "user_pk": user.pk,
                    "summary": s.summary,
                    "created_at": s.created_at,
                    "embedding": s.embedding,
                }
                for s in data.summaries
            ],
        )

    async def add_messages(
        self, user: User, messages: Sequence[Message], request_ids: Sequence[str | None]
    ) -> None:
        if not messages:
            return
        # As for AddMessage (store.messages): the user's row lock, taken before the
        # insert, keeps the user's messages committing in `seq` order.
        await bump_message_revision(self._session, user.pk)
        await self._insert(
            models.Message,
            [
                {
                    "id": m.id,
                    "session_id": m.session_id,
                    "user_pk": user.pk,
                    "role": m.role,
                    "content": m.content,
                    "created_at": m.created_at,
                    "request_id": request_id,
                }
                for m, request_id in zip(messages, request_ids, strict=True)
            ],
        )

    async def _insert(self, model: type[models.Base], rows: list[dict[str, Any]]) -> None:
        # One statement per batch of rows, inserted in the order given (messages take
        # their `seq` in that order).
        if rows:
            await self._session.execute(insert(model), rows)

    async def messages_by_request_ids(
        self, session: Session, request_ids: Sequence[str]
    ) -> list[Message]:
        found: list[models.Message] = []
        for chunk in _chunks(request_ids):
            found.extend(
                await self._session.scalars(
                    select(models.Message).where(
                        models.Message.session_id == session.id,
                        models.Message.request_id.in_(chunk),
                    )
                )
            )
        return [message_record(row) for row in sorted(found, key=lambda row: row.seq)]

    async def first_message_ids(self, session: Session, n: int) -> list[str]:
        return list(
            await self._session.scalars(
                select(models.Message.id)
                .where(models.Message.session_id == session.id)
                .order_by(models.Message.seq)
                .limit(n)
            )
        )


def _summary(row: models.SessionSummary) -> SessionSummary:
    return SessionSummary(row.session_id, row.summary, row.created_at, row.embedding)


def _session_row(user: User, session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "user_pk": user.pk,
        "status": session.status,
        "metadata_": session.metadata,
        "created_at": session.created_at,
        "auto_process_after_seconds": session.auto_process_after_seconds,
        "failure_reason": session.failure_reason,
        "last_message_at": session.last_message_at,
        "request_id": None,
    }


def _memory_row(user: User, memory: StoredMemory) -> dict[str, Any]:
    version = memory.version
    return {
        "id": version.id,
        "user_pk": user.pk,
        "chain_id": version.chain_id,
        "chain_seq": version.chain_seq,
        "session_id": version.session_id,
        "content": version.content,
        "event_start_at": version.event_start_at,
        "event_end_at": version.event_end_at,
        "created_at": version.created_at,
        "expired_at": version.expired_at,
        "expiration_reason": version.expiration_reason,
        "merge_conflict_id": version.merge_conflict_id,
        "source_message_ids": list(version.source_message_ids),
        "subject_key": memory.subject_key,
        "attribute_key": memory.attribute_key,
        "attribute_value": memory.attribute_value,
        "embedding": memory.embedding,
    }


def _link_row(user: User, link: MemoryLink) -> dict[str, Any]:
    # Stored once, the lesser chain id first (store.ingest.link_chains).
    low, high = sorted((link.chain_id, link.linked_chain_id))
    return {"user_pk": user.pk, "chain_a": low, "chain_b": high}


def _conflict_row(user: User, stored: StoredConflict) -> dict[str, Any]:
    conflict = stored.conflict
    return {
        "id": conflict.id,
        "user_pk": user.pk,
        "session_id": conflict.session_id,
        "status": conflict.status,
        "new_memory_content": conflict.new_memory_content,
        "conflicting_memories": [
            {"memory_id": m.memory_id, "content": m.content, "reason": m.reason}
            for m in conflict.conflicting_memories
        ],
        "clarifying_questions": [
            {"question": q.question, "options": list(q.options)}
            for q in conflict.clarifying_questions
        ],
        "answers": [
            {"question": a.question, "answer": a.answer, "message": a.message}
            for a in conflict.answers
        ],
        "new_memory_ids": list(conflict.new_memory_ids),
        "proposal": stored.proposal,
        "created_at": conflict.created_at,
        "resolved_at": conflict.resolved_at,
        "failure_reason": conflict.failure_reason,
    }
