"""A conversation as the engine reads it, whether to extract facts or to recall for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a conversation, as stored."""

    message_id: str
    role: Literal["user", "assistant"]
    content: str
