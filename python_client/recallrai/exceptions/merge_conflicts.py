"""Merge conflict failures."""

from __future__ import annotations

from recallrai.exceptions.base import RecallrAIError


class MergeConflictError(RecallrAIError):
    """A merge-conflict-related failure."""


class MergeConflictNotFoundError(MergeConflictError):
    """No merge conflict with this id exists for the user."""


class MergeConflictAlreadyResolvedError(MergeConflictError):
    """The merge conflict is no longer pending."""


class MergeConflictInvalidQuestionsError(MergeConflictError):
    """An answer names a question the merge conflict does not ask."""

    @property
    def invalid_questions(self) -> list[str]:
        """The questions the conflict does not ask."""
        return _lines(self.metadata.get("invalid_questions", ""))


class MergeConflictMissingAnswersError(MergeConflictError):
    """A question of the merge conflict has no answer."""

    @property
    def missing_questions(self) -> list[str]:
        """The questions left unanswered."""
        return _lines(self.metadata.get("missing_questions", ""))


class MergeConflictInvalidAnswerError(MergeConflictError):
    """An answer is not one of its question's options."""


def _lines(joined: str) -> list[str]:
    return [line for line in joined.split("\n") if line]
