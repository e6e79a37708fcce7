"""Merge conflicts as the product defines them: who asks, and what the user may answer."""

from __future__ import annotations

KEEP_NEW = "The new information"
KEEP_EXISTING = "The existing memory"
KEEP_BOTH = "Both are true"
RESOLUTION_OPTIONS = (KEEP_NEW, KEEP_EXISTING, KEEP_BOTH)


def conflicts_enabled(user_setting: bool | None, project_setting: bool) -> bool:
    """A user's own setting wins; unset, the user inherits the project's."""
    return project_setting if user_setting is None else user_setting
