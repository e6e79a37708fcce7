"""User and session metadata on the wire: what is refused, and how filters match."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2, struct_pb2
from google.protobuf.message import Message

from recallr.v1 import session_pb2, user_pb2
from recallr.v1 import session_service_pb2 as sessions_pb
from recallr.v1 import user_service_pb2 as users_pb
from tests.api.seed import (
    create_session,
    create_user,
    insert_rows,
    session_row,
    struct,
    user_pk,
    user_row,
)
from tests.api.wire import Stubs, fails
from tests.conftest import Tenant


@dataclass(frozen=True)
class Write:
    """A call that stores metadata, and where the answer and its errors put it."""

    call: Callable[..., Any]
    request: Message
    field: str
    stored: Callable[[Any], struct_pb2.Struct]


Writer = Callable[[Stubs, Tenant, dict[str, Any]], Write]


def create_user_with(api: Stubs, tenant: Tenant, metadata: dict[str, Any]) -> Write:
    user = user_pb2.User(user_id="new", metadata=struct(metadata))
    request = users_pb.CreateUserRequest(user=user)
    return Write(api.users.CreateUser, request, "user.metadata", lambda r: r.user.metadata)


def update_user_with(api: Stubs, tenant: Tenant, metadata: dict[str, Any]) -> Write:
    create_user(api, tenant, "ada")
    request = users_pb.UpdateUserRequest(
        user_id="ada",
        user=user_pb2.User(metadata=struct(metadata)),
        update_mask=field_mask_pb2.FieldMask(paths=["metadata"]),
    )
    return Write(api.users.UpdateUser, request, "user.metadata", lambda r: r.user.metadata)


def create_session_with(api: Stubs, tenant: Tenant, metadata: dict[str, Any]) -> Write:
    create_user(api, tenant, "ada")
    request = sessions_pb.CreateSessionRequest(
        user_id="ada", session=session_pb2.Session(metadata=struct(metadata))
    )
    return Write(
        api.sessions.CreateSession, request, "session.metadata", lambda r: r.session.metadata
    )


def update_session_with(api: Stubs, tenant: Tenant, metadata: dict[str, Any]) -> Write:
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    request = sessions_pb.UpdateSessionRequest(
        user_id="ada",
        session=session_pb2.Session(session_id=session_id, metadata=struct(metadata)),
        update_mask=field_mask_pb2.FieldMask(paths=["metadata"]),
    )
    return Write(
        api.sessions.UpdateSession, request, "session.metadata", lambda r: r.session.metadata
    )


WRITERS: list[Writer] = [
    create_user_with,
    update_user_with,
    create_session_with,
    update_session_with,
]


@pytest.fixture(params=WRITERS, ids=lambda writer: writer.__name__)
def writer(request: pytest.FixtureRequest) -> Writer:
    chosen: Writer = request.param
    return chosen


@pytest.mark.parametrize(
    ("metadata", "field_suffix"),
    [
        ({"k": "a\x00b"}, ".k"),
        ({"a\x00b": "v"}, ""),
        ({"outer": {"list": ["ok", "bad\x00"]}}, ".outer.list[1]"),
        ({"n": math.inf}, ""),
        ({"n": -math.inf}, ""),
        ({"n": math.nan}, ""),
        ({"blob": "x" * (64 * 1024)}, ""),
    ],
    ids=["nul-value", "nul-key", "nested-nul", "infinity", "minus-infinity", "nan", "over-64kib"],
)
def test_metadata_that_cannot_be_stored_is_refused(
    tenant: Tenant, api: Stubs, writer: Writer, metadata: dict[str, Any], field_suffix: str
) -> None:
    write = writer(api, tenant, metadata)
    error = fails(write.call, write.request, tenant.metadata)
    field = write.field + field_suffix
    assert (error.code, error.reason, error.metadata, error.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
        {"field": field},
        [field],
    )


def test_metadata_just_under_64_kib_is_accepted(tenant: Tenant, api: Stubs, writer: Writer) -> None:
    # {"blob": "..."} is 12 bytes of JSON around the string.
    metadata = {"blob": "x" * (64 * 1024 - 12)}
    write = writer(api, tenant, metadata)
    response = write.call(write.request, metadata=tenant.metadata)
    assert write.stored(response) == struct(metadata)


# Rows are written straight to the store so their JSON is exact: through the
# wire every number is a double, so an integer 1 could not be stored.
ITEMS: dict[str, dict[str, Any]] = {
    "int-one": {"kind": "x", "n": 1},
    "float-one": {"kind": "x", "n": 1.0},
    "one-and-a-half": {"kind": "x", "n": 1.5},
    "true": {"kind": "y", "n": True},
    "string-one": {"kind": "y", "n": "1"},
    "null": {"kind": "z", "n": None},
    "absent": {"kind": "z"},
}

FILTERS: list[tuple[str, dict[str, Any], set[str]]] = [
    ("string", {"kind": "y"}, {"true", "string-one"}),
    ("number-matches-int-and-float", {"n": 1}, {"int-one", "float-one"}),
    ("fraction", {"n": 1.5}, {"one-and-a-half"}),
    ("true-is-not-one", {"n": True}, {"true"}),
    ("false-matches-nothing", {"n": False}, set()),
    ("string-is-not-number", {"n": "1"}, {"string-one"}),
    ("null-is-not-absent", {"n": None}, {"null"}),
    ("several-keys-all-match", {"kind": "x", "n": 1}, {"int-one", "float-one"}),
    ("several-keys-none-match", {"kind": "y", "n": 1}, set()),
    ("key-absent-everywhere", {"missing": "x"}, set()),
    ("empty-filter", {}, set(ITEMS)),
]


def list_users_matching(api: Stubs, tenant: Tenant, wanted: dict[str, Any]) -> set[str]:
    """Seeds ITEMS as users named after them; returns the names ListUsers answers."""
    insert_rows(tenant, *(user_row(tenant, name, metadata) for name, metadata in ITEMS.items()))
    response = api.users.ListUsers(
        users_pb.ListUsersRequest(metadata_filter=struct(wanted)), metadata=tenant.metadata
    )
    assert response.total_size == len(response.users)
    return {u.user_id for u in response.users}


def list_sessions_matching(api: Stubs, tenant: Tenant, wanted: dict[str, Any]) -> set[str]:
    """Seeds ITEMS as sessions of one user; returns the item names ListSessions answers."""
    create_user(api, tenant, "ada")
    owner = user_pk(tenant, "ada")
    rows = {name: session_row(owner, metadata) for name, metadata in ITEMS.items()}
    insert_rows(tenant, *rows.values())
    names = {row.id: name for name, row in rows.items()}
    response = api.sessions.ListSessions(
        sessions_pb.ListSessionsRequest(user_id="ada", metadata_filter=struct(wanted)),
        metadata=tenant.metadata,
    )
    assert response.total_size == len(response.sessions)
    return {names[s.session_id] for s in response.sessions}


Lister = Callable[[Stubs, Tenant, dict[str, Any]], set[str]]


@pytest.mark.parametrize("lister", [list_users_matching, list_sessions_matching])
@pytest.mark.parametrize(
    ("wanted", "expected"), [(f, e) for _, f, e in FILTERS], ids=[name for name, _, _ in FILTERS]
)
def test_metadata_filters_match_equal_top_level_scalars(
    tenant: Tenant, api: Stubs, lister: Lister, wanted: dict[str, Any], expected: set[str]
) -> None:
    assert lister(api, tenant, wanted) == expected


def filtered_lists(api: Stubs, wanted: dict[str, Any]) -> list[tuple[Callable[..., Any], Message]]:
    return [
        (api.users.ListUsers, users_pb.ListUsersRequest(metadata_filter=struct(wanted))),
        (
            api.sessions.ListSessions,
            sessions_pb.ListSessionsRequest(user_id="ada", metadata_filter=struct(wanted)),
        ),
    ]


@pytest.mark.parametrize(
    ("wanted", "field"),
    [
        ({"k": {"nested": 1}}, "metadata_filter.k"),
        ({"k": [1, 2]}, "metadata_filter.k"),
        ({"k": "nul\x00"}, "metadata_filter.k"),
        ({"k": math.inf}, "metadata_filter"),
    ],
    ids=["object", "list", "nul", "infinity"],
)
def test_filters_that_are_not_storable_scalars_are_refused(
    tenant: Tenant, api: Stubs, wanted: dict[str, Any], field: str
) -> None:
    create_user(api, tenant, "ada")
    for call, request in filtered_lists(api, wanted):
        error = fails(call, request, tenant.metadata)
        assert (error.code, error.reason, error.metadata, error.field_violations) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "VALIDATION_FAILED",
            {"field": field},
            [field],
        )


def test_a_session_filter_only_sees_its_users_sessions(tenant: Tenant, api: Stubs) -> None:
    for user_id in ("ada", "eve"):
        create_user(api, tenant, user_id)
        create_session(
            api, tenant, user_id, session_pb2.Session(metadata=struct({"topic": "shared"}))
        )
    response = api.sessions.ListSessions(
        sessions_pb.ListSessionsRequest(user_id="ada", metadata_filter=struct({"topic": "shared"})),
        metadata=tenant.metadata,
    )
    assert [s.user_id for s in response.sessions] == ["ada"]
    assert response.total_size == 1
