"""Applying the answers to a merge conflict, as a durable job."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.domain.clock import now
from recallr_server.domain.merge_conflicts import KEEP_BOTH, KEEP_EXISTING, KEEP_NEW
from recallr_server.engine.embeddings import Embedder
from recallr_server.engine.ingest.processing import link_chains, next_chain_seq
from recallr_server.engine.vectors import encode_vector
from recallr_server.store import jobs, models
from recallr_server.store.database import Database
from recallr_server.store.lookups import category_names
from recallr_server.store.revisions import bump_index_revision


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class ConflictResolver:
    def __init__(self, db: Database, embedder: Embedder) -> None:
        self._db = db
        self._embedder = embedder

    async def run(self, claim: jobs.Claim) -> None:
        async with self._db.write() as session:
            conflict = await session.get(models.MergeConflict, claim.subject_id)
            if conflict is None or conflict.status != models.MergeConflictStatus.IN_QUEUE:
                await jobs.finish(session, claim)
                return
            conflict.status = models.MergeConflictStatus.RESOLVING
            content = conflict.new_memory_content
        vector = (await asyncio.to_thread(self._embedder.embed, [content]))[0]
        async with self._db.write() as session:
            await jobs.finish(session, claim)
            conflict = await session.get(models.MergeConflict, claim.subject_id)
            assert conflict is not None
            choice = conflict.answers[0]["answer"] if conflict.answers else KEEP_EXISTING
            created = await _apply(session, conflict, choice, encode_vector(vector))
            await bump_index_revision(session, conflict.user_pk)
            conflict.new_memory_ids = created
            conflict.status = models.MergeConflictStatus.RESOLVED
            conflict.resolved_at = now()

    async def on_failure(
        self, session: AsyncSession, claim: jobs.Claim, error: str, final: bool
    ) -> None:
        conflict = await session.get(models.MergeConflict, claim.subject_id)
        if conflict is None:
            return
        if final:
            conflict.status = models.MergeConflictStatus.FAILED
            conflict.failure_reason = error[: jobs.MAX_ERROR_LENGTH]
        else:
            conflict.status = models.MergeConflictStatus.IN_QUEUE


async def _apply(
    session: AsyncSession, conflict: models.MergeConflict, choice: str, embedding: bytes
) -> list[str]:
    """Returns the ids of the memory versions the resolution created."""
    if choice == KEEP_EXISTING:
        return []
    stamp = now()
    proposal: dict[str, Any] = conflict.proposal
    allowed = await category_names(session, await _project_of(session, conflict.user_pk))
    targets = []
    for item in conflict.conflicting_memories:
        current = await session.scalar(
            select(models.Memory).where(
                models.Memory.id == item["memory_id"], models.Memory.expired_at.is_(None)
            )
        )
        if current is not None:
            targets.append(current)
    created: list[str] = []

    def new_memory(chain_id: str, chain_seq: int) -> models.Memory:
        memory = models.Memory(
            id=str(uuid.uuid4()),
            user_pk=conflict.user_pk,
            chain_id=chain_id,
            chain_seq=chain_seq,
            session_id=conflict.session_id,
            content=conflict.new_memory_content,
            event_start_at=_time(proposal.get("event_start")),
            event_end_at=_time(proposal.get("event_end")),
            created_at=stamp,
            source_message_ids=list(proposal.get("source_message_ids", [])),
            subject_key=proposal.get("subject_key"),
            attribute_key=proposal.get("attribute_key"),
            attribute_value=proposal.get("attribute_value"),
            embedding=embedding,
        )
        session.add(memory)
        created.append(memory.id)
        return memory

    replaced = targets if choice == KEEP_NEW else []
    for old in replaced:
        old.expired_at = stamp
        old.expiration_reason = models.ExpirationReason.MERGE_CONFLICT
        old.merge_conflict_id = conflict.id
        new_memory(old.chain_id, await next_chain_seq(session, old.chain_id))
    if not replaced:
        memory = new_memory(str(uuid.uuid4()), 1)
        if choice == KEEP_BOTH:
            for old in targets:
                await link_chains(session, conflict.user_pk, memory.chain_id, old.chain_id)
    await session.flush()
    for memory_id in created:
        session.add_all(
            models.MemoryCategory(memory_id=memory_id, category=c)
            for c in sorted(set(proposal.get("categories", [])) & allowed)
        )
    return created


async def _project_of(session: AsyncSession, user_pk: str) -> str:
    user = await session.get(models.User, user_pk)
    assert user is not None
    return user.project_id
