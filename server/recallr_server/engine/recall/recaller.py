"""Context recall for a session, step by step: read, understand, search, rank, render."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from functools import partial
from typing import TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.domain.context import Progress, RecalledContext, RecallSettings, Strategy
from recallr_server.domain.speakers import ASSISTANT_NAME_KEY, USER_NAME_KEY, speaker_name
from recallr_server.domain.validation import is_uuid
from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.embeddings import Embedder, Matrix
from recallr_server.engine.provider.llm import ChatModel, InvalidOutput, LLMError
from recallr_server.engine.recall import context_text
from recallr_server.engine.recall.agentic import MAX_ROUNDS, AgenticSearch, Found, model_query_plan
from recallr_server.engine.recall.index import IndexCache, MessageDoc
from recallr_server.engine.recall.llm_steps import plan_search_llm, review_search_llm
from recallr_server.engine.recall.retrieval import (
    QUERY_MESSAGES,
    Limits,
    QueryPlan,
    Recalled,
    plan_query,
    recall,
    resolve_strategy,
)
from recallr_server.store import models
from recallr_server.store.database import Database
from recallr_server.store.lookups import find_session, find_user

log = logging.getLogger("recallr.recall")

T = TypeVar("T")

# A model call is given up this long before the call's deadline, which leaves time to
# search and render without it; with less time left, recall does without the model.
MODEL_DEADLINE_MARGIN_SECONDS = 1.0
# What makes recall go on without the model: no usable answer, or no time for one.
MODEL_FAILURES = (LLMError, InvalidOutput, TimeoutError)


class ContextRecaller:
    def __init__(
        self, db: Database, embedder: Embedder, cache: IndexCache, chat: ChatModel | None = None
    ) -> None:
        self._db = db
        self._embedder = embedder
        self._cache = cache
        # With a chat model, BALANCED plans with it and AGENTIC runs (engine/agentic.py).
        self._chat = chat

    async def steps(
        self,
        project_id: str,
        user_id: str,
        session_id: str,
        settings: RecallSettings,
        *,
        deadline: float | None = None,
    ) -> AsyncIterator[Progress | RecalledContext]:
        """Progress for each step, then exactly one RecalledContext.

        `deadline`, a `time.monotonic()` instant, bounds how long the model is waited for.
        """
        yield Progress("understanding_query", "Reading the conversation and what it asks")
        async with self._db.read() as session:
            recent, session_time = await _conversation(
                session,
                project_id,
                user_id,
                session_id,
                max(QUERY_MESSAGES, settings.last_n_messages),
            )
            window = recent[-QUERY_MESSAGES:]
            latest = window[-1].content if window else ""
            chat = self._chat
            strategy = resolve_strategy(settings.strategy, latest, has_chat_model=chat is not None)
            texts = [m.content for m in window]
            conversation = [ChatMessage(m.id, m.role.value, m.content) for m in window]
            plan: QueryPlan | None = None
            asks_model = chat is not None and bool(window) and strategy is not Strategy.LOW_LATENCY
            if strategy is Strategy.AGENTIC and not asks_model:
                strategy = Strategy.BALANCED  # an empty conversation: nothing to search for
            early: asyncio.Future[Matrix] | None = None
            if not asks_model and session_time is not None:
                # Embedding the query is the longest step: it runs in a worker thread while
                # the user and the session are looked up.
                plan = plan_query(texts, strategy, session_time)
                early = asyncio.ensure_future(self._vectors(plan))
            user = await find_user(session, project_id, user_id)
            current = await find_session(session, user, session_id)
            if asks_model and chat is not None:
                await _pause(session)
                try:
                    search = await _ask(
                        partial(plan_search_llm, chat, conversation, current.created_at),
                        deadline,
                    )
                except MODEL_FAILURES as error:
                    log.warning("recall: no search plan from the model: %s", _reason(error))
                    yield Progress(
                        "model_fallback",
                        f"The language model could not plan the search ({type(error).__name__});"
                        " understanding the conversation locally",
                    )
                    strategy = Strategy.BALANCED
                else:
                    plan = model_query_plan(texts, search, strategy)
            if plan is None:
                plan = plan_query(texts, strategy, current.created_at)
            vectors = await (early if early is not None else self._vectors(plan))
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
            excluded = {m.id for m in recent}

            yield Progress("retrieving_memories", "Searching memories, summaries and messages")
            if strategy is Strategy.AGENTIC and chat is not None:
                found: Found | None = None
                rounds = self._rounds(
                    chat,
                    session,
                    user,
                    plan,
                    vectors,
                    limits=limits,
                    excluded=excluded,
                    conversation=conversation,
                    now=current.created_at,
                    deadline=deadline,
                )
                async for event in rounds:
                    if isinstance(event, Progress):
                        yield event
                    else:
                        found = event
                assert found is not None, "the rounds end with what they found"
            else:
                found = await self._search(session, user, plan, vectors, limits, excluded)
            recalled = found.recalled

            yield Progress(
                "ranking",
                f"Ranked {len(recalled.memories)} memories and {len(recalled.messages)} messages",
            )
            yield Progress("rendering", "Writing the context")
            rendered = await _render(
                session,
                user,
                current,
                found.memories,
                recalled,
                last,
                found.session_times,
                settings,
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

    async def _vectors(self, plan: QueryPlan) -> Matrix:
        if not plan.dense_queries:
            return np.zeros((0, self._embedder.dimensions), np.float32)
        return await asyncio.to_thread(self._embedder.embed, plan.dense_queries)

    async def _search(
        self,
        session: AsyncSession,
        user: models.User,
        plan: QueryPlan,
        vectors: Matrix,
        limits: Limits,
        excluded: set[str],
    ) -> Found:
        async with self._cache.current(
            session, user.pk, user.index_revision, user.message_revision
        ) as index:
            recalled = recall(index, plan, vectors, limits, excluded)
            # Copied out while the index is held: a later refresh may change it.
            memories = [
                context_text.MemoryEntry(
                    m.doc, index.chain(m.doc.chain_id), index.connected(m.doc.chain_id)
                )
                for m in recalled.memories
            ]
            session_times = dict(index.session_times)
        return Found(recalled, memories, session_times)

    async def _rounds(
        self,
        chat: ChatModel,
        session: AsyncSession,
        user: models.User,
        plan: QueryPlan,
        vectors: Matrix,
        *,
        limits: Limits,
        excluded: set[str],
        conversation: list[ChatMessage],
        now: datetime,
        deadline: float | None,
    ) -> AsyncIterator[Progress | Found]:
        """AGENTIC: search, let the model review, search again; Progress per round, then Found.

        A review that fails ends the search with what the rounds so far found.
        """
        rounds = AgenticSearch(limits)
        for number in range(1, MAX_ROUNDS + 1):
            yield Progress(
                "search_round",
                f"Round {number} of at most {MAX_ROUNDS}: searching for "
                + "; ".join(plan.dense_queries),
            )
            rounds.add(await self._search(session, user, plan, vectors, limits, excluded))
            await _pause(session)
            left = MAX_ROUNDS - number
            review_call = partial(
                review_search_llm,
                chat,
                conversation,
                now,
                searched=rounds.searched,
                found=rounds.listing(),
                searches_left=left,
            )
            try:
                review = await _ask(review_call, deadline)
            except MODEL_FAILURES as error:
                log.warning("recall: no review of round %d: %s", number, _reason(error))
                yield Progress(
                    "model_fallback",
                    f"The language model could not review round {number} "
                    f"({type(error).__name__}); keeping what was found",
                )
                break
            rounds.judge(review)
            follow_up = rounds.next_plan(review) if left else None
            if follow_up is None:
                break
            plan = follow_up
            vectors = await self._vectors(plan)
        yield rounds.result()


async def _pause(session: AsyncSession) -> None:
    """Ends the read transaction before waiting for the model, so no connection idles in it.

    Nothing was written; the loaded rows stay usable, and the next read begins anew.
    """
    await session.commit()


async def _ask(call: Callable[[], T], deadline: float | None) -> T:
    """A model call in a worker thread, given up `MODEL_DEADLINE_MARGIN_SECONDS` before
    `deadline` (the thread then finishes on its own, within the client's timeouts)."""
    if deadline is None:
        return await asyncio.to_thread(call)
    budget = deadline - time.monotonic() - MODEL_DEADLINE_MARGIN_SECONDS
    if budget <= 0:
        raise TimeoutError("too little time is left before the deadline")
    return await asyncio.wait_for(asyncio.to_thread(call), budget)


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def _conversation(
    session: AsyncSession, project_id: str, user_id: str, session_id: str, n: int
) -> tuple[list[models.Message], datetime | None]:
    """The session's last `n` messages, oldest first, and the session's time.

    One query, scoped to the project like every lookup; nothing when the user or the
    session does not exist (the lookups that follow say which) or it has no messages.
    """
    if not is_uuid(session_id):
        return [], None
    rows = (
        await session.execute(
            select(models.Message, models.Session.created_at)
            .join(models.Session, models.Session.id == models.Message.session_id)
            .join(models.User, models.User.pk == models.Session.user_pk)
            .where(
                models.User.project_id == project_id,
                models.User.user_id == user_id,
                models.Session.id == session_id.lower(),
            )
            .order_by(models.Message.seq.desc())
            .limit(n)
        )
    ).all()
    return [message for message, _ in reversed(rows)], rows[0][1] if rows else None


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
    user_name = speaker_name(user.metadata_, USER_NAME_KEY) or "User"

    def entry(message: MessageDoc | models.Message) -> context_text.MessageEntry:
        speaker = (
            user_name
            if message.role == models.MessageRole.USER
            else speaker_name(sessions.get(message.session_id, {}), ASSISTANT_NAME_KEY)
            or "Assistant"
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
