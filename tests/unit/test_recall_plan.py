"""The model's search plan and review for recall: validated strictly, then merged into searches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from recallr_server.domain.context import Strategy
from recallr_server.engine.provider.llm import InvalidOutput, validation_error
from recallr_server.engine.recall.agentic import (
    AgenticSearch,
    Found,
    follow_up_plan,
    model_query_plan,
)
from recallr_server.engine.recall.context_text import MemoryEntry
from recallr_server.engine.recall.index import MemoryDoc, MessageDoc
from recallr_server.engine.recall.llm_steps import (
    SEARCH_PLAN_SCHEMA,
    SearchPlan,
    SearchReview,
    read_search_plan,
    read_search_review,
    review_schema,
)
from recallr_server.engine.recall.retrieval import (
    Limits,
    QueryPlan,
    RankedMemory,
    Recalled,
)
from recallr_server.store import models


def midnight(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def reply(**changes: Any) -> dict[str, Any]:
    good: dict[str, Any] = {
        "queries": ["Which race did Ada run in May 2023?"],
        "keywords": ["marathon"],
        "date_ranges": [{"start": "2023-05-01", "end": "2023-05-31"}],
        "latest": False,
    }
    return {**good, **changes}


# --- The plan --------------------------------------------------------------------------------


def test_a_good_plan_has_half_open_utc_day_ranges() -> None:
    plan = read_search_plan(reply())
    assert plan == SearchPlan(
        ["Which race did Ada run in May 2023?"],
        ["marathon"],
        [(midnight(2023, 5, 1), midnight(2023, 6, 1))],
        False,
    )
    assert validation_error(reply(), SEARCH_PLAN_SCHEMA) is None


def test_a_single_day_range_is_that_whole_day() -> None:
    (span,) = read_search_plan(
        reply(date_ranges=[{"start": "2023-05-14", "end": "2023-05-14"}])
    ).date_ranges
    assert span == (midnight(2023, 5, 14), midnight(2023, 5, 15))


def test_repeated_queries_and_keywords_are_kept_once_and_whitespace_is_tidied() -> None:
    plan = read_search_plan(
        reply(queries=["  Ada's  race ", "ada's race", "Ana"], keywords=["Race", "race"])
    )
    assert (plan.queries, plan.keywords) == (["Ada's race", "Ana"], ["Race"])


INVALID_PLANS = {
    "impossible date": reply(date_ranges=[{"start": "2023-02-30", "end": "2023-03-01"}]),
    "start after end": reply(date_ranges=[{"start": "2023-06-01", "end": "2023-05-01"}]),
    "too many queries": reply(queries=[f"query {n}" for n in range(5)]),
    "no query": reply(queries=[]),
    "a query too long": reply(queries=["x" * 301]),
    "too many keywords": reply(keywords=[f"word{n}" for n in range(13)]),
    "a keyword too long": reply(keywords=["k" * 61]),
    "too many date ranges": reply(date_ranges=[{"start": "2023-05-01", "end": "2023-05-02"}] * 5),
    "the last day there is": reply(date_ranges=[{"start": "9999-12-31", "end": "9999-12-31"}]),
}


@pytest.mark.parametrize("plan", INVALID_PLANS.values(), ids=INVALID_PLANS)
def test_a_plan_beyond_the_bounds_is_refused_as_a_whole(plan: dict[str, Any]) -> None:
    with pytest.raises(InvalidOutput):
        read_search_plan(plan)


SCHEMA_VIOLATIONS = {
    "a date in words": reply(date_ranges=[{"start": "May 2023", "end": "2023-05-31"}]),
    "a blank query": reply(queries=["  "]),
    "latest missing": {k: v for k, v in reply().items() if k != "latest"},
    "an extra field": reply(reasoning="because"),
    "a range without its end": reply(date_ranges=[{"start": "2023-05-01"}]),
}


@pytest.mark.parametrize("plan", SCHEMA_VIOLATIONS.values(), ids=SCHEMA_VIOLATIONS)
def test_the_schema_refuses_malformed_plans(plan: dict[str, Any]) -> None:
    # The chat client asks again for these, showing the model what was wrong.
    assert validation_error(plan, SEARCH_PLAN_SCHEMA) is not None


# --- The review ------------------------------------------------------------------------------


def test_a_review_keeps_each_number_once_in_the_models_order() -> None:
    review = read_search_review({"relevant": [3, 1, 3], "queries": [], "date_ranges": []}, 3)
    assert review == SearchReview([3, 1], [], [])


@pytest.mark.parametrize(
    "review",
    [
        {"relevant": [4], "queries": [], "date_ranges": []},
        {"relevant": [0], "queries": [], "date_ranges": []},
        {"relevant": [], "queries": ["a", "b", "c", "d"], "date_ranges": []},
        {"relevant": [], "queries": ["q"], "date_ranges": [{"start": "2023-13-01", "end": "x"}]},
    ],
    ids=["beyond the list", "zero", "too many queries", "bad date"],
)
def test_a_review_beyond_the_bounds_is_refused(review: dict[str, Any]) -> None:
    with pytest.raises(InvalidOutput):
        read_search_review(review, 3)


def test_the_review_schema_names_only_the_items_shown() -> None:
    schema = review_schema(2)
    assert validation_error({"relevant": [2], "queries": [], "date_ranges": []}, schema) is None
    assert validation_error({"relevant": [3], "queries": [], "date_ranges": []}, schema)


# --- Merging into searches --------------------------------------------------------------------


def test_the_models_plan_becomes_the_search() -> None:
    plan = model_query_plan(
        ["I ran a lot this year.", "Which one was around my birthday?"],
        SearchPlan(
            ["Which race did Ada run in mid-May 2023?"],
            ["Half marathon"],
            [(midnight(2023, 5, 10), midnight(2023, 5, 21))],
            True,
        ),
        Strategy.BALANCED,
    )
    assert plan.dense_queries == ["Which race did Ada run in mid-May 2023?"]
    assert plan.queries == [
        "Which one was around my birthday?",
        "Which race did Ada run in mid-May 2023?",
    ]
    assert plan.keywords[:3] == ["Half marathon", "race", "ada"]
    # The model's words weigh as much as the newest message; earlier messages half.
    assert plan.term_weights["marathon"] == 1.0
    assert plan.term_weights["birthday"] == 1.0
    assert plan.term_weights["ran"] == 0.5
    assert plan.date_filters == [(midnight(2023, 5, 10), midnight(2023, 5, 21))]
    # A date range says which period; "latest" only ranks by recency without one.
    assert not plan.prefers_recent
    latest = model_query_plan(
        ["Where do I live now?"], SearchPlan(["home"], [], [], True), Strategy.BALANCED
    )
    assert latest.prefers_recent


def memory(content: str, source: str = "", day: int | None = None) -> MemoryDoc:
    return MemoryDoc(
        id=f"memory {content}",
        chain_id=f"chain {content}",
        chain_seq=1,
        session_id=None,
        content=content,
        event_start=midnight(2023, 5, day) if day else None,
        event_end=midnight(2023, 5, day + 1) if day else None,
        created_at=midnight(2023, 6, 1),
        expired_at=None,
        expiration_reason=None,
        source_message_ids=(source,) if source else (),
    )


def message(content: str) -> MessageDoc:
    return MessageDoc(
        id=f"message {content}",
        seq=1,
        session_id="earlier",
        role=models.MessageRole.USER,
        content=content,
        created_at=midnight(2023, 4, 2),
    )


def found(plan: QueryPlan, memories: list[MemoryDoc], messages: list[MessageDoc]) -> Found:
    return Found(
        Recalled([RankedMemory(m, 0.9) for m in memories], messages, [], plan),
        [MemoryEntry(m, [m], []) for m in memories],
        {"earlier": midnight(2023, 4, 1)},
    )


FIRST = QueryPlan(Strategy.AGENTIC, ["sister"], {"sister": 1.0}, ["sister"], [], False, ["sister"])
LIMITS = Limits(
    min_top_k=1, max_top_k=10, memories_threshold=0.5, summaries_threshold=0.5, last_n_summaries=0
)


def test_rounds_merge_as_a_union_at_each_items_best_rank() -> None:
    sister, porto, bees = memory("sister Ana"), memory("Ana in Porto", day=14), memory("bees")
    said = message("Ana loves Porto")
    search = AgenticSearch(LIMITS)
    search.add(found(FIRST, [sister, bees], [said]))
    second = follow_up_plan(FIRST, SearchReview([], ["Where did Ana move?"], []))
    search.add(found(second, [porto, bees], []))
    assert search.searched == ["sister", "Where did Ana move?"]
    assert search.listing() == [
        "memory (recorded 2023-06-01): sister Ana",
        "message by the user in a conversation on 2023-04-01: Ana loves Porto",
        "memory (happened 2023-05-14; recorded 2023-06-01): Ana in Porto",
        "memory (recorded 2023-06-01): bees",
    ]
    result = search.result()
    assert [m.doc for m in result.recalled.memories] == [sister, porto, bees]
    assert result.recalled.messages == [said]
    assert result.recalled.plan.queries == ["sister", "Where did Ana move?"]


def test_the_review_orders_and_prunes_what_it_saw() -> None:
    sister, porto, bees = memory("sister Ana"), memory("Ana in Porto", "m1"), memory("bees")
    search = AgenticSearch(LIMITS)
    search.add(found(FIRST, [bees, sister, porto], [message("m1 text")]))
    # Listed by rank, memories before messages of the same rank.
    assert [line.split(": ", 1)[1] for line in search.listing()] == [
        "bees",
        "m1 text",
        "sister Ana",
        "Ana in Porto",
    ]
    search.judge(SearchReview([4, 3], [], []))
    result = search.result()
    assert [m.doc for m in result.recalled.memories] == [porto, sister]
    assert result.recalled.messages == []
    # min_top_k memories stay, whatever the review said.
    search.judge(SearchReview([3], [], []))
    assert [m.doc for m in search.result().recalled.memories] == [sister]
    # An empty list keeps everything as ranked.
    search.judge(SearchReview([], [], []))
    assert [m.doc for m in search.result().recalled.memories] == [bees, sister, porto]
    floor = AgenticSearch(replace_limits(min_top_k=2))
    floor.add(found(FIRST, [bees, sister], []))
    floor.listing()
    floor.judge(SearchReview([2], [], []))
    assert [m.doc for m in floor.result().recalled.memories] == [sister, bees]


def test_a_raw_message_a_chosen_memory_states_is_not_repeated() -> None:
    porto = memory("Ana in Porto", "message Ana moved")
    search = AgenticSearch(LIMITS)
    search.add(found(FIRST, [porto], [message("Ana moved"), message("other")]))
    assert [m.id for m in search.result().recalled.messages] == ["message other"]


def test_a_review_that_repeats_searched_queries_ends_the_search() -> None:
    search = AgenticSearch(LIMITS)
    search.add(found(FIRST, [], []))
    assert search.next_plan(SearchReview([], ["Sister"], [])) is None
    follow_up = search.next_plan(SearchReview([], ["Sister", "Ana"], []))
    assert follow_up is not None and follow_up.dense_queries == ["Ana"]


def replace_limits(**changes: Any) -> Limits:
    values = {**LIMITS.__dict__, **changes}
    return Limits(**values)
