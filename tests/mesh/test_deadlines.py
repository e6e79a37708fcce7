"""Deadlines end to end: work stops on the server when the caller's deadline passes."""

from __future__ import annotations

import logging
import time

import grpc
import pytest

from recallr.v1 import session_service_pb2 as sessions_pb
from recallr.v1 import user_pb2
from recallr.v1 import user_service_pb2 as users_pb
from tests.api.seed import create_user
from tests.api.wire import Stubs, fails, stubs
from tests.conftest import Tenant
from tests.mesh.calls import call_outcome


def test_a_following_tail_ends_on_the_server_when_its_deadline_passes(
    tenant: Tenant, channel: grpc.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    caplog.set_level(logging.INFO, logger="recallr.rpc")
    stream = api.sessions.TailMessages(
        sessions_pb.TailMessagesRequest(user_id="ada", n=0, follow=True),
        metadata=tenant.metadata,
        timeout=0.5,
    )
    with pytest.raises(grpc.RpcError) as raised:
        for _ in stream:
            pass
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    outcome = call_outcome(caplog, "recallr.v1.SessionService.TailMessages")
    assert outcome == "DEADLINE_EXCEEDED"


def test_a_call_whose_deadline_passed_before_it_ran_is_not_executed(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api: Stubs = stubs(channel)
    # Keep the server's event loop busy past the deadline, so the call is still waiting
    # to run when its deadline passes.
    tenant.server.loop.call_soon_threadsafe(time.sleep, 0.6)
    request = users_pb.CreateUserRequest(user=user_pb2.User(user_id="late"))
    with pytest.raises(grpc.RpcError) as raised:
        api.users.CreateUser(request, metadata=tenant.metadata, timeout=0.2)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    missing = fails(api.users.GetUser, users_pb.GetUserRequest(user_id="late"), tenant.metadata)
    assert missing.reason == "USER_NOT_FOUND"
