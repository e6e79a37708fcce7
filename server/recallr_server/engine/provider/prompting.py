"""What every prompt of the engine shares: the shape of its JSON schemas, and how a
conversation and the time are written for a model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.provider.llm import JsonObject

# Constrained decoders honour `pattern`, and the validator checks it for the others.
TEXT: JsonObject = {"type": "string", "pattern": r"\S"}


def json_object(**properties: JsonObject) -> JsonObject:
    # OpenAI's strict mode wants every property required and no others allowed.
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def transcript(
    messages: Sequence[ChatMessage], user_name: str | None = None, other_name: str | None = None
) -> str:
    names = {"user": user_name, "assistant": other_name}
    lines = []
    for index, message in enumerate(messages, 1):
        name = names[message.role]
        speaker = f"{message.role} ({name})" if name else message.role
        lines.append(f"[m{index}] {speaker}: {message.content}")
    return "\n".join(lines)


def utc_moment(now: datetime) -> str:
    utc = now.astimezone(UTC)
    return f"{utc:%A} {utc.day} {utc:%B %Y}, {utc:%H:%M} UTC ({utc.isoformat()})"


def require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
