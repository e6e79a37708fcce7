"""Invalid request arguments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc

from recallrai.exceptions.base import RecallrAIError


class ValidationError(RecallrAIError, ValueError):
    """A request argument is invalid, detected by the client or by the server."""

    def __init__(
        self,
        message: str,
        http_status: int,
        *,
        code: grpc.StatusCode | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        field_violations: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message, http_status, code=code, reason=reason, metadata=metadata)
        self.field_violations = list(field_violations)
        """(field, description) pairs, one per invalid field, when known."""
