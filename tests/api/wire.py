"""Wire-level helpers: raw stubs and the decoded error of a failed call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from recallr.v1 import (
    category_service_pb2_grpc,
    context_service_pb2_grpc,
    memory_service_pb2_grpc,
    merge_conflict_service_pb2_grpc,
    session_service_pb2_grpc,
    user_service_pb2_grpc,
)


@dataclass(frozen=True)
class Stubs:
    users: user_service_pb2_grpc.UserServiceStub
    sessions: session_service_pb2_grpc.SessionServiceStub
    memories: memory_service_pb2_grpc.MemoryServiceStub
    conflicts: merge_conflict_service_pb2_grpc.MergeConflictServiceStub
    context: context_service_pb2_grpc.ContextServiceStub
    categories: category_service_pb2_grpc.CategoryServiceStub


def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs(
        user_service_pb2_grpc.UserServiceStub(channel),
        session_service_pb2_grpc.SessionServiceStub(channel),
        memory_service_pb2_grpc.MemoryServiceStub(channel),
        merge_conflict_service_pb2_grpc.MergeConflictServiceStub(channel),
        context_service_pb2_grpc.ContextServiceStub(channel),
        category_service_pb2_grpc.CategoryServiceStub(channel),
    )


@dataclass(frozen=True)
class WireError:
    code: grpc.StatusCode
    reason: str
    domain: str
    metadata: dict[str, str]
    field_violations: list[str]


def decode(error: grpc.RpcError) -> WireError:
    """The status of a failed call; asserts it carries exactly one ErrorInfo."""
    status = rpc_status.from_call(error)
    assert status is not None, f"no google.rpc.Status on {error}"
    infos = []
    violations: list[str] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            infos.append(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations.extend(v.field for v in bad.field_violations)
    assert len(infos) == 1, f"expected exactly one ErrorInfo, got {len(infos)}"
    return WireError(
        error.code(),
        infos[0].reason,
        infos[0].domain,
        dict(infos[0].metadata),
        violations,
    )


def fails(call: Callable[..., Any], request: Any, metadata: Any, **kwargs: Any) -> WireError:
    """Calls and returns the decoded error; fails the test if the call succeeds."""
    try:
        response = call(request, metadata=metadata, **kwargs)
    except grpc.RpcError as error:
        return decode(error)
    raise AssertionError(f"call succeeded unexpectedly: {response}")
