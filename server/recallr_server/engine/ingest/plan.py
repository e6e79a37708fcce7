"""Planning a session's processing: its facts, how each changes the user's memories, and its
summary, decided from a snapshot and the session's messages, a chunk at a time, outside any
transaction.

A session's facts consolidate against the user's current memories and against the facts
planned before them in the same session, which stand in for memories under placeholder
ids until the plan is applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from recallr_server.domain.merge_conflicts import RESOLUTION_OPTIONS, conflicts_enabled
from recallr_server.domain.speakers import ASSISTANT_NAME_KEY, USER_NAME_KEY, speaker_name
from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.embeddings import Embedder
from recallr_server.engine.ingest.categorise import Categoriser
from recallr_server.engine.ingest.consolidation import (
    Candidate,
    Decision,
    Existing,
    Outcome,
    decide,
    merged_content,
    similar_first,
)
from recallr_server.engine.ingest.extraction import Cast, Fact, extract_facts, speaker_names
from recallr_server.engine.ingest.llm_steps import (
    ClarifyingQuestion,
    clarifying_questions_llm,
    extract_facts_llm,
    judge_llm,
    summarise_llm,
)
from recallr_server.engine.ingest.slots import Slotter
from recallr_server.engine.provider.llm import ChatModel
from recallr_server.engine.temporal import day_of
from recallr_server.engine.vectors import Vector, decode_vector
from recallr_server.store import models
from recallr_server.store.ingest import SessionSnapshot

# What a session processed by the local engine records as its extractor.
LOCAL_EXTRACTOR = "local"
MAX_SUMMARY_FACTS = 12
# How many of the most similar memories an LLM judges a new fact against.
JUDGED_CANDIDATES = 5
_PLACEHOLDER_PREFIX = "planned:"


def placeholder(number: int) -> str:
    """The id standing in for the chain of the plan's `number`th memory (from 1)."""
    return f"{_PLACEHOLDER_PREFIX}{number}"


def is_placeholder(chain_id: str) -> bool:
    return chain_id.startswith(_PLACEHOLDER_PREFIX)


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
    # Chains whose current version the fact ends without taking their place.
    ended_chains: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    memories: list[PlannedMemory]
    summary: str
    summary_embedding: Vector
    # What made the plan: LOCAL_EXTRACTOR or the chat model's `extractor`.
    extractor: str


def summarise(session_time: datetime, leading: Sequence[Fact], total: int) -> str:
    """A local, extractive summary: the session's date and the first of its `total` facts."""
    day = session_time.strftime("%d %B %Y").lstrip("0")
    if not total:
        return f"On {day}, a conversation with no lasting facts."
    listed = " ".join(f.content for f in leading[:MAX_SUMMARY_FACTS])
    more = total - MAX_SUMMARY_FACTS
    return f"On {day}: {listed}" + (f" (and {more} more facts)" if more > 0 else "")


class Planner:
    """Plans with the chat model when there is one, else with the local engine.

    A plan is wholly the model's or wholly the local engine's, so the session can say which
    wrote its memories. When the model gives no usable answer for some step, its `fallback`
    decides: FAIL raises the `LLMError` (`CircuitOpen` when the model was not asked), LOCAL
    plans the session again with the local engine (see `processing`).
    """

    def __init__(self, embedder: Embedder, chat: ChatModel | None = None) -> None:
        self._embedder = embedder
        self._categoriser = Categoriser(embedder)
        self._slotter = Slotter(embedder)
        # With a chat model, extraction, judging, questions and summaries use it.
        self.chat = chat

    def start(self, snapshot: SessionSnapshot, chat: ChatModel | None) -> SessionPlan:
        """A plan of the session's processing, to be given its messages a chunk at a time;
        `chat` None plans with the local engine."""
        return SessionPlan(self._embedder, self._categoriser, self._slotter, snapshot, chat)


class SessionPlan:
    """A session's plan in the making, read a chunk of messages at a time.

    Between chunks it keeps only what later chunks need: the facts planned so far (which
    later facts consolidate against, as they would within one chunk), the speakers, and
    what the summary needs (the first facts and their count, or the model's summary so
    far). No message outlives its chunk, save the few the caller carries over as context.
    """

    def __init__(
        self,
        embedder: Embedder,
        categoriser: Categoriser,
        slotter: Slotter,
        snapshot: SessionSnapshot,
        chat: ChatModel | None,
    ) -> None:
        self._embedder = embedder
        self._categoriser = categoriser
        self._slotter = slotter
        self._snapshot = snapshot
        self._chat = chat
        self._user_name = speaker_name(snapshot.user.metadata_, USER_NAME_KEY)
        self._assistant_name = speaker_name(snapshot.session.metadata_, ASSISTANT_NAME_KEY)
        self._cast = Cast.named(self._user_name, self._assistant_name)
        self._known = _Known(
            [self._existing(m, snapshot.memory_categories.get(m.id, [])) for m in snapshot.memories]
        )
        self._conflicts = conflicts_enabled(
            snapshot.user.merge_conflict_enabled, snapshot.project.merge_conflict_enabled
        )
        self._planned: list[PlannedMemory] = []
        # Each fact's content, as extracted, to its place in `_planned`: a later chunk
        # saying it again adds its message to that fact, as a repeat within a chunk does.
        self._stated: dict[str, int] = {}
        # The first facts extracted, which a local summary lists, and the model's summary.
        self._leading: list[Fact] = []
        self._summary: str | None = None

    def add(self, messages: Sequence[ChatMessage], context: int = 0) -> None:
        """Plans the next chunk: `messages`, whose first `context` close the chunk before
        and are read again only as context."""
        facts = self._slotted(self._new(self._extract(messages, context)))
        self._leading.extend(facts[: MAX_SUMMARY_FACTS - len(self._leading)])
        if self._chat is not None:
            self._summary = summarise_llm(
                self._chat, messages[context:], self._now, earlier=self._summary
            )
        vectors = self._embedder.embed([f.content for f in facts])
        for fact, vector in zip(facts, vectors, strict=True):
            self._plan_fact(fact, vector)

    def finish(self) -> Plan:
        if self._chat is None:
            summary = summarise(self._now, self._leading, len(self._planned))
        else:
            assert self._summary is not None, "a plan is given at least one chunk"
            summary = self._summary
        extractor = LOCAL_EXTRACTOR if self._chat is None else self._chat.extractor
        return Plan(self._planned, summary, self._embedder.embed([summary])[0], extractor)

    @property
    def _now(self) -> datetime:
        return self._snapshot.session.created_at

    def _extract(self, messages: Sequence[ChatMessage], context: int) -> list[Fact]:
        snapshot = self._snapshot
        if self._chat is not None:
            # A transcript naming its speakers only in labels ("Melanie: ...") is told to
            # the model as metadata names would be, so that its facts name them too.
            user_name, other_name = speaker_names(messages, self._cast)
            return extract_facts_llm(
                self._chat,
                messages,
                now=self._now,
                categories=snapshot.categories,
                user_name=user_name,
                other_name=other_name,
                context=context,
            )
        return extract_facts(
            messages,
            now=self._now,
            categories=snapshot.categories,
            context=context,
            cast=self._cast,
        )

    def _new(self, facts: list[Fact]) -> list[Fact]:
        """The facts not stated in an earlier chunk; a restated one adds its messages to
        the fact first planned."""
        new = []
        for fact in facts:
            earlier = self._stated.get(fact.content)
            if earlier is None:
                new.append(fact)
                continue
            planned = self._planned[earlier]
            sources = list(
                dict.fromkeys([*planned.fact.source_message_ids, *fact.source_message_ids])
            )
            self._planned[earlier] = replace(
                planned, fact=replace(planned.fact, source_message_ids=sources)
            )
        return new

    def _plan_fact(self, fact: Fact, vector: Vector) -> None:
        candidate = Candidate(
            fact.content,
            vector,
            fact.event_start,
            fact.subject_key,
            fact.attribute_key,
            fact.value,
            ends=fact.ends,
            topic=fact.topic,
        )
        known, chat = self._known, self._chat
        outcome = _decide(
            chat, candidate, known.existing, known.similarities(vector), self._conflicts
        )
        self._stated.setdefault(fact.content, len(self._planned))
        fact = replace(
            fact,
            categories=self._categoriser.complete(
                fact.categories, vector, self._snapshot.categories
            ),
        )
        fact, vector = self._versioned(fact, vector, outcome, self._now)
        ended = [memory.chain_id for memory in outcome.ended]
        self._planned.append(
            PlannedMemory(
                fact,
                vector,
                outcome.decision,
                outcome.target,
                outcome.related_chains,
                outcome.reason,
                _questions(chat, fact, outcome),
                ended,
            )
        )
        if outcome.decision in (Decision.NEW, Decision.ADDITION, Decision.TEMPORAL_UPDATE):
            # Later facts of the same session consolidate against this one too.
            known.add_planned(len(self._planned), fact, vector, outcome.target, ended)

    def _slotted(self, facts: list[Fact]) -> list[Fact]:
        """The facts the parse read no attribute from, placed in a slot by the meaning of
        their gist when they fill one: the slot is kept as their attribute, without a value,
        so that later sessions find it too."""
        unplaced = [i for i, f in enumerate(facts) if f.attribute_key is None and f.gist]
        if not unplaced:
            return facts
        gists = self._embedder.embed([facts[i].gist or "" for i in unplaced])
        placed = list(facts)
        for i, vector in zip(unplaced, gists, strict=True):
            slot = self._slotter.nearest(vector)
            if slot is not None:
                placed[i] = replace(facts[i], attribute_key=slot)
        return placed

    def _versioned(
        self, fact: Fact, vector: Vector, outcome: Outcome, now: datetime
    ) -> tuple[Fact, Vector]:
        """The fact as the new version of its target: an addition keeps what the target
        said (and its dates, when the addition has none of its own); an ended state keeps
        the target's attribute (the slot of what it ended), so that the next value of it
        replaces this version."""
        target = outcome.target
        if target is None:
            return fact, vector
        if outcome.decision == Decision.TEMPORAL_UPDATE and (
            fact.attribute_key is None or fact.ends
        ):
            return replace(fact, attribute_key=target.attribute_key or fact.attribute_key), vector
        if outcome.decision != Decision.ADDITION:
            return fact, vector
        content = merged_content(fact.content, target.content)
        if content == fact.content:
            return fact, vector
        categories = sorted({*fact.categories, *target.categories})
        merged = replace(fact, content=content, categories=categories)
        if target.event_start is not None and _undated(fact, now):
            merged = replace(
                merged, event_start=target.event_start, event_end=target.event_end or fact.event_end
            )
        return merged, self._embedder.embed([content])[0]

    def _existing(self, memory: models.Memory, categories: list[str]) -> Existing:
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
            memory.event_end_at,
            categories=tuple(categories),
        )


def _undated(fact: Fact, now: datetime) -> bool:
    """The fact is dated to the session's day: it names no time of its own."""
    return (fact.event_start, fact.event_end) == day_of(now)


def _decide(
    chat: ChatModel | None,
    candidate: Candidate,
    existing: list[Existing],
    similarities: Vector,
    conflicts: bool,
) -> Outcome:
    if chat is None:
        return decide(candidate, existing, similarities, conflicts_enabled=conflicts)
    nearest = similar_first(similarities, JUDGED_CANDIDATES)
    return judge_llm(chat, candidate, [existing[i] for i in nearest], conflicts_enabled=conflicts)


def _questions(
    chat: ChatModel | None, fact: Fact, outcome: Outcome
) -> list[ClarifyingQuestion] | None:
    """The model's wording of a conflict's question, when there is a model."""
    if outcome.decision != Decision.CONFLICT or chat is None:
        return None
    assert outcome.target is not None
    return clarifying_questions_llm(
        chat, fact.content, [outcome.target.content], options=RESOLUTION_OPTIONS
    )


class _Known:
    """The memories a session's next fact consolidates against, with their embeddings."""

    def __init__(self, existing: list[Existing]) -> None:
        self.existing = existing
        self._matrix = np.stack([e.embedding for e in existing]) if existing else None

    def similarities(self, vector: Vector) -> Vector:
        """The cosine similarity of `vector` and each memory in `existing`."""
        if self._matrix is None:
            return np.zeros(0, np.float32)
        similarities: Vector = self._matrix @ vector
        return similarities

    def add_planned(
        self,
        number: int,
        fact: Fact,
        vector: Vector,
        target: Existing | None,
        ended: Sequence[str] = (),
    ) -> None:
        """The plan's `number`th fact becomes the current version of its chain; the chains
        it ends are no longer current."""
        chain = target.chain_id if target else placeholder(number)
        gone = {chain, *ended}
        keep = [i for i, e in enumerate(self.existing) if e.chain_id not in gone]
        self.existing = [self.existing[i] for i in keep]
        self.existing.append(
            Existing(
                placeholder(number),
                chain,
                fact.content,
                vector,
                fact.event_start,
                fact.subject_key,
                fact.attribute_key,
                fact.value,
                fact.event_end,
                planned=True,
                categories=tuple(fact.categories),
                ended_state=bool(fact.ends),
            )
        )
        rows = [self._matrix[keep]] if self._matrix is not None else []
        self._matrix = np.vstack([*rows, vector[np.newaxis, :]])
