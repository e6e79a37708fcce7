"""Per-user search indexes over what recall searches, kept in step with the database.

The database is the only source of truth. Every write that changes what recall sees
bumps a revision on the user row in its own transaction (`store.revisions`), and each
recall reads the revisions together with the user row. AddMessage, which only appends,
bumps `users.message_revision`; every other write `users.index_revision`. A cached index
whose revisions differ is brought up to date from the database before use. When only the
message revision moved, the refresh loads the messages whose `seq` is above the largest
the index holds (AddMessage makes a user's messages commit in `seq` order) and nothing
else; otherwise it compares ids and versions of everything with the database and loads
only what changed (new or vanished rows).

What is indexed: the user's current memory versions (text and stored embedding), their
session summaries (text and embedding) and every raw message of both roles (text only;
docs/context.md gives the measurement behind leaving messages without embeddings).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Collection, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from recallr_server.domain.speakers import ASSISTANT_NAME_KEY, speaker_name
from recallr_server.engine.embeddings import Matrix
from recallr_server.engine.recall.lexical import BM25Index, terms, words
from recallr_server.engine.recall.speakers import Spoken, spoken
from recallr_server.engine.vectors import decode_vector
from recallr_server.store import models
from recallr_server.store import recall as recall_store
from recallr_server.store.database import Tx

# Users whose indexes stay in memory; about 25 MB each at 10,000 memories and messages.
DEFAULT_CACHED_USERS = 32
# Tokenising more documents than this moves off the event loop.
_INLINE_DOCUMENTS = 200
# An index with this share of removed documents is rebuilt from its live ones.
_REBUILD_DEAD_FRACTION = 0.25


@dataclass(frozen=True, slots=True)
class MemoryDoc:
    """One memory version, current or expired."""

    id: str
    chain_id: str
    chain_seq: int
    session_id: str | None
    content: str
    event_start: datetime | None
    event_end: datetime | None
    created_at: datetime
    expired_at: datetime | None
    expiration_reason: models.ExpirationReason | None
    source_message_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MessageDoc:
    id: str
    seq: int
    session_id: str
    role: models.MessageRole
    content: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SummaryDoc:
    session_id: str
    text: str
    created_at: datetime


Doc = TypeVar("Doc")


class Shelf(Generic[Doc]):
    """Documents at stable positions with their BM25 index and, optionally, vectors."""

    def __init__(self, dimensions: int | None) -> None:
        self.docs: list[Doc | None] = []
        self.lexical = BM25Index()
        self.positions: dict[Hashable, int] = {}
        self._terms: list[list[str]] = []
        self._dimensions = dimensions
        self._vectors = np.zeros((0, dimensions or 0), dtype=np.float32)

    @property
    def keys(self) -> Collection[Hashable]:
        return self.positions.keys()

    @property
    def alive(self) -> NDArray[np.bool_]:
        return self.lexical.alive()

    @property
    def vectors(self) -> Matrix:
        """One row per position; removed and vector-less documents have zero rows."""
        return self._vectors[: len(self.docs)]

    def add_all(self, items: Sequence[tuple[Hashable, Doc, list[str], Matrix | None]]) -> None:
        start = len(self.docs)
        if self._dimensions is not None:
            needed = start + len(items)
            if needed > len(self._vectors):
                grown = np.zeros(
                    (max(needed, 2 * len(self._vectors)), self._dimensions), np.float32
                )
                grown[:start] = self._vectors[:start]
                self._vectors = grown
        for offset, (key, doc, doc_terms, vector) in enumerate(items):
            self.positions[key] = self.lexical.add(doc_terms)
            self.docs.append(doc)
            self._terms.append(doc_terms)
            if vector is not None:
                self._vectors[start + offset] = vector

    def remove(self, key: Hashable) -> None:
        position = self.positions.pop(key)
        self.lexical.remove(position)
        self.docs[position] = None
        self._terms[position] = []
        if self._dimensions is not None:
            self._vectors[position] = 0.0

    def compacted(self) -> Shelf[Doc]:
        """The same live documents in a fresh index, when enough have been removed."""
        if self.lexical.dead_fraction <= _REBUILD_DEAD_FRACTION:
            return self
        fresh: Shelf[Doc] = Shelf(self._dimensions)
        live = []
        for key, position in self.positions.items():
            doc = self.docs[position]
            assert doc is not None
            vector = self._vectors[position] if self._dimensions is not None else None
            live.append((key, doc, self._terms[position], vector))
        fresh.add_all(live)
        return fresh


@dataclass
class UserIndex:
    dimensions: int
    # The user's name (metadata "name") its messages were indexed with.
    user_name: str | None = None
    # `users.index_revision` and `users.message_revision` as of the last refresh.
    revision: int = -1
    message_revision: int = -1
    memories: Shelf[MemoryDoc] = field(init=False)
    messages: Shelf[MessageDoc] = field(init=False)
    summaries: Shelf[SummaryDoc] = field(init=False)
    # When each of the user's sessions happened (its created_at, which imports set).
    session_times: dict[str, datetime] = field(default_factory=dict)
    # The assistant's name in each session (metadata "assistant_name"), when it has one.
    assistant_names: dict[str, str] = field(default_factory=dict)
    # Every memory version of the user by id, and the version ids of each chain.
    versions: dict[str, MemoryDoc] = field(default_factory=dict)
    _chain_members: dict[str, set[str]] = field(default_factory=dict)
    # Connected chains, both ways.
    links: dict[str, set[str]] = field(default_factory=dict)
    _summary_versions: dict[str, datetime] = field(default_factory=dict)
    # Message ids to their keys (seq) in `messages`; may name removed ones.
    message_seqs: dict[str, int] = field(default_factory=dict)
    # Each session's newest indexed message and the text of the message before it.
    _last_in_session: dict[str, tuple[MessageDoc, str]] = field(default_factory=dict)
    # Who says each message and what, as `speakers.spoken` reads it, by seq.
    spoken: dict[int, Spoken] = field(default_factory=dict)
    # The largest message seq of the user when last read; newer messages are above it.
    _newest_seq: int = 0

    def __post_init__(self) -> None:
        self.memories = Shelf(self.dimensions)
        self.messages = Shelf(None)
        self.summaries = Shelf(self.dimensions)

    async def refresh(
        self,
        tx: Tx,
        user_pk: str,
        revision: int,
        message_revision: int,
        user_name: str | None = None,
    ) -> None:
        """Brings the index to the database's state; the revisions and the user's name are
        the ones read with it."""
        if user_name != self.user_name:
            # Messages carry their speakers' names: a renamed user's are indexed anew.
            self._clear()
            self.user_name = user_name
        if revision == self.revision:
            # Only messages were added since the last refresh.
            await self._load_new_messages(tx, user_pk)
        else:
            if await self._read_sessions(tx, user_pk):
                self._clear()
                await self._read_sessions(tx, user_pk)
            # Messages first: a memory is indexed with the speakers of its messages.
            await self._refresh_messages(tx, user_pk)
            await self._refresh_memories(tx, user_pk)
            await self._refresh_summaries(tx, user_pk)
            self.memories = self.memories.compacted()
            self.summaries = self.summaries.compacted()
        # Re-indexing a session's previous last message leaves a removed document behind.
        self.messages = self.messages.compacted()
        self.revision = revision
        self.message_revision = message_revision

    def _clear(self) -> None:
        """Forgets every document, so that the next load indexes everything anew."""
        vars(self).update(vars(UserIndex(self.dimensions, self.user_name)))

    async def _read_sessions(self, tx: Tx, user_pk: str, only: Sequence[str] | None = None) -> bool:
        """Reads when the user's sessions (or `only` these) happened and who the assistant
        is in each; True when a session the index holds has a new assistant name.

        Without `only`, sessions that are gone are forgotten. Session metadata changes
        without a revision bump, so a new assistant name is seen at the next refresh of the
        whole index (the next processing, deletion or conflict resolution of the user).
        """
        rows = await recall_store.sessions(tx, user_pk, only)
        names = {
            key: name
            for key, (_, metadata) in rows.items()
            if (name := speaker_name(metadata, ASSISTANT_NAME_KEY)) is not None
        }
        renamed = any(
            self.assistant_names.get(key) != names.get(key)
            for key in rows.keys() & self.session_times.keys()
        )
        if only is None:
            self.session_times, self.assistant_names = {}, {}
        self.session_times.update((key, created) for key, (created, _) in rows.items())
        self.assistant_names.update(names)
        return renamed

    def chain(self, chain_id: str) -> list[MemoryDoc]:
        """The versions of a chain, oldest first."""
        members = (self.versions[i] for i in self._chain_members.get(chain_id, ()))
        return sorted(members, key=lambda v: v.chain_seq)

    def connected(self, chain_id: str) -> list[MemoryDoc]:
        """The current versions of the chains linked to `chain_id`."""
        found = []
        for other in sorted(self.links.get(chain_id, ())):
            current = [v for v in self.chain(other) if v.expired_at is None]
            found += current[-1:]
        return found

    async def _refresh_memories(self, tx: Tx, user_pk: str) -> None:
        # Versions change in place only when they expire, or come back when a newer one is
        # deleted: (id, expired_at) tells every change apart.
        state = await recall_store.memory_states(tx, user_pk)
        for gone in self.versions.keys() - state.keys():
            self._forget(self.versions.pop(gone))
        changed = sorted(
            key
            for key, expired_at in state.items()
            if key not in self.versions or self.versions[key].expired_at != expired_at
        )
        rows = await recall_store.memories(tx, changed)
        current: list[tuple[MemoryDoc, Matrix | None]] = []
        for row in rows:
            if row.id in self.versions:
                self._forget(self.versions[row.id])
            doc = MemoryDoc(
                row.id,
                row.chain_id,
                row.chain_seq,
                row.session_id,
                row.content,
                row.event_start_at,
                row.event_end_at,
                row.created_at,
                row.expired_at,
                row.expiration_reason,
                tuple(row.source_message_ids),
            )
            self.versions[doc.id] = doc
            self._chain_members.setdefault(doc.chain_id, set()).add(doc.id)
            if doc.expired_at is None:
                current.append((doc, self._vector(row.embedding)))
        await _add(
            self.memories,
            [doc.id for doc, _ in current],
            [doc for doc, _ in current],
            [self._memory_text(doc) for doc, _ in current],
            [vector for _, vector in current],
        )
        self.links = {}
        for a, b in await recall_store.memory_links(tx, user_pk):
            self.links.setdefault(a, set()).add(b)
            self.links.setdefault(b, set()).add(a)

    def _memory_text(self, doc: MemoryDoc) -> str:
        """A memory's text as indexed: its content and the speakers of its messages.

        A memory names its speaker when processing knew the name ("Melanie adopted a
        dog"); when the name came only in a speaker label, its message still knows it.
        """
        speakers: dict[str, None] = {}
        for message_id in doc.source_message_ids:
            position = self.message_position(message_id)
            message = None if position is None else self.messages.docs[position]
            if message is not None:
                speakers.update(dict.fromkeys(self.spoken[message.seq].speakers))
        named = set(words(doc.content))
        unnamed = [speaker for speaker in speakers if not set(words(speaker)) <= named]
        return "\n".join((doc.content, *unnamed))

    def _forget(self, doc: MemoryDoc) -> None:
        members = self._chain_members.get(doc.chain_id)
        if members is not None:
            members.discard(doc.id)
            if not members:
                del self._chain_members[doc.chain_id]
        if doc.id in self.memories.positions:
            self.memories.remove(doc.id)

    async def _refresh_messages(self, tx: Tx, user_pk: str) -> None:
        ids = await recall_store.message_ids(tx, user_pk)
        # SQLite hands the seq of a deleted newest message to the next one: a held seq
        # whose message id changed is a different message.
        for seq, message_id in ids.items():
            position = self.messages.positions.get(seq)
            held = self.messages.docs[position] if position is not None else None
            if held is not None and held.id != message_id:
                self.messages.remove(seq)
        current = set(ids)
        for gone in set(self.messages.keys) - current:
            self.messages.remove(gone)
        self.spoken = {seq: said for seq, said in self.spoken.items() if seq in current}
        added = sorted(current - set(self.messages.keys), key=str)
        docs = [_message_doc(m) for m in await recall_store.messages(tx, added)]
        self._newest_seq = max(current, default=0)
        await self._index_messages(docs)

    async def _load_new_messages(self, tx: Tx, user_pk: str) -> None:
        rows = await recall_store.messages_after(tx, user_pk, self._newest_seq)
        if not rows:
            return
        # Session times change only when sessions come or go; a message can only add one.
        unseen = sorted({row.session_id for row in rows} - self.session_times.keys())
        if unseen:
            await self._read_sessions(tx, user_pk, unseen)
        self._newest_seq = rows[-1].seq
        await self._index_messages([_message_doc(row) for row in rows])

    def _read_speakers(self, doc: MessageDoc) -> None:
        role_speaker = (
            self.user_name
            if doc.role == models.MessageRole.USER
            else self.assistant_names.get(doc.session_id)
        )
        self.spoken[doc.seq] = spoken(doc.content, role_speaker)

    async def _index_messages(self, docs: list[MessageDoc]) -> None:
        """Adds new messages (any order), re-indexing each session's previous last one."""
        docs.sort(key=lambda d: d.seq)
        self.message_seqs.update((d.id, d.seq) for d in docs)
        for doc in docs:
            self._read_speakers(doc)
        # A turn is often only understood with its neighbours ("Yes, in May!" answers the
        # turn before; the turn after may name what it was about), so each message is
        # indexed with the messages on either side of it in its session. A session's last
        # message is indexed again when its successor arrives.
        window: dict[int, tuple[MessageDoc, str, str]] = {}
        for doc in docs:
            previous = self._last_in_session.get(doc.session_id)
            if previous is not None and previous[0].seq < doc.seq:
                window[previous[0].seq] = (previous[0], previous[1], self.spoken[doc.seq].text)
                window[doc.seq] = (doc, self.spoken[previous[0].seq].text, "")
            else:
                window[doc.seq] = (doc, "", "")
            self._last_in_session[doc.session_id] = (doc, window[doc.seq][1])
        for seq in window:
            if seq in self.messages.positions:
                self.messages.remove(seq)
        entries = sorted(window.values(), key=lambda entry: entry[0].seq)
        await _add(
            self.messages,
            [doc.seq for doc, _, _ in entries],
            [doc for doc, _, _ in entries],
            [
                "\n".join((before, said.text, after, *said.speakers))
                for doc, before, after in entries
                for said in (self.spoken[doc.seq],)
            ],
            None,
        )

    async def _refresh_summaries(self, tx: Tx, user_pk: str) -> None:
        versions = await recall_store.summary_versions(tx, user_pk)
        # A reprocessed session rewrites its summary in place: a new created_at.
        changed = {
            key for key, stamp in versions.items() if self._summary_versions.get(key) != stamp
        }
        for key in list(self.summaries.keys):
            if key in changed or key not in versions:
                self.summaries.remove(key)
        rows = await recall_store.summaries(tx, sorted(changed))
        docs = [SummaryDoc(r.session_id, r.summary, r.created_at) for r in rows]
        vectors = [self._vector(r.embedding) for r in rows]
        await _add(
            self.summaries, [d.session_id for d in docs], docs, [d.text for d in docs], vectors
        )
        self._summary_versions = {d.session_id: d.created_at for d in docs} | {
            key: stamp for key, stamp in versions.items() if key not in changed
        }

    def message_position(self, message_id: str) -> int | None:
        seq = self.message_seqs.get(message_id)
        position = None if seq is None else self.messages.positions.get(seq)
        if position is None:
            return None
        # The seq of a removed message may have passed to a newer one.
        doc = self.messages.docs[position]
        return position if doc is not None and doc.id == message_id else None

    def _vector(self, blob: bytes | None) -> Matrix | None:
        if blob is None:
            return None
        vector = decode_vector(blob)
        # Vectors of another embedder (a configured provider) cannot be compared: lexical only.
        return vector if len(vector) == self.dimensions else None


def _message_doc(row: models.Message) -> MessageDoc:
    return MessageDoc(row.id, row.seq, row.session_id, row.role, row.content, row.created_at)


async def _add(
    shelf: Shelf[Doc],
    keys: Sequence[Hashable],
    docs: Sequence[Doc],
    texts: Sequence[str],
    vectors: Sequence[Matrix | None] | None,
) -> None:
    if len(texts) > _INLINE_DOCUMENTS:
        tokenised = await asyncio.to_thread(lambda: [terms(t) for t in texts])
    else:
        tokenised = [terms(t) for t in texts]
    shelf.add_all(
        [
            (key, doc, doc_terms, vectors[i] if vectors is not None else None)
            for i, (key, doc, doc_terms) in enumerate(zip(keys, docs, tokenised, strict=True))
        ]
    )


class IndexCache:
    """The indexes of the most recently recalled users, least recently used evicted first."""

    def __init__(self, dimensions: int, capacity: int = DEFAULT_CACHED_USERS) -> None:
        self._dimensions = dimensions
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[UserIndex, asyncio.Lock]] = OrderedDict()

    @asynccontextmanager
    async def current(
        self,
        tx: Tx,
        user_pk: str,
        revision: int,
        message_revision: int,
        user_name: str | None = None,
    ) -> AsyncIterator[UserIndex]:
        """The user's index at the user's two revisions and name, held exclusively until the
        block ends.

        Searching must not await inside the block: a refresh of the same index would
        otherwise interleave with it.
        """
        entry = self._entries.get(user_pk)
        if entry is None:
            entry = (UserIndex(self._dimensions), asyncio.Lock())
            self._entries[user_pk] = entry
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        self._entries.move_to_end(user_pk)
        index, lock = entry
        async with lock:
            if (index.revision, index.message_revision, index.user_name) != (
                revision,
                message_revision,
                user_name,
            ):
                await index.refresh(tx, user_pk, revision, message_revision, user_name)
            yield index
