"""Memory failures (a Recallr addition: the official SDK reports them as RecallrAIError)."""

from __future__ import annotations

from recallrai.exceptions.base import RecallrAIError


class RecallrMemoryError(RecallrAIError):
    """A memory-related failure (named so as not to shadow the builtin ``MemoryError``)."""


class MemoryNotFoundError(RecallrMemoryError):
    """No memory with this id exists for the user."""
