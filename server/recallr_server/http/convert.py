"""Domain records to the HTTP API's JSON shapes, and its query values to the domain's.

The SDK requires what Recallr keeps optional, so this is where the gaps are filled, the
same way everywhere: a memory without event dates is dated to when it was recorded (an
event with a start only, to that instant), a conflicting memory deleted since its
conflict was raised reads as recorded when the conflict was.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from recallr_server.domain import records
from recallr_server.domain.context import Progress, RecalledContext, Strategy
from recallr_server.domain.paging import Page, Window
from recallr_server.domain.validation import (
    JsonScalar,
    Violations,
    check_metadata,
    check_metadata_filter,
)
from recallr_server.http import schemas


def has_more(window: Window, page: Page[Any]) -> bool:
    return window.offset + len(page.items) < page.total


def metadata(v: Violations, field: str, value: dict[str, Any]) -> dict[str, Any]:
    """Metadata the store can keep: JSON without NaN or infinities, within the bounds."""
    if not _finite(value):
        v.add(field, "numbers must be finite")
        return {}
    check_metadata(v, field, value)
    return value


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    return True


def metadata_filter(v: Violations, field: str, text: str | None) -> dict[str, JsonScalar]:
    """A filter sent as a JSON object in a string (the SDK's `json.dumps` of a dict)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        v.add(field, "must be a JSON object")
        return {}
    if not isinstance(value, dict):
        v.add(field, "must be a JSON object")
        return {}
    wanted = metadata(v, field, value)
    check_metadata_filter(v, field, wanted)
    return wanted


def user(record: records.User) -> schemas.User:
    return schemas.User(
        custom_user_id=record.user_id,
        metadata=record.metadata,
        merge_conflict_enabled=record.merge_conflict_enabled,
        created_at=record.created_at,
        last_active_at=record.last_active_at,
    )


def session(record: records.Session) -> schemas.Session:
    return schemas.Session(
        session_id=record.id,
        status=schemas.SessionStatus(record.status.value),
        created_at=record.created_at,
        metadata=record.metadata,
        user_id=record.user_id,
        auto_process_after_seconds=record.auto_process_after_seconds,
        failure_reason=record.failure_reason,
    )


def message(record: records.Message) -> schemas.Message:
    return schemas.Message(
        message_id=record.id,
        session_id=record.session_id,
        role=record.role.value,
        content=record.content,
        timestamp=record.created_at,
    )


def event_dates(
    start: datetime | None, end: datetime | None, recorded: datetime
) -> tuple[datetime, datetime]:
    if start is None:
        return recorded, recorded
    return start, end or start


def _reason(value: records.ExpirationReason | None) -> str | None:
    return value.value.upper() if value is not None else None


def memory_version(record: records.MemoryVersion, number: int) -> schemas.MemoryVersion:
    start, end = event_dates(record.event_start_at, record.event_end_at, record.created_at)
    return schemas.MemoryVersion(
        memory_id=record.id,
        version_number=number,
        content=record.content,
        event_date_start=start,
        event_date_end=end,
        created_at=record.created_at,
        # Earlier versions have expired by definition; these fallbacks never show.
        expired_at=record.expired_at or record.created_at,
        expiration_reason=_reason(record.expiration_reason) or "",
        merge_conflict_id=record.merge_conflict_id,
    )


def memory(record: records.Memory, *, previous: bool, connected: bool) -> schemas.Memory:
    version = record.version
    start, end = event_dates(version.event_start_at, version.event_end_at, version.created_at)
    return schemas.Memory(
        memory_id=version.id,
        categories=record.categories,
        content=version.content,
        event_date_start=start,
        event_date_end=end,
        created_at=version.created_at,
        version_number=record.version_number,
        total_versions=record.total_versions,
        has_previous_versions=record.has_previous_versions,
        previous_versions=(
            [memory_version(v, i + 1) for i, v in enumerate(record.previous_versions)]
            if previous
            else None
        ),
        connected_memories=(
            [
                schemas.ConnectedMemory(memory_id=c.memory_id, content=c.content)
                for c in record.connected
            ]
            if connected
            else None
        ),
        merge_conflict_in_progress=record.merge_conflict_in_progress,
        merge_conflict_id=version.merge_conflict_id,
        expired_at=version.expired_at,
        expiration_reason=_reason(version.expiration_reason),
        session_id=version.session_id or "",
        source_message_ids=record.source_message_ids,
    )


def answers(given: Sequence[records.Answer]) -> schemas.Answers | None:
    if not given:
        return None
    return schemas.Answers(
        question_answers=[
            schemas.QuestionAnswer(question=a.question, answer=a.answer, message=a.message or None)
            for a in given
        ]
    )


def _conflicting(memory: records.ConflictingMemory, raised: datetime) -> schemas.ConflictingMemory:
    recorded = memory.created_at or raised
    start, end = event_dates(memory.event_start_at, memory.event_end_at, recorded)
    return schemas.ConflictingMemory(
        memory_id=memory.memory_id,
        content=memory.content,
        reason=memory.reason,
        event_date_start=start,
        event_date_end=end,
        created_at=recorded,
    )


def _new_memory(version: records.MemoryVersion) -> schemas.NewMemory:
    start, end = event_dates(version.event_start_at, version.event_end_at, version.created_at)
    return schemas.NewMemory(
        memory_id=version.id,
        content=version.content,
        event_date_start=start,
        event_date_end=end,
        created_at=version.created_at,
    )


def merge_conflict(record: records.MergeConflict) -> schemas.MergeConflict:
    return schemas.MergeConflict(
        id=record.id,
        project_user_session_id=record.session_id or "",
        status=schemas.ConflictStatus(record.status.value.upper()),
        proposed_memory_content=record.new_memory_content,
        new_memories=[_new_memory(v) for v in record.new_memories],
        conflicting_memories=[
            _conflicting(m, record.created_at) for m in record.conflicting_memories
        ],
        clarifying_questions=[
            schemas.ClarifyingQuestion(question=q.question, options=list(q.options))
            for q in record.clarifying_questions
        ],
        created_at=record.created_at,
        resolved_at=record.resolved_at,
        resolution_data=answers(record.answers),
        user_id=record.user_id,
        new_memory_ids=list(record.new_memory_ids),
        failure_reason=record.failure_reason,
    )


def context(result: RecalledContext, *, with_ids: bool) -> schemas.Context:
    return schemas.Context(
        is_final=True,
        context=result.text,
        metadata=schemas.ContextMetadata(
            recall_strategy_used=schemas.RecallStrategy(result.strategy_used.value),
            memory_ids=result.memory_ids if with_ids else None,
            session_ids=result.session_ids if with_ids else None,
            message_ids=result.message_ids if with_ids else None,
            agent_reasoning=result.agent_reasoning or None,
            vector_search_queries=result.queries,
            # Session summaries are searched with the same queries as memories.
            session_summaries_search_queries=result.queries,
            keywords=result.keywords,
            date_range_filters=[
                schemas.DateRangeFilter(filter_type="event_date", start_date=s, end_date=e)
                for s, e in result.date_filters
            ]
            or None,
        ),
    )


def progress(event: Progress) -> schemas.Context:
    return schemas.Context(
        is_final=False, status_update_message=event.message, status_update_step=event.step
    )


def strategy(value: schemas.RecallStrategy) -> Strategy:
    return Strategy(value.value)
