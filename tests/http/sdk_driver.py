"""Drives every method of the unchanged official RecallrAI SDK against a Recallr server.

Run as `python -m tests.http.sdk_driver SDK_DIR sync|async` with a JSON job on stdin
(base_url, api_key, project_id, and the ids of a linked memory the test seeded): SDK_DIR
goes first on `sys.path`, so `recallrai` is the official SDK, not Recallr's client of the
same name. Each step asserts what the SDK gives back; the first failure exits non-zero.
The scenario is written once, as a coroutine: `call` awaits what the async client
returns and passes through what the sync one does.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KEEP_NEW, KEEP_EXISTING = "The new information", "The existing memory"
PROMPT_START = "You are an assistant with a long-term memory of this user"


async def call(method: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    result = method(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


async def events(method: Callable[..., Any], /, **kwargs: Any) -> list[Any]:
    stream = method(**kwargs)
    if hasattr(stream, "__aiter__"):
        return [event async for event in stream]
    return list(stream)


async def fails(
    error: type[BaseException], method: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Any:
    try:
        await call(method, *args, **kwargs)
    except error as raised:
        return raised
    raise AssertionError(f"{method.__name__}{args} did not raise {error.__name__}")


async def wait_until(refresh: Callable[[], Any], done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        await call(refresh)
        if done():
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def at(day: int, hour: int) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


class Scenario:
    def __init__(self, sdk: Any, flavour: str, job: dict[str, Any]) -> None:
        self.sdk = sdk
        self.job = job
        self.client_class = sdk.AsyncRecallrAI if flavour == "async" else sdk.RecallrAI
        self.client = self.connect(job["api_key"])
        from recallrai import exceptions, models

        self.errors, self.models = exceptions, models

    def connect(self, api_key: str) -> Any:
        job = self.job
        return self.client_class(
            api_key=api_key, project_id=job["project_id"], base_url=job["base_url"], timeout=60
        )

    async def converse(self, user: Any, when: datetime, text: str) -> Any:
        session = await call(
            user.create_session, custom_created_at_utc=when, metadata={"at": when.isoformat()}
        )
        await call(session.add_message, role=self.models.MessageRole.USER, content=text)
        await call(session.process)
        processed = self.models.SessionStatus.PROCESSED
        await wait_until(session.refresh, lambda: session.status == processed, "processing")
        return session

    async def run(self) -> None:
        user = await self.users()
        first = await self.sessions(user)
        conflict = await self.merge_conflicts(user)
        await self.memories(user, conflict)
        await self.context(user, first)
        await self.deletes(user, first)
        await self.authentication()

    async def users(self) -> Any:
        e, client = self.errors, self.client
        user = await call(
            client.create_user, "ada", metadata={"team": "blue"}, merge_conflict_enabled=True
        )
        assert (user.user_id, user.metadata, user.merge_conflict_enabled) == (
            "ada",
            {"team": "blue"},
            True,
        )
        await fails(e.UserAlreadyExistsError, client.create_user, "ada")
        await call(client.create_user, "bob", metadata={"team": "red"})
        page = await call(client.list_users, metadata_filter={"team": "blue"})
        assert ([u.user_id for u in page.users], page.total, page.has_more) == (["ada"], 1, False)
        page = await call(client.list_users, offset=0, limit=1)
        # ada, bob, and the user the test seeded with linked memories.
        assert (len(page.users), page.total, page.has_more) == (1, 3, True)
        await fails(e.UserAlreadyExistsError, user.update, new_user_id="bob")
        await call(user.update, new_user_id="ada2", new_metadata={"team": "green"})
        assert (user.user_id, user.metadata) == ("ada2", {"team": "green"})
        await call(user.update, new_user_id="ada")
        await call(user.update)
        await call(user.refresh)
        assert (user.user_id, user.metadata, user.merge_conflict_enabled) == (
            "ada",
            {"team": "green"},
            True,
        )
        assert (await call(client.get_user, "ada")).created_at == user.created_at
        await fails(e.UserNotFoundError, client.get_user, "nobody")
        return user

    async def sessions(self, user: Any) -> Any:
        e, m = self.errors, self.models
        first = await self.converse(user, at(1, 9), "My favorite color is blue.")
        assert first.metadata == {"at": at(1, 9).isoformat()} and first.created_at == at(1, 9)
        messages = await call(first.get_messages)
        assert ([x.content for x in messages.messages], messages.total, messages.has_more) == (
            ["My favorite color is blue."],
            1,
            False,
        )
        await fails(
            e.InvalidSessionStateError, first.add_message, role=m.MessageRole.USER, content="Hi"
        )
        await fails(e.InvalidSessionStateError, first.process)
        await call(first.update, new_metadata={"channel": "web"})
        await call(first.refresh)
        assert (first.metadata, first.status) == ({"channel": "web"}, m.SessionStatus.PROCESSED)
        pending = await call(user.create_session)
        listed = await call(user.list_sessions, status_filter=[m.SessionStatus.PENDING])
        assert [s.session_id for s in listed.sessions] == [pending.session_id]
        listed = await call(user.list_sessions, metadata_filter={"channel": "web"})
        assert [s.session_id for s in listed.sessions] == [first.session_id]
        same = await call(user.get_session, first.session_id)
        assert same.metadata == {"channel": "web"}
        await fails(e.SessionNotFoundError, user.get_session, str(uuid.uuid4()))
        await fails(e.SessionNotFoundError, user.get_session, "session-uuid")
        # A session object of a user deleted since reads the user, not the session, as gone.
        ghost = await call(self.client.create_user, "ghost")
        orphan = await call(ghost.create_session)
        await call(ghost.delete)
        await fails(e.UserNotFoundError, orphan.refresh)
        await self.converse(user, at(1, 18), "My favorite color is green.")
        last = await call(user.get_last_n_messages, 2)
        assert [x.content for x in last.messages] == [
            "My favorite color is blue.",
            "My favorite color is green.",
        ]
        assert {x.session_id for x in last.messages} >= {first.session_id}
        await fails(e.UserNotFoundError, (await self.stranger()).get_last_n_messages, 1)
        return first

    async def stranger(self) -> Any:
        """A user object of a user that no longer exists."""
        ghost = await call(self.client.create_user, "ghost")
        await call(ghost.delete)
        return ghost

    async def merge_conflicts(self, user: Any) -> Any:
        e, m = self.errors, self.models
        page = await call(user.list_merge_conflicts, status=m.MergeConflictStatus.PENDING)
        (conflict,) = page.conflicts
        assert "green" in (conflict.proposed_memory_content or "")
        (conflicting,) = conflict.conflicting_memories
        assert "blue" in conflicting.content and conflicting.created_at.tzinfo is not None
        (question,) = conflict.clarifying_questions
        stale = await call(user.get_merge_conflict, conflict.conflict_id)
        Answer = m.MergeConflictAnswer
        await fails(e.MergeConflictMissingAnswersError, conflict.resolve, [])
        await fails(
            e.MergeConflictInvalidQuestionsError,
            conflict.resolve,
            [Answer(question="Not asked?", answer=KEEP_NEW)],
        )
        await fails(
            e.MergeConflictInvalidAnswerError,
            conflict.resolve,
            [Answer(question=question.question, answer="Maybe")],
        )
        twice = [Answer(question=question.question, answer=KEEP_NEW)] * 2
        await fails(e.ValidationError, conflict.resolve, twice)
        await call(
            conflict.resolve,
            [Answer(question=question.question, answer=KEEP_NEW, message="I changed my mind")],
        )
        assert conflict.status == m.MergeConflictStatus.IN_QUEUE
        assert conflict.resolution_data["question_answers"][0]["message"] == "I changed my mind"
        resolved = m.MergeConflictStatus.RESOLVED
        await wait_until(conflict.refresh, lambda: conflict.status == resolved, "the resolution")
        assert conflict.resolved_at is not None
        raised = await fails(
            e.MergeConflictAlreadyResolvedError,
            stale.resolve,
            [Answer(question=question.question, answer=KEEP_EXISTING)],
        )
        assert raised.http_status == 400
        fresh = await call(user.get_merge_conflict, conflict.conflict_id)
        (new,) = fresh.new_memories
        assert "green" in new.content and new.event_date_start is not None
        await fails(e.MergeConflictNotFoundError, user.get_merge_conflict, str(uuid.uuid4()))
        listed = await call(user.list_merge_conflicts, sort_by="resolved_at", sort_order="asc")
        assert [c.conflict_id for c in listed.conflicts] == [conflict.conflict_id]
        return fresh

    async def memories(self, user: Any, conflict: Any) -> None:
        e = self.errors
        (new,) = conflict.new_memories
        page = await call(user.list_memories, categories=["preferences", "opinions"])
        current = next(item for item in page.items if item.memory_id == new.memory_id)
        assert (current.version_number, current.total_versions, current.has_previous_versions) == (
            2,
            2,
            True,
        )
        (previous,) = current.previous_versions
        assert "blue" in previous.content and previous.expiration_reason == "MERGE_CONFLICT"
        assert previous.merge_conflict_id == conflict.conflict_id
        bare = await call(
            user.list_memories, include_previous_versions=False, include_connected_memories=False
        )
        assert all(
            item.previous_versions is None and item.connected_memories is None
            for item in bare.items
        )
        old = await call(user.get_memory, previous.memory_id)
        assert old.expired_at is not None and old.expiration_reason == "MERGE_CONFLICT"
        raised = await fails(
            e.InvalidCategoriesError,
            user.list_memories,
            categories=["preferences", "no_such_thing"],
        )
        assert raised.invalid_categories == ["no_such_thing"]
        missing = await fails(e.RecallrAIError, user.get_memory, str(uuid.uuid4()))
        assert type(missing) is e.RecallrAIError and missing.http_status == 404
        linked = self.job["linked"]
        shown = await call(self.client.get_user, linked["user_id"])
        memory = await call(shown.get_memory, linked["memory_id"])
        assert [c.memory_id for c in memory.connected_memories] == [linked["connected_id"]]
        by_session = await call(user.list_memories, session_id_filter=[str(uuid.uuid4())])
        assert by_session.total == 0

    async def context(self, user: Any, first: Any) -> None:
        e, m = self.errors, self.models
        asking = await call(user.create_session, custom_created_at_utc=at(2, 9))
        await call(
            asking.add_message, role=m.MessageRole.USER, content="What is my favorite color?"
        )
        for strategy in m.RecallStrategy:
            answer = await call(
                asking.get_context, recall_strategy=strategy, include_metadata_ids=True
            )
            assert answer.is_final and "green" in (answer.context or ""), strategy
            used = answer.metadata.recall_strategy_used
            assert used in (m.RecallStrategy.LOW_LATENCY, m.RecallStrategy.BALANCED), strategy
            assert answer.metadata.memory_ids, strategy
            # The SDK prepends the prompt it fetched, except to an AGENTIC answer Recallr ran
            # as BALANCED (no chat model here): it fetched only the agentic prompt then.
            prompted = strategy is not m.RecallStrategy.AGENTIC
            assert answer.context.startswith(PROMPT_START) == prompted, strategy
            assert answer.context.count(PROMPT_START) == int(prompted), strategy
        plain = await call(asking.get_context, recall_strategy=m.RecallStrategy.LOW_LATENCY)
        assert plain.metadata.memory_ids is None and plain.metadata.vector_search_queries
        streamed = await events(
            asking.get_context_stream,
            recall_strategy=m.RecallStrategy.BALANCED,
            timezone="Europe/Lisbon",
        )
        assert all(not event.is_final and event.status_update_message for event in streamed[:-1])
        assert streamed[-1].is_final and "green" in streamed[-1].context
        await fails(e.ValidationError, asking.get_context, timezone="Mars/Olympus")
        gone = await call(user.create_session)
        await call(gone.delete)
        await fails(e.SessionNotFoundError, gone.get_context)
        (failed,) = await events(gone.get_context_stream)
        assert failed.is_final and failed.context is None and "not found" in failed.error_message

    async def deletes(self, user: Any, first: Any) -> None:
        e = self.errors
        page = await call(user.list_memories)
        target = page.items[0]
        await call(user.delete_memory, target.memory_id, delete_previous_versions=True)
        await fails(e.RecallrAIError, user.get_memory, target.memory_id)
        await call(first.delete)
        await fails(e.SessionNotFoundError, user.get_session, first.session_id)
        await fails(e.SessionNotFoundError, first.get_messages)
        await call(user.delete)
        await fails(e.UserNotFoundError, self.client.get_user, "ada")
        await fails(e.UserNotFoundError, user.refresh)

    async def authentication(self) -> None:
        wrong = self.connect("rai_" + uuid.uuid4().hex)
        raised = await fails(self.errors.AuthenticationError, wrong.list_users)
        assert raised.http_status == 401


def main() -> None:
    sdk_dir = Path(sys.argv[1]).resolve()
    flavour = sys.argv[2]
    sys.path.insert(0, str(sdk_dir))
    import recallrai

    assert Path(recallrai.__file__).resolve().is_relative_to(sdk_dir), recallrai.__file__
    job = json.load(sys.stdin)
    asyncio.run(Scenario(recallrai, flavour, job).run())
    print("ok", flavour)


if __name__ == "__main__":
    main()
