"""Domain errors. Each carries one reason from the contract's ErrorReason enum.

The API layer turns them into a status code plus `google.rpc.ErrorInfo`;
nothing here knows about gRPC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from recallr.v1.error_reason_pb2 import ErrorReason

REASON_PREFIX = "ERROR_REASON_"


def reason_name(reason: ErrorReason.ValueType) -> str:
    """The wire form of a reason: the enum value name without its prefix."""
    return ErrorReason.Name(reason).removeprefix(REASON_PREFIX)


class DomainError(Exception):
    def __init__(
        self,
        reason: ErrorReason.ValueType,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        field_violations: Sequence[tuple[str, str]] = (),
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = dict(metadata or {})
        self.field_violations = list(field_violations)
        self.retry_after_seconds = retry_after_seconds


class ValidationFailed(DomainError):
    """One or more request fields are invalid; each is listed as a violation."""

    def __init__(self, violations: Sequence[tuple[str, str]]) -> None:
        assert violations
        field = violations[0][0]
        message = "; ".join(f"{f}: {d}" for f, d in violations)
        super().__init__(
            ErrorReason.ERROR_REASON_VALIDATION_FAILED,
            f"invalid request: {message}",
            metadata={"field": field},
            field_violations=violations,
        )


def not_found(reason: ErrorReason.ValueType, key: str, value: str, noun: str) -> DomainError:
    return DomainError(reason, f"{noun} {value!r} not found", metadata={key: value})


def user_not_found(user_id: str) -> DomainError:
    return not_found(ErrorReason.ERROR_REASON_USER_NOT_FOUND, "user_id", user_id, "user")


def session_not_found(session_id: str) -> DomainError:
    return not_found(
        ErrorReason.ERROR_REASON_SESSION_NOT_FOUND, "session_id", session_id, "session"
    )


def memory_not_found(memory_id: str) -> DomainError:
    return not_found(ErrorReason.ERROR_REASON_MEMORY_NOT_FOUND, "memory_id", memory_id, "memory")


def merge_conflict_not_found(conflict_id: str) -> DomainError:
    return not_found(
        ErrorReason.ERROR_REASON_MERGE_CONFLICT_NOT_FOUND,
        "merge_conflict_id",
        conflict_id,
        "merge conflict",
    )
