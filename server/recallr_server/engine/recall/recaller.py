"""Context recall for a session, step by step: read, understand, search, rank, render."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import numpy as np

from recallr_server.domain.context import Progress, RecalledContext, RecallSettings, Strategy
from recallr_server.domain.speakers import ASSISTANT_NAME_KEY, USER_NAME_KEY, speaker_name
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
    plan_query,
    recall,
    resolve_strategy,
)
from recallr_server.engine.recall.speakers import spoken
from recallr_server.store import models
from recallr_server.store import recall as recall_store
from recallr_server.store.database import Database, Tx
from recallr_server.store.lookups import find_session, find_user

log = logging.getLogger("recallr.recall")

T = TypeVar("T")

# A model call is given up this long before the call's deadline, which leaves time to
# search and render without it; with less time left, recall does without the model.
MODEL_DEADLINE_MARGIN_SECONDS = 1.0
# What makes recall go on without the model: no usable answer, or no time for one.
MODEL_FAILURES = (LLMError, InvalidOutput, TimeoutError)


@dataclass(frozen=True)
class _Understood:
    """The conversation read and understood: for whom to search, and what for."""

    user: models.User
    current: models.Session
    # The session's latest messages, oldest first: the query's window and the last shown.
    recent: list[models.Message]
    # The query's window, as the model reads it.
    conversation: list[ChatMessage]
    strategy: Strategy
    plan: QueryPlan
    # `plan.dense_queries` embedded, in order.
    vectors: Matrix


class ContextRecaller:
    def __init__(
        self, db: Database, embedder: Embedder, cache: IndexCache, chat: ChatModel | None = None
    ) -> None:
        self._db = db
        self._embedder = embedder
        self._cache = cache
        # With a chat model, BALANCED plans with it and AGENTIC runs (recall/agentic.py).
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
        async with self._db.read() as tx:
            understood: _Understood | None = None
            reading = self._understand(tx, project_id, user_id, session_id, settings, deadline)
            async for event in reading:
                if isinstance(event, Progress):
                    yield event
                else:
                    understood = event
            assert understood is not None, "understanding ends with what it understood"

            yield Progress("retrieving_memories", "Searching memories, summaries and messages")
            found: Found | None = None
            async for step in self._retrieve(tx, understood, _limits(settings), deadline):
                if isinstance(step, Progress):
                    yield step
                else:
                    found = step
            assert found is not None, "the search ends with what it found"
            recalled = found.recalled

            yield Progress(
                "ranking",
                f"Ranked {len(recalled.memories)} memories and {len(recalled.messages)} messages",
            )
            yield Progress("rendering", "Writing the context")
            rendered = await _render(
                tx,
                understood,
                found,
                _last_messages(understood.recent, settings.last_n_messages),
                settings,
            )
        yield RecalledContext(
            rendered.text,
            understood.strategy,
            rendered.memory_ids,
            rendered.session_ids,
            rendered.message_ids,
            recalled.plan.queries,
            recalled.plan.keywords,
            recalled.plan.date_filters,
            found.reasoning,
        )

    async def _understand(
        self,
        tx: Tx,
        project_id: str,
        user_id: str,
        session_id: str,
        settings: RecallSettings,
        deadline: float | None,
    ) -> AsyncIterator[Progress | _Understood]:
        """Reads the conversation and what it asks; Progress if the model fails, then that."""
        recent, session_time = await recall_store.conversation(
            tx, project_id, user_id, session_id, max(QUERY_MESSAGES, settings.last_n_messages)
        )
        window = recent[-QUERY_MESSAGES:]
        # Speaker labels say who asks, not what about.
        texts = [spoken(m.content, None).text for m in window]
        chat = self._chat
        strategy = resolve_strategy(
            settings.strategy, texts[-1] if texts else "", has_chat_model=chat is not None
        )
        # The model plans the search of a conversation, unless the fastest recall is asked for.
        model = chat if window and strategy is not Strategy.LOW_LATENCY else None
        if strategy is Strategy.AGENTIC and model is None:
            strategy = Strategy.BALANCED  # an empty conversation: nothing to search for
        plan: QueryPlan | None = None
        early: asyncio.Future[Matrix] | None = None
        if model is None and session_time is not None:
            # Embedding the query is the longest step: it runs in a worker thread while
            # the user and the session are looked up.
            plan = plan_query(texts, strategy, session_time)
            early = asyncio.ensure_future(self._vectors(plan))
        user = await find_user(tx, project_id, user_id)
        current = await find_session(tx, user, session_id)
        conversation = [ChatMessage(m.id, m.role.value, m.content) for m in window]
        if model is not None:
            await recall_store.end_read(tx)
            try:
                search = await _ask(
                    partial(plan_search_llm, model, conversation, current.created_at), deadline
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
        yield _Understood(user, current, recent, conversation, strategy, plan, vectors)

    async def _retrieve(
        self, tx: Tx, understood: _Understood, limits: Limits, deadline: float | None
    ) -> AsyncIterator[Progress | Found]:
        """Searches as the strategy says: Progress for each AGENTIC round, then Found."""
        excluded = {m.id for m in understood.recent}
        if understood.strategy is Strategy.AGENTIC and self._chat is not None:
            async for event in self._rounds(self._chat, tx, understood, limits, excluded, deadline):
                yield event
        else:
            user, plan, vectors = understood.user, understood.plan, understood.vectors
            yield await self._search(tx, user, plan, vectors, limits, excluded)

    async def _vectors(self, plan: QueryPlan) -> Matrix:
        if not plan.dense_queries:
            return np.zeros((0, self._embedder.dimensions), np.float32)
        return await asyncio.to_thread(self._embedder.embed, plan.dense_queries)

    async def _search(
        self,
        tx: Tx,
        user: models.User,
        plan: QueryPlan,
        vectors: Matrix,
        limits: Limits,
        excluded: set[str],
    ) -> Found:
        async with self._cache.current(
            tx,
            user.pk,
            user.index_revision,
            user.message_revision,
            speaker_name(user.metadata_, USER_NAME_KEY),
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
        tx: Tx,
        understood: _Understood,
        limits: Limits,
        excluded: set[str],
        deadline: float | None,
    ) -> AsyncIterator[Progress | Found]:
        """AGENTIC: search, let the model review, search again; Progress per round, then Found.

        A review that fails ends the search with what the rounds so far found.
        """
        user, plan, vectors = understood.user, understood.plan, understood.vectors
        rounds = AgenticSearch(limits)
        for number in range(1, MAX_ROUNDS + 1):
            yield Progress(
                "search_round",
                f"Round {number} of at most {MAX_ROUNDS}: searching for "
                + "; ".join(plan.dense_queries),
            )
            rounds.add(await self._search(tx, user, plan, vectors, limits, excluded))
            await recall_store.end_read(tx)
            left = MAX_ROUNDS - number
            review_call = partial(
                review_search_llm,
                chat,
                understood.conversation,
                understood.current.created_at,
                searched=rounds.searched,
                found=rounds.listing(),
                searches_left=left,
            )
            try:
                review = await _ask(review_call, deadline)
            except MODEL_FAILURES as error:
                log.warning("recall: no review of round %d: %s", number, _reason(error))
                rounds.unreviewed()
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


def _limits(settings: RecallSettings) -> Limits:
    return Limits(
        settings.min_top_k,
        settings.max_top_k,
        settings.memories_threshold,
        settings.summaries_threshold,
        settings.last_n_summaries,
    )


def _last_messages(recent: Sequence[models.Message], n: int) -> Sequence[models.Message]:
    """The last `n` of the session's latest messages, shown as they are."""
    return recent[len(recent) - n :] if n else []


async def _render(
    tx: Tx,
    understood: _Understood,
    found: Found,
    last: Sequence[models.Message],
    settings: RecallSettings,
) -> context_text.Rendered:
    recalled, session_times = found.recalled, found.session_times
    current = understood.current
    sessions = {current.id: current.metadata_}
    wanted = {m.session_id for m in recalled.messages} - sessions.keys()
    if wanted:
        sessions.update(await recall_store.session_metadata(tx, wanted))
    user_name = speaker_name(understood.user.metadata_, USER_NAME_KEY) or "User"

    def entry(message: MessageDoc | models.Message) -> context_text.MessageEntry:
        role_speaker = (
            user_name
            if message.role == models.MessageRole.USER
            else speaker_name(sessions.get(message.session_id, {}), ASSISTANT_NAME_KEY)
            or "Assistant"
        )
        # A message its label credits to one speaker is shown as theirs, label taken off.
        said = spoken(message.content, role_speaker)
        labelled_alone = len(said.speakers) == 1 and said.text != message.content
        return context_text.MessageEntry(
            message.id,
            message.session_id,
            said.speakers[0] if labelled_alone else role_speaker,
            message.role,
            said.text if labelled_alone else message.content,
            message.created_at,
        )

    return context_text.render(
        zone=settings.zone,
        include_system_prompt=settings.include_system_prompt,
        memories=found.memories,
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
