"""The exceptions the RecallrAI client raises, one hierarchy under ``RecallrAIError``.

The classes live in the official SDK's submodules (``recallrai.exceptions.network``
holds ``NetworkError``, ``TimeoutError`` and ``ConnectionError``, and so on); all
of them are exported here.
"""

from recallrai.exceptions.auth import AuthenticationError
from recallrai.exceptions.base import RecallrAIError
from recallrai.exceptions.categories import (
    CategoryAlreadyExistsError,
    CategoryError,
    CategoryNotFoundError,
)
from recallrai.exceptions.memories import MemoryNotFoundError, RecallrMemoryError
from recallrai.exceptions.merge_conflicts import (
    MergeConflictAlreadyResolvedError,
    MergeConflictError,
    MergeConflictInvalidAnswerError,
    MergeConflictInvalidQuestionsError,
    MergeConflictMissingAnswersError,
    MergeConflictNotFoundError,
)
from recallrai.exceptions.network import ConnectionError, NetworkError, TimeoutError
from recallrai.exceptions.server import (
    InternalServerError,
    RateLimitError,
    ServerError,
    UnimplementedError,
)
from recallrai.exceptions.sessions import (
    InvalidSessionStateError,
    SessionError,
    SessionFullError,
    SessionNotFoundError,
)
from recallrai.exceptions.users import (
    InvalidCategoriesError,
    UserAlreadyExistsError,
    UserError,
    UserNotFoundError,
)
from recallrai.exceptions.validation import ValidationError

__all__ = [
    "AuthenticationError",
    "CategoryAlreadyExistsError",
    "CategoryError",
    "CategoryNotFoundError",
    "ConnectionError",
    "InternalServerError",
    "InvalidCategoriesError",
    "InvalidSessionStateError",
    "MemoryNotFoundError",
    "MergeConflictAlreadyResolvedError",
    "MergeConflictError",
    "MergeConflictInvalidAnswerError",
    "MergeConflictInvalidQuestionsError",
    "MergeConflictMissingAnswersError",
    "MergeConflictNotFoundError",
    "NetworkError",
    "RateLimitError",
    "RecallrAIError",
    "RecallrMemoryError",
    "ServerError",
    "SessionError",
    "SessionFullError",
    "SessionNotFoundError",
    "TimeoutError",
    "UnimplementedError",
    "UserAlreadyExistsError",
    "UserError",
    "UserNotFoundError",
    "ValidationError",
]
