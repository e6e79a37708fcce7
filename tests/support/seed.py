"""Writes users, sessions, messages, memory chains, links and merge conflicts into the store.

Processing sessions is what creates memories and merge conflicts; tests that need them
without running it build them here. Every builder is a coroutine over a `Database`, so
it runs wherever the database's event loop does.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from recallr_server.domain.clock import now
from recallr_server.store import models
from recallr_server.store.database import Database

# Versions of one chain are recorded this far apart, so they never tie on time.
VERSION_STEP = timedelta(seconds=1)


@dataclass(frozen=True)
class SeededUser:
    pk: str
    user_id: str


@dataclass(frozen=True)
class Version:
    """One version of a memory.

    `expiration_reason` and `merge_conflict_id` describe how the next version
    superseded this one; on the newest version of a chain they are ignored.
    """

    content: str
    categories: Sequence[str] = ()
    source_message_ids: Sequence[str] = ()
    session_id: str | None = None
    event_start_at: datetime | None = None
    event_end_at: datetime | None = None
    expiration_reason: models.ExpirationReason = models.ExpirationReason.ADDITION_TO_EXISTING_MEMORY
    merge_conflict_id: str | None = None


@dataclass(frozen=True)
class Chain:
    chain_id: str
    version_ids: tuple[str, ...]  # oldest first

    @property
    def current(self) -> str:
        return self.version_ids[-1]


@dataclass(frozen=True)
class ConflictingMemory:
    memory_id: str
    content: str
    reason: str


@dataclass(frozen=True)
class ClarifyingQuestion:
    question: str
    options: Sequence[str]


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    message: str = ""


async def add_user(
    db: Database, project_id: str, user_id: str, *, metadata: Mapping[str, Any] | None = None
) -> SeededUser:
    stamp = now()
    user = models.User(
        pk=str(uuid.uuid4()),
        project_id=project_id,
        user_id=user_id,
        metadata_=dict(metadata or {}),
        merge_conflict_enabled=None,
        created_at=stamp,
        last_active_at=stamp,
    )
    async with db.write() as session:
        session.add(user)
    return SeededUser(user.pk, user_id)


async def existing_user(db: Database, project_id: str, user_id: str) -> SeededUser:
    """A user created some other way (say, over the API)."""
    async with db.read() as session:
        pk = await session.scalar(
            select(models.User.pk).where(
                models.User.project_id == project_id, models.User.user_id == user_id
            )
        )
    assert pk is not None, f"no user {user_id!r} in project {project_id}"
    return SeededUser(pk, user_id)


async def add_session(
    db: Database,
    user: SeededUser,
    *,
    metadata: Mapping[str, Any] | None = None,
    status: models.SessionStatus = models.SessionStatus.PROCESSED,
) -> str:
    row = models.Session(
        id=str(uuid.uuid4()),
        user_pk=user.pk,
        status=status,
        metadata_=dict(metadata or {}),
        created_at=now(),
        auto_process_after_seconds=0,
        failure_reason="",
    )
    async with db.write() as session:
        session.add(row)
    return row.id


async def add_message(
    db: Database,
    user: SeededUser,
    session_id: str,
    content: str,
    *,
    role: models.MessageRole = models.MessageRole.USER,
) -> str:
    row = models.Message(
        id=str(uuid.uuid4()),
        session_id=session_id,
        user_pk=user.pk,
        role=role,
        content=content,
        created_at=now(),
    )
    async with db.write() as session:
        session.add(row)
    return row.id


async def add_chain(
    db: Database,
    user: SeededUser,
    versions: Sequence[Version],
    *,
    created_at: datetime | None = None,
) -> Chain:
    """A chain whose versions are recorded `VERSION_STEP` apart from `created_at` on.

    Each version but the newest expires when its successor is recorded.
    """
    assert versions, "a chain has at least one version"
    chain_id = str(uuid.uuid4())
    start = created_at or now()
    rows = [
        models.Memory(
            id=str(uuid.uuid4()),
            user_pk=user.pk,
            chain_id=chain_id,
            chain_seq=seq,
            session_id=version.session_id,
            content=version.content,
            event_start_at=version.event_start_at,
            event_end_at=version.event_end_at,
            created_at=start + seq * VERSION_STEP,
            source_message_ids=list(version.source_message_ids),
        )
        for seq, version in enumerate(versions)
    ]
    for row, successor, version in zip(rows, rows[1:], versions, strict=False):
        row.expired_at = successor.created_at
        row.expiration_reason = version.expiration_reason
        row.merge_conflict_id = version.merge_conflict_id
    async with db.write() as session:
        session.add_all(rows)
        await session.flush()
        session.add_all(
            models.MemoryCategory(memory_id=row.id, category=category)
            for row, version in zip(rows, versions, strict=True)
            for category in version.categories
        )
    return Chain(chain_id, tuple(row.id for row in rows))


async def link(db: Database, user: SeededUser, one: Chain, other: Chain) -> None:
    """Connects two chains; the store keeps each link once, smaller chain id first."""
    chain_a, chain_b = sorted((one.chain_id, other.chain_id))
    async with db.write() as session:
        session.add(models.MemoryLink(user_pk=user.pk, chain_a=chain_a, chain_b=chain_b))


async def add_merge_conflict(
    db: Database,
    user: SeededUser,
    *,
    status: models.MergeConflictStatus,
    new_memory_content: str = "The user lives in Berlin.",
    conflicting: Sequence[ConflictingMemory] = (),
    questions: Sequence[ClarifyingQuestion] = (),
    answers: Sequence[Answer] = (),
    new_memory_ids: Sequence[str] = (),
    session_id: str | None = None,
    created_at: datetime | None = None,
    resolved_at: datetime | None = None,
    failure_reason: str = "",
) -> str:
    row = models.MergeConflict(
        id=str(uuid.uuid4()),
        user_pk=user.pk,
        session_id=session_id,
        status=status,
        new_memory_content=new_memory_content,
        conflicting_memories=[asdict(item) for item in conflicting],
        clarifying_questions=[
            {"question": q.question, "options": list(q.options)} for q in questions
        ],
        answers=[asdict(item) for item in answers],
        new_memory_ids=list(new_memory_ids),
        created_at=created_at or now(),
        resolved_at=resolved_at,
        failure_reason=failure_reason,
    )
    async with db.write() as session:
        session.add(row)
    return row.id


async def set_merge_conflict_status(
    db: Database,
    conflict_id: str,
    status: models.MergeConflictStatus,
) -> None:
    async with db.write() as session:
        row = await session.get_one(models.MergeConflict, conflict_id)
        row.status = status
        row.resolved_at = None
