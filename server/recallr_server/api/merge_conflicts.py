"""MergeConflictService."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import func, select

from recallr.v1 import merge_conflict_pb2
from recallr.v1 import merge_conflict_service_pb2 as pb
from recallr_server.api import convert
from recallr_server.api.handlers import Call
from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.paging import page_of
from recallr_server.domain.validation import Violations, check_text
from recallr_server.store import jobs, models
from recallr_server.store.database import Database
from recallr_server.store.lookups import find_merge_conflict, find_user

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


MAX_ANSWER_MESSAGE_LENGTH = 10_000


def _validate_answers(
    conflict: models.MergeConflict, answers: Sequence[merge_conflict_pb2.MergeConflictAnswer]
) -> None:
    """Each failure its own reason, in the order a caller would fix them."""
    if conflict.status != models.MergeConflictStatus.PENDING:
        raise DomainError(
            Reason.MERGE_CONFLICT_ALREADY_RESOLVED,
            f"merge conflict {conflict.id} is {conflict.status.value}, not pending",
            metadata={"merge_conflict_id": conflict.id, "status": conflict.status.value.upper()},
        )
    v = Violations()
    seen: set[str] = set()
    for index, answer in enumerate(answers):
        if answer.question in seen:
            v.add(f"answers[{index}].question", "answers the same question twice")
        seen.add(answer.question)
        check_text(
            v,
            f"answers[{index}].message",
            answer.message,
            max_length=MAX_ANSWER_MESSAGE_LENGTH,
            required=False,
        )
    v.raise_if_any()
    options = {q["question"]: q["options"] for q in conflict.clarifying_questions}
    unknown = [a.question for a in answers if a.question not in options]
    if unknown:
        raise DomainError(
            Reason.MERGE_CONFLICT_INVALID_QUESTIONS,
            f"{len(unknown)} answer(s) name questions this conflict does not ask",
            metadata={"invalid_questions": "\n".join(q[:500] for q in unknown)},
        )
    missing = [q for q in options if q not in seen]
    if missing:
        raise DomainError(
            Reason.MERGE_CONFLICT_MISSING_ANSWERS,
            f"{len(missing)} question(s) have no answer",
            metadata={"missing_questions": "\n".join(missing)},
        )
    for answer in answers:
        if answer.answer not in options[answer.question]:
            raise DomainError(
                Reason.MERGE_CONFLICT_INVALID_ANSWER,
                f"{answer.answer[:200]!r} is not an option of the question",
                metadata={"question": answer.question, "answer": answer.answer[:500]},
            )


class MergeConflictServicer:
    def __init__(self, db: Database, work_queued: Callable[[], None]) -> None:
        self._db = db
        self._work_queued = work_queued

    async def ResolveMergeConflict(
        self, request: pb.ResolveMergeConflictRequest, call: Call
    ) -> pb.ResolveMergeConflictResponse:
        async with self._db.write() as session:
            user = await find_user(session, call.project_id, request.user_id)
            row = await find_merge_conflict(
                session, user, request.merge_conflict_id, for_update=True
            )
            _validate_answers(row, request.answers)
            row.answers = [
                {"question": a.question, "answer": a.answer, "message": a.message}
                for a in request.answers
            ]
            row.status = models.MergeConflictStatus.IN_QUEUE
            await jobs.enqueue(session, models.JobKind.RESOLVE_MERGE_CONFLICT, row.id, user.pk)
        self._work_queued()
        return pb.ResolveMergeConflictResponse(
            merge_conflict=convert.merge_conflict(row, user.user_id)
        )

    async def GetMergeConflict(
        self, request: pb.GetMergeConflictRequest, call: Call
    ) -> pb.GetMergeConflictResponse:
        async with self._db.read() as session:
            user = await find_user(session, call.project_id, request.user_id)
            row = await find_merge_conflict(session, user, request.merge_conflict_id)
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
