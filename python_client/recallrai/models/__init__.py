"""Enums and value types of the RecallrAI client, under the official SDK's names.

Enums are string enums, so they print, compare and format like the strings the
official SDK shows (``msg.role.upper()`` reads "USER"). Every datetime is
timezone-aware UTC. Models are frozen dataclasses.
"""

from recallrai.models.category import Category
from recallrai.models.merge_conflict import (
    MergeConflictAnswer,
    MergeConflictConflictingMemory,
    MergeConflictList,
    MergeConflictNewMemory,
    MergeConflictQuestion,
    MergeConflictStatus,
)
from recallrai.models.session import (
    ContextMetadata,
    ContextResponse,
    DateRangeFilterType,
    Message,
    MessageList,
    MessageRole,
    NewMessage,
    QueryDateRangeFilter,
    RecallStrategy,
    SessionList,
    SessionMessagesList,
    SessionStatus,
)
from recallrai.models.unavailable import UNAVAILABLE, Unavailable
from recallrai.models.user import (
    ExpirationReason,
    MemoryList,
    MemoryRelationship,
    MemoryVersionInfo,
    UserDataCounts,
    UserList,
    UserMemoriesList,
    UserMemoryItem,
    UserMessage,
    UserMessagesList,
)

__all__ = [
    "UNAVAILABLE",
    "Category",
    "ContextMetadata",
    "ContextResponse",
    "DateRangeFilterType",
    "ExpirationReason",
    "MemoryList",
    "MemoryRelationship",
    "MemoryVersionInfo",
    "MergeConflictAnswer",
    "MergeConflictConflictingMemory",
    "MergeConflictList",
    "MergeConflictNewMemory",
    "MergeConflictQuestion",
    "MergeConflictStatus",
    "Message",
    "MessageList",
    "MessageRole",
    "NewMessage",
    "QueryDateRangeFilter",
    "RecallStrategy",
    "SessionList",
    "SessionMessagesList",
    "SessionStatus",
    "Unavailable",
    "UserDataCounts",
    "UserList",
    "UserMemoriesList",
    "UserMemoryItem",
    "UserMessage",
    "UserMessagesList",
]
