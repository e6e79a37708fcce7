"""The stubs of one channel; every call gets the auth metadata, deadline and error translation."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

import grpc

from recallr.v1 import (
    category_service_pb2_grpc,
    context_service_pb2_grpc,
    memory_service_pb2_grpc,
    merge_conflict_service_pb2_grpc,
    session_service_pb2_grpc,
    user_service_pb2_grpc,
)
from recallrai._channel import open_async_channel
from recallrai._errors import error_from_rpc

if TYPE_CHECKING:
    from recallr.v1.category_service_pb2_grpc import CategoryServiceAsyncStub
    from recallr.v1.context_service_pb2_grpc import ContextServiceAsyncStub
    from recallr.v1.memory_service_pb2_grpc import MemoryServiceAsyncStub
    from recallr.v1.merge_conflict_service_pb2_grpc import MergeConflictServiceAsyncStub
    from recallr.v1.session_service_pb2_grpc import SessionServiceAsyncStub
    from recallr.v1.user_service_pb2_grpc import UserServiceAsyncStub

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")


class AsyncTransport:
    def __init__(
        self,
        *,
        api_key: str,
        project_id: str,
        target: str,
        timeout: float,
        channel_credentials: grpc.ChannelCredentials | None,
    ) -> None:
        self.timeout = timeout
        self._metadata = (
            ("authorization", f"Bearer {api_key}"),
            ("x-recallr-project-id", project_id),
        )
        self._target = target
        self._channel_credentials = channel_credentials
        self._channel: grpc.aio.Channel | None = None
        # The sync client is shared across threads; two first calls must not open two.
        self._opening = threading.Lock()

    def _open_channel(self) -> grpc.aio.Channel:
        # Opened on first use, not in the constructor: an asyncio channel binds
        # to the event loop running when it is made.
        with self._opening:
            if self._channel is None:
                self._channel = open_async_channel(self._target, self._channel_credentials)
            return self._channel

    @cached_property
    def users(self) -> UserServiceAsyncStub:
        return user_service_pb2_grpc.UserServiceStub(self._open_channel())

    @cached_property
    def sessions(self) -> SessionServiceAsyncStub:
        return session_service_pb2_grpc.SessionServiceStub(self._open_channel())

    @cached_property
    def memories(self) -> MemoryServiceAsyncStub:
        return memory_service_pb2_grpc.MemoryServiceStub(self._open_channel())

    @cached_property
    def merge_conflicts(self) -> MergeConflictServiceAsyncStub:
        return merge_conflict_service_pb2_grpc.MergeConflictServiceStub(self._open_channel())

    @cached_property
    def contexts(self) -> ContextServiceAsyncStub:
        return context_service_pb2_grpc.ContextServiceStub(self._open_channel())

    @cached_property
    def categories(self) -> CategoryServiceAsyncStub:
        return category_service_pb2_grpc.CategoryServiceStub(self._open_channel())

    async def unary(
        self, method: grpc.aio.UnaryUnaryMultiCallable[RequestT, ResponseT], request: RequestT
    ) -> ResponseT:
        try:
            return await method(request, metadata=self._metadata, timeout=self.timeout)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error

    async def client_stream(
        self,
        method: grpc.aio.StreamUnaryMultiCallable[RequestT, ResponseT],
        requests: Iterator[RequestT],
        deadline: float | None,
    ) -> ResponseT:
        try:
            return await method(requests, metadata=self._metadata, timeout=deadline)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error

    async def server_stream(
        self,
        method: grpc.aio.UnaryStreamMultiCallable[RequestT, ResponseT],
        request: RequestT,
        deadline: float | None,
    ) -> AsyncIterator[ResponseT]:
        call = method(request, metadata=self._metadata, timeout=deadline)
        try:
            async for response in call:
                yield response
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error
        finally:
            # Ends the stream on the server when the caller stops reading early.
            call.cancel()

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
