"""The OpenAI-compatible chat and embedding clients, over real HTTP to a recorded provider.

The provider is a stdlib HTTP server on loopback that answers each request with the next
recorded exchange from `fixtures/llm/` and keeps what it received, so the tests pin both
what the engine makes of a reply and what it sends.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from recallr_server.domain.merge_conflicts import RESOLUTION_OPTIONS
from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.ingest.consolidation import Candidate, Decision, Existing
from recallr_server.engine.ingest.extraction import Fact
from recallr_server.engine.ingest.llm_steps import (
    FACTS_SCHEMA,
    SUMMARY_SCHEMA,
    clarifying_questions_llm,
    extract_facts_llm,
    judge_llm,
    summarise_llm,
)
from recallr_server.engine.provider.llm import (
    EmbeddingSettings,
    InvalidOutput,
    LLMError,
    LLMSettings,
    OpenAICompatibleChat,
    OpenAICompatibleEmbedder,
    Prompt,
    parse_json_reply,
    validation_error,
)
from tests.engine.recorded_provider import (
    FIXTURES,
    Received,
    RecordedProvider,
    chat_completion,
)

API_KEY = "sk-test-recallr-0123456789abcdef"
MODEL = "gpt-4o-mini"
SESSION_TIME = datetime(2023, 5, 9, 14, 30, tzinfo=UTC)  # a Tuesday

MESSAGES = [
    ChatMessage(
        "5f0c9a8e-1b7d-4c53-9a2e-0d6f4b8c1e01",
        "user",
        "Hi! I moved to Lisbon last month and I'm still setting up my flat.",
    ),
    ChatMessage(
        "5f0c9a8e-1b7d-4c53-9a2e-0d6f4b8c1e02",
        "assistant",
        "Welcome to Lisbon! Since you love good coffee, you should try Fábrica Coffee "
        "Roasters in Baixa.",
    ),
    ChatMessage(
        "5f0c9a8e-1b7d-4c53-9a2e-0d6f4b8c1e03",
        "user",
        "Thanks! My sister Ana is visiting next weekend, and I'm allergic to shellfish, "
        "so no seafood places please.",
    ),
]
FIRST, SECOND, THIRD = (message.message_id for message in MESSAGES)
CATEGORIES = {
    "places": "Where the user lives, has lived or spends time",
    "food_preferences": "What the user likes to eat and drink",
    "relationships": "Family, friends and partners",
    "plans": "What the user intends to do",
    "allergies": "Allergies and intolerances",
    "health": "Physical and mental health",
    "assistant_recommendations": "What the assistant recommended",
}


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


FACTS = [
    Fact(
        content="In April 2023, the user moved to Lisbon.",
        categories=["places"],
        source_message_ids=[FIRST],
        event_start=utc(2023, 4, 1),
        event_end=utc(2023, 5, 1),
        subject_key="user",
        attribute_key="residence",
        value="Lisbon",
    ),
    Fact(
        content="The assistant recommended that the user try Fábrica Coffee Roasters in "
        "Baixa, Lisbon.",
        categories=["assistant_recommendations", "food_preferences"],
        source_message_ids=[SECOND],
        event_start=utc(2023, 5, 9),
        event_end=utc(2023, 5, 10),
        subject_key="user",
        attribute_key=None,
        value=None,
    ),
    Fact(
        content="The user's sister Ana is visiting the user on the weekend of 13-14 May 2023.",
        categories=["plans", "relationships"],
        source_message_ids=[THIRD],
        event_start=utc(2023, 5, 13),
        event_end=utc(2023, 5, 15),
        subject_key="user's sister",
        attribute_key=None,
        value=None,
    ),
    Fact(
        content="The user is allergic to shellfish.",
        categories=["allergies", "health"],
        source_message_ids=[THIRD],
        event_start=utc(2023, 5, 9),
        event_end=utc(2023, 5, 10),
        subject_key="user",
        attribute_key=None,
        value=None,
    ),
]


@pytest.fixture
def chat(provider: RecordedProvider) -> Iterator[OpenAICompatibleChat]:
    settings = LLMSettings(base_url=provider.url, model=MODEL, api_key=API_KEY)
    with OpenAICompatibleChat(settings, backoff_seconds=0.01) as client:
        yield client


def embedder(provider: RecordedProvider, dimensions: int | None) -> OpenAICompatibleEmbedder:
    settings = EmbeddingSettings(
        base_url=provider.url, model="nomic-embed-text", dimensions=dimensions
    )
    return OpenAICompatibleEmbedder(settings, batch_size=2, backoff_seconds=0.01)


def extract(chat: OpenAICompatibleChat) -> list[Fact]:
    return extract_facts_llm(chat, MESSAGES, now=SESSION_TIME, categories=CATEGORIES)


def prompt_text(request: Received) -> str:
    return "\n".join(message["content"] for message in request.body["messages"])


# --- Extraction --------------------------------------------------------------------------------


def test_a_good_reply_becomes_facts_with_absolute_day_spans(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("extract_facts")
    assert extract(chat) == FACTS
    assert len(provider.received) == 1


def test_the_request_carries_model_schema_session_time_and_messages(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("extract_facts")
    extract(chat)
    (request,) = provider.received
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == MODEL
    assert request.body["temperature"] == 0
    assert request.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "extract_facts", "schema": FACTS_SCHEMA, "strict": True},
    }
    system, user = request.body["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    assert "Tuesday 9 May 2023, 14:30 UTC" in user["content"]
    for number, message in enumerate(MESSAGES, 1):
        assert f"[m{number}] {message.role}: {message.content}" in user["content"]
    for name in CATEGORIES:
        assert f"- {name}: " in user["content"]


def test_the_api_key_is_sent_as_a_bearer_token(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("extract_facts")
    extract(chat)
    assert provider.received[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_without_an_api_key_no_authorization_is_sent(provider: RecordedProvider) -> None:
    provider.queue("extract_facts")
    with OpenAICompatibleChat(LLMSettings(base_url=provider.url, model=MODEL)) as local:
        extract(local)
    assert "authorization" not in provider.received[0].headers


def test_a_reply_in_markdown_fences_is_read(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("extract_facts_fenced")
    assert extract(chat) == FACTS
    assert len(provider.received) == 1


def test_a_reply_cut_off_mid_fact_keeps_the_complete_facts(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("extract_facts_truncated")
    assert extract(chat) == FACTS[:2]
    assert len(provider.received) == 1


def test_a_reply_that_is_not_json_is_asked_for_again(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("extract_facts_prose", "extract_facts")
    assert extract(chat) == FACTS
    first, second = provider.received
    bad_reply = json.loads((FIXTURES / "extract_facts_prose.json").read_text("utf-8"))
    assert second.body["messages"][:2] == first.body["messages"]
    assert second.body["messages"][2] == {
        "role": "assistant",
        "content": bad_reply["body"]["choices"][0]["message"]["content"],
    }
    correction = second.body["messages"][3]
    assert correction["role"] == "user"
    assert "previous reply was not usable" in correction["content"]
    assert "contains no JSON object" in correction["content"]


def test_a_reply_that_breaks_the_schema_is_asked_for_again(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("extract_facts_schema_violation", "extract_facts")
    assert extract(chat) == FACTS
    correction = provider.received[1].body["messages"][-1]["content"]
    assert "$.facts[0]: missing value" in correction


def test_three_unusable_replies_raise_llm_error(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue(*["extract_facts_schema_violation"] * 3)
    with pytest.raises(LLMError, match=r"no usable reply in 3 attempts.*missing value"):
        extract(chat)
    assert len(provider.received) == 3


def test_a_rate_limit_is_retried_after_the_wait_it_asks_for(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("rate_limited", "extract_facts")
    started = time.monotonic()
    assert extract(chat) == FACTS
    # The client's own backoff is 0.01 s here: only Retry-After explains a 1 s pause.
    assert time.monotonic() - started >= 1.0
    assert len(provider.received) == 2


def test_a_server_error_three_times_raises_llm_error(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("server_error", "server_error", "server_error", "extract_facts")
    with pytest.raises(LLMError, match=r"failed 3 times; last: HTTP 500: The server had an error"):
        extract(chat)
    assert len(provider.received) == 3


def test_message_ids_the_model_invented_are_dropped(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("extract_facts_untrusted")
    facts = extract(chat)
    assert [fact.source_message_ids for fact in facts] == [[THIRD]]
    # The fact that cited only an invented message is gone with it.
    assert not any("Tagus" in fact.content for fact in facts)


def test_categories_outside_the_vocabulary_are_dropped(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("extract_facts_untrusted")
    assert [fact.categories for fact in extract(chat)] == [["allergies"]]


def test_a_fact_with_an_impossible_date_is_dropped(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("extract_facts_untrusted")
    assert [fact.content for fact in extract(chat)] == ["The user is allergic to shellfish."]


def test_a_fact_on_the_last_day_of_the_calendar_is_dropped(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    def fact(content: str, day: str | None) -> dict[str, object]:
        return {
            "content": content,
            "categories": [],
            "source_message_ids": ["m1"],
            "event_start": day,
            "event_end": day,
            "subject": "user",
            "attribute": None,
            "value": None,
        }

    provider.provide(
        chat_completion(
            {
                "facts": [
                    fact("The user's passport expires at the end of time.", "9999-12-31"),
                    fact("The user is allergic to shellfish.", None),
                ]
            }
        )
    )
    assert [fact.content for fact in extract(chat)] == ["The user is allergic to shellfish."]


def test_speaker_names_reach_the_prompt(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("extract_facts")
    extract_facts_llm(
        chat,
        MESSAGES,
        now=SESSION_TIME,
        categories=CATEGORIES,
        user_name="Caroline",
        other_name="Melanie",
    )
    text = prompt_text(provider.received[0])
    assert f"[m1] user (Caroline): {MESSAGES[0].content}" in text
    assert f"[m2] assistant (Melanie): {MESSAGES[1].content}" in text
    assert 'with subject "Melanie"' in text


def test_a_naive_session_time_is_refused(chat: OpenAICompatibleChat) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        extract_facts_llm(chat, MESSAGES, now=datetime(2023, 5, 9), categories=CATEGORIES)


# --- Secrets ------------------------------------------------------------------------------------


def test_the_api_key_never_reaches_errors_or_logs(
    provider: RecordedProvider, chat: OpenAICompatibleChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The rejection echoes the key, as some proxies do.
    provider.queue("server_error", "invalid_api_key")
    with pytest.raises(LLMError) as raised:
        extract(chat)
    assert "HTTP 401" in str(raised.value) and "[redacted]" in str(raised.value)
    assert API_KEY not in str(raised.value)
    assert any(record.name == "recallr.llm" for record in caplog.records)
    assert API_KEY not in caplog.text


def test_settings_come_from_the_environment_and_hide_the_key() -> None:
    assert LLMSettings.from_env({}) is None
    settings = LLMSettings.from_env(
        {
            "RECALLR_LLM_BASE_URL": "https://api.openai.com/v1",
            "RECALLR_LLM_MODEL": MODEL,
            "RECALLR_LLM_API_KEY": API_KEY,
            "RECALLR_LLM_TIMEOUT_SECONDS": "12.5",
        }
    )
    assert settings == LLMSettings(
        base_url="https://api.openai.com/v1", model=MODEL, api_key=API_KEY, timeout_seconds=12.5
    )
    assert API_KEY not in repr(settings)
    with pytest.raises(ValueError, match="RECALLR_LLM_MODEL is required"):
        LLMSettings.from_env({"RECALLR_LLM_BASE_URL": "http://localhost:8000/v1"})


def test_embedding_settings_come_from_the_environment_and_hide_the_key() -> None:
    assert EmbeddingSettings.from_env({"RECALLR_EMBEDDING_MODEL": "m"}) is None
    settings = EmbeddingSettings.from_env(
        {
            "RECALLR_EMBEDDING_BASE_URL": "http://localhost:11434/v1",
            "RECALLR_EMBEDDING_MODEL": "nomic-embed-text",
            "RECALLR_EMBEDDING_API_KEY": API_KEY,
            "RECALLR_EMBEDDING_DIMENSIONS": "768",
        }
    )
    assert settings == EmbeddingSettings(
        base_url="http://localhost:11434/v1",
        model="nomic-embed-text",
        api_key=API_KEY,
        dimensions=768,
    )
    assert API_KEY not in repr(settings)


# --- Embeddings ---------------------------------------------------------------------------------


def recorded_vectors(*fixtures: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    rows = []
    for name in fixtures:
        data = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))["body"]["data"]
        rows += [item["embedding"] for item in sorted(data, key=lambda item: item["index"])]
    return np.array(rows)


def test_embeddings_are_batched_normalised_and_in_input_order(
    provider: RecordedProvider,
) -> None:
    provider.queue("embeddings_batch_1", "embeddings_batch_2")
    texts = ["The user moved to Lisbon.", "The user loves coffee.", "Ana is the user's sister."]
    with embedder(provider, dimensions=8) as client:
        vectors = client.embed(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (3, 8)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    expected = recorded_vectors("embeddings_batch_1", "embeddings_batch_2")
    np.testing.assert_allclose(
        vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True), rtol=1e-6
    )
    assert [request.path for request in provider.received] == ["/v1/embeddings"] * 2
    assert [request.body for request in provider.received] == [
        {"model": "nomic-embed-text", "input": texts[:2], "dimensions": 8},
        {"model": "nomic-embed-text", "input": texts[2:], "dimensions": 8},
    ]


def test_the_embedder_learns_its_dimensions_from_the_model(provider: RecordedProvider) -> None:
    provider.queue("embeddings_batch_2")
    with embedder(provider, dimensions=None) as client:
        assert client.dimensions == 8
        assert client.embed([]).shape == (0, 8)
    (request,) = provider.received
    assert "dimensions" not in request.body


def test_embeddings_of_another_size_than_configured_raise_llm_error(
    provider: RecordedProvider,
) -> None:
    provider.queue("embeddings_batch_2")
    with embedder(provider, dimensions=16) as client, pytest.raises(LLMError, match="16"):
        client.embed(["The user moved to Lisbon."])


# --- Consolidation, conflicts and summaries -----------------------------------------------------


def existing(number: int, content: str, attribute_value: str | None = None) -> Existing:
    return Existing(
        memory_id=f"memory-{number}",
        chain_id=f"chain-{number}",
        content=content,
        embedding=np.zeros(8, np.float32),
        event_start=utc(2021, 3, 1),
        subject_key="user",
        attribute_key="residence" if attribute_value else None,
        attribute_value=attribute_value,
    )


MEMORIES = [
    existing(1, "The user has never had a food allergy."),
    existing(2, "In March 2021, the user moved to Porto.", "Porto"),
]
MOVE = Candidate(
    content=FACTS[0].content,
    embedding=np.zeros(8, np.float32),
    event_start=FACTS[0].event_start,
    subject_key="user",
    attribute_key="residence",
    attribute_value="Lisbon",
)


def test_the_judge_names_the_memory_a_temporal_update_replaces(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("consolidate_temporal_update")
    outcome = judge_llm(chat, MOVE, MEMORIES, conflicts_enabled=True)
    assert (outcome.decision, outcome.target) == (Decision.TEMPORAL_UPDATE, MEMORIES[1])
    assert outcome.reason == "the user moved from Porto to Lisbon"
    text = prompt_text(provider.received[0])
    assert "New fact (dated 2023-04-01):\nIn April 2023, the user moved to Lisbon." in text
    assert "2. In March 2021, the user moved to Porto. (dated 2021-03-01)" in text
    schema = provider.received[0].body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["memory"]["enum"] == [1, 2, None]


@pytest.mark.parametrize(
    ("conflicts_enabled", "decision"),
    [(True, Decision.CONFLICT), (False, Decision.TEMPORAL_UPDATE)],
)
def test_a_contradiction_is_a_conflict_only_when_conflicts_are_enabled(
    provider: RecordedProvider,
    chat: OpenAICompatibleChat,
    conflicts_enabled: bool,
    decision: Decision,
) -> None:
    provider.queue("consolidate_contradiction")
    allergy = Candidate(
        FACTS[3].content, np.zeros(8, np.float32), FACTS[3].event_start, *[None] * 3
    )
    outcome = judge_llm(chat, allergy, MEMORIES, conflicts_enabled=conflicts_enabled)
    assert (outcome.decision, outcome.target) == (decision, MEMORIES[0])


def test_a_new_fact_is_linked_to_the_memories_the_judge_calls_related(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("consolidate_new_related")
    outcome = judge_llm(chat, MOVE, MEMORIES, conflicts_enabled=True)
    assert (outcome.decision, outcome.target) == (Decision.NEW, None)
    assert outcome.related_chains == ["chain-2"]


def test_the_judge_is_not_asked_without_candidates(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    assert judge_llm(chat, MOVE, [], conflicts_enabled=True).decision is Decision.NEW
    assert provider.received == []


def test_a_clarifying_question_offers_the_resolution_options(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("clarify")
    questions = clarifying_questions_llm(
        chat,
        "The user is allergic to shellfish.",
        ["The user has never had a food allergy."],
        options=RESOLUTION_OPTIONS,
    )
    assert questions == [
        {
            "question": "Are you allergic to shellfish, or have you never had a food allergy?",
            "options": list(RESOLUTION_OPTIONS),
        }
    ]
    text = prompt_text(provider.received[0])
    assert "- The user has never had a food allergy." in text
    assert all(f"- {option}" in text for option in RESOLUTION_OPTIONS)


def test_a_summary_is_written_from_the_session_and_its_time(
    provider: RecordedProvider, chat: OpenAICompatibleChat
) -> None:
    provider.queue("summarise")
    summary = summarise_llm(chat, MESSAGES, SESSION_TIME)
    assert summary.startswith("On 9 May 2023, the user said they had moved to Lisbon")
    (request,) = provider.received
    assert request.body["response_format"]["json_schema"]["schema"] == SUMMARY_SCHEMA
    assert "Tuesday 9 May 2023, 14:30 UTC" in prompt_text(request)
    assert MESSAGES[2].content in prompt_text(request)


# --- Prompts and replies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("extract_facts.v1", {"now", "speakers", "categories", "messages"}),
        ("consolidate.v1", {"fact", "fact_date", "memories"}),
        ("clarify.v1", {"new", "existing", "options"}),
        ("summarise.v1", {"now", "messages"}),
    ],
)
def test_each_prompt_has_a_system_part_and_names_its_variables(
    name: str, variables: set[str]
) -> None:
    prompt = Prompt.load(name)
    assert f"{prompt.name}.v{prompt.version}" == name
    assert prompt.system and "{{" not in prompt.system
    assert prompt.variables == variables


def test_rendering_needs_exactly_the_template_variables() -> None:
    prompt = Prompt.load("summarise.v1")
    with pytest.raises(ValueError, match="takes"):
        prompt.render({"now": "today"})


def test_rendering_leaves_braces_inside_values_alone() -> None:
    _, user = Prompt.load("summarise.v1").render({"now": "{{messages}}", "messages": "{{now}}"})
    assert "took place on {{messages}}." in user["content"]
    assert "Conversation:\n{{now}}" in user["content"]


def test_a_prompt_is_named_with_its_version() -> None:
    with pytest.raises(ValueError, match=r"extract_facts\.v1"):
        Prompt.load("extract_facts")


SUMMARY_REPLY = '{"summary": "On 9 May 2023, the user moved."}'


@pytest.mark.parametrize(
    "text",
    [
        SUMMARY_REPLY,
        f"<think>The schema wants {{summary}}.</think>\n{SUMMARY_REPLY}",
        f"Here is the JSON you asked for:\n{SUMMARY_REPLY}\nLet me know if you need more.",
        f"```\n{SUMMARY_REPLY}\n```",
    ],
)
def test_text_around_the_reply_object_is_ignored(text: str) -> None:
    assert parse_json_reply(text, SUMMARY_SCHEMA) == json.loads(SUMMARY_REPLY)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"summary": "On 9 May 2023, the user mo', "not valid JSON"),
        ('{"summary": "   "}', r'\$\.summary: "   " does not match'),
        ('{"summary": "x", "mood": "happy"}', r"\$: unexpected mood"),
        ('{"summary": 3}', r"\$\.summary: expected string, got int"),
    ],
)
def test_a_reply_that_cannot_be_repaired_is_invalid(text: str, problem: str) -> None:
    with pytest.raises(InvalidOutput, match=problem):
        parse_json_reply(text, SUMMARY_SCHEMA)


def test_a_schema_keyword_the_validator_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="minLength"):
        validation_error("x", {"type": "string", "minLength": 1})
