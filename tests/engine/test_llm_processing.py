"""Processing with an LLM configured: the server uses it end to end, and bad output never lands."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from recallr_server.config import Settings
from recallr_server.domain.merge_conflicts import RESOLUTION_OPTIONS
from recallr_server.engine.ingest.processing import CHUNK_MESSAGES
from recallrai import RecallrAI
from recallrai.models import NewMessage, SessionStatus
from tests.conftest import ServerThread, new_tenant
from tests.engine.recorded_provider import Received, RecordedProvider, chat_completion
from tests.engine.scenarios import ASSISTANT, USER, at, memories, wait_until

MODEL = "gpt-4o-mini"
TURNS = [
    (USER, "I moved to Lisbon last month!"),
    (ASSISTANT, "Welcome! Try Fábrica Coffee Roasters in Baixa."),
    (USER, "My sister Ana visits this weekend. I'm allergic to shellfish, by the way."),
]


@pytest.fixture
def fallback() -> str:
    """RECALLR_LLM_FALLBACK; a test parametrized on `fallback` chooses another."""
    return "fail"


@pytest.fixture
def client(
    provider: RecordedProvider, fallback: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RecallrAI]:
    monkeypatch.setenv("RECALLR_LLM_BASE_URL", provider.url)
    monkeypatch.setenv("RECALLR_LLM_MODEL", MODEL)
    monkeypatch.setenv("RECALLR_LLM_FALLBACK", fallback)
    settings = replace(
        Settings(), database_url=f"sqlite:///{tmp_path / 'llm.db'}", listen="127.0.0.1:0"
    )
    server = ServerThread(settings)
    tenant = new_tenant(server)
    try:
        with RecallrAI(
            api_key=tenant.api_key, project_id=tenant.project_id, target=tenant.target
        ) as opened:
            yield opened
    finally:
        server.stop()


def _process(client: RecallrAI) -> tuple[Any, Any]:
    user = client.create_user(f"u-{uuid.uuid4().hex[:6]}")
    session = user.create_session(custom_created_at_utc=at(2023, 5, 9))
    for role, content in TURNS:
        session.add_message(role=role, content=content)
    session.process()
    _wait(session)
    return user, session


def _wait(session: Any) -> None:

    def finished() -> bool:
        session.refresh()
        return session.status in (SessionStatus.PROCESSED, SessionStatus.FAILED)

    wait_until(finished, "processing to finish", timeout=60)


def test_the_llm_extracts_the_memories_with_their_sources(
    provider: RecordedProvider, client: RecallrAI
) -> None:
    provider.queue("extract_facts", "summarise")
    user, session = _process(client)
    assert session.status == SessionStatus.PROCESSED
    assert session.extractor == f"model:{MODEL}"
    found = {m.content: m for m in memories(user)}
    assert "In April 2023, the user moved to Lisbon." in found
    assert "The user is allergic to shellfish." in found
    first, _, third = (
        user.get_session(found["The user is allergic to shellfish."].session_id)
        .get_messages()
        .messages
    )
    assert found["In April 2023, the user moved to Lisbon."].source_message_ids == [
        first.message_id
    ]
    assert found["The user is allergic to shellfish."].source_message_ids == [third.message_id]
    extraction = provider.received[0]
    assert extraction.path == "/v1/chat/completions"
    assert extraction.body["model"] == MODEL
    assert extraction.body["response_format"]["type"] == "json_schema"


def test_output_that_never_becomes_valid_fails_the_session_and_writes_nothing(
    provider: RecordedProvider, client: RecallrAI
) -> None:
    # Three attempts of the job, each asking three times: nothing usable arrives.
    provider.queue(*["extract_facts_prose"] * 9)
    user, session = _process(client)
    assert session.status == SessionStatus.FAILED
    assert "LLMError" in session.failure_reason
    assert session.extractor is None
    assert memories(user) == []
    # FAILED is retryable: processing again with a working model succeeds.
    provider.queue("extract_facts", "summarise")
    session.process()
    _wait(session)
    assert session.status == SessionStatus.PROCESSED
    assert session.extractor == f"model:{MODEL}"
    assert len(memories(user)) == 4


@pytest.mark.parametrize("fallback", ["local"])
def test_with_the_local_fallback_output_that_never_becomes_valid_is_processed_locally(
    provider: RecordedProvider, client: RecallrAI
) -> None:
    provider.queue(*["extract_facts_prose"] * 3)
    user, session = _process(client)
    assert session.status == SessionStatus.PROCESSED, session.failure_reason
    assert session.extractor == "local"
    assert any("shellfish" in memory.content for memory in memories(user))
    # One job attempt asked three times; the local engine did the rest.
    assert len(provider.received) == 3


def test_a_model_whose_every_fact_cites_no_message_fails_the_session_naming_why(
    provider: RecordedProvider, client: RecallrAI
) -> None:
    invented = {
        "content": "The user moved to Lisbon.",
        "categories": [],
        "source_message_ids": ["m9"],
        "event_start": None,
        "event_end": None,
        "subject": "user",
        "attribute": None,
        "value": None,
    }
    # Schema-valid, so asked once per job attempt: three attempts.
    provider.provide(*[chat_completion({"facts": [invented]})] * 3)
    user, session = _process(client)
    assert session.status == SessionStatus.FAILED
    assert "all 1 facts cited no message of the session" in session.failure_reason
    assert memories(user) == []
    assert len(provider.received) == 3


def test_a_merge_conflict_asks_the_question_the_model_wrote(
    provider: RecordedProvider, client: RecallrAI
) -> None:
    colors = iter(["blue", "green"])
    replies: dict[str, dict[str, Any]] = {
        "consolidate": {"decision": "contradiction", "memory": 1, "related": [], "reason": "x"},
        "clarify": {"question": "Is green your favorite color now, or is it still blue?"},
        "summarise": {"summary": "On 1 March 2024 the user named a favorite color."},
    }

    def answer(request: Received) -> dict[str, Any]:
        name = request.body["response_format"]["json_schema"]["name"]
        if name != "extract_facts":
            return chat_completion(replies[name])
        color = next(colors)
        fact = {
            "content": f"The user's favorite color is {color}.",
            "categories": [],
            "source_message_ids": ["m1"],
            "event_start": None,
            "event_end": None,
            "subject": "user",
            "attribute": "favorite_color",
            "value": color,
        }
        return chat_completion({"facts": [fact]})

    provider.provide(*[answer] * 10)
    user = client.create_user("ada")
    user.update(merge_conflict_enabled=True)
    for hour, color in ((9, "blue"), (18, "green")):
        session = user.create_session(custom_created_at_utc=at(2024, 3, 1, hour))
        session.add_message(role=USER, content=f"My favorite color is {color}.")
        session.process()
        _wait(session)
        assert session.status == SessionStatus.PROCESSED, session.failure_reason
    (conflict,) = user.list_merge_conflicts().conflicts
    (question,) = conflict.clarifying_questions
    assert question.question == "Is green your favorite color now, or is it still blue?"
    assert question.options == list(RESOLUTION_OPTIONS)


def _fact_citing(content: str, alias: str) -> dict[str, Any]:
    return {
        "content": content,
        "categories": [],
        "source_message_ids": [alias],
        "event_start": None,
        "event_end": None,
        "subject": "user",
        "attribute": None,
        "value": None,
    }


def test_a_session_longer_than_a_chunk_is_read_by_the_model_chunk_by_chunk(
    provider: RecordedProvider, client: RecallrAI
) -> None:
    small_talk = [
        (USER, "Thanks!") if i % 2 == 0 else (ASSISTANT, "Any time.")
        for i in range(CHUNK_MESSAGES - 1)
    ]
    moved, allergy = "I moved to Lisbon last month!", "I'm allergic to shellfish."
    # The first chunk ends with the move; the second shows the model the first's last six
    # messages (m1-m6, the move m6) before its own (m7).
    lisbon = "In April 2023, the user moved to Lisbon."
    first_summary = "On 9 May 2023, the user said they had moved to Lisbon."
    provider.provide(
        chat_completion({"facts": [_fact_citing(lisbon, f"m{CHUNK_MESSAGES}")]}),
        chat_completion({"summary": first_summary}),
        chat_completion(
            {
                "facts": [
                    _fact_citing(lisbon, "m6"),
                    _fact_citing("The user is allergic to shellfish.", "m7"),
                ]
            }
        ),
        chat_completion({"summary": f"{first_summary} They are allergic to shellfish."}),
    )
    user = client.create_user(f"u-{uuid.uuid4().hex[:6]}")
    session = user.create_session(custom_created_at_utc=at(2023, 5, 9))
    turns = [*small_talk, (USER, moved), (USER, allergy)]
    session.add_messages([NewMessage(role=role, content=content) for role, content in turns])
    session.process()
    _wait(session)

    assert session.status == SessionStatus.PROCESSED, session.failure_reason
    # What only the context cited was extracted with the first chunk, and is written once.
    assert sorted(m.content for m in memories(user)) == [
        lisbon,
        "The user is allergic to shellfish.",
    ]
    second = provider.received[2].body["messages"][-1]["content"]
    assert f"[m6] user: {moved}" in second and f"[m7] user: {allergy}" in second
    assert "[m8]" not in second
    continued = provider.received[3].body["messages"]
    assert "summary of the parts so far" in continued[0]["content"]
    assert (
        first_summary in continued[-1]["content"]
        and "[m1] user: I'm allergic" in (continued[-1]["content"])
    )
    # Two chunks, two calls each: no memory is similar enough to the allergy to be judged.
    assert len(provider.received) == 4


@pytest.mark.parametrize("labelled", [False, True], ids=["metadata names", "speaker labels"])
def test_the_model_is_told_the_speakers_names_from_labels_as_from_metadata(
    provider: RecordedProvider, client: RecallrAI, labelled: bool
) -> None:
    """A transcript that names its speakers only in labels ("Melanie: ...") must not be
    read as "the user" talking to an AI: the model hears the names metadata would give."""
    provider.queue("extract_facts", "summarise")
    user = client.create_user(f"u-{uuid.uuid4().hex[:6]}", {} if labelled else {"name": "Melanie"})
    session = user.create_session(
        custom_created_at_utc=at(2023, 5, 9),
        metadata={} if labelled else {"assistant_name": "Caroline"},
    )
    for role, speaker, text in (
        (ASSISTANT, "Caroline", "Guess what, I adopted a kitten!"),
        (USER, "Melanie", "We adopted a puppy."),
    ):
        session.add_message(role=role, content=f"{speaker}: {text}" if labelled else text)
    session.process()
    _wait(session)
    prompt = json.dumps(provider.received[0].body["messages"])
    assert 'The user is Melanie; write \\"Melanie\\" for them in facts.' in prompt
    assert "The other speaker is a person, Caroline, not an AI" in prompt
    assert "user (Melanie): " in prompt
    assert "assistant (Caroline): " in prompt
