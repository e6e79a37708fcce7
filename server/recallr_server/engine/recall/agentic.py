"""Recall with a chat model: the model's search plan, and AGENTIC's rounds merged.

BALANCED with a chat model searches with the model's plan (`llm_steps.plan_search_llm`)
instead of the local understanding: its standalone queries are the dense queries, its
queries and keywords join the conversation's words in the lexical query, and its date
ranges are the date filters.

AGENTIC searches in rounds, at most `MAX_ROUNDS`. After each the model sees a numbered
list of what was found (`AgenticSearch.listing`) and either ends the search or asks for
new queries; either way it may name the items that help (`llm_steps.review_search_llm`).
The rounds' results are merged here: their union, each item at its best rank, the items
the model named first and the ones it saw and did not name left out, then selected as a
single search selects (`min_top_k` memories, then the best of the rest that reach
`memories_threshold`, up to `max_top_k` memories and raw messages together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from recallr_server.domain.context import Strategy
from recallr_server.engine.recall.context_text import (
    MAX_CONNECTED_SHOWN,
    MAX_VERSIONS_SHOWN,
    MemoryEntry,
)
from recallr_server.engine.recall.index import MessageDoc, SummaryDoc
from recallr_server.engine.recall.lexical import weighted_terms, words
from recallr_server.engine.recall.llm_steps import SearchPlan, SearchReview, unique_texts
from recallr_server.engine.recall.retrieval import (
    EARLIER_MESSAGE_DECAY,
    Limits,
    QueryPlan,
    RankedMemory,
    Recalled,
)

MAX_ROUNDS = 3
# The review lists at most this many of the best items found, each text cut to this length.
MAX_REVIEWED = 30
MAX_REVIEW_TEXT_CHARS = 300


def model_query_plan(messages: Sequence[str], search: SearchPlan, strategy: Strategy) -> QueryPlan:
    """What a search runs with the model's plan; `messages` are the window, oldest first.

    The conversation's words keep their local weights (the newest message 1, halving per
    step back); the model's queries and keywords weigh as much as the newest message.
    """
    weighted = [(m, EARLIER_MESSAGE_DECAY**back) for back, m in enumerate(reversed(messages))]
    weighted += [(text, 1.0) for text in [*search.queries, *search.keywords]]
    query_words = [w for query in search.queries for w in words(query)]
    window_words = [w for message, _ in weighted[: len(messages)] for w in words(message)]
    return QueryPlan(
        strategy,
        list(search.queries),
        weighted_terms(weighted),
        unique_texts([*search.keywords, *query_words, *window_words]),
        list(search.date_ranges),
        search.latest and not search.date_ranges,
        queries=unique_texts([messages[-1], *search.queries]),
    )


def follow_up_plan(first: QueryPlan, review: SearchReview) -> QueryPlan:
    """A later round's search: the review's queries and dates alone."""
    return QueryPlan(
        Strategy.AGENTIC,
        list(review.queries),
        weighted_terms((query, 1.0) for query in review.queries),
        unique_texts(w for query in review.queries for w in words(query)),
        list(review.date_ranges),
        first.prefers_recent and not review.date_ranges,
        queries=list(review.queries),
    )


@dataclass(frozen=True)
class Found:
    """One search's result, copied out of the index while it was held."""

    recalled: Recalled
    # The entries of `recalled.memories`, in the same order.
    memories: list[MemoryEntry]
    session_times: dict[str, datetime]
    # What the reviews of AGENTIC's rounds decided, a line per round; empty otherwise.
    reasoning: str = ""


# ("memory", version id) or ("message", message id).
Key = tuple[str, str]


@dataclass
class _Item:
    rank: int
    round: int
    # Memories only: raw messages were held to the threshold in their round.
    relevance: float
    memory: MemoryEntry | None = None
    message: MessageDoc | None = None


class AgenticSearch:
    """The rounds of one AGENTIC recall: what they found, and the model's judgement of it."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._plans: list[QueryPlan] = []
        self._items: dict[Key, _Item] = {}
        self._summaries: dict[str, SummaryDoc] = {}
        self._most_summaries = 0
        self._session_times: dict[str, datetime] = {}
        # The keys listed for the latest review, and the judgement of the latest review
        # that named items: what it named, and everything it saw.
        self._listed: list[Key] = []
        self._relevant: list[Key] | None = None
        self._reviewed: set[Key] = set()
        self._reasoning: list[str] = []

    @property
    def searched(self) -> list[str]:
        """The queries searched so far, for the review."""
        return unique_texts(query for plan in self._plans for query in plan.dense_queries)

    def add(self, found: Found) -> None:
        """Merges a round's result: new items join, known ones keep their best rank."""
        self._plans.append(found.recalled.plan)
        number = len(self._plans)
        self._session_times.update(found.session_times)
        recalled = found.recalled
        for rank, (ranked, entry) in enumerate(zip(recalled.memories, found.memories, strict=True)):
            self._merge(("memory", ranked.doc.id), _Item(rank, number, ranked.relevance, entry))
        for rank, message in enumerate(recalled.messages):
            self._merge(("message", message.id), _Item(rank, number, 1.0, message=message))
        self._most_summaries = max(self._most_summaries, len(recalled.summaries))
        for summary in recalled.summaries:
            self._summaries.setdefault(summary.session_id, summary)

    def _merge(self, key: Key, item: _Item) -> None:
        known = self._items.get(key)
        if known is None:
            self._items[key] = item
        else:
            known.rank = min(known.rank, item.rank)
            known.relevance = max(known.relevance, item.relevance)

    def listing(self) -> list[str]:
        """The best items so far, one line each, for the review; it names them by number."""
        self._listed = self._order()[:MAX_REVIEWED]
        return [self._describe(self._items[key]) for key in self._listed]

    def judge(self, review: SearchReview) -> None:
        """Takes the review of the latest listing: the items it names come first."""
        kept = (
            f"kept {len(review.relevant)} of the {len(self._listed)} items found and"
            if review.relevant
            else f"kept all {len(self._listed)} items found and"
        )
        then = (
            "asked to search next for: " + "; ".join(review.queries)
            if review.queries
            else "ended the search."
        )
        self._reasoning.append(f"Round {len(self._plans)}: the review {kept} {then}")
        if review.relevant:
            self._relevant = [self._listed[number - 1] for number in review.relevant]
            self._reviewed = set(self._listed)
        else:
            self._relevant, self._reviewed = None, set()

    def unreviewed(self) -> None:
        """Notes that the latest round had no review: what it found is kept as it is."""
        self._reasoning.append(
            f"Round {len(self._plans)}: no review from the model; kept what was found."
        )

    def next_plan(self, review: SearchReview) -> QueryPlan | None:
        """The next round's plan, or None when the review asks for nothing new."""
        searched = {query.casefold() for query in self.searched}
        queries = [query for query in review.queries if query.casefold() not in searched]
        if not queries or not self._plans:
            return None
        return follow_up_plan(
            self._plans[0], SearchReview(review.relevant, queries, review.date_ranges)
        )

    def result(self) -> Found:
        """The rounds merged, and selected within the limits as one search is."""
        limits = self._limits
        order = self._order()
        pruned: list[Key] = []
        if self._relevant is not None:
            named = set(self._relevant)
            pruned = [key for key in order if key in self._reviewed and key not in named]
            order = self._relevant + [key for key in order if key not in self._reviewed]
        floor = min(limits.min_top_k, limits.max_top_k)
        chosen = [key for key in order if key[0] == "memory"][:floor]
        chosen += [key for key in pruned if key[0] == "memory"][: floor - len(chosen)]
        taken = set(chosen)
        covered = {m for key in chosen for m in self._shown_messages(key)}
        for key in order:
            if len(chosen) >= limits.max_top_k:
                break
            item = self._items[key]
            if key in taken:
                continue
            if item.memory is not None and item.relevance < limits.memories_threshold:
                continue
            if item.message is not None and item.message.id in covered:
                continue
            chosen.append(key)
            taken.add(key)
            covered.update(self._shown_messages(key))
        entries, memories, messages = [], [], []
        for key in chosen:
            item = self._items[key]
            if item.memory is not None:
                entries.append(item.memory)
                memories.append(RankedMemory(item.memory.memory, item.relevance))
            elif item.message is not None:
                messages.append(item.message)
        summaries = sorted(
            list(self._summaries.values())[: self._most_summaries],
            key=lambda s: self._session_times.get(s.session_id, s.created_at),
        )
        return Found(
            Recalled(memories, messages, summaries, self._merged_plan()),
            entries,
            dict(self._session_times),
            "\n".join(self._reasoning),
        )

    def _order(self) -> list[Key]:
        """Every item found, by best rank, then by the round that found it."""
        return sorted(
            self._items,
            key=lambda key: (self._items[key].rank, self._items[key].round, key[0] != "memory"),
        )

    def _shown_messages(self, key: Key) -> set[str]:
        """The messages a chosen item puts in the context, which no raw message repeats."""
        item = self._items[key]
        if item.message is not None:
            return {item.message.id}
        assert item.memory is not None
        memory = item.memory.memory
        earlier = [v for v in item.memory.chain if v.chain_seq < memory.chain_seq]
        shown = [
            memory,
            *earlier[-MAX_VERSIONS_SHOWN:],
            *item.memory.connected[:MAX_CONNECTED_SHOWN],
        ]
        return {message for version in shown for message in version.source_message_ids}

    def _describe(self, item: _Item) -> str:
        if item.memory is not None:
            memory = item.memory.memory
            when = f"recorded {memory.created_at.date().isoformat()}"
            if memory.event_start is not None:
                when = f"happened {_days(memory.event_start, memory.event_end)}; {when}"
            return f"memory ({when}): {_cut(memory.content)}"
        assert item.message is not None
        message = item.message
        day = self._session_times.get(message.session_id, message.created_at).date().isoformat()
        return f"message by the {message.role.value} in a conversation on {day}: " + _cut(
            message.content
        )

    def _merged_plan(self) -> QueryPlan:
        """What all rounds searched, for the context's metadata."""
        plans = self._plans
        weights: dict[str, float] = {}
        for plan in plans:
            for term, weight in plan.term_weights.items():
                weights[term] = max(weights.get(term, 0.0), weight)
        return QueryPlan(
            Strategy.AGENTIC,
            self.searched,
            weights,
            unique_texts(keyword for plan in plans for keyword in plan.keywords),
            list(dict.fromkeys(span for plan in plans for span in plan.date_filters)),
            bool(plans) and plans[0].prefers_recent,
            queries=unique_texts(query for plan in plans for query in plan.queries),
        )


def _days(start: datetime, end: datetime | None) -> str:
    """An event span as inclusive ISO days."""
    first = start.date()
    last = (end - timedelta(microseconds=1)).date() if end is not None and end > start else first
    return first.isoformat() if last == first else f"{first.isoformat()} to {last.isoformat()}"


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REVIEW_TEXT_CHARS else text[: MAX_REVIEW_TEXT_CHARS - 1] + "…"
