"""Failures of the server to carry out a valid request."""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from recallrai.exceptions.base import RecallrAIError


class ServerError(RecallrAIError):
    """The server failed to carry out a valid request."""


class InternalServerError(ServerError):
    """An unexpected failure inside the server."""


class RateLimitError(ServerError):
    """The project's request quota is spent for now."""

    def __init__(
        self,
        message: str,
        http_status: int,
        *,
        code: grpc.StatusCode | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, http_status, code=code, reason=reason, metadata=metadata)
        self.retry_after = retry_after
        """Seconds to wait before retrying, when the server said."""


class UnimplementedError(ServerError):
    """The method is part of the API but this server does not implement it."""
