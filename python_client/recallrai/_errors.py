"""The one table from a gRPC failure to a client exception, for both clients.

The server puts a ``google.rpc.Status`` in the trailers with exactly one
``ErrorInfo`` whose reason names an ``ErrorReason`` value; the reason decides
the exception. Failures gRPC itself produces (deadlines, unreachable servers,
oversized messages) carry no ``ErrorInfo`` and are classified by status code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

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
    SessionNotFoundError,
    TimeoutError,
    UnimplementedError,
    UserAlreadyExistsError,
    UserNotFoundError,
    ValidationError,
)

ERROR_DOMAIN = "recallr.v1"

_DetailT = TypeVar("_DetailT", bound=Message)

# Keyed by the ErrorReason value name without its "ERROR_REASON_" prefix,
# which is what ErrorInfo.reason carries.
ERRORS_BY_REASON: Mapping[str, type[RecallrAIError]] = {
    "AUTHENTICATION_REQUIRED": AuthenticationError,
    "INVALID_API_KEY": AuthenticationError,
    "VALIDATION_FAILED": ValidationError,
    "MALFORMED_REQUEST": ValidationError,
    "INVALID_PAGE_TOKEN": ValidationError,
    "USER_NOT_FOUND": UserNotFoundError,
    "USER_ALREADY_EXISTS": UserAlreadyExistsError,
    "SESSION_NOT_FOUND": SessionNotFoundError,
    "INVALID_SESSION_STATE": InvalidSessionStateError,
    "MEMORY_NOT_FOUND": MemoryNotFoundError,
    "INVALID_CATEGORIES": InvalidCategoriesError,
    "CATEGORY_NOT_FOUND": CategoryNotFoundError,
    "CATEGORY_ALREADY_EXISTS": CategoryAlreadyExistsError,
    "MERGE_CONFLICT_NOT_FOUND": MergeConflictNotFoundError,
    "MERGE_CONFLICT_ALREADY_RESOLVED": MergeConflictAlreadyResolvedError,
    "MERGE_CONFLICT_INVALID_QUESTIONS": MergeConflictInvalidQuestionsError,
    "MERGE_CONFLICT_MISSING_ANSWERS": MergeConflictMissingAnswersError,
    "MERGE_CONFLICT_INVALID_ANSWER": MergeConflictInvalidAnswerError,
    "RATE_LIMITED": RateLimitError,
    "NOT_IMPLEMENTED": UnimplementedError,
    "SERVICE_UNAVAILABLE": ConnectionError,
    "INTERNAL": InternalServerError,
}

# For statuses without a Recallr ErrorInfo; any other code is a ServerError.
ERRORS_BY_CODE: Mapping[grpc.StatusCode, type[RecallrAIError]] = {
    grpc.StatusCode.DEADLINE_EXCEEDED: TimeoutError,
    grpc.StatusCode.UNAVAILABLE: ConnectionError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.INVALID_ARGUMENT: ValidationError,
    grpc.StatusCode.OUT_OF_RANGE: ValidationError,
    grpc.StatusCode.UNIMPLEMENTED: UnimplementedError,
    grpc.StatusCode.INTERNAL: InternalServerError,
    grpc.StatusCode.UNKNOWN: InternalServerError,
    grpc.StatusCode.DATA_LOSS: InternalServerError,
}


def error_from_rpc(error: grpc.RpcError) -> RecallrAIError:
    """Translate a failed call of either client into its client exception."""
    if not isinstance(error, grpc.Call | grpc.aio.AioRpcError):
        # Every RpcError a channel raises is also a call; anything else has no status.
        return ServerError(str(error))
    code = error.code()
    message = error.details() or code.name
    status = _rich_status(error)
    info = _detail(status, error_details_pb2.ErrorInfo)
    if info is not None and info.domain != ERROR_DOMAIN:
        # A reason from another domain (a proxy, a mesh sidecar) is not one of ours.
        info = None
    reason = info.reason if info is not None else None
    metadata = dict(info.metadata) if info is not None else {}
    # A reason newer than this client falls back to its status code.
    by_reason = ERRORS_BY_REASON.get(reason) if reason is not None else None
    error_class = by_reason or ERRORS_BY_CODE.get(code, ServerError)
    if issubclass(error_class, RateLimitError):
        return error_class(
            message,
            code=code,
            reason=reason,
            metadata=metadata,
            retry_after=_retry_after(status, metadata),
        )
    if issubclass(error_class, ValidationError):
        bad_request = _detail(status, error_details_pb2.BadRequest)
        violations = (
            [(v.field, v.description) for v in bad_request.field_violations]
            if bad_request is not None
            else []
        )
        return error_class(
            message, code=code, reason=reason, metadata=metadata, field_violations=violations
        )
    return error_class(message, code=code, reason=reason, metadata=metadata)


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
