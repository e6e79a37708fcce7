"""RecallrAI: the Python client of Recallr, long-term memory for AI assistants.

``RecallrAI`` is the synchronous client and ``AsyncRecallrAI`` its asyncio twin;
they share one surface. Models and enums live in ``recallrai.models``,
exceptions in ``recallrai.exceptions``.
"""

from recallrai._async.client import AsyncRecallrAI
from recallrai._async.merge_conflict import AsyncMergeConflict
from recallrai._async.session import AsyncSession
from recallrai._async.user import AsyncUser
from recallrai._sync.client import RecallrAI
from recallrai._sync.merge_conflict import MergeConflict
from recallrai._sync.session import Session
from recallrai._sync.user import User

__all__ = [
    "AsyncMergeConflict",
    "AsyncRecallrAI",
    "AsyncSession",
    "AsyncUser",
    "MergeConflict",
    "RecallrAI",
    "Session",
    "User",
]
