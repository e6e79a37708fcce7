"""The context text: what an application puts in its next prompt, and what it cites.

Sections, each left out when empty: Recallr's system prompt; the recalled memories,
numbered by relevance, each with its earlier versions and connected memories (1.1, 1.2);
session summaries; raw messages of earlier conversations, grouped by session in time
order; the current session's last messages.

Times are shown in the requested IANA zone. Event dates that are whole UTC days (how
processing stores them) are calendar dates and are shown as such, not shifted into the
zone: "7 May 2023" stays 7 May wherever the reader is.

Size is bounded: each text is cut at `MAX_TEXT_CHARS`, each memory shows at most
`MAX_VERSIONS_SHOWN` earlier versions and `MAX_CONNECTED_SHOWN` connected memories, and
the whole text stops before `MAX_CONTEXT_CHARS` (about 15,000 tokens), dropping whole
entries from the end. Only what is in the text is cited in the metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from recallr_server.domain.context import system_prompt
from recallr_server.engine.recall.index import MemoryDoc
from recallr_server.engine.temporal import describe_span
from recallr_server.store import models

MAX_CONTEXT_CHARS = 60_000
MAX_TEXT_CHARS = 2_000
MAX_VERSIONS_SHOWN = 5
MAX_CONNECTED_SHOWN = 3


_EXPIRATION_REASONS = {
    models.ExpirationReason.MERGE_CONFLICT: "replaced when a merge conflict was resolved",
    models.ExpirationReason.ADDITION_TO_EXISTING_MEMORY: "superseded by an addition",
    models.ExpirationReason.TEMPORAL_CONFLICT: "superseded by a later change",
}


@dataclass(frozen=True)
class MemoryEntry:
    memory: MemoryDoc
    # All versions of its chain, oldest first; `memory` is one of them.
    chain: Sequence[MemoryDoc]
    # The current versions of connected chains.
    connected: Sequence[MemoryDoc]


@dataclass(frozen=True)
class MessageEntry:
    id: str
    session_id: str
    speaker: str
    role: models.MessageRole
    content: str
    created_at: datetime


@dataclass(frozen=True)
class SummaryEntry:
    session_id: str
    session_time: datetime
    text: str


@dataclass
class Rendered:
    text: str
    memory_ids: list[str] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Block:
    lines: list[str]
    memory_ids: list[str] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)


def render(
    *,
    zone: ZoneInfo,
    include_system_prompt: bool,
    memories: Sequence[MemoryEntry],
    summaries: Sequence[SummaryEntry],
    recalled_messages: Sequence[MessageEntry],
    session_times: Mapping[str, datetime],
    last_messages: Sequence[MessageEntry],
) -> Rendered:
    sections: list[tuple[str, list[_Block]]] = [
        ("Memories", [_memory_block(n, e, zone) for n, e in enumerate(memories, start=1)]),
        ("Session summaries", [_summary_block(s, zone) for s in summaries]),
        (
            "From earlier conversations",
            list(_conversation_blocks(recalled_messages, session_times, zone)),
        ),
        ("This conversation so far", list(_last_message_blocks(last_messages, zone))),
    ]
    result = Rendered("")
    parts: list[str] = []
    size = 0

    def take(text: str) -> bool:
        nonlocal size
        if size + len(text) + 1 > MAX_CONTEXT_CHARS:
            return False
        parts.append(text)
        size += len(text) + 1
        return True

    if include_system_prompt:
        take(system_prompt(zone.key) + "\n")
    for title, blocks in sections:
        if not blocks or not take(f"## {title}"):
            continue
        for block in blocks:
            if not take("\n".join(block.lines)):
                break
            result.memory_ids += block.memory_ids
            result.message_ids += block.message_ids
            result.session_ids += [s for s in block.session_ids if s not in result.session_ids]
        take("")
    result.text = "\n".join(parts).strip() + "\n" if parts else ""
    return result


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


def moment(value: datetime, zone: ZoneInfo) -> str:
    """A timestamp in the reader's zone: "8 May 2023 09:56 EDT"."""
    local = value.astimezone(zone)
    return f"{local.day} {local:%B %Y %H:%M} {local.tzname()}"


def event_span(start: datetime | None, end: datetime | None, zone: ZoneInfo) -> str | None:
    if start is None:
        return None
    end = end or start
    if _whole_utc_days(start) and _whole_utc_days(end) and end > start:
        return describe_span(start, end, with_preposition=False)
    if end <= start:
        return moment(start, zone)
    return f"{moment(start, zone)} to {moment(end, zone)}"


def _whole_utc_days(value: datetime) -> bool:
    return value.astimezone(UTC).time() == time()


def _memory_block(number: int, entry: MemoryEntry, zone: ZoneInfo) -> _Block:
    memory = entry.memory
    lines = [f"{number}. {_clip(memory.content)} ({_memory_dates(memory, zone)})"]
    ids = [memory.id]
    earlier = [v for v in entry.chain if v.chain_seq < memory.chain_seq]
    if earlier:
        lines.append("   Earlier versions, newest first:")
        for version_number, version in reversed(
            list(enumerate(earlier, start=1))[-MAX_VERSIONS_SHOWN:]
        ):
            why = (
                _EXPIRATION_REASONS.get(version.expiration_reason)
                if version.expiration_reason
                else None
            )
            until = (
                f"; {why} on {moment(version.expired_at, zone)}"
                if version.expired_at and why
                else ""
            )
            lines.append(
                f"   - v{version_number}: {_clip(version.content)} "
                f"({_memory_dates(version, zone)}{until})"
            )
            ids.append(version.id)
    for sub, connected in enumerate(entry.connected[:MAX_CONNECTED_SHOWN], start=1):
        lines.append(f"   {number}.{sub}. Connected: {_clip(connected.content)}")
        ids.append(connected.id)
    return _Block(lines, memory_ids=ids)


def _memory_dates(memory: MemoryDoc, zone: ZoneInfo) -> str:
    recorded = f"recorded {moment(memory.created_at, zone)}"
    happened = event_span(memory.event_start, memory.event_end, zone)
    return f"happened {happened}; {recorded}" if happened else recorded


def _summary_block(summary: SummaryEntry, zone: ZoneInfo) -> _Block:
    return _Block(
        [f"- Session of {moment(summary.session_time, zone)}: {_clip(summary.text)}"],
        session_ids=[summary.session_id],
    )


def _message_line(message: MessageEntry, zone: ZoneInfo, *, timed: bool) -> str:
    stamp = f"[{moment(message.created_at, zone)}] " if timed else ""
    return f"- {stamp}{message.speaker} ({message.role.value}): {_clip(message.content)}"


def _conversation_blocks(
    messages: Sequence[MessageEntry], session_times: Mapping[str, datetime], zone: ZoneInfo
) -> Iterable[_Block]:
    """One block per session, oldest first; a session's messages in the order said."""
    by_session: dict[str, list[MessageEntry]] = {}
    for message in messages:
        by_session.setdefault(message.session_id, []).append(message)

    def when(session_id: str) -> datetime:
        return session_times.get(session_id, by_session[session_id][0].created_at)

    for session_id in sorted(by_session, key=when):
        lines = [f"Session of {moment(when(session_id), zone)}:"]
        lines += [_message_line(m, zone, timed=False) for m in by_session[session_id]]
        yield _Block(
            lines,
            session_ids=[session_id],
            message_ids=[m.id for m in by_session[session_id]],
        )


def _last_message_blocks(messages: Sequence[MessageEntry], zone: ZoneInfo) -> Iterable[_Block]:
    for message in messages:
        yield _Block(
            [_message_line(message, zone, timed=True)],
            session_ids=[message.session_id],
            message_ids=[message.id],
        )
