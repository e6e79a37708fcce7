"""Category failures (categories are a Recallr addition)."""

from __future__ import annotations

from recallrai.exceptions.base import RecallrAIError


class CategoryError(RecallrAIError):
    """A category-related failure."""


class CategoryNotFoundError(CategoryError):
    """No category with this name exists in the project."""


class CategoryAlreadyExistsError(CategoryError):
    """The project already has a category with this name."""
