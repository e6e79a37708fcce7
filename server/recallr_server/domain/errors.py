"""Domain errors. Each carries one `Reason`, named as in the contract's ErrorReason enum.

The API layers turn them into their transport's status (gRPC code plus
`google.rpc.ErrorInfo`, or an HTTP status); nothing here knows about either.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence


class Reason(enum.StrEnum):
    """Why a call failed. The value is the wire name: ErrorReason without its prefix."""

    AUTHENTICATION_REQUIRED = "AUTHENTICATION_REQUIRED"
    INVALID_API_KEY = "INVALID_API_KEY"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    MALFORMED_REQUEST = "MALFORMED_REQUEST"
    INVALID_PAGE_TOKEN = "INVALID_PAGE_TOKEN"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    USER_ALREADY_EXISTS = "USER_ALREADY_EXISTS"
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    INVALID_SESSION_STATE = "INVALID_SESSION_STATE"
    SESSION_FULL = "SESSION_FULL"
    MEMORY_NOT_FOUND = "MEMORY_NOT_FOUND"
    INVALID_CATEGORIES = "INVALID_CATEGORIES"
    CATEGORY_NOT_FOUND = "CATEGORY_NOT_FOUND"
    CATEGORY_ALREADY_EXISTS = "CATEGORY_ALREADY_EXISTS"
    MERGE_CONFLICT_NOT_FOUND = "MERGE_CONFLICT_NOT_FOUND"
    MERGE_CONFLICT_ALREADY_RESOLVED = "MERGE_CONFLICT_ALREADY_RESOLVED"
    MERGE_CONFLICT_INVALID_QUESTIONS = "MERGE_CONFLICT_INVALID_QUESTIONS"
    MERGE_CONFLICT_MISSING_ANSWERS = "MERGE_CONFLICT_MISSING_ANSWERS"
    MERGE_CONFLICT_INVALID_ANSWER = "MERGE_CONFLICT_INVALID_ANSWER"
    RATE_LIMITED = "RATE_LIMITED"
    NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL = "INTERNAL"


class DomainError(Exception):
    def __init__(
        self,
        reason: Reason,
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
            Reason.VALIDATION_FAILED,
            f"invalid request: {message}",
            metadata={"field": field},
            field_violations=violations,
        )


class WriteConflict(Exception):
    """A write collided with one another transaction committed first, on a unique key.

    The store raises it for the database's integrity error; the use case that wrote
    decides what it means. Not a DomainError: one that escapes is an internal error.
    """


def not_found(reason: Reason, key: str, value: str, noun: str) -> DomainError:
    return DomainError(reason, f"{noun} {value!r} not found", metadata={key: value})


def user_not_found(user_id: str) -> DomainError:
    return not_found(Reason.USER_NOT_FOUND, "user_id", user_id, "user")


def session_not_found(session_id: str) -> DomainError:
    return not_found(Reason.SESSION_NOT_FOUND, "session_id", session_id, "session")


def memory_not_found(memory_id: str) -> DomainError:
    return not_found(Reason.MEMORY_NOT_FOUND, "memory_id", memory_id, "memory")


def merge_conflict_not_found(conflict_id: str) -> DomainError:
    return not_found(
        Reason.MERGE_CONFLICT_NOT_FOUND, "merge_conflict_id", conflict_id, "merge conflict"
    )
