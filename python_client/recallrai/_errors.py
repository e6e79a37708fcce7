"""The one table from a gRPC failure to a client exception, for both clients.

The server puts a ``google.rpc.Status`` in the trailers with exactly one
``ErrorInfo`` whose reason names an ``ErrorReason`` value; the reason decides
the exception. Failures gRPC itself produces (deadlines, unreachable servers,
oversized messages) carry no ``ErrorInfo`` and are classified by status code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from recallrai.exceptions import (
    AuthenticationError,
    CategoryAlreadyExistsError,
    CategoryNotFoundError,
    ConnectionError,
    InternalServerError,
    InvalidCategoriesError,
    InvalidSessionStateError,
    MemoryNotFoundError,
    MergeConflictAlreadyResolvedError,
    MergeConflictInvalidAnswerError,
    MergeConflictInvalidQuestionsError,
    MergeConflictMissingAnswersError,
    MergeConflictNotFoundError,
    RateLimitError,
    RecallrAIError,
    ServerError,
    SessionFullError,
    SessionNotFoundError,
    TimeoutError,
    UnimplementedError,
    UserAlreadyExistsError,
    UserNotFoundError,
    ValidationError,
)

ERROR_DOMAIN = "recallr.v1"

_DetailT = TypeVar("_DetailT", bound=Message)


@dataclass(frozen=True, slots=True)
class Mapped:
    """The exception a failure raises, and the status Recallr's HTTP API answers for it."""

    error: type[RecallrAIError]
    http_status: int


# Keyed by the ErrorReason value name without its "ERROR_REASON_" prefix,
# which is what ErrorInfo.reason carries.
ERRORS_BY_REASON: Mapping[str, Mapped] = {
    "AUTHENTICATION_REQUIRED": Mapped(AuthenticationError, 401),
    "INVALID_API_KEY": Mapped(AuthenticationError, 401),
    "VALIDATION_FAILED": Mapped(ValidationError, 422),
    "MALFORMED_REQUEST": Mapped(ValidationError, 422),
    "INVALID_PAGE_TOKEN": Mapped(ValidationError, 422),
    "USER_NOT_FOUND": Mapped(UserNotFoundError, 404),
    "USER_ALREADY_EXISTS": Mapped(UserAlreadyExistsError, 409),
    "SESSION_NOT_FOUND": Mapped(SessionNotFoundError, 404),
    "INVALID_SESSION_STATE": Mapped(InvalidSessionStateError, 400),
    "SESSION_FULL": Mapped(SessionFullError, 400),
    "MEMORY_NOT_FOUND": Mapped(MemoryNotFoundError, 404),
    "INVALID_CATEGORIES": Mapped(InvalidCategoriesError, 400),
    "CATEGORY_NOT_FOUND": Mapped(CategoryNotFoundError, 404),
    "CATEGORY_ALREADY_EXISTS": Mapped(CategoryAlreadyExistsError, 409),
    "MERGE_CONFLICT_NOT_FOUND": Mapped(MergeConflictNotFoundError, 404),
    "MERGE_CONFLICT_ALREADY_RESOLVED": Mapped(MergeConflictAlreadyResolvedError, 400),
    "MERGE_CONFLICT_INVALID_QUESTIONS": Mapped(MergeConflictInvalidQuestionsError, 400),
    "MERGE_CONFLICT_MISSING_ANSWERS": Mapped(MergeConflictMissingAnswersError, 400),
    "MERGE_CONFLICT_INVALID_ANSWER": Mapped(MergeConflictInvalidAnswerError, 400),
    "RATE_LIMITED": Mapped(RateLimitError, 429),
    "NOT_IMPLEMENTED": Mapped(UnimplementedError, 501),
    "SERVICE_UNAVAILABLE": Mapped(ConnectionError, 503),
    "INTERNAL": Mapped(InternalServerError, 500),
}

# For statuses without a Recallr ErrorInfo: failures gRPC itself produces, or a
# proxy's. A deadline or an unreachable server had no answer, hence status 0, as
# the official SDK reports its own timeouts and connection errors.
ERRORS_BY_CODE: Mapping[grpc.StatusCode, Mapped] = {
    grpc.StatusCode.CANCELLED: Mapped(ServerError, 499),
    grpc.StatusCode.UNKNOWN: Mapped(InternalServerError, 500),
    grpc.StatusCode.INVALID_ARGUMENT: Mapped(ValidationError, 422),
    grpc.StatusCode.DEADLINE_EXCEEDED: Mapped(TimeoutError, 0),
    grpc.StatusCode.NOT_FOUND: Mapped(ServerError, 404),
    grpc.StatusCode.ALREADY_EXISTS: Mapped(ServerError, 409),
    grpc.StatusCode.PERMISSION_DENIED: Mapped(ServerError, 403),
    grpc.StatusCode.RESOURCE_EXHAUSTED: Mapped(ServerError, 429),
    grpc.StatusCode.FAILED_PRECONDITION: Mapped(ServerError, 400),
    grpc.StatusCode.ABORTED: Mapped(ServerError, 409),
    grpc.StatusCode.OUT_OF_RANGE: Mapped(ValidationError, 422),
    grpc.StatusCode.UNIMPLEMENTED: Mapped(UnimplementedError, 501),
    grpc.StatusCode.INTERNAL: Mapped(InternalServerError, 500),
    grpc.StatusCode.UNAVAILABLE: Mapped(ConnectionError, 0),
    grpc.StatusCode.DATA_LOSS: Mapped(InternalServerError, 500),
    grpc.StatusCode.UNAUTHENTICATED: Mapped(AuthenticationError, 401),
}


def error_from_rpc(error: grpc.RpcError) -> RecallrAIError:
    """Translate a failed call of either client into its client exception."""
    if not isinstance(error, grpc.Call | grpc.aio.AioRpcError):
        # Every RpcError a channel raises is also a call; anything else has no status.
        return ServerError(str(error), 500)
    code = error.code()
    status = _rich_status(error)
    info = _detail(status, error_details_pb2.ErrorInfo)
    if info is not None and info.domain != ERROR_DOMAIN:
        # A reason from another domain (a proxy, a mesh sidecar) is not one of ours.
        info = None
    reason = info.reason if info is not None else None
    metadata = dict(info.metadata) if info is not None else {}
    # A reason newer than this client falls back to its status code.
    by_reason = ERRORS_BY_REASON.get(reason) if reason is not None else None
    mapped = by_reason or ERRORS_BY_CODE.get(code, Mapped(ServerError, 500))
    common: dict[str, Any] = {"code": code, "reason": reason, "metadata": metadata}
    message = error.details() or code.name
    if issubclass(mapped.error, RateLimitError):
        common["retry_after"] = _retry_after(status, metadata)
    elif issubclass(mapped.error, ValidationError):
        bad_request = _detail(status, error_details_pb2.BadRequest)
        violations = bad_request.field_violations if bad_request is not None else []
        common["field_violations"] = [(v.field, v.description) for v in violations]
    elif issubclass(mapped.error, InvalidCategoriesError):
        categories = metadata.get("invalid_categories", "").split(",")
        names = [name for name in categories if name]
        return InvalidCategoriesError(message, mapped.http_status, names, **common)
    return mapped.error(message, mapped.http_status, **common)


def _rich_status(call: grpc.Call | grpc.aio.AioRpcError) -> status_pb2.Status | None:
    try:
        status: status_pb2.Status | None = rpc_status.from_call(call)
    except ValueError:
        # The trailer disagrees with the call's own code or message (a broken
        # proxy or server); the status code alone is still trustworthy.
        return None
    return status


def _detail(status: status_pb2.Status | None, detail_type: type[_DetailT]) -> _DetailT | None:
    if status is None:
        return None
    for packed in status.details:
        if packed.Is(detail_type.DESCRIPTOR):
            detail = detail_type()
            packed.Unpack(detail)
            return detail
    return None


def _retry_after(status: status_pb2.Status | None, metadata: Mapping[str, str]) -> float | None:
    retry_info = _detail(status, error_details_pb2.RetryInfo)
    if retry_info is not None and retry_info.HasField("retry_delay"):
        return float(retry_info.retry_delay.ToTimedelta().total_seconds())
    try:
        return float(metadata["retry_after_seconds"])
    except (KeyError, ValueError):
        return None
