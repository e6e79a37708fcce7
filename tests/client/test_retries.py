"""Retries follow the contract: a call whose answer is lost is repeated only when repeating
it is safe, and a repeated CreateSession or AddMessage adds nothing twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from recallrai.exceptions import ConnectionError
from recallrai.models import MessageRole
from tests.client.flavours import Api
from tests.conftest import Tenant
from tests.support.lossy_proxy import LossyProxy


@pytest.fixture
def lossy(tenant: Tenant) -> Iterator[LossyProxy]:
    proxy = LossyProxy(tenant.target)
    tenant.run(proxy.start())
    yield proxy
    tenant.run(proxy.stop())


async def test_a_read_whose_answer_is_lost_is_retried(api: Api, lossy: LossyProxy) -> None:
    await api.call(api.client.create_user, "ada", metadata={"name": "Ada"})
    through_proxy = api.connect(target=lossy.target)

    user = await api.call(through_proxy.get_user, "ada")

    assert user.metadata == {"name": "Ada"}
    assert lossy.attempts["GetUser"] == 2


async def test_a_lost_create_session_is_retried_and_creates_one_session(
    api: Api, lossy: LossyProxy
) -> None:
    await api.call(api.client.create_user, "ada")
    user = await api.call(api.connect(target=lossy.target).get_user, "ada", validate=False)

    session = await api.call(user.create_session)

    assert lossy.attempts["CreateSession"] == 2
    stored = await api.call((await api.call(api.client.get_user, "ada")).list_sessions)
    assert [s.session_id for s in stored.sessions] == [session.session_id]


async def test_a_lost_add_message_is_retried_and_adds_one_message(
    api: Api, lossy: LossyProxy
) -> None:
    direct = await api.call(api.client.create_user, "ada")
    session_id = (await api.call(direct.create_session)).session_id
    user = await api.call(api.connect(target=lossy.target).get_user, "ada", validate=False)
    session = await api.call(user.get_session, session_id, validate=False)

    added = await api.call(session.add_message, MessageRole.USER, "I moved to Berlin.")

    assert lossy.attempts["AddMessage"] == 2
    stored = await api.call((await api.call(direct.get_session, session_id)).get_messages)
    assert [(m.message_id, m.content) for m in stored.messages] == [
        (added.message_id, "I moved to Berlin.")
    ]


async def test_a_create_user_whose_answer_is_lost_is_not_retried(
    api: Api, lossy: LossyProxy
) -> None:
    through_proxy = api.connect(target=lossy.target)

    with pytest.raises(ConnectionError):
        await api.call(through_proxy.create_user, "ada")

    assert lossy.attempts["CreateUser"] == 1
    # The server did create the user: a retry would have failed with USER_ALREADY_EXISTS.
    assert (await api.call(api.client.get_user, "ada")).user_id == "ada"
