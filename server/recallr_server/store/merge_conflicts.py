"""The merge conflicts repository: the questions processing asks a user."""

from __future__ import annotations

from typing import Any

from recallr_server.domain.paging import Page, Window
from recallr_server.domain.records import (
    Answer,
    ClarifyingQuestion,
    ConflictingMemory,
    ConflictOrder,
    ConflictSortField,
    MergeConflict,
    MergeConflictStatus,
    User,
)
from recallr_server.store import models
from recallr_server.store.database import Tx
from recallr_server.store.lookups import find_merge_conflict
from recallr_server.store.paging import fetch_page
from recallr_server.store.rows import ReadRows

_SORT_COLUMNS = {
    ConflictSortField.CREATE_TIME: models.MergeConflict.created_at,
    ConflictSortField.RESOLVE_TIME: models.MergeConflict.resolved_at,
}


def _text(item: dict[str, Any], key: str) -> str:
    # Stored as JSON; a key never written reads as the wire's empty default.
    value: str = item.get(key, "")
    return value


def conflict_record(row: models.MergeConflict, user_id: str) -> MergeConflict:
    return MergeConflict(
        id=row.id,
        user_id=user_id,
        session_id=row.session_id,
        status=row.status,
        new_memory_content=row.new_memory_content,
        conflicting_memories=tuple(
            ConflictingMemory(_text(m, "memory_id"), _text(m, "content"), _text(m, "reason"))
            for m in row.conflicting_memories
        ),
        clarifying_questions=tuple(
            ClarifyingQuestion(_text(q, "question"), tuple(q.get("options", ())))
            for q in row.clarifying_questions
        ),
        answers=tuple(
            Answer(_text(a, "question"), _text(a, "answer"), _text(a, "message"))
            for a in row.answers
        ),
        new_memory_ids=tuple(row.new_memory_ids),
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        failure_reason=row.failure_reason,
    )


class MergeConflictStore:
    def __init__(self, session: Tx) -> None:
        self._session = session
        self._read = ReadRows(session, models.MergeConflict)

    async def find(
        self, user: User, conflict_id: str, *, for_update: bool = False
    ) -> MergeConflict:
        row = await find_merge_conflict(self._session, user, conflict_id, for_update=for_update)
        return conflict_record(self._read.keep(row.id, row), user.user_id)

    async def update(self, conflict: MergeConflict) -> None:
        row = await self._read.get(conflict.id)
        row.status = conflict.status
        row.answers = [
            {"question": a.question, "answer": a.answer, "message": a.message}
            for a in conflict.answers
        ]

    async def page(
        self,
        user: User,
        status: MergeConflictStatus | None,
        order: ConflictOrder,
        window: Window,
    ) -> Page[MergeConflict]:
        condition = models.MergeConflict.user_pk == user.pk
        if status is not None:
            condition &= models.MergeConflict.status == status
        column = _SORT_COLUMNS[order.field]
        return await fetch_page(
            self._session,
            models.MergeConflict,
            condition,
            # Unresolved conflicts have no resolve time: they sort last either way.
            (
                column.is_(None),
                column.asc() if order.ascending else column.desc(),
                models.MergeConflict.id,
            ),
            window,
            lambda row: conflict_record(row, user.user_id),
        )
