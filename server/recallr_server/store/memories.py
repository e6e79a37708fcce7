"""The memories repository: version chains, their categories, links and conflicts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, delete, exists, or_, select

from recallr_server.domain.paging import Page, Window
from recallr_server.domain.records import (
    ConnectedMemory,
    MemoryDetails,
    MemoryQuery,
    MemoryVersion,
    User,
)
from recallr_server.store import models
from recallr_server.store.database import Tx
from recallr_server.store.filters import metadata_matches
from recallr_server.store.lookups import find_memory
from recallr_server.store.paging import fetch_page
from recallr_server.store.revisions import bump_index_revision

OPEN_CONFLICT_STATUSES = (
    models.MergeConflictStatus.PENDING,
    models.MergeConflictStatus.IN_QUEUE,
    models.MergeConflictStatus.RESOLVING,
)


def version_record(row: models.Memory) -> MemoryVersion:
    return MemoryVersion(
        id=row.id,
        chain_id=row.chain_id,
        chain_seq=row.chain_seq,
        session_id=row.session_id,
        content=row.content,
        event_start_at=row.event_start_at,
        event_end_at=row.event_end_at,
        created_at=row.created_at,
        expired_at=row.expired_at,
        expiration_reason=row.expiration_reason,
        merge_conflict_id=row.merge_conflict_id,
        source_message_ids=tuple(row.source_message_ids),
    )


class MemoryStore:
    def __init__(self, session: Tx, *, postgres: bool) -> None:
        self._session = session
        self._postgres = postgres

    async def find(self, user: User, memory_id: str) -> MemoryVersion:
        return version_record(await find_memory(self._session, user, memory_id))

    async def versions(self, user: User, memory_ids: Collection[str]) -> list[MemoryVersion]:
        if not memory_ids:
            return []
        rows = await self._session.scalars(
            select(models.Memory).where(
                models.Memory.user_pk == user.pk, models.Memory.id.in_(set(memory_ids))
            )
        )
        return [version_record(row) for row in rows]

    async def page(self, user: User, query: MemoryQuery, window: Window) -> Page[MemoryVersion]:
        return await fetch_page(
            self._session,
            models.Memory,
            self._matching(user, query),
            (models.Memory.created_at.desc(), models.Memory.id),
            window,
            version_record,
        )

    def _matching(self, user: User, query: MemoryQuery) -> ColumnElement[bool]:
        condition = (models.Memory.user_pk == user.pk) & models.Memory.expired_at.is_(None)
        if query.categories is not None:
            condition &= exists().where(
                models.MemoryCategory.memory_id == models.Memory.id,
                models.MemoryCategory.category.in_(query.categories),
            )
        if query.session_ids is not None:
            condition &= models.Memory.session_id.in_(query.session_ids)
        if query.session_metadata:
            condition &= exists().where(
                models.Session.id == models.Memory.session_id,
                metadata_matches(
                    models.Session.metadata_, query.session_metadata, postgres=self._postgres
                ),
            )
        return condition

    async def details(
        self, user: User, versions: Sequence[MemoryVersion], *, include_connected: bool
    ) -> MemoryDetails:
        chains: dict[str, list[MemoryVersion]] = defaultdict(list)
        categories: dict[str, list[str]] = defaultdict(list)
        connected: dict[str, list[ConnectedMemory]] = defaultdict(list)
        if not versions:
            return MemoryDetails(chains, categories, connected, set())
        chain_ids = {v.chain_id for v in versions}
        for row in await self._session.scalars(
            select(models.Memory)
            .where(models.Memory.chain_id.in_(chain_ids))
            .order_by(models.Memory.chain_seq)
        ):
            chains[row.chain_id].append(version_record(row))
        for memory_id, category in await self._session.execute(
            select(models.MemoryCategory.memory_id, models.MemoryCategory.category).where(
                models.MemoryCategory.memory_id.in_([v.id for v in versions])
            )
        ):
            categories[memory_id].append(category)
        if include_connected:
            connected = await self._connected(chain_ids)
        in_conflict: set[str] = set()
        for conflicting in await self._session.scalars(
            select(models.MergeConflict.conflicting_memories).where(
                models.MergeConflict.user_pk == user.pk,
                models.MergeConflict.status.in_(OPEN_CONFLICT_STATUSES),
            )
        ):
            in_conflict.update(item["memory_id"] for item in conflicting)
        return MemoryDetails(chains, categories, connected, in_conflict)

    async def _connected(self, chain_ids: Collection[str]) -> dict[str, list[ConnectedMemory]]:
        links = (
            await self._session.execute(
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
        current: dict[str, ConnectedMemory] = {}
        if others:
            for row in await self._session.scalars(
                select(models.Memory).where(
                    models.Memory.chain_id.in_(others), models.Memory.expired_at.is_(None)
                )
            ):
                current[row.chain_id] = ConnectedMemory(row.id, row.content)
        result: dict[str, list[ConnectedMemory]] = defaultdict(list)
        for a, b in links:
            for mine, other in ((a, b), (b, a)):
                if mine in chain_ids and other in current:
                    result[mine].append(current[other])
        return result

    async def delete(self, user: User, memory: MemoryVersion, *, with_previous: bool) -> None:
        """Deletes one version (or it and all older ones) and keeps the chain consistent.

        When the newest version goes, the newest remaining one becomes current
        again: what superseded it no longer exists.
        """
        chain = list(
            await self._session.scalars(
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
        await self._session.execute(delete(models.Memory).where(models.Memory.id.in_(doomed)))
        await bump_index_revision(self._session, user.pk)
        remaining = [v for v in chain if v.id not in doomed]
        if not remaining:
            await self._session.execute(
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
