"""The product's records as use cases take and return them: plain, typed, immutable.

The store builds them from its rows and the API layers turn them into their wire
messages; neither rows nor messages cross into the domain.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recallr_server.domain.validation import JsonScalar


class SessionStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


class MessageRole(enum.StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


class ExpirationReason(enum.StrEnum):
    MERGE_CONFLICT = "merge_conflict"
    ADDITION_TO_EXISTING_MEMORY = "addition_to_existing_memory"
    TEMPORAL_CONFLICT = "temporal_conflict"


class MergeConflictStatus(enum.StrEnum):
    PENDING = "pending"
    IN_QUEUE = "in_queue"
    RESOLVING = "resolving"
    RESOLVED = "resolved"
    FAILED = "failed"


@dataclass(frozen=True)
class User:
    """An end user. `pk` is the internal key, which a rename leaves alone."""

    pk: str
    user_id: str
    metadata: dict[str, Any]
    merge_conflict_enabled: bool | None
    created_at: datetime
    last_active_at: datetime


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    status: SessionStatus
    metadata: dict[str, Any]
    created_at: datetime
    auto_process_after_seconds: int
    failure_reason: str
    last_message_at: datetime | None


@dataclass(frozen=True)
class Message:
    id: str
    session_id: str
    role: MessageRole
    content: str
    created_at: datetime


@dataclass(frozen=True)
class MessageBatch:
    """Messages in the order they committed; `last_seq` is the last one's, None for none."""

    messages: list[Message]
    last_seq: int | None


@dataclass(frozen=True)
class MemoryVersion:
    """One stored version of a memory; the versions of one fact share `chain_id`."""

    id: str
    chain_id: str
    chain_seq: int
    session_id: str | None
    content: str
    event_start_at: datetime | None
    event_end_at: datetime | None
    created_at: datetime
    expired_at: datetime | None
    expiration_reason: ExpirationReason | None
    merge_conflict_id: str | None
    source_message_ids: tuple[str, ...]


@dataclass(frozen=True)
class ConnectedMemory:
    memory_id: str
    content: str


@dataclass(frozen=True)
class MemoryDetails:
    """What showing a set of memory versions needs besides the versions, loaded together.

    Keyed by chain id (`chains`, oldest version first, and `connected`) or by memory id
    (`categories`); `in_conflict` holds the ids of memories an open merge conflict names.
    """

    chains: dict[str, list[MemoryVersion]]
    categories: dict[str, list[str]]
    connected: dict[str, list[ConnectedMemory]]
    in_conflict: set[str]


@dataclass(frozen=True)
class Memory:
    """A memory version as the product shows it: numbered within its chain."""

    version: MemoryVersion
    user_id: str
    categories: list[str]
    version_number: int
    total_versions: int
    # Oldest first, so the version number of each is its position plus one.
    previous_versions: list[MemoryVersion]
    connected: list[ConnectedMemory]
    merge_conflict_in_progress: bool
    source_message_ids: list[str]

    @property
    def has_previous_versions(self) -> bool:
        return self.version_number > 1


@dataclass(frozen=True)
class MemoryQuery:
    """Which current memories a listing shows; None means "no filter" for each."""

    categories: list[str] | None
    session_ids: list[str] | None
    session_metadata: dict[str, JsonScalar]


@dataclass(frozen=True)
class ConflictingMemory:
    """An existing memory a conflict names; its dates are filled in when it is shown."""

    memory_id: str
    content: str
    reason: str
    # None while not looked up, and for a memory deleted since the conflict was raised.
    event_start_at: datetime | None = None
    event_end_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ClarifyingQuestion:
    question: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    message: str


@dataclass(frozen=True)
class MergeConflict:
    id: str
    user_id: str
    session_id: str | None
    status: MergeConflictStatus
    new_memory_content: str
    conflicting_memories: tuple[ConflictingMemory, ...]
    clarifying_questions: tuple[ClarifyingQuestion, ...]
    answers: tuple[Answer, ...]
    new_memory_ids: tuple[str, ...]
    created_at: datetime
    resolved_at: datetime | None
    failure_reason: str
    # The versions `new_memory_ids` name, filled in when the conflict is shown.
    new_memories: tuple[MemoryVersion, ...] = ()


class ConflictSortField(enum.Enum):
    CREATE_TIME = "create_time"
    RESOLVE_TIME = "resolve_time"


@dataclass(frozen=True)
class ConflictOrder:
    field: ConflictSortField
    ascending: bool


@dataclass(frozen=True)
class Category:
    name: str
    description: str


@dataclass(frozen=True)
class OwnedSession:
    """A session with its user, and the project the user belongs to."""

    project_id: str
    user: User
    session: Session


@dataclass(frozen=True)
class NewMessage:
    """A message AddMessage appends: its owner, and the request id that made it, if any."""

    user_pk: str
    message: Message
    request_id: str
