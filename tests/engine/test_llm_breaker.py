"""The chat model's circuit breaker: a server that keeps failing is not asked for a while.

The recorded provider counts the requests that reach it, so each test pins how many calls
cost a request and how many failed fast without one.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from recallr_server.config import Settings
from recallr_server.engine.ingest.llm_steps import summarise_llm
from recallr_server.engine.provider.llm import (
    CircuitOpen,
    LLMError,
    LLMSettings,
    ModelFallback,
    OpenAICompatibleChat,
)
from recallrai import RecallrAI
from recallrai.models import RecallStrategy
from tests.conftest import ServerThread, new_tenant
from tests.engine.recorded_provider import Received, RecordedProvider, chat_completion
from tests.engine.scenarios import USER, at
from tests.engine.test_llm_formats import recorded
from tests.engine.test_llm_provider import MESSAGES, SESSION_TIME
from tests.support.metrics import labels, samples

MODEL = "gpt-4o-mini"
COOLDOWN = 30.0
SUMMARY = {"summary": "On 9 May 2023, the user moved to Lisbon."}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Server:
    """Answers every request, healthy or not as the test says, and counts the requests."""

    def __init__(self, provider: RecordedProvider) -> None:
        self.healthy = False
        self.delay = 0.0
        self._provider = provider

    def answer(self, request: Received) -> dict[str, Any]:
        if self.healthy:
            return chat_completion(SUMMARY, delay=self.delay)
        # A 401 is not retried: one failed call is one request.
        return {**recorded("invalid_api_key"), "delay": self.delay}

    @property
    def requests(self) -> int:
        return len(self._provider.received)


@pytest.fixture
def server(provider: RecordedProvider) -> Server:
    answering = Server(provider)
    provider.provide(*[answering.answer] * 50)
    return answering


@pytest.fixture
def clock() -> Clock:
    return Clock()


def chat(provider: RecordedProvider, clock: Clock, failures: int = 2) -> OpenAICompatibleChat:
    settings = LLMSettings(
        base_url=provider.url,
        model=MODEL,
        breaker_failures=failures,
        breaker_cooldown_seconds=COOLDOWN,
    )
    return OpenAICompatibleChat(settings, backoff_seconds=0.01, clock=clock)


def summarise(client: OpenAICompatibleChat) -> str:
    return summarise_llm(client, MESSAGES, SESSION_TIME)


def test_after_n_failed_calls_the_model_fails_fast_until_the_cool_down_ends(
    provider: RecordedProvider, server: Server, clock: Clock
) -> None:
    with chat(provider, clock) as client:
        for _ in range(2):
            with pytest.raises(LLMError, match="HTTP 401"):
                summarise(client)
        for _ in range(3):
            with pytest.raises(CircuitOpen, match=r"failed the last 2 requests.*HTTP 401"):
                summarise(client)
        assert server.requests == 2
        clock.now += COOLDOWN - 1
        with pytest.raises(CircuitOpen, match="tried again in 1s"):
            summarise(client)
        assert server.requests == 2
        server.healthy = True
        clock.now += 1
        assert summarise(client) == SUMMARY["summary"]
        assert summarise(client) == SUMMARY["summary"]
    assert server.requests == 4


def test_a_failed_trial_call_opens_the_breaker_for_another_cool_down(
    provider: RecordedProvider, server: Server, clock: Clock
) -> None:
    with chat(provider, clock) as client:
        for _ in range(2):
            with pytest.raises(LLMError):
                summarise(client)
        clock.now += COOLDOWN
        with pytest.raises(LLMError, match="HTTP 401") as trial:
            summarise(client)
        assert not isinstance(trial.value, CircuitOpen)
        with pytest.raises(CircuitOpen, match="failed the last 3 requests"):
            summarise(client)
    assert server.requests == 3


def test_while_half_open_only_one_call_is_let_through(
    provider: RecordedProvider, server: Server, clock: Clock
) -> None:
    with chat(provider, clock) as client:
        for _ in range(2):
            with pytest.raises(LLMError):
                summarise(client)
        clock.now += COOLDOWN
        server.healthy, server.delay = True, 0.5
        results: list[str] = []
        trial = threading.Thread(target=lambda: results.append(summarise(client)))
        trial.start()
        while server.requests < 3:
            time.sleep(0.01)
        with pytest.raises(CircuitOpen, match="being tried again now"):
            summarise(client)
        trial.join()
        assert results == [SUMMARY["summary"]]
    assert server.requests == 3


def test_a_success_starts_the_count_again(
    provider: RecordedProvider, server: Server, clock: Clock
) -> None:
    with chat(provider, clock) as client:
        for healthy in (False, True, False, True, False):
            server.healthy = healthy
            if healthy:
                summarise(client)
            else:
                with pytest.raises(LLMError, match="HTTP 401"):
                    summarise(client)
    assert server.requests == 5


def test_unusable_replies_come_from_a_working_server_and_keep_it_asked(
    provider: RecordedProvider, clock: Clock
) -> None:
    provider.provide(*[chat_completion("I would rather not say.")] * 9)
    with chat(provider, clock) as client:
        for _ in range(3):
            with pytest.raises(LLMError, match="no usable reply in 3 attempts"):
                summarise(client)
    assert len(provider.received) == 9


def test_no_breaker_with_zero_failures(
    provider: RecordedProvider, server: Server, clock: Clock
) -> None:
    with chat(provider, clock, failures=0) as client:
        for _ in range(6):
            with pytest.raises(LLMError, match="HTTP 401"):
                summarise(client)
    assert server.requests == 6


def test_breaker_fallback_and_token_limit_settings_come_from_the_environment() -> None:
    base = {"RECALLR_LLM_BASE_URL": "http://localhost:8080/v1", "RECALLR_LLM_MODEL": MODEL}
    defaults = LLMSettings.from_env(base)
    assert defaults is not None
    assert (defaults.breaker_failures, defaults.breaker_cooldown_seconds) == (5, 30.0)
    assert defaults.fallback is ModelFallback.FAIL
    settings = LLMSettings.from_env(
        {
            **base,
            "RECALLR_LLM_BREAKER_FAILURES": "3",
            "RECALLR_LLM_BREAKER_COOLDOWN_SECONDS": "7.5",
            "RECALLR_LLM_FALLBACK": "Local",
            "RECALLR_LLM_MAX_TOKENS": "256",
        }
    )
    assert settings is not None
    assert (settings.breaker_failures, settings.breaker_cooldown_seconds) == (3, 7.5)
    assert (defaults.max_tokens, settings.max_tokens) == (None, 256)
    assert settings.fallback is ModelFallback.LOCAL
    with OpenAICompatibleChat(settings) as client:
        assert client.fallback is ModelFallback.LOCAL
        assert client.extractor == f"model:{MODEL}"
    with pytest.raises(ValueError, match="RECALLR_LLM_FALLBACK must be one of fail, local"):
        LLMSettings.from_env({**base, "RECALLR_LLM_FALLBACK": "retry"})
    with pytest.raises(ValueError, match="breaker_failures"):
        LLMSettings.from_env({**base, "RECALLR_LLM_BREAKER_FAILURES": "-1"})
    with pytest.raises(ValueError, match="breaker_cooldown_seconds"):
        LLMSettings.from_env({**base, "RECALLR_LLM_BREAKER_COOLDOWN_SECONDS": "0"})


# --- Recall through the server ------------------------------------------------------------


@pytest.fixture
def recallr(
    provider: RecordedProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RecallrAI, int]]:
    monkeypatch.setenv("RECALLR_LLM_BASE_URL", provider.url)
    monkeypatch.setenv("RECALLR_LLM_MODEL", MODEL)
    monkeypatch.setenv("RECALLR_LLM_BREAKER_FAILURES", "2")
    settings = replace(
        Settings(),
        database_url=f"sqlite:///{tmp_path / 'breaker.db'}",
        listen="127.0.0.1:0",
        metrics_listen="127.0.0.1:0",
        workers=0,
    )
    running = ServerThread(settings)
    tenant = new_tenant(running)
    assert running.running.metrics_server is not None
    try:
        with RecallrAI(
            api_key=tenant.api_key, project_id=tenant.project_id, target=tenant.target
        ) as client:
            yield client, running.running.metrics_server.port
    finally:
        running.stop()


def test_recall_stops_asking_a_failing_server_and_falls_back_at_once(
    recallr: tuple[RecallrAI, int], server: Server
) -> None:
    client, metrics_port = recallr
    session = client.create_user(f"u-{uuid.uuid4().hex[:6]}").create_session(
        custom_created_at_utc=at(2023, 8, 1)
    )
    session.add_message(role=USER, content="Which race did I run last May?")
    fallbacks = []
    for _ in range(4):
        events = list(session.get_context_stream(recall_strategy=RecallStrategy.BALANCED))
        assert events[-1].is_final
        (fallback,) = [e for e in events if e.status_update_step == "model_fallback"]
        fallbacks.append(fallback.status_update_message or "")
    assert server.requests == 2
    assert ["CircuitOpen" in message for message in fallbacks] == [False, False, True, True]
    assert samples(metrics_port)[("recallr_llm_circuit_open", labels())] == 1
