"""SessionService messages on the wire: AddMessage, ListMessages, ListRecentMessages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from recallr.v1 import session_pb2
from recallr.v1 import session_service_pb2 as pb
from recallr_server.store import models
from recallrai import RecallrAI
from recallrai.exceptions import SessionFullError
from tests.api.seed import add_message, count_rows, create_session, create_user, set_session_status
from tests.api.wire import Stubs, fails, stubs
from tests.conftest import ServerThread, Tenant

USER = session_pb2.MESSAGE_ROLE_USER
ASSISTANT = session_pb2.MESSAGE_ROLE_ASSISTANT


def open_session(api: Stubs, tenant: Tenant, user_id: str = "ada") -> str:
    create_user(api, tenant, user_id)
    return create_session(api, tenant, user_id).session_id


def list_messages(api: Stubs, tenant: Tenant, session_id: str) -> list[session_pb2.Message]:
    request = pb.ListMessagesRequest(user_id="ada", session_id=session_id)
    return list(api.sessions.ListMessages(request, metadata=tenant.metadata).messages)


def recent(api: Stubs, tenant: Tenant, n: int) -> list[session_pb2.Message]:
    request = pb.ListRecentMessagesRequest(user_id="ada", n=n)
    return list(api.sessions.ListRecentMessages(request, metadata=tenant.metadata).messages)


def test_add_message_returns_the_stored_message(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    session_id = open_session(api, tenant)
    before = datetime.now(UTC)
    added = add_message(api, tenant, "ada", session_id, "I moved to Lisbon ✈", ASSISTANT)
    after = datetime.now(UTC)
    assert str(uuid.UUID(added.message_id)) == added.message_id
    assert added.session_id == session_id
    assert added.role == ASSISTANT
    assert added.content == "I moved to Lisbon ✈"
    assert before <= added.create_time.ToDatetime(tzinfo=UTC) <= after
    assert list_messages(api, tenant, session_id) == [added]


def test_messages_are_listed_oldest_first_with_their_roles(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    session_id = open_session(api, tenant)
    added = [
        add_message(api, tenant, "ada", session_id, f"turn {i}", (USER, ASSISTANT)[i % 2])
        for i in range(5)
    ]
    listed = api.sessions.ListMessages(
        pb.ListMessagesRequest(user_id="ada", session_id=session_id), metadata=tenant.metadata
    )
    assert list(listed.messages) == added
    assert listed.total_size == 5
    assert not listed.next_page_token


def test_a_message_of_100000_characters_is_accepted(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    session_id = open_session(api, tenant)
    content = "é" * 100_000
    assert add_message(api, tenant, "ada", session_id, content).content == content


def test_the_same_request_id_adds_one_message(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    session_id = open_session(api, tenant)
    first = add_message(api, tenant, "ada", session_id, "hello", request_id="send-1")
    retried = add_message(api, tenant, "ada", session_id, "hello", request_id="send-1")
    other = add_message(api, tenant, "ada", session_id, "hello", request_id="send-2")
    assert retried == first
    assert other.message_id != first.message_id
    assert count_rows(tenant, models.Message.session_id == session_id) == 2
    assert list_messages(api, tenant, session_id) == [first, other]


def test_a_retried_message_is_returned_even_once_processing_started(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    session_id = open_session(api, tenant)
    first = add_message(api, tenant, "ada", session_id, "hello", request_id="send-1")
    set_session_status(tenant, session_id, models.SessionStatus.PROCESSING)
    assert add_message(api, tenant, "ada", session_id, "hello", request_id="send-1") == first


@pytest.mark.parametrize(
    "status", [models.SessionStatus.PROCESSING, models.SessionStatus.PROCESSED]
)
def test_a_session_being_or_already_processed_refuses_messages(
    tenant: Tenant, channel: grpc.Channel, status: models.SessionStatus
) -> None:
    api = stubs(channel)
    session_id = open_session(api, tenant)
    set_session_status(tenant, session_id, status)
    error = fails(
        api.sessions.AddMessage,
        pb.AddMessageRequest(
            user_id="ada",
            session_id=session_id,
            message=session_pb2.Message(role=USER, content="too late"),
        ),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "INVALID_SESSION_STATE",
        {"session_id": session_id, "status": status.name},
    )
    assert count_rows(tenant, models.Message.session_id == session_id) == 0


@pytest.mark.parametrize(
    ("role", "content", "field"),
    [
        (USER, "", "message.content"),
        (USER, " \n\t ", "message.content"),
        (USER, "x" * 100_001, "message.content"),
        (USER, "nul\x00inside", "message.content"),
        (session_pb2.MESSAGE_ROLE_UNSPECIFIED, "hi", "message.role"),
        (7, "hi", "message.role"),
    ],
    ids=["empty", "blank", "too-long", "nul", "role-unspecified", "role-unknown-number"],
)
def test_invalid_messages_are_refused(
    tenant: Tenant, channel: grpc.Channel, role: int, content: str, field: str
) -> None:
    api = stubs(channel)
    session_id = open_session(api, tenant)
    error = fails(
        api.sessions.AddMessage,
        pb.AddMessageRequest(
            user_id="ada",
            session_id=session_id,
            message=session_pb2.Message(role=role, content=content),  # type: ignore[arg-type]
        ),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata, error.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
        {"field": field},
        [field],
    )
    assert count_rows(tenant, models.Message.session_id == session_id) == 0


def test_every_invalid_field_of_a_message_is_reported(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    session_id = open_session(api, tenant)
    error = fails(
        api.sessions.AddMessage,
        pb.AddMessageRequest(
            user_id="ada",
            session_id=session_id,
            message=session_pb2.Message(),
            request_id="r" * 129,
        ),
        tenant.metadata,
    )
    assert error.metadata == {"field": "message.role"}
    assert error.field_violations == ["message.role", "message.content", "request_id"]


def test_recent_messages_span_sessions_oldest_first(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    first = open_session(api, tenant)
    second = create_session(api, tenant, "ada").session_id
    added = [
        add_message(api, tenant, "ada", session_id, f"message {i}")
        for i, session_id in enumerate([first, second, first, second, second])
    ]
    create_user(api, tenant, "eve")
    other = create_session(api, tenant, "eve").session_id
    add_message(api, tenant, "eve", other, "not ada's")

    assert recent(api, tenant, 3) == added[2:]
    assert recent(api, tenant, 1) == added[4:]
    assert recent(api, tenant, 1000) == added


def test_recent_messages_of_a_user_without_messages_are_empty(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    open_session(api, tenant)
    assert recent(api, tenant, 10) == []


@pytest.mark.parametrize("n", [0, -1, 1001])
def test_recent_message_counts_out_of_range_are_refused(
    tenant: Tenant, channel: grpc.Channel, n: int
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    error = fails(
        api.sessions.ListRecentMessages,
        pb.ListRecentMessagesRequest(user_id="ada", n=n),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata, error.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
        {"field": "n"},
        ["n"],
    )


MAX_MESSAGES = 3


@pytest.fixture
def small_sessions(tenant: Tenant) -> Iterator[ServerThread]:
    """A replica of the tenant's database whose sessions hold few messages."""
    running = ServerThread(
        replace(tenant.server.settings, listen="127.0.0.1:0", max_messages_per_session=MAX_MESSAGES)
    )
    yield running
    running.stop()


def test_a_session_holds_the_configured_number_of_messages_and_says_when_full(
    tenant: Tenant, small_sessions: ServerThread
) -> None:
    with grpc.insecure_channel(small_sessions.target) as channel:
        api = stubs(channel)
        session_id = open_session(api, tenant)
        added = [
            add_message(api, tenant, "ada", session_id, f"turn {i}", request_id=f"r{i}")
            for i in range(MAX_MESSAGES)
        ]
        request = pb.AddMessageRequest(
            user_id="ada",
            session_id=session_id,
            message=session_pb2.Message(role=USER, content="more"),
        )
        error = fails(api.sessions.AddMessage, request, tenant.metadata)
        assert (error.code, error.reason, error.metadata) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "SESSION_FULL",
            {"session_id": session_id, "max_messages": str(MAX_MESSAGES)},
        )
        # A retry of an accepted message is still answered with it.
        again = add_message(api, tenant, "ada", session_id, "turn 2", request_id="r2")
        assert again == added[-1]
        assert list_messages(api, tenant, session_id) == added
        # Another session of the user has room of its own.
        other = create_session(api, tenant, "ada").session_id
        assert add_message(api, tenant, "ada", other, "hello").session_id == other
        _bulk_adds_keep_to_the_cap(api, tenant, other)
    with (
        RecallrAI(
            api_key=tenant.api_key, project_id=tenant.project_id, target=small_sessions.target
        ) as client,
        pytest.raises(SessionFullError) as raised,
    ):
        client.get_user("ada").get_session(session_id).add_message(role="user", content="more")
    assert raised.value.metadata["max_messages"] == str(MAX_MESSAGES)


def _bulk_adds_keep_to_the_cap(api: Stubs, tenant: Tenant, session_id: str) -> None:
    """A batch that would take a session past the cap, or an import of more messages than a
    session holds, is refused whole."""
    turns = [session_pb2.Message(role=USER, content=f"bulk {i}") for i in range(MAX_MESSAGES)]
    batch = pb.AddMessagesRequest(user_id="ada", session_id=session_id, messages=turns)
    error = fails(api.sessions.AddMessages, batch, tenant.metadata)
    assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SESSION_FULL")
    fits = pb.AddMessagesRequest(user_id="ada", session_id=session_id, messages=turns[1:])
    assert len(api.sessions.AddMessages(fits, metadata=tenant.metadata).messages) == 2
    imported = pb.ImportSessionRequest(user_id="ada", messages=[*turns, turns[0]])
    error = fails(api.sessions.ImportSession, imported, tenant.metadata)
    assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SESSION_FULL")
    assert len(list_messages(api, tenant, session_id)) == MAX_MESSAGES


def test_an_imported_user_may_not_bring_a_session_larger_than_the_cap(
    tenant: Tenant, small_sessions: ServerThread, tmp_path: Path
) -> None:
    export = tmp_path / "bea.jsonl"
    with RecallrAI(
        api_key=tenant.api_key, project_id=tenant.project_id, target=tenant.target
    ) as client:
        session = client.create_user("bea").create_session()
        for i in range(MAX_MESSAGES + 1):
            session.add_message(role="user", content=f"turn {i}")
        client.get_user("bea").export(export, progress=False)
    with (
        RecallrAI(
            api_key=tenant.api_key, project_id=tenant.project_id, target=small_sessions.target
        ) as client,
        pytest.raises(SessionFullError) as raised,
    ):
        client.import_user(export, user_id="bea-copy", assign_new_ids=True, progress=False)
    assert raised.value.metadata["max_messages"] == str(MAX_MESSAGES)
