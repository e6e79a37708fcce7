"""The client's request building refuses bad arguments before any call and keeps wire meanings."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from recallrai import _convert
from recallrai.exceptions import ValidationError
from recallrai.models import (
    ExpirationReason,
    MergeConflictStatus,
    MessageRole,
    RecallStrategy,
    SessionStatus,
)


@pytest.mark.parametrize(
    ("codec", "model"),
    [
        (_convert.MESSAGE_ROLE, MessageRole),
        (_convert.SESSION_STATUS, SessionStatus),
        (_convert.MERGE_CONFLICT_STATUS, MergeConflictStatus),
        (_convert.RECALL_STRATEGY, RecallStrategy),
        (_convert.EXPIRATION_REASON, ExpirationReason),
    ],
)
def test_every_enum_member_round_trips_through_the_wire(codec: Any, model: type[enum.Enum]) -> None:
    members = list(model)
    assert [codec.model(codec.wire(member)) for member in members] == members
    assert codec.optional_model(0) is None


def test_update_names_only_what_was_passed() -> None:
    request = _convert.user_update("bob", {"k": 1}, None, _convert.NOT_GIVEN)
    assert list(request.update_mask.paths) == ["metadata"]


def test_update_with_explicit_none_resets_the_merge_conflict_override() -> None:
    request = _convert.user_update("bob", None, None, None)
    assert list(request.update_mask.paths) == ["merge_conflict_enabled"]
    assert not request.user.HasField("merge_conflict_enabled")


def test_update_can_set_every_field_at_once() -> None:
    request = _convert.user_update("bob", {}, "robert", False)
    assert list(request.update_mask.paths) == ["metadata", "user_id", "merge_conflict_enabled"]
    assert request.user.user_id == "robert"
    assert request.user.HasField("merge_conflict_enabled")
    assert request.user.merge_conflict_enabled is False


@pytest.mark.parametrize(
    "moment",
    [datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=ZoneInfo("UTC"))],
)
def test_utc_datetimes_are_accepted(moment: datetime) -> None:
    assert _convert.timestamp(moment, "at").ToDatetime(tzinfo=UTC) == moment


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 1, 1),
        datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        # Offset zero in winter, but not UTC.
        datetime(2025, 1, 1, tzinfo=ZoneInfo("Europe/London")),
    ],
)
def test_naive_or_non_utc_datetimes_are_a_value_error(moment: datetime) -> None:
    with pytest.raises(ValueError, match="UTC"):
        _convert.timestamp(moment, "at")


def test_metadata_round_trips_with_integers_intact() -> None:
    metadata = {"age": 30, "ratio": 0.5, "tags": ["a", None, True], "nested": {"empty": {}}}
    assert _convert.mapping(_convert.struct(metadata, "metadata")) == metadata
    assert type(_convert.mapping(_convert.struct({"n": 3}, "m"))["n"]) is int


@pytest.mark.parametrize(
    ("metadata", "path"),
    [
        ({"when": datetime(2025, 1, 1)}, "metadata.when"),
        ({"x": float("nan")}, "metadata.x"),
        ({"x": ["ok", "\ud800"]}, "metadata.x[1]"),
        ({1: "one"}, "metadata"),
    ],
)
def test_metadata_json_cannot_carry_is_refused(metadata: dict[Any, Any], path: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _convert.struct(metadata, "metadata")
    assert raised.value.field_violations[0][0] == path
    assert raised.value.code is None


@pytest.mark.parametrize(("offset", "limit"), [(0, 0), (0, 201), (-1, 10)])
def test_pages_outside_the_wire_range_are_refused(offset: int, limit: int) -> None:
    # page_size 0 means "the default" on the wire, so limit=0 must not reach it.
    with pytest.raises(ValidationError):
        _convert.page_request(offset, limit)


def test_an_unknown_recall_strategy_is_refused_naming_the_choices() -> None:
    options: dict[str, Any] = {
        "min_top_k": None,
        "max_top_k": 50,
        "memories_threshold": 0.6,
        "summaries_threshold": 0.5,
        "last_n_messages": None,
        "last_n_summaries": None,
        "timezone": None,
        "include_system_prompt": True,
        "include_metadata_ids": False,
    }
    with pytest.raises(ValidationError) as refused:
        _convert.recall_options(recall_strategy="fast", **options)
    allowed = "low_latency, balanced, agentic, auto"
    assert str(refused.value) == f"recall_strategy must be one of {allowed}, not 'fast'"
    assert refused.value.field_violations == [("recall_strategy", allowed)]
    by_name = _convert.recall_options(recall_strategy="agentic", **options)
    assert by_name == _convert.recall_options(recall_strategy=RecallStrategy.AGENTIC, **options)
