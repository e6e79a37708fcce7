"""Fixtures of the wire tests: raw stubs on the tenant's channel, and a seeded user."""

from __future__ import annotations

import grpc
import pytest

from tests.api.wire import Stubs, stubs
from tests.conftest import Tenant
from tests.support import seed
from tests.support.seed import SeededUser

# The user the memory and merge-conflict tests seed straight into the store.
SEEDED_USER_ID = "ada"


@pytest.fixture
def api(channel: grpc.Channel) -> Stubs:
    return stubs(channel)


@pytest.fixture
def user(tenant: Tenant) -> SeededUser:
    return tenant.run(seed.add_user(tenant.server.db, tenant.project_id, SEEDED_USER_ID))
