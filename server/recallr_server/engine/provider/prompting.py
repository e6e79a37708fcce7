"""What every prompt of the engine shares: the shape of its JSON schemas, and how a
conversation and the time are written for a model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.provider.llm import JsonObject

# Text with something besides whitespace in it. Constrained decoders honour `pattern`, and
# the validator checks it for the others. llama.cpp's schema-to-grammar converters match a
# pattern against the whole JSON spelling of the string and copy its classes into the
# grammar, where `\s` or `\S` make llama-cpp-python 0.3's server abort: hence the anchors,
# the explicit classes, and the escapes kept whole (`_CHAR` is one character as JSON spells it).
_CHAR = r'([^"\\\x00-\x1f]|\\.)'
TEXT: JsonObject = {"type": "string", "pattern": rf'^{_CHAR}*[^"\\\x00-\x20]{_CHAR}*$'}


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
