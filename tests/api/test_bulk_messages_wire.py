"""SessionService in bulk on the wire: ImportSession and AddMessages."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import grpc

from recallr.v1 import session_pb2
from recallr.v1 import session_service_pb2 as pb
from recallr_server.store import models
from tests.api.seed import count_rows, create_session, create_user, set_session_status, user_pk
from tests.api.wire import Stubs, fails, stubs
from tests.conftest import Tenant
from tests.engine.scenarios import wait_until

USER = session_pb2.MESSAGE_ROLE_USER
ASSISTANT = session_pb2.MESSAGE_ROLE_ASSISTANT
STARTED = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def message(
    content: str, role: session_pb2.MessageRole.ValueType = USER, at: datetime | None = None
) -> session_pb2.Message:
    wire = session_pb2.Message(role=role, content=content)
    if at is not None:
        wire.create_time.FromDatetime(at)
    return wire


def historical(**fields: object) -> session_pb2.Session:
    session = session_pb2.Session(**fields)  # type: ignore[arg-type]
    session.create_time.FromDatetime(STARTED)
    return session


def import_session(
    api: Stubs, tenant: Tenant, messages: list[session_pb2.Message], **fields: object
) -> pb.ImportSessionResponse:
    request = pb.ImportSessionRequest(
        user_id="ada",
        session=historical(),
        messages=messages,
        **fields,  # type: ignore[arg-type]
    )
    return api.sessions.ImportSession(request, metadata=tenant.metadata)


def listed(api: Stubs, tenant: Tenant, session_id: str) -> list[session_pb2.Message]:
    request = pb.ListMessagesRequest(user_id="ada", session_id=session_id, page_size=200)
    return list(api.sessions.ListMessages(request, metadata=tenant.metadata).messages)


def sessions_of(tenant: Tenant) -> int:
    return count_rows(tenant, models.Session.user_pk == user_pk(tenant, "ada"))


def test_import_session_stores_the_conversation_with_its_own_times_in_order(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    turns = [
        message("I moved to Lisbon.", at=STARTED + timedelta(minutes=1)),
        message("How is it?", ASSISTANT, at=STARTED + timedelta(minutes=2)),
        message("Sunny."),
    ]
    imported = import_session(api, tenant, turns)

    assert imported.session.status == session_pb2.SESSION_STATUS_PENDING
    assert imported.session.create_time.ToDatetime(tzinfo=UTC) == STARTED
    stored = listed(api, tenant, imported.session.session_id)
    assert [m.message_id for m in stored] == list(imported.message_ids)
    assert [(m.role, m.content) for m in stored] == [(t.role, t.content) for t in turns]
    assert [m.create_time.ToDatetime(tzinfo=UTC) for m in stored] == [
        STARTED + timedelta(minutes=1),
        STARTED + timedelta(minutes=2),
        # A message without a time takes the session's.
        STARTED,
    ]


def test_import_session_with_process_queues_it_in_the_same_call(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    imported = import_session(api, tenant, [message("I'm allergic to peanuts.")], process=True)
    assert imported.session.status == session_pb2.SESSION_STATUS_PROCESSING
    request = pb.GetSessionRequest(user_id="ada", session_id=imported.session.session_id)

    def processed() -> bool:
        session = api.sessions.GetSession(request, metadata=tenant.metadata).session
        return session.status == session_pb2.SESSION_STATUS_PROCESSED

    wait_until(processed, "the imported session to be processed", timeout=120)


def test_one_bad_message_rejects_the_whole_import_and_stores_nothing(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    bad_time = message("fine")
    bad_time.create_time.seconds = 2**62
    turns = [message("fine"), message(" "), bad_time, session_pb2.Message(content="no role")]
    request = pb.ImportSessionRequest(user_id="ada", session=historical(), messages=turns)

    error = fails(api.sessions.ImportSession, request, tenant.metadata)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED")
    assert error.field_violations == [
        "messages[1].content",
        "messages[2].create_time",
        "messages[3].role",
    ]
    assert sessions_of(tenant) == 0
    assert count_rows(tenant, models.Message.user_pk == user_pk(tenant, "ada")) == 0


def test_import_session_repeated_with_its_request_id_returns_the_first_session(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    turns = [message("one"), message("two", ASSISTANT)]
    first = import_session(api, tenant, turns, request_id="load-42")
    again = import_session(api, tenant, turns, request_id="load-42")
    assert again == first
    assert sessions_of(tenant) == 1
    assert len(listed(api, tenant, first.session.session_id)) == 2


def test_import_session_for_another_projects_user_is_user_not_found(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    request = pb.ImportSessionRequest(user_id="ada", session=historical(), messages=[message("x")])
    error = fails(api.sessions.ImportSession, request, tenant.metadata)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")


def add_messages(
    api: Stubs, tenant: Tenant, session_id: str, messages: list[session_pb2.Message], **fields: str
) -> list[session_pb2.Message]:
    request = pb.AddMessagesRequest(
        user_id="ada", session_id=session_id, messages=messages, **fields
    )
    return list(api.sessions.AddMessages(request, metadata=tenant.metadata).messages)


def test_add_messages_appends_a_batch_after_what_is_there(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    first = add_messages(api, tenant, session_id, [message("a"), message("b", ASSISTANT)])
    before = datetime.now(UTC)
    second = add_messages(api, tenant, session_id, [message("c"), message("d", at=STARTED)])

    assert listed(api, tenant, session_id) == first + second
    assert [m.content for m in first + second] == ["a", "b", "c", "d"]
    assert second[0].create_time.ToDatetime(tzinfo=UTC) >= before
    assert second[1].create_time.ToDatetime(tzinfo=UTC) == STARTED


def test_add_messages_repeated_with_its_request_id_adds_nothing_more(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    batch = [message("a"), message("b")]
    # The longest request id there is: the stored keys derive from it.
    key = "k" * 128
    first = add_messages(api, tenant, session_id, batch, request_id=key)
    again = add_messages(api, tenant, session_id, batch, request_id=key)
    other = add_messages(api, tenant, session_id, batch, request_id="another")
    assert again == first
    assert len(listed(api, tenant, session_id)) == 4
    assert {m.message_id for m in other}.isdisjoint(m.message_id for m in first)


def test_add_messages_rejects_a_bad_batch_whole(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    for messages, violations in (
        ([message("fine"), message("x" * 100_001)], ["messages[1].content"]),
        ([], ["messages"]),
        ([message("x")] * 10_001, ["messages"]),
    ):
        request = pb.AddMessagesRequest(user_id="ada", session_id=session_id, messages=messages)
        error = fails(api.sessions.AddMessages, request, tenant.metadata)
        assert (error.reason, error.field_violations) == ("VALIDATION_FAILED", violations)
    assert listed(api, tenant, session_id) == []


def test_add_messages_to_a_session_that_is_not_pending_adds_none(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    set_session_status(tenant, session_id, models.SessionStatus.PROCESSED)
    request = pb.AddMessagesRequest(user_id="ada", session_id=session_id, messages=[message("x")])
    error = fails(api.sessions.AddMessages, request, tenant.metadata)
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "INVALID_SESSION_STATE",
    )
    assert error.metadata == {"session_id": session_id, "status": "PROCESSED"}
    assert listed(api, tenant, session_id) == []


def test_a_following_tail_receives_a_batch_as_it_is_added(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    tail = api.sessions.TailMessages(
        pb.TailMessagesRequest(user_id="ada", n=0, follow=True),
        metadata=tenant.metadata,
        timeout=20,
    )
    assert list(next(tail).messages) == []
    received: list[session_pb2.Message] = []

    def read() -> None:
        for batch in tail:
            received.extend(batch.messages)
            if len(received) >= 3:
                tail.cancel()

    reader = threading.Thread(target=read)
    reader.start()
    added = add_messages(api, tenant, session_id, [message("a"), message("b"), message("c")])
    reader.join(timeout=20)
    assert received == added
