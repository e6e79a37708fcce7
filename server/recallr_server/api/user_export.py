"""The records of a user's export on the wire (recallr/v1/user_export.proto), both ways.

Reading them back checks every field an import stores, and names each offending one by
the record's position in the whole stream ("records[7].memory.chain_id").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from recallr.v1 import memory_pb2, merge_conflict_pb2, user_service_pb2
from recallr.v1 import user_export_pb2 as pb
from recallr_server.api import convert
from recallr_server.api.structs import metadata_from_struct
from recallr_server.domain import records
from recallr_server.domain.sessions import MAX_AUTO_PROCESS_SECONDS
from recallr_server.domain.user_data import (
    MAX_IMPORT_RECORDS,
    DataCounts,
    ExportHeader,
    MemoryLink,
    Record,
    SessionSummary,
    StoredConflict,
    StoredMemory,
)
from recallr_server.domain.validation import (
    MAX_CONTENT_LENGTH,
    Violations,
    check_text,
    check_user_id,
    is_uuid,
)

MAX_TEXT_LENGTH = 100_000
# The columns' sizes (store.models).
MAX_CATEGORY_LENGTH = 64
MAX_SUBJECT_KEY_LENGTH = 256
MAX_ATTRIBUTE_KEY_LENGTH = 128
MAX_EMBEDDING_BYTES = 64 * 1024
# What one ExportUser response carries at most: clients receive 4 MiB by default.
MAX_RECORDS_PER_RESPONSE = 500
MAX_RESPONSE_BYTES = 1024 * 1024

EXPIRATION_FROM_WIRE = {v: k for k, v in convert.EXPIRATION_TO_WIRE.items()}

Wire = TypeVar("Wire", bound=int)
Value = TypeVar("Value")


# --- Records to the wire ------------------------------------------------------------------


def counts(value: DataCounts) -> pb.UserDataCounts:
    return pb.UserDataCounts(
        sessions=value.sessions,
        messages=value.messages,
        memories=value.memories,
        memory_links=value.memory_links,
        merge_conflicts=value.merge_conflicts,
        session_summaries=value.session_summaries,
    )


def _user(user: records.User) -> pb.ExportedUser:
    return pb.ExportedUser(
        user_id=user.user_id,
        metadata=convert.struct(user.metadata),
        merge_conflict_enabled=user.merge_conflict_enabled,
        create_time=convert.timestamp(user.created_at),
        last_active_time=convert.timestamp(user.last_active_at),
    )


def _session(session: records.Session) -> pb.ExportedSession:
    return pb.ExportedSession(
        session_id=session.id,
        status=convert.SESSION_STATUS_TO_WIRE[session.status],
        metadata=convert.struct(session.metadata),
        create_time=convert.timestamp(session.created_at),
        auto_process_after_seconds=session.auto_process_after_seconds,
        failure_reason=session.failure_reason,
        last_message_time=convert.timestamp(session.last_message_at),
    )


def _message(message: records.Message) -> pb.ExportedMessage:
    return pb.ExportedMessage(
        message_id=message.id,
        session_id=message.session_id,
        role=convert.ROLE_TO_WIRE[message.role],
        content=message.content,
        create_time=convert.timestamp(message.created_at),
    )


def _memory(memory: StoredMemory) -> pb.ExportedMemory:
    version = memory.version
    return pb.ExportedMemory(
        memory_id=version.id,
        chain_id=version.chain_id,
        version_number=version.chain_seq,
        session_id=version.session_id or "",
        categories=memory.categories,
        content=version.content,
        event_start_time=convert.timestamp(version.event_start_at),
        event_end_time=convert.timestamp(version.event_end_at),
        create_time=convert.timestamp(version.created_at),
        expire_time=convert.timestamp(version.expired_at),
        expiration_reason=convert.EXPIRATION_TO_WIRE[version.expiration_reason],
        merge_conflict_id=version.merge_conflict_id or "",
        source_message_ids=version.source_message_ids,
        subject_key=memory.subject_key,
        attribute_key=memory.attribute_key,
        attribute_value=memory.attribute_value,
        embedding=memory.embedding or b"",
    )


def _conflict(stored: StoredConflict) -> pb.ExportedMergeConflict:
    wire = convert.merge_conflict(stored.conflict)
    return pb.ExportedMergeConflict(
        merge_conflict_id=wire.merge_conflict_id,
        session_id=wire.session_id,
        status=wire.status,
        new_memory_content=wire.new_memory_content,
        conflicting_memories=wire.conflicting_memories,
        clarifying_questions=wire.clarifying_questions,
        answers=wire.answers,
        new_memory_ids=wire.new_memory_ids,
        create_time=wire.create_time,
        resolve_time=wire.resolve_time if wire.HasField("resolve_time") else None,
        failure_reason=wire.failure_reason,
        proposal=convert.struct(stored.proposal),
    )


def record(value: Record) -> pb.UserExportRecord:
    if isinstance(value, ExportHeader):
        header = pb.UserExportHeader(
            format_version=value.format_version,
            export_time=convert.timestamp(value.exported_at),
            counts=counts(value.counts),
        )
        return pb.UserExportRecord(header=header)
    if isinstance(value, records.User):
        return pb.UserExportRecord(user=_user(value))
    if isinstance(value, records.Session):
        return pb.UserExportRecord(session=_session(value))
    if isinstance(value, records.Message):
        return pb.UserExportRecord(message=_message(value))
    if isinstance(value, StoredMemory):
        return pb.UserExportRecord(memory=_memory(value))
    if isinstance(value, MemoryLink):
        link = pb.ExportedMemoryLink(chain_id=value.chain_id, linked_chain_id=value.linked_chain_id)
        return pb.UserExportRecord(memory_link=link)
    if isinstance(value, StoredConflict):
        return pb.UserExportRecord(merge_conflict=_conflict(value))
    summary = pb.ExportedSessionSummary(
        session_id=value.session_id,
        summary=value.summary,
        create_time=convert.timestamp(value.created_at),
        embedding=value.embedding or b"",
    )
    return pb.UserExportRecord(session_summary=summary)


def packed(batch: Sequence[Record]) -> Iterator[list[pb.UserExportRecord]]:
    """The batch on the wire, split where a response would grow past its limits."""
    records: list[pb.UserExportRecord] = []
    size = 0
    for value in batch:
        wire = record(value)
        wire_size = wire.ByteSize()
        if records and (
            len(records) == MAX_RECORDS_PER_RESPONSE or size + wire_size > MAX_RESPONSE_BYTES
        ):
            yield records
            records, size = [], 0
        records.append(wire)
        size += wire_size
    if records:
        yield records


# --- Records from the wire ----------------------------------------------------------------


def parse_time(
    v: Violations, field: str, stamp: timestamp_pb2.Timestamp, *, present: bool, required: bool
) -> datetime | None:
    """A timestamp field; `present` is whether the message has it set."""
    if not present:
        if required:
            v.add(field, "is required")
        return None
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        v.add(field, "is not a valid timestamp")
        return None


class _Fields:
    """Reads the fields of one record, collecting violations under its path."""

    def __init__(self, v: Violations, path: str) -> None:
        self.v = v
        self.path = path

    def text(
        self, name: str, value: str, *, max_length: int = MAX_TEXT_LENGTH, required: bool = False
    ) -> str:
        check_text(self.v, f"{self.path}.{name}", value, max_length=max_length, required=required)
        return value

    def optional_text(self, name: str, value: str, present: bool, max_length: int) -> str | None:
        return self.text(name, value, max_length=max_length) if present else None

    def uuid(self, name: str, value: str, *, required: bool = True) -> str:
        if (required or value) and not is_uuid(value):
            self.v.add(f"{self.path}.{name}", "must be a UUID")
        return value.lower()

    def uuids(self, name: str, values: Iterable[str]) -> tuple[str, ...]:
        return tuple(self.uuid(f"{name}[{i}]", value) for i, value in enumerate(values))

    def time(self, name: str, message: Message, *, required: bool = False) -> datetime | None:
        stamp = getattr(message, name)
        present = message.HasField(name)
        return parse_time(self.v, f"{self.path}.{name}", stamp, present=present, required=required)

    def required_time(self, name: str, message: Message) -> datetime:
        # A placeholder where the field was missing: the violation fails the import.
        return self.time(name, message, required=True) or datetime.min.replace(tzinfo=UTC)

    def enum(self, name: str, value: Wire, table: Mapping[Wire, Value]) -> Value | None:
        if value not in table:
            self.v.add(f"{self.path}.{name}", f"{value} is not one of its values")
            return None
        return table[value]

    def embedding(self, name: str, value: bytes) -> bytes | None:
        if len(value) % 4 or len(value) > MAX_EMBEDDING_BYTES:
            self.v.add(
                f"{self.path}.{name}",
                f"must be float32 values, at most {MAX_EMBEDDING_BYTES} bytes",
            )
        return value or None


# A record's fields, each read into the domain's record.


def _parse_header(f: _Fields, wire: pb.UserExportHeader) -> ExportHeader:
    exported_at = f.time("export_time", wire) or datetime.now(UTC)
    given = wire.counts
    announced = DataCounts(
        sessions=given.sessions,
        messages=given.messages,
        memories=given.memories,
        memory_links=given.memory_links,
        merge_conflicts=given.merge_conflicts,
        session_summaries=given.session_summaries,
    )
    return ExportHeader(wire.format_version, exported_at, announced)


def _parse_user(f: _Fields, wire: pb.ExportedUser) -> records.User:
    check_user_id(f.v, f"{f.path}.user_id", wire.user_id)
    return records.User(
        pk="",
        user_id=wire.user_id,
        metadata=metadata_from_struct(f.v, f"{f.path}.metadata", wire.metadata),
        merge_conflict_enabled=(
            wire.merge_conflict_enabled if wire.HasField("merge_conflict_enabled") else None
        ),
        created_at=f.required_time("create_time", wire),
        last_active_at=f.required_time("last_active_time", wire),
    )


def _parse_session(f: _Fields, wire: pb.ExportedSession) -> records.Session:
    if not 0 <= wire.auto_process_after_seconds <= MAX_AUTO_PROCESS_SECONDS:
        f.v.add(
            f"{f.path}.auto_process_after_seconds",
            f"must be between 0 and {MAX_AUTO_PROCESS_SECONDS}",
        )
    status = f.enum("status", wire.status, convert.SESSION_STATUS_FROM_WIRE)
    return records.Session(
        id=f.uuid("session_id", wire.session_id),
        user_id="",
        status=status or records.SessionStatus.PENDING,
        metadata=metadata_from_struct(f.v, f"{f.path}.metadata", wire.metadata),
        created_at=f.required_time("create_time", wire),
        auto_process_after_seconds=wire.auto_process_after_seconds,
        failure_reason=f.text("failure_reason", wire.failure_reason),
        last_message_at=f.time("last_message_time", wire),
    )


def _parse_message(f: _Fields, wire: pb.ExportedMessage) -> records.Message:
    role = f.enum("role", wire.role, convert.ROLE_FROM_WIRE)
    return records.Message(
        id=f.uuid("message_id", wire.message_id),
        session_id=f.uuid("session_id", wire.session_id),
        role=role or records.MessageRole.USER,
        content=f.text("content", wire.content, max_length=MAX_CONTENT_LENGTH, required=True),
        created_at=f.required_time("create_time", wire),
    )


def _parse_memory(f: _Fields, wire: pb.ExportedMemory) -> StoredMemory:
    if wire.version_number < 1:
        f.v.add(f"{f.path}.version_number", "must be at least 1")
    expired_at = f.time("expire_time", wire)
    reason = f.enum("expiration_reason", wire.expiration_reason, EXPIRATION_FROM_WIRE)
    has_reason = wire.expiration_reason != memory_pb2.EXPIRATION_REASON_UNSPECIFIED
    if wire.HasField("expire_time") != has_reason:
        f.v.add(f"{f.path}.expiration_reason", "must be set exactly when expire_time is")
    version = records.MemoryVersion(
        id=f.uuid("memory_id", wire.memory_id),
        chain_id=f.uuid("chain_id", wire.chain_id),
        chain_seq=wire.version_number,
        session_id=f.uuid("session_id", wire.session_id, required=False) or None,
        content=f.text("content", wire.content, max_length=MAX_CONTENT_LENGTH, required=True),
        event_start_at=f.time("event_start_time", wire),
        event_end_at=f.time("event_end_time", wire),
        created_at=f.required_time("create_time", wire),
        expired_at=expired_at,
        expiration_reason=reason,
        merge_conflict_id=f.uuid("merge_conflict_id", wire.merge_conflict_id, required=False)
        or None,
        source_message_ids=f.uuids("source_message_ids", wire.source_message_ids),
    )
    return StoredMemory(
        version=version,
        categories=tuple(
            f.text(f"categories[{i}]", c, max_length=MAX_CATEGORY_LENGTH, required=True)
            for i, c in enumerate(wire.categories)
        ),
        subject_key=f.optional_text(
            "subject_key", wire.subject_key, wire.HasField("subject_key"), MAX_SUBJECT_KEY_LENGTH
        ),
        attribute_key=f.optional_text(
            "attribute_key",
            wire.attribute_key,
            wire.HasField("attribute_key"),
            MAX_ATTRIBUTE_KEY_LENGTH,
        ),
        attribute_value=f.optional_text(
            "attribute_value",
            wire.attribute_value,
            wire.HasField("attribute_value"),
            MAX_TEXT_LENGTH,
        ),
        embedding=f.embedding("embedding", wire.embedding),
    )


def _parse_link(f: _Fields, wire: pb.ExportedMemoryLink) -> MemoryLink:
    return MemoryLink(
        f.uuid("chain_id", wire.chain_id), f.uuid("linked_chain_id", wire.linked_chain_id)
    )


def _parse_conflicting(
    f: _Fields, wire: Iterable[merge_conflict_pb2.ConflictingMemory]
) -> tuple[records.ConflictingMemory, ...]:
    return tuple(
        records.ConflictingMemory(
            f.uuid(f"conflicting_memories[{i}].memory_id", m.memory_id, required=False),
            f.text(f"conflicting_memories[{i}].content", m.content),
            f.text(f"conflicting_memories[{i}].reason", m.reason),
        )
        for i, m in enumerate(wire)
    )


def _parse_questions(
    f: _Fields, wire: Iterable[merge_conflict_pb2.ClarifyingQuestion]
) -> tuple[records.ClarifyingQuestion, ...]:
    return tuple(
        records.ClarifyingQuestion(
            f.text(f"clarifying_questions[{i}].question", q.question, required=True),
            tuple(
                f.text(f"clarifying_questions[{i}].options[{j}]", option)
                for j, option in enumerate(q.options)
            ),
        )
        for i, q in enumerate(wire)
    )


def _parse_answers(
    f: _Fields, wire: Iterable[merge_conflict_pb2.MergeConflictAnswer]
) -> tuple[records.Answer, ...]:
    return tuple(
        records.Answer(
            f.text(f"answers[{i}].question", a.question, required=True),
            f.text(f"answers[{i}].answer", a.answer),
            f.text(f"answers[{i}].message", a.message),
        )
        for i, a in enumerate(wire)
    )


def _parse_conflict(f: _Fields, wire: pb.ExportedMergeConflict) -> StoredConflict:
    status = f.enum("status", wire.status, convert.CONFLICT_STATUS_FROM_WIRE)
    conflict = records.MergeConflict(
        id=f.uuid("merge_conflict_id", wire.merge_conflict_id),
        user_id="",
        session_id=f.uuid("session_id", wire.session_id, required=False) or None,
        status=status or records.MergeConflictStatus.PENDING,
        new_memory_content=f.text("new_memory_content", wire.new_memory_content),
        conflicting_memories=_parse_conflicting(f, wire.conflicting_memories),
        clarifying_questions=_parse_questions(f, wire.clarifying_questions),
        answers=_parse_answers(f, wire.answers),
        new_memory_ids=f.uuids("new_memory_ids", wire.new_memory_ids),
        created_at=f.required_time("create_time", wire),
        resolved_at=f.time("resolve_time", wire),
        failure_reason=f.text("failure_reason", wire.failure_reason),
    )
    proposal = metadata_from_struct(f.v, f"{f.path}.proposal", wire.proposal)
    return StoredConflict(conflict, proposal)


def _parse_summary(f: _Fields, wire: pb.ExportedSessionSummary) -> SessionSummary:
    return SessionSummary(
        session_id=f.uuid("session_id", wire.session_id),
        summary=f.text("summary", wire.summary),
        created_at=f.required_time("create_time", wire),
        embedding=f.embedding("embedding", wire.embedding),
    )


def parse_record(v: Violations, index: int, wire: pb.UserExportRecord) -> Record | None:
    """The record, or None (and violations) when it cannot be read."""
    kind = wire.WhichOneof("record")
    path = f"records[{index}]"
    if kind is None:
        v.add(path, "must hold one record")
        return None
    f = _Fields(v, f"{path}.{kind}")
    match kind:
        case "header":
            return _parse_header(f, wire.header)
        case "user":
            return _parse_user(f, wire.user)
        case "session":
            return _parse_session(f, wire.session)
        case "message":
            return _parse_message(f, wire.message)
        case "memory":
            return _parse_memory(f, wire.memory)
        case "memory_link":
            return _parse_link(f, wire.memory_link)
        case "merge_conflict":
            return _parse_conflict(f, wire.merge_conflict)
        case _:
            return _parse_summary(f, wire.session_summary)


@dataclass(frozen=True)
class ImportStream:
    # The first message of the stream, which carries the import's options.
    first: user_service_pb2.ImportUserRequest
    # None where a record could not be read (its violation is recorded).
    records: list[Record | None]


async def read_import(
    v: Violations, requests: AsyncIterator[user_service_pb2.ImportUserRequest]
) -> ImportStream:
    """Every record of an ImportUser stream; violations for those that cannot be read.

    Past the limit on records it stops reading and fails at once: an import is held in
    memory until it is written.
    """
    first: user_service_pb2.ImportUserRequest | None = None
    parsed: list[Record | None] = []
    async for request in requests:
        first = first or request
        for wire in request.records:
            if len(parsed) == MAX_IMPORT_RECORDS:
                v.add("records", f"must be at most {MAX_IMPORT_RECORDS} over the whole stream")
                v.raise_if_any()
            parsed.append(parse_record(v, len(parsed), wire))
    return ImportStream(first or user_service_pb2.ImportUserRequest(), parsed)
