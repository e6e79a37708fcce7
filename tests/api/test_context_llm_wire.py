"""RecallContext with a chat model configured: BALANCED plans with it, AGENTIC searches in rounds.

The server runs as in the other API tests, with `RECALLR_LLM_BASE_URL` pointing at a
recorded provider on loopback that answers with the replies each test provides; memories
are written straight into the store as in test_context_wire.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any

import grpc
import pytest

from recallr.v1 import context_pb2
from recallr.v1 import context_service_pb2 as pb
from recallr_server.config import Settings
from recallr_server.engine.recall.agentic import MAX_ROUNDS
from tests.api.test_context_wire import USER, Conversation, at, start
from tests.api.wire import stubs
from tests.conftest import ServerThread, new_tenant
from tests.engine.recorded_provider import Received, RecordedProvider, chat_completion

MODEL = "gpt-4o-mini"
LOW_LATENCY = context_pb2.RECALL_STRATEGY_LOW_LATENCY
BALANCED = context_pb2.RECALL_STRATEGY_BALANCED
AGENTIC = context_pb2.RECALL_STRATEGY_AGENTIC
AUTO = context_pb2.RECALL_STRATEGY_AUTO


@pytest.fixture(scope="module")
def provider() -> Iterator[RecordedProvider]:
    server = RecordedProvider()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def llm_server(
    provider: RecordedProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    database = tmp_path_factory.mktemp("llm_recall") / "recallr.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECALLR_LLM_BASE_URL", provider.url)
        patch.setenv("RECALLR_LLM_MODEL", MODEL)
        # No workers: processing must not take the replies meant for recall.
        settings = replace(
            Settings(), database_url=f"sqlite:///{database}", listen="127.0.0.1:0", workers=0
        )
        server = ServerThread(settings)
    yield server
    server.stop()


@pytest.fixture
def talk(llm_server: ServerThread, provider: RecordedProvider) -> Iterator[Conversation]:
    provider.reset()
    tenant = new_tenant(llm_server)
    with grpc.insecure_channel(tenant.target) as channel:
        yield start(stubs(channel), tenant, at(2023, 8, 1))


def plan(
    queries: list[str],
    keywords: list[str] | None = None,
    dates: list[tuple[str, str]] | None = None,
    latest: bool = False,
) -> dict[str, Any]:
    return chat_completion(
        {
            "queries": queries,
            "keywords": keywords or [],
            "date_ranges": [{"start": s, "end": e} for s, e in dates or []],
            "latest": latest,
        }
    )


def found_lines(request: Received) -> list[str]:
    return prompt(request).split("Found:\n", 1)[1].split("\n\n", 1)[0].splitlines()


def review(
    relevant: list[str], queries: list[str] | None = None
) -> Callable[[Received], dict[str, Any]]:
    """A review naming the listed items that contain each of `relevant`, in that order."""

    def answer(request: Received) -> dict[str, Any]:
        lines = found_lines(request)
        numbers = [
            int(line.split(".", 1)[0]) for text in relevant for line in lines if text in line
        ]
        return chat_completion({"relevant": numbers, "queries": queries or [], "date_ranges": []})

    return answer


def prompt(request: Received) -> str:
    return str(request.body["messages"][-1]["content"])


def prompt_name(request: Received) -> str:
    return str(request.body["response_format"]["json_schema"]["name"])


def steps(events: list[pb.StreamRecallContextResponse]) -> list[str]:
    kinds = [event.WhichOneof("event") for event in events]
    assert kinds == ["status_update"] * (len(events) - 1) + ["context"]
    return [event.status_update.step for event in events[:-1]]


def dates(context: context_pb2.Context) -> list[tuple[Any, Any]]:
    return [
        (window.start_time.ToDatetime(UTC), window.end_time.ToDatetime(UTC))
        for window in context.metadata.date_filters
    ]


# --- BALANCED ------------------------------------------------------------------------------


def test_balanced_searches_with_the_models_queries_keywords_and_dates(
    talk: Conversation, provider: RecordedProvider
) -> None:
    may = talk.seed.memory(
        "Ada ran a half marathon in Lisbon.", happened=(at(2023, 5, 14, 0), at(2023, 5, 15, 0))
    )
    july = talk.seed.memory(
        "Ada ran a trail race in the Alps.", happened=(at(2023, 7, 2, 0), at(2023, 7, 3, 0))
    )
    talk.say("I turned 40 in the middle of May, you know.")
    talk.say("Which race did I run around my birthday?")
    provider.provide(
        plan(
            ["Which race did Ada run in mid-May 2023?"],
            ["half marathon", "race"],
            [("2023-05-10", "2023-05-20")],
        )
    )
    context = talk.recall(recall_strategy=BALANCED, memories_threshold=0.0)
    assert context.recall_strategy_used == BALANCED
    assert list(context.metadata.queries) == [
        "Which race did I run around my birthday?",
        "Which race did Ada run in mid-May 2023?",
    ]
    assert list(context.metadata.keywords)[:2] == ["half marathon", "race"]
    assert dates(context) == [(at(2023, 5, 10, 0), at(2023, 5, 21, 0))]
    assert may.id in context.metadata.memory_ids
    assert july.id not in context.metadata.memory_ids
    (request,) = provider.received
    assert request.path == "/v1/chat/completions"
    assert prompt_name(request) == "recall_plan"
    assert request.body["model"] == MODEL
    assert (
        "[m1] user: I turned 40 in the middle of May, you know.\n"
        "[m2] user: Which race did I run around my birthday?"
    ) in prompt(request)
    assert "Tuesday 1 August 2023, 12:00 UTC (2023-08-01T12:00:00+00:00)" in prompt(request)


FAILURES: dict[str, list[Any]] = {
    "prose": [chat_completion("You should look for races in May.")] * 3,
    "refused": [
        json.loads(
            (Path(__file__).parents[1] / "engine/fixtures/llm/invalid_api_key.json").read_text()
        )
    ],
    "impossible date": [plan(["Which race?"], dates=[("2023-02-30", "2023-03-01")])],
    "start after end": [plan(["Which race?"], dates=[("2023-06-01", "2023-05-01")])],
    "too many queries": [plan([f"race {n}" for n in range(5)])],
}


@pytest.mark.parametrize("failure", FAILURES)
def test_balanced_falls_back_to_local_understanding_when_the_model_fails(
    talk: Conversation, provider: RecordedProvider, failure: str
) -> None:
    may = talk.seed.memory(
        "Ada ran a half marathon in Lisbon.", happened=(at(2023, 5, 14, 0), at(2023, 5, 15, 0))
    )
    talk.seed.memory(
        "Ada ran a trail race in the Alps.", happened=(at(2023, 7, 2, 0), at(2023, 7, 3, 0))
    )
    talk.say("What race did I run last May?")
    provider.provide(*FAILURES[failure])
    events = talk.stream(
        recall_strategy=BALANCED, memories_threshold=0.0, include_metadata_ids=True
    )
    assert steps(events) == [
        "understanding_query",
        "model_fallback",
        "retrieving_memories",
        "ranking",
        "rendering",
    ]
    context = events[-1].context
    assert context.recall_strategy_used == BALANCED
    # The local understanding of "last May".
    assert dates(context) == [(at(2023, 5, 1, 0), at(2023, 6, 1, 0))]
    assert list(context.metadata.memory_ids) == [may.id]
    assert len(provider.received) == len(FAILURES[failure])


def test_a_model_slower_than_the_deadline_allows_is_not_waited_for(
    talk: Conversation, provider: RecordedProvider
) -> None:
    talk.seed.memory("Ada keeps bees in her garden.")
    talk.say("Tell me about my bees")
    provider.provide(replace_delay(plan(["Ada's bees"]), 6.0))
    request = pb.RecallContextRequest(
        user_id=USER, session_id=talk.session_id, options=pb.RecallOptions(recall_strategy=BALANCED)
    )
    started = time.monotonic()
    context = talk.api.context.RecallContext(
        request, metadata=talk.tenant.metadata, timeout=3.0
    ).context
    assert time.monotonic() - started < 3.0
    assert context.recall_strategy_used == BALANCED
    assert "Ada keeps bees in her garden." in context.text


def replace_delay(exchange: dict[str, Any], delay: float) -> dict[str, Any]:
    return {**exchange, "delay": delay}


# --- AGENTIC -------------------------------------------------------------------------------


@pytest.fixture
def family(talk: Conversation) -> dict[str, str]:
    ids = {
        "sister": talk.seed.memory("Ada's sister is called Ana.").id,
        "porto": talk.seed.memory("Ana moved to Porto in 2021.").id,
        "bees": talk.seed.memory("Ada keeps bees in her garden.").id,
    }
    talk.say("Where does my sister live?")
    return ids


def test_agentic_searches_again_for_what_the_review_finds_missing(
    talk: Conversation, provider: RecordedProvider, family: dict[str, str]
) -> None:
    provider.provide(
        plan(["Where does Ada's sister live?"], ["sister"]),
        review(["sister is called Ana"], ["Where did Ana move to?"]),
        review(["moved to Porto", "sister is called Ana"]),
    )
    events = talk.stream(
        recall_strategy=AGENTIC,
        min_top_k=1,
        memories_threshold=0.0,
        include_metadata_ids=True,
    )
    assert steps(events) == [
        "understanding_query",
        "retrieving_memories",
        "search_round",
        "search_round",
        "ranking",
        "rendering",
    ]
    rounds = [e.status_update.message for e in events if e.status_update.step == "search_round"]
    assert rounds == [
        "Round 1 of at most 3: searching for Where does Ada's sister live?",
        "Round 2 of at most 3: searching for Where did Ana move to?",
    ]
    context = events[-1].context
    assert context.recall_strategy_used == AGENTIC
    assert context.metadata.agent_reasoning == (
        "Round 1: the review kept 1 of the 3 items found and asked to search next for:"
        " Where did Ana move to?\n"
        "Round 2: the review kept 2 of the 3 items found and ended the search."
    )
    # The last review named these two, in this order; the bees it saw and left out.
    assert list(context.metadata.memory_ids) == [family["porto"], family["sister"]]
    assert list(context.metadata.queries) == [
        "Where does my sister live?",
        "Where does Ada's sister live?",
        "Where did Ana move to?",
    ]
    assert [prompt_name(r) for r in provider.received] == [
        "recall_plan",
        "recall_review",
        "recall_review",
    ]
    second = prompt(provider.received[2])
    assert "Searched so far:\n- Where does Ada's sister live?\n- Where did Ana move to?" in second
    assert "Searches left: 1." in second
    # Everything found so far is listed, numbered, the bees too.
    assert sorted(line.split(". ", 1)[1] for line in found_lines(provider.received[2])) == [
        "memory (recorded 2024-01-01): Ada keeps bees in her garden.",
        "memory (recorded 2024-01-01): Ada's sister is called Ana.",
        "memory (recorded 2024-01-01): Ana moved to Porto in 2021.",
    ]


def test_agentic_stops_after_the_last_round(
    talk: Conversation, provider: RecordedProvider, family: dict[str, str]
) -> None:
    provider.provide(
        plan(["Where does Ada's sister live?"]),
        *[review([], [f"Where could Ana be, guess {n}?"]) for n in range(MAX_ROUNDS)],
    )
    events = talk.stream(recall_strategy=AGENTIC, memories_threshold=0.0)
    assert steps(events).count("search_round") == MAX_ROUNDS
    assert events[-1].context.recall_strategy_used == AGENTIC
    assert len(provider.received) == 1 + MAX_ROUNDS
    assert "No searches are left" in prompt(provider.received[-1])
    # An empty `relevant` keeps what was found.
    assert "Ada keeps bees in her garden." in events[-1].context.text


def test_agentic_keeps_what_it_found_when_a_review_fails(
    talk: Conversation, provider: RecordedProvider, family: dict[str, str]
) -> None:
    provider.provide(
        plan(["Where does Ada's sister live?"]),
        *[chat_completion({"relevant": [99], "queries": [], "date_ranges": []})] * 3,
    )
    events = talk.stream(recall_strategy=AGENTIC, memories_threshold=0.0)
    assert steps(events) == [
        "understanding_query",
        "retrieving_memories",
        "search_round",
        "model_fallback",
        "ranking",
        "rendering",
    ]
    context = events[-1].context
    assert context.recall_strategy_used == AGENTIC
    assert "Ada's sister is called Ana." in context.text
    assert context.metadata.agent_reasoning == (
        "Round 1: no review from the model; kept what was found."
    )


def test_agentic_runs_balanced_when_the_model_cannot_plan(
    talk: Conversation, provider: RecordedProvider, family: dict[str, str]
) -> None:
    provider.provide(*[chat_completion("no idea")] * 3)
    events = talk.stream(recall_strategy=AGENTIC, memories_threshold=0.0)
    assert "search_round" not in steps(events)
    assert events[-1].context.recall_strategy_used == BALANCED
    assert "Ada's sister is called Ana." in events[-1].context.text


# --- No model calls ------------------------------------------------------------------------


@pytest.mark.parametrize(("requested", "used"), [(LOW_LATENCY, LOW_LATENCY), (AUTO, LOW_LATENCY)])
def test_low_latency_never_calls_the_model(
    talk: Conversation, provider: RecordedProvider, requested: int, used: int
) -> None:
    talk.seed.memory("Ada keeps bees in her garden.")
    talk.say("Tell me about my bees")
    context = talk.recall(recall_strategy=requested)
    assert context.recall_strategy_used == used
    assert "Ada keeps bees in her garden." in context.text
    assert provider.received == []
