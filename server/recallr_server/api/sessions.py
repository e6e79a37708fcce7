"""SessionService: sessions, messages, and the message tail."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from recallr.v1 import session_service_pb2 as pb
from recallr_server.api import convert
from recallr_server.api.handlers import Call
from recallr_server.api.tail import MessageSignal
from recallr_server.domain.clock import now
from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.paging import page_of
from recallr_server.domain.validation import (
    MAX_CONTENT_LENGTH,
    Violations,
    check_text,
    metadata_filter_from_struct,
    metadata_from_struct,
)
from recallr_server.store import jobs, models
from recallr_server.store.database import Database
from recallr_server.store.filters import metadata_matches
from recallr_server.store.lookups import find_session, find_user
from recallr_server.store.revisions import bump_index_revision, bump_message_revision

MAX_AUTO_PROCESS_SECONDS = 30 * 24 * 3600
MAX_RECENT_MESSAGES = 1_000
MAX_REQUEST_ID_LENGTH = 128

_Replayable = TypeVar("_Replayable", models.Session, models.Message)


def invalid_state(row: models.Session, action: str) -> DomainError:
    return DomainError(
        Reason.INVALID_SESSION_STATE,
        f"cannot {action} session {row.id}: it is {row.status.value}",
        metadata={"session_id": row.id, "status": row.status.value.upper()},
    )


def _check_request_id(v: Violations, value: str) -> None:
    check_text(v, "request_id", value, max_length=MAX_REQUEST_ID_LENGTH, required=False)


async def _replayed(
    session: AsyncSession,
    model: type[_Replayable],
    scope: ColumnElement[bool],
    request_id: str,
) -> _Replayable | None:
    """What an earlier call with this idempotency key (AIP-155) created in `scope`, if any."""
    if not request_id:
        return None
    return await session.scalar(select(model).where(scope, model.request_id == request_id))


class SessionServicer:
    def __init__(
        self,
        db: Database,
        signal: MessageSignal,
        poll_interval: float,
        work_queued: Callable[[], None],
    ) -> None:
        self._db = db
        self._signal = signal
        self._poll_interval = poll_interval
        self._work_queued = work_queued

    async def CreateSession(
        self, request: pb.CreateSessionRequest, call: Call
    ) -> pb.CreateSessionResponse:
        given = request.session
        v = Violations()
        metadata = metadata_from_struct(v, "session.metadata", given.metadata)
        if not 0 <= given.auto_process_after_seconds <= MAX_AUTO_PROCESS_SECONDS:
            v.add(
                "session.auto_process_after_seconds",
                f"must be between 0 and {MAX_AUTO_PROCESS_SECONDS}",
            )
        created_at = now()
        if given.HasField("create_time"):
            try:
                created_at = given.create_time.ToDatetime(tzinfo=created_at.tzinfo)
            except (ValueError, OverflowError):
                v.add("session.create_time", "is not a valid timestamp")
        _check_request_id(v, request.request_id)
        v.raise_if_any()
        try:
            async with self._db.write() as session:
                user = await find_user(session, call.project_id, request.user_id)
                existing = await _replayed(
                    session, models.Session, models.Session.user_pk == user.pk, request.request_id
                )
                if existing is not None:
                    return pb.CreateSessionResponse(session=convert.session(existing, user.user_id))
                row = models.Session(
                    id=str(uuid.uuid4()),
                    user_pk=user.pk,
                    status=models.SessionStatus.PENDING,
                    metadata_=metadata,
                    created_at=created_at,
                    auto_process_after_seconds=given.auto_process_after_seconds,
                    failure_reason="",
                    request_id=request.request_id or None,
                )
                session.add(row)
                user.last_active_at = now()
        except IntegrityError:
            # The same request id raced itself; the winner's session is the answer.
            return await self.CreateSession(request, call)
        return pb.CreateSessionResponse(session=convert.session(row, user.user_id))

    async def GetSession(self, request: pb.GetSessionRequest, call: Call) -> pb.GetSessionResponse:
        async with self._db.read() as session:
            user = await find_user(session, call.project_id, request.user_id)
            row = await find_session(session, user, request.session_id)
        return pb.GetSessionResponse(session=convert.session(row, user.user_id))

    async def ListSessions(
        self, request: pb.ListSessionsRequest, call: Call
    ) -> pb.ListSessionsResponse:
        v = Violations()
        wanted = metadata_filter_from_struct(v, "metadata_filter", request.metadata_filter)
        statuses = []
        for status in request.status_filter:
            if status not in convert.SESSION_STATUS_FROM_WIRE:
                v.add("status_filter", f"{status} is not a session status")
            else:
                statuses.append(convert.SESSION_STATUS_FROM_WIRE[status])
        v.raise_if_any()
        page = page_of(request, default_size=10)
        async with self._db.read() as session:
            user = await find_user(session, call.project_id, request.user_id)
            condition = (models.Session.user_pk == user.pk) & metadata_matches(
                models.Session.metadata_, wanted, postgres=not self._db.is_sqlite
            )
            if statuses:
                condition &= models.Session.status.in_(statuses)
            total = await session.scalar(select(func.count()).where(condition)) or 0
            rows = await session.scalars(
                select(models.Session)
                .where(condition)
                .order_by(models.Session.created_at.desc(), models.Session.id)
                .offset(page.offset)
                .limit(page.limit)
            )
            return pb.ListSessionsResponse(
                sessions=[convert.session(r, user.user_id) for r in rows],
                next_page_token=page.next_token(total),
                total_size=total,
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
        async with self._db.write() as session:
            user = await find_user(session, call.project_id, request.user_id)
            row = await find_session(session, user, request.session.session_id, for_update=True)
            row.metadata_ = metadata
        return pb.UpdateSessionResponse(session=convert.session(row, user.user_id))

    async def DeleteSession(
        self, request: pb.DeleteSessionRequest, call: Call
    ) -> pb.DeleteSessionResponse:
        async with self._db.write() as session:
            user = await find_user(session, call.project_id, request.user_id)
            row = await find_session(session, user, request.session_id)
            await session.execute(delete(models.Session).where(models.Session.id == row.id))
            await bump_index_revision(session, user.pk)
        return pb.DeleteSessionResponse()

    async def ProcessSession(
        self, request: pb.ProcessSessionRequest, call: Call
    ) -> pb.ProcessSessionResponse:
        async with self._db.write() as session:
            user = await find_user(session, call.project_id, request.user_id)
            row = await find_session(session, user, request.session_id, for_update=True)
            if row.status not in (models.SessionStatus.PENDING, models.SessionStatus.FAILED):
                raise invalid_state(row, "process")
            row.status = models.SessionStatus.PROCESSING
            row.failure_reason = ""
            await jobs.enqueue(session, models.JobKind.PROCESS_SESSION, row.id, user.pk)
        self._work_queued()
        return pb.ProcessSessionResponse(session=convert.session(row, user.user_id))

    async def AddMessage(self, request: pb.AddMessageRequest, call: Call) -> pb.AddMessageResponse:
        v = Violations()
        role = convert.ROLE_FROM_WIRE.get(request.message.role)
        if role is None:
            v.add("message.role", "must be USER or ASSISTANT")
        check_text(v, "message.content", request.message.content, max_length=MAX_CONTENT_LENGTH)
        _check_request_id(v, request.request_id)
        v.raise_if_any()
        assert role is not None
        async with self._db.write() as session:
            user = await find_user(session, call.project_id, request.user_id)
            row = await find_session(session, user, request.session_id, for_update=True)
            existing = await _replayed(
                session, models.Message, models.Message.session_id == row.id, request.request_id
            )
            if existing is not None:
                return pb.AddMessageResponse(message=convert.message(existing))
            if row.status != models.SessionStatus.PENDING:
                raise invalid_state(row, "add a message to")
            # Before the insert, not after: a cached recall index loads only the messages
            # whose seq is above the largest it holds, so a user's messages must commit in
            # seq order. PostgreSQL takes seq from a sequence at insert time, and two
            # AddMessages of one user (in different sessions) could otherwise commit in
            # the opposite order, hiding the earlier seq from every index that saw the
            # later one. Holding the user row's lock from before the insert until commit
            # serialises them. (SQLite serialises all writes anyway: BEGIN IMMEDIATE.)
            await bump_message_revision(session, user.pk)
            stamp = now()
            message = models.Message(
                id=str(uuid.uuid4()),
                session_id=row.id,
                user_pk=user.pk,
                role=role,
                content=request.message.content,
                created_at=stamp,
                request_id=request.request_id or None,
            )
            session.add(message)
            row.last_message_at = stamp
            user.last_active_at = stamp
            if row.auto_process_after_seconds:
                # Each message pushes automatic processing back: it waits for inactivity.
                await jobs.enqueue(
                    session,
                    models.JobKind.PROCESS_SESSION,
                    row.id,
                    user.pk,
                    run_after=stamp + timedelta(seconds=row.auto_process_after_seconds),
                )
        self._signal.notify(user.pk)
        return pb.AddMessageResponse(message=convert.message(message))

    async def ListMessages(
        self, request: pb.ListMessagesRequest, call: Call
    ) -> pb.ListMessagesResponse:
        page = page_of(request, default_size=50)
        async with self._db.read() as session:
            user = await find_user(session, call.project_id, request.user_id)
            row = await find_session(session, user, request.session_id)
            condition = models.Message.session_id == row.id
            total = await session.scalar(select(func.count()).where(condition)) or 0
            messages = await session.scalars(
                select(models.Message)
                .where(condition)
                .order_by(models.Message.seq)
                .offset(page.offset)
                .limit(page.limit)
            )
            return pb.ListMessagesResponse(
                messages=[convert.message(m) for m in messages],
                next_page_token=page.next_token(total),
                total_size=total,
            )

    async def ListRecentMessages(
        self, request: pb.ListRecentMessagesRequest, call: Call
    ) -> pb.ListRecentMessagesResponse:
        v = Violations()
        if not 1 <= request.n <= MAX_RECENT_MESSAGES:
            v.add("n", f"must be between 1 and {MAX_RECENT_MESSAGES}")
        v.raise_if_any()
        async with self._db.read() as session:
            user = await find_user(session, call.project_id, request.user_id)
            messages = await self._last_messages(session, user.pk, request.n)
        return pb.ListRecentMessagesResponse(messages=[convert.message(m) for m in messages])

    async def TailMessages(
        self, request: pb.TailMessagesRequest, call: Call
    ) -> AsyncIterator[pb.TailMessagesResponse]:
        v = Violations()
        if not 0 <= request.n <= MAX_RECENT_MESSAGES:
            v.add("n", f"must be between 0 and {MAX_RECENT_MESSAGES}")
        v.raise_if_any()
        async with self._db.read() as session:
            user = await find_user(session, call.project_id, request.user_id)
            initial = await self._last_messages(session, user.pk, request.n)
            # Everything up to now counts as seen, even beyond the last n.
            high = (
                initial[-1].seq
                if initial
                else await session.scalar(
                    select(func.max(models.Message.seq)).where(models.Message.user_pk == user.pk)
                )
            )
        yield pb.TailMessagesResponse(messages=[convert.message(m) for m in initial])
        if not request.follow:
            return
        wake = self._signal.subscribe(user.pk)
        try:
            async for batch in self._follow(user.pk, high or 0, wake):
                yield pb.TailMessagesResponse(messages=[convert.message(m) for m in batch])
        finally:
            self._signal.unsubscribe(user.pk, wake)

    async def _follow(
        self, user_pk: str, high: int, wake: asyncio.Event
    ) -> AsyncIterator[list[models.Message]]:
        """Messages above `high` as they commit: a user's messages commit in `seq` order
        (AddMessage locks the user row before inserting)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._poll_interval)
            wake.clear()
            if self._signal.closing.is_set():
                raise DomainError(
                    Reason.SERVICE_UNAVAILABLE,
                    "the server is shutting down; resume the tail on another replica",
                )
            async with self._db.read() as session:
                batch = list(
                    await session.scalars(
                        select(models.Message)
                        .where(models.Message.user_pk == user_pk, models.Message.seq > high)
                        .order_by(models.Message.seq)
                    )
                )
            if batch:
                high = batch[-1].seq
                yield batch

    @staticmethod
    async def _last_messages(session: AsyncSession, user_pk: str, n: int) -> list[models.Message]:
        if n == 0:
            return []
        rows = await session.scalars(
            select(models.Message)
            .where(models.Message.user_pk == user_pk)
            .order_by(models.Message.seq.desc())
            .limit(n)
        )
        return list(reversed(rows.all()))
