"""Structured output that adapts to the server: json_schema, then json_object with the
schema beside it, then the schema in the prompt; learned once per server, over real HTTP
to a recorded provider."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from recallr_server import metrics
from recallr_server.engine.ingest.llm_steps import SUMMARY_SCHEMA, summarise_llm
from recallr_server.engine.provider.formats import (
    SCHEMA_INSTRUCTION,
    FormatMemory,
    ResponseFormat,
    grammar_schema,
    refuses_format,
)
from recallr_server.engine.provider.llm import LLMError, LLMSettings, OpenAICompatibleChat
from tests.engine.recorded_provider import FIXTURES, Received, RecordedProvider, chat_completion
from tests.engine.test_llm_provider import MESSAGES, SESSION_TIME
from tests.support.metrics import labels, samples

MODEL = "gemma-3-270m"
URL = "http://127.0.0.1:8080/v1"
SUMMARY = {"summary": "On 9 May 2023, the user said they had moved to Lisbon."}


def recorded(name: str) -> dict[str, Any]:
    exchange: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return exchange


# A server that takes only some forms answers the others with its recorded refusal.
LLAMA_CPP = {"json_schema": recorded("json_schema_refused_llama_cpp")}
OPENAI_LEGACY = {
    "json_schema": recorded("json_schema_refused_openai"),
    "json_object": recorded("json_object_refused"),
}


def form(request: Received) -> str:
    response_format = request.body.get("response_format")
    return "prompt" if response_format is None else str(response_format["type"])


def server(refusals: dict[str, dict[str, Any]]) -> Callable[[Received], dict[str, Any]]:
    def answer(request: Received) -> dict[str, Any]:
        return refusals.get(form(request)) or chat_completion(SUMMARY)

    return answer


def chat(provider: RecordedProvider, model: str = MODEL, **options: Any) -> OpenAICompatibleChat:
    settings = LLMSettings(base_url=provider.url, model=model)
    return OpenAICompatibleChat(settings, backoff_seconds=0.01, **options)


def summarise(client: OpenAICompatibleChat) -> str:
    return summarise_llm(client, MESSAGES, SESSION_TIME)


def system_prompt(request: Received) -> str:
    return str(request.body["messages"][0]["content"])


def test_a_server_refusing_json_schema_is_asked_for_it_once_then_json_object(
    provider: RecordedProvider, caplog: pytest.LogCaptureFixture
) -> None:
    provider.provide(*[server(LLAMA_CPP)] * 4)
    with chat(provider) as client:
        for _ in range(3):
            assert summarise(client) == SUMMARY["summary"]
    assert [form(request) for request in provider.received] == [
        "json_schema",
        "json_object",
        "json_object",
        "json_object",
    ]
    # llama-cpp-python constrains the reply to the schema given beside json_object.
    assert provider.received[1].body["response_format"] == {
        "type": "json_object",
        "schema": grammar_schema(SUMMARY_SCHEMA),
    }
    learned = [r for r in caplog.records if "refused response format" in r.getMessage()]
    assert len(learned) == 1
    assert "json_schema" in learned[0].getMessage() and "HTTP 500" in learned[0].getMessage()


def test_a_schema_the_server_does_not_enforce_is_spelled_out_in_the_system_message(
    provider: RecordedProvider,
) -> None:
    provider.provide(*[server(OPENAI_LEGACY)] * 3)
    with chat(provider) as client:
        summarise(client)
    enforced, beside, prompted = provider.received
    assert SCHEMA_INSTRUCTION not in system_prompt(enforced)
    for request in (beside, prompted):
        instruction = system_prompt(request).split(SCHEMA_INSTRUCTION + "\n", 1)[1]
        assert json.loads(instruction) == SUMMARY_SCHEMA
    # The prompt's own text comes first, unchanged.
    assert system_prompt(prompted).startswith(system_prompt(enforced))


def test_a_grammar_is_given_only_the_patterns_it_reads_as_the_validator_does() -> None:
    day = {"type": ["string", "null"], "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    text = {"type": "string", "pattern": r"\S"}
    schema = {
        "type": "object",
        "properties": {"facts": {"type": "array", "items": {"properties": {"t": text, "d": day}}}},
    }
    assert grammar_schema(schema) == {
        "type": "object",
        "properties": {
            "facts": {"type": "array", "items": {"properties": {"t": {"type": "string"}, "d": day}}}
        },
    }


def test_the_token_limit_is_sent_only_when_configured(provider: RecordedProvider) -> None:
    provider.provide(server({}), server({}))
    with chat(provider) as unlimited:
        summarise(unlimited)
    settings = LLMSettings(base_url=provider.url, model=MODEL, max_tokens=200)
    with OpenAICompatibleChat(settings) as limited:
        summarise(limited)
    assert [request.body.get("max_tokens") for request in provider.received] == [None, 200]


def test_a_server_refusing_both_formats_is_asked_through_the_prompt_from_then_on(
    provider: RecordedProvider,
) -> None:
    provider.provide(*[server(OPENAI_LEGACY)] * 4)
    with chat(provider) as client:
        assert summarise(client) == SUMMARY["summary"]
        assert summarise(client) == SUMMARY["summary"]
    assert [form(request) for request in provider.received] == [
        "json_schema",
        "json_object",
        "prompt",
        "prompt",
    ]
    assert "response_format" not in provider.received[-1].body


def test_what_a_server_takes_is_learned_once_for_every_client_of_it(
    provider: RecordedProvider,
) -> None:
    provider.provide(*[server(LLAMA_CPP)] * 5)
    with chat(provider) as first, chat(provider) as second, chat(provider, "other") as other:
        summarise(first)
        summarise(second)
        summarise(other)
    assert [(r.body["model"], form(r)) for r in provider.received] == [
        (MODEL, "json_schema"),
        (MODEL, "json_object"),
        (MODEL, "json_object"),
        # Another model behind the same URL may take other forms: it is asked afresh.
        ("other", "json_schema"),
        ("other", "json_object"),
    ]


def test_an_error_that_does_not_name_the_format_is_not_a_refusal(
    provider: RecordedProvider,
) -> None:
    too_long = {
        "status": 400,
        "headers": {"Content-Type": "application/json"},
        "body": {"error": {"message": "This model's maximum context length is 8192 tokens."}},
    }
    provider.provide(too_long, server({}))
    with chat(provider) as client:
        with pytest.raises(LLMError, match="maximum context length"):
            summarise(client)
        summarise(client)
    assert [form(request) for request in provider.received] == ["json_schema", "json_schema"]


def test_an_error_echoing_the_request_teaches_nothing(provider: RecordedProvider) -> None:
    def echo(request: Received) -> dict[str, Any]:
        # FastAPI's answer to a body missing a required field quotes the whole body.
        detail = f"Field required [type=missing, input_value={request.body!r}]"
        return {"status": 422, "headers": {}, "body": {"detail": detail}}

    provider.provide(echo, echo, echo, server({}))
    with chat(provider) as client:
        with pytest.raises(LLMError, match="HTTP 422"):
            summarise(client)
        summarise(client)
    assert [form(request) for request in provider.received] == [
        "json_schema",
        "json_object",
        "prompt",
        "json_schema",
    ]


def test_a_refusal_is_not_retried_like_a_server_error(provider: RecordedProvider) -> None:
    provider.provide(*[server(LLAMA_CPP)] * 2)
    with chat(provider, max_attempts=3) as client:
        summarise(client)
    assert len(provider.received) == 2


def test_requests_are_counted_by_response_format_and_outcome(
    provider: RecordedProvider,
) -> None:
    endpoint = metrics.serve("127.0.0.1:0")
    try:
        provider.provide(*[server(LLAMA_CPP)] * 3, recorded("server_error"))
        with chat(provider, max_attempts=1) as client:
            summarise(client)
            summarise(client)
            with pytest.raises(LLMError):
                summarise(client)
        counted = samples(endpoint.port)
    finally:
        endpoint.stop()
    requests = "recallr_llm_chat_requests_total"
    assert counted[requests, labels(response_format="json_schema", outcome="refused")] == 1
    assert counted[requests, labels(response_format="json_object", outcome="ok")] == 2
    assert counted[requests, labels(response_format="json_object", outcome="failed")] == 1
    assert (requests, labels(response_format="json_schema", outcome="ok")) not in counted


@pytest.mark.parametrize(
    ("status", "body", "refused"),
    [
        (500, json.dumps(LLAMA_CPP["json_schema"]["body"]), True),
        (400, json.dumps(OPENAI_LEGACY["json_schema"]["body"]), True),
        (422, '{"detail": "response_format.type: unsupported"}', True),
        (400, '{"error": {"message": "Structured outputs are not supported"}}', True),
        (500, '{"error": {"message": "The server had an error"}}', False),
        (503, '{"error": {"message": "response_format: overloaded"}}', False),
        (401, '{"error": {"message": "Incorrect API key provided"}}', False),
        (400, '{"error": {"message": "maximum context length is 8192 tokens"}}', False),
    ],
)
def test_what_counts_as_a_refusal_of_the_format(status: int, body: str, refused: bool) -> None:
    assert refuses_format(status, body) is refused


def test_forgetting_asks_every_server_from_json_schema_again() -> None:
    memory = FormatMemory()
    memory.learn(URL, MODEL, ResponseFormat.JSON_OBJECT, {"json_schema": "HTTP 500"})
    assert memory.form(URL, MODEL) is ResponseFormat.JSON_OBJECT
    memory.forget()
    assert memory.form(URL, MODEL) is ResponseFormat.JSON_SCHEMA


def test_learning_the_same_form_again_is_not_logged_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    memory = FormatMemory()
    for _ in range(3):
        memory.learn(URL, MODEL, ResponseFormat.PROMPT, {"json_schema": "x", "json_object": "y"})
    (record,) = [r for r in caplog.records if r.name == "recallr.llm"]
    assert "refused response format json_schema and json_object; asking with prompt" in (
        record.getMessage()
    )
