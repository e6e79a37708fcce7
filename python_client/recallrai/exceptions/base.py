"""The base of every exception the client raises."""

from __future__ import annotations

from collections.abc import Mapping

import grpc


class RecallrAIError(Exception):
    """Base of every error the client raises.

    ``http_status`` is the status Recallr's HTTP API answers for the same failure
    (as the official SDK reports it), or 0 when no server answered. Errors from the
    server also carry the gRPC status ``code``, the machine-readable ``reason``
    (``google.rpc.ErrorInfo.reason``, such as "USER_NOT_FOUND") and its
    ``metadata``; errors the client detects before any call have no code.
    """

    def __init__(
        self,
        message: str,
        http_status: int,
        *,
        code: grpc.StatusCode | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.reason = reason
        self.metadata: dict[str, str] = dict(metadata or {})

    def __str__(self) -> str:
        tags = [tag for tag in (self.code.name if self.code else None, self.reason) if tag]
        return f"{self.message} [{' '.join(tags)}]" if tags else self.message
