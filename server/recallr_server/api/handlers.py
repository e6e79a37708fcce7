"""Builds gRPC method handlers from the service descriptors.

Every method of the contract gets a handler that calls the servicer's method of that
name; api/services.py registers a servicer only by its service's typed protocol, so a
servicer that lacks a method never gets this far. The request arrives as raw bytes and
is parsed here, so a request that is not a valid message (say, a string that is not
UTF-8) becomes INVALID_ARGUMENT instead of gRPC's generic INTERNAL deserialization
failure.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import grpc
from google.protobuf import message as pb_message
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from recallr_server import metrics, tracing
from recallr_server.api.admission import Admission
from recallr_server.api.auth import project_of_call
from recallr_server.api.status import REASON_CODES, STATUS_DETAILS_KEY, to_status
from recallr_server.domain.auth import Authenticator
from recallr_server.domain.errors import DomainError, Reason

log = logging.getLogger("recallr.rpc")

REQUEST_ID_KEY = "x-request-id"


@dataclass(frozen=True)
class Call:
    """What a servicer knows about the call it serves."""

    project_id: str
    request_id: str
    context: grpc.aio.ServicerContext[Any, Any]


UnaryImpl = Callable[[Any, Call], Awaitable[pb_message.Message]]
StreamImpl = Callable[[Any, Call], AsyncIterator[pb_message.Message]]
# A client stream: the servicer reads the parsed requests from an async iterator.
UploadImpl = Callable[[AsyncIterator[Any], Call], Awaitable[pb_message.Message]]
Prepare = Callable[[bytes, Any, str], Awaitable[tuple[Any, Call]]]


@dataclass(frozen=True)
class ServiceMethods:
    """A service of the contract, and the servicer's method for each of its RPCs."""

    descriptor: ServiceDescriptor
    unary: Mapping[str, UnaryImpl]
    streaming: Mapping[str, StreamImpl]
    client_streaming: Mapping[str, UploadImpl] = field(default_factory=dict)


def _request_id(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_KEY and isinstance(value, str) and 0 < len(value) <= 128:
            return value
    return uuid.uuid4().hex


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any], error: DomainError, request_id: str
) -> NoReturn:
    code, message, details = to_status(error)
    await context.abort(
        code,
        message,
        trailing_metadata=((STATUS_DETAILS_KEY, details), (REQUEST_ID_KEY, request_id)),
    )
    raise AssertionError("unreachable: abort raises")


def _internal(request_id: str) -> DomainError:
    return DomainError(
        Reason.INTERNAL,
        f"internal error; the server logged it under request id {request_id}",
        metadata={"request_id": request_id},
    )


class HandlerFactory:
    def __init__(self, authenticator: Authenticator, admission: Admission) -> None:
        self._authenticator = authenticator
        self._admission = admission

    def service_handler(self, service: ServiceMethods) -> grpc.GenericRpcHandler:
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
        for method in service.descriptor.methods:
            if method.server_streaming:
                handlers[method.name] = self._stream(method, service.streaming[method.name])
            elif method.client_streaming:
                handlers[method.name] = self._upload(method, service.client_streaming[method.name])
            else:
                handlers[method.name] = self._unary(method, service.unary[method.name])
        return grpc.method_handlers_generic_handler(service.descriptor.full_name, handlers)

    def _preparer(self, method: MethodDescriptor) -> Prepare:
        """Authenticates a call, then parses its request."""
        parse = _parser(method)

        async def prepare(request_bytes: bytes, context: Any, request_id: str) -> tuple[Any, Call]:
            call = await self._call(context, request_id)
            return parse(request_bytes), call

        return prepare

    async def _call(self, context: Any, request_id: str) -> Call:
        self._admission.admit()
        project_id = await project_of_call(
            self._authenticator, context.invocation_metadata() or (), context.peer()
        )
        return Call(project_id, request_id, context)

    def _upload(
        self, method: MethodDescriptor, impl: UploadImpl
    ) -> grpc.RpcMethodHandler[Any, Any]:
        """A client stream: authenticated before the first request is read."""
        parse = _parser(method)

        async def upload(request_iterator: AsyncIterator[bytes], context: Any) -> Any:
            async with _guard(method, context) as request_id:
                call = await self._call(context, request_id)

                async def requests() -> AsyncIterator[Any]:
                    async for request_bytes in request_iterator:
                        yield parse(request_bytes)

                return await impl(requests(), call)

        return grpc.stream_unary_rpc_method_handler(upload, response_serializer=_serialize)

    def _stream(
        self, method: MethodDescriptor, impl: StreamImpl
    ) -> grpc.RpcMethodHandler[Any, Any]:
        prepare = self._preparer(method)

        async def stream(request_bytes: bytes, context: Any) -> AsyncIterator[Any]:
            with metrics.open_stream(method.full_name):
                async with _guard(method, context) as request_id:
                    request, call = await prepare(request_bytes, context, request_id)
                    async for response in impl(request, call):
                        yield response

        return grpc.unary_stream_rpc_method_handler(stream, response_serializer=_serialize)

    def _unary(self, method: MethodDescriptor, impl: UnaryImpl) -> grpc.RpcMethodHandler[Any, Any]:
        prepare = self._preparer(method)

        async def unary(request_bytes: bytes, context: Any) -> Any:
            async with _guard(method, context) as request_id:
                request, call = await prepare(request_bytes, context, request_id)
                return await impl(request, call)

        return grpc.unary_unary_rpc_method_handler(unary, response_serializer=_serialize)


def _parser(method: MethodDescriptor) -> Callable[[bytes], Any]:
    """Parses a request of `method`; bytes that are no such message are MALFORMED_REQUEST."""
    request_class = message_factory.GetMessageClass(method.input_type)

    def parse(request_bytes: bytes) -> Any:
        try:
            return request_class.FromString(request_bytes)
        except pb_message.DecodeError:
            raise DomainError(
                Reason.MALFORMED_REQUEST,
                f"the request is not a valid {method.input_type.full_name}",
                metadata={"method": method.full_name},
            ) from None

    return parse


@asynccontextmanager
async def _guard(
    method: MethodDescriptor, context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[str]:
    """Turns every failure of a call into its status; logs, counts and traces the call once."""
    started = time.perf_counter()
    request_id = _request_id(context)
    code, reason = grpc.StatusCode.OK, ""
    span_name = f"{method.containing_service.full_name}/{method.name}"
    with tracing.rpc_span(span_name, context.invocation_metadata() or ()) as span:
        try:
            yield request_id
        except DomainError as error:
            code, reason = REASON_CODES[error.reason], error.reason.value
            await _abort(context, error, request_id)
        except (asyncio.CancelledError, grpc.aio.AbortError, GeneratorExit):
            code = _interruption(context)
            raise
        except Exception:
            code, reason = grpc.StatusCode.INTERNAL, Reason.INTERNAL.value
            log.exception("unexpected failure", extra={"request_id": request_id})
            await _abort(context, _internal(request_id), request_id)
        finally:
            seconds = time.perf_counter() - started
            _log_call(method, request_id, reason or code.name, seconds)
            metrics.rpc_finished(method.full_name, code.name, reason, seconds)
            span.finish(code, reason)


def _interruption(context: grpc.aio.ServicerContext[Any, Any]) -> grpc.StatusCode:
    """Why a call stopped unfinished: gRPC cancels it when its deadline passes, too."""
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        return grpc.StatusCode.DEADLINE_EXCEEDED
    return grpc.StatusCode.CANCELLED


def _serialize(response: pb_message.Message) -> bytes:
    return response.SerializeToString()


def _log_call(method: MethodDescriptor, request_id: str, outcome: str, seconds: float) -> None:
    # Never the request itself: it may hold message content or metadata.
    log.info(
        "rpc %s %s %.1fms",
        method.full_name,
        outcome,
        seconds * 1000,
        extra={"request_id": request_id, "rpc_method": method.full_name, "outcome": outcome},
    )
