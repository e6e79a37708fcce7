"""Reading and deleting memory version chains."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.store import models
from recallr_server.store.revisions import bump_index_revision

OPEN_CONFLICT_STATUSES = (
    models.MergeConflictStatus.PENDING,
    models.MergeConflictStatus.IN_QUEUE,
    models.MergeConflictStatus.RESOLVING,
)


@dataclass(frozen=True)
class MemoryContext:
    """What rendering a set of memory rows needs, loaded in a few queries."""

    chains: dict[str, list[models.Memory]]
    categories: dict[str, list[str]]
    connected: dict[str, list[tuple[str, str]]]
    memories_in_conflict: set[str]


async def load_context(
    session: AsyncSession,
    user_pk: str,
    rows: Sequence[models.Memory],
    *,
    include_connected: bool,
) -> MemoryContext:
    chains: dict[str, list[models.Memory]] = defaultdict(list)
    categories: dict[str, list[str]] = defaultdict(list)
    connected: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if not rows:
        return MemoryContext(chains, categories, connected, set())
    chain_ids = {r.chain_id for r in rows}
    for version in await session.scalars(
        select(models.Memory)
        .where(models.Memory.chain_id.in_(chain_ids))
        .order_by(models.Memory.chain_seq)
    ):
        chains[version.chain_id].append(version)
    for memory_id, category in await session.execute(
        select(models.MemoryCategory.memory_id, models.MemoryCategory.category).where(
            models.MemoryCategory.memory_id.in_([r.id for r in rows])
        )
    ):
        categories[memory_id].append(category)
    if include_connected:
        connected = await _connected(session, chain_ids)
    in_conflict: set[str] = set()
    for conflicting in await session.scalars(
        select(models.MergeConflict.conflicting_memories).where(
            models.MergeConflict.user_pk == user_pk,
            models.MergeConflict.status.in_(OPEN_CONFLICT_STATUSES),
        )
    ):
        in_conflict.update(item["memory_id"] for item in conflicting)
    return MemoryContext(chains, categories, connected, in_conflict)


async def _connected(
    session: AsyncSession, chain_ids: Collection[str]
) -> dict[str, list[tuple[str, str]]]:
    links = (
        await session.execute(
            select(models.MemoryLink.chain_a, models.MemoryLink.chain_b).where(
                or_(
                    models.MemoryLink.chain_a.in_(chain_ids),
                    models.MemoryLink.chain_b.in_(chain_ids),
                )
            )
        )
    ).all()
    # Both ends: when both chains are listed, each shows the other.
    others = {chain for link in links for chain in link}
    current: dict[str, tuple[str, str]] = {}
    if others:
        for memory in await session.scalars(
            select(models.Memory).where(
                models.Memory.chain_id.in_(others), models.Memory.expired_at.is_(None)
            )
        ):
            current[memory.chain_id] = (memory.id, memory.content)
    result: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for a, b in links:
        for mine, other in ((a, b), (b, a)):
            if mine in chain_ids and other in current:
                result[mine].append(current[other])
    return result


async def delete_versions(
    session: AsyncSession, memory: models.Memory, *, with_previous: bool
) -> None:
    """Deletes one version (or it and all older ones) and keeps the chain consistent.

    When the newest version goes, the newest remaining one becomes current
    again: what superseded it no longer exists.
    """
    chain = list(
        await session.scalars(
            select(models.Memory)
            .where(models.Memory.chain_id == memory.chain_id)
            .order_by(models.Memory.chain_seq)
            .with_for_update()
        )
    )
    doomed = {
        v.id
        for v in chain
        if v.id == memory.id or (with_previous and v.chain_seq < memory.chain_seq)
    }
    await session.execute(delete(models.Memory).where(models.Memory.id.in_(doomed)))
    await bump_index_revision(session, memory.user_pk)
    remaining = [v for v in chain if v.id not in doomed]
    if not remaining:
        await session.execute(
            delete(models.MemoryLink).where(
                or_(
                    models.MemoryLink.chain_a == memory.chain_id,
                    models.MemoryLink.chain_b == memory.chain_id,
                )
            )
        )
    elif chain[-1].id in doomed:
        newest = remaining[-1]
        newest.expired_at = None
        newest.expiration_reason = None
        newest.merge_conflict_id = None
