"""What processing a session and resolving a merge conflict read and write.

Processing reads a session's snapshot and then its messages a chunk at a time (keyset
paging on `seq`, so each chunk costs the same however deep into the session it lies), then
applies its plan in one transaction: new
memory versions (the first of a new chain, or the next of one whose current version
expires), links between chains, merge conflicts and the session's summary. Resolving a
conflict writes versions the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.store import models


@dataclass(frozen=True)
class SessionSnapshot:
    """Everything planning a session's processing needs but its messages, read in one
    transaction (the messages follow in chunks: see `read_messages`)."""

    session: models.Session
    user: models.User
    project: models.Project
    # The user's current memory versions.
    memories: list[models.Memory]
    # The project's categories: name to description.
    categories: dict[str, str]
    # The categories of each current memory version, by its id.
    memory_categories: dict[str, list[str]]


@dataclass(frozen=True)
class NewVersion:
    """A memory version to write: the first of a new chain, or the next of an existing one."""

    user_pk: str
    chain_id: str
    chain_seq: int
    session_id: str | None
    content: str
    event_start: datetime | None
    event_end: datetime | None
    source_message_ids: list[str]
    subject_key: str | None
    attribute_key: str | None
    attribute_value: str | None
    embedding: bytes
    categories: list[str]


# --- Processing a session --------------------------------------------------------------------


async def lock_session(session: AsyncSession, session_id: str) -> models.Session | None:
    return await session.get(models.Session, session_id, with_for_update=True)


def start_processing(row: models.Session) -> None:
    """A pending session becomes PROCESSING; an earlier failure's reason is cleared."""
    if row.status == models.SessionStatus.PENDING:
        row.status = models.SessionStatus.PROCESSING
    row.failure_reason = ""


async def read_snapshot(session: AsyncSession, session_id: str) -> SessionSnapshot | None:
    """None when the session is gone (deleted since its processing started)."""
    row = await session.get(models.Session, session_id)
    if row is None:
        return None
    user = await session.get(models.User, row.user_pk)
    assert user is not None
    project = await session.get(models.Project, user.project_id)
    assert project is not None
    memories = list(
        await session.scalars(
            select(models.Memory).where(
                models.Memory.user_pk == user.pk, models.Memory.expired_at.is_(None)
            )
        )
    )
    categories = {
        c.name: c.description
        for c in await session.scalars(
            select(models.Category).where(models.Category.project_id == project.id)
        )
    }
    filed: dict[str, list[str]] = {m.id: [] for m in memories}
    for link in await session.scalars(
        select(models.MemoryCategory)
        .join(models.Memory, models.Memory.id == models.MemoryCategory.memory_id)
        .where(models.Memory.user_pk == user.pk, models.Memory.expired_at.is_(None))
    ):
        filed.setdefault(link.memory_id, []).append(link.category)
    return SessionSnapshot(row, user, project, memories, categories, filed)


async def read_messages(
    session: AsyncSession, session_id: str, after_seq: int | None, limit: int
) -> list[models.Message]:
    """The session's next `limit` messages in order, those after `after_seq` (None: from
    the first)."""
    query = select(models.Message).where(models.Message.session_id == session_id)
    if after_seq is not None:
        query = query.where(models.Message.seq > after_seq)
    return list(await session.scalars(query.order_by(models.Message.seq).limit(limit)))


async def save_summary(
    session: AsyncSession,
    session_id: str,
    user_pk: str,
    text: str,
    embedding: bytes,
    created_at: datetime,
) -> None:
    """Writes the session's summary, or rewrites it when the session is processed again."""
    summary = await session.get(models.SessionSummary, session_id)
    if summary is None:
        summary = models.SessionSummary(session_id=session_id, user_pk=user_pk)
        session.add(summary)
    summary.summary = text
    summary.created_at = created_at
    summary.embedding = embedding


def finish_processing(row: models.Session, extractor: str) -> None:
    """The session is PROCESSED, its memories written by `extractor` ("local", "model:...")."""
    row.status = models.SessionStatus.PROCESSED
    row.failure_reason = ""
    row.extractor = extractor


async def fail_session(session: AsyncSession, session_id: str, reason: str) -> None:
    row = await session.get(models.Session, session_id)
    if row is not None:
        row.status = models.SessionStatus.FAILED
        row.failure_reason = reason
        row.extractor = ""


# --- Memory versions -------------------------------------------------------------------------


async def next_chain_seq(session: AsyncSession, chain_id: str) -> int:
    return (
        await session.scalar(
            select(func.max(models.Memory.chain_seq)).where(models.Memory.chain_id == chain_id)
        )
        or 0
    ) + 1


async def expire_current_version(
    session: AsyncSession,
    chain_id: str,
    expired_at: datetime,
    reason: models.ExpirationReason,
) -> None:
    """Expires the chain's current version, if it has one."""
    current = await session.scalar(
        select(models.Memory).where(
            models.Memory.chain_id == chain_id, models.Memory.expired_at.is_(None)
        )
    )
    if current is not None:
        current.expired_at = expired_at
        current.expiration_reason = reason


def expire_version(
    memory: models.Memory,
    expired_at: datetime,
    reason: models.ExpirationReason,
    merge_conflict_id: str | None = None,
) -> None:
    memory.expired_at = expired_at
    memory.expiration_reason = reason
    memory.merge_conflict_id = merge_conflict_id


async def add_version(session: AsyncSession, version: NewVersion, created_at: datetime) -> str:
    """Writes the version and its categories; returns its id."""
    memory = models.Memory(
        id=str(uuid.uuid4()),
        user_pk=version.user_pk,
        chain_id=version.chain_id,
        chain_seq=version.chain_seq,
        session_id=version.session_id,
        content=version.content,
        event_start_at=version.event_start,
        event_end_at=version.event_end,
        created_at=created_at,
        source_message_ids=version.source_message_ids,
        subject_key=version.subject_key,
        attribute_key=version.attribute_key,
        attribute_value=version.attribute_value,
        embedding=version.embedding,
    )
    session.add(memory)
    await session.flush()
    session.add_all(
        models.MemoryCategory(memory_id=memory.id, category=c) for c in version.categories
    )
    return memory.id


async def link_chains(session: AsyncSession, user_pk: str, a: str, b: str) -> None:
    """Connects two chains, once whichever way they are named; a chain is not its own link."""
    if a == b:
        return
    low, high = sorted((a, b))
    if await session.get(models.MemoryLink, (low, high)) is None:
        session.add(models.MemoryLink(user_pk=user_pk, chain_a=low, chain_b=high))


async def current_versions(session: AsyncSession, memory_ids: Sequence[str]) -> list[models.Memory]:
    """Those of the given versions that are still current, in the order given."""
    found = []
    for memory_id in memory_ids:
        current = await session.scalar(
            select(models.Memory).where(
                models.Memory.id == memory_id, models.Memory.expired_at.is_(None)
            )
        )
        if current is not None:
            found.append(current)
    return found


# --- Merge conflicts -------------------------------------------------------------------------


def add_merge_conflict(
    session: AsyncSession,
    *,
    user_pk: str,
    session_id: str,
    new_content: str,
    conflicting: list[dict[str, Any]],
    questions: list[dict[str, Any]],
    proposal: dict[str, Any],
    created_at: datetime,
) -> None:
    """Records a PENDING conflict: a new fact against `conflicting` memories, and the
    `proposal` that resolving it in the new fact's favour writes."""
    session.add(
        models.MergeConflict(
            id=str(uuid.uuid4()),
            user_pk=user_pk,
            session_id=session_id,
            status=models.MergeConflictStatus.PENDING,
            new_memory_content=new_content,
            conflicting_memories=conflicting,
            clarifying_questions=questions,
            answers=[],
            new_memory_ids=[],
            proposal=proposal,
            created_at=created_at,
            failure_reason="",
        )
    )


async def get_merge_conflict(
    session: AsyncSession, conflict_id: str
) -> models.MergeConflict | None:
    return await session.get(models.MergeConflict, conflict_id)


def set_merge_conflict_status(
    conflict: models.MergeConflict,
    status: models.MergeConflictStatus,
    failure_reason: str | None = None,
) -> None:
    conflict.status = status
    if failure_reason is not None:
        conflict.failure_reason = failure_reason


def finish_resolution(
    conflict: models.MergeConflict, new_memory_ids: list[str], resolved_at: datetime
) -> None:
    conflict.new_memory_ids = new_memory_ids
    conflict.status = models.MergeConflictStatus.RESOLVED
    conflict.resolved_at = resolved_at


async def project_of(session: AsyncSession, user_pk: str) -> str:
    user = await session.get(models.User, user_pk)
    assert user is not None
    return user.project_id
