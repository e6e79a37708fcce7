"""A session of a user: its messages, processing and context."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from google.protobuf import field_mask_pb2

from recallr.v1 import context_service_pb2, session_pb2, session_service_pb2
from recallrai import _convert
from recallrai._async._transport import AsyncTransport
from recallrai._convert import SessionState
from recallrai.models import (
    ContextResponse,
    Message,
    MessageList,
    MessageRole,
    NewMessage,
    RecallStrategy,
    SessionStatus,
    Unavailable,
)


class AsyncSession:
    """One conversation of a user.

    Built by ``create_session``, ``get_session`` or ``list_sessions``; after
    ``get_session(..., validate=False)`` the fields read ``UNAVAILABLE`` until
    ``refresh()``.
    """

    def __init__(self, transport: AsyncTransport, user_id: str, state: SessionState) -> None:
        self._transport = transport
        self._user_id = user_id
        self._state = state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(session_id={self.session_id!r}, status={self.status!r})"

    @property
    def session_id(self) -> str:
        return self._state.session_id

    @property
    def user_id(self) -> str:
        return self._user_id

    @property
    def status(self) -> SessionStatus | Unavailable:
        return self._state.status

    @property
    def created_at(self) -> datetime | Unavailable:
        return self._state.created_at

    @property
    def metadata(self) -> dict[str, Any] | Unavailable:
        return self._state.metadata

    @property
    def auto_process_after_seconds(self) -> int | Unavailable | None:
        return self._state.auto_process_after_seconds

    @property
    def failure_reason(self) -> str | Unavailable | None:
        """Why the last processing attempt failed, when the status is FAILED."""
        return self._state.failure_reason

    async def add_message(self, role: MessageRole | str, content: str) -> Message:
        """Add a message to the session, which must be PENDING."""
        request = session_service_pb2.AddMessageRequest(
            user_id=self._user_id,
            session_id=self.session_id,
            message=session_pb2.Message(role=_convert.message_role(role), content=content),
            request_id=str(uuid.uuid4()),
        )
        response = await self._transport.unary(self._transport.sessions.AddMessage, request)
        return _convert.message(response.message)

    async def add_messages(
        self, messages: Sequence[NewMessage], request_id: str | None = None
    ) -> list[Message]:
        """Add a batch of messages (up to 10,000) to the session, which must be PENDING.

        All of them are added, in order, or none. A ``request_id`` of your own makes
        repeating the call safe: the same id returns the messages the first call added.
        """
        request = session_service_pb2.AddMessagesRequest(
            user_id=self._user_id,
            session_id=self.session_id,
            messages=_convert.new_messages(messages, "messages"),
            request_id=request_id or str(uuid.uuid4()),
        )
        response = await self._transport.unary(self._transport.sessions.AddMessages, request)
        return [_convert.message(message) for message in response.messages]

    async def get_messages(self, offset: int = 0, limit: int = 50) -> MessageList:
        """List the session's messages, oldest first."""
        skip, page_size = _convert.page_request(offset, limit)
        request = session_service_pb2.ListMessagesRequest(
            user_id=self._user_id, session_id=self.session_id, skip=skip, page_size=page_size
        )
        response = await self._transport.unary(self._transport.sessions.ListMessages, request)
        return MessageList(
            messages=[_convert.message(message) for message in response.messages],
            total=response.total_size,
            has_more=_convert.has_more(response.next_page_token),
        )

    async def get_context(
        self,
        recall_strategy: RecallStrategy | str = RecallStrategy.BALANCED,
        min_top_k: int | None = None,
        max_top_k: int = 50,
        memories_threshold: float = 0.6,
        summaries_threshold: float = 0.5,
        last_n_messages: int | None = None,
        last_n_summaries: int | None = None,
        timezone: str | None = None,
        include_system_prompt: bool = True,
        include_metadata_ids: bool = False,
    ) -> ContextResponse:
        """Recall the context for the session's next prompt.

        ``min_top_k`` None means 15, or ``max_top_k`` when that is lower.
        """
        request = context_service_pb2.RecallContextRequest(
            user_id=self._user_id,
            session_id=self.session_id,
            options=_convert.recall_options(
                recall_strategy=recall_strategy,
                min_top_k=min_top_k,
                max_top_k=max_top_k,
                memories_threshold=memories_threshold,
                summaries_threshold=summaries_threshold,
                last_n_messages=last_n_messages,
                last_n_summaries=last_n_summaries,
                timezone=timezone,
                include_system_prompt=include_system_prompt,
                # The server sends the searches (queries, keywords, date ranges) only
                # beside the ids; the ids are dropped again unless the caller asked.
                include_metadata_ids=True,
            ),
        )
        response = await self._transport.unary(self._transport.contexts.RecallContext, request)
        return _convert.context(response.context, include_metadata_ids)

    async def get_context_stream(
        self,
        recall_strategy: RecallStrategy | str = RecallStrategy.BALANCED,
        min_top_k: int | None = None,
        max_top_k: int = 50,
        memories_threshold: float = 0.6,
        summaries_threshold: float = 0.5,
        last_n_messages: int | None = None,
        last_n_summaries: int | None = None,
        timezone: str | None = None,
        include_system_prompt: bool = True,
        include_metadata_ids: bool = False,
    ) -> AsyncIterator[ContextResponse]:
        """Recall the context, yielding progress events and then the one final event."""
        request = context_service_pb2.StreamRecallContextRequest(
            user_id=self._user_id,
            session_id=self.session_id,
            options=_convert.recall_options(
                recall_strategy=recall_strategy,
                min_top_k=min_top_k,
                max_top_k=max_top_k,
                memories_threshold=memories_threshold,
                summaries_threshold=summaries_threshold,
                last_n_messages=last_n_messages,
                last_n_summaries=last_n_summaries,
                timezone=timezone,
                include_system_prompt=include_system_prompt,
                # The server sends the searches (queries, keywords, date ranges) only
                # beside the ids; the ids are dropped again unless the caller asked.
                include_metadata_ids=True,
            ),
        )
        async for event in self._transport.server_stream(
            self._transport.contexts.StreamRecallContext, request, self._transport.timeout
        ):
            yield _convert.context_event(event, include_metadata_ids)

    async def process(self) -> None:
        """Queue the session for processing into memories; the status becomes PROCESSING."""
        request = session_service_pb2.ProcessSessionRequest(
            user_id=self._user_id, session_id=self.session_id
        )
        response = await self._transport.unary(self._transport.sessions.ProcessSession, request)
        self._state = _convert.session_state(response.session)

    async def update(self, new_metadata: Mapping[str, Any] | None = None) -> None:
        """Replace the session's metadata; None leaves it as it is."""
        if new_metadata is None:
            return
        request = session_service_pb2.UpdateSessionRequest(
            user_id=self._user_id,
            session=session_pb2.Session(
                session_id=self.session_id,
                metadata=_convert.struct(new_metadata, "new_metadata"),
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["metadata"]),
        )
        response = await self._transport.unary(self._transport.sessions.UpdateSession, request)
        self._state = _convert.session_state(response.session)

    async def refresh(self) -> None:
        """Reload the session from the server."""
        request = session_service_pb2.GetSessionRequest(
            user_id=self._user_id, session_id=self.session_id
        )
        response = await self._transport.unary(self._transport.sessions.GetSession, request)
        self._state = _convert.session_state(response.session)

    async def delete(self) -> None:
        """Delete the session and its messages."""
        request = session_service_pb2.DeleteSessionRequest(
            user_id=self._user_id, session_id=self.session_id
        )
        await self._transport.unary(self._transport.sessions.DeleteSession, request)
