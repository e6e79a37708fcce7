"""Who is speaking: the user and the other speaker, as facts name them."""

from __future__ import annotations

from dataclasses import dataclass

USER_KEY = "user"


@dataclass(frozen=True, slots=True)
class Party:
    label: str  # as written in facts, lower-case initial unless it is a name
    key: str | None
    is_person: bool

    @property
    def possessive(self) -> str:
        return f"{self.label}'s"


@dataclass(frozen=True, slots=True)
class NameIndex:
    """Recognises the speakers' names, and their short forms, where they are addressed."""

    user: Party
    assistant: Party

    def party(self, name: str) -> Party | None:
        """The speaker called `name`, when a speaker has a name."""
        return next(
            (
                party
                for party in (self.user, self.assistant)
                if party.key is not None and party.label.lower() == name.lower()
            ),
            None,
        )

    def is_vocative(self, name: str) -> bool:
        lowered = name.lower()
        return any(
            party.is_person
            and party.label[:1].isupper()
            and len(lowered) >= 3
            and party.label.lower().startswith(lowered)
            for party in (self.user, self.assistant)
        )
