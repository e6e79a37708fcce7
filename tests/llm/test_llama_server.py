"""The model path against a real local model server, end to end through Recallr.

llama-cpp-python's server (installed by scripts/setup) serves Gemma 3 270M on a loopback
port for the whole module, and a Recallr server points `RECALLR_LLM_*` at it. The 270M
model's judgement is poor: these tests pin the protocol and what Recallr does with the
answers (the response format it settles on, sessions that end, recall that says what it
did), never what the model concluded.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from recallr_server.config import Settings
from recallr_server.domain.merge_conflicts import RESOLUTION_OPTIONS
from recallr_server.engine.ingest.llm_steps import clarifying_questions_llm
from recallr_server.engine.provider.formats import FORMATS
from recallr_server.engine.provider.llm import LLMSettings, OpenAICompatibleChat
from recallrai import RecallrAI, Session, User
from recallrai.models import (
    ContextResponse,
    MessageRole,
    RecallStrategy,
    SessionStatus,
)
from tests.conftest import ServerThread, new_tenant
from tests.engine.scenarios import ASSISTANT, USER, at, memories, wait_until
from tests.llm.llama_server import MODEL_ALIAS, llama_server
from tests.support.metrics import labels, samples

TURNS = [
    (USER, "I moved to Lisbon last month and I started a new job at a bakery."),
    (ASSISTANT, "Congratulations! How do you like Lisbon so far?"),
    (USER, "I love it. My sister Ana visits next weekend. I'm allergic to shellfish."),
]
# A model call on a busy two-core machine takes seconds; recall and jobs wait this long.
PATIENCE_SECONDS = 150.0
MAX_TOKENS = 96
MODEL_FAILURE = re.compile(r"\((LLMError|InvalidOutput|TimeoutError|CircuitOpen)\)")


@pytest.fixture(scope="module")
def llama() -> Iterator[str]:
    with llama_server() as url:
        yield url
    # What was learned of this port must not reach a later server given the same one.
    FORMATS.forget()


def _recallr(llama: str, database: Path, **env: str) -> ServerThread:
    """A Recallr server asking `llama`, with `RECALLR_LLM_{name}` set for each of `env`."""
    settings = {
        "BASE_URL": llama,
        "MODEL": MODEL_ALIAS,
        "TIMEOUT_SECONDS": str(PATIENCE_SECONDS),
        # Gemma 270M at temperature 0 can repeat itself until its context is full.
        "MAX_TOKENS": str(MAX_TOKENS),
        **env,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(f"RECALLR_LLM_{name}", value)
        return ServerThread(
            replace(
                Settings(),
                database_url=f"sqlite:///{database}",
                listen="127.0.0.1:0",
                metrics_listen="127.0.0.1:0",
                job_lease_seconds=PATIENCE_SECONDS,
            )
        )


@pytest.fixture(scope="module")
def recallr(llama: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    server = _recallr(llama, tmp_path_factory.mktemp("llama") / "recallr.db")
    yield server
    server.stop()


@contextmanager
def _client(server: ServerThread) -> Iterator[RecallrAI]:
    tenant = new_tenant(server)
    with RecallrAI(
        api_key=tenant.api_key,
        project_id=tenant.project_id,
        target=tenant.target,
        timeout=PATIENCE_SECONDS,
    ) as opened:
        yield opened


@pytest.fixture
def client(recallr: ServerThread) -> Iterator[RecallrAI]:
    with _client(recallr) as opened:
        yield opened


def chat_requests(server: ServerThread) -> dict[tuple[str, str], float]:
    """The chat requests Recallr made so far, by response format and outcome."""
    assert server.running.metrics_server is not None
    counted = samples(server.running.metrics_server.port)
    return {
        (form, outcome): counted.get(
            ("recallr_llm_chat_requests_total", labels(response_format=form, outcome=outcome)),
            0.0,
        )
        for form in ("json_schema", "json_object", "prompt")
        for outcome in ("ok", "refused", "failed")
    }


def conversation(client: RecallrAI, *turns: tuple[MessageRole, str]) -> tuple[User, Session]:
    user = client.create_user(f"u-{uuid.uuid4().hex[:8]}")
    session = user.create_session(custom_created_at_utc=at(2023, 5, 9))
    for role, content in turns:
        session.add_message(role=role, content=content)
    return user, session


def recall(
    session: Session, strategy: RecallStrategy
) -> tuple[list[ContextResponse], ContextResponse]:
    *updates, context = session.get_context_stream(recall_strategy=strategy)
    assert context.is_final and context.metadata is not None
    assert not any(update.is_final for update in updates)
    return updates, context


def fallbacks(updates: list[ContextResponse]) -> list[str]:
    return [
        update.status_update_message or ""
        for update in updates
        if update.status_update_step == "model_fallback"
    ]


def test_json_schema_is_refused_once_then_json_object_with_the_schema_is_used(
    recallr: ServerThread, client: RecallrAI
) -> None:
    _, session = conversation(client, *TURNS, (USER, "Where should I take Ana for dinner?"))
    for _ in range(2):
        recall(session, RecallStrategy.BALANCED)
    counted = chat_requests(recallr)
    # llama-cpp-python 0.3 refuses json_schema with HTTP 500 and takes json_object with
    # the schema; the refusal is learned once, whichever test of the module asked first.
    assert counted["json_schema", "refused"] == 1
    assert counted["json_object", "ok"] >= 2
    assert counted["json_schema", "ok"] == counted["json_object", "refused"] == 0
    assert counted["prompt", "ok"] == 0


def processed(client: RecallrAI) -> tuple[User, Session]:
    """A session of TURNS, once its processing has ended one way or the other."""
    user, session = conversation(client, *TURNS)
    session.process()

    def finished() -> bool:
        session.refresh()
        return session.status in (SessionStatus.PROCESSED, SessionStatus.FAILED)

    wait_until(finished, "the session to be processed", timeout=3 * PATIENCE_SECONDS)
    return user, session


def test_a_session_ends_processed_with_memories_or_failed_naming_the_cause(
    client: RecallrAI,
) -> None:
    user, session = processed(client)
    if session.status is SessionStatus.FAILED:
        assert isinstance(session.failure_reason, str)
        assert "LLMError" in session.failure_reason
        assert session.extractor is None
        assert memories(user) == []
    else:
        assert session.extractor == f"model:{MODEL_ALIAS}"
        found = memories(user)
        assert found, "a processed session with these turns has memories"
        message_ids = {m.message_id for m in session.get_messages().messages}
        for memory in found:
            assert memory.content.strip()
            assert set(memory.source_message_ids) <= message_ids


@pytest.mark.parametrize("fallback", ["local", "fail"])
def test_the_fallback_policy_decides_what_becomes_of_a_session_the_model_cannot_process(
    llama: str, tmp_path: Path, fallback: str
) -> None:
    # No answer fits in two tokens, so every reply is cut short and unusable whatever the
    # model concludes: the policy, not the model, decides how the session ends.
    server = _recallr(llama, tmp_path / "recallr.db", MAX_TOKENS="2", FALLBACK=fallback)
    try:
        with _client(server) as client:
            user, session = processed(client)
            found = memories(user)
    finally:
        server.stop()
    if fallback == "local":
        assert session.status is SessionStatus.PROCESSED, session.failure_reason
        assert session.extractor == "local"
        assert found, "the local engine finds facts in these turns"
    else:
        assert session.status is SessionStatus.FAILED
        assert session.extractor is None
        assert found == []
        reason = session.failure_reason
        assert isinstance(reason, str)
        assert "LLMError: extract_facts.v1: no usable reply in 3 attempts" in reason, reason
        assert "not valid JSON" in reason, reason


def test_balanced_recall_plans_with_the_model_or_says_why_not(
    recallr: ServerThread, client: RecallrAI
) -> None:
    _, session = conversation(client, *TURNS, (USER, "What did I tell you about my sister?"))
    asked = chat_requests(recallr)["json_object", "ok"]
    updates, context = recall(session, RecallStrategy.BALANCED)
    assert context.metadata and context.metadata.recall_strategy_used is RecallStrategy.BALANCED
    (understanding, *_) = updates
    assert understanding.status_update_step == "understanding_query"
    reasons = fallbacks(updates)
    for reason in reasons:
        assert MODEL_FAILURE.search(reason), reason
    if not reasons:
        # The plan is the model's: a request was answered. A request the recall's deadline
        # abandoned is counted nowhere, so a fallback says why instead.
        assert chat_requests(recallr)["json_object", "ok"] > asked


def test_agentic_recall_searches_in_rounds_the_model_reviews_or_says_why_not(
    recallr: ServerThread, client: RecallrAI
) -> None:
    _, session = conversation(client, *TURNS, (USER, "Which city did I move to, and when?"))
    asked = chat_requests(recallr)["json_object", "ok"]
    updates, context = recall(session, RecallStrategy.AGENTIC)
    steps = [update.status_update_step for update in updates]
    reasons = fallbacks(updates)
    for reason in reasons:
        assert MODEL_FAILURE.search(reason), reason
    if reasons and "plan" in reasons[0]:
        # Without a plan, recall understands the conversation locally, as BALANCED does.
        assert context.metadata and context.metadata.recall_strategy_used is RecallStrategy.BALANCED
        return
    assert context.metadata and context.metadata.recall_strategy_used is RecallStrategy.AGENTIC
    rounds = steps.count("search_round")
    assert rounds >= 1
    # The plan, then a review of each round; each that failed or was abandoned said so.
    assert chat_requests(recallr)["json_object", "ok"] - asked >= rounds - len(reasons)


def test_a_merge_conflict_gets_the_question_the_model_wrote(llama: str) -> None:
    settings = LLMSettings(
        base_url=llama, model=MODEL_ALIAS, timeout_seconds=PATIENCE_SECONDS, max_tokens=MAX_TOKENS
    )
    with OpenAICompatibleChat(settings) as chat:
        (question,) = clarifying_questions_llm(
            chat,
            "The user is allergic to shellfish.",
            ["The user has never had a food allergy."],
            options=RESOLUTION_OPTIONS,
        )
    assert question["question"].strip()
    # The model words the question; the answers offered stay the fixed resolutions.
    assert question["options"] == list(RESOLUTION_OPTIONS)
