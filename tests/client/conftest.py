"""Client scenarios run once through `RecallrAI` and once through `AsyncRecallrAI`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.client.flavours import FLAVOURS, Api
from tests.conftest import Tenant


@pytest.fixture(params=sorted(FLAVOURS))
async def api(request: pytest.FixtureRequest, tenant: Tenant) -> AsyncIterator[Api]:
    opened = FLAVOURS[request.param](tenant)
    yield opened
    await opened.close()
