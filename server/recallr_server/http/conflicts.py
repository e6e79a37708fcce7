"""The routes for merge conflicts: listing, reading, and answering their questions."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from recallr_server.domain.errors import Reason
from recallr_server.domain.paging import Window
from recallr_server.domain.records import (
    Answer,
    ConflictOrder,
    ConflictSortField,
    MergeConflictStatus,
)
from recallr_server.http import convert, schemas
from recallr_server.http.deps import Cases, Offset, Project, limit, responses

router = APIRouter(prefix="/api/v1/users/{user_id}/merge-conflicts")
_SORT_FIELDS = {
    "created_at": ConflictSortField.CREATE_TIME,
    "resolved_at": ConflictSortField.RESOLVE_TIME,
}
_RESOLVE_FAILURES = (
    Reason.USER_NOT_FOUND,
    Reason.MERGE_CONFLICT_NOT_FOUND,
    Reason.MERGE_CONFLICT_ALREADY_RESOLVED,
)


@router.get("", responses=responses(Reason.USER_NOT_FOUND))
async def list_merge_conflicts(
    user_id: str,
    project: Project,
    cases: Cases,
    offset: Offset = 0,
    limit: int = limit(10),
    sort_by: Literal["created_at", "resolved_at"] = "created_at",
    sort_order: Literal["asc", "desc"] = "desc",
    status: schemas.ConflictStatus | None = None,
) -> schemas.MergeConflictPage:
    window = Window(offset, limit)
    page = await cases.conflicts.page(
        project,
        user_id,
        MergeConflictStatus(status.value.lower()) if status is not None else None,
        ConflictOrder(_SORT_FIELDS[sort_by], sort_order == "asc"),
        window,
    )
    return schemas.MergeConflictPage(
        conflicts=[convert.merge_conflict(c) for c in page.items],
        total=page.total,
        has_more=convert.has_more(window, page),
    )


@router.get(
    "/{conflict_id}", responses=responses(Reason.USER_NOT_FOUND, Reason.MERGE_CONFLICT_NOT_FOUND)
)
async def get_merge_conflict(
    user_id: str, conflict_id: str, project: Project, cases: Cases
) -> schemas.MergeConflict:
    return convert.merge_conflict(await cases.conflicts.get(project, user_id, conflict_id))


@router.post("/{conflict_id}/resolve", responses=responses(*_RESOLVE_FAILURES))
async def resolve_merge_conflict(
    user_id: str,
    conflict_id: str,
    body: schemas.ResolveConflict,
    project: Project,
    cases: Cases,
) -> schemas.MergeConflict:
    answers = [Answer(a.question, a.answer, a.message or "") for a in body.answers.question_answers]
    conflict = await cases.conflicts.resolve(project, user_id, conflict_id, answers)
    return convert.merge_conflict(conflict)
