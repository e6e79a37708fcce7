"""Enums and value types of the RecallrAI client.

Enums are string enums with lowercase values, so they print, compare and format
like the strings the documented SDK shows (``msg.role.upper()`` reads "USER").
Every datetime is timezone-aware UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, TypeVar

__all__ = [
    "UNAVAILABLE",
    "Category",
    "ClarifyingQuestion",
    "ConflictingMemory",
    "Context",
    "ContextStatusUpdate",
    "DateRange",
    "ExpirationReason",
    "MemoryList",
    "MemoryRelationship",
    "MemoryVersionInfo",
    "MergeConflictAnswer",
    "MergeConflictList",
    "MergeConflictStatus",
    "Message",
    "MessageList",
    "MessageRole",
    "RecallStrategy",
    "SessionList",
    "SessionStatus",
    "Unavailable",
    "UserList",
    "UserMemoryItem",
]


class MessageRole(enum.StrEnum):
    """Who wrote a message."""

    USER = "user"
    ASSISTANT = "assistant"


class SessionStatus(enum.StrEnum):
    """Where a session is in its processing lifecycle."""

    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


class MergeConflictStatus(enum.StrEnum):
    """Where a merge conflict is in its lifecycle."""

    PENDING = "pending"
    IN_QUEUE = "in_queue"
    RESOLVING = "resolving"
    RESOLVED = "resolved"
    FAILED = "failed"


class RecallStrategy(enum.StrEnum):
    """How much work context recall may do."""

    LOW_LATENCY = "low_latency"
    BALANCED = "balanced"
    AGENTIC = "agentic"
    AUTO = "auto"


class ExpirationReason(enum.StrEnum):
    """Why a memory version was superseded by a newer one."""

    MERGE_CONFLICT = "merge_conflict"
    ADDITION_TO_EXISTING_MEMORY = "addition_to_existing_memory"
    TEMPORAL_CONFLICT = "temporal_conflict"


class Unavailable(enum.Enum):
    """The type of ``UNAVAILABLE``.

    An enum with one member is the idiom that lets type checkers narrow
    ``value is UNAVAILABLE`` away.
    """

    UNAVAILABLE = "UNAVAILABLE"

    def __repr__(self) -> str:
        return "UNAVAILABLE"

    def __str__(self) -> str:
        return "UNAVAILABLE"


UNAVAILABLE: Final = Unavailable.UNAVAILABLE
"""What a field reads when the object was built without a lookup (``validate=False``)."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a session."""

    message_id: str
    session_id: str
    role: MessageRole
    content: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class MessageList:
    """A page of messages."""

    messages: list[Message]
    total: int
    has_more: bool


@dataclass(frozen=True, slots=True)
class MemoryVersionInfo:
    """An older version of a memory, as listed on a newer one."""

    memory_id: str
    version_number: int
    content: str
    event_date_start: datetime | None
    event_date_end: datetime | None
    created_at: datetime
    expired_at: datetime | None
    expiration_reason: ExpirationReason | None
    merge_conflict_id: str | None


@dataclass(frozen=True, slots=True)
class MemoryRelationship:
    """A related memory, as listed on another."""

    memory_id: str
    content: str


@dataclass(frozen=True, slots=True)
class UserMemoryItem:
    """One version of a discrete fact about a user."""

    memory_id: str
    categories: list[str]
    content: str
    event_date_start: datetime | None
    event_date_end: datetime | None
    created_at: datetime
    expired_at: datetime | None
    expiration_reason: ExpirationReason | None
    session_id: str
    version_number: int
    total_versions: int
    has_previous_versions: bool
    previous_versions: list[MemoryVersionInfo]
    connected_memories: list[MemoryRelationship]
    merge_conflict_in_progress: bool
    merge_conflict_id: str | None
    source_message_ids: list[str]


@dataclass(frozen=True, slots=True)
class MemoryList:
    """A page of memories."""

    items: list[UserMemoryItem]
    total: int
    has_more: bool


@dataclass(frozen=True, slots=True)
class ConflictingMemory:
    """An existing memory a merge conflict concerns, and why."""

    memory_id: str
    content: str
    reason: str


@dataclass(frozen=True, slots=True)
class ClarifyingQuestion:
    """One question that settles part of a merge conflict, with its allowed answers."""

    question: str
    options: list[str]


@dataclass(frozen=True, slots=True)
class MergeConflictAnswer:
    """The answer to one clarifying question: one of its options, with optional free text."""

    question: str
    answer: str
    message: str | None = None


@dataclass(frozen=True, slots=True)
class UserList(Generic[T]):
    """A page of users."""

    users: list[T]
    total: int
    has_more: bool


@dataclass(frozen=True, slots=True)
class SessionList(Generic[T]):
    """A page of sessions."""

    sessions: list[T]
    total: int
    has_more: bool


@dataclass(frozen=True, slots=True)
class MergeConflictList(Generic[T]):
    """A page of merge conflicts."""

    conflicts: list[T]
    total: int
    has_more: bool


@dataclass(frozen=True, slots=True)
class DateRange:
    """A half-open interval of event time understood from a query."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True, slots=True)
class Context:
    """The text to put in the next prompt, with what produced it.

    The id lists are filled only when ``include_metadata_ids`` was requested.
    """

    context: str
    recall_strategy_used: RecallStrategy
    memory_ids: list[str]
    session_ids: list[str]
    message_ids: list[str]
    queries: list[str]
    keywords: list[str]
    date_filters: list[DateRange]


@dataclass(frozen=True, slots=True)
class ContextStatusUpdate:
    """One step of a streamed context recall."""

    step: str
    message: str


@dataclass(frozen=True, slots=True)
class Category:
    """One term of the project's memory vocabulary."""

    name: str
    description: str
