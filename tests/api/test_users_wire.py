"""UserService on the wire: statuses and ErrorInfo reasons."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2
from recallr.v1 import user_pb2
from recallr.v1 import user_service_pb2 as pb

from tests.api.wire import fails, stubs
from tests.conftest import Tenant


def test_create_then_get_returns_the_same_user(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    user = user_pb2.User(user_id="user123", merge_conflict_enabled=True)
    user.metadata.update({"name": "Ada", "tier": 2})
    created = api.users.CreateUser(pb.CreateUserRequest(user=user), metadata=tenant.metadata).user
    fetched = api.users.GetUser(pb.GetUserRequest(user_id="user123"), metadata=tenant.metadata).user
    assert fetched == created
    assert dict(fetched.metadata) == {"name": "Ada", "tier": 2}
    assert fetched.HasField("merge_conflict_enabled") and fetched.merge_conflict_enabled


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
        api.users.CreateUser(
            pb.CreateUserRequest(user=user_pb2.User(user_id=user_id)), metadata=tenant.metadata
        )
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
    assert error.reason == "USER_ALREADY_EXISTS"
    a = api.users.GetUser(pb.GetUserRequest(user_id="a"), metadata=tenant.metadata).user
    assert dict(a.metadata) == {}
