"""Who speaks in a conversation, as the application names them."""

from __future__ import annotations

from typing import Any

USER_NAME_KEY = "name"
ASSISTANT_NAME_KEY = "assistant_name"


def speaker_name(metadata: dict[str, Any], key: str) -> str | None:
    """Speaker names come from metadata: the user's "name", the session's "assistant_name"."""
    value = metadata.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None
