"""The services of the contract as typed protocols, and their registration.

Generated from protos/recallr/v1 by scripts/generate (scripts/servicer_protocols.py); do
not edit. A servicer registered for a service must have every RPC of it, spelled as in
the contract and typed with its request and response: mypy rejects one that does not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from google.protobuf.descriptor import ServiceDescriptor

from recallr.v1 import (
    category_service_pb2,
    context_service_pb2,
    memory_service_pb2,
    merge_conflict_service_pb2,
    session_service_pb2,
    user_service_pb2,
)
from recallr_server.api.handlers import Call, ServiceMethods


class CategoryService(Protocol):
    async def ListCategories(
        self, request: category_service_pb2.ListCategoriesRequest, call: Call
    ) -> category_service_pb2.ListCategoriesResponse: ...

    async def CreateCategory(
        self, request: category_service_pb2.CreateCategoryRequest, call: Call
    ) -> category_service_pb2.CreateCategoryResponse: ...

    async def DeleteCategory(
        self, request: category_service_pb2.DeleteCategoryRequest, call: Call
    ) -> category_service_pb2.DeleteCategoryResponse: ...


def category_service(servicer: CategoryService) -> ServiceMethods:
    return ServiceMethods(
        category_service_pb2.DESCRIPTOR.services_by_name["CategoryService"],
        unary={
            "ListCategories": servicer.ListCategories,
            "CreateCategory": servicer.CreateCategory,
            "DeleteCategory": servicer.DeleteCategory,
        },
        streaming={},
    )


class ContextService(Protocol):
    async def RecallContext(
        self, request: context_service_pb2.RecallContextRequest, call: Call
    ) -> context_service_pb2.RecallContextResponse: ...

    def StreamRecallContext(
        self, request: context_service_pb2.StreamRecallContextRequest, call: Call
    ) -> AsyncIterator[context_service_pb2.StreamRecallContextResponse]: ...


def context_service(servicer: ContextService) -> ServiceMethods:
    return ServiceMethods(
        context_service_pb2.DESCRIPTOR.services_by_name["ContextService"],
        unary={
            "RecallContext": servicer.RecallContext,
        },
        streaming={
            "StreamRecallContext": servicer.StreamRecallContext,
        },
    )


class MemoryService(Protocol):
    async def GetMemory(
        self, request: memory_service_pb2.GetMemoryRequest, call: Call
    ) -> memory_service_pb2.GetMemoryResponse: ...

    async def ListMemories(
        self, request: memory_service_pb2.ListMemoriesRequest, call: Call
    ) -> memory_service_pb2.ListMemoriesResponse: ...

    async def DeleteMemory(
        self, request: memory_service_pb2.DeleteMemoryRequest, call: Call
    ) -> memory_service_pb2.DeleteMemoryResponse: ...


def memory_service(servicer: MemoryService) -> ServiceMethods:
    return ServiceMethods(
        memory_service_pb2.DESCRIPTOR.services_by_name["MemoryService"],
        unary={
            "GetMemory": servicer.GetMemory,
            "ListMemories": servicer.ListMemories,
            "DeleteMemory": servicer.DeleteMemory,
        },
        streaming={},
    )


class MergeConflictService(Protocol):
    async def GetMergeConflict(
        self, request: merge_conflict_service_pb2.GetMergeConflictRequest, call: Call
    ) -> merge_conflict_service_pb2.GetMergeConflictResponse: ...

    async def ListMergeConflicts(
        self, request: merge_conflict_service_pb2.ListMergeConflictsRequest, call: Call
    ) -> merge_conflict_service_pb2.ListMergeConflictsResponse: ...

    async def ResolveMergeConflict(
        self, request: merge_conflict_service_pb2.ResolveMergeConflictRequest, call: Call
    ) -> merge_conflict_service_pb2.ResolveMergeConflictResponse: ...


def merge_conflict_service(servicer: MergeConflictService) -> ServiceMethods:
    return ServiceMethods(
        merge_conflict_service_pb2.DESCRIPTOR.services_by_name["MergeConflictService"],
        unary={
            "GetMergeConflict": servicer.GetMergeConflict,
            "ListMergeConflicts": servicer.ListMergeConflicts,
            "ResolveMergeConflict": servicer.ResolveMergeConflict,
        },
        streaming={},
    )


class SessionService(Protocol):
    async def CreateSession(
        self, request: session_service_pb2.CreateSessionRequest, call: Call
    ) -> session_service_pb2.CreateSessionResponse: ...

    async def GetSession(
        self, request: session_service_pb2.GetSessionRequest, call: Call
    ) -> session_service_pb2.GetSessionResponse: ...

    async def ListSessions(
        self, request: session_service_pb2.ListSessionsRequest, call: Call
    ) -> session_service_pb2.ListSessionsResponse: ...

    async def UpdateSession(
        self, request: session_service_pb2.UpdateSessionRequest, call: Call
    ) -> session_service_pb2.UpdateSessionResponse: ...

    async def DeleteSession(
        self, request: session_service_pb2.DeleteSessionRequest, call: Call
    ) -> session_service_pb2.DeleteSessionResponse: ...

    async def ProcessSession(
        self, request: session_service_pb2.ProcessSessionRequest, call: Call
    ) -> session_service_pb2.ProcessSessionResponse: ...

    async def AddMessage(
        self, request: session_service_pb2.AddMessageRequest, call: Call
    ) -> session_service_pb2.AddMessageResponse: ...

    async def ListMessages(
        self, request: session_service_pb2.ListMessagesRequest, call: Call
    ) -> session_service_pb2.ListMessagesResponse: ...

    async def ListRecentMessages(
        self, request: session_service_pb2.ListRecentMessagesRequest, call: Call
    ) -> session_service_pb2.ListRecentMessagesResponse: ...

    def TailMessages(
        self, request: session_service_pb2.TailMessagesRequest, call: Call
    ) -> AsyncIterator[session_service_pb2.TailMessagesResponse]: ...

    async def ImportSession(
        self, request: session_service_pb2.ImportSessionRequest, call: Call
    ) -> session_service_pb2.ImportSessionResponse: ...

    async def AddMessages(
        self, request: session_service_pb2.AddMessagesRequest, call: Call
    ) -> session_service_pb2.AddMessagesResponse: ...


def session_service(servicer: SessionService) -> ServiceMethods:
    return ServiceMethods(
        session_service_pb2.DESCRIPTOR.services_by_name["SessionService"],
        unary={
            "CreateSession": servicer.CreateSession,
            "GetSession": servicer.GetSession,
            "ListSessions": servicer.ListSessions,
            "UpdateSession": servicer.UpdateSession,
            "DeleteSession": servicer.DeleteSession,
            "ProcessSession": servicer.ProcessSession,
            "AddMessage": servicer.AddMessage,
            "ListMessages": servicer.ListMessages,
            "ListRecentMessages": servicer.ListRecentMessages,
            "ImportSession": servicer.ImportSession,
            "AddMessages": servicer.AddMessages,
        },
        streaming={
            "TailMessages": servicer.TailMessages,
        },
    )


class UserService(Protocol):
    async def CreateUser(
        self, request: user_service_pb2.CreateUserRequest, call: Call
    ) -> user_service_pb2.CreateUserResponse: ...

    async def GetUser(
        self, request: user_service_pb2.GetUserRequest, call: Call
    ) -> user_service_pb2.GetUserResponse: ...

    async def ListUsers(
        self, request: user_service_pb2.ListUsersRequest, call: Call
    ) -> user_service_pb2.ListUsersResponse: ...

    async def UpdateUser(
        self, request: user_service_pb2.UpdateUserRequest, call: Call
    ) -> user_service_pb2.UpdateUserResponse: ...

    async def DeleteUser(
        self, request: user_service_pb2.DeleteUserRequest, call: Call
    ) -> user_service_pb2.DeleteUserResponse: ...

    def ExportUser(
        self, request: user_service_pb2.ExportUserRequest, call: Call
    ) -> AsyncIterator[user_service_pb2.ExportUserResponse]: ...

    async def ImportUser(
        self, requests: AsyncIterator[user_service_pb2.ImportUserRequest], call: Call
    ) -> user_service_pb2.ImportUserResponse: ...


def user_service(servicer: UserService) -> ServiceMethods:
    return ServiceMethods(
        user_service_pb2.DESCRIPTOR.services_by_name["UserService"],
        unary={
            "CreateUser": servicer.CreateUser,
            "GetUser": servicer.GetUser,
            "ListUsers": servicer.ListUsers,
            "UpdateUser": servicer.UpdateUser,
            "DeleteUser": servicer.DeleteUser,
        },
        streaming={
            "ExportUser": servicer.ExportUser,
        },
        client_streaming={
            "ImportUser": servicer.ImportUser,
        },
    )


SERVICES: tuple[ServiceDescriptor, ...] = (
    category_service_pb2.DESCRIPTOR.services_by_name["CategoryService"],
    context_service_pb2.DESCRIPTOR.services_by_name["ContextService"],
    memory_service_pb2.DESCRIPTOR.services_by_name["MemoryService"],
    merge_conflict_service_pb2.DESCRIPTOR.services_by_name["MergeConflictService"],
    session_service_pb2.DESCRIPTOR.services_by_name["SessionService"],
    user_service_pb2.DESCRIPTOR.services_by_name["UserService"],
)
