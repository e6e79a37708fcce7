"""Reads LoCoMo conversations from ../shared/data (never copied into the project)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo-dev.json"
# Two of the five conversations are held out of all tuning and fitting, so that their
# figures say how well the ranking generalises. Chosen before any run was inspected, by
# a rule that looks at nothing but the ids: the two smallest SHA-256 digests of the
# sample ids. Never look at holdout failures; only report their figures.
HOLDOUT = frozenset({"conv-26", "conv-41"})
SPLITS = ("tune", "holdout", "all")
_SESSION_KEY = re.compile(r"^session_(\d+)$")


@dataclass(frozen=True)
class Turn:
    dia_id: str
    speaker: str
    text: str


@dataclass(frozen=True)
class LocomoSession:
    number: int
    time: datetime
    turns: list[Turn]


@dataclass(frozen=True)
class Conversation:
    sample_id: str
    speaker_a: str
    speaker_b: str
    sessions: list[LocomoSession]
    qa: list[dict[str, Any]]


@dataclass(frozen=True)
class Transcript:
    """How an application sends a conversation to Recallr.

    Plain: speaker A is the user, named in the user's metadata; speaker B the assistant,
    named in each session's metadata; messages are the bare turns. Labelled: the same
    roles, no names in any metadata, and every message starts with its speaker
    ("Caroline: ..."), as exported chats and call transcripts are written. The two are
    ingested as different users, so one database holds both.
    """

    labelled: bool

    def user_id(self, conversation: Conversation) -> str:
        return f"{conversation.sample_id}-labelled" if self.labelled else conversation.sample_id

    def user_metadata(self, conversation: Conversation) -> dict[str, Any]:
        return {} if self.labelled else {"name": conversation.speaker_a}

    def session_metadata(self, conversation: Conversation) -> dict[str, Any]:
        return {} if self.labelled else {"assistant_name": conversation.speaker_b}

    def content(self, turn: Turn) -> str:
        return f"{turn.speaker}: {turn.text}" if self.labelled else turn.text


PLAIN = Transcript(labelled=False)
LABELLED = Transcript(labelled=True)


def parse_time(text: str) -> datetime:
    """LoCoMo writes times like '1:56 pm on 8 May, 2023'; taken as UTC."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def turn_text(turn: dict[str, Any]) -> str:
    # Shared images are part of what was said; their captions carry the content.
    if turn.get("blip_caption"):
        return f"{turn['text']} [shares a photo: {turn['blip_caption']}]"
    return str(turn["text"])


def in_split(sample_id: str, split: str) -> bool:
    """Whether a conversation belongs to `split`: "tune", "holdout" or "all"."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; one of {', '.join(SPLITS)}")
    return split == "all" or (sample_id in HOLDOUT) == (split == "holdout")


def conversations(path: Path = DATA, split: str = "all") -> Iterator[Conversation]:
    for raw in json.loads(path.read_text()):
        if not in_split(raw["sample_id"], split):
            continue
        conversation = raw["conversation"]
        sessions = []
        for key, turns in conversation.items():
            match = _SESSION_KEY.match(key)
            # Some conversations list dates for sessions they do not contain.
            if match is None or not turns:
                continue
            number = int(match.group(1))
            sessions.append(
                LocomoSession(
                    number,
                    parse_time(conversation[f"{key}_date_time"]),
                    [Turn(t["dia_id"], t["speaker"], turn_text(t)) for t in turns],
                )
            )
        sessions.sort(key=lambda s: s.number)
        yield Conversation(
            raw["sample_id"],
            conversation["speaker_a"],
            conversation["speaker_b"],
            sessions,
            raw["qa"],
        )
