"""Who is speaking: the user and the other speaker, as facts name them, and the speakers
that labels at the start of lines name ("Maria: ...").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from recallr_server.engine.conversation import ROLE_LABELS, ChatMessage, utterances

USER_KEY = "user"
_USER_ROLE_LABELS = frozenset({"user", "me", "human"})


@dataclass(frozen=True, slots=True)
class Party:
    label: str  # as written in facts, lower-case initial unless it is a name
    key: str | None
    is_person: bool
    # The AI assistant the user talks to, named or not (not a person in a transcript).
    is_assistant: bool = False

    @property
    def possessive(self) -> str:
        return f"{self.label}'s"

    @property
    def named(self) -> bool:
        return self.label[:1].isupper()


@dataclass(frozen=True, slots=True)
class NameIndex:
    """Recognises the speakers' names, and their short forms, where they are addressed."""

    user: Party
    assistant: Party
    others: tuple[Party, ...] = ()

    @property
    def parties(self) -> tuple[Party, ...]:
        return (self.user, self.assistant, *self.others)

    def party(self, name: str) -> Party | None:
        """The speaker called `name`, when a speaker has a name."""
        return next(
            (
                party
                for party in self.parties
                if party.key is not None and party.label.lower() == name.lower()
            ),
            None,
        )

    def is_vocative(self, name: str) -> bool:
        lowered = name.lower()
        return any(
            party.is_person
            and party.named
            and len(lowered) >= 3
            and party.label.lower().startswith(lowered)
            for party in self.parties
        )


@dataclass(frozen=True, slots=True)
class Turn:
    """What one speaker said in one message, without the label that named them."""

    message_id: str
    speaker: Party
    listener: Party
    text: str


@dataclass
class Cast:
    """The parties labels name, fixed by the first labels seen in each role.

    A conversation read in parts carries its cast from one part to the next, so that a
    speaker keeps the name an earlier part gave them.
    """

    user_label: str | None
    other_label: str | None
    # The metadata names the other speaker: a person, not an AI.
    other_named: bool = False
    others: dict[str, Party] = field(default_factory=dict)

    @classmethod
    def named(cls, user_name: str | None, assistant_name: str | None) -> Cast:
        """The cast before any label is read: the names the metadata gives."""
        return cls(user_name, assistant_name, other_named=assistant_name is not None)

    def role_of(self, label: str, role: str) -> str:
        """ "user", "assistant" or the label of a third speaker."""
        lowered = label.lower()
        if lowered in ROLE_LABELS:
            return "user" if lowered in _USER_ROLE_LABELS else "assistant"
        for known, name in ((self.user_label, "user"), (self.other_label, "assistant")):
            if known is not None and _same_name(known, label):
                return name
        if role == "user" and self.user_label is None:
            self.user_label = label
            return "user"
        if role == "assistant" and self.other_label is None:
            self.other_label = label
            return "assistant"
        self.others.setdefault(label, Party(label=label, key=label, is_person=True))
        return label


def _same_name(known: str, label: str) -> bool:
    """ "Maria" labels Maria; so does "Maria Lopez" once "Maria" is known, and vice versa."""
    first, other = known.lower().split(), label.lower().split()
    return first == other or first[0] == other[0]


def cast_turns(messages: Sequence[ChatMessage], cast: Cast) -> tuple[list[Turn], NameIndex]:
    """The conversation as turns of named parties.

    A label at the start of a line ("Maria: ...") names who speaks: the user's name when
    metadata gives none (the first label in the user's messages), the other side as a
    person when metadata names neither (the first label in the assistant's messages), and
    any further speaker as a person of their own. The label never stays in the text.
    `cast` learns the labels read here.
    """
    labelled = [
        (message, part.label and cast.role_of(part.label, message.role), part.text)
        for message in messages
        for part in utterances(message.content)
    ]
    user = Party(label=cast.user_label or "the user", key=USER_KEY, is_person=True)
    other = (
        Party(
            label=cast.other_label,
            key=cast.other_label,
            is_person=True,
            is_assistant=cast.other_named,
        )
        if cast.other_label
        else Party(label="the assistant", key=None, is_person=False, is_assistant=True)
    )
    names = NameIndex(user, other, tuple(cast.others.values()))
    turns = []
    for message, role, text in labelled:
        speaker = {"user": user, "assistant": other}.get(role or message.role)
        if speaker is None:
            speaker = cast.others[role or ""]
        listener = other if speaker is user else user
        turns.append(Turn(message.message_id, speaker, listener, text))
    return turns, names


def speaker_names(messages: Sequence[ChatMessage], cast: Cast) -> tuple[str | None, str | None]:
    """The user's name and the other speaker's: metadata's, else the labels' as
    `cast_turns` reads them ("Melanie: ..." in the user's messages names the user).

    Either is None when neither names that speaker. `cast` learns the labels read here.
    """
    _, names = cast_turns(messages, cast)
    other = names.assistant
    return (
        names.user.label if names.user.named else None,
        other.label if other.key is not None else None,
    )
