"""Merge conflicts: new facts held back until their clarifying questions are answered."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


class MergeConflictStatus(enum.StrEnum):
    """Where a merge conflict is in its lifecycle."""

    PENDING = "PENDING"
    IN_QUEUE = "IN_QUEUE"
    RESOLVING = "RESOLVING"
    RESOLVED = "RESOLVED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeConflictConflictingMemory:
    """An existing memory a merge conflict concerns, and why.

    The event dates are None when the conversation gave none; all three are None for a
    memory deleted since the conflict was raised.
    """

    memory_id: str
    content: str
    reason: str
    event_date_start: datetime | None
    event_date_end: datetime | None
    created_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeConflictQuestion:
    """One question that settles part of a merge conflict, with its allowed answers."""

    question: str
    options: list[str]


@dataclass(frozen=True, slots=True)
class MergeConflictAnswer:
    """The answer to one clarifying question: one of its options, with optional free text."""

    question: str
    answer: str
    message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeConflictNewMemory:
    """A memory version a merge conflict's resolution created."""

    memory_id: str
    content: str
    event_date_start: datetime | None
    event_date_end: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeConflictList(Generic[T]):
    """A page of merge conflicts."""

    conflicts: list[T]
    total: int
    has_more: bool
