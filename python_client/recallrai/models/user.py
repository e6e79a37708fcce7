"""Users, their memories and their recent messages."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from recallrai.models.session import Message, MessageList

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class UserList(Generic[T]):
    """A page of users."""

    users: list[T]
    total: int
    has_more: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class UserDataCounts:
    """How many records of each kind a user's export holds (or an import wrote)."""

    sessions: int
    messages: int
    memories: int
    memory_links: int
    merge_conflicts: int
    session_summaries: int


class ExpirationReason(enum.StrEnum):
    """Why a memory version was superseded by a newer one.

    The values are the strings the official SDK carries in ``expiration_reason``.
    """

    MERGE_CONFLICT = "MERGE_CONFLICT"
    ADDITION_TO_EXISTING_MEMORY = "ADDITION_TO_EXISTING_MEMORY"
    TEMPORAL_CONFLICT = "TEMPORAL_CONFLICT"


@dataclass(frozen=True, slots=True, kw_only=True)
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
    merge_conflict_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryRelationship:
    """A related memory, as listed on another."""

    memory_id: str
    content: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserMemoryItem:
    """One version of a discrete fact about a user.

    ``previous_versions`` and ``connected_memories`` are None unless requested.
    """

    memory_id: str
    categories: list[str]
    content: str
    event_date_start: datetime | None
    event_date_end: datetime | None
    created_at: datetime
    version_number: int
    total_versions: int
    has_previous_versions: bool
    previous_versions: list[MemoryVersionInfo] | None = None
    connected_memories: list[MemoryRelationship] | None = None
    merge_conflict_in_progress: bool
    merge_conflict_id: str | None = None
    expired_at: datetime | None = None
    expiration_reason: ExpirationReason | None = None
    session_id: str
    source_message_ids: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryList:
    """A page of memories."""

    items: list[UserMemoryItem]
    total: int
    has_more: bool


UserMemoriesList = MemoryList
"""The official SDK's name for a page of memories."""

UserMessage = Message
"""The official SDK's name for an item of ``get_last_n_messages``."""

UserMessagesList = MessageList
"""The official SDK's name for the result of ``get_last_n_messages``."""
