"""Domain records to wire messages (and wire enums back), in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from recallr.v1 import (
    category_pb2,
    memory_pb2,
    merge_conflict_pb2,
    session_pb2,
    user_pb2,
)
from recallr_server.domain import records

SESSION_STATUS_TO_WIRE = {
    records.SessionStatus.PENDING: session_pb2.SESSION_STATUS_PENDING,
    records.SessionStatus.PROCESSING: session_pb2.SESSION_STATUS_PROCESSING,
    records.SessionStatus.PROCESSED: session_pb2.SESSION_STATUS_PROCESSED,
    records.SessionStatus.FAILED: session_pb2.SESSION_STATUS_FAILED,
}
SESSION_STATUS_FROM_WIRE = {v: k for k, v in SESSION_STATUS_TO_WIRE.items()}

ROLE_TO_WIRE = {
    records.MessageRole.USER: session_pb2.MESSAGE_ROLE_USER,
    records.MessageRole.ASSISTANT: session_pb2.MESSAGE_ROLE_ASSISTANT,
}
ROLE_FROM_WIRE = {v: k for k, v in ROLE_TO_WIRE.items()}

EXPIRATION_TO_WIRE = {
    None: memory_pb2.EXPIRATION_REASON_UNSPECIFIED,
    records.ExpirationReason.MERGE_CONFLICT: memory_pb2.EXPIRATION_REASON_MERGE_CONFLICT,
    records.ExpirationReason.ADDITION_TO_EXISTING_MEMORY: (
        memory_pb2.EXPIRATION_REASON_ADDITION_TO_EXISTING_MEMORY
    ),
    records.ExpirationReason.TEMPORAL_CONFLICT: memory_pb2.EXPIRATION_REASON_TEMPORAL_CONFLICT,
}

CONFLICT_STATUS_TO_WIRE = {
    records.MergeConflictStatus.PENDING: merge_conflict_pb2.MERGE_CONFLICT_STATUS_PENDING,
    records.MergeConflictStatus.IN_QUEUE: merge_conflict_pb2.MERGE_CONFLICT_STATUS_IN_QUEUE,
    records.MergeConflictStatus.RESOLVING: merge_conflict_pb2.MERGE_CONFLICT_STATUS_RESOLVING,
    records.MergeConflictStatus.RESOLVED: merge_conflict_pb2.MERGE_CONFLICT_STATUS_RESOLVED,
    records.MergeConflictStatus.FAILED: merge_conflict_pb2.MERGE_CONFLICT_STATUS_FAILED,
}
CONFLICT_STATUS_FROM_WIRE = {v: k for k, v in CONFLICT_STATUS_TO_WIRE.items()}


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def user(record: records.User) -> user_pb2.User:
    return user_pb2.User(
        user_id=record.user_id,
        metadata=struct(record.metadata),
        merge_conflict_enabled=record.merge_conflict_enabled,
        create_time=timestamp(record.created_at),
        last_active_time=timestamp(record.last_active_at),
    )


def session(record: records.Session) -> session_pb2.Session:
    return session_pb2.Session(
        session_id=record.id,
        user_id=record.user_id,
        status=SESSION_STATUS_TO_WIRE[record.status],
        metadata=struct(record.metadata),
        create_time=timestamp(record.created_at),
        auto_process_after_seconds=record.auto_process_after_seconds,
        failure_reason=record.failure_reason,
    )


def message(record: records.Message) -> session_pb2.Message:
    return session_pb2.Message(
        message_id=record.id,
        session_id=record.session_id,
        role=ROLE_TO_WIRE[record.role],
        content=record.content,
        create_time=timestamp(record.created_at),
    )


def memory_version(record: records.MemoryVersion, version_number: int) -> memory_pb2.MemoryVersion:
    return memory_pb2.MemoryVersion(
        memory_id=record.id,
        version_number=version_number,
        content=record.content,
        event_start_time=timestamp(record.event_start_at),
        event_end_time=timestamp(record.event_end_at),
        create_time=timestamp(record.created_at),
        expire_time=timestamp(record.expired_at),
        expiration_reason=EXPIRATION_TO_WIRE[record.expiration_reason],
        merge_conflict_id=record.merge_conflict_id or "",
    )


def memory(record: records.Memory) -> memory_pb2.Memory:
    version = record.version
    return memory_pb2.Memory(
        memory_id=version.id,
        user_id=record.user_id,
        categories=record.categories,
        content=version.content,
        event_start_time=timestamp(version.event_start_at),
        event_end_time=timestamp(version.event_end_at),
        create_time=timestamp(version.created_at),
        expire_time=timestamp(version.expired_at),
        expiration_reason=EXPIRATION_TO_WIRE[version.expiration_reason],
        session_id=version.session_id or "",
        version_number=record.version_number,
        total_versions=record.total_versions,
        has_previous_versions=record.has_previous_versions,
        previous_versions=[
            memory_version(v, i + 1) for i, v in enumerate(record.previous_versions)
        ],
        connected_memories=[
            memory_pb2.ConnectedMemory(memory_id=c.memory_id, content=c.content)
            for c in record.connected
        ],
        merge_conflict_in_progress=record.merge_conflict_in_progress,
        merge_conflict_id=version.merge_conflict_id or "",
        source_message_ids=record.source_message_ids,
    )


def merge_conflict(record: records.MergeConflict) -> merge_conflict_pb2.MergeConflict:
    return merge_conflict_pb2.MergeConflict(
        merge_conflict_id=record.id,
        user_id=record.user_id,
        session_id=record.session_id or "",
        status=CONFLICT_STATUS_TO_WIRE[record.status],
        new_memory_content=record.new_memory_content,
        conflicting_memories=[
            merge_conflict_pb2.ConflictingMemory(
                memory_id=m.memory_id,
                content=m.content,
                reason=m.reason,
                event_start_time=timestamp(m.event_start_at),
                event_end_time=timestamp(m.event_end_at),
                create_time=timestamp(m.created_at),
            )
            for m in record.conflicting_memories
        ],
        clarifying_questions=[
            merge_conflict_pb2.ClarifyingQuestion(question=q.question, options=q.options)
            for q in record.clarifying_questions
        ],
        answers=[
            merge_conflict_pb2.MergeConflictAnswer(
                question=a.question, answer=a.answer, message=a.message
            )
            for a in record.answers
        ],
        new_memory_ids=record.new_memory_ids,
        create_time=timestamp(record.created_at),
        resolve_time=timestamp(record.resolved_at),
        failure_reason=record.failure_reason,
        new_memories=[
            merge_conflict_pb2.MergeConflictNewMemory(
                memory_id=m.id,
                content=m.content,
                event_start_time=timestamp(m.event_start_at),
                event_end_time=timestamp(m.event_end_at),
                create_time=timestamp(m.created_at),
            )
            for m in record.new_memories
        ],
    )


def answer(wire: merge_conflict_pb2.MergeConflictAnswer) -> records.Answer:
    return records.Answer(wire.question, wire.answer, wire.message)


def category(record: records.Category) -> category_pb2.Category:
    return category_pb2.Category(name=record.name, description=record.description)
