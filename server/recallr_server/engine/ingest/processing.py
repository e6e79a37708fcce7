"""Processing a session into memories, as one durable job.

Three steps: a short transaction that marks the session PROCESSING (or
defers an auto-process job that is not due), a read of everything the plan
needs, then the plan (extraction, embedding, consolidation: slow, off the
event loop, no transaction) applied in ONE transaction together with
finishing the job. A crash anywhere leaves either nothing or everything.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.domain.clock import now
from recallr_server.domain.merge_conflicts import RESOLUTION_OPTIONS, conflicts_enabled
from recallr_server.domain.speakers import ASSISTANT_NAME_KEY, USER_NAME_KEY, speaker_name
from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.embeddings import Embedder
from recallr_server.engine.ingest.consolidation import (
    Candidate,
    Decision,
    Existing,
    Outcome,
    decide,
    similar_first,
)
from recallr_server.engine.ingest.extraction import Fact, extract_facts
from recallr_server.engine.ingest.llm_steps import (
    ClarifyingQuestion,
    clarifying_questions_llm,
    extract_facts_llm,
    judge_llm,
    summarise_llm,
)
from recallr_server.engine.provider.llm import ChatModel
from recallr_server.engine.vectors import Vector, decode_vector, encode_vector
from recallr_server.store import jobs, models
from recallr_server.store.database import Database
from recallr_server.store.lookups import category_names
from recallr_server.store.revisions import bump_index_revision

MAX_SUMMARY_FACTS = 12
# How many of the most similar memories an LLM judges a new fact against.
JUDGED_CANDIDATES = 5


@dataclass(frozen=True)
class Snapshot:
    """Everything planning needs, read in one transaction."""

    session: models.Session
    user: models.User
    messages: list[models.Message]
    memories: list[models.Memory]
    categories: dict[str, str]
    conflicts_enabled: bool


@dataclass(frozen=True)
class PlannedMemory:
    fact: Fact
    embedding: Vector
    decision: Decision
    target: Existing | None
    related_chains: list[str]
    reason: str
    # Clarifying questions an LLM wrote for a conflict; None: the standard one.
    questions: list[ClarifyingQuestion] | None = None


@dataclass(frozen=True)
class Plan:
    memories: list[PlannedMemory]
    summary: str
    summary_embedding: Vector


def summarise(session_time: datetime, facts: Sequence[Fact]) -> str:
    """A local, extractive summary: the session's date and its first facts."""
    day = session_time.strftime("%d %B %Y").lstrip("0")
    if not facts:
        return f"On {day}, a conversation with no lasting facts."
    listed = " ".join(f.content for f in facts[:MAX_SUMMARY_FACTS])
    more = len(facts) - MAX_SUMMARY_FACTS
    return f"On {day}: {listed}" + (f" (and {more} more facts)" if more > 0 else "")


class SessionProcessor:
    def __init__(self, db: Database, embedder: Embedder, chat: ChatModel | None = None) -> None:
        self._db = db
        self._embedder = embedder
        # With a chat model, extraction, judging, questions and summaries use it.
        self._chat = chat

    async def run(self, claim: jobs.Claim) -> None:
        if not await self._start(claim):
            return
        snapshot = await self._read(claim)
        plan = await asyncio.to_thread(self._plan, snapshot)
        async with self._db.write() as session:
            await jobs.finish(session, claim)
            await self._apply(session, snapshot, plan)

    async def on_failure(
        self, session: AsyncSession, claim: jobs.Claim, error: str, final: bool
    ) -> None:
        if final:
            row = await session.get(models.Session, claim.subject_id)
            if row is not None:
                row.status = models.SessionStatus.FAILED
                row.failure_reason = error[: jobs.MAX_ERROR_LENGTH]

    async def _start(self, claim: jobs.Claim) -> bool:
        """Marks the session PROCESSING; False when there is nothing to do now."""
        async with self._db.write() as session:
            row = await session.get(models.Session, claim.subject_id, with_for_update=True)
            if row is None or row.status == models.SessionStatus.PROCESSED:
                await jobs.finish(session, claim)
                return False
            if row.status == models.SessionStatus.PENDING:
                # An auto-process job: due only after enough inactivity.
                idle_since = row.last_message_at or row.created_at
                due = idle_since + timedelta(seconds=row.auto_process_after_seconds)
                if due > now():
                    await jobs.defer(session, claim, due)
                    return False
                row.status = models.SessionStatus.PROCESSING
            row.failure_reason = ""
        return True

    async def _read(self, claim: jobs.Claim) -> Snapshot:
        async with self._db.read() as session:
            row = await session.get(models.Session, claim.subject_id)
            assert row is not None
            user = await session.get(models.User, row.user_pk)
            assert user is not None
            project = await session.get(models.Project, user.project_id)
            assert project is not None
            messages = list(
                await session.scalars(
                    select(models.Message)
                    .where(models.Message.session_id == row.id)
                    .order_by(models.Message.seq)
                )
            )
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
        return Snapshot(
            row,
            user,
            messages,
            memories,
            categories,
            conflicts_enabled(user.merge_conflict_enabled, project.merge_conflict_enabled),
        )

    def _plan(self, snapshot: Snapshot) -> Plan:
        messages = [ChatMessage(m.id, m.role.value, m.content) for m in snapshot.messages]
        now_ = snapshot.session.created_at
        user_name = speaker_name(snapshot.user.metadata_, USER_NAME_KEY)
        assistant_name = speaker_name(snapshot.session.metadata_, ASSISTANT_NAME_KEY)
        chat = self._chat
        if chat is not None:
            facts = extract_facts_llm(
                chat,
                messages,
                now=now_,
                categories=snapshot.categories,
                user_name=user_name,
                other_name=assistant_name,
            )
            summary = summarise_llm(chat, messages, now_)
        else:
            facts = extract_facts(
                messages,
                now=now_,
                user_name=user_name,
                assistant_name=assistant_name,
                categories=snapshot.categories,
            )
            summary = summarise(now_, facts)
        vectors = self._embedder.embed([f.content for f in facts])
        existing = [self._existing(m) for m in snapshot.memories]
        matrix = np.stack([e.embedding for e in existing]) if existing else None
        planned: list[PlannedMemory] = []
        for fact, vector in zip(facts, vectors, strict=True):
            candidate = Candidate(
                fact.content,
                vector,
                fact.event_start,
                fact.subject_key,
                fact.attribute_key,
                fact.value,
            )
            similarities = matrix @ vector if matrix is not None else np.zeros(0, np.float32)
            outcome = self._decide(candidate, existing, similarities, snapshot.conflicts_enabled)
            questions = None
            if outcome.decision == Decision.CONFLICT and chat is not None:
                assert outcome.target is not None
                questions = clarifying_questions_llm(
                    chat, fact.content, [outcome.target.content], options=RESOLUTION_OPTIONS
                )
            planned.append(
                PlannedMemory(
                    fact,
                    vector,
                    outcome.decision,
                    outcome.target,
                    outcome.related_chains,
                    outcome.reason,
                    questions,
                )
            )
            if outcome.decision in (Decision.NEW, Decision.ADDITION, Decision.TEMPORAL_UPDATE):
                # Later facts of the same session consolidate against this one too.
                chain = outcome.target.chain_id if outcome.target else f"planned:{len(planned)}"
                keep = [i for i, e in enumerate(existing) if e.chain_id != chain]
                existing = [existing[i] for i in keep]
                existing.append(
                    Existing(
                        f"planned:{len(planned)}",
                        chain,
                        fact.content,
                        vector,
                        fact.event_start,
                        fact.subject_key,
                        fact.attribute_key,
                        fact.value,
                    )
                )
                rows = [matrix[keep]] if matrix is not None else []
                matrix = np.vstack([*rows, vector[np.newaxis, :]])
        return Plan(planned, summary, self._embedder.embed([summary])[0])

    def _decide(
        self,
        candidate: Candidate,
        existing: list[Existing],
        similarities: Vector,
        conflicts_enabled: bool,
    ) -> Outcome:
        if self._chat is None:
            return decide(candidate, existing, similarities, conflicts_enabled=conflicts_enabled)
        nearest = similar_first(similarities, JUDGED_CANDIDATES)
        return judge_llm(
            self._chat,
            candidate,
            [existing[i] for i in nearest],
            conflicts_enabled=conflicts_enabled,
        )

    def _existing(self, memory: models.Memory) -> Existing:
        vector = decode_vector(memory.embedding) if memory.embedding else None
        if vector is None or vector.shape[0] != self._embedder.dimensions:
            # Recorded by another embedding model: it cannot be compared, only kept.
            vector = np.zeros(self._embedder.dimensions, np.float32)
        return Existing(
            memory.id,
            memory.chain_id,
            memory.content,
            vector,
            memory.event_start_at,
            memory.subject_key,
            memory.attribute_key,
            memory.attribute_value,
        )

    async def _apply(self, session: AsyncSession, snapshot: Snapshot, plan: Plan) -> None:
        stamp = now()
        row = await session.get(models.Session, snapshot.session.id, with_for_update=True)
        assert row is not None
        allowed = await category_names(session, snapshot.user.project_id)
        # planned placeholder chain -> real chain id
        chains: dict[str, str] = {}
        for index, item in enumerate(plan.memories, start=1):
            if item.decision == Decision.DUPLICATE:
                continue
            if item.decision == Decision.CONFLICT:
                assert item.target is not None
                session.add(_conflict(snapshot, item, stamp))
                continue
            target = item.target
            chain_id = chains.get(target.chain_id, target.chain_id) if target else str(uuid.uuid4())
            chain_seq = 1
            if target is not None:
                # What is superseded is the chain's current version, whether the target
                # was stored before this run or planned earlier in it.
                chain_seq = await next_chain_seq(session, chain_id)
                await _expire_current(session, chain_id, item, stamp)
            chains[f"planned:{index}"] = chain_id
            memory = models.Memory(
                id=str(uuid.uuid4()),
                user_pk=snapshot.user.pk,
                chain_id=chain_id,
                chain_seq=chain_seq,
                session_id=row.id,
                content=item.fact.content,
                event_start_at=item.fact.event_start,
                event_end_at=item.fact.event_end,
                created_at=stamp,
                source_message_ids=list(item.fact.source_message_ids),
                subject_key=item.fact.subject_key,
                attribute_key=item.fact.attribute_key,
                attribute_value=item.fact.value,
                embedding=encode_vector(item.embedding),
            )
            session.add(memory)
            await session.flush()
            session.add_all(
                models.MemoryCategory(memory_id=memory.id, category=c)
                for c in sorted(set(item.fact.categories) & allowed)
            )
            for related in item.related_chains:
                await link_chains(session, snapshot.user.pk, chain_id, chains.get(related, related))
        summary = await session.get(models.SessionSummary, row.id)
        if summary is None:
            summary = models.SessionSummary(session_id=row.id, user_pk=snapshot.user.pk)
            session.add(summary)
        summary.summary = plan.summary
        summary.created_at = stamp
        summary.embedding = encode_vector(plan.summary_embedding)
        await bump_index_revision(session, snapshot.user.pk)
        row.status = models.SessionStatus.PROCESSED
        row.failure_reason = ""


async def next_chain_seq(session: AsyncSession, chain_id: str) -> int:
    return (
        await session.scalar(
            select(func.max(models.Memory.chain_seq)).where(models.Memory.chain_id == chain_id)
        )
        or 0
    ) + 1


async def _expire_current(
    session: AsyncSession, chain_id: str, item: PlannedMemory, stamp: datetime
) -> None:
    current = await session.scalar(
        select(models.Memory).where(
            models.Memory.chain_id == chain_id, models.Memory.expired_at.is_(None)
        )
    )
    if current is not None:
        current.expired_at = (
            item.fact.event_start if item.decision == Decision.TEMPORAL_UPDATE else stamp
        )
        current.expiration_reason = (
            models.ExpirationReason.TEMPORAL_CONFLICT
            if item.decision == Decision.TEMPORAL_UPDATE
            else models.ExpirationReason.ADDITION_TO_EXISTING_MEMORY
        )


async def link_chains(session: AsyncSession, user_pk: str, a: str, b: str) -> None:
    if a == b or a.startswith("planned:") or b.startswith("planned:"):
        return
    low, high = sorted((a, b))
    if await session.get(models.MemoryLink, (low, high)) is None:
        session.add(models.MemoryLink(user_pk=user_pk, chain_a=low, chain_b=high))


def _conflict(snapshot: Snapshot, item: PlannedMemory, stamp: datetime) -> models.MergeConflict:
    assert item.target is not None
    # The model's wording when it gave one; the answers are the fixed resolutions either way.
    questions = item.questions or [
        ClarifyingQuestion(
            question=f'Earlier: "{item.target.content}" Now: "{item.fact.content}" Which is true?',
            options=list(RESOLUTION_OPTIONS),
        )
    ]
    return models.MergeConflict(
        id=str(uuid.uuid4()),
        user_pk=snapshot.user.pk,
        session_id=snapshot.session.id,
        status=models.MergeConflictStatus.PENDING,
        new_memory_content=item.fact.content,
        conflicting_memories=[
            {
                "memory_id": item.target.memory_id,
                "content": item.target.content,
                "reason": f"Contradicts the new information ({item.reason}).",
            }
        ],
        clarifying_questions=[dict(question) for question in questions],
        answers=[],
        new_memory_ids=[],
        proposal={
            "categories": list(item.fact.categories),
            "source_message_ids": list(item.fact.source_message_ids),
            "event_start": item.fact.event_start.isoformat(),
            "event_end": item.fact.event_end.isoformat(),
            "subject_key": item.fact.subject_key,
            "attribute_key": item.fact.attribute_key,
            "attribute_value": item.fact.value,
        },
        created_at=stamp,
        failure_reason="",
    )
