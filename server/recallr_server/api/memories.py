"""MemoryService."""

from __future__ import annotations

from recallr.v1 import memory_service_pb2 as pb
from recallr_server.api import convert
from recallr_server.api.handlers import Call
from recallr_server.api.paging import PageTokens
from recallr_server.api.structs import metadata_filter_from_struct
from recallr_server.domain.memories import Memories, MemoryView, memory_query
from recallr_server.domain.validation import Violations, check_ids


class MemoryServicer:
    def __init__(self, memories: Memories, pages: PageTokens) -> None:
        self._memories = memories
        self._pages = pages

    async def GetMemory(self, request: pb.GetMemoryRequest, call: Call) -> pb.GetMemoryResponse:
        view = MemoryView(request.include_previous_versions, request.include_connected_memories)
        memory = await self._memories.get(call.project_id, request.user_id, request.memory_id, view)
        return pb.GetMemoryResponse(memory=convert.memory(memory))

    async def ListMemories(
        self, request: pb.ListMemoriesRequest, call: Call
    ) -> pb.ListMemoriesResponse:
        v = Violations()
        wanted = metadata_filter_from_struct(
            v, "session_metadata_filter", request.session_metadata_filter
        )
        check_ids(v, "categories", request.categories)
        check_ids(v, "session_ids", request.session_ids)
        v.raise_if_any()
        page = self._pages.page_of(request, default_size=20)
        view = MemoryView(request.include_previous_versions, request.include_connected_memories)
        memories = await self._memories.page(
            call.project_id,
            request.user_id,
            memory_query(request.categories, request.session_ids, wanted),
            view,
            page.window,
        )
        return pb.ListMemoriesResponse(
            memories=[convert.memory(m) for m in memories.items],
            next_page_token=page.next_token(memories.total),
            total_size=memories.total,
        )

    async def DeleteMemory(
        self, request: pb.DeleteMemoryRequest, call: Call
    ) -> pb.DeleteMemoryResponse:
        await self._memories.delete(
            call.project_id,
            request.user_id,
            request.memory_id,
            with_previous=request.delete_previous_versions,
        )
        return pb.DeleteMemoryResponse()
