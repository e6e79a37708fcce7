"""A conversation as the engine reads it, whether to extract facts or to recall for it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a conversation, as stored."""

    message_id: str
    role: Literal["user", "assistant"]
    content: str


# A label is one to three capitalised words ("Maria", "Dr. Okafor", "Mary Ann") before a
# colon at the start of a line, as exported chat logs and call transcripts write speakers.
_LABEL = re.compile(
    r"^[ \t]*(?P<label>[A-Z][\w'.\-]*(?:[ \t]+[A-Z][\w'.\-]*){0,2})[ \t]*:[ \t]+(?P<body>\S.*)$"
)
# Words that open a line with a colon without naming who speaks.
_NOT_SPEAKERS = frozenset(
    {
        "also", "answer", "btw", "edit", "example", "fyi", "important", "ingredients", "note",
        "p.s.", "ps", "q", "a", "question", "re", "reminder", "step", "subject", "summary",
        "tip", "todo", "update", "warning", "result", "results", "day", "week", "option",
        "pros", "cons", "breakfast", "lunch", "dinner", "monday", "tuesday", "wednesday",
        "thursday", "friday", "saturday", "sunday", "source", "link", "status", "goal",
    }
)  # fmt: skip
# Labels that name a role rather than a person.
ROLE_LABELS = frozenset({"user", "assistant", "ai", "bot", "human", "system", "me", "you"})


@dataclass(frozen=True, slots=True)
class Utterance:
    """A stretch of a message said by one speaker: `label` names them when the text does."""

    label: str | None
    text: str


def utterances(content: str) -> list[Utterance]:
    """The message split where lines start with a speaker label ("Maria: ...").

    Text before the first label, and every line of a message without labels, belongs to
    the message's own speaker (`label` None). A label is never part of the text.
    """
    parts: list[Utterance] = []
    label: str | None = None
    lines: list[str] = []
    for line in content.splitlines():
        match = _LABEL.match(line)
        if match and match["label"].lower() not in _NOT_SPEAKERS:
            if lines:
                parts.append(Utterance(label, "\n".join(lines).strip()))
            label, lines = match["label"], [match["body"]]
        else:
            lines.append(line)
    if lines and "\n".join(lines).strip():
        parts.append(Utterance(label, "\n".join(lines).strip()))
    return [part for part in parts if part.text]
