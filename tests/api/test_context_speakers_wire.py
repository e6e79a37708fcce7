"""Who said what, however the application wrote it down: names in metadata (the user's
"name", a session's "assistant_name") or speaker labels at the start of the text
("Melanie: ..."). A question naming a speaker recalls that speaker's turns either way.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from recallr.v1 import context_pb2, session_pb2
from recallr.v1 import context_service_pb2 as pb
from tests.api.seed import add_message, create_session, create_user, struct
from tests.api.wire import stubs
from tests.conftest import Tenant

USER = "melanie"
ASSISTANT = session_pb2.MESSAGE_ROLE_ASSISTANT
LOW_LATENCY = context_pb2.RECALL_STRATEGY_LOW_LATENCY
# Caroline's turn names Melanie and says "adopted" twice: by its words alone it answers
# "What did Melanie adopt?" better than Melanie's own short turn does.
CAROLINE = "Melanie, guess what: I adopted a kitten, we adopted her from the shelter!"
MELANIE = "We adopted a puppy."


def ask(
    tenant: Tenant,
    channel: grpc.Channel,
    labelled: bool,
    question: str = "What did Melanie adopt?",
) -> tuple[context_pb2.Context, dict[str, str]]:
    """A conversation sent one way or the other, then the question; the context of one
    item, and which speaker each message id belongs to."""
    api = stubs(channel)
    create_user(api, tenant, USER, {} if labelled else {"name": "Melanie"})
    earlier = session_pb2.Session(
        metadata=struct({} if labelled else {"assistant_name": "Caroline"})
    )
    session_id = create_session(api, tenant, USER, earlier).session_id
    said: dict[str, str] = {}
    for speaker, text, role in (
        ("Caroline", CAROLINE, ASSISTANT),
        ("Melanie", MELANIE, session_pb2.MESSAGE_ROLE_USER),
    ):
        content = f"{speaker}: {text}" if labelled else text
        message = add_message(api, tenant, USER, session_id, content, role)
        said[message.message_id] = speaker
    current = create_session(api, tenant, USER).session_id
    add_message(api, tenant, USER, current, question)
    options: dict[str, Any] = {"min_top_k": 1, "max_top_k": 1, "memories_threshold": 0.0}
    request = pb.RecallContextRequest(
        user_id=USER,
        session_id=current,
        options=pb.RecallOptions(recall_strategy=LOW_LATENCY, include_metadata_ids=True, **options),
    )
    return api.context.RecallContext(request, metadata=tenant.metadata).context, said


@pytest.mark.parametrize("labelled", [False, True], ids=["metadata names", "speaker labels"])
def test_a_question_naming_a_speaker_recalls_their_turn(
    tenant: Tenant, channel: grpc.Channel, labelled: bool
) -> None:
    context, said = ask(tenant, channel, labelled)
    assert [said[m] for m in context.metadata.message_ids] == ["Melanie"]
    # Shown as Melanie's, with the label taken off and her name in front, as metadata gives.
    assert "Melanie (user): We adopted a puppy." in context.text
