"""Metadata filters that mean the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import ColumnElement, and_, cast, func, literal, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute

from recallr_server.domain.validation import JsonScalar

# SQLite's json_type names per Python scalar type.
_SQLITE_TYPES = {bool: ("true", "false"), int: ("integer", "real"), float: ("integer", "real")}


def _sqlite_match(
    column: InstrumentedAttribute[object], key: str, value: JsonScalar
) -> ColumnElement[bool]:
    path = "$." + json.dumps(key)  # quoted, so keys with dots or spaces are one step
    kind = func.json_type(column, path)
    if value is None:
        return kind == "null"
    if isinstance(value, bool):
        return kind == ("true" if value else "false")
    if isinstance(value, str):
        return and_(kind == "text", func.json_extract(column, path) == value)
    return and_(kind.in_(_SQLITE_TYPES[type(value)]), func.json_extract(column, path) == value)


def metadata_matches(
    column: InstrumentedAttribute[object], wanted: Mapping[str, JsonScalar], *, postgres: bool
) -> ColumnElement[bool]:
    """Every key present with an equal scalar value (1 equals 1.0; true is not 1)."""
    if not wanted:
        return true()
    if postgres:
        return column.op("@>")(cast(literal(json.dumps(dict(wanted))), JSONB))
    return and_(*(_sqlite_match(column, k, v) for k, v in wanted.items()))
