"""Domain errors to HTTP answers: one table, from a Reason to a status and the `detail`
the official SDK reads.

The SDK picks its exception from the status, and for some routes from `detail`: a 404
whose detail contains `User <uid> not found` (the id exactly as in the path) is
UserNotFoundError, any other 404 the resource's own; resolve's 400 is matched by phrase
("already resolved", "Invalid questions provided", "Missing answers for the following
questions", "Invalid answer ... for question"); list_memories' 400 carries an object
with `invalid_categories`. Everything else is read by status alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from recallr_server.domain.errors import DomainError, Reason

# Echoed request values are clipped, as the gRPC statuses clip them.
MAX_DETAIL_CHARS = 512
MAX_METADATA_VALUE_CHARS = 256
MAX_FIELD_VIOLATIONS = 8

Detail = Callable[[DomainError, Mapping[str, str]], str | dict[str, Any]]


def _message(error: DomainError, path: Mapping[str, str]) -> str:
    return error.message


def _named(noun: str, parameter: str) -> Detail:
    """`<Noun> <id> not found`, with the id as the caller wrote it in the path."""

    def detail(error: DomainError, path: Mapping[str, str]) -> str:
        return f"{noun} {path.get(parameter, '')} not found"

    return detail


def _phrase(text: str) -> Detail:
    def detail(error: DomainError, path: Mapping[str, str]) -> str:
        return text

    return detail


def _invalid_categories(error: DomainError, path: Mapping[str, str]) -> dict[str, Any]:
    names = [name for name in error.metadata.get("invalid_categories", "").split(",") if name]
    return {"message": error.message, "invalid_categories": names}


@dataclass(frozen=True)
class HttpError:
    status: int
    detail: Detail = _message


HTTP_ERRORS: Mapping[Reason, HttpError] = {
    Reason.AUTHENTICATION_REQUIRED: HttpError(401),
    Reason.INVALID_API_KEY: HttpError(401),
    Reason.VALIDATION_FAILED: HttpError(422),
    Reason.MALFORMED_REQUEST: HttpError(422),
    Reason.INVALID_PAGE_TOKEN: HttpError(422),
    Reason.USER_NOT_FOUND: HttpError(404, _named("User", "user_id")),
    Reason.USER_ALREADY_EXISTS: HttpError(409),
    Reason.SESSION_NOT_FOUND: HttpError(404, _named("Session", "session_id")),
    Reason.INVALID_SESSION_STATE: HttpError(400),
    Reason.MEMORY_NOT_FOUND: HttpError(404, _named("Memory", "memory_id")),
    Reason.INVALID_CATEGORIES: HttpError(400, _invalid_categories),
    Reason.CATEGORY_NOT_FOUND: HttpError(404),
    Reason.CATEGORY_ALREADY_EXISTS: HttpError(409),
    Reason.MERGE_CONFLICT_NOT_FOUND: HttpError(404, _named("Merge conflict", "conflict_id")),
    # The phrases never echo questions or answers, which could hold another one.
    Reason.MERGE_CONFLICT_ALREADY_RESOLVED: HttpError(
        400, _phrase("The merge conflict is already resolved or being resolved")
    ),
    Reason.MERGE_CONFLICT_INVALID_QUESTIONS: HttpError(
        400, _phrase("Invalid questions provided: see invalid_questions in metadata")
    ),
    Reason.MERGE_CONFLICT_MISSING_ANSWERS: HttpError(
        400, _phrase("Missing answers for the following questions: see missing_questions")
    ),
    Reason.MERGE_CONFLICT_INVALID_ANSWER: HttpError(
        400, _phrase("Invalid answer for question: see question and answer in metadata")
    ),
    Reason.RATE_LIMITED: HttpError(429),
    Reason.NOT_IMPLEMENTED: HttpError(501),
    Reason.SERVICE_UNAVAILABLE: HttpError(503),
    Reason.INTERNAL: HttpError(500),
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def status_of(error: DomainError) -> int:
    return HTTP_ERRORS[error.reason].status


def body_of(error: DomainError, path: Mapping[str, str]) -> dict[str, Any]:
    """The JSON body of a failure; `path` holds the route's path parameters."""
    detail = HTTP_ERRORS[error.reason].detail(error, path)
    return {
        "detail": _clip(detail, MAX_DETAIL_CHARS) if isinstance(detail, str) else detail,
        "reason": error.reason.value,
        "metadata": {k: _clip(v, MAX_METADATA_VALUE_CHARS) for k, v in error.metadata.items()},
        "field_violations": [
            {"field": _clip(f, MAX_METADATA_VALUE_CHARS), "description": _clip(d, 256)}
            for f, d in error.field_violations[:MAX_FIELD_VIOLATIONS]
        ],
    }


def headers_of(error: DomainError) -> dict[str, str]:
    if error.retry_after_seconds is None:
        return {}
    return {"Retry-After": str(max(1, round(error.retry_after_seconds)))}
