"""Channel construction: the only part of the client written separately for sync and async."""

from __future__ import annotations

import json
import os

import grpc
from google.protobuf.descriptor_pb2 import MethodOptions

from recallr.v1 import (
    category_service_pb2,
    context_service_pb2,
    memory_service_pb2,
    merge_conflict_service_pb2,
    session_service_pb2,
    user_service_pb2,
)

DEFAULT_TARGET = "localhost:50051"

# The contract declares which methods are safe to repeat. CreateSession and AddMessage
# are IDEMPOTENT through their request_id, which this client sets to a fresh value for
# each logical call, so a retried attempt returns what the first one added.
_REPEATABLE = frozenset({MethodOptions.NO_SIDE_EFFECTS, MethodOptions.IDEMPOTENT})

_RETRY_POLICY = {
    "maxAttempts": 5,
    "initialBackoff": "0.1s",
    "maxBackoff": "5s",
    "backoffMultiplier": 2,
    # The transient failure (a replica shutting down, a dropped connection). The server
    # may have acted before it, which is why only repeatable methods are retried.
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def _retryable_methods() -> list[dict[str, str]]:
    files = (
        user_service_pb2,
        session_service_pb2,
        memory_service_pb2,
        merge_conflict_service_pb2,
        context_service_pb2,
        category_service_pb2,
    )
    return [
        {"service": service.full_name, "method": method.name}
        for file in files
        for service in file.DESCRIPTOR.services_by_name.values()
        for method in service.methods
        if method.GetOptions().idempotency_level in _REPEATABLE
    ]


SERVICE_CONFIG = json.dumps(
    {"methodConfig": [{"name": _retryable_methods(), "retryPolicy": _RETRY_POLICY}]}
)
_OPTIONS = [("grpc.enable_retries", 1), ("grpc.service_config", SERVICE_CONFIG)]


def resolve_target(target: str | None) -> str:
    return target or os.environ.get("RECALLR_TARGET") or DEFAULT_TARGET


def open_channel(target: str, credentials: grpc.ChannelCredentials | None) -> grpc.Channel:
    if credentials is None:
        return grpc.insecure_channel(target, options=_OPTIONS)
    return grpc.secure_channel(target, credentials, options=_OPTIONS)


def open_async_channel(
    target: str, credentials: grpc.ChannelCredentials | None
) -> grpc.aio.Channel:
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=_OPTIONS)
    return grpc.aio.secure_channel(target, credentials, options=_OPTIONS)
