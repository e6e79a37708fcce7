"""Memories: reading, listing and deleting what processing learned about a user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.paging import Page, Window
from recallr_server.domain.ports import Transaction, UnitOfWork
from recallr_server.domain.records import (
    Memory,
    MemoryDetails,
    MemoryQuery,
    MemoryVersion,
    User,
)
from recallr_server.domain.validation import JsonScalar, canonical_uuid


@dataclass(frozen=True)
class MemoryView:
    """What to show with each memory besides its own version."""

    include_previous_versions: bool
    include_connected_memories: bool


def shown(version: MemoryVersion, user: User, details: MemoryDetails, view: MemoryView) -> Memory:
    """`version` numbered within its chain, with the sources of every version up to it."""
    chain = details.chains[version.chain_id]
    position = next(i for i, other in enumerate(chain) if other.id == version.id)
    sources: list[str] = []
    for earlier in chain[: position + 1]:
        sources.extend(s for s in earlier.source_message_ids if s not in sources)
    return Memory(
        version=version,
        user_id=user.user_id,
        categories=sorted(details.categories.get(version.id, [])),
        version_number=position + 1,
        total_versions=len(chain),
        previous_versions=chain[:position] if view.include_previous_versions else [],
        connected=(
            details.connected.get(version.chain_id, []) if view.include_connected_memories else []
        ),
        merge_conflict_in_progress=version.id in details.in_conflict,
        source_message_ids=sources,
    )


def memory_query(
    categories: Sequence[str],
    session_ids: Sequence[str],
    session_metadata: dict[str, JsonScalar],
) -> MemoryQuery:
    """A listing's filters; session ids that are not UUIDs match nothing."""
    return MemoryQuery(
        categories=list(categories) or None,
        session_ids=(
            [c for s in session_ids if (c := canonical_uuid(s)) is not None]
            if session_ids
            else None
        ),
        session_metadata=session_metadata,
    )


class Memories:
    def __init__(self, units: UnitOfWork) -> None:
        self._units = units

    async def get(self, project_id: str, user_id: str, memory_id: str, view: MemoryView) -> Memory:
        async with self._units.read() as tx:
            user = await tx.users.find(project_id, user_id)
            version = await tx.memories.find(user, memory_id)
            (memory,) = await _show(tx, user, [version], view)
        return memory

    async def page(
        self, project_id: str, user_id: str, query: MemoryQuery, view: MemoryView, window: Window
    ) -> Page[Memory]:
        async with self._units.read() as tx:
            user = await tx.users.find(project_id, user_id)
            if query.categories:
                unknown = sorted(set(query.categories) - await tx.categories.names(project_id))
                if unknown:
                    raise DomainError(
                        Reason.INVALID_CATEGORIES,
                        f"unknown categories: {', '.join(unknown)}",
                        metadata={"invalid_categories": ",".join(unknown)},
                    )
            page = await tx.memories.page(user, query, window)
            return Page(await _show(tx, user, page.items, view), page.total)

    async def delete(
        self, project_id: str, user_id: str, memory_id: str, *, with_previous: bool
    ) -> None:
        async with self._units.write() as tx:
            user = await tx.users.find(project_id, user_id)
            version = await tx.memories.find(user, memory_id)
            await tx.memories.delete(user, version, with_previous=with_previous)


async def _show(
    tx: Transaction, user: User, versions: list[MemoryVersion], view: MemoryView
) -> list[Memory]:
    details = await tx.memories.details(
        user, versions, include_connected=view.include_connected_memories
    )
    return [shown(version, user, details, view) for version in versions]
