"""What processing makes of conversations, seen through the public client."""

from __future__ import annotations

import pytest

from recallr_server.store import models
from recallrai import RecallrAI
from recallrai.exceptions import (
    InvalidSessionStateError,
    MergeConflictAlreadyResolvedError,
    MergeConflictInvalidAnswerError,
    MergeConflictInvalidQuestionsError,
    MergeConflictMissingAnswersError,
)
from recallrai.models import (
    ContextResponse,
    ExpirationReason,
    MergeConflictAnswer,
    MergeConflictStatus,
    RecallStrategy,
    SessionStatus,
)
from tests.conftest import Tenant
from tests.engine.scenarios import (
    ASSISTANT,
    USER,
    at,
    converse,
    memories,
    only,
    wait_until,
)

KEEP_NEW, KEEP_EXISTING, KEEP_BOTH = "The new information", "The existing memory", "Both are true"


def test_a_stated_fact_becomes_a_categorised_memory_with_its_source(client: RecallrAI) -> None:
    user = client.create_user("ada")
    session = converse(user, at(2024, 1, 10), (USER, "I'm allergic to peanuts."))
    memory = only(user, "allergic", "peanuts")
    assert "allergies" in memory.categories
    assert memory.session_id == session.session_id
    (message,) = session.get_messages().messages
    assert memory.source_message_ids == [message.message_id]
    assert (memory.version_number, memory.total_versions) == (1, 1)


def test_a_session_records_that_the_local_extractor_wrote_its_memories(
    client: RecallrAI,
) -> None:
    user = client.create_user("ada")
    pending = user.create_session()
    assert pending.extractor is None
    session = converse(user, at(2024, 1, 10), (USER, "I'm allergic to peanuts."))
    assert session.extractor == "local"
    assert user.get_session(session.session_id).extractor == "local"


def test_what_the_assistant_recommends_is_remembered(client: RecallrAI) -> None:
    user = client.create_user("ada")
    converse(
        user,
        at(2024, 1, 10),
        (USER, "What should I cook tonight?"),
        (ASSISTANT, "I recommend you try the Thai basil chicken."),
    )
    memory = only(user, "recommend", "thai basil chicken")
    assert "assistant_recommendations" in memory.categories


def test_chit_chat_leaves_no_memory(client: RecallrAI) -> None:
    user = client.create_user("ada")
    converse(user, at(2024, 1, 10), (USER, "Hi! How are you?"), (ASSISTANT, "Great, thanks!"))
    assert memories(user) == []


def test_the_same_fact_again_adds_nothing(client: RecallrAI) -> None:
    user = client.create_user("ada")
    converse(user, at(2024, 1, 10), (USER, "I'm allergic to peanuts."))
    converse(user, at(2024, 2, 10), (USER, "I am allergic to peanuts."))
    memory = only(user, "allergic", "peanuts")
    assert memory.total_versions == 1


def test_relative_dates_resolve_against_the_session_time(client: RecallrAI) -> None:
    user = client.create_user("ada")
    converse(user, at(2023, 5, 8), (USER, "Yesterday I went hiking in the Alps."))
    memory = only(user, "hiking")
    assert memory.event_date_start is not None
    assert memory.event_date_start.date().isoformat() == "2023-05-07"
    assert "7 May 2023" in memory.content


def test_a_fact_without_a_time_cue_is_dated_to_the_session(client: RecallrAI) -> None:
    user = client.create_user("ada")
    converse(user, at(2021, 3, 4), (USER, "I'm allergic to peanuts."))
    memory = only(user, "peanuts")
    assert memory.event_date_start is not None
    assert memory.event_date_start.date().isoformat() == "2021-03-04"


def test_a_changed_attribute_is_a_new_version_expiring_the_old_at_the_change(
    client: RecallrAI,
) -> None:
    user = client.create_user("ada")
    converse(user, at(2024, 1, 10), (USER, "I live in Paris."))
    converse(user, at(2024, 6, 1), (USER, "I moved to Berlin last month."))
    current = only(user, "berlin")
    assert (current.version_number, current.total_versions) == (2, 2)
    (previous,) = current.previous_versions or []
    assert "Paris" in previous.content
    assert previous.expiration_reason == ExpirationReason.TEMPORAL_CONFLICT
    assert previous.expired_at is not None
    assert previous.expired_at.date().isoformat() == "2024-05-01"
    old = user.get_memory(previous.memory_id)
    assert old.expiration_reason == ExpirationReason.TEMPORAL_CONFLICT
    assert set(current.source_message_ids) >= set(old.source_message_ids)


def test_more_detail_is_an_addition_to_the_existing_memory(client: RecallrAI) -> None:
    user = client.create_user("ada")
    converse(user, at(2024, 1, 10), (USER, "I have a dog."))
    converse(user, at(2024, 1, 20), (USER, "I have a dog named Rex, a golden retriever."))
    current = only(user, "dog")
    assert "Rex" in current.content
    assert current.total_versions == 2
    (previous,) = current.previous_versions or []
    assert previous.expiration_reason == ExpirationReason.ADDITION_TO_EXISTING_MEMORY


def _contradict(client: RecallrAI, *, conflicts: bool) -> tuple[object, object]:
    user = client.create_user("ada", metadata={})
    user.update(merge_conflict_enabled=conflicts)
    converse(user, at(2024, 3, 1, 9), (USER, "My favorite color is blue."))
    converse(user, at(2024, 3, 1, 18), (USER, "My favorite color is green."))
    return user, user.list_merge_conflicts()


def test_a_contradiction_raises_a_merge_conflict_when_enabled(client: RecallrAI) -> None:
    user, conflicts = _contradict(client, conflicts=True)
    (conflict,) = conflicts.conflicts  # type: ignore[attr-defined]
    assert conflict.status == MergeConflictStatus.PENDING
    assert "green" in conflict.proposed_memory_content
    (conflicting,) = conflict.conflicting_memories
    assert "blue" in conflicting.content and conflicting.reason
    (question,) = conflict.clarifying_questions
    assert set(question.options) == {KEEP_NEW, KEEP_EXISTING, KEEP_BOTH}
    held = only(user, "blue")  # type: ignore[arg-type]
    assert held.merge_conflict_in_progress
    assert not [m for m in memories(user) if "green" in m.content]  # type: ignore[arg-type]


def test_without_merge_conflicts_the_most_recent_statement_wins(client: RecallrAI) -> None:
    user, conflicts = _contradict(client, conflicts=False)
    assert conflicts.total == 0  # type: ignore[attr-defined]
    current = only(user, "green")  # type: ignore[arg-type]
    (previous,) = current.previous_versions or []
    assert "blue" in previous.content
    assert previous.expiration_reason == ExpirationReason.TEMPORAL_CONFLICT


def _resolve(client: RecallrAI, answer: str) -> tuple[object, object]:
    user, conflicts = _contradict(client, conflicts=True)
    (conflict,) = conflicts.conflicts  # type: ignore[attr-defined]
    (question,) = conflict.clarifying_questions
    conflict.resolve([MergeConflictAnswer(question=question.question, answer=answer)])

    def resolved() -> bool:
        conflict.refresh()
        return conflict.status in (MergeConflictStatus.RESOLVED, MergeConflictStatus.FAILED)

    wait_until(resolved, "the merge conflict to be resolved")
    assert conflict.status == MergeConflictStatus.RESOLVED, conflict.failure_reason
    assert conflict.resolved_at is not None
    return user, conflict


def test_resolving_for_the_new_information_versions_the_memory(client: RecallrAI) -> None:
    user, conflict = _resolve(client, KEEP_NEW)
    current = only(user, "green")  # type: ignore[arg-type]
    assert conflict.new_memory_ids == [current.memory_id]  # type: ignore[attr-defined]
    (previous,) = current.previous_versions or []
    assert previous.expiration_reason == ExpirationReason.MERGE_CONFLICT
    assert previous.merge_conflict_id == conflict.conflict_id  # type: ignore[attr-defined]
    assert not current.merge_conflict_in_progress


def test_the_next_recall_sees_a_merge_conflict_resolution(client: RecallrAI) -> None:
    user, conflicts = _contradict(client, conflicts=True)
    asking = user.create_session(custom_created_at_utc=at(2024, 3, 2))  # type: ignore[attr-defined]
    asking.add_message(role=USER, content="What is my favorite color?")
    before = _memories_section(asking.get_context(recall_strategy=RecallStrategy.LOW_LATENCY))
    assert "blue" in before and "green" not in before
    (conflict,) = conflicts.conflicts  # type: ignore[attr-defined]
    (question,) = conflict.clarifying_questions
    conflict.resolve([MergeConflictAnswer(question=question.question, answer=KEEP_NEW)])
    wait_until(
        lambda: conflict.refresh() or conflict.status == MergeConflictStatus.RESOLVED,
        "the merge conflict to be resolved",
    )
    after = _memories_section(asking.get_context(recall_strategy=RecallStrategy.LOW_LATENCY))
    current, earlier = after.split("Earlier versions", 1)
    assert "green" in current and "blue" in earlier


def _memories_section(context: ContextResponse) -> str:
    assert context.context is not None
    return context.context.split("## Memories\n", 1)[1].split("\n## ", 1)[0]


def test_resolving_for_the_existing_memory_changes_nothing(client: RecallrAI) -> None:
    user, conflict = _resolve(client, KEEP_EXISTING)
    held = only(user, "blue")  # type: ignore[arg-type]
    assert held.total_versions == 1 and not held.merge_conflict_in_progress
    assert conflict.new_memory_ids == []  # type: ignore[attr-defined]


def test_resolving_as_both_true_keeps_both_connected(client: RecallrAI) -> None:
    user, _ = _resolve(client, KEEP_BOTH)
    green = only(user, "green")  # type: ignore[arg-type]
    blue = only(user, "blue")  # type: ignore[arg-type]
    assert blue.memory_id in {c.memory_id for c in green.connected_memories or []}


def test_resolution_answers_are_validated(client: RecallrAI) -> None:
    _, conflicts = _contradict(client, conflicts=True)
    (conflict,) = conflicts.conflicts  # type: ignore[attr-defined]
    (question,) = conflict.clarifying_questions
    with pytest.raises(MergeConflictInvalidQuestionsError):
        conflict.resolve([MergeConflictAnswer(question="Not asked?", answer=KEEP_NEW)])
    with pytest.raises(MergeConflictMissingAnswersError):
        conflict.resolve([])
    with pytest.raises(MergeConflictInvalidAnswerError):
        conflict.resolve([MergeConflictAnswer(question=question.question, answer="Maybe")])
    conflict.resolve([MergeConflictAnswer(question=question.question, answer=KEEP_EXISTING)])
    with pytest.raises(MergeConflictAlreadyResolvedError):
        conflict.resolve([MergeConflictAnswer(question=question.question, answer=KEEP_NEW)])


def test_a_processed_session_refuses_messages_and_reprocessing(client: RecallrAI) -> None:
    user = client.create_user("ada")
    session = converse(user, at(2024, 1, 10), (USER, "I'm allergic to peanuts."))
    with pytest.raises(InvalidSessionStateError):
        session.add_message(role=USER, content="one more")
    with pytest.raises(InvalidSessionStateError):
        session.process()


def test_auto_processing_runs_after_inactivity(client: RecallrAI) -> None:
    user = client.create_user("ada")
    session = user.create_session(auto_process_after_seconds=1)
    session.add_message(role=USER, content="I'm allergic to shellfish.")

    def processed() -> bool:
        session.refresh()
        return session.status == SessionStatus.PROCESSED

    wait_until(processed, "automatic processing", timeout=30)
    assert only(user, "shellfish")


def test_related_but_distinct_facts_become_connected_memories(client: RecallrAI) -> None:
    user = client.create_user("ada")
    converse(user, at(2024, 1, 10), (USER, "I'm allergic to peanuts."))
    converse(user, at(2024, 2, 10), (USER, "I'm also allergic to shellfish."))
    peanuts, shellfish = only(user, "peanuts"), only(user, "shellfish")
    assert peanuts.memory_id in {c.memory_id for c in shellfish.connected_memories or []}
    assert shellfish.memory_id in {c.memory_id for c in peanuts.connected_memories or []}


def test_processing_writes_a_dated_session_summary(client: RecallrAI, tenant: Tenant) -> None:
    user = client.create_user("ada")
    session = converse(user, at(2024, 1, 10), (USER, "I'm allergic to peanuts."))

    async def summary() -> models.SessionSummary | None:
        async with tenant.server.db.read() as store:
            return await store.get(models.SessionSummary, session.session_id)

    written = tenant.run(summary())
    assert written is not None and written.embedding
    assert written.summary.startswith("On 10 January 2024:")
    assert "allergic to peanuts" in written.summary
