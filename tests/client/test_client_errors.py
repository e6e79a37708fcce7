"""Every error the server produces reaches the caller as the documented exception.

One table of scenarios runs through both the sync and the async client (see
`flavours.py`). Each scenario arranges a state through the public client (and
the store where only processing could get there), makes one failing call and
names the exception class, status code, ErrorInfo reason and metadata it must
raise. Reasons no call of the client can provoke are listed, with why, in
`UNREACHABLE`.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest

from recallr.v1 import error_reason_pb2, user_service_pb2
from recallr_server.domain.sessions import DEFAULT_MAX_MESSAGES_PER_SESSION
from recallr_server.store import models
from recallr_server.store.database import Database
from recallrai.exceptions import (
    AuthenticationError,
    CategoryAlreadyExistsError,
    CategoryNotFoundError,
    ConnectionError,
    InvalidCategoriesError,
    InvalidSessionStateError,
    MemoryNotFoundError,
    MergeConflictAlreadyResolvedError,
    MergeConflictInvalidAnswerError,
    MergeConflictInvalidQuestionsError,
    MergeConflictMissingAnswersError,
    MergeConflictNotFoundError,
    RecallrAIError,
    SessionFullError,
    SessionNotFoundError,
    TimeoutError,
    UserAlreadyExistsError,
    UserNotFoundError,
    ValidationError,
)
from recallrai.models import UNAVAILABLE, MergeConflictAnswer, SessionStatus
from tests.client.flavours import Api
from tests.conftest import ServerThread
from tests.support import seed

QUESTION = "Where does the user live now?"


@dataclass(frozen=True)
class Failure:
    """A call that must fail (not yet run), the metadata its error must carry, and more checks."""

    call: Awaitable[object]
    metadata: Mapping[str, str] = field(default_factory=dict)
    check: Callable[[Any], None] = lambda error: None


@dataclass(frozen=True)
class Scenario:
    arrange: Callable[[Api], Awaitable[Failure]]
    error: type[RecallrAIError]
    code: grpc.StatusCode | None
    reason: str | None


def violated_fields(*fields: str) -> Callable[[Any], None]:
    def check(error: Any) -> None:
        assert [name for name, _ in error.field_violations] == list(fields)

    return check


def attribute(name: str, expected: object) -> Callable[[Any], None]:
    def check(error: Any) -> None:
        assert getattr(error, name) == expected

    return check


async def new_user(api: Api, user_id: str = "alice") -> Any:
    return await api.call(api.client.create_user, user_id)


async def mark_session(db: Database, session_id: str, status: models.SessionStatus) -> None:
    """Puts a session where only processing would, without running it."""
    async with db.write() as session:
        row = await session.get_one(models.Session, session_id)
        row.status = status


async def conflict_of(
    api: Api, status: models.MergeConflictStatus = models.MergeConflictStatus.PENDING
) -> Any:
    """A merge conflict of a new user asking one question, as processing would raise it."""
    user = await new_user(api)
    owner = await seed.existing_user(api.tenant.server.db, api.tenant.project_id, user.user_id)
    conflict_id = await seed.add_merge_conflict(
        api.tenant.server.db,
        owner,
        status=status,
        questions=[seed.ClarifyingQuestion(QUESTION, ["Berlin", "Paris"])],
    )
    return await api.call(user.get_merge_conflict, conflict_id)


async def missing_api_key(api: Api) -> Failure:
    client = api.connect(api_key="")
    return Failure(api.call(client.get_user, "alice"), {"missing": "authorization"})


async def missing_project_id(api: Api) -> Failure:
    client = api.connect(project_id="")
    return Failure(api.call(client.get_user, "alice"), {"missing": "x-recallr-project-id"})


async def unknown_api_key(api: Api) -> Failure:
    client = api.connect(api_key="rai_" + "x" * 43)
    return Failure(api.call(client.get_user, "alice"))


async def blank_user_id(api: Api) -> Failure:
    return Failure(
        api.call(api.client.create_user, " "),
        {"field": "user.user_id"},
        violated_fields("user.user_id"),
    )


async def foreign_page_token(api: Api) -> Failure:
    # No public method sends a page token (they page by offset), so this goes
    # through the transport under every public method, with its error translation.
    transport = api.client._transport
    request = user_service_pb2.ListUsersRequest(page_token="not-a-token")
    return Failure(
        api.call(transport.unary, transport.users.ListUsers, request),
        {"field": "page_token"},
    )


async def unknown_user(api: Api) -> Failure:
    return Failure(api.call(api.client.get_user, "nobody"), {"user_id": "nobody"})


async def unknown_user_behind_unvalidated_handle(api: Api) -> Failure:
    user = await api.call(api.client.get_user, "nobody", validate=False)
    return Failure(api.call(user.list_sessions), {"user_id": "nobody"})


async def duplicate_user(api: Api) -> Failure:
    await new_user(api)
    return Failure(api.call(api.client.create_user, "alice"), {"user_id": "alice"})


async def rename_onto_existing_user(api: Api) -> Failure:
    user = await new_user(api)
    await new_user(api, "bob")
    return Failure(api.call(user.update, new_user_id="bob"), {"user_id": "bob"})


async def unknown_session(api: Api) -> Failure:
    user = await new_user(api)
    session_id = str(uuid.uuid4())
    return Failure(api.call(user.get_session, session_id), {"session_id": session_id})


async def message_to_processed_session(api: Api) -> Failure:
    user = await new_user(api)
    session = await api.call(user.create_session)
    await mark_session(api.tenant.server.db, session.session_id, models.SessionStatus.PROCESSED)
    return Failure(
        api.call(session.add_message, "user", "Hello"),
        {"session_id": session.session_id, "status": "PROCESSED"},
    )


async def message_to_full_session(api: Api) -> Failure:
    user = await new_user(api)
    session = await api.call(user.create_session)
    # The count the most messages a session may hold leave, without adding them one by one.
    async with api.tenant.server.db.write() as tx:
        row = await tx.get_one(models.Session, session.session_id)
        row.message_count = DEFAULT_MAX_MESSAGES_PER_SESSION
    return Failure(
        api.call(session.add_message, "user", "Hello"),
        {"session_id": session.session_id, "max_messages": str(DEFAULT_MAX_MESSAGES_PER_SESSION)},
    )


async def unknown_memory(api: Api) -> Failure:
    user = await new_user(api)
    memory_id = str(uuid.uuid4())
    return Failure(api.call(user.get_memory, memory_id), {"memory_id": memory_id})


async def delete_unknown_memory(api: Api) -> Failure:
    user = await new_user(api)
    memory_id = str(uuid.uuid4())
    return Failure(api.call(user.delete_memory, memory_id), {"memory_id": memory_id})


async def unknown_categories(api: Api) -> Failure:
    user = await new_user(api)
    return Failure(
        api.call(user.list_memories, categories=["zodiac", "food_preferences", "astrology"]),
        {"invalid_categories": "astrology,zodiac"},
        attribute("invalid_categories", ["astrology", "zodiac"]),
    )


async def delete_unknown_category(api: Api) -> Failure:
    return Failure(api.call(api.client.delete_category, "zodiac"), {"category": "zodiac"})


async def duplicate_category(api: Api) -> Failure:
    return Failure(
        api.call(api.client.create_category, "food_preferences"), {"category": "food_preferences"}
    )


async def unknown_merge_conflict(api: Api) -> Failure:
    user = await new_user(api)
    conflict_id = str(uuid.uuid4())
    return Failure(
        api.call(user.get_merge_conflict, conflict_id), {"merge_conflict_id": conflict_id}
    )


async def resolve_resolved_conflict(api: Api) -> Failure:
    conflict = await conflict_of(api, models.MergeConflictStatus.RESOLVED)
    answers = [MergeConflictAnswer(QUESTION, "Berlin")]
    return Failure(
        api.call(conflict.resolve, answers),
        {"merge_conflict_id": conflict.conflict_id, "status": "RESOLVED"},
    )


async def answer_unasked_question(api: Api) -> Failure:
    conflict = await conflict_of(api)
    answers = [MergeConflictAnswer(QUESTION, "Berlin"), MergeConflictAnswer("Age?", "42")]
    return Failure(
        api.call(conflict.resolve, answers),
        {"invalid_questions": "Age?"},
        attribute("invalid_questions", ["Age?"]),
    )


async def leave_question_unanswered(api: Api) -> Failure:
    conflict = await conflict_of(api)
    return Failure(
        api.call(conflict.resolve, []),
        {"missing_questions": QUESTION},
        attribute("missing_questions", [QUESTION]),
    )


async def answer_outside_options(api: Api) -> Failure:
    conflict = await conflict_of(api)
    answers = [MergeConflictAnswer(QUESTION, "London")]
    return Failure(api.call(conflict.resolve, answers), {"question": QUESTION, "answer": "London"})


async def tail_on_server_shutting_down(api: Api) -> Failure:
    # A server of its own over the same database, so stopping it spares the others.
    doomed = ServerThread(api.tenant.server.settings)
    client = api.connect(target=doomed.target)
    user = await api.call(client.create_user, "alice")
    session = await api.call(user.create_session)
    await api.call(session.add_message, "user", "Hello")
    stream = user.tail_messages(n=1, follow=True, timeout=30)
    # The first message proves the tail has moved on to following.
    await api.next(stream)

    async def read_while_stopping() -> object:
        stopping = asyncio.get_running_loop().run_in_executor(None, doomed.stop)
        try:
            return await api.next(stream)
        finally:
            await stopping

    return Failure(read_while_stopping())


async def unreachable_server(api: Api) -> Failure:
    # Bound but never listening: connections are refused and no one else gets the port.
    refusing = socket.socket()
    refusing.bind(("127.0.0.1", 0))
    client = api.connect(target=f"127.0.0.1:{refusing.getsockname()[1]}", timeout=10)

    async def create() -> object:
        with refusing:
            # CreateUser is not retried, so the refusal surfaces at once.
            return await api.call(client.create_user, "alice")

    return Failure(create())


async def tail_past_its_deadline(api: Api) -> Failure:
    user = await new_user(api)
    return Failure(api.next(user.tail_messages(n=0, follow=True, timeout=0.2)))


async def list_memories_limit_0(api: Api) -> Failure:
    user = await new_user(api)
    return Failure(api.call(user.list_memories, limit=0), check=violated_fields("limit"))


async def list_memories_limit_201(api: Api) -> Failure:
    user = await new_user(api)
    return Failure(api.call(user.list_memories, limit=201), check=violated_fields("limit"))


C = grpc.StatusCode
SCENARIOS = [
    Scenario(missing_api_key, AuthenticationError, C.UNAUTHENTICATED, "AUTHENTICATION_REQUIRED"),
    Scenario(missing_project_id, AuthenticationError, C.UNAUTHENTICATED, "AUTHENTICATION_REQUIRED"),
    Scenario(unknown_api_key, AuthenticationError, C.UNAUTHENTICATED, "INVALID_API_KEY"),
    Scenario(blank_user_id, ValidationError, C.INVALID_ARGUMENT, "VALIDATION_FAILED"),
    Scenario(foreign_page_token, ValidationError, C.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN"),
    Scenario(unknown_user, UserNotFoundError, C.NOT_FOUND, "USER_NOT_FOUND"),
    Scenario(
        unknown_user_behind_unvalidated_handle, UserNotFoundError, C.NOT_FOUND, "USER_NOT_FOUND"
    ),
    Scenario(duplicate_user, UserAlreadyExistsError, C.ALREADY_EXISTS, "USER_ALREADY_EXISTS"),
    Scenario(
        rename_onto_existing_user, UserAlreadyExistsError, C.ALREADY_EXISTS, "USER_ALREADY_EXISTS"
    ),
    Scenario(unknown_session, SessionNotFoundError, C.NOT_FOUND, "SESSION_NOT_FOUND"),
    Scenario(
        message_to_processed_session,
        InvalidSessionStateError,
        C.FAILED_PRECONDITION,
        "INVALID_SESSION_STATE",
    ),
    Scenario(message_to_full_session, SessionFullError, C.FAILED_PRECONDITION, "SESSION_FULL"),
    Scenario(unknown_memory, MemoryNotFoundError, C.NOT_FOUND, "MEMORY_NOT_FOUND"),
    Scenario(delete_unknown_memory, MemoryNotFoundError, C.NOT_FOUND, "MEMORY_NOT_FOUND"),
    Scenario(unknown_categories, InvalidCategoriesError, C.INVALID_ARGUMENT, "INVALID_CATEGORIES"),
    Scenario(delete_unknown_category, CategoryNotFoundError, C.NOT_FOUND, "CATEGORY_NOT_FOUND"),
    Scenario(
        duplicate_category, CategoryAlreadyExistsError, C.ALREADY_EXISTS, "CATEGORY_ALREADY_EXISTS"
    ),
    Scenario(
        unknown_merge_conflict, MergeConflictNotFoundError, C.NOT_FOUND, "MERGE_CONFLICT_NOT_FOUND"
    ),
    Scenario(
        resolve_resolved_conflict,
        MergeConflictAlreadyResolvedError,
        C.FAILED_PRECONDITION,
        "MERGE_CONFLICT_ALREADY_RESOLVED",
    ),
    Scenario(
        answer_unasked_question,
        MergeConflictInvalidQuestionsError,
        C.INVALID_ARGUMENT,
        "MERGE_CONFLICT_INVALID_QUESTIONS",
    ),
    Scenario(
        leave_question_unanswered,
        MergeConflictMissingAnswersError,
        C.INVALID_ARGUMENT,
        "MERGE_CONFLICT_MISSING_ANSWERS",
    ),
    Scenario(
        answer_outside_options,
        MergeConflictInvalidAnswerError,
        C.INVALID_ARGUMENT,
        "MERGE_CONFLICT_INVALID_ANSWER",
    ),
    Scenario(tail_on_server_shutting_down, ConnectionError, C.UNAVAILABLE, "SERVICE_UNAVAILABLE"),
    Scenario(unreachable_server, ConnectionError, C.UNAVAILABLE, None),
    Scenario(tail_past_its_deadline, TimeoutError, C.DEADLINE_EXCEEDED, None),
    Scenario(list_memories_limit_0, ValidationError, None, None),
    Scenario(list_memories_limit_201, ValidationError, None, None),
]
# Reasons no call of this client can provoke, and why.
UNREACHABLE = {
    "MALFORMED_REQUEST": "its protobuf runtime never encodes an invalid message",
    "RATE_LIMITED": "only failing authentication again and again provokes it",
    "INTERNAL": "only an unexpected failure inside the server raises it",
    "NOT_IMPLEMENTED": "this server version implements every method of the contract",
}


def test_every_error_reason_has_a_scenario_or_a_reason_it_cannot() -> None:
    reasons = {
        value.name.removeprefix("ERROR_REASON_")
        for value in error_reason_pb2.ErrorReason.DESCRIPTOR.values
        if value.number != error_reason_pb2.ERROR_REASON_UNSPECIFIED
    }
    covered = {scenario.reason for scenario in SCENARIOS if scenario.reason is not None}
    assert covered.isdisjoint(UNREACHABLE)
    assert covered | UNREACHABLE.keys() == reasons


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.arrange.__name__)
async def test_each_server_error_raises_its_exception(api: Api, scenario: Scenario) -> None:
    failure = await scenario.arrange(api)
    with pytest.raises(RecallrAIError) as raised:
        await failure.call
    error = raised.value
    assert type(error) is scenario.error
    assert (error.code, error.reason) == (scenario.code, scenario.reason)
    assert error.metadata == failure.metadata
    failure.check(error)


NOT_UTC = [
    pytest.param(datetime(2025, 1, 1, 12), id="naive"),
    pytest.param(datetime(2025, 7, 1, 12, tzinfo=ZoneInfo("Europe/Berlin")), id="berlin"),
    # Offset zero but a civil zone, not UTC: refused all the same.
    pytest.param(datetime(2025, 1, 1, 12, tzinfo=ZoneInfo("Europe/London")), id="london-winter"),
    pytest.param(datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=1))), id="offset"),
]


@pytest.mark.parametrize("moment", NOT_UTC)
async def test_a_custom_creation_time_not_in_utc_is_refused_before_any_call(
    api: Api, moment: datetime
) -> None:
    user = await new_user(api)
    with pytest.raises(ValueError, match="custom_created_at_utc") as raised:
        await api.call(user.create_session, custom_created_at_utc=moment)
    assert isinstance(raised.value, ValidationError)
    assert raised.value.code is None
    sessions = await api.call(user.list_sessions)
    assert sessions.total == 0


async def test_a_custom_creation_time_in_utc_backdates_the_session(api: Api) -> None:
    user = await new_user(api)
    moment = datetime(2025, 1, 1, 12, tzinfo=UTC)
    session = await api.call(user.create_session, custom_created_at_utc=moment)
    assert session.created_at == moment


async def test_merge_conflict_override_survives_other_updates_until_reset(api: Api) -> None:
    user = await new_user(api)
    assert user.merge_conflict_enabled is None
    await api.call(user.update, merge_conflict_enabled=True)
    assert user.merge_conflict_enabled is True
    await api.call(user.update, new_metadata={"tier": "gold"})
    await api.call(user.refresh)
    assert (user.metadata, user.merge_conflict_enabled) == ({"tier": "gold"}, True)
    await api.call(user.update, merge_conflict_enabled=None)
    assert user.merge_conflict_enabled is None
    await api.call(user.refresh)
    assert (user.metadata, user.merge_conflict_enabled) == ({"tier": "gold"}, None)


async def test_an_unvalidated_user_reads_unavailable_until_refreshed(api: Api) -> None:
    await api.call(api.client.create_user, "alice", {"tier": "gold"})
    user = await api.call(api.client.get_user, "alice", validate=False)
    assert user.user_id == "alice"
    unfetched = (user.metadata, user.merge_conflict_enabled, user.created_at, user.last_active_at)
    assert unfetched == (UNAVAILABLE,) * 4
    await api.call(user.refresh)
    assert user.metadata == {"tier": "gold"}
    assert user.merge_conflict_enabled is None
    assert isinstance(user.created_at, datetime)
    assert isinstance(user.last_active_at, datetime)


async def test_an_unvalidated_session_reads_unavailable_until_refreshed(api: Api) -> None:
    user = await new_user(api)
    created = await api.call(user.create_session, metadata={"channel": "web"})
    session = await api.call(user.get_session, created.session_id, validate=False)
    assert session.session_id == created.session_id
    unfetched = (session.status, session.created_at, session.metadata)
    assert unfetched == (UNAVAILABLE,) * 3
    await api.call(session.refresh)
    assert (session.status, session.created_at, session.metadata) == (
        SessionStatus.PENDING,
        created.created_at,
        {"channel": "web"},
    )


async def test_listing_users_pages_by_offset_and_limit(api: Api) -> None:
    for index in range(5):
        await new_user(api, f"user{index}")
    pages = [await api.call(api.client.list_users, offset=o, limit=2) for o in (0, 2, 4)]
    assert [(len(p.users), p.total, p.has_more) for p in pages] == [
        (2, 5, True),
        (2, 5, True),
        (1, 5, False),
    ]
    listed = [user.user_id for page in pages for user in page.users]
    assert sorted(listed) == [f"user{index}" for index in range(5)]


async def test_listing_sessions_pages_by_offset_and_limit(api: Api) -> None:
    user = await new_user(api)
    created = {(await api.call(user.create_session)).session_id for _ in range(3)}
    first = await api.call(user.list_sessions, offset=0, limit=2)
    rest = await api.call(user.list_sessions, offset=2, limit=2)
    assert (first.total, first.has_more, rest.total, rest.has_more) == (3, True, 3, False)
    listed = [session.session_id for page in (first, rest) for session in page.sessions]
    assert len(listed) == 3
    assert set(listed) == created


async def test_a_following_tail_receives_a_message_added_while_it_is_open(api: Api) -> None:
    user = await new_user(api)
    session = await api.call(user.create_session)
    await api.call(session.add_message, "user", "Is it sunny?")
    stream = user.tail_messages(n=1, follow=True, timeout=10)
    try:
        assert (await api.next(stream)).content == "Is it sunny?"
        added = await api.call(session.add_message, "assistant", "It is.")
        assert await api.next(stream) == added
    finally:
        await api.close_stream(stream)
