"""The JSON shapes of the HTTP API, as the official SDK 0.6.6 sends and parses them.

Names are the SDK's (`custom_user_id`, `created_at`, `event_date_start`); datetimes are
ISO 8601 with an offset. Responses may carry keys the SDK does not read (`message_id`,
`source_message_ids`, `failure_reason`, ...): it ignores unknown keys.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from recallr_server.domain.sessions import MAX_AUTO_PROCESS_SECONDS


class SessionStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    # The hosted service's billing state; no Recallr session is ever in it.
    INSUFFICIENT_BALANCE = "insufficient_balance"


class ConflictStatus(enum.StrEnum):
    PENDING = "PENDING"
    IN_QUEUE = "IN_QUEUE"
    RESOLVING = "RESOLVING"
    RESOLVED = "RESOLVED"
    FAILED = "FAILED"


class RecallStrategy(enum.StrEnum):
    LOW_LATENCY = "low_latency"
    BALANCED = "balanced"
    AGENTIC = "agentic"
    AUTO = "auto"


Role = Literal["user", "assistant"]


class _Request(BaseModel):
    # Unknown keys are ignored, as the SDK ignores them in answers.
    model_config = ConfigDict(extra="ignore")


# --- Requests ----------------------------------------------------------------


class CreateUser(_Request):
    custom_user_id: str
    # The async SDK leaves it out when None: absent means no metadata.
    metadata: dict[str, Any] = Field(default_factory=dict)
    # Absent or null: the user inherits the project's setting.
    merge_conflict_enabled: bool | None = None


class UpdateUser(_Request):
    """Absent keys stay unchanged; an explicit null `merge_conflict_enabled` resets the
    user's own setting, so the project's applies again."""

    new_metadata: dict[str, Any] | None = None
    new_custom_user_id: str | None = None
    merge_conflict_enabled: bool | None = None


class CreateSession(_Request):
    auto_process_after_seconds: int = Field(600, ge=0, le=MAX_AUTO_PROCESS_SECONDS)
    metadata: dict[str, Any] = Field(default_factory=dict)
    # When the conversation began, if not now (importing an older one).
    custom_created_at_utc: AwareDatetime | None = None


class UpdateSession(_Request):
    new_metadata: dict[str, Any] | None = None


class AddMessage(_Request):
    message: str
    role: Role


class QuestionAnswer(_Request):
    question: str
    answer: str
    message: str | None = None


class Answers(_Request):
    question_answers: list[QuestionAnswer]


class ResolveConflict(_Request):
    answers: Answers


# --- Responses ---------------------------------------------------------------


class User(BaseModel):
    custom_user_id: str
    metadata: dict[str, Any]
    merge_conflict_enabled: bool | None
    created_at: datetime
    last_active_at: datetime


class UserPage(BaseModel):
    users: list[User]
    total: int
    has_more: bool


class Session(BaseModel):
    session_id: str
    status: SessionStatus
    created_at: datetime
    metadata: dict[str, Any]
    user_id: str
    auto_process_after_seconds: int
    failure_reason: str


class SessionPage(BaseModel):
    sessions: list[Session]
    total: int
    has_more: bool


class Message(BaseModel):
    message_id: str
    session_id: str
    role: Role
    content: str
    timestamp: datetime


class MessagePage(BaseModel):
    messages: list[Message]
    total: int
    has_more: bool


class LastMessages(BaseModel):
    messages: list[Message]


class MemoryVersion(BaseModel):
    memory_id: str
    version_number: int
    content: str
    event_date_start: datetime
    event_date_end: datetime
    created_at: datetime
    expired_at: datetime
    expiration_reason: str
    merge_conflict_id: str | None


class ConnectedMemory(BaseModel):
    memory_id: str
    content: str


class Memory(BaseModel):
    memory_id: str
    categories: list[str]
    content: str
    event_date_start: datetime
    event_date_end: datetime
    created_at: datetime
    version_number: int
    total_versions: int
    has_previous_versions: bool
    # None when not asked for.
    previous_versions: list[MemoryVersion] | None
    connected_memories: list[ConnectedMemory] | None
    merge_conflict_in_progress: bool
    merge_conflict_id: str | None
    expired_at: datetime | None
    expiration_reason: str | None
    session_id: str
    source_message_ids: list[str]


class MemoryPage(BaseModel):
    items: list[Memory]
    total: int
    has_more: bool


class ConflictingMemory(BaseModel):
    memory_id: str
    content: str
    reason: str
    event_date_start: datetime
    event_date_end: datetime
    created_at: datetime


class NewMemory(BaseModel):
    memory_id: str
    content: str
    event_date_start: datetime
    event_date_end: datetime
    created_at: datetime


class ClarifyingQuestion(BaseModel):
    question: str
    options: list[str]


class MergeConflict(BaseModel):
    id: str
    project_user_session_id: str
    status: ConflictStatus
    proposed_memory_content: str
    new_memories: list[NewMemory]
    conflicting_memories: list[ConflictingMemory]
    clarifying_questions: list[ClarifyingQuestion]
    created_at: datetime
    resolved_at: datetime | None
    resolution_data: Answers | None
    user_id: str
    new_memory_ids: list[str]
    failure_reason: str


class MergeConflictPage(BaseModel):
    conflicts: list[MergeConflict]
    total: int
    has_more: bool


class DateRangeFilter(BaseModel):
    # Recallr understands event-date ranges only.
    filter_type: Literal["event_date"]
    start_date: datetime
    end_date: datetime


class ContextMetadata(BaseModel):
    recall_strategy_used: RecallStrategy
    # The id lists are null unless include_metadata_ids was true.
    memory_ids: list[str] | None
    session_ids: list[str] | None
    message_ids: list[str] | None
    agent_reasoning: str | None
    vector_search_queries: list[str]
    session_summaries_search_queries: list[str]
    keywords: list[str]
    date_range_filters: list[DateRangeFilter] | None


class Context(BaseModel):
    """The unary answer, and each event of a stream (`data:` lines of text/event-stream)."""

    is_final: bool
    status_update_message: str | None = None
    # A progress event's stable, machine-readable step name.
    status_update_step: str | None = None
    error_message: str | None = None
    context: str | None = None
    metadata: ContextMetadata | None = None


class SystemPrompt(BaseModel):
    system_prompt: str


class Error(BaseModel):
    """Every failure's body. `detail` is what the SDK reads (an object for invalid
    categories); `reason` is the contract's ErrorReason without its prefix."""

    detail: str | dict[str, Any]
    reason: str
    metadata: dict[str, str] = Field(default_factory=dict)
    field_violations: list[dict[str, str]] = Field(default_factory=list)
