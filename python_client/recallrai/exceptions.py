"""The exceptions the RecallrAI client raises, one hierarchy under ``RecallrAIError``.

Errors from the server carry the gRPC status code, the machine-readable reason
(``google.rpc.ErrorInfo.reason``, such as "USER_NOT_FOUND") and its metadata.
Errors the client detects before any call have no code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc

__all__ = [
    "AuthenticationError",
    "CategoryAlreadyExistsError",
    "CategoryError",
    "CategoryNotFoundError",
    "ConnectionError",
    "InternalServerError",
    "InvalidCategoriesError",
    "InvalidSessionStateError",
    "MemoryNotFoundError",
    "MergeConflictAlreadyResolvedError",
    "MergeConflictError",
    "MergeConflictInvalidAnswerError",
    "MergeConflictInvalidQuestionsError",
    "MergeConflictMissingAnswersError",
    "MergeConflictNotFoundError",
    "NetworkError",
    "RateLimitError",
    "RecallrAIError",
    "RecallrMemoryError",
    "ServerError",
    "SessionError",
    "SessionNotFoundError",
    "TimeoutError",
    "UnimplementedError",
    "UserAlreadyExistsError",
    "UserError",
    "UserNotFoundError",
    "ValidationError",
]


class RecallrAIError(Exception):
    """Base of every error the client raises."""

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.metadata: dict[str, str] = dict(metadata or {})

    def __str__(self) -> str:
        tags = [tag for tag in (self.code.name if self.code else None, self.reason) if tag]
        return f"{self.message} [{' '.join(tags)}]" if tags else self.message


class AuthenticationError(RecallrAIError):
    """The API key or project id is missing, unknown or revoked."""


class NetworkError(RecallrAIError):
    """The server could not be reached in time."""


class TimeoutError(NetworkError):
    """The call's deadline passed before the server answered."""


class ConnectionError(NetworkError):
    """The server is unreachable or temporarily unavailable."""


class ServerError(RecallrAIError):
    """The server failed to carry out a valid request."""


class InternalServerError(ServerError):
    """An unexpected failure inside the server."""


class RateLimitError(ServerError):
    """The project's request quota is spent for now."""

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, reason=reason, metadata=metadata)
        self.retry_after = retry_after
        """Seconds to wait before retrying, when the server said."""


class UnimplementedError(ServerError):
    """The method is part of the API but this server does not implement it."""


class UserError(RecallrAIError):
    """A user-related failure."""


class UserNotFoundError(UserError):
    """No user with this id exists in the project."""


class UserAlreadyExistsError(UserError):
    """Another user of the project already has this id."""


class InvalidCategoriesError(UserError):
    """One or more categories are not in the project's vocabulary."""

    @property
    def invalid_categories(self) -> list[str]:
        """The categories the project does not have."""
        return _split(self.metadata.get("invalid_categories", ""), ",")


class SessionError(RecallrAIError):
    """A session-related failure."""


class SessionNotFoundError(SessionError):
    """No session with this id exists for the user."""


class InvalidSessionStateError(SessionError):
    """The session's status does not allow the call."""


class RecallrMemoryError(RecallrAIError):
    """A memory-related failure (named so as not to shadow the builtin ``MemoryError``)."""


class MemoryNotFoundError(RecallrMemoryError):
    """No memory with this id exists for the user."""


class CategoryError(RecallrAIError):
    """A category-related failure."""


class CategoryNotFoundError(CategoryError):
    """No category with this name exists in the project."""


class CategoryAlreadyExistsError(CategoryError):
    """The project already has a category with this name."""


class MergeConflictError(RecallrAIError):
    """A merge-conflict-related failure."""


class MergeConflictNotFoundError(MergeConflictError):
    """No merge conflict with this id exists for the user."""


class MergeConflictAlreadyResolvedError(MergeConflictError):
    """The merge conflict is no longer pending."""


class MergeConflictInvalidQuestionsError(MergeConflictError):
    """An answer names a question the merge conflict does not ask."""

    @property
    def invalid_questions(self) -> list[str]:
        """The questions the conflict does not ask."""
        return _split(self.metadata.get("invalid_questions", ""), "\n")


class MergeConflictMissingAnswersError(MergeConflictError):
    """A question of the merge conflict has no answer."""

    @property
    def missing_questions(self) -> list[str]:
        """The questions left unanswered."""
        return _split(self.metadata.get("missing_questions", ""), "\n")


class MergeConflictInvalidAnswerError(MergeConflictError):
    """An answer is not one of its question's options."""


class ValidationError(RecallrAIError, ValueError):
    """A request argument is invalid, detected by the client or by the server."""

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        field_violations: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message, code=code, reason=reason, metadata=metadata)
        self.field_violations = list(field_violations)
        """(field, description) pairs, one per invalid field, when known."""


def _split(joined: str, separator: str) -> list[str]:
    return [part for part in joined.split(separator) if part]
