"""ContextService: the context for a session's next prompt, whole or streamed."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recallr.v1 import context_pb2
from recallr.v1 import context_service_pb2 as pb
from recallr_server.api.handlers import Call
from recallr_server.domain.context import (
    DEFAULT_MAX_TOP_K,
    DEFAULT_MEMORIES_THRESHOLD,
    DEFAULT_MIN_TOP_K,
    DEFAULT_SUMMARIES_THRESHOLD,
    MAX_LAST_N,
    MAX_TOP_K,
    RecalledContext,
    RecallSettings,
    Strategy,
)
from recallr_server.domain.validation import Violations
from recallr_server.engine.recall.recaller import ContextRecaller

STRATEGY_FROM_WIRE = {
    context_pb2.RECALL_STRATEGY_UNSPECIFIED: Strategy.BALANCED,
    context_pb2.RECALL_STRATEGY_LOW_LATENCY: Strategy.LOW_LATENCY,
    context_pb2.RECALL_STRATEGY_BALANCED: Strategy.BALANCED,
    context_pb2.RECALL_STRATEGY_AGENTIC: Strategy.AGENTIC,
    context_pb2.RECALL_STRATEGY_AUTO: Strategy.AUTO,
}
STRATEGY_TO_WIRE = {
    strategy: wire
    for wire, strategy in STRATEGY_FROM_WIRE.items()
    if wire != context_pb2.RECALL_STRATEGY_UNSPECIFIED
}


def _integer(
    v: Violations, options: pb.RecallOptions, name: str, low: int, high: int, default: int
) -> int:
    if not options.HasField(name):  # type: ignore[arg-type]
        return default
    value: int = getattr(options, name)
    if not low <= value <= high:
        v.add(f"options.{name}", f"must be between {low} and {high}")
    return value


def _fraction(v: Violations, options: pb.RecallOptions, name: str, default: float) -> float:
    if not options.HasField(name):  # type: ignore[arg-type]
        return default
    value: float = getattr(options, name)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        v.add(f"options.{name}", "must be between 0 and 1")
    return value


def _zone(v: Violations, name: str) -> ZoneInfo:
    utc = ZoneInfo("UTC")
    if not name:
        return utc
    # A region such as "America" is a directory and a long name is no file name: OSError.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        v.add("options.timezone", f"{name[:64]!r} is not an IANA time zone")
        return utc


def recall_settings(options: pb.RecallOptions) -> RecallSettings:
    """The options with defaults applied; every out-of-range field is a violation."""
    v = Violations()
    strategy = STRATEGY_FROM_WIRE.get(options.recall_strategy)
    if strategy is None:
        v.add("options.recall_strategy", f"{options.recall_strategy} is not a recall strategy")
    max_top_k = _integer(v, options, "max_top_k", 1, MAX_TOP_K, DEFAULT_MAX_TOP_K)
    # Unset, the floor follows a lower cap: max_top_k=10 alone is a valid request.
    min_top_k = _integer(v, options, "min_top_k", 1, MAX_TOP_K, min(DEFAULT_MIN_TOP_K, max_top_k))
    if max_top_k < min_top_k:
        v.add("options.max_top_k", f"must not be below min_top_k ({min_top_k})")
    settings = RecallSettings(
        strategy=strategy or Strategy.BALANCED,
        min_top_k=min_top_k,
        max_top_k=max_top_k,
        memories_threshold=_fraction(v, options, "memories_threshold", DEFAULT_MEMORIES_THRESHOLD),
        summaries_threshold=_fraction(
            v, options, "summaries_threshold", DEFAULT_SUMMARIES_THRESHOLD
        ),
        last_n_messages=_integer(v, options, "last_n_messages", 0, MAX_LAST_N, 0),
        last_n_summaries=_integer(v, options, "last_n_summaries", 0, MAX_LAST_N, 0),
        zone=_zone(v, options.timezone),
        include_system_prompt=(
            options.include_system_prompt if options.HasField("include_system_prompt") else True
        ),
        include_metadata_ids=options.include_metadata_ids,
    )
    v.raise_if_any()
    return settings


def _context(result: RecalledContext, settings: RecallSettings) -> context_pb2.Context:
    context = context_pb2.Context(
        text=result.text, recall_strategy_used=STRATEGY_TO_WIRE[result.strategy_used]
    )
    if settings.include_metadata_ids:
        metadata = context.metadata
        metadata.memory_ids.extend(result.memory_ids)
        metadata.session_ids.extend(result.session_ids)
        metadata.message_ids.extend(result.message_ids)
        metadata.queries.extend(result.queries)
        metadata.keywords.extend(result.keywords)
        for start, end in result.date_filters:
            date_range = metadata.date_filters.add()
            date_range.start_time.FromDatetime(start)
            date_range.end_time.FromDatetime(end)
    return context


def _deadline(call: Call) -> float | None:
    """The call's deadline as a `time.monotonic()` instant; None without one."""
    remaining = call.context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


class ContextServicer:
    def __init__(self, recaller: ContextRecaller) -> None:
        self._recaller = recaller

    async def RecallContext(
        self, request: pb.RecallContextRequest, call: Call
    ) -> pb.RecallContextResponse:
        settings = recall_settings(request.options)
        result: RecalledContext | None = None
        async for event in self._recaller.steps(
            call.project_id,
            request.user_id,
            request.session_id,
            settings,
            deadline=_deadline(call),
        ):
            if isinstance(event, RecalledContext):
                result = event
        assert result is not None, "recall ends with a context"
        return pb.RecallContextResponse(context=_context(result, settings))

    async def StreamRecallContext(
        self, request: pb.StreamRecallContextRequest, call: Call
    ) -> AsyncIterator[pb.StreamRecallContextResponse]:
        settings = recall_settings(request.options)
        async for event in self._recaller.steps(
            call.project_id,
            request.user_id,
            request.session_id,
            settings,
            deadline=_deadline(call),
        ):
            if isinstance(event, RecalledContext):
                yield pb.StreamRecallContextResponse(context=_context(event, settings))
            else:
                yield pb.StreamRecallContextResponse(
                    status_update=pb.RecallStatusUpdate(step=event.step, message=event.message)
                )
