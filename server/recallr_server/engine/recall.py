"""Context recall for a session, step by step: read, understand, search, rank, render."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.engine import context_text
from recallr_server.engine.embeddings import Embedder
from recallr_server.engine.recall_index import IndexCache, MessageDoc
from recallr_server.engine.retrieval import (
    QUERY_MESSAGES,
    Limits,
    Recalled,
    Strategy,
    plan_query,
    recall,
    resolve_strategy,
)
from recallr_server.store import models
from recallr_server.store.database import Database
from recallr_server.store.lookups import find_session, find_user


@dataclass(frozen=True)
class RecallSettings:
    """Validated RecallOptions with their defaults applied."""

    strategy: Strategy
    min_top_k: int
    max_top_k: int
    memories_threshold: float
    summaries_threshold: float
    last_n_messages: int
    last_n_summaries: int
    zone: ZoneInfo
    include_system_prompt: bool
    include_metadata_ids: bool


@dataclass(frozen=True)
class Progress:
    step: str
    message: str


@dataclass(frozen=True)
class RecalledContext:
    text: str
    strategy_used: Strategy
    memory_ids: list[str] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    date_filters: list[tuple[datetime, datetime]] = field(default_factory=list)


def speaker_name(metadata: dict[str, Any], key: str, fallback: str) -> str:
    """How a speaker is called: the user's "name", the session's "assistant_name"."""
    value = metadata.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else fallback


class ContextRecaller:
    def __init__(self, db: Database, embedder: Embedder, cache: IndexCache) -> None:
        self._db = db
        self._embedder = embedder
        self._cache = cache

    async def steps(
        self, project_id: str, user_id: str, session_id: str, settings: RecallSettings
    ) -> AsyncIterator[Progress | RecalledContext]:
        """Progress for each step, then exactly one RecalledContext."""
        yield Progress("understanding_query", "Reading the conversation and what it asks")
        async with self._db.read() as session:
            user = await find_user(session, project_id, user_id)
            current = await find_session(session, user, session_id)
            recent = await _last_messages(
                session, current.id, max(QUERY_MESSAGES, settings.last_n_messages)
            )
            window = recent[-QUERY_MESSAGES:]
            latest = window[-1].content if window else ""
            strategy = resolve_strategy(settings.strategy, latest)
            plan = plan_query([m.content for m in window], strategy, current.created_at)
            vectors = (
                await asyncio.to_thread(self._embedder.embed, plan.dense_queries)
                if plan.dense_queries
                else np.zeros((0, self._embedder.dimensions), np.float32)
            )
            last = (
                recent[len(recent) - settings.last_n_messages :] if settings.last_n_messages else []
            )
            limits = Limits(
                settings.min_top_k,
                settings.max_top_k,
                settings.memories_threshold,
                settings.summaries_threshold,
                settings.last_n_summaries,
            )

            yield Progress("retrieving_memories", "Searching memories, summaries and messages")
            async with self._cache.current(
                session, user.pk, user.index_revision, user.message_revision
            ) as index:
                recalled = recall(index, plan, vectors, limits, {m.id for m in recent})
                # Copied out while the index is held: a later refresh may change it.
                memories = [
                    context_text.MemoryEntry(
                        m.doc, index.chain(m.doc.chain_id), index.connected(m.doc.chain_id)
                    )
                    for m in recalled.memories
                ]
                session_times = dict(index.session_times)

            yield Progress(
                "ranking",
                f"Ranked {len(recalled.memories)} memories and {len(recalled.messages)} messages",
            )
            yield Progress("rendering", "Writing the context")
            rendered = await _render(
                session, user, current, memories, recalled, last, session_times, settings
            )
        yield RecalledContext(
            rendered.text,
            strategy,
            rendered.memory_ids,
            rendered.session_ids,
            rendered.message_ids,
            recalled.plan.queries,
            recalled.plan.keywords,
            recalled.plan.date_filters,
        )


async def _last_messages(session: AsyncSession, session_id: str, n: int) -> list[models.Message]:
    rows = await session.scalars(
        select(models.Message)
        .where(models.Message.session_id == session_id)
        .order_by(models.Message.seq.desc())
        .limit(n)
    )
    return list(reversed(rows.all()))


async def _render(
    session: AsyncSession,
    user: models.User,
    current: models.Session,
    memories: list[context_text.MemoryEntry],
    recalled: Recalled,
    last: Sequence[models.Message],
    session_times: dict[str, datetime],
    settings: RecallSettings,
) -> context_text.Rendered:
    sessions = {current.id: current.metadata_}
    wanted = {m.session_id for m in recalled.messages} - sessions.keys()
    if wanted:
        sessions.update(
            (
                await session.execute(
                    select(models.Session.id, models.Session.metadata_).where(
                        models.Session.id.in_(wanted)
                    )
                )
            ).all()
        )
    user_name = speaker_name(user.metadata_, "name", "User")

    def entry(message: MessageDoc | models.Message) -> context_text.MessageEntry:
        speaker = (
            user_name
            if message.role == models.MessageRole.USER
            else speaker_name(sessions.get(message.session_id, {}), "assistant_name", "Assistant")
        )
        return context_text.MessageEntry(
            message.id,
            message.session_id,
            speaker,
            message.role,
            message.content,
            message.created_at,
        )

    return context_text.render(
        zone=settings.zone,
        include_system_prompt=settings.include_system_prompt,
        memories=memories,
        summaries=[
            context_text.SummaryEntry(
                s.session_id, session_times.get(s.session_id, s.created_at), s.text
            )
            for s in recalled.summaries
        ],
        recalled_messages=[entry(m) for m in sorted(recalled.messages, key=lambda m: m.seq)],
        session_times=session_times,
        last_messages=[entry(m) for m in last],
    )
