"""SessionService: sessions, messages, and the message tail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime

from recallr.v1 import session_pb2
from recallr.v1 import session_service_pb2 as pb
from recallr_server.api import convert
from recallr_server.api.handlers import Call
from recallr_server.api.paging import page_of
from recallr_server.api.structs import metadata_filter_from_struct, metadata_from_struct
from recallr_server.api.user_export import parse_time
from recallr_server.domain.bulk import MAX_BATCH_MESSAGES, BulkWrites, NewMessage
from recallr_server.domain.messages import MAX_RECENT_MESSAGES, Messages
from recallr_server.domain.records import SessionStatus
from recallr_server.domain.sessions import MAX_AUTO_PROCESS_SECONDS, NewSession, Sessions
from recallr_server.domain.validation import (
    MAX_CONTENT_LENGTH,
    Violations,
    check_request_id,
    check_text,
)


def _new_session(v: Violations, given: session_pb2.Session) -> NewSession:
    metadata = metadata_from_struct(v, "session.metadata", given.metadata)
    if not 0 <= given.auto_process_after_seconds <= MAX_AUTO_PROCESS_SECONDS:
        v.add(
            "session.auto_process_after_seconds",
            f"must be between 0 and {MAX_AUTO_PROCESS_SECONDS}",
        )
    created_at: datetime | None = None
    if given.HasField("create_time"):
        try:
            created_at = given.create_time.ToDatetime(tzinfo=UTC)
        except (ValueError, OverflowError):
            v.add("session.create_time", "is not a valid timestamp")
    return NewSession(metadata, given.auto_process_after_seconds, created_at)


def _statuses(
    v: Violations, wire: Iterable[session_pb2.SessionStatus.ValueType]
) -> list[SessionStatus]:
    statuses = []
    for status in wire:
        if status not in convert.SESSION_STATUS_FROM_WIRE:
            v.add("status_filter", f"{status} is not a session status")
        else:
            statuses.append(convert.SESSION_STATUS_FROM_WIRE[status])
    return statuses


def _new_messages(
    v: Violations, given: Sequence[session_pb2.Message], *, required: bool
) -> list[NewMessage]:
    if required and not given:
        v.add("messages", "is required: at least one message")
    if len(given) > MAX_BATCH_MESSAGES:
        v.add("messages", f"must be at most {MAX_BATCH_MESSAGES}")
        return []
    messages = []
    for index, message in enumerate(given):
        field = f"messages[{index}]"
        role = convert.ROLE_FROM_WIRE.get(message.role)
        if role is None:
            v.add(f"{field}.role", "must be USER or ASSISTANT")
        check_text(v, f"{field}.content", message.content, max_length=MAX_CONTENT_LENGTH)
        created_at = parse_time(
            v,
            f"{field}.create_time",
            message.create_time,
            present=message.HasField("create_time"),
            required=False,
        )
        if role is not None:
            messages.append(NewMessage(role, message.content, created_at))
    return messages


def _check_count(v: Violations, n: int, low: int) -> None:
    if not low <= n <= MAX_RECENT_MESSAGES:
        v.add("n", f"must be between {low} and {MAX_RECENT_MESSAGES}")


class SessionServicer:
    def __init__(self, sessions: Sessions, messages: Messages, bulk: BulkWrites) -> None:
        self._sessions = sessions
        self._messages = messages
        self._bulk = bulk

    async def CreateSession(
        self, request: pb.CreateSessionRequest, call: Call
    ) -> pb.CreateSessionResponse:
        v = Violations()
        new = _new_session(v, request.session)
        check_request_id(v, request.request_id)
        v.raise_if_any()
        session = await self._sessions.create(
            call.project_id, request.user_id, new, request.request_id
        )
        return pb.CreateSessionResponse(session=convert.session(session))

    async def GetSession(self, request: pb.GetSessionRequest, call: Call) -> pb.GetSessionResponse:
        session = await self._sessions.get(call.project_id, request.user_id, request.session_id)
        return pb.GetSessionResponse(session=convert.session(session))

    async def ListSessions(
        self, request: pb.ListSessionsRequest, call: Call
    ) -> pb.ListSessionsResponse:
        v = Violations()
        wanted = metadata_filter_from_struct(v, "metadata_filter", request.metadata_filter)
        statuses = _statuses(v, request.status_filter)
        v.raise_if_any()
        page = page_of(request, default_size=10)
        sessions = await self._sessions.page(
            call.project_id, request.user_id, wanted, statuses, page.window
        )
        return pb.ListSessionsResponse(
            sessions=[convert.session(s) for s in sessions.items],
            next_page_token=page.next_token(sessions.total),
            total_size=sessions.total,
        )

    async def UpdateSession(
        self, request: pb.UpdateSessionRequest, call: Call
    ) -> pb.UpdateSessionResponse:
        paths = set(request.update_mask.paths)
        v = Violations()
        if not paths:
            v.add("update_mask", "must name at least one field")
        for path in sorted(paths - {"metadata"}):
            v.add("update_mask", f"{path!r} cannot be updated")
        metadata = (
            metadata_from_struct(v, "session.metadata", request.session.metadata)
            if "metadata" in paths
            else {}
        )
        v.raise_if_any()
        session = await self._sessions.update_metadata(
            call.project_id, request.user_id, request.session.session_id, metadata
        )
        return pb.UpdateSessionResponse(session=convert.session(session))

    async def DeleteSession(
        self, request: pb.DeleteSessionRequest, call: Call
    ) -> pb.DeleteSessionResponse:
        await self._sessions.delete(call.project_id, request.user_id, request.session_id)
        return pb.DeleteSessionResponse()

    async def ProcessSession(
        self, request: pb.ProcessSessionRequest, call: Call
    ) -> pb.ProcessSessionResponse:
        session = await self._sessions.process(call.project_id, request.user_id, request.session_id)
        return pb.ProcessSessionResponse(session=convert.session(session))

    async def AddMessage(self, request: pb.AddMessageRequest, call: Call) -> pb.AddMessageResponse:
        v = Violations()
        role = convert.ROLE_FROM_WIRE.get(request.message.role)
        if role is None:
            v.add("message.role", "must be USER or ASSISTANT")
        check_text(v, "message.content", request.message.content, max_length=MAX_CONTENT_LENGTH)
        check_request_id(v, request.request_id)
        v.raise_if_any()
        assert role is not None
        message = await self._messages.add(
            call.project_id,
            request.user_id,
            request.session_id,
            role,
            request.message.content,
            request.request_id,
        )
        return pb.AddMessageResponse(message=convert.message(message))

    async def ListMessages(
        self, request: pb.ListMessagesRequest, call: Call
    ) -> pb.ListMessagesResponse:
        page = page_of(request, default_size=50)
        messages = await self._messages.page(
            call.project_id, request.user_id, request.session_id, page.window
        )
        return pb.ListMessagesResponse(
            messages=[convert.message(m) for m in messages.items],
            next_page_token=page.next_token(messages.total),
            total_size=messages.total,
        )

    async def ListRecentMessages(
        self, request: pb.ListRecentMessagesRequest, call: Call
    ) -> pb.ListRecentMessagesResponse:
        v = Violations()
        _check_count(v, request.n, 1)
        v.raise_if_any()
        messages = await self._messages.recent(call.project_id, request.user_id, request.n)
        return pb.ListRecentMessagesResponse(messages=[convert.message(m) for m in messages])

    async def TailMessages(
        self, request: pb.TailMessagesRequest, call: Call
    ) -> AsyncIterator[pb.TailMessagesResponse]:
        v = Violations()
        _check_count(v, request.n, 0)
        v.raise_if_any()
        async for batch in self._messages.tail(
            call.project_id, request.user_id, request.n, follow=request.follow
        ):
            yield pb.TailMessagesResponse(messages=[convert.message(m) for m in batch])

    async def ImportSession(
        self, request: pb.ImportSessionRequest, call: Call
    ) -> pb.ImportSessionResponse:
        v = Violations()
        new = _new_session(v, request.session)
        messages = _new_messages(v, request.messages, required=False)
        check_request_id(v, request.request_id)
        v.raise_if_any()
        imported = await self._bulk.import_session(
            call.project_id,
            request.user_id,
            new,
            messages,
            process=request.process,
            request_id=request.request_id,
        )
        return pb.ImportSessionResponse(
            session=convert.session(imported.session), message_ids=imported.message_ids
        )

    async def AddMessages(
        self, request: pb.AddMessagesRequest, call: Call
    ) -> pb.AddMessagesResponse:
        v = Violations()
        messages = _new_messages(v, request.messages, required=True)
        check_request_id(v, request.request_id)
        v.raise_if_any()
        added = await self._bulk.add_messages(
            call.project_id, request.user_id, request.session_id, messages, request.request_id
        )
        return pb.AddMessagesResponse(messages=[convert.message(m) for m in added])
