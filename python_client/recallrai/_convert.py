"""Every conversion between the wire (``recallr.v1`` messages) and the client's models.

The wire follows AIP naming (``create_time``, ``event_start_time``, ``expire_time``);
the client speaks the documented SDK's names (``created_at``, ``event_date_start``,
``expired_at``). This module is the only place that knows both.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from google.protobuf import field_mask_pb2, struct_pb2, timestamp_pb2

from recallr.v1 import (
    category_pb2,
    context_pb2,
    context_service_pb2,
    memory_pb2,
    merge_conflict_pb2,
    merge_conflict_service_pb2,
    session_pb2,
    user_export_pb2,
    user_pb2,
    user_service_pb2,
)
from recallrai.exceptions import ValidationError
from recallrai.models import (
    UNAVAILABLE,
    Category,
    ContextMetadata,
    ContextResponse,
    DateRangeFilterType,
    ExpirationReason,
    MemoryRelationship,
    MemoryVersionInfo,
    MergeConflictAnswer,
    MergeConflictConflictingMemory,
    MergeConflictNewMemory,
    MergeConflictQuestion,
    MergeConflictStatus,
    Message,
    MessageRole,
    NewMessage,
    QueryDateRangeFilter,
    RecallStrategy,
    SessionStatus,
    Unavailable,
    UserDataCounts,
    UserMemoryItem,
)

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

_ModelT = TypeVar("_ModelT", bound=enum.Enum)
_WireT = TypeVar("_WireT", bound=int)

MAX_PAGE_SIZE = 200


class _EnumCodec(Generic[_ModelT, _WireT]):
    """Maps a client enum to a proto enum by member name, the proto's prefix removed.

    Built at import, so a proto value without a client member fails at once.
    """

    def __init__(self, model: type[_ModelT], wire: _EnumTypeWrapper[_WireT], prefix: str) -> None:
        self._to_model = {
            number: model[name.removeprefix(prefix)] for name, number in wire.items() if number
        }
        self._to_wire = {member: number for number, member in self._to_model.items()}

    def model(self, number: _WireT) -> _ModelT:
        return self._to_model[number]

    def optional_model(self, number: _WireT) -> _ModelT | None:
        """The member, or None for the UNSPECIFIED zero value."""
        return self._to_model.get(number)

    def wire(self, member: _ModelT) -> _WireT:
        return self._to_wire[member]


MESSAGE_ROLE = _EnumCodec(MessageRole, session_pb2.MessageRole, "MESSAGE_ROLE_")
SESSION_STATUS = _EnumCodec(SessionStatus, session_pb2.SessionStatus, "SESSION_STATUS_")
MERGE_CONFLICT_STATUS = _EnumCodec(
    MergeConflictStatus, merge_conflict_pb2.MergeConflictStatus, "MERGE_CONFLICT_STATUS_"
)
RECALL_STRATEGY = _EnumCodec(RecallStrategy, context_pb2.RecallStrategy, "RECALL_STRATEGY_")
RECALL_STRATEGIES = {strategy.value: RECALL_STRATEGY.wire(strategy) for strategy in RecallStrategy}
EXPIRATION_REASON = _EnumCodec(ExpirationReason, memory_pb2.ExpirationReason, "EXPIRATION_REASON_")

MERGE_CONFLICT_SORT_FIELDS: Mapping[
    str, merge_conflict_service_pb2.MergeConflictSortField.ValueType
] = {
    "created_at": merge_conflict_service_pb2.MERGE_CONFLICT_SORT_FIELD_CREATE_TIME,
    "resolved_at": merge_conflict_service_pb2.MERGE_CONFLICT_SORT_FIELD_RESOLVE_TIME,
}
SORT_ORDERS: Mapping[str, merge_conflict_service_pb2.SortOrder.ValueType] = {
    "asc": merge_conflict_service_pb2.SORT_ORDER_ASCENDING,
    "desc": merge_conflict_service_pb2.SORT_ORDER_DESCENDING,
}


# --- Arguments -------------------------------------------------------------

# The status Recallr's HTTP API answers for an invalid argument.
INVALID_ARGUMENT_HTTP_STATUS = 422


def invalid(message: str, field: str, description: str) -> ValidationError:
    """A bad argument caught before any call."""
    return ValidationError(
        message, INVALID_ARGUMENT_HTTP_STATUS, field_violations=[(field, description)]
    )


def parse_choice(value: str, choices: Mapping[str, _WireT], field: str) -> _WireT:
    try:
        return choices[value]
    except KeyError:
        allowed = ", ".join(choices)
        raise invalid(f"{field} must be one of {allowed}, not {value!r}", field, allowed) from None


def page_request(offset: int, limit: int) -> tuple[int, int]:
    """The (skip, page_size) of a page; checked here because page_size 0 means "default"."""
    if offset < 0:
        raise invalid(f"offset must not be negative, not {offset}", "offset", ">= 0")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise invalid(
            f"limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}",
            "limit",
            f"1..{MAX_PAGE_SIZE}",
        )
    return offset, limit


def message_role(role: MessageRole | str) -> session_pb2.MessageRole.ValueType:
    try:
        return MESSAGE_ROLE.wire(MessageRole(role))
    except ValueError:
        raise invalid(
            f"role must be 'user' or 'assistant', not {role!r}", "role", "user or assistant"
        ) from None


def struct(value: Mapping[str, Any], field: str) -> struct_pb2.Struct:
    """Encode a JSON-like mapping, refusing anything JSON cannot carry before any call."""
    result = struct_pb2.Struct()
    for key, item in _json_object(value, field).items():
        result.fields[key].CopyFrom(_value(item, f"{field}.{key}"))
    return result


def _json_object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _not_json(path, f"expected a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise _not_json(path, f"keys must be str, got {type(key).__name__}")
        _utf8(key, path)
    return value


def _value(item: object, path: str) -> struct_pb2.Value:
    if item is None:
        return struct_pb2.Value(null_value=struct_pb2.NULL_VALUE)
    if isinstance(item, bool):
        return struct_pb2.Value(bool_value=item)
    if isinstance(item, int | float):
        if not math.isfinite(item):
            raise _not_json(path, f"{item!r} is not a JSON number")
        return struct_pb2.Value(number_value=item)
    if isinstance(item, str):
        return struct_pb2.Value(string_value=_utf8(item, path))
    if isinstance(item, Mapping):
        return struct_pb2.Value(struct_value=struct(item, path))
    if isinstance(item, list | tuple):
        values = [_value(element, f"{path}[{index}]") for index, element in enumerate(item)]
        return struct_pb2.Value(list_value=struct_pb2.ListValue(values=values))
    raise _not_json(path, f"{type(item).__name__} is not a JSON type")


def _utf8(text: str, path: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _not_json(path, "the string is not valid Unicode (lone surrogate)") from None
    return text


def _not_json(path: str, problem: str) -> ValidationError:
    return invalid(f"{path}: {problem}", path, problem)


def timestamp(moment: datetime, field: str) -> timestamp_pb2.Timestamp:
    """Encode a caller's datetime, which must be timezone-aware UTC."""
    zone = moment.tzinfo
    is_utc = zone is not None and moment.utcoffset() == timedelta(0)
    if not is_utc or not (zone is UTC or moment.tzname() == "UTC"):
        raise invalid(
            f"{field} must be a timezone-aware datetime in UTC, not {moment!r}",
            field,
            "timezone-aware UTC datetime",
        )
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(moment)
    return result


def new_messages(messages: Sequence[NewMessage], field: str) -> list[session_pb2.Message]:
    """Messages to add in bulk, each checked before any call."""
    wire = []
    for index, message in enumerate(messages):
        if not isinstance(message, NewMessage):
            raise invalid(
                f"{field}[{index}] must be a NewMessage, not {type(message).__name__}",
                f"{field}[{index}]",
                "NewMessage",
            )
        item = session_pb2.Message(role=message_role(message.role), content=message.content)
        if message.timestamp is not None:
            item.create_time.CopyFrom(timestamp(message.timestamp, f"{field}[{index}].timestamp"))
        wire.append(item)
    return wire


def recall_options(
    *,
    recall_strategy: RecallStrategy | str,
    min_top_k: int | None,
    max_top_k: int,
    memories_threshold: float,
    summaries_threshold: float,
    last_n_messages: int | None,
    last_n_summaries: int | None,
    timezone: str | None,
    include_system_prompt: bool,
    include_metadata_ids: bool,
) -> context_service_pb2.RecallOptions:
    return context_service_pb2.RecallOptions(
        recall_strategy=parse_choice(recall_strategy, RECALL_STRATEGIES, "recall_strategy"),
        min_top_k=min_top_k,
        max_top_k=max_top_k,
        memories_threshold=memories_threshold,
        summaries_threshold=summaries_threshold,
        last_n_messages=last_n_messages,
        last_n_summaries=last_n_summaries,
        timezone=timezone or "",
        include_system_prompt=include_system_prompt,
        include_metadata_ids=include_metadata_ids,
    )


class NotGiven(enum.Enum):
    """The type of ``NOT_GIVEN``, the default of arguments whose None means something."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven.NOT_GIVEN


def user_update(
    user_id: str,
    new_metadata: Mapping[str, Any] | None,
    new_user_id: str | None,
    merge_conflict_enabled: bool | NotGiven | None,
) -> user_service_pb2.UpdateUserRequest:
    """One UpdateUser whose mask names exactly the arguments given.

    ``merge_conflict_enabled=None`` is named in the mask with the field left
    unset, which resets the override to the project default.
    """
    user = user_pb2.User()
    paths = []
    if new_metadata is not None:
        user.metadata.CopyFrom(struct(new_metadata, "new_metadata"))
        paths.append("metadata")
    if new_user_id is not None:
        user.user_id = new_user_id
        paths.append("user_id")
    if merge_conflict_enabled is not NOT_GIVEN:
        if merge_conflict_enabled is not None:
            user.merge_conflict_enabled = merge_conflict_enabled
        paths.append("merge_conflict_enabled")
    return user_service_pb2.UpdateUserRequest(
        user_id=user_id, user=user, update_mask=field_mask_pb2.FieldMask(paths=paths)
    )


def merge_conflict_answers(
    answers: Sequence[MergeConflictAnswer],
) -> list[merge_conflict_pb2.MergeConflictAnswer]:
    return [
        merge_conflict_pb2.MergeConflictAnswer(
            question=answer.question, answer=answer.answer, message=answer.message or ""
        )
        for answer in answers
    ]


# --- Results ---------------------------------------------------------------


def has_more(next_page_token: str) -> bool:
    return next_page_token != ""


def mapping(value: struct_pb2.Struct) -> dict[str, Any]:
    # A Struct is a protobuf map, whose order varies from one decode to the next;
    # sorted keys make the same metadata always print the same way.
    return {key: _python(value.fields[key]) for key in sorted(value.fields)}


def _python(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        # JSON has one number type; give integral values back as the ints they
        # almost always were, so {"age": 30} round-trips unchanged.
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return mapping(value.struct_value)
    if kind == "list_value":
        return [_python(item) for item in value.list_value.values]
    return None


def _datetime(value: timestamp_pb2.Timestamp) -> datetime:
    return value.ToDatetime(tzinfo=UTC)


def _optional_datetime(message: Any, field: str) -> datetime | None:
    return _datetime(getattr(message, field)) if message.HasField(field) else None


@dataclass(frozen=True, slots=True)
class UserState:
    """What the server last said about a user."""

    user_id: str
    metadata: dict[str, Any] | Unavailable
    merge_conflict_enabled: bool | Unavailable | None
    created_at: datetime | Unavailable
    last_active_at: datetime | Unavailable


def user_state(user: user_pb2.User) -> UserState:
    return UserState(
        user_id=user.user_id,
        metadata=mapping(user.metadata),
        merge_conflict_enabled=(
            user.merge_conflict_enabled if user.HasField("merge_conflict_enabled") else None
        ),
        created_at=_datetime(user.create_time),
        last_active_at=_datetime(user.last_active_time),
    )


def unfetched_user(user_id: str) -> UserState:
    return UserState(user_id, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE)


@dataclass(frozen=True, slots=True)
class SessionState:
    """What the server last said about a session."""

    session_id: str
    status: SessionStatus | Unavailable
    created_at: datetime | Unavailable
    metadata: dict[str, Any] | Unavailable
    auto_process_after_seconds: int | Unavailable | None
    failure_reason: str | Unavailable | None


def session_state(session: session_pb2.Session) -> SessionState:
    return SessionState(
        session_id=session.session_id,
        status=SESSION_STATUS.model(session.status),
        created_at=_datetime(session.create_time),
        metadata=mapping(session.metadata),
        auto_process_after_seconds=session.auto_process_after_seconds or None,
        failure_reason=session.failure_reason or None,
    )


def unfetched_session(session_id: str) -> SessionState:
    return SessionState(session_id, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE)


@dataclass(frozen=True, slots=True)
class MergeConflictState:
    """What the server last said about a merge conflict."""

    conflict_id: str
    user_id: str
    session_id: str
    status: MergeConflictStatus
    proposed_memory_content: str | None
    conflicting_memories: list[MergeConflictConflictingMemory]
    clarifying_questions: list[MergeConflictQuestion]
    answers: list[MergeConflictAnswer]
    new_memory_ids: list[str]
    new_memories: list[MergeConflictNewMemory]
    created_at: datetime
    resolved_at: datetime | None
    failure_reason: str | None


def merge_conflict_state(conflict: merge_conflict_pb2.MergeConflict) -> MergeConflictState:
    return MergeConflictState(
        conflict_id=conflict.merge_conflict_id,
        user_id=conflict.user_id,
        session_id=conflict.session_id,
        status=MERGE_CONFLICT_STATUS.model(conflict.status),
        proposed_memory_content=conflict.new_memory_content or None,
        conflicting_memories=[
            MergeConflictConflictingMemory(
                memory_id=m.memory_id,
                content=m.content,
                reason=m.reason,
                event_date_start=_optional_datetime(m, "event_start_time"),
                event_date_end=_optional_datetime(m, "event_end_time"),
                created_at=_optional_datetime(m, "create_time"),
            )
            for m in conflict.conflicting_memories
        ],
        clarifying_questions=[
            MergeConflictQuestion(question=q.question, options=list(q.options))
            for q in conflict.clarifying_questions
        ],
        answers=[
            MergeConflictAnswer(question=a.question, answer=a.answer, message=a.message or None)
            for a in conflict.answers
        ],
        new_memory_ids=list(conflict.new_memory_ids),
        new_memories=[
            MergeConflictNewMemory(
                memory_id=m.memory_id,
                content=m.content,
                event_date_start=_optional_datetime(m, "event_start_time"),
                event_date_end=_optional_datetime(m, "event_end_time"),
                created_at=_datetime(m.create_time),
            )
            for m in conflict.new_memories
        ],
        created_at=_datetime(conflict.create_time),
        resolved_at=_optional_datetime(conflict, "resolve_time"),
        failure_reason=conflict.failure_reason or None,
    )


def resolution_data(answers: Sequence[MergeConflictAnswer]) -> dict[str, Any] | None:
    """The answers a conflict was resolved with, in the official SDK's shape."""
    if not answers:
        return None
    return {
        "question_answers": [
            {"question": a.question, "answer": a.answer, "message": a.message} for a in answers
        ]
    }


def message(value: session_pb2.Message) -> Message:
    return Message(
        role=MESSAGE_ROLE.model(value.role),
        content=value.content,
        timestamp=_datetime(value.create_time),
        message_id=value.message_id,
        session_id=value.session_id,
    )


def memory(
    value: memory_pb2.Memory, include_previous_versions: bool, include_connected_memories: bool
) -> UserMemoryItem:
    """A memory; the lists not asked for are None rather than empty, as in the official SDK."""
    return UserMemoryItem(
        memory_id=value.memory_id,
        categories=list(value.categories),
        content=value.content,
        event_date_start=_optional_datetime(value, "event_start_time"),
        event_date_end=_optional_datetime(value, "event_end_time"),
        created_at=_datetime(value.create_time),
        version_number=value.version_number,
        total_versions=value.total_versions,
        has_previous_versions=value.has_previous_versions,
        previous_versions=(
            [_memory_version(version) for version in value.previous_versions]
            if include_previous_versions
            else None
        ),
        connected_memories=(
            [
                MemoryRelationship(memory_id=connected.memory_id, content=connected.content)
                for connected in value.connected_memories
            ]
            if include_connected_memories
            else None
        ),
        merge_conflict_in_progress=value.merge_conflict_in_progress,
        merge_conflict_id=value.merge_conflict_id or None,
        expired_at=_optional_datetime(value, "expire_time"),
        expiration_reason=EXPIRATION_REASON.optional_model(value.expiration_reason),
        session_id=value.session_id,
        source_message_ids=list(value.source_message_ids),
    )


def _memory_version(value: memory_pb2.MemoryVersion) -> MemoryVersionInfo:
    return MemoryVersionInfo(
        memory_id=value.memory_id,
        version_number=value.version_number,
        content=value.content,
        event_date_start=_optional_datetime(value, "event_start_time"),
        event_date_end=_optional_datetime(value, "event_end_time"),
        created_at=_datetime(value.create_time),
        expired_at=_optional_datetime(value, "expire_time"),
        expiration_reason=EXPIRATION_REASON.optional_model(value.expiration_reason),
        merge_conflict_id=value.merge_conflict_id or None,
    )


def context(value: context_pb2.Context, include_metadata_ids: bool) -> ContextResponse:
    """The final answer of a recall; the id lists are None unless they were asked for."""
    metadata = value.metadata
    queries = list(metadata.queries)
    date_range_filters = [
        # Recallr understands event-date ranges only.
        QueryDateRangeFilter(
            filter_type=DateRangeFilterType.EVENT_DATE,
            start_date=_optional_datetime(date_range, "start_time"),
            end_date=_optional_datetime(date_range, "end_time"),
        )
        for date_range in metadata.date_filters
    ]
    return ContextResponse(
        is_final=True,
        context=value.text,
        metadata=ContextMetadata(
            agent_reasoning=metadata.agent_reasoning or None,
            memory_ids=list(metadata.memory_ids) if include_metadata_ids else None,
            session_ids=list(metadata.session_ids) if include_metadata_ids else None,
            message_ids=list(metadata.message_ids) if include_metadata_ids else None,
            vector_search_queries=queries,
            # Session summaries are searched with the same queries as memories.
            session_summaries_search_queries=queries,
            keywords=list(metadata.keywords),
            date_range_filters=date_range_filters or None,
            recall_strategy_used=RECALL_STRATEGY.model(value.recall_strategy_used),
        ),
    )


def context_event(
    value: context_service_pb2.StreamRecallContextResponse, include_metadata_ids: bool
) -> ContextResponse:
    if value.HasField("context"):
        return context(value.context, include_metadata_ids)
    return ContextResponse(
        is_final=False,
        status_update_message=value.status_update.message,
        status_update_step=value.status_update.step,
    )


def category(value: category_pb2.Category) -> Category:
    return Category(name=value.name, description=value.description)


def data_counts(value: user_export_pb2.UserDataCounts) -> UserDataCounts:
    return UserDataCounts(
        sessions=value.sessions,
        messages=value.messages,
        memories=value.memories,
        memory_links=value.memory_links,
        merge_conflicts=value.merge_conflicts,
        session_summaries=value.session_summaries,
    )
