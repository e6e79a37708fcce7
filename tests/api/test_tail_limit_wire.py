"""Past its limit of live tails a project is told RESOURCE_EXHAUSTED, with when to retry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from recallr.v1 import session_service_pb2 as pb
from recallr_server.config import Settings
from recallr_server.domain.tail import TAIL_RETRY_SECONDS
from tests.api.seed import create_user
from tests.api.wire import decode, stubs
from tests.conftest import ServerThread, new_tenant


@pytest.fixture(scope="module")
def one_tail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    database = tmp_path_factory.mktemp("one-tail") / "recallr.db"
    settings = replace(Settings(), database_url=f"sqlite:///{database}", listen="127.0.0.1:0")
    running = ServerThread(replace(settings, max_tails_per_project=1))
    yield running
    running.stop()


def retry_delay(error: grpc.RpcError) -> float:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return float(info.retry_delay.ToTimedelta().total_seconds())
    raise AssertionError("no RetryInfo")


def test_a_live_tail_past_the_projects_limit_is_resource_exhausted_with_retry_info(
    one_tail_server: ServerThread,
) -> None:
    tenant, neighbour = new_tenant(one_tail_server), new_tenant(one_tail_server)
    with grpc.insecure_channel(one_tail_server.target) as channel:
        api = stubs(channel)
        for project in (tenant, neighbour):
            create_user(api, project, "ada")
        request = pb.TailMessagesRequest(user_id="ada", follow=True)
        held = api.sessions.TailMessages(request, metadata=tenant.metadata, timeout=30)
        assert list(next(held).messages) == []
        try:
            refused = api.sessions.TailMessages(request, metadata=tenant.metadata, timeout=30)
            with pytest.raises(grpc.RpcError) as raised:
                next(refused)
            failure = decode(raised.value)
            assert (failure.code, failure.reason) == (
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "RATE_LIMITED",
            )
            assert failure.metadata["limit"] == "1"
            assert retry_delay(raised.value) == TAIL_RETRY_SECONDS
            # A snapshot takes no slot, and another project has slots of its own.
            snapshot = pb.TailMessagesRequest(user_id="ada", follow=False)
            assert len(list(api.sessions.TailMessages(snapshot, metadata=tenant.metadata))) == 1
            other = api.sessions.TailMessages(request, metadata=neighbour.metadata, timeout=30)
            assert list(next(other).messages) == []
            other.cancel()
        finally:
            held.cancel()
