"""A user's data as an export carries it: every stored record of one user, the rules a
stream of records must keep to be imported, and the same data under new ids.

The records are the domain's own (User, Session, Message, ...) where those hold everything
stored; memories, conflicts and summaries carry here what processing keeps beside what
the product shows (the attribute keys consolidation compares, embeddings, a conflict's
proposal), so that an imported user is processed on as the original would have been.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from recallr_server.domain.records import (
    ConflictingMemory,
    MemoryVersion,
    MergeConflict,
    Message,
    Session,
    User,
)
from recallr_server.domain.validation import Violations

FORMAT_VERSION = 1
# An import holds its records in memory until it writes them in one transaction.
MAX_IMPORT_RECORDS = 1_000_000


@dataclass(frozen=True)
class StoredMemory:
    """A memory version with everything stored about it; `version.chain_seq` is its
    version number (1 = oldest)."""

    version: MemoryVersion
    categories: tuple[str, ...]
    subject_key: str | None
    attribute_key: str | None
    attribute_value: str | None
    embedding: bytes | None


@dataclass(frozen=True)
class MemoryLink:
    chain_id: str
    linked_chain_id: str


@dataclass(frozen=True)
class StoredConflict:
    """A merge conflict with the memory its resolution in the proposal's favour writes."""

    conflict: MergeConflict
    proposal: dict[str, Any]


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    summary: str
    created_at: datetime
    embedding: bytes | None


@dataclass(frozen=True)
class DataCounts:
    sessions: int = 0
    messages: int = 0
    memories: int = 0
    memory_links: int = 0
    merge_conflicts: int = 0
    session_summaries: int = 0


@dataclass(frozen=True)
class ExportHeader:
    format_version: int
    exported_at: datetime
    counts: DataCounts


# One record of an export. A User or Session read from an export has no internal key
# (`pk` "") and no owner (`user_id` ""); importing gives them theirs.
Record = (
    ExportHeader
    | User
    | Session
    | Message
    | StoredMemory
    | MemoryLink
    | StoredConflict
    | SessionSummary
)


@dataclass(frozen=True)
class UserData:
    user: User
    sessions: list[Session]
    messages: list[Message]
    memories: list[StoredMemory]
    links: list[MemoryLink]
    conflicts: list[StoredConflict]
    summaries: list[SessionSummary]

    def counts(self) -> DataCounts:
        return DataCounts(
            sessions=len(self.sessions),
            messages=len(self.messages),
            memories=len(self.memories),
            memory_links=len(self.links),
            merge_conflicts=len(self.conflicts),
            session_summaries=len(self.summaries),
        )


def _path(index: int) -> str:
    return f"records[{index}]"


class _Assembly:
    """Sorts a stream of records into a UserData, noting where each came from."""

    def __init__(self) -> None:
        self.sessions: list[tuple[int, Session]] = []
        self.messages: list[tuple[int, Message]] = []
        self.memories: list[tuple[int, StoredMemory]] = []
        self.links: list[tuple[int, MemoryLink]] = []
        self.conflicts: list[tuple[int, StoredConflict]] = []
        self.summaries: list[tuple[int, SessionSummary]] = []

    def add(self, v: Violations, index: int, record: Record) -> None:
        if isinstance(record, ExportHeader | User):
            kind = "header" if isinstance(record, ExportHeader) else "user"
            v.add(_path(index), f"a second {kind}: an export has one, at its start")
        elif isinstance(record, Session):
            self.sessions.append((index, record))
        elif isinstance(record, Message):
            self.messages.append((index, record))
        elif isinstance(record, StoredMemory):
            self.memories.append((index, record))
        elif isinstance(record, MemoryLink):
            self.links.append((index, record))
        elif isinstance(record, StoredConflict):
            self.conflicts.append((index, record))
        else:
            self.summaries.append((index, record))

    def data(self, user: User) -> UserData:
        return UserData(
            user,
            [s for _, s in self.sessions],
            [m for _, m in self.messages],
            [m for _, m in self.memories],
            [link for _, link in self.links],
            [c for _, c in self.conflicts],
            [s for _, s in self.summaries],
        )


def assemble(records: Sequence[Record | None], v: Violations) -> UserData:
    """The user's data from an export's records, or every way they break its rules,
    together with the violations `v` already holds (None stands for a record that could
    not be read at all, its violation already in `v`).

    Field paths name the record by its position in the whole stream ("records[7]").
    """
    header = records[0] if records else None
    user = records[1] if len(records) > 1 else None
    if not records:
        v.add("records", "is required: the export's header, user and other records")
    elif not isinstance(header, ExportHeader):
        v.add(_path(0), "must be the header")
    elif header.format_version != FORMAT_VERSION:
        v.add(f"{_path(0)}.header.format_version", f"must be {FORMAT_VERSION}")
    if records and not isinstance(user, User):
        v.add(_path(1), "must be the user")
    if len(records) > MAX_IMPORT_RECORDS:
        v.add("records", f"must be at most {MAX_IMPORT_RECORDS} over the whole stream")
    if not (isinstance(header, ExportHeader) and isinstance(user, User)):
        v.raise_if_any()
    assert isinstance(header, ExportHeader) and isinstance(user, User)
    parts = _Assembly()
    for index, record in enumerate(records[2:], start=2):
        if record is not None:
            parts.add(v, index, record)
    data = parts.data(user)
    _check_counts(v, header.counts, data.counts())
    _check_ids(v, parts)
    _check_references(v, parts)
    _check_chains(v, parts.memories)
    v.raise_if_any()
    return data


def _check_counts(v: Violations, announced: DataCounts, found: DataCounts) -> None:
    """A header that announces other counts than follow: the export was cut short."""
    for field in fields(DataCounts):
        expected, actual = getattr(announced, field.name), getattr(found, field.name)
        if expected != actual:
            v.add(
                f"{_path(0)}.header.counts.{field.name}",
                f"announces {expected}, but {actual} follow",
            )


def _unique(
    v: Violations, items: Sequence[tuple[int, Any]], key: Callable[[Any], object], field: str
) -> None:
    first: dict[object, int] = {}
    for index, item in items:
        value = key(item)
        if value in first:
            v.add(f"{_path(index)}.{field}", f"repeats that of {_path(first[value])}")
        else:
            first[value] = index


def _check_ids(v: Violations, parts: _Assembly) -> None:
    _unique(v, parts.sessions, lambda s: s.id, "session.session_id")
    _unique(v, parts.messages, lambda m: m.id, "message.message_id")
    _unique(v, parts.memories, lambda m: m.version.id, "memory.memory_id")
    _unique(
        v,
        parts.memories,
        lambda m: (m.version.chain_id, m.version.chain_seq),
        "memory.version_number",
    )
    _unique(v, parts.conflicts, lambda c: c.conflict.id, "merge_conflict.merge_conflict_id")
    _unique(v, parts.summaries, lambda s: s.session_id, "session_summary.session_id")
    _unique(
        v,
        parts.links,
        lambda link: frozenset((link.chain_id, link.linked_chain_id)),
        "memory_link",
    )


def _check_references(v: Violations, parts: _Assembly) -> None:
    """Messages and summaries belong to sessions of the export; links join its chains.

    Other references (a memory's session or sources, a conflict's memories) may name
    records deleted before the export, as they may in the stored data.
    """
    sessions = {s.id for _, s in parts.sessions}
    chains = {m.version.chain_id for _, m in parts.memories}
    for index, message in parts.messages:
        if message.session_id not in sessions:
            v.add(f"{_path(index)}.message.session_id", "names no session of the export")
    for index, summary in parts.summaries:
        if summary.session_id not in sessions:
            v.add(f"{_path(index)}.session_summary.session_id", "names no session of the export")
    for index, link in parts.links:
        if link.chain_id == link.linked_chain_id:
            v.add(f"{_path(index)}.memory_link.linked_chain_id", "must differ from chain_id")
        for field, chain in (
            ("chain_id", link.chain_id),
            ("linked_chain_id", link.linked_chain_id),
        ):
            if chain not in chains:
                v.add(f"{_path(index)}.memory_link.{field}", "names no memory chain of the export")


def _check_chains(v: Violations, memories: Sequence[tuple[int, StoredMemory]]) -> None:
    """Only a chain's newest version may be current, as processing keeps them."""
    newest: dict[str, int] = {}
    for _, memory in memories:
        chain = memory.version.chain_id
        newest[chain] = max(newest.get(chain, 0), memory.version.chain_seq)
    for index, memory in memories:
        version = memory.version
        if version.expired_at is None and version.chain_seq != newest[version.chain_id]:
            v.add(f"{_path(index)}.memory.expire_time", "is required: a newer version exists")


class _NewIds:
    """One new id for each old one, the same wherever the old one appears."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}

    def __call__(self, old: str) -> str:
        return self._ids.setdefault(old, str(uuid.uuid4()))

    def optional(self, old: str | None) -> str | None:
        return self(old) if old else old

    def all(self, olds: Sequence[str]) -> tuple[str, ...]:
        return tuple(self(old) for old in olds)


def with_new_ids(data: UserData) -> UserData:
    """The same data under new session, message, memory, chain and conflict ids."""
    new = _NewIds()
    return UserData(
        data.user,
        [replace(s, id=new(s.id)) for s in data.sessions],
        [replace(m, id=new(m.id), session_id=new(m.session_id)) for m in data.messages],
        [_memory_with_new_ids(m, new) for m in data.memories],
        [MemoryLink(new(link.chain_id), new(link.linked_chain_id)) for link in data.links],
        [_conflict_with_new_ids(c, new) for c in data.conflicts],
        [replace(s, session_id=new(s.session_id)) for s in data.summaries],
    )


def _memory_with_new_ids(memory: StoredMemory, new: _NewIds) -> StoredMemory:
    version = memory.version
    return replace(
        memory,
        version=replace(
            version,
            id=new(version.id),
            chain_id=new(version.chain_id),
            session_id=new.optional(version.session_id),
            merge_conflict_id=new.optional(version.merge_conflict_id),
            source_message_ids=new.all(version.source_message_ids),
        ),
    )


def _conflict_with_new_ids(stored: StoredConflict, new: _NewIds) -> StoredConflict:
    conflict = stored.conflict
    proposal = dict(stored.proposal)
    if isinstance(sources := proposal.get("source_message_ids"), list):
        proposal["source_message_ids"] = [new(s) if isinstance(s, str) else s for s in sources]
    return StoredConflict(
        replace(
            conflict,
            id=new(conflict.id),
            session_id=new.optional(conflict.session_id),
            conflicting_memories=tuple(
                ConflictingMemory(new(m.memory_id) if m.memory_id else "", m.content, m.reason)
                for m in conflict.conflicting_memories
            ),
            new_memory_ids=new.all(conflict.new_memory_ids),
        ),
        proposal,
    )
