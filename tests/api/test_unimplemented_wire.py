"""Methods of the contract this server does not implement yet answer NOT_IMPLEMENTED.

Each case goes once its method is implemented; the method's own tests replace it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from recallr.v1 import context_service_pb2 as pb
from tests.api.seed import create_session, create_user
from tests.api.wire import Stubs, fails, stubs
from tests.conftest import Tenant

Call = Callable[..., Any]


def recall_context(api: Stubs) -> Call:
    return api.context.RecallContext


def stream_recall_context(api: Stubs) -> Call:
    return lambda request, metadata: list(
        api.context.StreamRecallContext(request, metadata=metadata)
    )


@pytest.mark.parametrize(
    ("method", "call", "request_type"),
    [
        ("recallr.v1.ContextService.RecallContext", recall_context, pb.RecallContextRequest),
        (
            "recallr.v1.ContextService.StreamRecallContext",
            stream_recall_context,
            pb.StreamRecallContextRequest,
        ),
    ],
    ids=["RecallContext", "StreamRecallContext"],
)
def test_unimplemented_methods_say_so(
    tenant: Tenant,
    channel: grpc.Channel,
    method: str,
    call: Callable[[Stubs], Call],
    request_type: Callable[..., Message],
) -> None:
    api = stubs(channel)
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    error = fails(call(api), request_type(user_id="ada", session_id=session_id), tenant.metadata)
    assert (error.code, error.reason, error.domain, error.metadata) == (
        grpc.StatusCode.UNIMPLEMENTED,
        "NOT_IMPLEMENTED",
        "recallr.v1",
        {"method": method},
    )
