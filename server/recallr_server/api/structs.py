"""`google.protobuf.Struct` fields as the JSON values the domain stores and filters by."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2

from recallr_server.domain.validation import (
    JsonScalar,
    Violations,
    check_metadata,
    check_metadata_filter,
)


def metadata_from_struct(v: Violations, field: str, struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as a JSON-safe dict, or violations when it cannot be stored."""
    try:
        value: dict[str, Any] = json_format.MessageToDict(struct)
    except ValueError:
        # JSON has no Infinity or NaN, so the conversion refuses them.
        v.add(field, "numbers must be finite")
        return {}
    check_metadata(v, field, value)
    return value


def metadata_filter_from_struct(
    v: Violations, field: str, struct: struct_pb2.Struct
) -> dict[str, JsonScalar]:
    value = metadata_from_struct(v, field, struct)
    check_metadata_filter(v, field, value)
    return value
