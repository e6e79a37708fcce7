"""What the replicas of one deployment share, seen through two servers on one database.

Page tokens are signed with a secret made once and kept in the database, so a token one
replica issued is honoured by every other, and refused by a deployment on another
database. A revoked key stops working at once on the replica that revoked it, and on the
others once their cache of verified keys (RECALLR_AUTH_CACHE_SECONDS) lets it go.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from recallr.v1 import user_service_pb2 as users_pb
from tests.api.seed import create_user
from tests.api.wire import decode, fails, stubs
from tests.conftest import ServerThread, Tenant, new_tenant


@pytest.fixture
def replica(tenant: Tenant) -> Iterator[ServerThread]:
    other = ServerThread(replace(tenant.server.settings, listen="127.0.0.1:0"))
    yield other
    other.stop()


def _list_users(target: str, tenant: Tenant, token: str) -> users_pb.ListUsersResponse:
    with grpc.insecure_channel(target) as channel:
        request = users_pb.ListUsersRequest(page_size=2, page_token=token)
        return stubs(channel).users.ListUsers(request, metadata=tenant.metadata)


def test_page_tokens_of_one_replica_are_honoured_by_another(
    tenant: Tenant, channel: grpc.Channel, replica: ServerThread
) -> None:
    made = {create_user(stubs(channel), tenant, f"user-{i}").user_id for i in range(7)}
    seen: list[str] = []
    token = ""
    for page in range(4):
        # Each page from the other replica than the one that issued its token.
        target = (tenant.target, replica.target)[page % 2]
        response = _list_users(target, tenant, token)
        seen += [user.user_id for user in response.users]
        token = response.next_page_token
    assert token == ""
    assert sorted(seen) == sorted(made)


def test_a_page_token_of_another_deployment_is_refused(
    tenant: Tenant, channel: grpc.Channel, tmp_path: Path
) -> None:
    for i in range(3):
        create_user(stubs(channel), tenant, f"user-{i}")
    token = _list_users(tenant.target, tenant, "").next_page_token
    elsewhere = ServerThread(
        replace(tenant.server.settings, database_url=f"sqlite:///{tmp_path / 'other.db'}")
    )
    try:
        stranger = new_tenant(elsewhere)
        with grpc.insecure_channel(elsewhere.target) as other:
            for i in range(3):
                create_user(stubs(other), stranger, f"user-{i}")
            request = users_pb.ListUsersRequest(page_size=2, page_token=token)
            error = fails(stubs(other).users.ListUsers, request, stranger.metadata)
    finally:
        elsewhere.stop()
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


def _opens(target: str, tenant: Tenant) -> bool:
    """Whether the tenant's key still opens its project through `target`."""
    with grpc.insecure_channel(target) as channel:
        try:
            stubs(channel).users.ListUsers(users_pb.ListUsersRequest(), metadata=tenant.metadata)
        except grpc.RpcError as error:
            refused = decode(error)
        else:
            return True
    assert refused.reason == "INVALID_API_KEY"
    return False


def test_a_revoked_key_stops_at_once_here_and_within_the_cache_time_elsewhere(
    tenant: Tenant, replica: ServerThread
) -> None:
    # Both replicas have verified, and cached, the key.
    assert _opens(tenant.target, tenant) and _opens(replica.target, tenant)
    authenticator = tenant.server.running.authenticator
    assert tenant.run(authenticator.revoke(tenant.project_id, tenant.api_key[:12])) == 1
    revoked_at = time.monotonic()
    assert not _opens(tenant.target, tenant)
    cache_seconds = replica.settings.auth_cache_seconds
    while _opens(replica.target, tenant):
        assert time.monotonic() - revoked_at < cache_seconds + 1, "still open past the cache time"
        time.sleep(0.1)
