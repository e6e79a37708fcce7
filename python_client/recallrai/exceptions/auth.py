"""Authentication failures."""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from recallrai.exceptions.base import RecallrAIError


class AuthenticationError(RecallrAIError):
    """The API key or project id is missing, unknown or revoked."""

    def __init__(
        self,
        message: str = "Invalid API key or authentication failed.",
        http_status: int = 401,
        *,
        code: grpc.StatusCode | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, http_status, code=code, reason=reason, metadata=metadata)
