"""Request validation: every problem is collected, then reported at once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from recallr_server.domain.errors import ValidationFailed

MAX_USER_ID_LENGTH = 256
MAX_CONTENT_LENGTH = 100_000
MAX_METADATA_BYTES = 64 * 1024
MAX_METADATA_DEPTH = 32
MAX_PAGE_SIZE = 200
MAX_FILTER_VALUES = 200
MAX_REQUEST_ID_LENGTH = 128
# The times a caller may give (a session's create_time), half-open. Every date derived from
# them (a phrase's span, a day in any time zone) then lies well inside the years 1 to 9999
# that datetimes hold.
EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2200, 1, 1, tzinfo=UTC)

JsonScalar = str | int | float | bool | None


class Violations:
    """Collects field violations; `raise_if_any` reports them all at once."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, description: str) -> None:
        self.items.append((field, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)


def _bad_text(value: str) -> str | None:
    # NUL cannot be stored in PostgreSQL text or jsonb.
    if "\x00" in value:
        return "must not contain NUL characters"
    return None


def check_text(
    v: Violations, field: str, value: str, *, max_length: int, required: bool = True
) -> None:
    if required and not value.strip():
        v.add(field, "is required")
    elif len(value) > max_length:
        v.add(field, f"must be at most {max_length} characters")
    elif problem := _bad_text(value):
        v.add(field, problem)


def check_time(v: Violations, field: str, value: datetime) -> None:
    if not EARLIEST_TIME <= value < LATEST_TIME:
        v.add(
            field,
            f"must be from {EARLIEST_TIME:%Y-%m-%dT%H:%M:%SZ} up to, not including, "
            f"{LATEST_TIME:%Y-%m-%dT%H:%M:%SZ}",
        )


def check_user_id(v: Violations, field: str, value: str) -> None:
    check_text(v, field, value, max_length=MAX_USER_ID_LENGTH)


def check_request_id(v: Violations, value: str) -> None:
    """An idempotency key (AIP-155) is optional; "" means the call has none."""
    check_text(v, "request_id", value, max_length=MAX_REQUEST_ID_LENGTH, required=False)


def canonical_uuid(value: str) -> str | None:
    """The one rule by which a given id names a stored row, for every kind of id.

    Ids are issued and stored as lower-case hyphenated UUIDs, and that form in any letter
    case names the same row. Anything else, other spellings of a UUID included (braces, a
    URN, no hyphens), is None: it names nothing, and callers answer "not found".
    """
    if len(value) != 36:
        return None
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        return None
    return canonical if canonical == value.lower() else None


def is_uuid(value: str) -> bool:
    """Whether `value` names a row by the one rule of `canonical_uuid`."""
    return canonical_uuid(value) is not None


def canonical_project_id(value: str) -> str:
    """A project id may be any text (an operator chooses it); one that is a UUID follows
    the rule of every other id."""
    return canonical_uuid(value) or value


def _check_json_value(v: Violations, field: str, value: Any, depth: int) -> None:
    if depth > MAX_METADATA_DEPTH:
        v.add(field, f"is nested deeper than {MAX_METADATA_DEPTH} levels")
    elif isinstance(value, str) and (problem := _bad_text(value)):
        v.add(field, problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            if problem := _bad_text(key):
                v.add(field, f"keys {problem}")
            _check_json_value(v, f"{field}.{key}", item, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json_value(v, f"{field}[{index}]", item, depth + 1)


def check_metadata(v: Violations, field: str, value: dict[str, Any]) -> None:
    """Metadata must be storable: no NUL, not too deep, and not too large as JSON."""
    before = len(v.items)
    _check_json_value(v, field, value, 0)
    if len(v.items) == before:
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        if size > MAX_METADATA_BYTES:
            v.add(field, f"must be at most {MAX_METADATA_BYTES} bytes as JSON")


def check_metadata_filter(v: Violations, field: str, value: dict[str, Any]) -> None:
    """A filter matches keys against scalars only."""
    for key, item in value.items():
        if isinstance(item, dict | list):
            v.add(f"{field}.{key}", "filter values must be strings, numbers, booleans or null")


def check_ids(v: Violations, field: str, values: Sequence[str]) -> None:
    if len(values) > MAX_FILTER_VALUES:
        v.add(field, f"must list at most {MAX_FILTER_VALUES} values")
    elif any("\x00" in value for value in values):
        v.add(field, "must not contain NUL characters")
