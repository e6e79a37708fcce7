"""Merge conflicts as the product defines them: who asks, what the user may answer, and
answering them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.paging import Page, Window
from recallr_server.domain.ports import Transaction, UnitOfWork, WorkQueued
from recallr_server.domain.records import (
    Answer,
    ConflictOrder,
    MergeConflict,
    MergeConflictStatus,
    User,
)
from recallr_server.domain.validation import Violations, check_text

KEEP_NEW = "The new information"
KEEP_EXISTING = "The existing memory"
KEEP_BOTH = "Both are true"
RESOLUTION_OPTIONS = (KEEP_NEW, KEEP_EXISTING, KEEP_BOTH)

MAX_ANSWER_MESSAGE_LENGTH = 10_000


def conflicts_enabled(user_setting: bool | None, project_setting: bool) -> bool:
    """A user's own setting wins; unset, the user inherits the project's."""
    return project_setting if user_setting is None else user_setting


def check_answers(conflict: MergeConflict, answers: Sequence[Answer]) -> None:
    """Each failure its own reason, in the order a caller would fix them."""
    if conflict.status != MergeConflictStatus.PENDING:
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
    options = {q.question: q.options for q in conflict.clarifying_questions}
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


class MergeConflicts:
    def __init__(self, units: UnitOfWork, work_queued: WorkQueued) -> None:
        self._units = units
        self._work_queued = work_queued

    async def resolve(
        self, project_id: str, user_id: str, conflict_id: str, answers: Sequence[Answer]
    ) -> MergeConflict:
        """Records the answers and queues applying them."""
        async with self._units.write() as tx:
            user = await tx.users.find(project_id, user_id)
            conflict = await tx.merge_conflicts.find(user, conflict_id, for_update=True)
            check_answers(conflict, answers)
            conflict = replace(
                conflict, answers=tuple(answers), status=MergeConflictStatus.IN_QUEUE
            )
            await tx.merge_conflicts.update(conflict)
            await tx.jobs.enqueue_resolution(user, conflict.id)
            (shown,) = await with_memories(tx, user, [conflict])
        self._work_queued()
        return shown

    async def get(self, project_id: str, user_id: str, conflict_id: str) -> MergeConflict:
        async with self._units.read() as tx:
            user = await tx.users.find(project_id, user_id)
            conflict = await tx.merge_conflicts.find(user, conflict_id)
            (shown,) = await with_memories(tx, user, [conflict])
            return shown

    async def page(
        self,
        project_id: str,
        user_id: str,
        status: MergeConflictStatus | None,
        order: ConflictOrder,
        window: Window,
    ) -> Page[MergeConflict]:
        async with self._units.read() as tx:
            user = await tx.users.find(project_id, user_id)
            page = await tx.merge_conflicts.page(user, status, order, window)
            return Page(await with_memories(tx, user, page.items), page.total)


async def with_memories(
    tx: Transaction, user: User, conflicts: Sequence[MergeConflict]
) -> list[MergeConflict]:
    """The conflicts with the dates of the memories they name and their new memories in full,
    read in one query; a memory deleted since keeps no dates, or is left out when new."""
    wanted = {m.memory_id for c in conflicts for m in c.conflicting_memories}
    wanted.update(memory_id for c in conflicts for memory_id in c.new_memory_ids)
    versions = {v.id: v for v in await tx.memories.versions(user, wanted)}
    shown = []
    for conflict in conflicts:
        conflicting = []
        for memory in conflict.conflicting_memories:
            version = versions.get(memory.memory_id)
            if version is not None:
                memory = replace(
                    memory,
                    event_start_at=version.event_start_at,
                    event_end_at=version.event_end_at,
                    created_at=version.created_at,
                )
            conflicting.append(memory)
        new = tuple(versions[i] for i in conflict.new_memory_ids if i in versions)
        shown.append(replace(conflict, conflicting_memories=tuple(conflicting), new_memories=new))
    return shown
