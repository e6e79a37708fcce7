"""UserService."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from recallr.v1 import user_service_pb2 as pb
from recallr_server.api import convert
from recallr_server.api.handlers import Call
from recallr_server.api.paging import page_of
from recallr_server.api.structs import metadata_filter_from_struct, metadata_from_struct
from recallr_server.domain.clock import now
from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.validation import Violations, check_user_id
from recallr_server.store import models
from recallr_server.store.database import Database
from recallr_server.store.filters import metadata_matches
from recallr_server.store.lookups import find_user, user_exists

UPDATABLE_FIELDS = frozenset({"user_id", "metadata", "merge_conflict_enabled"})


def _already_exists(user_id: str) -> DomainError:
    return DomainError(
        Reason.USER_ALREADY_EXISTS,
        f"user {user_id!r} already exists",
        metadata={"user_id": user_id},
    )


class UserServicer:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def CreateUser(self, request: pb.CreateUserRequest, call: Call) -> pb.CreateUserResponse:
        v = Violations()
        check_user_id(v, "user.user_id", request.user.user_id)
        metadata = metadata_from_struct(v, "user.metadata", request.user.metadata)
        v.raise_if_any()
        stamp = now()
        user = models.User(
            pk=str(uuid.uuid4()),
            project_id=call.project_id,
            user_id=request.user.user_id,
            metadata_=metadata,
            merge_conflict_enabled=(
                request.user.merge_conflict_enabled
                if request.user.HasField("merge_conflict_enabled")
                else None
            ),
            created_at=stamp,
            last_active_at=stamp,
        )
        try:
            async with self._db.write() as session:
                if await user_exists(session, call.project_id, user.user_id):
                    raise _already_exists(user.user_id)
                session.add(user)
        except IntegrityError:
            # A concurrent create won the race between the check and the insert.
            raise _already_exists(user.user_id) from None
        return pb.CreateUserResponse(user=convert.user(user))

    async def GetUser(self, request: pb.GetUserRequest, call: Call) -> pb.GetUserResponse:
        async with self._db.read() as session:
            user = await find_user(session, call.project_id, request.user_id)
        return pb.GetUserResponse(user=convert.user(user))

    async def ListUsers(self, request: pb.ListUsersRequest, call: Call) -> pb.ListUsersResponse:
        v = Violations()
        wanted = metadata_filter_from_struct(v, "metadata_filter", request.metadata_filter)
        v.raise_if_any()
        page = page_of(request, default_size=10)
        condition = (models.User.project_id == call.project_id) & metadata_matches(
            models.User.metadata_, wanted, postgres=not self._db.is_sqlite
        )
        async with self._db.read() as session:
            total = await session.scalar(select(func.count()).where(condition)) or 0
            users = await session.scalars(
                select(models.User)
                .where(condition)
                .order_by(models.User.created_at.desc(), models.User.pk)
                .offset(page.window.offset)
                .limit(page.window.limit)
            )
            return pb.ListUsersResponse(
                users=[convert.user(u) for u in users],
                next_page_token=page.next_token(total),
                total_size=total,
            )

    async def UpdateUser(self, request: pb.UpdateUserRequest, call: Call) -> pb.UpdateUserResponse:
        paths = set(request.update_mask.paths)
        v = Violations()
        if not paths:
            v.add("update_mask", "must name at least one field")
        for path in sorted(paths - UPDATABLE_FIELDS):
            v.add("update_mask", f"{path!r} cannot be updated")
        if "user_id" in paths:
            check_user_id(v, "user.user_id", request.user.user_id)
        # Fields outside the mask are ignored, so they are not validated either.
        metadata = (
            metadata_from_struct(v, "user.metadata", request.user.metadata)
            if "metadata" in paths
            else {}
        )
        v.raise_if_any()
        try:
            async with self._db.write() as session:
                user = await find_user(session, call.project_id, request.user_id, for_update=True)
                new_id = request.user.user_id
                if "user_id" in paths and new_id != user.user_id:
                    if await user_exists(session, call.project_id, new_id):
                        raise _already_exists(new_id)
                    user.user_id = new_id
                if "metadata" in paths:
                    user.metadata_ = metadata
                if "merge_conflict_enabled" in paths:
                    user.merge_conflict_enabled = (
                        request.user.merge_conflict_enabled
                        if request.user.HasField("merge_conflict_enabled")
                        else None
                    )
                user.last_active_at = now()
        except IntegrityError:
            raise _already_exists(request.user.user_id) from None
        return pb.UpdateUserResponse(user=convert.user(user))

    async def DeleteUser(self, request: pb.DeleteUserRequest, call: Call) -> pb.DeleteUserResponse:
        async with self._db.write() as session:
            user = await find_user(session, call.project_id, request.user_id)
            # Sessions, messages, memories and conflicts go with it (ON DELETE CASCADE).
            await session.execute(delete(models.User).where(models.User.pk == user.pk))
        return pb.DeleteUserResponse()
