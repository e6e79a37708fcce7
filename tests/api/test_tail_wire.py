"""TailMessages on the wire: the last n, the live follow, deadlines, other replicas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from recallr.v1 import session_pb2
from recallr.v1 import session_service_pb2 as pb
from tests.api.seed import (
    add_message,
    create_session,
    create_user,
    insert_rows,
    message_row,
    user_pk,
)
from tests.api.wire import Stubs, fails, stubs
from tests.conftest import Tenant

# Long enough for a loaded machine, short enough that a lost message fails fast.
ARRIVAL_SECONDS = 3.0


def tail(
    api: Stubs, tenant: Tenant, n: int, *, follow: bool, timeout: float = ARRIVAL_SECONDS
) -> Any:
    request = pb.TailMessagesRequest(user_id="ada", n=n, follow=follow)
    return api.sessions.TailMessages(request, metadata=tenant.metadata, timeout=timeout)


def receive(stream: Iterator[pb.TailMessagesResponse], count: int) -> list[session_pb2.Message]:
    """The next `count` messages, however the server batches them; the deadline bounds it."""
    received: list[session_pb2.Message] = []
    while len(received) < count:
        received.extend(next(stream).messages)
    return received


@pytest.fixture
def api(tenant: Tenant, channel: grpc.Channel) -> Stubs:
    """Stubs for a project whose user "ada" the tails follow."""
    api = stubs(channel)
    create_user(api, tenant, "ada")
    return api


def test_a_tail_without_follow_sends_the_last_n_once(tenant: Tenant, api: Stubs) -> None:
    first = create_session(api, tenant, "ada").session_id
    second = create_session(api, tenant, "ada").session_id
    added = [
        add_message(api, tenant, "ada", session_id, f"m{i}")
        for i, session_id in enumerate([first, second, first, second])
    ]
    responses = list(tail(api, tenant, 3, follow=False))
    assert [list(r.messages) for r in responses] == [added[1:]]


def test_a_tail_of_zero_messages_sends_one_empty_batch(tenant: Tenant, api: Stubs) -> None:
    session_id = create_session(api, tenant, "ada").session_id
    add_message(api, tenant, "ada", session_id, "hello")
    responses = list(tail(api, tenant, 0, follow=False))
    assert [list(r.messages) for r in responses] == [[]]


def test_a_followed_tail_streams_new_messages_of_its_user_in_order(
    tenant: Tenant, api: Stubs
) -> None:
    first = create_session(api, tenant, "ada").session_id
    older = add_message(api, tenant, "ada", first, "older")
    latest = add_message(api, tenant, "ada", first, "latest")
    create_user(api, tenant, "eve")
    eves = create_session(api, tenant, "eve").session_id

    stream = tail(api, tenant, 1, follow=True)
    try:
        assert list(next(stream).messages) == [latest]
        # Eve's message goes first: were it leaked, it would lead the batch.
        add_message(api, tenant, "eve", eves, "not for ada")
        second = create_session(api, tenant, "ada").session_id
        fresh = [
            add_message(api, tenant, "ada", second, "one"),
            add_message(api, tenant, "ada", first, "two"),
            add_message(api, tenant, "ada", second, "three"),
        ]
        assert receive(stream, 3) == fresh
        assert older not in fresh
    finally:
        stream.cancel()


def test_a_followed_tail_ends_when_the_deadline_passes(tenant: Tenant, api: Stubs) -> None:
    stream = tail(api, tenant, 5, follow=True, timeout=0.5)
    assert list(next(stream).messages) == []
    with pytest.raises(grpc.RpcError) as raised:
        next(stream)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_a_followed_tail_sees_messages_another_replica_inserted(tenant: Tenant, api: Stubs) -> None:
    session_id = create_session(api, tenant, "ada").session_id
    stream = tail(api, tenant, 5, follow=True)
    try:
        assert list(next(stream).messages) == []
        # Written straight to the database: this server gets no signal and
        # must find the row by polling.
        row = message_row(user_pk(tenant, "ada"), session_id, "from elsewhere")
        insert_rows(tenant, row)
        [arrived] = receive(stream, 1)
        assert (arrived.message_id, arrived.session_id, arrived.content, arrived.role) == (
            row.id,
            session_id,
            "from elsewhere",
            session_pb2.MESSAGE_ROLE_ASSISTANT,
        )
    finally:
        stream.cancel()


@pytest.mark.parametrize("n", [-1, 1001])
def test_tail_counts_out_of_range_are_refused(tenant: Tenant, api: Stubs, n: int) -> None:
    error = fails(
        lambda request, metadata: list(api.sessions.TailMessages(request, metadata=metadata)),
        pb.TailMessagesRequest(user_id="ada", n=n, follow=True),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata, error.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
        {"field": "n"},
        ["n"],
    )


def test_a_tail_of_an_unknown_user_is_user_not_found(tenant: Tenant, api: Stubs) -> None:
    error = fails(
        lambda request, metadata: list(api.sessions.TailMessages(request, metadata=metadata)),
        pb.TailMessagesRequest(user_id="ghost", n=1, follow=True),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.NOT_FOUND,
        "USER_NOT_FOUND",
        {"user_id": "ghost"},
    )
