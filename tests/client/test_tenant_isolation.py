"""A project's data is invisible to every other project, through either client."""

from __future__ import annotations

import grpc
import pytest

from recallrai.exceptions import AuthenticationError, UserNotFoundError
from tests.client.flavours import Api
from tests.conftest import new_tenant


async def test_another_project_cannot_see_or_open_this_projects_users(api: Api) -> None:
    await api.call(api.client.create_user, "alice")
    other = new_tenant(api.tenant.server)
    other_client = api.connect(api_key=other.api_key, project_id=other.project_id)
    with pytest.raises(UserNotFoundError):
        await api.call(other_client.get_user, "alice")
    assert (await api.call(other_client.list_users)).total == 0

    borrowed_key = api.connect(api_key=other.api_key, project_id=api.tenant.project_id)
    with pytest.raises(AuthenticationError) as raised:
        await api.call(borrowed_key.get_user, "alice")
    assert (raised.value.code, raised.value.reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_API_KEY",
    )
    assert (await api.call(api.client.get_user, "alice")).user_id == "alice"
