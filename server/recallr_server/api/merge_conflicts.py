"""MergeConflictService."""

from __future__ import annotations

from recallr.v1 import merge_conflict_service_pb2 as pb
from recallr_server.api import convert
from recallr_server.api.handlers import Call
from recallr_server.api.paging import PageTokens
from recallr_server.domain.merge_conflicts import MergeConflicts
from recallr_server.domain.records import ConflictOrder, ConflictSortField
from recallr_server.domain.validation import Violations

_SORT_FIELDS = {
    pb.MERGE_CONFLICT_SORT_FIELD_UNSPECIFIED: ConflictSortField.CREATE_TIME,
    pb.MERGE_CONFLICT_SORT_FIELD_CREATE_TIME: ConflictSortField.CREATE_TIME,
    pb.MERGE_CONFLICT_SORT_FIELD_RESOLVE_TIME: ConflictSortField.RESOLVE_TIME,
}
_ASCENDING = {
    pb.SORT_ORDER_UNSPECIFIED: False,
    pb.SORT_ORDER_ASCENDING: True,
    pb.SORT_ORDER_DESCENDING: False,
}


class MergeConflictServicer:
    def __init__(self, conflicts: MergeConflicts, pages: PageTokens) -> None:
        self._conflicts = conflicts
        self._pages = pages

    async def ResolveMergeConflict(
        self, request: pb.ResolveMergeConflictRequest, call: Call
    ) -> pb.ResolveMergeConflictResponse:
        conflict = await self._conflicts.resolve(
            call.project_id,
            request.user_id,
            request.merge_conflict_id,
            [convert.answer(a) for a in request.answers],
        )
        return pb.ResolveMergeConflictResponse(merge_conflict=convert.merge_conflict(conflict))

    async def GetMergeConflict(
        self, request: pb.GetMergeConflictRequest, call: Call
    ) -> pb.GetMergeConflictResponse:
        conflict = await self._conflicts.get(
            call.project_id, request.user_id, request.merge_conflict_id
        )
        return pb.GetMergeConflictResponse(merge_conflict=convert.merge_conflict(conflict))

    async def ListMergeConflicts(
        self, request: pb.ListMergeConflictsRequest, call: Call
    ) -> pb.ListMergeConflictsResponse:
        v = Violations()
        if request.status and request.status not in convert.CONFLICT_STATUS_FROM_WIRE:
            v.add("status", f"{request.status} is not a merge conflict status")
        if request.sort_by not in _SORT_FIELDS:
            v.add("sort_by", f"{request.sort_by} is not a sort field")
        if request.sort_order not in _ASCENDING:
            v.add("sort_order", f"{request.sort_order} is not a sort order")
        v.raise_if_any()
        page = self._pages.page_of(request, default_size=10)
        conflicts = await self._conflicts.page(
            call.project_id,
            request.user_id,
            convert.CONFLICT_STATUS_FROM_WIRE[request.status] if request.status else None,
            ConflictOrder(_SORT_FIELDS[request.sort_by], _ASCENDING[request.sort_order]),
            page.window,
        )
        return pb.ListMergeConflictsResponse(
            merge_conflicts=[convert.merge_conflict(c) for c in conflicts.items],
            next_page_token=page.next_token(conflicts.total),
            total_size=conflicts.total,
        )
