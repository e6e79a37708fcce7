"""The HTTP API byte for byte where the SDK depends on it: codes, framing, texts, limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from recallr_server.domain.context import system_prompt
from tests.conftest import Tenant
from tests.engine.scenarios import wait_until

USER = "/api/v1/users"


@pytest.fixture
def http(tenant: Tenant) -> Iterator[httpx.Client]:
    headers = {
        "X-Recallr-Api-Key": tenant.api_key,
        "X-Recallr-Project-Id": tenant.project_id,
        # The SDK says JSON on every request, body or not.
        "Content-Type": "application/json",
    }
    with httpx.Client(base_url=tenant.server.base_url, headers=headers, timeout=60) as client:
        yield client


def session_path(http: httpx.Client, *messages: str) -> str:
    created = http.post(USER, json={"custom_user_id": "ada"})
    assert created.status_code in (201, 409)
    session = http.post(f"{USER}/ada/sessions", json={"metadata": {}})
    assert session.status_code == 201
    path = f"{USER}/ada/sessions/{session.json()['session_id']}"
    for text in messages:
        added = http.post(f"{path}/add-message", json={"message": text, "role": "user"})
        assert added.status_code == 200
    return path


def sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    text = response.text
    assert text.endswith("\n\n")
    blocks = text[:-2].split("\n\n")
    assert all(block.startswith("data: ") and "\n" not in block for block in blocks)
    return [json.loads(block.removeprefix("data: ")) for block in blocks]


def test_an_unknown_route_answers_the_text_the_sdk_reads_as_a_wrong_base_url(
    http: httpx.Client,
) -> None:
    answer = http.get("/api/v2/users")
    assert (answer.status_code, answer.text) == (404, "404 page not found")
    assert http.get(f"{USER}/a%2Fb").text == "404 page not found"


def test_success_codes_are_the_sdks(http: httpx.Client) -> None:
    assert http.post(USER, json={"custom_user_id": "ada"}).status_code == 201
    path = session_path(http, "Hello")
    # A POST without a body, yet saying JSON, reads as no fields.
    processed = http.post(f"{path}/process", content=b"")
    assert (processed.status_code, processed.json()["status"]) == (200, "processing")
    deleted = http.delete(path)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert http.delete(f"{USER}/ada").status_code == 204


def test_a_processed_session_says_what_wrote_its_memories(http: httpx.Client) -> None:
    path = session_path(http, "I'm allergic to peanuts.")
    assert http.get(path).json()["extractor"] == ""
    http.post(f"{path}/process", content=b"")

    def processed() -> bool:
        return bool(http.get(path).json()["status"] == "processed")

    wait_until(processed, "processing")
    assert http.get(path).json()["extractor"] == "local"


def test_an_update_names_what_changes_and_null_resets_the_conflict_setting(
    http: httpx.Client,
) -> None:
    created = http.post(USER, json={"custom_user_id": "ada", "merge_conflict_enabled": False})
    assert created.json()["merge_conflict_enabled"] is False
    unchanged = http.put(f"{USER}/ada", json={})
    assert unchanged.status_code == 200
    assert unchanged.json() == created.json()
    kept = http.put(f"{USER}/ada", json={"new_metadata": {"team": "blue"}}).json()
    assert (kept["metadata"], kept["merge_conflict_enabled"]) == ({"team": "blue"}, False)
    reset = http.put(f"{USER}/ada", json={"merge_conflict_enabled": None}).json()
    assert (reset["metadata"], reset["merge_conflict_enabled"]) == ({"team": "blue"}, None)


def test_errors_carry_the_detail_the_sdk_matches(http: httpx.Client) -> None:
    path = session_path(http)
    missing_user = http.get(f"{USER}/nobody/sessions/{path.rsplit('/', 1)[1]}")
    assert (missing_user.status_code, missing_user.json()["detail"]) == (
        404,
        "User nobody not found",
    )
    missing = http.get(f"{USER}/ada/sessions/session-uuid")
    assert missing.json() == {
        "detail": "Session session-uuid not found",
        "reason": "SESSION_NOT_FOUND",
        "metadata": {"session_id": "session-uuid"},
        "field_violations": [],
    }
    categories = http.get(f"{USER}/ada/memories", params={"categories": ["hobbies", "nope"]})
    assert categories.status_code == 400
    assert categories.json()["detail"] == {
        "message": "unknown categories: nope",
        "invalid_categories": ["nope"],
    }
    invalid = http.get(f"{USER}/ada/memories", params={"limit": 0})
    assert (invalid.status_code, invalid.json()["reason"]) == (422, "VALIDATION_FAILED")
    assert invalid.json()["field_violations"][0]["field"] == "query.limit"
    unauthenticated = http.get(USER, headers={"X-Recallr-Api-Key": ""})
    assert (unauthenticated.status_code, unauthenticated.json()["reason"]) == (
        401,
        "AUTHENTICATION_REQUIRED",
    )


def test_context_streams_one_single_line_json_event_per_data_line(http: httpx.Client) -> None:
    path = session_path(http, "I keep bees in my garden.")
    with http.stream(
        "GET",
        f"{path}/context",
        params={"stream": "true", "include_system_prompt": "false"},
        headers={"Accept": "text/event-stream"},
    ) as response:
        response.read()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    *progress, final = sse_events(response)
    assert progress and all(e["is_final"] is False and e["metadata"] is None for e in progress)
    assert [e["status_update_step"] for e in progress][:2] == [
        "understanding_query",
        "retrieving_memories",
    ]
    assert final["is_final"] is True and final["error_message"] is None
    assert final["metadata"]["recall_strategy_used"] == "balanced"
    assert final["metadata"]["memory_ids"] is None
    assert not final["context"].startswith("You are an assistant")


def test_a_stream_for_a_missing_session_is_one_final_error_event(http: httpx.Client) -> None:
    session_path(http)
    gone = http.get(f"{USER}/ada/sessions/session-uuid/context", params={"stream": "true"})
    assert gone.status_code == 200
    assert sse_events(gone) == [
        {
            "is_final": True,
            "status_update_message": None,
            "status_update_step": None,
            "error_message": "Session session-uuid not found",
            "context": None,
            "metadata": None,
        }
    ]
    refused = http.get(
        f"{USER}/ada/sessions/x/context", params={"stream": "true", "timezone": "Mars/Base"}
    )
    assert refused.status_code == 422


def test_the_system_prompt_is_the_servers_without_a_zone(http: httpx.Client) -> None:
    for strategy in ("low_latency", "agentic"):
        answer = http.get("/api/v1/system-prompt", params={"recall_strategy": strategy})
        assert answer.json() == {"system_prompt": system_prompt(None)}
    path = session_path(http, "Hello")
    with_prompt = http.get(f"{path}/context", params={"timezone": "Asia/Tokyo"}).json()
    assert with_prompt["context"].startswith(system_prompt("Asia/Tokyo"))
    assert "Each time names its zone." in system_prompt(None)


@pytest.mark.parametrize(
    "when",
    ["0001-01-01T05:00:00+05:00", "1899-12-31T23:59:59Z", "9999-12-31T20:00:00-05:00"],
)
def test_a_custom_time_outside_the_documented_range_is_refused(
    http: httpx.Client, when: str
) -> None:
    assert http.post(USER, json={"custom_user_id": "ada"}).status_code == 201
    answer = http.post(f"{USER}/ada/sessions", json={"custom_created_at_utc": when})
    assert answer.status_code == 422
    assert "custom_created_at_utc" in answer.json()["detail"]
    assert http.get(f"{USER}/ada/sessions").json()["total"] == 0


def test_a_body_over_the_limit_is_refused_before_any_route(http: httpx.Client) -> None:
    limit = 4 * 1024 * 1024
    answer = http.post(USER, content=b"{" + b" " * limit + b"}")
    assert answer.status_code == 413
    chunked = http.post(USER, content=iter([b"{", b" " * limit, b"}"]))
    assert chunked.status_code == 413
    assert http.get(USER).status_code == 200


def test_a_request_id_is_echoed_or_made(http: httpx.Client) -> None:
    given = http.get(USER, headers={"X-Request-Id": "trace-42"})
    assert given.headers["x-request-id"] == "trace-42"
    made = http.get(USER)
    assert len(made.headers["x-request-id"]) == 32


def test_a_status_no_recallr_session_is_in_matches_nothing(http: httpx.Client) -> None:
    session_path(http)
    sessions = f"{USER}/ada/sessions"
    billing = http.get(sessions, params={"status_filter": "insufficient_balance"}).json()
    assert (billing["sessions"], billing["total"]) == ([], 0)
    both = http.get(sessions, params={"status_filter": ["insufficient_balance", "pending"]})
    assert both.json()["total"] == 1
    nobody = http.get(f"{USER}/nobody/sessions", params={"status_filter": "insufficient_balance"})
    assert nobody.status_code == 404


def test_a_message_for_a_user_id_no_user_can_have_is_not_found(http: httpx.Client) -> None:
    # A NUL cannot be stored, so no user has it; on PostgreSQL even asking is an error.
    path = session_path(http).replace(f"{USER}/ada/", f"{USER}/a%00/")
    answer = http.post(f"{path}/add-message", json={"message": "hello", "role": "user"})
    assert (answer.status_code, answer.json()["reason"]) == (404, "USER_NOT_FOUND")
