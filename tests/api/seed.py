"""Test data: made through the API, or written and read straight in the store.

Store access stands in for what the API cannot show or do: rows left behind
after a delete, a session another worker is processing, a message another
replica inserted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from google.protobuf import struct_pb2
from sqlalchemy import func, select, update
from sqlalchemy.sql import ColumnElement

from recallr.v1 import session_pb2, user_pb2
from recallr.v1 import session_service_pb2 as sessions_pb
from recallr.v1 import user_service_pb2 as users_pb
from recallr_server.store import models
from tests.api.wire import Stubs
from tests.conftest import Tenant


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(values)
    return result


def create_user(
    api: Stubs, tenant: Tenant, user_id: str, metadata: dict[str, Any] | None = None
) -> user_pb2.User:
    user = user_pb2.User(user_id=user_id, metadata=struct(metadata or {}))
    return api.users.CreateUser(
        users_pb.CreateUserRequest(user=user), metadata=tenant.metadata
    ).user


def create_session(
    api: Stubs,
    tenant: Tenant,
    user_id: str,
    session: session_pb2.Session | None = None,
    request_id: str = "",
) -> session_pb2.Session:
    request = sessions_pb.CreateSessionRequest(
        user_id=user_id, session=session or session_pb2.Session(), request_id=request_id
    )
    return api.sessions.CreateSession(request, metadata=tenant.metadata).session


def add_message(
    api: Stubs,
    tenant: Tenant,
    user_id: str,
    session_id: str,
    content: str,
    role: session_pb2.MessageRole.ValueType = session_pb2.MESSAGE_ROLE_USER,
    request_id: str = "",
) -> session_pb2.Message:
    request = sessions_pb.AddMessageRequest(
        user_id=user_id,
        session_id=session_id,
        message=session_pb2.Message(role=role, content=content),
        request_id=request_id,
    )
    return api.sessions.AddMessage(request, metadata=tenant.metadata).message


def user_pk(tenant: Tenant, user_id: str) -> str:
    async def read() -> str:
        async with tenant.server.db.read() as session:
            pk = await session.scalar(
                select(models.User.pk).where(
                    models.User.project_id == tenant.project_id, models.User.user_id == user_id
                )
            )
        assert pk is not None, f"no user {user_id!r} in the store"
        return pk

    return tenant.run(read())


def count_rows(tenant: Tenant, condition: ColumnElement[bool]) -> int:
    async def read() -> int:
        async with tenant.server.db.read() as session:
            return await session.scalar(select(func.count()).where(condition)) or 0

    return tenant.run(read())


def insert_rows(tenant: Tenant, *rows: models.Base) -> None:
    async def write() -> None:
        async with tenant.server.db.write() as session:
            session.add_all(rows)

    tenant.run(write())


def user_row(tenant: Tenant, user_id: str, metadata: dict[str, Any]) -> models.User:
    stamp = datetime.now(UTC)
    return models.User(
        pk=str(uuid.uuid4()),
        project_id=tenant.project_id,
        user_id=user_id,
        metadata_=metadata,
        merge_conflict_enabled=None,
        created_at=stamp,
        last_active_at=stamp,
    )


def session_row(owner_pk: str, metadata: dict[str, Any]) -> models.Session:
    return models.Session(
        id=str(uuid.uuid4()),
        user_pk=owner_pk,
        status=models.SessionStatus.PENDING,
        metadata_=metadata,
        created_at=datetime.now(UTC),
        auto_process_after_seconds=0,
        failure_reason="",
    )


def message_row(owner_pk: str, session_id: str, content: str) -> models.Message:
    return models.Message(
        id=str(uuid.uuid4()),
        session_id=session_id,
        user_pk=owner_pk,
        role=models.MessageRole.ASSISTANT,
        content=content,
        created_at=datetime.now(UTC),
    )


def set_session_status(
    tenant: Tenant, session_id: str, status: models.SessionStatus, failure_reason: str = ""
) -> None:
    """Puts a session where processing would, without running it."""

    async def write() -> None:
        async with tenant.server.db.write() as session:
            await session.execute(
                update(models.Session)
                .where(models.Session.id == session_id)
                .values(status=status, failure_reason=failure_reason)
            )

    tenant.run(write())
