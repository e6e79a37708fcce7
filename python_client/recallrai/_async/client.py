"""The entry point: a connection to a Recallr server for one project."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import grpc

from recallr.v1 import category_pb2, category_service_pb2, user_pb2, user_service_pb2
from recallrai import _convert, _export
from recallrai._async._transport import AsyncTransport
from recallrai._async.user import AsyncUser
from recallrai._channel import resolve_target
from recallrai.models import Category, UserList


class AsyncRecallrAI:
    """A client of one Recallr project.

    ``target`` defaults to the ``RECALLR_TARGET`` environment variable, then
    ``localhost:50051``. ``timeout`` (seconds) is the deadline of every call.
    Pass ``channel_credentials`` (for example ``grpc.ssl_channel_credentials()``)
    for TLS. Close the client, or use it as a context manager, to release the
    connection.
    """

    def __init__(
        self,
        api_key: str,
        project_id: str,
        target: str | None = None,
        timeout: float = 30.0,
        channel_credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self._transport = AsyncTransport(
            api_key=api_key,
            project_id=project_id,
            target=resolve_target(target),
            timeout=timeout,
            channel_credentials=channel_credentials,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection; the client cannot be used afterwards."""
        await self._transport.close()

    async def create_user(
        self,
        user_id: str,
        metadata: Mapping[str, Any] | None = None,
        merge_conflict_enabled: bool | None = None,
    ) -> AsyncUser:
        """Create a user; raises ``UserAlreadyExistsError`` when the id is taken.

        ``merge_conflict_enabled`` overrides the project's merge-conflict setting for
        this user (True always raises them, False never); None inherits it.
        """
        user = user_pb2.User(user_id=user_id, merge_conflict_enabled=merge_conflict_enabled)
        if metadata is not None:
            user.metadata.CopyFrom(_convert.struct(metadata, "metadata"))
        request = user_service_pb2.CreateUserRequest(user=user)
        response = await self._transport.unary(self._transport.users.CreateUser, request)
        return AsyncUser(self._transport, _convert.user_state(response.user))

    async def get_user(self, user_id: str, validate: bool = True) -> AsyncUser:
        """The user with this id; ``validate=False`` trusts the id and makes no call."""
        if not validate:
            return AsyncUser(self._transport, _convert.unfetched_user(user_id))
        request = user_service_pb2.GetUserRequest(user_id=user_id)
        response = await self._transport.unary(self._transport.users.GetUser, request)
        return AsyncUser(self._transport, _convert.user_state(response.user))

    async def list_users(
        self,
        offset: int = 0,
        limit: int = 10,
        metadata_filter: Mapping[str, Any] | None = None,
    ) -> UserList[AsyncUser]:
        """The project's users, newest first."""
        skip, page_size = _convert.page_request(offset, limit)
        request = user_service_pb2.ListUsersRequest(skip=skip, page_size=page_size)
        if metadata_filter is not None:
            request.metadata_filter.CopyFrom(_convert.struct(metadata_filter, "metadata_filter"))
        response = await self._transport.unary(self._transport.users.ListUsers, request)
        return UserList(
            users=[
                AsyncUser(self._transport, _convert.user_state(user)) for user in response.users
            ],
            total=response.total_size,
            has_more=_convert.has_more(response.next_page_token),
        )

    async def import_user(
        self,
        path: str | os.PathLike[str],
        user_id: str | None = None,
        assign_new_ids: bool = False,
        request_id: str | None = None,
        progress: bool | None = None,
    ) -> AsyncUser:
        """Create a user from an export file that ``User.export`` wrote.

        Everything is stored as exported (ids, versions, dates, links, merge conflicts,
        summaries), in one transaction: all of it, or nothing. ``user_id`` imports under
        another id. Ids are unique across a server: while the exported records are
        still on it, pass ``assign_new_ids=True`` to import a copy under new ids. A
        ``request_id`` of your own makes repeating the import safe. ``progress`` as for
        ``export``.
        """
        records = _export.read_records(path)
        first = user_service_pb2.ImportUserRequest(
            user_id=user_id or "",
            assign_new_ids=assign_new_ids,
            request_id=request_id or str(uuid.uuid4()),
        )
        with _export.Progress(progress, "import") as bar:
            bar.total(len(records))
            # As long as the data needs: no deadline.
            response = await self._transport.client_stream(
                self._transport.users.ImportUser,
                _export.import_requests(records, first, bar),
                None,
            )
        return AsyncUser(self._transport, _convert.user_state(response.user))

    async def list_categories(self) -> list[Category]:
        """The project's memory categories, by name."""
        response = await self._transport.unary(
            self._transport.categories.ListCategories,
            category_service_pb2.ListCategoriesRequest(),
        )
        return [_convert.category(category) for category in response.categories]

    async def create_category(self, name: str, description: str = "") -> Category:
        """Add a category to the project's vocabulary."""
        request = category_service_pb2.CreateCategoryRequest(
            category=category_pb2.Category(name=name, description=description)
        )
        response = await self._transport.unary(self._transport.categories.CreateCategory, request)
        return _convert.category(response.category)

    async def delete_category(self, name: str) -> None:
        """Remove a category; memories keep the name, but filters can no longer use it."""
        request = category_service_pb2.DeleteCategoryRequest(name=name)
        await self._transport.unary(self._transport.categories.DeleteCategory, request)
