"""MergeConflictService (reading; resolution arrives with the memory engine)."""

from __future__ import annotations

from sqlalchemy import func, select

from recallr.v1 import merge_conflict_service_pb2 as pb
from recallr_server.api import convert
from recallr_server.api.handlers import Call
from recallr_server.domain import errors
from recallr_server.domain.paging import page_of
from recallr_server.domain.validation import Violations, is_uuid
from recallr_server.store import models
from recallr_server.store.database import Database
from recallr_server.store.lookups import find_user

_SORT_COLUMNS = {
    pb.MERGE_CONFLICT_SORT_FIELD_UNSPECIFIED: models.MergeConflict.created_at,
    pb.MERGE_CONFLICT_SORT_FIELD_CREATE_TIME: models.MergeConflict.created_at,
    pb.MERGE_CONFLICT_SORT_FIELD_RESOLVE_TIME: models.MergeConflict.resolved_at,
}
_ASCENDING = {
    pb.SORT_ORDER_UNSPECIFIED: False,
    pb.SORT_ORDER_ASCENDING: True,
    pb.SORT_ORDER_DESCENDING: False,
}


class MergeConflictServicer:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def GetMergeConflict(
        self, request: pb.GetMergeConflictRequest, call: Call
    ) -> pb.GetMergeConflictResponse:
        async with self._db.read() as session:
            user = await find_user(session, call.project_id, request.user_id)
            conflict_id = request.merge_conflict_id
            row = (
                await session.scalar(
                    select(models.MergeConflict).where(
                        models.MergeConflict.id == conflict_id.lower(),
                        models.MergeConflict.user_pk == user.pk,
                    )
                )
                if is_uuid(conflict_id)
                else None
            )
            if row is None:
                raise errors.merge_conflict_not_found(conflict_id[:64])
        return pb.GetMergeConflictResponse(merge_conflict=convert.merge_conflict(row, user.user_id))

    async def ListMergeConflicts(
        self, request: pb.ListMergeConflictsRequest, call: Call
    ) -> pb.ListMergeConflictsResponse:
        v = Violations()
        if request.status and request.status not in convert.CONFLICT_STATUS_FROM_WIRE:
            v.add("status", f"{request.status} is not a merge conflict status")
        if request.sort_by not in _SORT_COLUMNS:
            v.add("sort_by", f"{request.sort_by} is not a sort field")
        if request.sort_order not in _ASCENDING:
            v.add("sort_order", f"{request.sort_order} is not a sort order")
        v.raise_if_any()
        page = page_of(request, default_size=10)
        column = _SORT_COLUMNS[request.sort_by]
        order = column.asc() if _ASCENDING[request.sort_order] else column.desc()
        async with self._db.read() as session:
            user = await find_user(session, call.project_id, request.user_id)
            condition = models.MergeConflict.user_pk == user.pk
            if request.status:
                condition &= (
                    models.MergeConflict.status == convert.CONFLICT_STATUS_FROM_WIRE[request.status]
                )
            total = await session.scalar(select(func.count()).where(condition)) or 0
            rows = await session.scalars(
                select(models.MergeConflict)
                .where(condition)
                # Unresolved conflicts have no resolve time: they sort last either way.
                .order_by(column.is_(None), order, models.MergeConflict.id)
                .offset(page.offset)
                .limit(page.limit)
            )
            return pb.ListMergeConflictsResponse(
                merge_conflicts=[convert.merge_conflict(r, user.user_id) for r in rows],
                next_page_token=page.next_token(total),
                total_size=total,
            )
