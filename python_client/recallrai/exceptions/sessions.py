"""Session failures."""

from __future__ import annotations

from recallrai.exceptions.base import RecallrAIError


class SessionError(RecallrAIError):
    """A session-related failure."""


class InvalidSessionStateError(SessionError):
    """The session's status does not allow the call."""


class SessionFullError(SessionError):
    """The session holds as many messages as the server allows; start a new session.

    ``metadata["max_messages"]`` is the server's limit.
    """


class SessionNotFoundError(SessionError):
    """No session with this id exists for the user."""
