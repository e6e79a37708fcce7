"""What context recall reads: the conversation asked about, the speakers' session metadata,
and the rows a user's recall index is built from and kept in step with."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.domain.validation import canonical_uuid
from recallr_server.store import models

# Keys per IN (...) list when loading rows by key.
_LOAD_CHUNK = 500

_Key = TypeVar("_Key", str, int)


async def conversation(
    session: AsyncSession, project_id: str, user_id: str, session_id: str, n: int
) -> tuple[list[models.Message], datetime | None]:
    """The session's last `n` messages, oldest first, and the session's time.

    One query, scoped to the project like every lookup; nothing when the user or the
    session does not exist (the lookups that follow say which) or it has no messages.
    """
    canonical = canonical_uuid(session_id)
    if canonical is None:
        return [], None
    rows = (
        await session.execute(
            select(models.Message, models.Session.created_at)
            .join(models.Session, models.Session.id == models.Message.session_id)
            .join(models.User, models.User.pk == models.Session.user_pk)
            .where(
                models.User.project_id == project_id,
                models.User.user_id == user_id,
                models.Session.id == canonical,
            )
            .order_by(models.Message.seq.desc())
            .limit(n)
        )
    ).all()
    return [message for message, _ in reversed(rows)], rows[0][1] if rows else None


async def session_metadata(
    session: AsyncSession, session_ids: Collection[str]
) -> dict[str, dict[str, Any]]:
    """The metadata of the given sessions, which names their assistants."""
    return dict(
        (
            await session.execute(
                select(models.Session.id, models.Session.metadata_).where(
                    models.Session.id.in_(session_ids)
                )
            )
        ).all()
    )


async def end_read(session: AsyncSession) -> None:
    """Ends the read transaction before waiting for the model, so no connection idles in it.

    Nothing was written; the loaded rows stay usable, and the next read begins anew.
    """
    await session.commit()


# --- The recall index ------------------------------------------------------------------------


async def memory_states(session: AsyncSession, user_pk: str) -> dict[str, datetime | None]:
    """Each of the user's memory versions by id, with when it expired (None: current)."""
    return dict(
        (
            await session.execute(
                select(models.Memory.id, models.Memory.expired_at).where(
                    models.Memory.user_pk == user_pk
                )
            )
        ).all()
    )


async def memories(session: AsyncSession, ids: Sequence[str]) -> list[models.Memory]:
    rows: list[models.Memory] = []
    for chunk in _chunks(ids):
        rows += await session.scalars(select(models.Memory).where(models.Memory.id.in_(chunk)))
    return rows


async def memory_links(session: AsyncSession, user_pk: str) -> list[tuple[str, str]]:
    """The user's connected chains, as (chain_a, chain_b) pairs."""
    return [
        (a, b)
        for a, b in await session.execute(
            select(models.MemoryLink.chain_a, models.MemoryLink.chain_b).where(
                models.MemoryLink.user_pk == user_pk
            )
        )
    ]


async def message_ids(session: AsyncSession, user_pk: str) -> dict[int, str]:
    """Each of the user's messages by seq."""
    return dict(
        (
            await session.execute(
                select(models.Message.seq, models.Message.id).where(
                    models.Message.user_pk == user_pk
                )
            )
        ).all()
    )


async def messages(session: AsyncSession, seqs: Sequence[int]) -> list[models.Message]:
    rows: list[models.Message] = []
    for chunk in _chunks(seqs):
        rows += await session.scalars(select(models.Message).where(models.Message.seq.in_(chunk)))
    return rows


async def messages_after(session: AsyncSession, user_pk: str, seq: int) -> list[models.Message]:
    """The user's messages whose seq is above `seq`, in seq order."""
    return list(
        await session.scalars(
            select(models.Message)
            .where(models.Message.user_pk == user_pk, models.Message.seq > seq)
            .order_by(models.Message.seq)
        )
    )


async def summary_versions(session: AsyncSession, user_pk: str) -> dict[str, datetime]:
    """When each of the user's session summaries was written, by session id."""
    return dict(
        (
            await session.execute(
                select(models.SessionSummary.session_id, models.SessionSummary.created_at).where(
                    models.SessionSummary.user_pk == user_pk
                )
            )
        ).all()
    )


async def summaries(
    session: AsyncSession, session_ids: Sequence[str]
) -> list[models.SessionSummary]:
    rows: list[models.SessionSummary] = []
    for chunk in _chunks(session_ids):
        rows += await session.scalars(
            select(models.SessionSummary).where(models.SessionSummary.session_id.in_(chunk))
        )
    return rows


async def sessions(
    session: AsyncSession, user_pk: str, only: Sequence[str] | None = None
) -> dict[str, tuple[datetime, dict[str, Any]]]:
    """When the user's sessions (or just `only` of them) happened, and their metadata,
    which names their assistants."""
    query = select(models.Session.id, models.Session.created_at, models.Session.metadata_).where(
        models.Session.user_pk == user_pk
    )
    if only is not None:
        query = query.where(models.Session.id.in_(only))
    return {key: (created, metadata) for key, created, metadata in await session.execute(query)}


def _chunks(keys: Sequence[_Key]) -> Iterable[list[_Key]]:
    for start in range(0, len(keys), _LOAD_CHUNK):
        yield list(keys[start : start + _LOAD_CHUNK])
