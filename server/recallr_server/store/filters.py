"""Metadata filters that mean the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import ColumnElement, and_, cast, exists, func, literal, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute

from recallr_server.domain.validation import JsonScalar

# SQLite's json_each type names of numbers; 1 and 1.0 are the same number.
_SQLITE_NUMBER_TYPES = ("integer", "real")


def _sqlite_match(
    column: InstrumentedAttribute[object], key: str, value: JsonScalar
) -> ColumnElement[bool]:
    # json_each compares decoded keys; a JSON path cannot name every key (SQLite
    # before 3.45 ends a quoted path step at the first '"', escaped or not).
    entry = func.json_each(column).table_valued("key", "type", "atom")
    conditions = [entry.c.key == key]
    if value is None:
        conditions.append(entry.c.type == "null")
    elif isinstance(value, bool):
        conditions.append(entry.c.type == ("true" if value else "false"))
    elif isinstance(value, str):
        conditions += [entry.c.type == "text", entry.c.atom == value]
    else:
        conditions += [entry.c.type.in_(_SQLITE_NUMBER_TYPES), entry.c.atom == value]
    return exists(select(literal(1)).select_from(entry).where(*conditions))


def metadata_matches(
    column: InstrumentedAttribute[object], wanted: Mapping[str, JsonScalar], *, postgres: bool
) -> ColumnElement[bool]:
    """Every key present with an equal scalar value (1 equals 1.0; true is not 1)."""
    if not wanted:
        return true()
    if postgres:
        return column.op("@>")(cast(literal(json.dumps(dict(wanted))), JSONB))
    return and_(*(_sqlite_match(column, k, v) for k, v in wanted.items()))
