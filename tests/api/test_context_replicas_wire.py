"""Messages added through one replica are recalled by the next recall on another.

AddMessage bumps only `users.message_revision`, and a replica's cached index then loads
just the messages after the newest it holds (engine.recall.index); these tests run two
servers on one database to see that path end to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import grpc
import pytest
from google.protobuf import timestamp_pb2

from recallr.v1 import session_pb2
from recallr.v1 import session_service_pb2 as sessions_pb
from recallr_server.store import models
from tests.api.seed import add_message, create_session
from tests.api.test_context_wire import USER, Conversation, at, start
from tests.api.wire import stubs
from tests.conftest import ServerThread, Tenant


@pytest.fixture
def replica(tenant: Tenant) -> Iterator[ServerThread]:
    other = ServerThread(replace(tenant.server.settings, listen="127.0.0.1:0"))
    yield other
    other.stop()


@pytest.fixture
def talk(tenant: Tenant, channel: grpc.Channel) -> Conversation:
    return start(stubs(channel), tenant, at(2023, 8, 1))


def revisions(talk: Conversation) -> tuple[int, int]:
    async def read() -> tuple[int, int]:
        async with talk.tenant.server.db.read() as session:
            user = await session.get_one(models.User, talk.seed.pk)
            return user.index_revision, user.message_revision

    return talk.tenant.run(read())


def test_messages_added_through_another_replica_are_recalled(
    talk: Conversation, replica: ServerThread
) -> None:
    talk.seed.memory("Ada keeps bees in her garden.")
    talk.say("Tell me about my bees")
    assert talk.recall(memories_threshold=0.0).metadata.memory_ids  # the index is cached
    before = revisions(talk)
    with grpc.insecure_channel(replica.target) as channel:
        other = stubs(channel)
        july = timestamp_pb2.Timestamp()
        july.FromDatetime(at(2023, 7, 1))
        earlier = create_session(
            other, talk.tenant, USER, session_pb2.Session(create_time=july)
        ).session_id
        said = add_message(other, talk.tenant, USER, earlier, "The locker code is 9902.")
        add_message(other, talk.tenant, USER, earlier, "Noted.", session_pb2.MESSAGE_ROLE_ASSISTANT)
        question = add_message(
            other, talk.tenant, USER, talk.session_id, "What is my locker code?"
        ).message_id
    assert revisions(talk) == (before[0], before[1] + 3)  # only messages changed

    context = talk.recall(memories_threshold=0.0, last_n_messages=1)
    assert said.message_id in context.metadata.message_ids
    assert earlier in context.metadata.session_ids
    # The session's time, loaded with its first message, names the block.
    assert "Session of 1 July 2023" in context.text
    assert "- Ada (user): The locker code is 9902." in context.text
    assert "Ada (user): What is my locker code?" in context.text.split("## This conversation")[1]
    assert question in context.metadata.message_ids

    with grpc.insecure_channel(replica.target) as channel:
        stubs(channel).sessions.DeleteSession(
            sessions_pb.DeleteSessionRequest(user_id=USER, session_id=earlier),
            metadata=talk.tenant.metadata,
        )
    assert revisions(talk)[0] > before[0]
    assert said.message_id not in talk.recall(memories_threshold=0.0).metadata.message_ids
