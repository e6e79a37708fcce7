"""MemoryService."""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from recallr.v1 import memory_pb2
from recallr.v1 import memory_service_pb2 as pb
from recallr_server.api import convert
from recallr_server.api.handlers import Call
from recallr_server.api.paging import page_of
from recallr_server.api.structs import metadata_filter_from_struct
from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.validation import Violations, check_ids, is_uuid
from recallr_server.store import models
from recallr_server.store.database import Database
from recallr_server.store.filters import metadata_matches
from recallr_server.store.lookups import category_names, find_memory, find_user
from recallr_server.store.memories import delete_versions, load_context


async def _render(
    session: AsyncSession,
    user: models.User,
    rows: list[models.Memory],
    *,
    include_previous_versions: bool,
    include_connected_memories: bool,
) -> list[memory_pb2.Memory]:
    context = await load_context(
        session, user.pk, rows, include_connected=include_connected_memories
    )
    return [
        convert.memory(
            row,
            user_id=user.user_id,
            categories=context.categories.get(row.id, []),
            chain=context.chains[row.chain_id],
            connected=context.connected.get(row.chain_id) if include_connected_memories else None,
            include_previous_versions=include_previous_versions,
            conflict_in_progress=row.id in context.memories_in_conflict,
        )
        for row in rows
    ]


class MemoryServicer:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def GetMemory(self, request: pb.GetMemoryRequest, call: Call) -> pb.GetMemoryResponse:
        async with self._db.read() as session:
            user = await find_user(session, call.project_id, request.user_id)
            row = await find_memory(session, user, request.memory_id)
            (memory,) = await _render(
                session,
                user,
                [row],
                include_previous_versions=request.include_previous_versions,
                include_connected_memories=request.include_connected_memories,
            )
        return pb.GetMemoryResponse(memory=memory)

    async def ListMemories(
        self, request: pb.ListMemoriesRequest, call: Call
    ) -> pb.ListMemoriesResponse:
        v = Violations()
        wanted = metadata_filter_from_struct(
            v, "session_metadata_filter", request.session_metadata_filter
        )
        check_ids(v, "categories", request.categories)
        check_ids(v, "session_ids", request.session_ids)
        v.raise_if_any()
        page = page_of(request, default_size=20)
        async with self._db.read() as session:
            user = await find_user(session, call.project_id, request.user_id)
            if request.categories:
                unknown = sorted(
                    set(request.categories) - await category_names(session, call.project_id)
                )
                if unknown:
                    raise DomainError(
                        Reason.INVALID_CATEGORIES,
                        f"unknown categories: {', '.join(unknown)}",
                        metadata={"invalid_categories": ",".join(unknown)},
                    )
            condition = (models.Memory.user_pk == user.pk) & models.Memory.expired_at.is_(None)
            if request.categories:
                condition &= exists().where(
                    models.MemoryCategory.memory_id == models.Memory.id,
                    models.MemoryCategory.category.in_(list(request.categories)),
                )
            if request.session_ids:
                condition &= models.Memory.session_id.in_(
                    [s.lower() for s in request.session_ids if is_uuid(s)]
                )
            if wanted:
                condition &= exists().where(
                    models.Session.id == models.Memory.session_id,
                    metadata_matches(
                        models.Session.metadata_, wanted, postgres=not self._db.is_sqlite
                    ),
                )
            total = await session.scalar(select(func.count()).where(condition)) or 0
            rows = list(
                await session.scalars(
                    select(models.Memory)
                    .where(condition)
                    .order_by(models.Memory.created_at.desc(), models.Memory.id)
                    .offset(page.window.offset)
                    .limit(page.window.limit)
                )
            )
            memories = await _render(
                session,
                user,
                rows,
                include_previous_versions=request.include_previous_versions,
                include_connected_memories=request.include_connected_memories,
            )
        return pb.ListMemoriesResponse(
            memories=memories, next_page_token=page.next_token(total), total_size=total
        )

    async def DeleteMemory(
        self, request: pb.DeleteMemoryRequest, call: Call
    ) -> pb.DeleteMemoryResponse:
        async with self._db.write() as session:
            user = await find_user(session, call.project_id, request.user_id)
            row = await find_memory(session, user, request.memory_id)
            await delete_versions(session, row, with_previous=request.delete_previous_versions)
        return pb.DeleteMemoryResponse()
