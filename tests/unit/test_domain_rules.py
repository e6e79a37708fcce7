"""The domain's rules on plain records: no database, no wire, no server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from recallr_server.domain.context import RecallOptions, Strategy, recall_settings
from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.memories import MemoryView, memory_query, shown
from recallr_server.domain.merge_conflicts import KEEP_BOTH, KEEP_NEW, check_answers
from recallr_server.domain.records import (
    Answer,
    ClarifyingQuestion,
    ConnectedMemory,
    MemoryDetails,
    MemoryVersion,
    MergeConflict,
    MergeConflictStatus,
    User,
)
from recallr_server.domain.validation import Violations

START = datetime(2024, 5, 1, tzinfo=UTC)
USER = User("pk", "ada", {}, None, START, START)
SESSION_ID = "0b5a6f8e-52ab-4d47-9f42-2f6f1b0d8a51"


def version(memory_id: str, seq: int, sources: tuple[str, ...]) -> MemoryVersion:
    return MemoryVersion(
        id=memory_id,
        chain_id="chain",
        chain_seq=seq,
        session_id=None,
        content=f"version {seq}",
        event_start_at=None,
        event_end_at=None,
        created_at=START + timedelta(days=seq),
        expired_at=None,
        expiration_reason=None,
        merge_conflict_id=None,
        source_message_ids=sources,
    )


CHAIN = [version("m1", 1, ("a", "b")), version("m2", 2, ("b", "c")), version("m3", 3, ("d",))]
DETAILS = MemoryDetails(
    chains={"chain": CHAIN},
    categories={"m2": ["work", "hobbies"]},
    connected={"chain": [ConnectedMemory("other", "Ada keeps bees.")]},
    in_conflict={"m2"},
)


def test_a_version_is_numbered_within_its_chain_with_the_sources_up_to_it() -> None:
    memory = shown(CHAIN[1], USER, DETAILS, MemoryView(False, False))
    assert (memory.version_number, memory.total_versions, memory.has_previous_versions) == (
        2,
        3,
        True,
    )
    assert memory.source_message_ids == ["a", "b", "c"]
    assert memory.categories == ["hobbies", "work"]
    assert memory.merge_conflict_in_progress
    assert (memory.previous_versions, memory.connected) == ([], [])


def test_previous_versions_and_connected_memories_are_shown_only_when_asked() -> None:
    memory = shown(CHAIN[2], USER, DETAILS, MemoryView(True, True))
    assert [v.id for v in memory.previous_versions] == ["m1", "m2"]
    assert memory.connected == [ConnectedMemory("other", "Ada keeps bees.")]
    first = shown(CHAIN[0], USER, DETAILS, MemoryView(True, True))
    assert (first.previous_versions, first.has_previous_versions) == ([], False)


def test_a_session_filter_of_no_valid_ids_still_filters() -> None:
    query = memory_query([], ["not-a-uuid", SESSION_ID.upper()], {})
    assert (query.categories, query.session_ids) == (None, [SESSION_ID])
    assert memory_query([], ["not-a-uuid"], {}).session_ids == []
    assert memory_query([], [], {}).session_ids is None


CONFLICT = MergeConflict(
    id="c1",
    user_id="ada",
    session_id=None,
    status=MergeConflictStatus.PENDING,
    new_memory_content="Ada moved to Lyon.",
    conflicting_memories=(),
    clarifying_questions=(
        ClarifyingQuestion("Where does Ada live?", (KEEP_NEW, KEEP_BOTH)),
        ClarifyingQuestion("Since when?", ("May", "June")),
    ),
    answers=(),
    new_memory_ids=(),
    created_at=START,
    resolved_at=None,
    failure_reason="",
)
GOOD = [Answer("Where does Ada live?", KEEP_NEW, ""), Answer("Since when?", "May", "")]


def reason_of(conflict: MergeConflict, answers: list[Answer]) -> Reason:
    with pytest.raises(DomainError) as raised:
        check_answers(conflict, answers)
    return raised.value.reason


def test_answers_to_every_question_with_an_option_each_are_accepted() -> None:
    check_answers(CONFLICT, GOOD)


@pytest.mark.parametrize(
    ("conflict", "answers", "reason"),
    [
        # A conflict that is no longer pending says so before any answer is read.
        (replace(CONFLICT, status=MergeConflictStatus.RESOLVED), [], "ALREADY_RESOLVED"),
        (CONFLICT, [*GOOD, GOOD[0]], "VALIDATION_FAILED"),
        (CONFLICT, [*GOOD, Answer("Why?", KEEP_NEW, "")], "INVALID_QUESTIONS"),
        (CONFLICT, GOOD[:1], "MISSING_ANSWERS"),
        (CONFLICT, [GOOD[0], Answer("Since when?", "July", "")], "INVALID_ANSWER"),
    ],
    ids=["resolved", "twice", "unknown question", "missing", "not an option"],
)
def test_each_kind_of_bad_resolution_has_its_own_reason(
    conflict: MergeConflict, answers: list[Answer], reason: str
) -> None:
    assert reason_of(conflict, answers).value.removeprefix("MERGE_CONFLICT_") == reason


def test_unset_recall_options_take_the_defaults_and_the_floor_follows_a_lower_cap() -> None:
    v = Violations()
    settings = recall_settings(v, RecallOptions(Strategy.BALANCED, max_top_k=10))
    assert v.items == []
    assert (settings.min_top_k, settings.max_top_k, settings.last_n_messages) == (10, 10, 0)
    assert (settings.memories_threshold, settings.summaries_threshold) == (0.6, 0.5)
    assert settings.include_system_prompt
    assert str(settings.zone) == "UTC"


def test_every_out_of_range_recall_option_is_reported_in_order() -> None:
    v = Violations()
    recall_settings(
        v,
        RecallOptions(
            Strategy.AGENTIC,
            min_top_k=30,
            max_top_k=20,
            memories_threshold=float("nan"),
            last_n_summaries=101,
            timezone="Mars/Olympus",
        ),
    )
    assert [field for field, _ in v.items] == [
        "options.max_top_k",
        "options.memories_threshold",
        "options.last_n_summaries",
        "options.timezone",
    ]
    assert v.items[0][1] == "must not be below min_top_k (30)"
