"""The contract as the generated descriptors state it, and raw calls of its methods.

Raw calls send bytes with no serializer, so a test can reach any method by
name, or send bytes that are not a valid request at all.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

import recallr.v1

RAW_CALL_SECONDS = 10.0


def services() -> list[ServiceDescriptor]:
    """Every service of every generated `recallr.v1` module."""
    found: list[ServiceDescriptor] = []
    for module_info in pkgutil.iter_modules(recallr.v1.__path__):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"recallr.v1.{module_info.name}")
        found.extend(module.DESCRIPTOR.services_by_name.values())
    return sorted(found, key=lambda service: service.full_name)


def methods() -> list[MethodDescriptor]:
    return [method for service in services() for method in service.methods]


def path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def raw_call(
    channel: grpc.Channel,
    method: MethodDescriptor,
    payload: bytes,
    metadata: Any,
    timeout: float = RAW_CALL_SECONDS,
) -> list[bytes]:
    """The serialized responses of one call (a client stream sends `payload` as its one
    message); raises grpc.RpcError when it fails."""
    assert not (method.client_streaming and method.server_streaming), "no bidirectional calls"
    if method.client_streaming:
        upload: grpc.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(path(method))
        return [upload(iter([payload]), metadata=metadata, timeout=timeout)]
    if method.server_streaming:
        stream: grpc.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(path(method))
        return list(stream(payload, metadata=metadata, timeout=timeout))
    unary: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(path(method))
    response = unary(payload, metadata=metadata, timeout=timeout)
    return [response]
