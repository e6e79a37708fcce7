"""Request bytes that are not a valid message are INVALID_ARGUMENT, not INTERNAL."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor

from recallr.v1 import session_service_pb2, user_service_pb2
from tests.api.contract import methods, raw_call
from tests.api.wire import WireError, decode
from tests.conftest import Tenant

TRUNCATED_VARINT = b"\x08\xff"


def malformed(
    channel: grpc.Channel, tenant: Tenant, method: MethodDescriptor, payload: bytes
) -> WireError:
    with pytest.raises(grpc.RpcError) as raised:
        raw_call(channel, method, payload, tenant.metadata)
    return decode(raised.value)


def by_name(service: str, method: str) -> MethodDescriptor:
    module = user_service_pb2 if service == "UserService" else session_service_pb2
    found: MethodDescriptor = module.DESCRIPTOR.services_by_name[service].methods_by_name[method]
    return found


@pytest.mark.parametrize(
    ("service", "method", "payload"),
    [
        # GetUserRequest.user_id = b"\xff\xfe"
        ("UserService", "GetUser", b"\x0a\x02\xff\xfe"),
        # CreateUserRequest.user = User(user_id=b"\xff"): the bad string is nested.
        ("UserService", "CreateUser", b"\x0a\x03\x0a\x01\xff"),
        # TailMessagesRequest.user_id = b"\xc3": a UTF-8 sequence cut short, on a stream.
        ("SessionService", "TailMessages", b"\x0a\x01\xc3"),
        # ListUsersRequest.page_size whose varint never ends.
        ("UserService", "ListUsers", TRUNCATED_VARINT),
        # GetUserRequest.user_id claims five bytes and carries two.
        ("UserService", "GetUser", b"\x0a\x05ab"),
        # Field 1 with wire type 7, which does not exist.
        ("UserService", "DeleteUser", b"\x0f"),
    ],
    ids=[
        "invalid-utf8",
        "nested-invalid-utf8",
        "cut-utf8-on-a-stream",
        "truncated-varint",
        "truncated-length",
        "unknown-wire-type",
    ],
)
def test_undecodable_requests_are_malformed(
    tenant: Tenant, channel: grpc.Channel, service: str, method: str, payload: bytes
) -> None:
    descriptor = by_name(service, method)
    error = malformed(channel, tenant, descriptor, payload)
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "MALFORMED_REQUEST",
        {"method": descriptor.full_name},
    )


@pytest.mark.parametrize("method", methods(), ids=lambda m: m.full_name)
def test_every_method_refuses_a_truncated_request(
    tenant: Tenant, channel: grpc.Channel, method: MethodDescriptor
) -> None:
    error = malformed(channel, tenant, method, TRUNCATED_VARINT)
    # Unimplemented methods say so before they read the request.
    expected = (
        (grpc.StatusCode.UNIMPLEMENTED, "NOT_IMPLEMENTED")
        if error.reason == "NOT_IMPLEMENTED"
        else (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST")
    )
    assert (error.code, error.reason, error.metadata) == (*expected, {"method": method.full_name})
