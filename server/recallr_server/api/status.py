"""Domain errors to gRPC statuses: one table, one ErrorInfo per failure."""

from __future__ import annotations

from datetime import timedelta

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from recallr_server.domain.errors import DomainError, Reason

DOMAIN = "recallr.v1"
STATUS_DETAILS_KEY = "grpc-status-details-bin"

# Errors echo request values, and gRPC clients refuse trailers beyond 8 KiB (the
# message travels twice: percent-encoded, and inside the serialized Status), so
# every echoed text is clipped to keep the whole status well under that.
MAX_MESSAGE_BYTES = 512
MAX_METADATA_VALUE_BYTES = 256
MAX_FIELD_VIOLATIONS = 8
MAX_VIOLATION_BYTES = 128

REASON_CODES: dict[Reason, grpc.StatusCode] = {
    Reason.AUTHENTICATION_REQUIRED: grpc.StatusCode.UNAUTHENTICATED,
    Reason.INVALID_API_KEY: grpc.StatusCode.UNAUTHENTICATED,
    Reason.VALIDATION_FAILED: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.MALFORMED_REQUEST: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.INVALID_PAGE_TOKEN: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.USER_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Reason.USER_ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    Reason.SESSION_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Reason.INVALID_SESSION_STATE: grpc.StatusCode.FAILED_PRECONDITION,
    Reason.SESSION_FULL: grpc.StatusCode.FAILED_PRECONDITION,
    Reason.MEMORY_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Reason.INVALID_CATEGORIES: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.CATEGORY_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Reason.CATEGORY_ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    Reason.MERGE_CONFLICT_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Reason.MERGE_CONFLICT_ALREADY_RESOLVED: grpc.StatusCode.FAILED_PRECONDITION,
    Reason.MERGE_CONFLICT_INVALID_QUESTIONS: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.MERGE_CONFLICT_MISSING_ANSWERS: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.MERGE_CONFLICT_INVALID_ANSWER: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.RATE_LIMITED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Reason.NOT_IMPLEMENTED: grpc.StatusCode.UNIMPLEMENTED,
    Reason.SERVICE_UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    Reason.INTERNAL: grpc.StatusCode.INTERNAL,
}


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def clip(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, marked with an ellipsis when cut."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    return encoded[: max_bytes - 3].decode("utf-8", "ignore") + "\u2026"


def to_status(error: DomainError) -> tuple[grpc.StatusCode, str, bytes]:
    """The code, message and serialized `google.rpc.Status` for an error."""
    code = REASON_CODES[error.reason]
    message = clip(error.message, MAX_MESSAGE_BYTES)
    metadata = {key: clip(value, MAX_METADATA_VALUE_BYTES) for key, value in error.metadata.items()}
    details = [
        _pack(
            error_details_pb2.ErrorInfo(reason=error.reason.value, domain=DOMAIN, metadata=metadata)
        )
    ]
    if error.field_violations:
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=clip(f, MAX_VIOLATION_BYTES),
                            description=clip(d, MAX_VIOLATION_BYTES),
                        )
                        for f, d in error.field_violations[:MAX_FIELD_VIOLATIONS]
                    ]
                )
            )
        )
    if error.retry_after_seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromTimedelta(timedelta(seconds=error.retry_after_seconds))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=code.value[0], message=message, details=details)
    return code, message, status.SerializeToString()
