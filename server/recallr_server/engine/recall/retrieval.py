"""Context recall: understanding the conversation, searching a user's index, ranking.

Pure functions over a `UserIndex`; the caller reads the database and embeds the queries.

Ranking fuses ranked lists with reciprocal rank fusion (RRF): BM25 over memories, dense
similarity over memories (one list per query vector), BM25 over raw messages and, when
the query asks for the latest state, recency. Memories and raw messages compete in one
ranking because both carry evidence. A memory also earns part of the rank of the
messages it was extracted from, and a message part of the rank of its memories: the two
views of one turn reinforce each other.

Relevance, which the thresholds apply to, is a number in [0, 1] that does not depend on
the other candidates: a logistic model's estimate that the text is relevant rather than
an unrelated candidate (both classes weighted alike), from the share of the query's
IDF-weighted terms the text contains and its dense similarity (a raw message's is the
best of its memories'), rescaled so that cosine 0.2 maps to 0 and 0.7 to 1. The model
was fitted on the LoCoMo tuning conversations (bench/locomo_calibration.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from recallr_server.domain.context import Strategy
from recallr_server.engine.embeddings import Matrix
from recallr_server.engine.recall.context_text import MAX_CONNECTED_SHOWN, MAX_VERSIONS_SHOWN
from recallr_server.engine.recall.index import MemoryDoc, MessageDoc, SummaryDoc, UserIndex
from recallr_server.engine.recall.lexical import stem_of, weighted_terms, words
from recallr_server.engine.temporal import make_absolute, resolve_time_expressions, shifted

# The query is the current session's last messages: the newest carries the question,
# the ones before it (up to 3 exchanges) what it refers to.
QUERY_MESSAGES = 6
# Weight of an earlier message's terms against the newest message's, per step back.
EARLIER_MESSAGE_DECAY = 0.5
RRF_K = 5.0
MESSAGE_WEIGHT = 1.5
# How much of the rank of a memory's source messages it inherits, and vice versa.
CROSS_EVIDENCE_WEIGHT = 0.5
# Only this many of each list take part in fusion; deeper ranks add noise, not recall.
FUSION_DEPTH = 200
DENSE_FLOOR, DENSE_CEILING = 0.2, 0.7
# Relevance of a memory and of a raw message: logistic models (intercept, then one
# weight per feature of `memory_features` / `message_features`) fitted by
# bench/locomo_calibration.py on the LoCoMo tuning conversations.
MEMORY_RELEVANCE = (-1.134, 3.966, 1.716)
MESSAGE_RELEVANCE = (-2.014, 5.221, 1.972)
# Session summaries recalled for relevance, beyond the most recent ones asked for: one
# per this many of max_top_k, at most MAX_RELEVANT_SUMMARIES. A summary is as long as
# several memories, so a small context must not be mostly summaries.
MAX_RELEVANT_SUMMARIES = 5
TOP_K_PER_SUMMARY = 5
# People talk about events after they happen: a raw message inside a date filter may
# come from a session up to this long after the filtered period.
MESSAGE_DATE_SLACK = timedelta(days=31)
# Expansion terms from the best first-pass memories (BALANCED), and their weight.
EXPANSION_TERMS = 5
EXPANSION_WEIGHT = 0.3
EXPANSION_SOURCES = 3

_RECENCY_CUES = re.compile(
    r"\b(?:now|currently|current|these days|nowadays|latest|most recent(?:ly)?|still|"
    r"anymore|any more|at the moment|today|right now|recently|lately)\b",
    re.IGNORECASE,
)
_VAGUE_TIME = re.compile(r"(?:(?:just|very|only)\s+)?(?:recently|lately)", re.IGNORECASE)
_TEMPORAL_CUES = re.compile(
    r"\b(?:when|what (?:day|date|year|month|time)|how long|since|ago|before|after|"
    r"last|yesterday|recently|latest|now|currently)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class QueryPlan:
    """What recall understood from the conversation, and will search for."""

    strategy: Strategy
    # Texts searched densely, newest message first.
    dense_queries: list[str]
    term_weights: dict[str, float]
    keywords: list[str]
    date_filters: list[tuple[datetime, datetime]]
    prefers_recent: bool
    # Texts searched in all, for provenance.
    queries: list[str] = field(default_factory=list)


def resolve_strategy(requested: Strategy, latest: str, *, has_chat_model: bool = False) -> Strategy:
    """The strategy that runs. AGENTIC needs a chat model; without one it is BALANCED."""
    if requested is Strategy.AUTO:
        # Dates and "now" need understanding; a plain factual question does not.
        return Strategy.BALANCED if _TEMPORAL_CUES.search(latest) else Strategy.LOW_LATENCY
    if requested is Strategy.AGENTIC and not has_chat_model:
        return Strategy.BALANCED
    return requested


def plan_query(messages: Sequence[str], strategy: Strategy, now: datetime) -> QueryPlan:
    """Understands the conversation. `messages` are oldest first; `now` is the session's time."""
    if not messages:
        return QueryPlan(strategy, [], {}, [], [], False)
    latest = messages[-1]
    weighted = [(m, EARLIER_MESSAGE_DECAY**back) for back, m in enumerate(reversed(messages))]
    dense = [latest]
    date_filters: list[tuple[datetime, datetime]] = []
    prefers_recent = False
    if strategy is Strategy.BALANCED:
        mentions = resolve_time_expressions(latest, now)
        # "Recently" names no period: it asks for the latest, not for the last 30 days.
        mentions = [m for m in mentions if not _VAGUE_TIME.fullmatch(m.text)]
        date_filters = [(m.start, m.end) for m in mentions]
        prefers_recent = bool(_RECENCY_CUES.search(latest)) and not date_filters
        if mentions:
            # "last May" also matches text that says "May 2023".
            absolute = make_absolute(latest, mentions)
            weighted.append((absolute, 1.0))
            dense = [absolute]
        if len(messages) > 1:
            dense.append("\n".join(messages))
    term_weights = weighted_terms(weighted)
    keywords = list(dict.fromkeys(w for text, _ in weighted for w in words(text)))
    return QueryPlan(
        strategy,
        dense,
        term_weights,
        keywords,
        date_filters,
        prefers_recent,
        queries=list(dict.fromkeys([latest, *dense])),
    )


@dataclass(frozen=True)
class Limits:
    min_top_k: int
    max_top_k: int
    memories_threshold: float
    summaries_threshold: float
    last_n_summaries: int


@dataclass(frozen=True)
class RankedMemory:
    doc: MemoryDoc
    relevance: float


@dataclass(frozen=True)
class Recalled:
    memories: list[RankedMemory]
    messages: list[MessageDoc]
    summaries: list[SummaryDoc]
    plan: QueryPlan


def recall(
    index: UserIndex,
    plan: QueryPlan,
    query_vectors: Matrix,
    limits: Limits,
    excluded_messages: set[str],
) -> Recalled:
    """Ranks the index for a plan; `query_vectors` embed `plan.dense_queries` in order."""
    memories, messages = _rank(index, plan, query_vectors, limits, excluded_messages)
    summaries = _summaries(index, plan, query_vectors, limits)
    understood = plan.strategy in (Strategy.BALANCED, Strategy.AGENTIC)
    if understood and plan.term_weights and memories:
        expanded = _expanded(index, plan, memories)
        if expanded is not plan:
            memories, messages = _rank(index, expanded, query_vectors, limits, excluded_messages)
            plan = expanded
    return Recalled(memories, messages, summaries, plan)


def _expanded(index: UserIndex, plan: QueryPlan, memories: list[RankedMemory]) -> QueryPlan:
    """Pseudo-relevance feedback: the rarest words of the best memories join the query."""
    lexical = index.memories.lexical
    seen = set(plan.term_weights)
    candidates: dict[str, tuple[float, str]] = {}
    for memory in memories[:EXPANSION_SOURCES]:
        for word in words(memory.doc.content):
            stem = stem_of(word)
            if stem not in seen:
                candidates[stem] = (lexical.idf(stem), word)
    best = sorted(candidates.items(), key=lambda item: -item[1][0])[:EXPANSION_TERMS]
    if not best:
        return plan
    weights = dict(plan.term_weights)
    weights.update((stem, EXPANSION_WEIGHT) for stem, _ in best)
    return QueryPlan(
        plan.strategy,
        plan.dense_queries,
        weights,
        plan.keywords + [word for _, (_, word) in best],
        plan.date_filters,
        plan.prefers_recent,
        plan.queries,
    )


def _rrf(scores: NDArray[np.float64], eligible: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Reciprocal-rank contributions of a score list: 1 / (k + rank) over its top entries."""
    fused = np.zeros(len(scores))
    candidates = np.flatnonzero(eligible & (scores > 0))
    if len(candidates) == 0:
        return fused
    if len(candidates) > FUSION_DEPTH:
        # Only the top of the list counts: select it, then sort just that.
        candidates = candidates[np.argpartition(-scores[candidates], FUSION_DEPTH)[:FUSION_DEPTH]]
        candidates.sort()
    top = candidates[np.argsort(-scores[candidates], kind="stable")]
    fused[top] = 1.0 / (RRF_K + np.arange(1, len(top) + 1))
    return fused


def _dense_relevance(similarity: NDArray[np.float64]) -> NDArray[np.float64]:
    rescaled: NDArray[np.float64] = np.clip(
        (similarity - DENSE_FLOOR) / (DENSE_CEILING - DENSE_FLOOR), 0.0, 1.0
    )
    return rescaled


def _in_filters(
    starts: Sequence[datetime | None],
    ends: Sequence[datetime | None],
    filters: Sequence[tuple[datetime, datetime]],
    slack: timedelta = timedelta(0),
) -> NDArray[np.bool_]:
    inside = np.zeros(len(starts), dtype=np.bool_)
    for position, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if start is None:
            continue
        last = end or start
        inside[position] = any(start < shifted(high, slack) and last > low for low, high in filters)
    return inside


@dataclass(frozen=True)
class Scored:
    """What one search gave every memory and raw message (arrays by index position).

    `*_total` is the fused rank score, with what each view of a turn lends the other
    (0: not a candidate); the rest are what relevance is estimated from.
    """

    memory_total: NDArray[np.float64]
    message_total: NDArray[np.float64]
    # The best cosine similarity of a memory to a query vector, and of the memories
    # drawn from a message (the memories fusion found).
    memory_similarity: NDArray[np.float64]
    message_similarity: NDArray[np.float64]
    # The share of the query's IDF-weighted terms a text holds.
    memory_share: NDArray[np.float64]
    message_share: NDArray[np.float64]


def score(
    index: UserIndex, plan: QueryPlan, query_vectors: Matrix, excluded_messages: set[str]
) -> Scored:
    """Fuses the ranked lists of one search over the index."""
    memory_docs, message_docs = index.memories.docs, index.messages.docs
    memory_alive, message_alive = _eligible(index, plan, excluded_messages)
    memory_bm25, memory_share = index.memories.lexical.scores(plan.term_weights)
    message_bm25, message_share = index.messages.lexical.scores(plan.term_weights)
    memory_fused = _rrf(memory_bm25, memory_alive)
    memory_similarity = np.zeros(len(memory_docs))
    for vector in query_vectors:
        similarity = index.memories.vectors @ vector
        memory_fused += _rrf(similarity.astype(np.float64), memory_alive)
        memory_similarity = np.maximum(memory_similarity, similarity)
    message_fused = MESSAGE_WEIGHT * _rrf(message_bm25, message_alive)
    if plan.prefers_recent:
        memory_fused += _rrf(_recency(memory_docs, memory_fused), memory_alive)
        message_fused += _rrf(_recency(message_docs, message_fused, index), message_alive)

    memory_total, message_total, message_similarity = _lend_evidence(
        index, memory_fused, message_fused, memory_similarity
    )
    memory_total[~memory_alive] = 0.0
    message_total[~message_alive] = 0.0
    return Scored(
        memory_total,
        message_total,
        memory_similarity,
        message_similarity,
        memory_share,
        message_share,
    )


def memory_features(scored: Scored) -> NDArray[np.float64]:
    """What a memory's relevance is estimated from, one row per memory."""
    return np.column_stack([scored.memory_share, _dense_relevance(scored.memory_similarity)])


def message_features(scored: Scored) -> NDArray[np.float64]:
    """What a raw message's relevance is estimated from, one row per message."""
    return np.column_stack([scored.message_share, _dense_relevance(scored.message_similarity)])


def _estimate(features: NDArray[np.float64], model: Sequence[float]) -> NDArray[np.float64]:
    logit = model[0] + features @ np.asarray(model[1:])
    estimate: NDArray[np.float64] = 1 / (1 + np.exp(-logit))
    return estimate


def _rank(
    index: UserIndex,
    plan: QueryPlan,
    query_vectors: Matrix,
    limits: Limits,
    excluded_messages: set[str],
) -> tuple[list[RankedMemory], list[MessageDoc]]:
    scored = score(index, plan, query_vectors, excluded_messages)
    memory_relevance = _estimate(memory_features(scored), MEMORY_RELEVANCE)
    message_relevance = _estimate(message_features(scored), MESSAGE_RELEVANCE)
    return _select(
        index.memories.docs,
        index.messages.docs,
        scored.memory_total,
        scored.message_total,
        memory_relevance,
        message_relevance,
        limits,
        lambda doc: shown_sources(index, doc),
    )


def _eligible(
    index: UserIndex, plan: QueryPlan, excluded_messages: set[str]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Which memories and messages may be recalled: live, not excluded, inside the dates."""
    memory_docs, message_docs = index.memories.docs, index.messages.docs
    memory_alive = index.memories.alive.copy()
    message_alive = index.messages.alive.copy()
    for message_id in excluded_messages:
        excluded = index.message_position(message_id)
        if excluded is not None:
            message_alive[excluded] = False
    if plan.date_filters:
        in_range = memory_alive & _in_filters(
            [d.event_start if d else None for d in memory_docs],
            [d.event_end if d else None for d in memory_docs],
            plan.date_filters,
        )
        # A filter that excludes everything was misunderstood rather than meant.
        if in_range.any():
            memory_alive = in_range
            message_alive &= _in_filters(
                [index.session_times.get(d.session_id) if d else None for d in message_docs],
                [None] * len(message_docs),
                plan.date_filters,
                MESSAGE_DATE_SLACK,
            )
    return memory_alive, message_alive


def _lend_evidence(
    index: UserIndex,
    memory_fused: NDArray[np.float64],
    message_fused: NDArray[np.float64],
    memory_similarity: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Each view of a turn lends the other part of its rank: a memory the rank of the
    messages it was extracted from, a message the rank of its memories. A message also
    takes the best similarity of its memories to the query, having no vector itself."""
    memory_total = memory_fused.copy()
    message_total = message_fused.copy()
    message_similarity = np.zeros(len(message_fused))
    for position in np.flatnonzero(memory_fused > 0):
        doc = index.memories.docs[position]
        assert doc is not None
        for message_id in doc.source_message_ids:
            source = index.message_position(message_id)
            if source is not None:
                memory_total[position] += CROSS_EVIDENCE_WEIGHT * message_fused[source]
                message_total[source] += CROSS_EVIDENCE_WEIGHT * memory_fused[position]
                message_similarity[source] = max(
                    message_similarity[source], memory_similarity[position]
                )
    return memory_total, message_total, message_similarity


def shown_sources(index: UserIndex, doc: MemoryDoc) -> set[str]:
    """The messages stated by a memory and what the text shows with it.

    That is its earlier versions and its connected memories, as many of each as the text
    shows; a connected memory's messages are those of all its versions, as `GetMemory`
    reports them.
    """
    earlier = [v for v in index.chain(doc.chain_id) if v.chain_seq < doc.chain_seq]
    shown = [doc, *earlier[-MAX_VERSIONS_SHOWN:]]
    for connected in index.connected(doc.chain_id)[:MAX_CONNECTED_SHOWN]:
        shown += index.chain(connected.chain_id)
    return {message for version in shown for message in version.source_message_ids}


def _recency(
    docs: Sequence[MemoryDoc | None] | Sequence[MessageDoc | None],
    fused: NDArray[np.float64],
    index: UserIndex | None = None,
) -> NDArray[np.float64]:
    """Among the candidates fusion already found, newer ones first."""
    recency = np.zeros(len(docs))
    for position in np.flatnonzero(fused > 0):
        doc = docs[int(position)]
        if isinstance(doc, MemoryDoc):
            moment = doc.event_start or doc.created_at
        elif isinstance(doc, MessageDoc) and index is not None:
            moment = index.session_times.get(doc.session_id, doc.created_at)
        else:
            continue
        recency[position] = moment.timestamp()
    return recency


def _select(
    memory_docs: Sequence[MemoryDoc | None],
    message_docs: Sequence[MessageDoc | None],
    memory_total: NDArray[np.float64],
    message_total: NDArray[np.float64],
    memory_relevance: NDArray[np.float64],
    message_relevance: NDArray[np.float64],
    limits: Limits,
    shown: Callable[[MemoryDoc], set[str]],
) -> tuple[list[RankedMemory], list[MessageDoc]]:
    """At least min_top_k memories by rank, then the best of the rest above the threshold.

    The context shows the messages behind each chosen memory, its versions and its
    connected memories (`shown`). A memory that states only messages already shown waits
    until nothing new is left (three facts drawn from one message should not crowd out a
    second message), and a raw message already shown is skipped.
    """
    # Fusion scores only a few hundred candidates; sorting just those keeps this cheap.
    candidates = np.flatnonzero(memory_total > 0)
    memory_order = candidates[np.argsort(-memory_total[candidates], kind="stable")].tolist()
    floor = min(limits.min_top_k, limits.max_top_k)
    ranked: list[tuple[float, bool, int]] = [
        (float(memory_total[p]), True, p)
        for p in memory_order
        if memory_relevance[p] >= limits.memories_threshold
    ]
    ranked += [
        (float(message_total[p]), False, p)
        for p in np.flatnonzero(message_total > 0).tolist()
        if message_relevance[p] >= limits.memories_threshold
    ]
    ranked.sort(key=lambda item: -item[0])
    chosen = _Selection(memory_docs, message_docs, memory_relevance, shown)
    deferred = chosen.fill(((True, p) for p in memory_order), floor, repeats=False)
    chosen.fill(((True, p) for p in deferred), floor, repeats=True)
    deferred = chosen.fill(((m, p) for _, m, p in ranked), limits.max_top_k, repeats=False)
    chosen.fill(((True, p) for p in deferred), limits.max_top_k, repeats=True)
    return chosen.memories, chosen.messages


class _Selection:
    """The memories and raw messages `_select` has chosen, and the messages they show."""

    def __init__(
        self,
        memory_docs: Sequence[MemoryDoc | None],
        message_docs: Sequence[MessageDoc | None],
        memory_relevance: NDArray[np.float64],
        shown: Callable[[MemoryDoc], set[str]],
    ) -> None:
        self._memory_docs = memory_docs
        self._message_docs = message_docs
        self._memory_relevance = memory_relevance
        self._shown = shown
        self.memories: list[RankedMemory] = []
        self.messages: list[MessageDoc] = []
        self._taken: set[int] = set()
        self._covered: set[str] = set()

    def fill(self, order: Iterable[tuple[bool, int]], cap: int, *, repeats: bool) -> list[int]:
        """Takes from `order` until `cap` items are chosen; returns the memories deferred."""
        deferred = []
        for is_memory, position in order:
            if len(self.memories) + len(self.messages) >= cap:
                break
            if not is_memory:
                message = self._message_docs[position]
                assert message is not None
                if message.id not in self._covered:
                    self.messages.append(message)
                    self._covered.add(message.id)
                continue
            memory = self._memory_docs[position]
            assert memory is not None
            if position in self._taken:
                continue
            if (
                not repeats
                and memory.source_message_ids
                and self._covered >= set(memory.source_message_ids)
            ):
                deferred.append(position)
                continue
            self.memories.append(RankedMemory(memory, float(self._memory_relevance[position])))
            self._taken.add(position)
            self._covered.update(self._shown(memory))
        return deferred


def _summaries(
    index: UserIndex, plan: QueryPlan, query_vectors: Matrix, limits: Limits
) -> list[SummaryDoc]:
    """The last_n_summaries most recent sessions' summaries, then relevant ones, by time."""
    shelf = index.summaries
    live = [(p, d) for p, d in enumerate(shelf.docs) if d is not None]

    def session_time(doc: SummaryDoc) -> datetime:
        return index.session_times.get(doc.session_id, doc.created_at)

    recent = sorted(live, key=lambda item: session_time(item[1]), reverse=True)
    chosen = dict(recent[: limits.last_n_summaries])
    if plan.term_weights and live:
        _, share = shelf.lexical.scores(plan.term_weights)
        relevance = share
        for vector in query_vectors:
            relevance = np.maximum(
                relevance, _dense_relevance((shelf.vectors @ vector).astype(np.float64))
            )
        relevant = [
            (float(relevance[p]), p, d)
            for p, d in live
            if p not in chosen and relevance[p] >= limits.summaries_threshold
        ]
        relevant.sort(key=lambda item: -item[0])
        allowed = min(MAX_RELEVANT_SUMMARIES, max(1, limits.max_top_k // TOP_K_PER_SUMMARY))
        chosen.update((p, d) for _, p, d in relevant[:allowed])
    return sorted(chosen.values(), key=session_time)
