"""Applying the answers to a merge conflict, as a durable job."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from recallr_server.domain.clock import now
from recallr_server.domain.merge_conflicts import KEEP_BOTH, KEEP_EXISTING, KEEP_NEW
from recallr_server.engine.embeddings import Embedder
from recallr_server.engine.vectors import encode_vector
from recallr_server.store import ingest, jobs, models
from recallr_server.store.database import Database, Tx
from recallr_server.store.lookups import category_names
from recallr_server.store.revisions import bump_index_revision


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class ConflictResolver:
    def __init__(self, db: Database, embedder: Embedder) -> None:
        self._db = db
        self._embedder = embedder

    async def run(self, claim: jobs.Claim) -> None:
        async with self._db.write() as tx:
            conflict = await ingest.get_merge_conflict(tx, claim.subject_id)
            if conflict is None or conflict.status != models.MergeConflictStatus.IN_QUEUE:
                await jobs.finish(tx, claim)
                return
            ingest.set_merge_conflict_status(conflict, models.MergeConflictStatus.RESOLVING)
            content = conflict.new_memory_content
        vector = (await asyncio.to_thread(self._embedder.embed, [content]))[0]
        async with self._db.write() as tx:
            await jobs.finish(tx, claim)
            conflict = await ingest.get_merge_conflict(tx, claim.subject_id)
            assert conflict is not None
            choice = conflict.answers[0]["answer"] if conflict.answers else KEEP_EXISTING
            created = await _apply(tx, conflict, choice, encode_vector(vector))
            await bump_index_revision(tx, conflict.user_pk)
            ingest.finish_resolution(conflict, created, now())

    async def on_failure(self, tx: Tx, claim: jobs.Claim, error: str, final: bool) -> None:
        conflict = await ingest.get_merge_conflict(tx, claim.subject_id)
        if conflict is None:
            return
        if final:
            ingest.set_merge_conflict_status(
                conflict, models.MergeConflictStatus.FAILED, error[: jobs.MAX_ERROR_LENGTH]
            )
        else:
            ingest.set_merge_conflict_status(conflict, models.MergeConflictStatus.IN_QUEUE)


async def _apply(
    tx: Tx, conflict: models.MergeConflict, choice: str, embedding: bytes
) -> list[str]:
    """Returns the ids of the memory versions the resolution created."""
    if choice == KEEP_EXISTING:
        return []
    stamp = now()
    proposal: dict[str, Any] = conflict.proposal
    allowed = await category_names(tx, await ingest.project_of(tx, conflict.user_pk))
    targets = await ingest.current_versions(
        tx, [item["memory_id"] for item in conflict.conflicting_memories]
    )
    categories = sorted(set(proposal.get("categories", [])) & allowed)

    def version(chain_id: str, chain_seq: int) -> ingest.NewVersion:
        return ingest.NewVersion(
            user_pk=conflict.user_pk,
            chain_id=chain_id,
            chain_seq=chain_seq,
            session_id=conflict.session_id,
            content=conflict.new_memory_content,
            event_start=_time(proposal.get("event_start")),
            event_end=_time(proposal.get("event_end")),
            source_message_ids=list(proposal.get("source_message_ids", [])),
            subject_key=proposal.get("subject_key"),
            attribute_key=proposal.get("attribute_key"),
            attribute_value=proposal.get("attribute_value"),
            embedding=embedding,
            categories=categories,
        )

    if choice == KEEP_NEW and targets:
        created = []
        for old in targets:
            ingest.expire_version(old, stamp, models.ExpirationReason.MERGE_CONFLICT, conflict.id)
            chain_seq = await ingest.next_chain_seq(tx, old.chain_id)
            created.append(await ingest.add_version(tx, version(old.chain_id, chain_seq), stamp))
        return created
    chain_id = str(uuid.uuid4())
    created = [await ingest.add_version(tx, version(chain_id, 1), stamp)]
    if choice == KEEP_BOTH:
        for old in targets:
            await ingest.link_chains(tx, conflict.user_pk, chain_id, old.chain_id)
    return created
