"""User failures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc

from recallrai.exceptions.base import RecallrAIError


class UserError(RecallrAIError):
    """A user-related failure."""


class UserNotFoundError(UserError):
    """No user with this id exists in the project."""


class UserAlreadyExistsError(UserError):
    """Another user of the project already has this id."""


class InvalidCategoriesError(UserError):
    """One or more categories are not in the project's vocabulary."""

    def __init__(
        self,
        message: str,
        http_status: int,
        invalid_categories: Sequence[str],
        *,
        code: grpc.StatusCode | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, http_status, code=code, reason=reason, metadata=metadata)
        self.invalid_categories = list(invalid_categories)
        """The categories the project does not have."""
