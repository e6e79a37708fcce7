"""The routes for users, sessions, messages, memories and merge conflicts.

Each parses and validates the request's shape, calls one use case, and converts what it
returns; the paths, bodies and success codes are the official SDK's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from recallr_server.domain.errors import Reason
from recallr_server.domain.memories import MemoryView, memory_query
from recallr_server.domain.messages import MAX_RECENT_MESSAGES
from recallr_server.domain.paging import Window
from recallr_server.domain.records import MessageRole, SessionStatus
from recallr_server.domain.sessions import NewSession
from recallr_server.domain.users import UserUpdate
from recallr_server.domain.validation import (
    MAX_CONTENT_LENGTH,
    Violations,
    check_ids,
    check_text,
    check_user_id,
)
from recallr_server.http import convert, schemas
from recallr_server.http.deps import Cases, Offset, Project, limit, responses

router = APIRouter(prefix="/api/v1")
USER = "/users/{user_id}"
SESSION = USER + "/sessions/{session_id}"
NOT_FOUND = (Reason.USER_NOT_FOUND, Reason.SESSION_NOT_FOUND)
NO_CONTENT = 204


@router.post(
    "/users",
    status_code=201,
    responses=responses(Reason.USER_ALREADY_EXISTS),
)
async def create_user(body: schemas.CreateUser, project: Project, cases: Cases) -> schemas.User:
    v = Violations()
    check_user_id(v, "custom_user_id", body.custom_user_id)
    metadata = convert.metadata(v, "metadata", body.metadata)
    v.raise_if_any()
    user = await cases.users.create(
        project, body.custom_user_id, metadata, body.merge_conflict_enabled
    )
    return convert.user(user)


@router.get(USER, responses=responses(Reason.USER_NOT_FOUND))
async def get_user(user_id: str, project: Project, cases: Cases) -> schemas.User:
    return convert.user(await cases.users.get(project, user_id))


@router.get("/users", responses=responses())
async def list_users(
    project: Project,
    cases: Cases,
    offset: Offset = 0,
    limit: int = limit(10),
    metadata_filter: str | None = None,
) -> schemas.UserPage:
    v = Violations()
    wanted = convert.metadata_filter(v, "metadata_filter", metadata_filter)
    v.raise_if_any()
    window = Window(offset, limit)
    page = await cases.users.page(project, wanted, window)
    return schemas.UserPage(
        users=[convert.user(u) for u in page.items],
        total=page.total,
        has_more=convert.has_more(window, page),
    )


@router.put(USER, responses=responses(Reason.USER_NOT_FOUND, Reason.USER_ALREADY_EXISTS))
async def update_user(
    user_id: str, body: schemas.UpdateUser, project: Project, cases: Cases
) -> schemas.User:
    v = Violations()
    fields: set[str] = set()
    if body.new_custom_user_id is not None:
        check_user_id(v, "new_custom_user_id", body.new_custom_user_id)
        fields.add("user_id")
    metadata: dict[str, Any] = {}
    if body.new_metadata is not None:
        metadata = convert.metadata(v, "new_metadata", body.new_metadata)
        fields.add("metadata")
    # Present, even as null (which resets the user's own setting), means "change it".
    if "merge_conflict_enabled" in body.model_fields_set:
        fields.add("merge_conflict_enabled")
    v.raise_if_any()
    if not fields:
        return convert.user(await cases.users.get(project, user_id))
    update = UserUpdate(
        frozenset(fields),
        user_id=body.new_custom_user_id or "",
        metadata=metadata,
        merge_conflict_enabled=body.merge_conflict_enabled,
    )
    return convert.user(await cases.users.update(project, user_id, update))


@router.delete(USER, status_code=NO_CONTENT, responses=responses(Reason.USER_NOT_FOUND))
async def delete_user(user_id: str, project: Project, cases: Cases) -> Response:
    await cases.users.delete(project, user_id)
    return Response(status_code=NO_CONTENT)


@router.post(USER + "/sessions", status_code=201, responses=responses(Reason.USER_NOT_FOUND))
async def create_session(
    user_id: str, body: schemas.CreateSession, project: Project, cases: Cases
) -> schemas.Session:
    v = Violations()
    metadata = convert.metadata(v, "metadata", body.metadata)
    v.raise_if_any()
    new = NewSession(metadata, body.auto_process_after_seconds, body.custom_created_at_utc)
    # The SDK has no idempotency key to send.
    return convert.session(await cases.sessions.create(project, user_id, new, ""))


@router.get(SESSION, responses=responses(*NOT_FOUND))
async def get_session(
    user_id: str, session_id: str, project: Project, cases: Cases
) -> schemas.Session:
    return convert.session(await cases.sessions.get(project, user_id, session_id))


@router.get(USER + "/sessions", responses=responses(Reason.USER_NOT_FOUND))
async def list_sessions(
    user_id: str,
    project: Project,
    cases: Cases,
    offset: Offset = 0,
    limit: int = limit(10),
    metadata_filter: str | None = None,
    status_filter: Annotated[list[schemas.SessionStatus] | None, Query()] = None,
) -> schemas.SessionPage:
    v = Violations()
    wanted = convert.metadata_filter(v, "metadata_filter", metadata_filter)
    v.raise_if_any()
    window = Window(offset, limit)
    statuses = [
        SessionStatus(s.value)
        for s in status_filter or ()
        if s is not schemas.SessionStatus.INSUFFICIENT_BALANCE
    ]
    if status_filter and not statuses:
        # Only statuses no Recallr session is ever in: nothing matches (for a real user).
        await cases.users.get(project, user_id)
        return schemas.SessionPage(sessions=[], total=0, has_more=False)
    page = await cases.sessions.page(project, user_id, wanted, statuses, window)
    return schemas.SessionPage(
        sessions=[convert.session(s) for s in page.items],
        total=page.total,
        has_more=convert.has_more(window, page),
    )


@router.put(SESSION, responses=responses(*NOT_FOUND))
async def update_session(
    user_id: str, session_id: str, body: schemas.UpdateSession, project: Project, cases: Cases
) -> schemas.Session:
    if body.new_metadata is None:
        return convert.session(await cases.sessions.get(project, user_id, session_id))
    v = Violations()
    metadata = convert.metadata(v, "new_metadata", body.new_metadata)
    v.raise_if_any()
    session = await cases.sessions.update_metadata(project, user_id, session_id, metadata)
    return convert.session(session)


@router.delete(SESSION, status_code=NO_CONTENT, responses=responses(*NOT_FOUND))
async def delete_session(user_id: str, session_id: str, project: Project, cases: Cases) -> Response:
    await cases.sessions.delete(project, user_id, session_id)
    return Response(status_code=NO_CONTENT)


@router.post(SESSION + "/process", responses=responses(*NOT_FOUND, Reason.INVALID_SESSION_STATE))
async def process_session(
    user_id: str, session_id: str, project: Project, cases: Cases
) -> schemas.Session:
    return convert.session(await cases.sessions.process(project, user_id, session_id))


@router.post(
    SESSION + "/add-message", responses=responses(*NOT_FOUND, Reason.INVALID_SESSION_STATE)
)
async def add_message(
    user_id: str, session_id: str, body: schemas.AddMessage, project: Project, cases: Cases
) -> schemas.Message:
    v = Violations()
    check_text(v, "message", body.message, max_length=MAX_CONTENT_LENGTH)
    v.raise_if_any()
    message = await cases.messages.add(
        project, user_id, session_id, MessageRole(body.role), body.message, ""
    )
    return convert.message(message)


@router.get(SESSION + "/messages", responses=responses(*NOT_FOUND))
async def list_messages(
    user_id: str,
    session_id: str,
    project: Project,
    cases: Cases,
    offset: Offset = 0,
    limit: int = limit(50),
) -> schemas.MessagePage:
    window = Window(offset, limit)
    page = await cases.messages.page(project, user_id, session_id, window)
    return schemas.MessagePage(
        messages=[convert.message(m) for m in page.items],
        total=page.total,
        has_more=convert.has_more(window, page),
    )


@router.get(USER + "/messages", responses=responses(Reason.USER_NOT_FOUND))
async def last_messages(
    user_id: str,
    project: Project,
    cases: Cases,
    limit: Annotated[int, Query(ge=1, le=MAX_RECENT_MESSAGES)] = 10,
) -> schemas.LastMessages:
    messages = await cases.messages.recent(project, user_id, limit)
    return schemas.LastMessages(messages=[convert.message(m) for m in messages])


@router.get(
    USER + "/memories", responses=responses(Reason.USER_NOT_FOUND, Reason.INVALID_CATEGORIES)
)
async def list_memories(
    user_id: str,
    project: Project,
    cases: Cases,
    offset: Offset = 0,
    limit: int = limit(20),
    include_previous_versions: bool = True,
    include_connected_memories: bool = True,
    categories: Annotated[list[str] | None, Query()] = None,
    session_id_filter: Annotated[list[str] | None, Query()] = None,
    session_metadata_filter: str | None = None,
) -> schemas.MemoryPage:
    v = Violations()
    wanted = convert.metadata_filter(v, "session_metadata_filter", session_metadata_filter)
    check_ids(v, "categories", categories or [])
    check_ids(v, "session_id_filter", session_id_filter or [])
    v.raise_if_any()
    query = memory_query(categories or [], session_id_filter or [], wanted)
    view = MemoryView(include_previous_versions, include_connected_memories)
    window = Window(offset, limit)
    page = await cases.memories.page(project, user_id, query, view, window)
    return schemas.MemoryPage(
        items=[
            convert.memory(
                m,
                previous=view.include_previous_versions,
                connected=view.include_connected_memories,
            )
            for m in page.items
        ],
        total=page.total,
        has_more=convert.has_more(window, page),
    )


@router.get(USER + "/memory/{memory_id}", responses=responses(Reason.MEMORY_NOT_FOUND))
async def get_memory(
    user_id: str,
    memory_id: str,
    project: Project,
    cases: Cases,
    include_previous_versions: bool = True,
    include_connected_memories: bool = True,
) -> schemas.Memory:
    view = MemoryView(include_previous_versions, include_connected_memories)
    memory = await cases.memories.get(project, user_id, memory_id, view)
    return convert.memory(
        memory, previous=include_previous_versions, connected=include_connected_memories
    )


@router.delete(
    USER + "/memory/{memory_id}",
    status_code=NO_CONTENT,
    responses=responses(Reason.USER_NOT_FOUND, Reason.MEMORY_NOT_FOUND),
)
async def delete_memory(
    user_id: str,
    memory_id: str,
    project: Project,
    cases: Cases,
    delete_previous_versions: bool = False,
) -> Response:
    await cases.memories.delete(project, user_id, memory_id, with_previous=delete_previous_versions)
    return Response(status_code=NO_CONTENT)
