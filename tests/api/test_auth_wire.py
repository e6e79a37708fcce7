"""Authentication from call metadata, and isolation between projects."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from recallr.v1 import session_service_pb2 as sessions_pb
from recallr.v1 import user_service_pb2 as users_pb
from recallr_server.store import projects
from tests.api.contract import methods, raw_call
from tests.api.seed import add_message, create_session, create_user
from tests.api.wire import WireError, decode, fails, stubs
from tests.conftest import ServerThread, Tenant, new_tenant

Metadata = tuple[tuple[str, str], ...]


def authorization(key: str) -> tuple[str, str]:
    return ("authorization", f"Bearer {key}")


def project(project_id: str) -> tuple[str, str]:
    return ("x-recallr-project-id", project_id)


def get_user_fails(channel: grpc.Channel, metadata: Metadata, user_id: str = "ada") -> WireError:
    return fails(stubs(channel).users.GetUser, users_pb.GetUserRequest(user_id=user_id), metadata)


@pytest.mark.parametrize(
    ("metadata", "missing"),
    [
        ((), "authorization"),
        ((project("p"),), "authorization"),
        ((("authorization", "Basic abc"), project("p")), "authorization"),
        ((("authorization", "Bearer "), project("p")), "authorization"),
        ((("authorization", "Bearer rai_key"),), "x-recallr-project-id"),
        ((("authorization", "Bearer rai_key"), project("")), "x-recallr-project-id"),
    ],
    ids=[
        "nothing",
        "no-key",
        "not-bearer",
        "empty-bearer",
        "no-project",
        "empty-project",
    ],
)
def test_calls_without_credentials_need_authentication(
    tenant: Tenant, channel: grpc.Channel, metadata: Metadata, missing: str
) -> None:
    error = get_user_fails(channel, metadata)
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "AUTHENTICATION_REQUIRED",
        {"missing": missing},
    )


def test_the_bearer_scheme_is_case_insensitive(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    metadata = (("authorization", f"bearer {tenant.api_key}"), project(tenant.project_id))
    assert api.users.GetUser(users_pb.GetUserRequest(user_id="ada"), metadata=metadata).user


def test_an_unknown_key_is_invalid(tenant: Tenant, channel: grpc.Channel) -> None:
    error = get_user_fails(channel, (authorization("rai_not-a-key"), project(tenant.project_id)))
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_API_KEY",
        {},
    )


def test_a_key_revoked_before_use_is_invalid(tenant: Tenant, channel: grpc.Channel) -> None:
    async def add_revoked_key() -> str:
        async with tenant.server.db.write() as session:
            key = await projects.add_api_key(session, tenant.project_id)
            assert await projects.revoke_keys_with_prefix(session, tenant.project_id, key[:12])
            return key

    revoked = tenant.run(add_revoked_key())
    error = get_user_fails(channel, (authorization(revoked), project(tenant.project_id)))
    assert (error.code, error.reason) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_API_KEY")


def test_a_key_of_another_project_cannot_open_this_one(
    tenant: Tenant, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    intruder = new_tenant(tenant.server)
    borrowed = (authorization(intruder.api_key), project(tenant.project_id))
    error = get_user_fails(channel, borrowed)
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_API_KEY",
        {},
    )
    listing = fails(api.users.ListUsers, users_pb.ListUsersRequest(), borrowed)
    assert listing.reason == "INVALID_API_KEY"
    # A project id that does not exist answers exactly as a foreign one does.
    unknown = get_user_fails(channel, (authorization(intruder.api_key), project(str(uuid.uuid4()))))
    assert (unknown.code, unknown.reason, unknown.metadata) == (error.code, error.reason, {})


def test_another_projects_users_are_simply_not_found(tenant: Tenant, channel: grpc.Channel) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    add_message(api, tenant, "ada", session_id, "private")
    other = new_tenant(tenant.server)

    error = get_user_fails(channel, other.metadata)
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.NOT_FOUND,
        "USER_NOT_FOUND",
        {"user_id": "ada"},
    )
    listed = api.users.ListUsers(users_pb.ListUsersRequest(), metadata=other.metadata)
    assert (list(listed.users), listed.total_size) == ([], 0)
    recent = fails(
        api.sessions.ListRecentMessages,
        sessions_pb.ListRecentMessagesRequest(user_id="ada", n=10),
        other.metadata,
    )
    assert recent.reason == "USER_NOT_FOUND"

    # The same user id in the other project is a different user.
    create_user(api, other, "ada")
    sessions = api.sessions.ListSessions(
        sessions_pb.ListSessionsRequest(user_id="ada"), metadata=other.metadata
    )
    assert list(sessions.sessions) == []
    stolen = fails(
        api.sessions.GetSession,
        sessions_pb.GetSessionRequest(user_id="ada", session_id=session_id),
        other.metadata,
    )
    assert (stolen.reason, stolen.metadata) == ("SESSION_NOT_FOUND", {"session_id": session_id})


@pytest.mark.parametrize("method", methods(), ids=lambda m: m.full_name)
def test_every_method_requires_authentication(
    tenant: Tenant, channel: grpc.Channel, method: MethodDescriptor
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        raw_call(channel, method, b"", metadata=())
    error = decode(raised.value)
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "AUTHENTICATION_REQUIRED",
        {"missing": "authorization"},
    )


@pytest.mark.parametrize("key", ["authorization", "x-recallr-project-id"])
@pytest.mark.parametrize("same", [True, False], ids=["same-value", "different-values"])
def test_credentials_given_twice_are_refused_rather_than_one_picked(
    tenant: Tenant, channel: grpc.Channel, key: str, same: bool
) -> None:
    create_user(stubs(channel), tenant, "ada")
    other = new_tenant(tenant.server)
    given = dict(tenant.metadata)
    # The copy a last-one-wins reader would take is the one that opens the project.
    first = given[key] if same else dict(other.metadata)[key]
    others = [(k, v) for k, v in tenant.metadata if k != key]
    metadata = (*others, (key, first), (key, given[key]))
    error = get_user_fails(channel, metadata)
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "AUTHENTICATION_REQUIRED",
        {"duplicated": key},
    )


FAILURES_PER_MINUTE = 3


@pytest.fixture
def strict_server(tenant: Tenant) -> Iterator[ServerThread]:
    """A replica that allows few failed authentications, on both IPv4 and IPv6 loopback."""
    settings = replace(
        tenant.server.settings, listen="[::]:0", auth_failures_per_minute=FAILURES_PER_MINUTE
    )
    running = ServerThread(settings)
    yield running
    running.stop()


def _retry_delay(error: grpc.RpcError) -> float:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return float(info.retry_delay.ToTimedelta().total_seconds())
    raise AssertionError("no RetryInfo")


def test_failed_authentications_are_limited_per_caller(
    tenant: Tenant, strict_server: ServerThread
) -> None:
    port = strict_server.running.port
    wrong = (authorization("rai_guess"), project(tenant.project_id))
    with (
        grpc.insecure_channel(f"127.0.0.1:{port}") as guesser,
        grpc.insecure_channel(f"[::1]:{port}") as neighbour,
    ):
        create_user(stubs(guesser), tenant, "ada")  # the tenant's key works from here
        for _ in range(FAILURES_PER_MINUTE):
            assert get_user_fails(guesser, wrong).reason == "INVALID_API_KEY"
        with pytest.raises(grpc.RpcError) as raised:
            stubs(guesser).users.GetUser(users_pb.GetUserRequest(user_id="ada"), metadata=wrong)
        limited = decode(raised.value)
        assert (limited.code, limited.reason) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "RATE_LIMITED",
        )
        delay = _retry_delay(raised.value)
        # One more failure is allowed every 60/FAILURES_PER_MINUTE seconds.
        assert 0 < delay <= 60 / FAILURES_PER_MINUTE
        assert limited.metadata == {"retry_after_seconds": f"{delay:g}"}
        # A key that works here still does; one not seen yet waits like a guess.
        assert (
            stubs(guesser)
            .users.GetUser(users_pb.GetUserRequest(user_id="ada"), metadata=tenant.metadata)
            .user
        )
        newcomer = new_tenant(tenant.server)
        assert get_user_fails(guesser, newcomer.metadata).reason == "RATE_LIMITED"
        # Another caller has an allowance of its own.
        assert get_user_fails(neighbour, wrong).reason == "INVALID_API_KEY"
        assert get_user_fails(neighbour, newcomer.metadata).reason == "USER_NOT_FOUND"
