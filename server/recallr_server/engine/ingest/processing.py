"""Processing a session into memories, as one durable job.

Three steps: a short transaction that marks the session PROCESSING (or
defers an auto-process job that is not due), the plan (extraction, embedding,
consolidation: slow, off the event loop, no transaction), then the plan applied
in ONE transaction together with finishing the job. A crash anywhere leaves
either nothing or everything.

The plan reads the session's messages a chunk at a time, each in a short read,
so that processing holds one chunk of messages (and what reading them builds)
whatever the session's length; what it keeps from chunk to chunk is the plan
itself, which grows with the facts found, not with the messages.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from recallr_server.domain.clock import now
from recallr_server.domain.merge_conflicts import RESOLUTION_OPTIONS
from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.embeddings import Embedder
from recallr_server.engine.ingest.consolidation import Decision
from recallr_server.engine.ingest.llm_steps import ClarifyingQuestion
from recallr_server.engine.ingest.plan import (
    Plan,
    PlannedMemory,
    Planner,
    is_placeholder,
    placeholder,
)
from recallr_server.engine.provider.llm import ChatModel, CircuitOpen, LLMError, ModelFallback
from recallr_server.engine.vectors import encode_vector
from recallr_server.store import ingest, jobs, models
from recallr_server.store.database import Database, Tx
from recallr_server.store.ingest import SessionSnapshot
from recallr_server.store.lookups import category_names
from recallr_server.store.revisions import bump_index_revision

log = logging.getLogger("recallr.llm")

# The least a job waits for a model server that is being tried again right now.
MIN_MODEL_WAIT = timedelta(seconds=1)
# Messages planned at a time: a session no longer than this is read whole.
CHUNK_MESSAGES = 500
# Messages of one chunk read again with the next, so that an answer opening a chunk meets
# the question that closed the one before, and pronouns their recent antecedents.
CONTEXT_MESSAGES = 6


class SessionProcessor:
    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        chat: ChatModel | None = None,
        chunk_messages: int = CHUNK_MESSAGES,
    ) -> None:
        self._db = db
        self._planner = Planner(embedder, chat)
        self._chunk = chunk_messages

    async def run(self, claim: jobs.Claim) -> None:
        if not await self._start(claim):
            return
        async with self._db.read() as tx:
            snapshot = await ingest.read_snapshot(tx, claim.subject_id)
        if snapshot is None:
            raise jobs.JobGone(claim.job_id)
        try:
            plan = await self._plan(snapshot)
        except CircuitOpen as refused:
            # The model was not asked, so the attempt is not spent: the session waits
            # for the server rather than failing for an outage the breaker is riding out.
            wait = max(timedelta(seconds=refused.retry_after_seconds), MIN_MODEL_WAIT)
            async with self._db.write() as tx:
                await jobs.defer(tx, claim, now() + wait)
            return
        async with self._db.write() as tx:
            # Raises JobGone when the session was deleted meanwhile: its job went with it.
            await jobs.finish(tx, claim)
            await _apply(tx, snapshot, plan)

    async def _plan(self, snapshot: SessionSnapshot) -> Plan:
        chat = self._planner.chat
        if chat is None:
            return await self._plan_with(snapshot, None)
        try:
            return await self._plan_with(snapshot, chat)
        except LLMError as error:
            if chat.fallback is not ModelFallback.LOCAL:
                raise
            log.warning(
                "session %s: no usable answer from the chat model (%s: %s); "
                "processing it with the local engine",
                snapshot.session.id,
                type(error).__name__,
                error,
            )
            return await self._plan_with(snapshot, None)

    async def _plan_with(self, snapshot: SessionSnapshot, chat: ChatModel | None) -> Plan:
        """The plan, its messages read and planned a chunk at a time (a session of no
        messages is one empty chunk)."""
        planning = await asyncio.to_thread(self._planner.start, snapshot, chat)
        carried: list[ChatMessage] = []
        after: int | None = None
        while True:
            async with self._db.read() as tx:
                rows = await ingest.read_messages(tx, snapshot.session.id, after, self._chunk)
            if after is not None and not rows:
                break
            full = len(rows) == self._chunk
            after = rows[-1].seq if rows else None
            chunk = [ChatMessage(m.id, m.role.value, m.content) for m in rows]
            del rows
            await asyncio.to_thread(planning.add, [*carried, *chunk], len(carried))
            if not full:
                break
            carried = chunk[-CONTEXT_MESSAGES:]
        return await asyncio.to_thread(planning.finish)

    async def on_failure(self, tx: Tx, claim: jobs.Claim, error: str, final: bool) -> None:
        if final:
            await ingest.fail_session(tx, claim.subject_id, error[: jobs.MAX_ERROR_LENGTH])

    async def _start(self, claim: jobs.Claim) -> bool:
        """Marks the session PROCESSING; False when there is nothing to do now."""
        async with self._db.write() as tx:
            row = await ingest.lock_session(tx, claim.subject_id)
            if row is None:
                raise jobs.JobGone(claim.job_id)
            if row.status == models.SessionStatus.PROCESSED:
                await jobs.finish(tx, claim)
                return False
            if row.status == models.SessionStatus.PENDING:
                # An auto-process job: due only after enough inactivity.
                idle_since = row.last_message_at or row.created_at
                due = idle_since + timedelta(seconds=row.auto_process_after_seconds)
                if due > now():
                    await jobs.defer(tx, claim, due)
                    return False
            ingest.start_processing(row)
        return True


async def _apply(tx: Tx, snapshot: SessionSnapshot, plan: Plan) -> None:
    stamp = now()
    row = await ingest.lock_session(tx, snapshot.session.id)
    assert row is not None
    allowed = await category_names(tx, snapshot.user.project_id)
    # planned placeholder chain -> real chain id
    chains: dict[str, str] = {}
    for number, item in enumerate(plan.memories, start=1):
        if item.decision == Decision.DUPLICATE:
            continue
        if item.decision == Decision.CONFLICT:
            _add_conflict(tx, snapshot, item, stamp)
            continue
        chains[placeholder(number)] = await _add_version(
            tx, snapshot, item, chains, sorted(set(item.fact.categories) & allowed), stamp
        )
    await ingest.save_summary(
        tx,
        row.id,
        snapshot.user.pk,
        plan.summary,
        encode_vector(plan.summary_embedding),
        stamp,
    )
    await bump_index_revision(tx, snapshot.user.pk)
    ingest.finish_processing(row, plan.extractor)


async def _add_version(
    tx: Tx,
    snapshot: SessionSnapshot,
    item: PlannedMemory,
    chains: dict[str, str],
    categories: list[str],
    stamp: datetime,
) -> str:
    """Writes a planned memory as a new chain or the next version of one; returns the chain."""
    target = item.target
    chain_id = chains.get(target.chain_id, target.chain_id) if target else str(uuid.uuid4())
    chain_seq = 1
    if target is not None:
        # What is superseded is the chain's current version, whether the target
        # was stored before this run or planned earlier in it.
        chain_seq = await ingest.next_chain_seq(tx, chain_id)
        if item.decision == Decision.TEMPORAL_UPDATE:
            await ingest.expire_current_version(
                tx, chain_id, item.fact.event_start, models.ExpirationReason.TEMPORAL_CONFLICT
            )
        else:
            await ingest.expire_current_version(
                tx, chain_id, stamp, models.ExpirationReason.ADDITION_TO_EXISTING_MEMORY
            )
    fact = item.fact
    version = ingest.NewVersion(
        user_pk=snapshot.user.pk,
        chain_id=chain_id,
        chain_seq=chain_seq,
        session_id=snapshot.session.id,
        content=fact.content,
        event_start=fact.event_start,
        event_end=fact.event_end,
        source_message_ids=list(fact.source_message_ids),
        subject_key=fact.subject_key,
        attribute_key=fact.attribute_key,
        attribute_value=fact.value,
        embedding=encode_vector(item.embedding),
        categories=categories,
    )
    await ingest.add_version(tx, version, stamp)
    for ended in item.ended_chains:
        other = chains.get(ended, ended)
        await ingest.expire_current_version(
            tx, other, fact.event_start, models.ExpirationReason.TEMPORAL_CONFLICT
        )
    for related in item.related_chains:
        other = chains.get(related, related)
        if not is_placeholder(other):
            await ingest.link_chains(tx, snapshot.user.pk, chain_id, other)
    return chain_id


def _add_conflict(tx: Tx, snapshot: SessionSnapshot, item: PlannedMemory, stamp: datetime) -> None:
    assert item.target is not None
    # The model's wording when it gave one; the answers are the fixed resolutions either way.
    questions = item.questions or [
        ClarifyingQuestion(
            question=f'Earlier: "{item.target.content}" Now: "{item.fact.content}" Which is true?',
            options=list(RESOLUTION_OPTIONS),
        )
    ]
    ingest.add_merge_conflict(
        tx,
        user_pk=snapshot.user.pk,
        session_id=snapshot.session.id,
        new_content=item.fact.content,
        conflicting=[
            {
                "memory_id": item.target.memory_id,
                "content": item.target.content,
                "reason": f"Contradicts the new information ({item.reason}).",
            }
        ],
        questions=[dict(question) for question in questions],
        proposal=_proposal(item),
        created_at=stamp,
    )


def _proposal(item: PlannedMemory) -> dict[str, Any]:
    """What resolving the conflict in the new fact's favour writes (see resolution)."""
    fact = item.fact
    return {
        "categories": list(fact.categories),
        "source_message_ids": list(fact.source_message_ids),
        "event_start": fact.event_start.isoformat(),
        "event_end": fact.event_end.isoformat(),
        "subject_key": fact.subject_key,
        "attribute_key": fact.attribute_key,
        "attribute_value": fact.value,
    }
