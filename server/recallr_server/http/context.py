"""Context recall, whole or as server-sent events, and the system prompt the SDK fetches.

The SDK reads a stream line by line, parses each `data:` line as one JSON object and
reads until the server closes. Its handling of failed streams is narrow (a 404 stream
raises `httpx.ResponseNotRead`, a 400 yields nothing), so only authentication and bad
parameters fail before the stream starts (401, 422): any later failure, a session not
found included, is one final event carrying `error_message`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from recallr_server import metrics
from recallr_server.domain.context import (
    MAX_LAST_N,
    MAX_TOP_K,
    RecalledContext,
    RecallOptions,
    RecallSettings,
    recall_settings,
    system_prompt,
)
from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.validation import Violations
from recallr_server.http import convert, schemas
from recallr_server.http.deps import Cases, Project, UseCases, responses
from recallr_server.http.errors import body_of

log = logging.getLogger("recallr.http")

router = APIRouter(prefix="/api/v1")
CONTEXT = "/users/{user_id}/sessions/{session_id}/context"
TopK = Annotated[int | None, Query(ge=1, le=MAX_TOP_K)]
LastN = Annotated[int | None, Query(ge=0, le=MAX_LAST_N)]
Fraction = Annotated[float | None, Query(ge=0, le=1)]
_EVENT_STREAM = {"text/event-stream": {"schema": {"type": "string"}}}


def _settings(
    strategy: schemas.RecallStrategy,
    min_top_k: int | None,
    max_top_k: int | None,
    memories_threshold: float | None,
    summaries_threshold: float | None,
    last_n_messages: int | None,
    last_n_summaries: int | None,
    timezone: str | None,
    include_system_prompt: bool | None,
    include_metadata_ids: bool,
) -> RecallSettings:
    v = Violations()
    settings = recall_settings(
        v,
        RecallOptions(
            convert.strategy(strategy),
            min_top_k,
            max_top_k,
            memories_threshold,
            summaries_threshold,
            last_n_messages,
            last_n_summaries,
            timezone or "",
            include_system_prompt,
            include_metadata_ids,
        ),
    )
    v.raise_if_any()
    return settings


@router.get(
    CONTEXT,
    responses={
        **responses(Reason.USER_NOT_FOUND, Reason.SESSION_NOT_FOUND),
        200: {
            "content": _EVENT_STREAM,
            "description": "The context, or with stream=true its events",
        },
    },
)
async def get_context(
    request: Request,
    user_id: str,
    session_id: str,
    project: Project,
    cases: Cases,
    recall_strategy: schemas.RecallStrategy = schemas.RecallStrategy.BALANCED,
    min_top_k: TopK = None,
    max_top_k: TopK = None,
    memories_threshold: Fraction = None,
    summaries_threshold: Fraction = None,
    last_n_messages: LastN = None,
    last_n_summaries: LastN = None,
    timezone: str | None = None,
    include_system_prompt: bool | None = None,
    include_metadata_ids: bool = False,
    stream: bool = False,
) -> Any:
    settings = _settings(
        recall_strategy,
        min_top_k,
        max_top_k,
        memories_threshold,
        summaries_threshold,
        last_n_messages,
        last_n_summaries,
        timezone,
        include_system_prompt,
        include_metadata_ids,
    )
    if stream:
        events = _events(request, cases, project, settings)
        return StreamingResponse(events, media_type="text/event-stream")
    result = await cases.recall.recall(project, user_id, session_id, settings, deadline=None)
    return convert.context(result, with_ids=settings.include_metadata_ids)


def _sse(event: schemas.Context) -> str:
    # One single-line JSON object per event: the SDK does not join multi-line data.
    return f"data: {event.model_dump_json()}\n\n"


async def _events(
    request: Request, cases: UseCases, project: str, settings: RecallSettings
) -> AsyncIterator[str]:
    path: Mapping[str, str] = request.path_params
    user_id, session_id = path["user_id"], path["session_id"]
    with metrics.open_stream(f"GET /api/v1{CONTEXT}"):
        try:
            # Looked up first, so a wrong id is the only event rather than one after progress.
            await cases.sessions.get(project, user_id, session_id)
            async for event in cases.recall.stream(
                project, user_id, session_id, settings, deadline=None
            ):
                if isinstance(event, RecalledContext):
                    yield _sse(convert.context(event, with_ids=settings.include_metadata_ids))
                else:
                    yield _sse(convert.progress(event))
        except DomainError as error:
            request.state.reason = error.reason.value
            yield _sse(_failed(error, path))
        except Exception:
            request.state.reason = Reason.INTERNAL.value
            log.exception("stream failed", extra={"request_id": request.state.request_id})
            yield _sse(
                schemas.Context(
                    is_final=True,
                    error_message="internal error; the server logged it under request id "
                    + request.state.request_id,
                )
            )


def _failed(error: DomainError, path: Mapping[str, str]) -> schemas.Context:
    detail = body_of(error, path)["detail"]
    return schemas.Context(
        is_final=True, error_message=detail if isinstance(detail, str) else error.message
    )


@router.get("/system-prompt", responses=responses())
async def get_system_prompt(
    project: Project,
    recall_strategy: schemas.RecallStrategy = schemas.RecallStrategy.BALANCED,
) -> schemas.SystemPrompt:
    """The same prompt for every strategy, naming no zone: the SDK fetches it once an hour
    and puts it before any context."""
    return schemas.SystemPrompt(system_prompt=system_prompt(None))
