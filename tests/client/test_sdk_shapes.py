"""The client answers in the official SDK's shapes, filled from a real server over loopback.

The names match the SDK by introspection (test_sdk_surface.py); these tests pin what
the new and reshaped parts hold: the context metadata, streamed events, the merge
conflict and memory shapes, the SDK's defaults and positional order, and each
error's HTTP status. Every scenario runs through the sync and the async client.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from recallr_server.store import models
from recallrai.exceptions import (
    ConnectionError,
    RecallrAIError,
    UserAlreadyExistsError,
    UserNotFoundError,
    ValidationError,
)
from recallrai.models import (
    ContextResponse,
    DateRangeFilterType,
    MergeConflictAnswer,
    MergeConflictStatus,
    MessageRole,
    QueryDateRangeFilter,
    RecallStrategy,
    SessionStatus,
)
from tests.client.flavours import Api
from tests.support import seed

QUESTION = "Where does Ada live now?"


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def processed_session(api: Api, user: Any, when: datetime, text: str) -> Any:
    """A session at `when` where the user said `text`, processed into memories."""
    session = await api.call(user.create_session, custom_created_at_utc=when)
    await api.call(session.add_message, MessageRole.USER, text)
    await api.call(session.process)
    for _ in range(1200):
        await api.call(session.refresh)
        if session.status in (SessionStatus.PROCESSED, SessionStatus.FAILED):
            break
        await asyncio.sleep(0.05)
    assert session.status == SessionStatus.PROCESSED, session.failure_reason
    return session


async def asking(api: Api, user: Any, question: str) -> Any:
    session = await api.call(user.create_session, custom_created_at_utc=at(2023, 8, 1))
    await api.call(session.add_message, MessageRole.USER, question)
    return session


async def test_context_metadata_names_what_recall_searched_and_used(api: Api) -> None:
    user = await api.call(api.client.create_user, "ada")
    await processed_session(api, user, at(2023, 5, 14), "I ran a half marathon in Lisbon.")
    (memory,) = (await api.call(user.list_memories)).items
    question = "Which race did I run in Lisbon?"
    session = await asking(api, user, question)
    answer = await api.call(
        session.get_context,
        recall_strategy=RecallStrategy.BALANCED,
        memories_threshold=0.0,
        include_metadata_ids=True,
    )
    assert isinstance(answer, ContextResponse)
    assert (answer.is_final, answer.error_message, answer.status_update_message) == (
        True,
        None,
        None,
    )
    assert answer.context is not None and "half marathon" in answer.context
    metadata = answer.metadata
    assert metadata is not None
    assert metadata.recall_strategy_used is RecallStrategy.BALANCED
    assert metadata.memory_ids is not None and memory.memory_id in metadata.memory_ids
    assert metadata.session_ids is not None and metadata.message_ids is not None
    assert metadata.vector_search_queries is not None and question in metadata.vector_search_queries
    assert metadata.session_summaries_search_queries == metadata.vector_search_queries
    assert metadata.keywords
    assert (metadata.date_range_filters, metadata.agent_reasoning) == (None, None)
    await date_ranges_and_no_ids_unless_asked(api, user)


async def date_ranges_and_no_ids_unless_asked(api: Api, user: Any) -> None:
    session = await asking(api, user, "What race did I run last May?")
    answer = await api.call(session.get_context, recall_strategy=RecallStrategy.BALANCED)
    metadata = answer.metadata
    assert metadata is not None
    assert metadata.date_range_filters == [
        QueryDateRangeFilter(
            filter_type=DateRangeFilterType.EVENT_DATE,
            start_date=at(2023, 5, 1, 0),
            end_date=at(2023, 6, 1, 0),
        )
    ]
    assert (metadata.memory_ids, metadata.session_ids, metadata.message_ids) == (None, None, None)


async def test_a_streamed_recall_yields_progress_then_one_final_context(api: Api) -> None:
    user = await api.call(api.client.create_user, "ada")
    session = await asking(api, user, "Which race did I run in Lisbon?")
    stream = session.get_context_stream(recall_strategy=RecallStrategy.LOW_LATENCY)
    events: list[ContextResponse] = []
    while not (events and events[-1].is_final):
        events.append(await api.next(stream))
    *progress, final = events
    assert progress, "progress comes before the context"
    for event in progress:
        assert event.status_update_message and event.status_update_step
        assert (event.context, event.metadata) == (None, None)
    assert final.context is not None and final.metadata is not None
    assert final.metadata.recall_strategy_used is RecallStrategy.LOW_LATENCY
    assert final.status_update_message is None


async def test_create_user_sets_the_merge_conflict_override(api: Api) -> None:
    never = await api.call(api.client.create_user, "never", merge_conflict_enabled=False)
    always = await api.call(api.client.create_user, "always", {"k": 1}, True)
    inherits = await api.call(api.client.create_user, "inherits")
    assert (never.merge_conflict_enabled, always.merge_conflict_enabled) == (False, True)
    assert (always.metadata, inherits.merge_conflict_enabled) == ({"k": 1}, None)
    fetched = await api.call(api.client.get_user, "never")
    assert fetched.merge_conflict_enabled is False


async def test_list_memories_takes_the_sdks_positional_order(api: Api) -> None:
    user = await api.call(api.client.create_user, "ada")
    owner = await seed.existing_user(api.tenant.server.db, api.tenant.project_id, "ada")
    for fact in ("Ada keeps bees.", "Ada sails.", "Ada bakes bread."):
        await seed.add_chain(api.tenant.server.db, owner, [seed.Version(fact)])
    page = await api.call(user.list_memories, 1, 1)
    assert (len(page.items), page.total, page.has_more) == (1, 3, True)


async def test_version_and_connection_lists_are_none_unless_asked_for(api: Api) -> None:
    user = await api.call(api.client.create_user, "ada")
    owner = await seed.existing_user(api.tenant.server.db, api.tenant.project_id, "ada")
    db = api.tenant.server.db
    moved = await seed.add_chain(
        db,
        owner,
        [
            seed.Version(
                "Ada lives in Paris.", expiration_reason=models.ExpirationReason.MERGE_CONFLICT
            ),
            seed.Version("Ada lives in Berlin."),
        ],
    )
    await seed.link(db, owner, moved, await seed.add_chain(db, owner, [seed.Version("Ada sails.")]))
    bare = await api.call(user.get_memory, moved.current, False, False)
    assert (bare.previous_versions, bare.connected_memories) == (None, None)
    full = await api.call(user.get_memory, moved.current)
    (previous,) = full.previous_versions or []
    assert previous.expiration_reason == "MERGE_CONFLICT"
    assert [m.content for m in full.connected_memories or []] == ["Ada sails."]
    (listed,) = (await api.call(user.list_memories, include_previous_versions=False)).items[:1]
    assert listed.previous_versions is None and listed.connected_memories is not None


async def test_a_merge_conflict_reads_in_the_sdks_shape(api: Api) -> None:
    user = await api.call(api.client.create_user, "ada")
    owner = await seed.existing_user(api.tenant.server.db, api.tenant.project_id, "ada")
    conflict_id = await seed.add_merge_conflict(
        api.tenant.server.db,
        owner,
        status=models.MergeConflictStatus.PENDING,
        new_memory_content="Ada lives in Berlin.",
        conflicting=[seed.ConflictingMemory(str(uuid.uuid4()), "Ada lives in Paris.", "moved")],
        questions=[seed.ClarifyingQuestion(QUESTION, ["Berlin", "Paris"])],
    )
    conflict = await api.call(user.get_merge_conflict, conflict_id)
    assert (conflict.status, conflict.status.value) == (MergeConflictStatus.PENDING, "PENDING")
    assert conflict.proposed_memory_content == "Ada lives in Berlin."
    assert (conflict.resolution_data, conflict.new_memories) == (None, None)
    (conflicting,) = conflict.conflicting_memories
    assert (conflicting.content, conflicting.reason) == ("Ada lives in Paris.", "moved")
    assert (conflicting.event_date_start, conflicting.created_at) == (None, None)
    await api.call(conflict.resolve, [MergeConflictAnswer(QUESTION, "Berlin", "She moved")])
    assert conflict.status is MergeConflictStatus.IN_QUEUE
    assert conflict.resolution_data == {
        "question_answers": [{"question": QUESTION, "answer": "Berlin", "message": "She moved"}]
    }


async def test_sessions_default_to_processing_after_ten_idle_minutes(api: Api) -> None:
    user = await api.call(api.client.create_user, "ada")
    default = await api.call(user.create_session, metadata={"channel": "web"})
    on_request = await api.call(user.create_session, None)
    assert (default.auto_process_after_seconds, on_request.auto_process_after_seconds) == (
        600,
        None,
    )
    await api.call(default.update)
    await api.call(default.refresh)
    assert default.metadata == {"channel": "web"}


async def unreachable(api: Api) -> Any:
    refusing = socket.socket()
    refusing.bind(("127.0.0.1", 0))
    with refusing:
        client = api.connect(target=f"127.0.0.1:{refusing.getsockname()[1]}", timeout=10)
        return await api.call(client.create_user, "ada")


async def twice(api: Api) -> Any:
    await api.call(api.client.create_user, "ada")
    return await api.call(api.client.create_user, "ada")


@pytest.mark.parametrize(
    ("failing", "error", "http_status"),
    [
        (lambda api: api.call(api.client.get_user, "nobody"), UserNotFoundError, 404),
        (twice, UserAlreadyExistsError, 409),
        (lambda api: api.call(api.client.list_users, limit=0), ValidationError, 422),
        (unreachable, ConnectionError, 0),
    ],
    ids=["not-found", "already-exists", "refused-before-any-call", "unreachable"],
)
async def test_each_error_carries_the_http_status_of_the_same_failure(
    api: Api, failing: Any, error: type[RecallrAIError], http_status: int
) -> None:
    with pytest.raises(RecallrAIError) as raised:
        await failing(api)
    assert type(raised.value) is error
    assert raised.value.http_status == http_status
