"""UserService."""

from __future__ import annotations

from collections.abc import AsyncIterator

from recallr.v1 import user_pb2
from recallr.v1 import user_service_pb2 as pb
from recallr_server.api import convert, user_export
from recallr_server.api.handlers import Call
from recallr_server.api.paging import page_of
from recallr_server.api.structs import metadata_filter_from_struct, metadata_from_struct
from recallr_server.domain.transfer import ImportOptions, UserTransfer
from recallr_server.domain.user_data import assemble
from recallr_server.domain.users import Users, UserUpdate
from recallr_server.domain.validation import Violations, check_request_id, check_user_id

UPDATABLE_FIELDS = frozenset({"user_id", "metadata", "merge_conflict_enabled"})


def _merge_conflict_setting(user: user_pb2.User) -> bool | None:
    """The user's own setting; unset (None), the project's applies."""
    return user.merge_conflict_enabled if user.HasField("merge_conflict_enabled") else None


class UserServicer:
    def __init__(self, users: Users, transfer: UserTransfer) -> None:
        self._users = users
        self._transfer = transfer

    async def CreateUser(self, request: pb.CreateUserRequest, call: Call) -> pb.CreateUserResponse:
        v = Violations()
        check_user_id(v, "user.user_id", request.user.user_id)
        metadata = metadata_from_struct(v, "user.metadata", request.user.metadata)
        v.raise_if_any()
        user = await self._users.create(
            call.project_id,
            request.user.user_id,
            metadata,
            _merge_conflict_setting(request.user),
        )
        return pb.CreateUserResponse(user=convert.user(user))

    async def GetUser(self, request: pb.GetUserRequest, call: Call) -> pb.GetUserResponse:
        user = await self._users.get(call.project_id, request.user_id)
        return pb.GetUserResponse(user=convert.user(user))

    async def ListUsers(self, request: pb.ListUsersRequest, call: Call) -> pb.ListUsersResponse:
        v = Violations()
        wanted = metadata_filter_from_struct(v, "metadata_filter", request.metadata_filter)
        v.raise_if_any()
        page = page_of(request, default_size=10)
        users = await self._users.page(call.project_id, wanted, page.window)
        return pb.ListUsersResponse(
            users=[convert.user(u) for u in users.items],
            next_page_token=page.next_token(users.total),
            total_size=users.total,
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
        update = UserUpdate(
            frozenset(paths),
            user_id=request.user.user_id,
            metadata=metadata,
            merge_conflict_enabled=_merge_conflict_setting(request.user),
        )
        user = await self._users.update(call.project_id, request.user_id, update)
        return pb.UpdateUserResponse(user=convert.user(user))

    async def DeleteUser(self, request: pb.DeleteUserRequest, call: Call) -> pb.DeleteUserResponse:
        await self._users.delete(call.project_id, request.user_id)
        return pb.DeleteUserResponse()

    async def ExportUser(
        self, request: pb.ExportUserRequest, call: Call
    ) -> AsyncIterator[pb.ExportUserResponse]:
        async for batch in self._transfer.export(call.project_id, request.user_id):
            for records in user_export.packed(batch):
                yield pb.ExportUserResponse(records=records)

    async def ImportUser(
        self, requests: AsyncIterator[pb.ImportUserRequest], call: Call
    ) -> pb.ImportUserResponse:
        v = Violations()
        stream = await user_export.read_import(v, requests)
        check_request_id(v, stream.first.request_id)
        if stream.first.user_id:
            check_user_id(v, "user_id", stream.first.user_id)
        data = assemble(stream.records, v)
        options = ImportOptions(
            user_id=stream.first.user_id,
            assign_new_ids=stream.first.assign_new_ids,
            request_id=stream.first.request_id,
        )
        imported = await self._transfer.import_user(call.project_id, data, options)
        return pb.ImportUserResponse(
            user=convert.user(imported.user), counts=user_export.counts(imported.counts)
        )
