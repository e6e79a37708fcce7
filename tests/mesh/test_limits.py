"""Message size limits and keepalive, configured from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import grpc
import pytest
from google.protobuf import struct_pb2

from recallr.v1 import user_pb2
from recallr.v1 import user_service_pb2 as users_pb
from recallr_server.config import Settings
from recallr_server.transport import server_options
from tests.api.wire import Stubs, fails, stubs
from tests.conftest import ServerThread, Tenant, new_tenant

LIMIT = 16 * 1024


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    settings = replace(
        Settings(),
        database_url=f"sqlite:///{tmp_path_factory.mktemp('limits') / 'recallr.db'}",
        listen="127.0.0.1:0",
        shutdown_grace_seconds=1,
        max_receive_message_bytes=LIMIT,
        max_send_message_bytes=LIMIT,
    )
    server = ServerThread(settings)
    yield new_tenant(server)
    server.stop()


@pytest.fixture
def api(limited: Tenant) -> Iterator[Stubs]:
    # The client's own limits are gRPC's 4 MiB, so only the server's can refuse.
    with grpc.insecure_channel(limited.target) as channel:
        yield stubs(channel)


def user_with_notes(user_id: str, size: int) -> users_pb.CreateUserRequest:
    metadata = struct_pb2.Struct()
    metadata.update({"notes": "x" * size})
    return users_pb.CreateUserRequest(user=user_pb2.User(user_id=user_id, metadata=metadata))


def test_a_request_below_the_receive_limit_is_served(limited: Tenant, api: Stubs) -> None:
    created = api.users.CreateUser(user_with_notes("small", LIMIT // 2), metadata=limited.metadata)
    assert created.user.metadata["notes"] == "x" * (LIMIT // 2)


def test_a_request_above_the_receive_limit_is_resource_exhausted(
    limited: Tenant, api: Stubs
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        api.users.CreateUser(user_with_notes("big", LIMIT + 1), metadata=limited.metadata)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    missing = fails(api.users.GetUser, users_pb.GetUserRequest(user_id="big"), limited.metadata)
    assert missing.reason == "USER_NOT_FOUND"


def test_a_response_above_the_send_limit_is_resource_exhausted(limited: Tenant, api: Stubs) -> None:
    for i in range(3):
        api.users.CreateUser(user_with_notes(f"page{i}", LIMIT // 2), metadata=limited.metadata)
    with pytest.raises(grpc.RpcError) as raised:
        api.users.ListUsers(users_pb.ListUsersRequest(page_size=3), metadata=limited.metadata)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    one = api.users.ListUsers(users_pb.ListUsersRequest(page_size=1), metadata=limited.metadata)
    assert len(one.users) == 1


def test_by_default_only_the_receive_limit_is_set_and_it_is_4_mib() -> None:
    assert server_options(Settings.from_env({})) == [
        ("grpc.max_receive_message_length", 4 * 1024 * 1024),
        ("grpc.keepalive_permit_without_calls", 0),
    ]


def test_limits_and_keepalive_settings_become_grpc_server_options() -> None:
    settings = Settings.from_env(
        {
            "RECALLR_MAX_RECEIVE_MESSAGE_BYTES": "1048576",
            "RECALLR_MAX_SEND_MESSAGE_BYTES": "2097152",
            "RECALLR_KEEPALIVE_TIME_SECONDS": "30",
            "RECALLR_KEEPALIVE_TIMEOUT_SECONDS": "2.5",
            "RECALLR_KEEPALIVE_PERMIT_WITHOUT_CALLS": "true",
            "RECALLR_KEEPALIVE_MIN_PING_INTERVAL_SECONDS": "10",
        }
    )
    assert dict(server_options(settings)) == {
        "grpc.max_receive_message_length": 1048576,
        "grpc.max_send_message_length": 2097152,
        "grpc.keepalive_time_ms": 30_000,
        "grpc.keepalive_timeout_ms": 2_500,
        "grpc.keepalive_permit_without_calls": 1,
        "grpc.http2.min_ping_interval_without_data_ms": 10_000,
    }
