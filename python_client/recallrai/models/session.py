"""Sessions, their messages and the context recalled for them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


class MessageRole(enum.StrEnum):
    """Who wrote a message."""

    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One turn of a session.

    Also the item of ``get_last_n_messages`` (``UserMessage``), so it always
    names its session.
    """

    role: MessageRole
    content: str
    timestamp: datetime
    message_id: str
    session_id: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to add in bulk (``import_session``, ``add_messages``).

    ``timestamp`` (timezone-aware UTC) is when it was written; None means the
    session's start for ``import_session`` and the time of the call for
    ``add_messages``.
    """

    role: MessageRole | str
    content: str
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageList:
    """A page of messages.

    ``get_last_n_messages`` is not paged: there ``total`` is the number returned
    and ``has_more`` is False.
    """

    messages: list[Message]
    total: int
    has_more: bool


SessionMessagesList = MessageList
"""The official SDK's name for a page of a session's messages."""


class SessionStatus(enum.StrEnum):
    """Where a session is in its processing lifecycle."""

    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionList(Generic[T]):
    """A page of sessions."""

    sessions: list[T]
    total: int
    has_more: bool


class RecallStrategy(enum.StrEnum):
    """How much work context recall may do."""

    LOW_LATENCY = "low_latency"
    BALANCED = "balanced"
    AGENTIC = "agentic"
    AUTO = "auto"


class DateRangeFilterType(enum.StrEnum):
    """Which date of a memory a date range understood from the query applies to."""

    EVENT_DATE = "event_date"
    CREATED_AT = "created_at"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryDateRangeFilter:
    """A half-open interval of time understood from the query; either end may be open."""

    filter_type: DateRangeFilterType
    start_date: datetime | None
    end_date: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextMetadata:
    """What produced a context.

    The id lists are filled only when ``include_metadata_ids`` was requested.
    """

    memory_ids: list[str] | None = None
    session_ids: list[str] | None = None
    agent_reasoning: str | None = None
    vector_search_queries: list[str] | None = None
    keywords: list[str] | None = None
    session_summaries_search_queries: list[str] | None = None
    date_range_filters: list[QueryDateRangeFilter] | None = None
    recall_strategy_used: RecallStrategy | None = None
    message_ids: list[str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextResponse:
    """The answer of ``get_context``, and each event of ``get_context_stream``.

    A streamed recall yields progress events (``is_final`` False, with
    ``status_update_message`` and the stable ``status_update_step``), then one
    final event with the ``context`` and its ``metadata``.
    """

    is_final: bool
    status_update_message: str | None = None
    error_message: str | None = None
    context: str | None = None
    metadata: ContextMetadata | None = None
    status_update_step: str | None = None
