"""Who says a message, wherever the application wrote it down.

An application names the speakers either in metadata (the user's "name", a session's
"assistant_name") or in the text, as exported chats and call transcripts do ("Caroline:
I adopted a dog"). Recall treats both alike: a message's speakers are the names its
labels give, else the name metadata gives its role; the labels never count as the
message's words. So "What did Melanie adopt?" matches Melanie's turns however they came.
"""

from __future__ import annotations

from dataclasses import dataclass

from recallr_server.engine.conversation import ROLE_LABELS, utterances


@dataclass(frozen=True, slots=True)
class Spoken:
    # The names of who says it, in the order they speak; empty when nothing names them.
    speakers: tuple[str, ...]
    # What is said, without speaker labels.
    text: str


def spoken(content: str, role_speaker: str | None) -> Spoken:
    """A message's speakers and words; `role_speaker` names its role where no label does.

    Each stretch is said by the speaker its label names, or by the message's role when
    it has no label or a label that names a role ("User:", "Assistant:").
    """
    parts = utterances(content)
    if not any(part.label for part in parts):
        return Spoken((role_speaker,) if role_speaker else (), content)
    names = (
        part.label
        if part.label is not None and part.label.lower() not in ROLE_LABELS
        else role_speaker
        for part in parts
    )
    speakers = tuple(dict.fromkeys(name for name in names if name))
    return Spoken(speakers, "\n".join(part.text for part in parts))
