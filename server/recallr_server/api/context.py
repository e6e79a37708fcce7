"""ContextService: the context for a session's next prompt, whole or streamed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from recallr.v1 import context_pb2
from recallr.v1 import context_service_pb2 as pb
from recallr_server.api.handlers import Call
from recallr_server.domain.context import (
    ContextRecall,
    RecalledContext,
    RecallOptions,
    RecallSettings,
    Strategy,
    recall_settings,
)
from recallr_server.domain.validation import Violations

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


def settings_of(options: pb.RecallOptions) -> RecallSettings:
    """The options with defaults applied; every out-of-range field is a violation."""
    v = Violations()
    strategy = STRATEGY_FROM_WIRE.get(options.recall_strategy)
    if strategy is None:
        v.add("options.recall_strategy", f"{options.recall_strategy} is not a recall strategy")
    asked = RecallOptions(
        strategy=strategy or Strategy.BALANCED,
        min_top_k=options.min_top_k if options.HasField("min_top_k") else None,
        max_top_k=options.max_top_k if options.HasField("max_top_k") else None,
        memories_threshold=(
            options.memories_threshold if options.HasField("memories_threshold") else None
        ),
        summaries_threshold=(
            options.summaries_threshold if options.HasField("summaries_threshold") else None
        ),
        last_n_messages=options.last_n_messages if options.HasField("last_n_messages") else None,
        last_n_summaries=(
            options.last_n_summaries if options.HasField("last_n_summaries") else None
        ),
        timezone=options.timezone,
        include_system_prompt=(
            options.include_system_prompt if options.HasField("include_system_prompt") else None
        ),
        include_metadata_ids=options.include_metadata_ids,
    )
    settings = recall_settings(v, asked)
    v.raise_if_any()
    return settings


def _context(result: RecalledContext, settings: RecallSettings) -> context_pb2.Context:
    context = context_pb2.Context(
        text=result.text, recall_strategy_used=STRATEGY_TO_WIRE[result.strategy_used]
    )
    # How the context was found is always told; what it holds, only when asked for.
    metadata = context.metadata
    metadata.queries.extend(result.queries)
    metadata.keywords.extend(result.keywords)
    for start, end in result.date_filters:
        date_range = metadata.date_filters.add()
        date_range.start_time.FromDatetime(start)
        date_range.end_time.FromDatetime(end)
    metadata.agent_reasoning = result.agent_reasoning
    if settings.include_metadata_ids:
        metadata.memory_ids.extend(result.memory_ids)
        metadata.session_ids.extend(result.session_ids)
        metadata.message_ids.extend(result.message_ids)
    return context


def _deadline(call: Call) -> float | None:
    """The call's deadline as a `time.monotonic()` instant; None without one."""
    remaining = call.context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


class ContextServicer:
    def __init__(self, recall: ContextRecall) -> None:
        self._recall = recall

    async def RecallContext(
        self, request: pb.RecallContextRequest, call: Call
    ) -> pb.RecallContextResponse:
        settings = settings_of(request.options)
        result = await self._recall.recall(
            call.project_id,
            request.user_id,
            request.session_id,
            settings,
            deadline=_deadline(call),
        )
        return pb.RecallContextResponse(context=_context(result, settings))

    async def StreamRecallContext(
        self, request: pb.StreamRecallContextRequest, call: Call
    ) -> AsyncIterator[pb.StreamRecallContextResponse]:
        settings = settings_of(request.options)
        async for event in self._recall.stream(
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
