"""The rules of an export's records, and a copy of them under new ids."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime

import pytest

from recallr_server.domain.errors import ValidationFailed
from recallr_server.domain.records import (
    Answer,
    ConflictingMemory,
    ExpirationReason,
    MemoryVersion,
    MergeConflict,
    MergeConflictStatus,
    Message,
    MessageRole,
    Session,
    SessionStatus,
    User,
)
from recallr_server.domain.user_data import (
    DataCounts,
    ExportHeader,
    MemoryLink,
    Record,
    SessionSummary,
    StoredConflict,
    StoredMemory,
    UserData,
    assemble,
    with_new_ids,
)
from recallr_server.domain.validation import Violations

NOW = datetime(2024, 1, 10, 9, tzinfo=UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def memory(
    chain: str, number: int, *, current: bool, sources: tuple[str, ...] = ()
) -> StoredMemory:
    version = MemoryVersion(
        id=new_id(),
        chain_id=chain,
        chain_seq=number,
        session_id=None,
        content=f"fact {chain[:4]} v{number}",
        event_start_at=None,
        event_end_at=None,
        created_at=NOW,
        expired_at=None if current else NOW,
        expiration_reason=None if current else ExpirationReason.TEMPORAL_CONFLICT,
        merge_conflict_id=None,
        source_message_ids=sources,
    )
    return StoredMemory(version, ("places",), "user", "residence", "Paris", b"\0\0\0\0")


def history() -> list[Record]:
    """A small export: two sessions, messages, a chain of two versions linked to another,
    a resolved conflict and a summary."""
    user = User("", "ada", {}, None, NOW, NOW)
    sessions = [
        Session(new_id(), "", SessionStatus.PROCESSED, {}, NOW, 0, "", NOW) for _ in range(2)
    ]
    messages = [
        Message(new_id(), s.id, MessageRole.USER, f"turn {i}", NOW) for i, s in enumerate(sessions)
    ]
    chain, other = new_id(), new_id()
    old = memory(chain, 1, current=False, sources=(messages[0].id,))
    conflict = MergeConflict(
        new_id(),
        "",
        sessions[1].id,
        MergeConflictStatus.RESOLVED,
        "Ada lives in Lyon.",
        (ConflictingMemory(old.version.id, "fact", "contradicts"),),
        (),
        (Answer("Which?", "The new information", ""),),
        (new_id(),),
        NOW,
        NOW,
        "",
    )
    new = memory(chain, 2, current=True, sources=(messages[1].id,))
    new = replace(new, version=replace(new.version, session_id=sessions[1].id))
    old = replace(old, version=replace(old.version, merge_conflict_id=conflict.id))
    records: list[Record] = [
        *sessions,
        *messages,
        old,
        new,
        memory(other, 1, current=True),
        MemoryLink(chain, other),
        StoredConflict(conflict, {"source_message_ids": [messages[1].id]}),
        SessionSummary(sessions[0].id, "summary", NOW, None),
    ]
    counts = DataCounts(2, 2, 3, 1, 1, 1)
    return [ExportHeader(1, NOW, counts), user, *records]


def violations(records: Sequence[Record | None]) -> list[str]:
    with pytest.raises(ValidationFailed) as raised:
        assemble(records, Violations())
    return [field for field, _ in raised.value.field_violations]


def test_a_whole_export_assembles_into_the_users_data() -> None:
    data = assemble(history(), Violations())
    assert data.counts() == DataCounts(2, 2, 3, 1, 1, 1)


def test_the_header_and_the_user_come_first() -> None:
    records = history()
    assert violations(records[1:]) == ["records[0]", "records[1]"]
    assert violations([records[0], records[0], *records[1:]]) == ["records[1]"]
    assert violations([*records[:2], records[1], *records[2:]]) == ["records[2]"]
    assert violations([]) == ["records"]


def test_a_header_that_announces_more_than_follows_is_a_cut_export() -> None:
    records = history()
    assert violations(records[:-1]) == ["records[0].header.counts.session_summaries"]


def test_broken_references_and_repeated_ids_are_named_by_their_record() -> None:
    records = history()
    message = records[5]
    assert isinstance(message, Message)
    records[5] = replace(message, session_id=new_id())
    records[9] = MemoryLink(new_id(), new_id())
    records.append(records[10])
    header = records[0]
    assert isinstance(header, ExportHeader)
    records[0] = replace(header, counts=replace(header.counts, merge_conflicts=2))
    assert violations(records) == [
        "records[12].merge_conflict.merge_conflict_id",
        "records[5].message.session_id",
        "records[9].memory_link.chain_id",
        "records[9].memory_link.linked_chain_id",
    ]


def test_only_the_newest_version_of_a_chain_may_be_current() -> None:
    records = history()
    old = records[6]
    assert isinstance(old, StoredMemory)
    records[6] = replace(old, version=replace(old.version, expired_at=None, expiration_reason=None))
    assert violations(records) == ["records[6].memory.expire_time"]


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _ids(data: UserData) -> set[str]:
    return set(UUID.findall(json.dumps(asdict(data), default=str)))


def test_new_ids_replace_every_id_and_keep_every_reference() -> None:
    data = assemble(history(), Violations())
    copy = with_new_ids(data)

    assert not _ids(data) & _ids(copy)
    assert len(_ids(copy)) == len(_ids(data))
    sessions = {s.id for s in copy.sessions}
    assert {m.session_id for m in copy.messages} <= sessions
    assert {s.session_id for s in copy.summaries} <= sessions
    messages = {m.id for m in copy.messages}
    old, new, _ = copy.memories
    assert old.version.chain_id == new.version.chain_id
    assert {*old.version.source_message_ids, *new.version.source_message_ids} <= messages
    (conflict,) = copy.conflicts
    assert old.version.merge_conflict_id == conflict.conflict.id
    assert conflict.conflict.conflicting_memories[0].memory_id == old.version.id
    assert conflict.proposal["source_message_ids"] == list(new.version.source_message_ids)
    (link,) = copy.links
    assert {link.chain_id, link.linked_chain_id} == {m.version.chain_id for m in copy.memories}
    # Everything but the ids is as it was.
    assert [m.version.content for m in copy.memories] == [m.version.content for m in data.memories]
