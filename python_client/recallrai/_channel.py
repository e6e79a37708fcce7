"""Channel construction: the only part of the client written separately for sync and async."""

from __future__ import annotations

import json
import os

import grpc

from recallr.v1 import (
    category_service_pb2,
    context_service_pb2,
    memory_service_pb2,
    merge_conflict_service_pb2,
    session_service_pb2,
    user_service_pb2,
)

DEFAULT_TARGET = "localhost:50051"

# Creating these twice is harmless because the client sends a fresh request_id
# with each logical call, and the server returns the first result for a known id.
_KEYED_METHODS = frozenset({"CreateSession", "AddMessage"})

_RETRY_POLICY = {
    "maxAttempts": 5,
    "initialBackoff": "0.1s",
    "maxBackoff": "5s",
    "backoffMultiplier": 2,
    # Only UNAVAILABLE guarantees the server did not act on the request.
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
        if method.name.startswith(("Get", "List")) or method.name in _KEYED_METHODS
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
