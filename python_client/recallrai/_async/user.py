"""A user of the project: their sessions, memories, messages and merge conflicts."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from recallr.v1 import (
    memory_service_pb2,
    merge_conflict_service_pb2,
    session_pb2,
    session_service_pb2,
    user_service_pb2,
)
from recallrai import _convert, _export
from recallrai._async._transport import AsyncTransport
from recallrai._async.merge_conflict import AsyncMergeConflict
from recallrai._async.session import AsyncSession
from recallrai._convert import NOT_GIVEN, NotGiven, UserState
from recallrai.models import (
    MemoryList,
    MergeConflictList,
    MergeConflictStatus,
    Message,
    MessageList,
    NewMessage,
    SessionList,
    SessionStatus,
    Unavailable,
    UserDataCounts,
    UserMemoryItem,
)


class AsyncUser:
    """One end user of the calling application.

    Built by ``create_user``, ``get_user`` or ``list_users``; after
    ``get_user(..., validate=False)`` the looked-up fields read ``UNAVAILABLE``
    until ``refresh()``.
    """

    def __init__(self, transport: AsyncTransport, state: UserState) -> None:
        self._transport = transport
        self._state = state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(user_id={self.user_id!r})"

    @property
    def user_id(self) -> str:
        return self._state.user_id

    @property
    def metadata(self) -> dict[str, Any] | Unavailable:
        return self._state.metadata

    @property
    def merge_conflict_enabled(self) -> bool | Unavailable | None:
        """True always raises merge conflicts, False never does, None inherits the project's."""
        return self._state.merge_conflict_enabled

    @property
    def created_at(self) -> datetime | Unavailable:
        return self._state.created_at

    @property
    def last_active_at(self) -> datetime | Unavailable:
        return self._state.last_active_at

    async def update(
        self,
        new_metadata: Mapping[str, Any] | None = None,
        new_user_id: str | None = None,
        merge_conflict_enabled: bool | NotGiven | None = NOT_GIVEN,
    ) -> None:
        """Change what is passed, atomically; ``merge_conflict_enabled=None`` resets it."""
        request = _convert.user_update(
            self.user_id, new_metadata, new_user_id, merge_conflict_enabled
        )
        if not request.update_mask.paths:
            return
        response = await self._transport.unary(self._transport.users.UpdateUser, request)
        self._state = _convert.user_state(response.user)

    async def refresh(self) -> None:
        """Reload the user from the server."""
        request = user_service_pb2.GetUserRequest(user_id=self.user_id)
        response = await self._transport.unary(self._transport.users.GetUser, request)
        self._state = _convert.user_state(response.user)

    async def delete(self) -> None:
        """Delete the user with all their sessions, messages, memories and merge conflicts."""
        request = user_service_pb2.DeleteUserRequest(user_id=self.user_id)
        await self._transport.unary(self._transport.users.DeleteUser, request)

    async def create_session(
        self,
        auto_process_after_seconds: int | None = 600,
        metadata: Mapping[str, Any] | None = None,
        custom_created_at_utc: datetime | None = None,
    ) -> AsyncSession:
        """Start a session; ``custom_created_at_utc`` (timezone-aware UTC) backdates it.

        The session is processed once it has had no new message for
        ``auto_process_after_seconds``; None (or 0) processes it only on request.
        """
        session = _new_session(custom_created_at_utc, metadata, auto_process_after_seconds)
        request = session_service_pb2.CreateSessionRequest(
            user_id=self.user_id, session=session, request_id=str(uuid.uuid4())
        )
        response = await self._transport.unary(self._transport.sessions.CreateSession, request)
        return self._session(_convert.session_state(response.session))

    async def import_session(
        self,
        messages: Sequence[NewMessage],
        custom_created_at_utc: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        auto_process_after_seconds: int | None = None,
        process: bool = False,
        request_id: str | None = None,
    ) -> AsyncSession:
        """Add a whole conversation at once: a session and its messages (up to 10,000).

        All of it is stored, or nothing. ``custom_created_at_utc`` (timezone-aware UTC)
        is when it began, and each message's ``timestamp`` defaults to it. ``process``
        queues the session for processing at once; otherwise it is processed on
        ``process()`` or after ``auto_process_after_seconds`` without new messages. A
        ``request_id`` of your own makes repeating the import safe: the same id returns
        the session the first call created.
        """
        session = _new_session(custom_created_at_utc, metadata, auto_process_after_seconds)
        request = session_service_pb2.ImportSessionRequest(
            user_id=self.user_id,
            session=session,
            messages=_convert.new_messages(messages, "messages"),
            process=process,
            request_id=request_id or str(uuid.uuid4()),
        )
        response = await self._transport.unary(self._transport.sessions.ImportSession, request)
        return self._session(_convert.session_state(response.session))

    async def export(
        self, path: str | os.PathLike[str], progress: bool | None = None
    ) -> UserDataCounts:
        """Write everything stored about the user to ``path`` as JSON Lines.

        The file is the versioned export format of docs/export-format.md, read from one
        consistent snapshot; ``RecallrAI.import_user`` reads it back. ``progress`` shows
        a progress bar (None: when stderr is a terminal and tqdm is installed). The file
        appears only once complete. Returns what it holds.
        """
        request = user_service_pb2.ExportUserRequest(user_id=self.user_id)
        counts = None
        with _export.replacing(path) as file, _export.Progress(progress, "export") as bar:
            # As long as the data needs: no deadline.
            async for response in self._transport.server_stream(
                self._transport.users.ExportUser, request, None
            ):
                for record in response.records:
                    if record.HasField("header"):
                        counts = _convert.data_counts(record.header.counts)
                        bar.total(_export.total_records(record.header))
                    file.write(_export.line(record))
                bar.advance(len(response.records))
        assert counts is not None, "every export starts with its header"
        return counts

    async def get_session(self, session_id: str, validate: bool = True) -> AsyncSession:
        """The session with this id; ``validate=False`` trusts the id and makes no call."""
        if not validate:
            return self._session(_convert.unfetched_session(session_id))
        request = session_service_pb2.GetSessionRequest(user_id=self.user_id, session_id=session_id)
        response = await self._transport.unary(self._transport.sessions.GetSession, request)
        return self._session(_convert.session_state(response.session))

    async def list_sessions(
        self,
        offset: int = 0,
        limit: int = 10,
        metadata_filter: Mapping[str, Any] | None = None,
        status_filter: Sequence[SessionStatus] | None = None,
    ) -> SessionList[AsyncSession]:
        """The user's sessions, newest first."""
        skip, page_size = _convert.page_request(offset, limit)
        request = session_service_pb2.ListSessionsRequest(
            user_id=self.user_id,
            skip=skip,
            page_size=page_size,
            status_filter=[_convert.SESSION_STATUS.wire(status) for status in status_filter or ()],
        )
        if metadata_filter is not None:
            request.metadata_filter.CopyFrom(_convert.struct(metadata_filter, "metadata_filter"))
        response = await self._transport.unary(self._transport.sessions.ListSessions, request)
        return SessionList(
            sessions=[
                self._session(_convert.session_state(session)) for session in response.sessions
            ],
            total=response.total_size,
            has_more=_convert.has_more(response.next_page_token),
        )

    async def list_memories(
        self,
        offset: int = 0,
        limit: int = 20,
        categories: Sequence[str] | None = None,
        session_id_filter: Sequence[str] | None = None,
        session_metadata_filter: Mapping[str, Any] | None = None,
        include_previous_versions: bool = True,
        include_connected_memories: bool = True,
    ) -> MemoryList:
        """The current version of each of the user's memories, newest first."""
        skip, page_size = _convert.page_request(offset, limit)
        request = memory_service_pb2.ListMemoriesRequest(
            user_id=self.user_id,
            skip=skip,
            page_size=page_size,
            categories=categories or (),
            session_ids=session_id_filter or (),
            include_previous_versions=include_previous_versions,
            include_connected_memories=include_connected_memories,
        )
        if session_metadata_filter is not None:
            request.session_metadata_filter.CopyFrom(
                _convert.struct(session_metadata_filter, "session_metadata_filter")
            )
        response = await self._transport.unary(self._transport.memories.ListMemories, request)
        return MemoryList(
            items=[
                _convert.memory(memory, include_previous_versions, include_connected_memories)
                for memory in response.memories
            ],
            total=response.total_size,
            has_more=_convert.has_more(response.next_page_token),
        )

    async def get_memory(
        self,
        memory_id: str,
        include_previous_versions: bool = True,
        include_connected_memories: bool = True,
    ) -> UserMemoryItem:
        """One memory version, current or expired."""
        request = memory_service_pb2.GetMemoryRequest(
            user_id=self.user_id,
            memory_id=memory_id,
            include_previous_versions=include_previous_versions,
            include_connected_memories=include_connected_memories,
        )
        response = await self._transport.unary(self._transport.memories.GetMemory, request)
        return _convert.memory(
            response.memory, include_previous_versions, include_connected_memories
        )

    async def delete_memory(self, memory_id: str, delete_previous_versions: bool = False) -> None:
        """Delete one memory version, or it and every older version of its chain."""
        request = memory_service_pb2.DeleteMemoryRequest(
            user_id=self.user_id,
            memory_id=memory_id,
            delete_previous_versions=delete_previous_versions,
        )
        await self._transport.unary(self._transport.memories.DeleteMemory, request)

    async def get_last_n_messages(self, n: int) -> MessageList:
        """The user's last ``n`` messages across all sessions, oldest first.

        Not paged: ``total`` is the number returned and ``has_more`` is False.
        """
        request = session_service_pb2.ListRecentMessagesRequest(user_id=self.user_id, n=n)
        response = await self._transport.unary(self._transport.sessions.ListRecentMessages, request)
        messages = [_convert.message(message) for message in response.messages]
        return MessageList(messages=messages, total=len(messages), has_more=False)

    async def tail_messages(
        self,
        n: int = 10,
        follow: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 (the stream's gRPC deadline)
    ) -> AsyncIterator[Message]:
        """The user's last ``n`` messages, then with ``follow`` each new one as it is added.

        A following stream has no deadline unless ``timeout`` (seconds) is given;
        otherwise the client's timeout applies.
        """
        request = session_service_pb2.TailMessagesRequest(user_id=self.user_id, n=n, follow=follow)
        deadline = timeout if timeout is not None or follow else self._transport.timeout
        async for batch in self._transport.server_stream(
            self._transport.sessions.TailMessages, request, deadline
        ):
            for message in batch.messages:
                yield _convert.message(message)

    async def list_merge_conflicts(
        self,
        offset: int = 0,
        limit: int = 10,
        status: MergeConflictStatus | None = None,
        sort_by: str = "created_at",
        sort_order: str = "desc",
    ) -> MergeConflictList[AsyncMergeConflict]:
        """The user's merge conflicts; ``sort_by`` is created_at or resolved_at."""
        skip, page_size = _convert.page_request(offset, limit)
        request = merge_conflict_service_pb2.ListMergeConflictsRequest(
            user_id=self.user_id,
            skip=skip,
            page_size=page_size,
            sort_by=_convert.parse_choice(sort_by, _convert.MERGE_CONFLICT_SORT_FIELDS, "sort_by"),
            sort_order=_convert.parse_choice(sort_order, _convert.SORT_ORDERS, "sort_order"),
        )
        if status is not None:
            request.status = _convert.MERGE_CONFLICT_STATUS.wire(status)
        response = await self._transport.unary(
            self._transport.merge_conflicts.ListMergeConflicts, request
        )
        return MergeConflictList(
            conflicts=[
                AsyncMergeConflict(self._transport, _convert.merge_conflict_state(conflict))
                for conflict in response.merge_conflicts
            ],
            total=response.total_size,
            has_more=_convert.has_more(response.next_page_token),
        )

    async def get_merge_conflict(self, conflict_id: str) -> AsyncMergeConflict:
        """One merge conflict of the user."""
        request = merge_conflict_service_pb2.GetMergeConflictRequest(
            user_id=self.user_id, merge_conflict_id=conflict_id
        )
        response = await self._transport.unary(
            self._transport.merge_conflicts.GetMergeConflict, request
        )
        return AsyncMergeConflict(
            self._transport, _convert.merge_conflict_state(response.merge_conflict)
        )

    def _session(self, state: _convert.SessionState) -> AsyncSession:
        return AsyncSession(self._transport, self.user_id, state)


def _new_session(
    custom_created_at_utc: datetime | None,
    metadata: Mapping[str, Any] | None,
    auto_process_after_seconds: int | None,
) -> session_pb2.Session:
    session = session_pb2.Session(auto_process_after_seconds=auto_process_after_seconds or 0)
    if metadata is not None:
        session.metadata.CopyFrom(_convert.struct(metadata, "metadata"))
    if custom_created_at_utc is not None:
        session.create_time.CopyFrom(
            _convert.timestamp(custom_created_at_utc, "custom_created_at_utc")
        )
    return session
