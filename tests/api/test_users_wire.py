"""UserService on the wire: fields, updates, deletes, statuses and ErrorInfo reasons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from recallr.v1 import session_service_pb2 as sessions_pb
from recallr.v1 import user_pb2
from recallr.v1 import user_service_pb2 as pb
from recallr_server.store import models
from tests.api.seed import add_message, count_rows, create_session, create_user, struct, user_pk
from tests.api.wire import Stubs, fails, stubs
from tests.conftest import Tenant


def update_user(
    api: Stubs, tenant: Tenant, user_id: str, user: user_pb2.User, *paths: str
) -> user_pb2.User:
    request = pb.UpdateUserRequest(
        user_id=user_id, user=user, update_mask=field_mask_pb2.FieldMask(paths=paths)
    )
    return api.users.UpdateUser(request, metadata=tenant.metadata).user


def get_user(api: Stubs, tenant: Tenant, user_id: str) -> user_pb2.User:
    return api.users.GetUser(pb.GetUserRequest(user_id=user_id), metadata=tenant.metadata).user


def test_create_then_get_returns_the_same_user(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    user = user_pb2.User(user_id="user123", merge_conflict_enabled=True)
    user.metadata.update({"name": "Ada", "tier": 2})
    created = api.users.CreateUser(pb.CreateUserRequest(user=user), metadata=tenant.metadata).user
    fetched = get_user(api, tenant, "user123")
    assert fetched == created
    assert dict(fetched.metadata) == {"name": "Ada", "tier": 2}
    assert fetched.HasField("merge_conflict_enabled")
    assert fetched.merge_conflict_enabled


def test_a_new_user_is_active_since_its_creation(tenant: Tenant, channel: grpc.Channel) -> None:
    created = create_user(stubs(channel), tenant, "fresh")
    assert created.create_time.seconds > 0
    assert created.last_active_time == created.create_time
    assert not created.HasField("merge_conflict_enabled")


def test_output_only_fields_of_a_created_user_are_ignored(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    user = user_pb2.User(user_id="early")
    user.create_time.FromSeconds(1)
    user.last_active_time.FromSeconds(1)
    created = (
        stubs(channel)
        .users.CreateUser(pb.CreateUserRequest(user=user), metadata=tenant.metadata)
        .user
    )
    assert created.create_time.seconds > 1
    assert created.last_active_time.seconds > 1


def test_metadata_of_every_json_type_round_trips(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    metadata = {
        "text": "Ada ✓",
        "number": 2.5,
        "flag": False,
        "nothing": None,
        "list": [1.0, "two", True, None, {"deep": ["x"]}],
        "object": {"nested": {"key": "value"}, "empty": {}},
    }
    create_user(api, tenant, "rich", metadata)
    assert get_user(api, tenant, "rich").metadata == struct(metadata)


def test_listed_users_carry_every_field_newest_first(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "first", {"n": 1})
    second = user_pb2.User(user_id="second", merge_conflict_enabled=False)
    api.users.CreateUser(pb.CreateUserRequest(user=second), metadata=tenant.metadata)
    listed = api.users.ListUsers(pb.ListUsersRequest(), metadata=tenant.metadata)
    assert list(listed.users) == [get_user(api, tenant, "second"), get_user(api, tenant, "first")]
    assert listed.total_size == 2


def test_update_replaces_metadata_and_bumps_last_active_time(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    created = create_user(api, tenant, "ada", {"old": 1, "kept": "no"})
    updated = update_user(
        api, tenant, "ada", user_pb2.User(metadata=struct({"new": "yes"})), "metadata"
    )
    assert dict(updated.metadata) == {"new": "yes"}
    assert updated.create_time == created.create_time
    assert updated.last_active_time.ToDatetime() > created.last_active_time.ToDatetime()
    assert get_user(api, tenant, "ada") == updated


def test_sessions_and_messages_bump_last_active_time(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    created = create_user(api, tenant, "ada")
    session = create_session(api, tenant, "ada")
    after_session = get_user(api, tenant, "ada").last_active_time.ToDatetime()
    assert after_session > created.last_active_time.ToDatetime()
    message = add_message(api, tenant, "ada", session.session_id, "hello")
    after_message = get_user(api, tenant, "ada").last_active_time
    assert after_message.ToDatetime() > after_session
    assert after_message == message.create_time


def test_merge_conflict_override_is_set_cleared_and_left_alone(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    mask: Final = "merge_conflict_enabled"

    enabled = update_user(api, tenant, "ada", user_pb2.User(merge_conflict_enabled=True), mask)
    assert enabled.HasField(mask)
    assert enabled.merge_conflict_enabled

    disabled = update_user(api, tenant, "ada", user_pb2.User(merge_conflict_enabled=False), mask)
    assert disabled.HasField(mask)
    assert not disabled.merge_conflict_enabled

    # Outside the mask the field is ignored, whatever the request carries.
    untouched = update_user(
        api,
        tenant,
        "ada",
        user_pb2.User(merge_conflict_enabled=True, metadata=struct({"a": 1})),
        "metadata",
    )
    assert untouched.HasField(mask)
    assert not untouched.merge_conflict_enabled

    # Named in the mask but unset: back to the project default.
    reset = update_user(api, tenant, "ada", user_pb2.User(), mask)
    assert not reset.HasField(mask)
    assert not get_user(api, tenant, "ada").HasField(mask)


def test_rename_moves_the_user_with_their_sessions(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "old", {"k": "v"})
    session = create_session(api, tenant, "old")
    renamed = update_user(api, tenant, "old", user_pb2.User(user_id="new"), "user_id")
    assert renamed.user_id == "new"
    assert dict(renamed.metadata) == {"k": "v"}
    assert fails(api.users.GetUser, pb.GetUserRequest(user_id="old"), tenant.metadata).reason == (
        "USER_NOT_FOUND"
    )
    assert get_user(api, tenant, "new") == renamed
    moved = api.sessions.GetSession(
        sessions_pb.GetSessionRequest(user_id="new", session_id=session.session_id),
        metadata=tenant.metadata,
    ).session
    assert moved.user_id == "new"


def test_delete_user_removes_their_sessions_and_messages(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "gone")
    create_user(api, tenant, "stays")
    for owner in ("gone", "stays"):
        session = create_session(api, tenant, owner)
        add_message(api, tenant, owner, session.session_id, f"from {owner}")
    gone_pk, stays_pk = user_pk(tenant, "gone"), user_pk(tenant, "stays")

    api.users.DeleteUser(pb.DeleteUserRequest(user_id="gone"), metadata=tenant.metadata)

    error = fails(api.users.GetUser, pb.GetUserRequest(user_id="gone"), tenant.metadata)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")
    assert count_rows(tenant, models.Session.user_pk == gone_pk) == 0
    assert count_rows(tenant, models.Message.user_pk == gone_pk) == 0
    assert count_rows(tenant, models.Session.user_pk == stays_pk) == 1
    assert count_rows(tenant, models.Message.user_pk == stays_pk) == 1


def test_creating_an_existing_user_is_already_exists(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    request = pb.CreateUserRequest(user=user_pb2.User(user_id="dup"))
    api.users.CreateUser(request, metadata=tenant.metadata)
    error = fails(api.users.CreateUser, request, tenant.metadata)
    assert (error.code, error.reason, error.domain) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "USER_ALREADY_EXISTS",
        "recallr.v1",
    )
    assert error.metadata == {"user_id": "dup"}


def test_rename_to_a_taken_id_changes_nothing(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    for user_id in ("a", "b"):
        create_user(api, tenant, user_id)
    update = user_pb2.User(user_id="b")
    update.metadata.update({"changed": True})
    error = fails(
        api.users.UpdateUser,
        pb.UpdateUserRequest(
            user_id="a",
            user=update,
            update_mask=field_mask_pb2.FieldMask(paths=["user_id", "metadata"]),
        ),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "USER_ALREADY_EXISTS",
        {"user_id": "b"},
    )
    assert dict(get_user(api, tenant, "a").metadata) == {}


@pytest.mark.parametrize(
    ("user_id", "reported"),
    [
        ("nobody", "nobody"),
        ("x" * 300, "x" * 256),
        ("nul\x00inside", "nul\x00inside"),
        ("", ""),
    ],
    ids=["unknown", "too-long", "nul", "empty"],
)
def test_unknown_user_ids_are_not_found_by_every_rpc(
    tenant: Tenant, channel: grpc.Channel, user_id: str, reported: str
) -> None:
    api = stubs(channel)
    calls: list[tuple[Callable[..., Any], Message]] = [
        (api.users.GetUser, pb.GetUserRequest(user_id=user_id)),
        (api.users.DeleteUser, pb.DeleteUserRequest(user_id=user_id)),
        (
            api.users.UpdateUser,
            pb.UpdateUserRequest(
                user_id=user_id,
                user=user_pb2.User(),
                update_mask=field_mask_pb2.FieldMask(paths=["metadata"]),
            ),
        ),
    ]
    for call, request in calls:
        error = fails(call, request, tenant.metadata)
        assert (error.code, error.reason, error.metadata) == (
            grpc.StatusCode.NOT_FOUND,
            "USER_NOT_FOUND",
            {"user_id": reported},
        )


@pytest.mark.parametrize(
    "user_id", ["", "   ", "x" * 257, "nul\x00inside"], ids=["empty", "blank", "too-long", "nul"]
)
def test_invalid_user_ids_are_refused_on_create_and_rename(
    tenant: Tenant, channel: grpc.Channel, user_id: str
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "valid")
    created = fails(
        api.users.CreateUser,
        pb.CreateUserRequest(user=user_pb2.User(user_id=user_id)),
        tenant.metadata,
    )
    renamed = fails(
        api.users.UpdateUser,
        pb.UpdateUserRequest(
            user_id="valid",
            user=user_pb2.User(user_id=user_id),
            update_mask=field_mask_pb2.FieldMask(paths=["user_id"]),
        ),
        tenant.metadata,
    )
    for error in (created, renamed):
        assert (error.code, error.reason, error.metadata, error.field_violations) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "VALIDATION_FAILED",
            {"field": "user.user_id"},
            ["user.user_id"],
        )


def test_a_user_id_of_256_characters_is_accepted(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    longest = "x" * 256
    create_user(api, tenant, longest)
    assert get_user(api, tenant, longest).user_id == longest


@pytest.mark.parametrize(
    ("paths", "violations"),
    [
        ([], ["update_mask"]),
        (["create_time"], ["update_mask"]),
        (["metadata", "nickname", "last_active_time"], ["update_mask", "update_mask"]),
    ],
    ids=["empty", "output-only", "unknown"],
)
def test_update_masks_naming_nothing_updatable_are_refused(
    tenant: Tenant, channel: grpc.Channel, paths: list[str], violations: list[str]
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada", {"k": "v"})
    error = fails(
        api.users.UpdateUser,
        pb.UpdateUserRequest(
            user_id="ada",
            user=user_pb2.User(metadata=struct({"k": "changed"})),
            update_mask=field_mask_pb2.FieldMask(paths=paths),
        ),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
        {"field": "update_mask"},
    )
    assert error.field_violations == violations
    assert dict(get_user(api, tenant, "ada").metadata) == {"k": "v"}
