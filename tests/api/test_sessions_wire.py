"""SessionService sessions on the wire: fields, idempotency, filters, deletes and errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.message import Message

from recallr.v1 import session_pb2
from recallr.v1 import session_service_pb2 as pb
from recallr_server.store import models
from tests.api.seed import (
    add_message,
    count_rows,
    create_session,
    create_user,
    set_session_status,
    struct,
    user_pk,
)
from tests.api.wire import Stubs, fails, stubs
from tests.conftest import Tenant


def get_session(api: Stubs, tenant: Tenant, user_id: str, session_id: str) -> session_pb2.Session:
    request = pb.GetSessionRequest(user_id=user_id, session_id=session_id)
    return api.sessions.GetSession(request, metadata=tenant.metadata).session


def list_sessions(api: Stubs, tenant: Tenant, **fields: Any) -> pb.ListSessionsResponse:
    return api.sessions.ListSessions(pb.ListSessionsRequest(**fields), metadata=tenant.metadata)


def test_create_session_returns_a_pending_session_with_its_fields(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    before = datetime.now(UTC)
    created = create_session(
        api,
        tenant,
        "ada",
        session_pb2.Session(metadata=struct({"topic": "travel"}), auto_process_after_seconds=600),
    )
    after = datetime.now(UTC)
    assert str(uuid.UUID(created.session_id)) == created.session_id
    assert created.user_id == "ada"
    assert created.status == session_pb2.SESSION_STATUS_PENDING
    assert dict(created.metadata) == {"topic": "travel"}
    assert created.auto_process_after_seconds == 600
    assert created.failure_reason == ""
    assert before <= created.create_time.ToDatetime(tzinfo=UTC) <= after
    assert get_session(api, tenant, "ada", created.session_id) == created


def test_a_historical_create_time_is_kept(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    historical = timestamp_pb2.Timestamp()
    historical.FromDatetime(datetime(2019, 5, 17, 9, 30, 15, 123456, tzinfo=UTC))
    created = create_session(api, tenant, "ada", session_pb2.Session(create_time=historical))
    assert created.create_time == historical
    assert get_session(api, tenant, "ada", created.session_id).create_time == historical


@pytest.mark.parametrize(
    "when",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1899, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2200, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ],
    ids=str,
)
def test_a_create_time_outside_the_documented_range_is_refused(
    tenant: Tenant, channel: grpc.Channel, when: datetime
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(when)
    request = pb.CreateSessionRequest(user_id="ada", session=session_pb2.Session(create_time=stamp))
    error = fails(api.sessions.CreateSession, request, tenant.metadata)
    assert (error.code, error.reason, error.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
        ["session.create_time"],
    )
    assert list_sessions(api, tenant, user_id="ada").total_size == 0


def test_create_times_at_the_ends_of_the_documented_range_are_kept(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    for when in (
        datetime(1900, 1, 1, tzinfo=UTC),
        datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ):
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(when)
        created = create_session(api, tenant, "ada", session_pb2.Session(create_time=stamp))
        assert created.create_time.ToDatetime(tzinfo=UTC) == when


def test_the_same_request_id_creates_one_session(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    first = create_session(api, tenant, "ada", request_id="retry-1")
    retried = create_session(api, tenant, "ada", request_id="retry-1")
    other = create_session(api, tenant, "ada", request_id="retry-2")
    assert retried == first
    assert other.session_id != first.session_id
    assert count_rows(tenant, models.Session.user_pk == user_pk(tenant, "ada")) == 2


def test_request_ids_are_scoped_to_the_user(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    for user_id in ("ada", "bob"):
        create_user(api, tenant, user_id)
    ada = create_session(api, tenant, "ada", request_id="same")
    bob = create_session(api, tenant, "bob", request_id="same")
    assert ada.session_id != bob.session_id
    assert bob.user_id == "bob"


def test_update_session_replaces_metadata_only(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    created = create_session(
        api,
        tenant,
        "ada",
        session_pb2.Session(metadata=struct({"old": 1}), auto_process_after_seconds=5),
    )
    change = session_pb2.Session(
        session_id=created.session_id,
        metadata=struct({"new": [1, "two"]}),
        auto_process_after_seconds=99,
        status=session_pb2.SESSION_STATUS_PROCESSED,
    )
    updated = api.sessions.UpdateSession(
        pb.UpdateSessionRequest(
            user_id="ada",
            session=change,
            update_mask=field_mask_pb2.FieldMask(paths=["metadata"]),
        ),
        metadata=tenant.metadata,
    ).session
    expected = session_pb2.Session()
    expected.CopyFrom(created)
    expected.metadata.Clear()
    expected.metadata.update({"new": [1, "two"]})
    assert updated == expected
    assert get_session(api, tenant, "ada", created.session_id) == expected


def test_delete_session_removes_its_messages_only(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    doomed = create_session(api, tenant, "ada")
    kept = create_session(api, tenant, "ada")
    for session in (doomed, kept, doomed):
        add_message(api, tenant, "ada", session.session_id, "hi")

    api.sessions.DeleteSession(
        pb.DeleteSessionRequest(user_id="ada", session_id=doomed.session_id),
        metadata=tenant.metadata,
    )

    error = fails(
        api.sessions.GetSession,
        pb.GetSessionRequest(user_id="ada", session_id=doomed.session_id),
        tenant.metadata,
    )
    assert error.reason == "SESSION_NOT_FOUND"
    assert count_rows(tenant, models.Message.session_id == doomed.session_id) == 0
    assert count_rows(tenant, models.Message.session_id == kept.session_id) == 1
    assert [s.session_id for s in list_sessions(api, tenant, user_id="ada").sessions] == [
        kept.session_id
    ]


def test_sessions_are_listed_newest_first(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    made = []
    for days in (3, 1, 2):
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(start + timedelta(days=days))
        made.append(create_session(api, tenant, "ada", session_pb2.Session(create_time=stamp)))
    listed = list_sessions(api, tenant, user_id="ada")
    assert list(listed.sessions) == [made[0], made[2], made[1]]
    assert listed.total_size == 3


def test_sessions_filter_by_status(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    by_status = {}
    for status in models.SessionStatus:
        session = create_session(api, tenant, "ada")
        set_session_status(tenant, session.session_id, status)
        by_status[status] = session.session_id

    def listed(*wanted: session_pb2.SessionStatus.ValueType) -> set[str]:
        response = list_sessions(api, tenant, user_id="ada", status_filter=wanted)
        assert response.total_size == len(response.sessions)
        return {s.session_id for s in response.sessions}

    assert listed(session_pb2.SESSION_STATUS_PROCESSING) == {
        by_status[models.SessionStatus.PROCESSING]
    }
    assert listed(session_pb2.SESSION_STATUS_PENDING, session_pb2.SESSION_STATUS_FAILED) == {
        by_status[models.SessionStatus.PENDING],
        by_status[models.SessionStatus.FAILED],
    }
    assert listed() == set(by_status.values())
    status_of = {s.session_id: s.status for s in list_sessions(api, tenant, user_id="ada").sessions}
    assert status_of[by_status[models.SessionStatus.PROCESSED]] == (
        session_pb2.SESSION_STATUS_PROCESSED
    )


def process(api: Stubs, tenant: Tenant, session_id: str) -> session_pb2.Session:
    request = pb.ProcessSessionRequest(user_id="ada", session_id=session_id)
    return api.sessions.ProcessSession(request, metadata=tenant.metadata).session


def test_processing_a_pending_session_moves_it_to_processing(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    created = create_session(api, tenant, "ada", session_pb2.Session(metadata=struct({"k": "v"})))
    add_message(api, tenant, "ada", created.session_id, "hello")
    processing = process(api, tenant, created.session_id)
    expected = session_pb2.Session()
    expected.CopyFrom(created)
    expected.status = session_pb2.SESSION_STATUS_PROCESSING
    assert processing == expected


def test_processing_a_failed_session_retries_it(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    set_session_status(tenant, session_id, models.SessionStatus.FAILED, "extraction timed out")
    failed = get_session(api, tenant, "ada", session_id)
    assert (failed.status, failed.failure_reason) == (
        session_pb2.SESSION_STATUS_FAILED,
        "extraction timed out",
    )
    retried = process(api, tenant, session_id)
    assert (retried.status, retried.failure_reason) == (session_pb2.SESSION_STATUS_PROCESSING, "")


@pytest.mark.parametrize(
    "status", [models.SessionStatus.PROCESSING, models.SessionStatus.PROCESSED]
)
def test_a_session_being_or_already_processed_is_not_processed_again(
    tenant: Tenant, channel: grpc.Channel, status: models.SessionStatus
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    set_session_status(tenant, session_id, status)
    error = fails(
        api.sessions.ProcessSession,
        pb.ProcessSessionRequest(user_id="ada", session_id=session_id),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "INVALID_SESSION_STATE",
        {"session_id": session_id, "status": status.name},
    )


@pytest.mark.parametrize(
    "status_filter",
    [[session_pb2.SESSION_STATUS_UNSPECIFIED], [session_pb2.SESSION_STATUS_PENDING, 99]],
    ids=["unspecified", "unknown-number"],
)
def test_a_status_filter_outside_the_enum_is_refused(
    tenant: Tenant, channel: grpc.Channel, status_filter: list[int]
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    error = fails(
        api.sessions.ListSessions,
        pb.ListSessionsRequest(user_id="ada", status_filter=status_filter),  # type: ignore[arg-type]
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata, error.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
        {"field": "status_filter"},
        ["status_filter"],
    )


def session_calls(
    api: Stubs, user_id: str, session_id: str
) -> list[tuple[str, Callable[..., Any], Message]]:
    """Every RPC that names one session, with a request for it."""
    mask = field_mask_pb2.FieldMask(paths=["metadata"])
    return [
        (
            "GetSession",
            api.sessions.GetSession,
            pb.GetSessionRequest(user_id=user_id, session_id=session_id),
        ),
        (
            "UpdateSession",
            api.sessions.UpdateSession,
            pb.UpdateSessionRequest(
                user_id=user_id,
                session=session_pb2.Session(session_id=session_id),
                update_mask=mask,
            ),
        ),
        (
            "DeleteSession",
            api.sessions.DeleteSession,
            pb.DeleteSessionRequest(user_id=user_id, session_id=session_id),
        ),
        (
            "ProcessSession",
            api.sessions.ProcessSession,
            pb.ProcessSessionRequest(user_id=user_id, session_id=session_id),
        ),
        (
            "AddMessage",
            api.sessions.AddMessage,
            pb.AddMessageRequest(
                user_id=user_id,
                session_id=session_id,
                message=session_pb2.Message(role=session_pb2.MESSAGE_ROLE_USER, content="hi"),
            ),
        ),
        (
            "ListMessages",
            api.sessions.ListMessages,
            pb.ListMessagesRequest(user_id=user_id, session_id=session_id),
        ),
    ]


@pytest.mark.parametrize(
    ("session_id", "reported"),
    [
        ("6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b", "6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b"),
        ("not-a-uuid", "not-a-uuid"),
        ("", ""),
        ("z" * 500, "z" * 64),
    ],
    ids=["random-uuid", "not-a-uuid", "empty", "long-garbage"],
)
def test_unknown_sessions_are_not_found_by_every_rpc(
    tenant: Tenant, channel: grpc.Channel, session_id: str, reported: str
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    for name, call, request in session_calls(api, "ada", session_id):
        error = fails(call, request, tenant.metadata)
        assert (error.code, error.reason, error.metadata) == (
            grpc.StatusCode.NOT_FOUND,
            "SESSION_NOT_FOUND",
            {"session_id": reported},
        ), name


def test_another_users_session_is_not_found(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    for user_id in ("ada", "eve"):
        create_user(api, tenant, user_id)
    private = create_session(api, tenant, "ada")
    add_message(api, tenant, "ada", private.session_id, "secret")
    for name, call, request in session_calls(api, "eve", private.session_id):
        error = fails(call, request, tenant.metadata)
        assert (error.code, error.reason, error.metadata) == (
            grpc.StatusCode.NOT_FOUND,
            "SESSION_NOT_FOUND",
            {"session_id": private.session_id},
        ), name
    assert get_session(api, tenant, "ada", private.session_id) == private
    assert count_rows(tenant, models.Message.session_id == private.session_id) == 1


def test_session_rpcs_of_an_unknown_user_are_user_not_found(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    calls: list[tuple[Callable[..., Any], Message]] = [
        *((call, request) for _, call, request in session_calls(api, "ghost", str(uuid.uuid4()))),
        (api.sessions.CreateSession, pb.CreateSessionRequest(user_id="ghost")),
        (api.sessions.ListSessions, pb.ListSessionsRequest(user_id="ghost")),
        (api.sessions.ListRecentMessages, pb.ListRecentMessagesRequest(user_id="ghost", n=1)),
    ]
    for call, request in calls:
        error = fails(call, request, tenant.metadata)
        assert (error.code, error.reason, error.metadata) == (
            grpc.StatusCode.NOT_FOUND,
            "USER_NOT_FOUND",
            {"user_id": "ghost"},
        )


@pytest.mark.parametrize("seconds", [-1, 30 * 24 * 3600 + 1], ids=["negative", "over-30-days"])
def test_auto_process_delay_out_of_range_is_refused(
    tenant: Tenant, channel: grpc.Channel, seconds: int
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    error = fails(
        api.sessions.CreateSession,
        pb.CreateSessionRequest(
            user_id="ada", session=session_pb2.Session(auto_process_after_seconds=seconds)
        ),
        tenant.metadata,
    )
    field = "session.auto_process_after_seconds"
    assert (error.code, error.reason, error.metadata, error.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
        {"field": field},
        [field],
    )
    assert count_rows(tenant, models.Session.user_pk == user_pk(tenant, "ada")) == 0


def test_a_request_id_over_128_characters_is_refused(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    error = fails(
        api.sessions.CreateSession,
        pb.CreateSessionRequest(user_id="ada", request_id="r" * 129),
        tenant.metadata,
    )
    assert (error.reason, error.metadata) == ("VALIDATION_FAILED", {"field": "request_id"})


@pytest.mark.parametrize(
    ("paths", "violations"),
    [
        ([], ["update_mask"]),
        (["status"], ["update_mask"]),
        (["metadata", "title"], ["update_mask"]),
    ],
    ids=["empty", "output-only", "unknown"],
)
def test_session_update_masks_naming_nothing_updatable_are_refused(
    tenant: Tenant, channel: grpc.Channel, paths: list[str], violations: list[str]
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    created = create_session(api, tenant, "ada", session_pb2.Session(metadata=struct({"k": "v"})))
    error = fails(
        api.sessions.UpdateSession,
        pb.UpdateSessionRequest(
            user_id="ada",
            session=session_pb2.Session(session_id=created.session_id),
            update_mask=field_mask_pb2.FieldMask(paths=paths),
        ),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata, error.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
        {"field": "update_mask"},
        violations,
    )
    assert get_session(api, tenant, "ada", created.session_id) == created
