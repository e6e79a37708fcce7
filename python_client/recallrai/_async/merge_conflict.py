"""A merge conflict: a new fact held back until its clarifying questions are answered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from recallr.v1 import merge_conflict_service_pb2
from recallrai import _convert
from recallrai._async._transport import AsyncTransport
from recallrai._convert import MergeConflictState
from recallrai.models import (
    MergeConflictAnswer,
    MergeConflictConflictingMemory,
    MergeConflictNewMemory,
    MergeConflictQuestion,
    MergeConflictStatus,
)


class AsyncMergeConflict:
    """A new fact that contradicts existing memories of a user."""

    def __init__(self, transport: AsyncTransport, state: MergeConflictState) -> None:
        self._transport = transport
        self._state = state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conflict_id={self.conflict_id!r}, status={self.status!r})"

    @property
    def conflict_id(self) -> str:
        return self._state.conflict_id

    @property
    def user_id(self) -> str:
        return self._state.user_id

    @property
    def session_id(self) -> str:
        """The session whose processing raised the conflict."""
        return self._state.session_id

    @property
    def status(self) -> MergeConflictStatus:
        return self._state.status

    @property
    def proposed_memory_content(self) -> str | None:
        """The content processing proposed."""
        return self._state.proposed_memory_content

    @property
    def new_memories(self) -> list[MergeConflictNewMemory] | None:
        """The memory versions the resolution created, in full; None before the resolution
        created any (a version deleted since is left out)."""
        return self._state.new_memories or None

    @property
    def new_memory_ids(self) -> list[str]:
        """The memory versions the resolution created."""
        return self._state.new_memory_ids

    @property
    def conflicting_memories(self) -> list[MergeConflictConflictingMemory]:
        return self._state.conflicting_memories

    @property
    def clarifying_questions(self) -> list[MergeConflictQuestion]:
        return self._state.clarifying_questions

    @property
    def answers(self) -> list[MergeConflictAnswer]:
        """The answers given, once resolved."""
        return self._state.answers

    @property
    def resolution_data(self) -> dict[str, Any] | None:
        """The answers given, as ``{"question_answers": [...]}``; None before any."""
        return _convert.resolution_data(self._state.answers)

    @property
    def created_at(self) -> datetime:
        return self._state.created_at

    @property
    def resolved_at(self) -> datetime | None:
        return self._state.resolved_at

    @property
    def failure_reason(self) -> str | None:
        return self._state.failure_reason

    async def resolve(self, answers: Sequence[MergeConflictAnswer]) -> None:
        """Answer every clarifying question; the server applies the resolution in the background.

        The status becomes IN_QUEUE; ``refresh()`` shows the outcome later.
        """
        request = merge_conflict_service_pb2.ResolveMergeConflictRequest(
            user_id=self.user_id,
            merge_conflict_id=self.conflict_id,
            answers=_convert.merge_conflict_answers(answers),
        )
        response = await self._transport.unary(
            self._transport.merge_conflicts.ResolveMergeConflict, request
        )
        self._state = _convert.merge_conflict_state(response.merge_conflict)

    async def refresh(self) -> None:
        """Reload the merge conflict from the server."""
        request = merge_conflict_service_pb2.GetMergeConflictRequest(
            user_id=self.user_id, merge_conflict_id=self.conflict_id
        )
        response = await self._transport.unary(
            self._transport.merge_conflicts.GetMergeConflict, request
        )
        self._state = _convert.merge_conflict_state(response.merge_conflict)
