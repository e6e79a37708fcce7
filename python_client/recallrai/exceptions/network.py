"""Failures to reach the server in time.

Neither class is a subclass of the builtin exception of the same name, as in the
official SDK.
"""

from __future__ import annotations

from recallrai.exceptions.base import RecallrAIError


class NetworkError(RecallrAIError):
    """The server could not be reached in time."""


class TimeoutError(NetworkError):
    """The call's deadline passed before the server answered."""


class ConnectionError(NetworkError):
    """The server is unreachable or temporarily unavailable."""
