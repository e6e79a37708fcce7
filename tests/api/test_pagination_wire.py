"""AIP-158 pagination of every List RPC: sizes, skip, tokens and their validation."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from recallr.v1 import session_pb2
from recallr.v1 import session_service_pb2 as sessions_pb
from recallr.v1 import user_service_pb2 as users_pb
from tests.api.seed import add_message, create_session, create_user, struct
from tests.api.wire import Stubs, fails
from tests.conftest import Tenant


@dataclass(frozen=True)
class Listing:
    """One List RPC over seeded items, and the ids it must return in order."""

    call: Callable[..., Any]
    request: Callable[..., Message]
    # The same RPC with different filters: a token of `request` is not valid for it.
    other_query: Callable[..., Message]
    ids: Callable[[Any], list[str]]
    expected: list[str]

    def page(self, tenant: Tenant, **paging: Any) -> Any:
        return self.call(self.request(**paging), metadata=tenant.metadata)


def users(api: Stubs, tenant: Tenant, count: int) -> Listing:
    made = [create_user(api, tenant, f"user-{i:03}", {"group": "a"}).user_id for i in range(count)]
    create_user(api, tenant, "outsider", {"group": "b"})
    return Listing(
        call=api.users.ListUsers,
        request=lambda **p: users_pb.ListUsersRequest(metadata_filter=struct({"group": "a"}), **p),
        other_query=lambda **p: users_pb.ListUsersRequest(**p),
        ids=lambda response: [u.user_id for u in response.users],
        expected=made[::-1],
    )


def sessions(api: Stubs, tenant: Tenant, count: int) -> Listing:
    create_user(api, tenant, "ada")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    made = []
    for i in range(count):
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(start + timedelta(hours=i))
        session = session_pb2.Session(create_time=stamp)
        made.append(create_session(api, tenant, "ada", session).session_id)
    return Listing(
        call=api.sessions.ListSessions,
        request=lambda **p: sessions_pb.ListSessionsRequest(user_id="ada", **p),
        other_query=lambda **p: sessions_pb.ListSessionsRequest(
            user_id="ada", status_filter=[session_pb2.SESSION_STATUS_PENDING], **p
        ),
        ids=lambda response: [s.session_id for s in response.sessions],
        expected=made[::-1],
    )


def messages(api: Stubs, tenant: Tenant, count: int) -> Listing:
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    other_session_id = create_session(api, tenant, "ada").session_id
    made = [
        add_message(api, tenant, "ada", session_id, f"message {i}").message_id for i in range(count)
    ]
    return Listing(
        call=api.sessions.ListMessages,
        request=lambda **p: sessions_pb.ListMessagesRequest(
            user_id="ada", session_id=session_id, **p
        ),
        other_query=lambda **p: sessions_pb.ListMessagesRequest(
            user_id="ada", session_id=other_session_id, **p
        ),
        ids=lambda response: [m.message_id for m in response.messages],
        expected=made,
    )


Seeder = Callable[[Stubs, Tenant, int], Listing]
DEFAULT_PAGE_SIZES: dict[Seeder, int] = {users: 10, sessions: 10, messages: 50}


@pytest.fixture(params=list(DEFAULT_PAGE_SIZES), ids=lambda seeder: seeder.__name__)
def seeder(request: pytest.FixtureRequest) -> Seeder:
    seed: Seeder = request.param
    return seed


def test_walking_pages_returns_every_item_once_in_order(
    tenant: Tenant, api: Stubs, seeder: Seeder
) -> None:
    listing = seeder(api, tenant, 5)
    walked: list[list[str]] = []
    token = ""
    while True:
        response = listing.page(tenant, page_size=2, page_token=token)
        assert response.total_size == 5
        walked.append(listing.ids(response))
        token = response.next_page_token
        if not token:
            break
    expected = listing.expected
    assert walked == [expected[0:2], expected[2:4], expected[4:5]]


def test_a_page_that_reaches_the_end_has_no_token(
    tenant: Tenant, api: Stubs, seeder: Seeder
) -> None:
    listing = seeder(api, tenant, 4)
    exact = listing.page(tenant, page_size=4)
    assert listing.ids(exact) == listing.expected
    assert exact.next_page_token == ""
    short = listing.page(tenant, page_size=3)
    assert listing.ids(short) == listing.expected[:3]
    assert short.next_page_token != ""


def test_skip_starts_the_page_later(tenant: Tenant, api: Stubs, seeder: Seeder) -> None:
    listing = seeder(api, tenant, 5)
    skipped = listing.page(tenant, page_size=2, skip=1)
    assert listing.ids(skipped) == listing.expected[1:3]
    assert skipped.total_size == 5
    # Skip also applies after a token: it moves on from where the token points.
    after = listing.page(tenant, page_size=2, page_token=skipped.next_page_token, skip=1)
    assert listing.ids(after) == listing.expected[4:5]
    assert after.next_page_token == ""


def test_skipping_past_the_end_gives_an_empty_last_page(
    tenant: Tenant, api: Stubs, seeder: Seeder
) -> None:
    listing = seeder(api, tenant, 3)
    beyond = listing.page(tenant, skip=3)
    assert listing.ids(beyond) == []
    assert beyond.next_page_token == ""
    assert beyond.total_size == 3


def test_page_size_zero_means_the_default(tenant: Tenant, api: Stubs, seeder: Seeder) -> None:
    default = DEFAULT_PAGE_SIZES[seeder]
    # One more than a page shows where the default cuts.
    listing = seeder(api, tenant, default + 1)
    page = listing.page(tenant, page_size=0)
    assert listing.ids(page) == listing.expected[:default]
    assert page.next_page_token != ""


def test_a_page_size_of_200_is_accepted(tenant: Tenant, api: Stubs, seeder: Seeder) -> None:
    listing = seeder(api, tenant, 2)
    assert listing.ids(listing.page(tenant, page_size=200)) == listing.expected


@pytest.mark.parametrize(
    ("paging", "field"),
    [({"page_size": -1}, "page_size"), ({"page_size": 201}, "page_size"), ({"skip": -1}, "skip")],
    ids=["negative-size", "size-over-200", "negative-skip"],
)
def test_paging_fields_out_of_range_are_refused(
    tenant: Tenant, api: Stubs, seeder: Seeder, paging: dict[str, int], field: str
) -> None:
    listing = seeder(api, tenant, 1)
    error = fails(listing.call, listing.request(**paging), tenant.metadata)
    assert (error.code, error.reason, error.metadata, error.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
        {"field": field},
        [field],
    )


def test_a_token_is_refused_for_a_different_query(
    tenant: Tenant, api: Stubs, seeder: Seeder
) -> None:
    listing = seeder(api, tenant, 3)
    token = listing.page(tenant, page_size=1).next_page_token
    assert token
    error = fails(listing.call, listing.other_query(page_token=token), tenant.metadata)
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAGE_TOKEN",
        {"field": "page_token"},
    )
    # A different page size is the same query: the token still works.
    assert (
        listing.ids(listing.page(tenant, page_size=2, page_token=token)) == (listing.expected[1:3])
    )


def _forged(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "not a token!",
        "%%%%",
        "é",
        _forged({"v": 1, "o": 1, "q": "0" * 24}),
        _forged({"v": 99, "o": 1}),
        _forged([1, 2, 3]),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    ],
    ids=[
        "garbage",
        "not-base64",
        "non-ascii",
        "foreign-query",
        "old-version",
        "not-object",
        "binary",
    ],
)
def test_a_corrupt_token_is_refused(tenant: Tenant, api: Stubs, seeder: Seeder, token: str) -> None:
    listing = seeder(api, tenant, 1)
    error = fails(listing.call, listing.request(page_token=token), tenant.metadata)
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAGE_TOKEN",
        {"field": "page_token"},
    )


def test_a_token_of_one_list_rpc_is_refused_by_another(tenant: Tenant, api: Stubs) -> None:
    listing = messages(api, tenant, 2)
    token = listing.page(tenant, page_size=1).next_page_token
    error = fails(
        api.sessions.ListSessions,
        sessions_pb.ListSessionsRequest(user_id="ada", page_token=token),
        tenant.metadata,
    )
    assert error.reason == "INVALID_PAGE_TOKEN"
