"""Every id is matched by one rule: a UUID in its hyphenated form, in any letter case.

Ids are issued in lower case; the same id in upper or mixed case names the same thing
in every RPC that takes one (and in the project id of the call's metadata), and answers
show it in the form it was issued. Other spellings of the same UUID (braces, a URN, no
hyphens, padding) name nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import field_mask_pb2

from recallr.v1 import context_service_pb2 as context_pb
from recallr.v1 import memory_service_pb2 as memory_pb
from recallr.v1 import merge_conflict_pb2, session_pb2
from recallr.v1 import merge_conflict_service_pb2 as conflict_pb
from recallr.v1 import session_service_pb2 as session_pb
from recallr.v1 import user_service_pb2 as user_pb
from recallr_server.store import models, projects
from tests.api.seed import struct
from tests.api.wire import Stubs, decode, fails, stubs
from tests.conftest import ServerThread, Tenant
from tests.support import seed

USER = "ada"
QUESTION = "Where does the user live?"
OPTIONS = ("Paris", "Berlin")


def _alternating(value: str) -> str:
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(value))


SAME_ID = {"upper case": str.upper, "mixed case": _alternating}
NOT_AN_ID = {
    "braces": lambda v: "{" + v + "}",
    "a URN": lambda v: "urn:uuid:" + v,
    "no hyphens": lambda v: v.replace("-", ""),
    "padded": lambda v: f" {v} ",
}


@dataclass(frozen=True)
class World:
    tenant: Tenant
    pending_session: str
    processed_session: str
    memory: str
    conflict: str


@pytest.fixture
def world(tenant: Tenant) -> World:
    async def build() -> World:
        db = tenant.server.db
        user = await seed.add_user(db, tenant.project_id, USER)
        pending = await seed.add_session(db, user, status=models.SessionStatus.PENDING)
        await seed.add_message(db, user, pending, "I live in Paris.")
        processed = await seed.add_session(db, user)
        chain = await seed.add_chain(db, user, [seed.Version("The user lives in Paris.")])
        conflict = await seed.add_merge_conflict(
            db,
            user,
            status=models.MergeConflictStatus.PENDING,
            conflicting=[seed.ConflictingMemory(chain.current, "Paris", "contradicts")],
            questions=[seed.ClarifyingQuestion(QUESTION, OPTIONS)],
        )
        return World(tenant, pending, processed, chain.current, conflict)

    return tenant.run(build())


# Calls that only read, each naming one id: (what it names, the call given that id's spelling).
Read = Callable[[Stubs, World, Callable[[str], str]], object]

READS: dict[str, tuple[str, Read]] = {
    "GetSession": (
        "SESSION_NOT_FOUND",
        lambda api, w, spell: api.sessions.GetSession(
            session_pb.GetSessionRequest(user_id=USER, session_id=spell(w.pending_session)),
            metadata=w.tenant.metadata,
        ),
    ),
    "ListMessages": (
        "SESSION_NOT_FOUND",
        lambda api, w, spell: api.sessions.ListMessages(
            session_pb.ListMessagesRequest(user_id=USER, session_id=spell(w.pending_session)),
            metadata=w.tenant.metadata,
        ),
    ),
    "GetMemory": (
        "MEMORY_NOT_FOUND",
        lambda api, w, spell: api.memories.GetMemory(
            memory_pb.GetMemoryRequest(user_id=USER, memory_id=spell(w.memory)),
            metadata=w.tenant.metadata,
        ),
    ),
    "GetMergeConflict": (
        "MERGE_CONFLICT_NOT_FOUND",
        lambda api, w, spell: api.conflicts.GetMergeConflict(
            conflict_pb.GetMergeConflictRequest(user_id=USER, merge_conflict_id=spell(w.conflict)),
            metadata=w.tenant.metadata,
        ),
    ),
    "RecallContext": (
        "SESSION_NOT_FOUND",
        lambda api, w, spell: api.context.RecallContext(
            context_pb.RecallContextRequest(user_id=USER, session_id=spell(w.pending_session)),
            metadata=w.tenant.metadata,
        ),
    ),
}


@pytest.mark.parametrize("spelling", SAME_ID)
@pytest.mark.parametrize("method", READS)
def test_an_id_in_any_letter_case_reads_the_same_answer(
    world: World, channel: grpc.Channel, method: str, spelling: str
) -> None:
    api = stubs(channel)
    _, read = READS[method]
    assert read(api, world, SAME_ID[spelling]) == read(api, world, str)


@pytest.mark.parametrize("spelling", NOT_AN_ID)
@pytest.mark.parametrize("method", READS)
def test_another_spelling_of_the_uuid_names_nothing(
    world: World, channel: grpc.Channel, method: str, spelling: str
) -> None:
    reason, read = READS[method]
    with pytest.raises(grpc.RpcError) as raised:
        read(stubs(channel), world, NOT_AN_ID[spelling])
    error = decode(raised.value)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, reason)


def test_a_memory_filter_matches_session_ids_in_any_case(
    world: World, channel: grpc.Channel
) -> None:
    api = stubs(channel)

    def listed(session_id: str) -> list[str]:
        request = memory_pb.ListMemoriesRequest(user_id=USER, session_ids=[session_id])
        response = api.memories.ListMemories(request, metadata=world.tenant.metadata)
        return [m.memory_id for m in response.memories]

    async def attribute_memory() -> None:
        async with world.tenant.server.db.write() as session:
            row = await session.get_one(models.Memory, world.memory)
            row.session_id = world.processed_session

    world.tenant.run(attribute_memory())
    assert listed(world.processed_session) == [world.memory]
    assert listed(world.processed_session.upper()) == [world.memory]
    assert listed("{" + world.processed_session + "}") == []


def test_writes_take_ids_in_any_case_and_answer_with_the_issued_form(
    world: World, channel: grpc.Channel
) -> None:
    api, metadata = stubs(channel), world.tenant.metadata
    pending, processed = world.pending_session.upper(), _alternating(world.processed_session)
    updated = api.sessions.UpdateSession(
        session_pb.UpdateSessionRequest(
            user_id=USER,
            session=session_pb2.Session(session_id=pending, metadata=struct({"k": "v"})),
            update_mask=field_mask_pb2.FieldMask(paths=["metadata"]),
        ),
        metadata=metadata,
    ).session
    assert updated.session_id == world.pending_session
    added = api.sessions.AddMessage(
        session_pb.AddMessageRequest(
            user_id=USER,
            session_id=pending,
            message=session_pb2.Message(role=session_pb2.MESSAGE_ROLE_USER, content="Hi"),
        ),
        metadata=metadata,
    ).message
    assert added.session_id == world.pending_session
    resolved = api.conflicts.ResolveMergeConflict(
        conflict_pb.ResolveMergeConflictRequest(
            user_id=USER,
            merge_conflict_id=world.conflict.upper(),
            answers=[merge_conflict_pb2.MergeConflictAnswer(question=QUESTION, answer="Paris")],
        ),
        metadata=metadata,
    ).merge_conflict
    assert resolved.merge_conflict_id == world.conflict
    processing = api.sessions.ProcessSession(
        session_pb.ProcessSessionRequest(user_id=USER, session_id=pending), metadata=metadata
    ).session
    assert processing.session_id == world.pending_session
    api.memories.DeleteMemory(
        memory_pb.DeleteMemoryRequest(user_id=USER, memory_id=world.memory.upper()),
        metadata=metadata,
    )
    api.sessions.DeleteSession(
        session_pb.DeleteSessionRequest(user_id=USER, session_id=processed), metadata=metadata
    )
    error = fails(
        api.sessions.GetSession,
        session_pb.GetSessionRequest(user_id=USER, session_id=world.processed_session),
        metadata,
    )
    assert error.reason == "SESSION_NOT_FOUND"


def test_a_uuid_project_id_opens_its_project_in_any_case(
    server: ServerThread, channel: grpc.Channel
) -> None:
    async def create() -> tuple[str, str]:
        async with server.db.write() as session:
            project = await projects.create_project(session, project_id=str(uuid.uuid4()))
            return project.id, await projects.add_api_key(session, project.id)

    project_id, api_key = server.run(create())
    api = stubs(channel)
    for spelling in (project_id, project_id.upper(), _alternating(project_id)):
        metadata = (("authorization", f"Bearer {api_key}"), ("x-recallr-project-id", spelling))
        api.users.ListUsers(user_pb.ListUsersRequest(), metadata=metadata)
    braced = (("authorization", f"Bearer {api_key}"), ("x-recallr-project-id", f"{{{project_id}}}"))
    assert fails(api.users.ListUsers, user_pb.ListUsersRequest(), braced).reason == (
        "INVALID_API_KEY"
    )


def test_a_project_created_with_an_upper_case_uuid_is_kept_in_the_issued_form(
    server: ServerThread,
) -> None:
    wanted = str(uuid.uuid4())

    async def create() -> str:
        async with server.db.write() as session:
            return (await projects.create_project(session, project_id=wanted.upper())).id

    assert server.run(create()) == wanted
