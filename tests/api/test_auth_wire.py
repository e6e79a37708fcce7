"""Authentication from call metadata, and isolation between projects."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor

from recallr.v1 import session_service_pb2 as sessions_pb
from recallr.v1 import user_service_pb2 as users_pb
from recallr_server.store import projects
from tests.api.contract import methods, raw_call
from tests.api.seed import add_message, create_session, create_user
from tests.api.wire import WireError, decode, fails, stubs
from tests.conftest import Tenant, new_tenant

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
