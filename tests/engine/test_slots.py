"""Changes found by what a fact is about (its slot: a home, a job, a diet, a birthday), not
by how it is worded, and facts joined in one sentence kept apart so each can change alone;
seen through the public client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from recallrai import RecallrAI
from tests.conftest import Tenant
from tests.engine.scenarios import USER, at, converse, only, open_client


@pytest.fixture
def client(tenant: Tenant) -> Iterator[RecallrAI]:
    with open_client(tenant.target, tenant.project_id, tenant.api_key) as opened:
        yield opened


def test_joined_facts_are_kept_apart_so_one_changes_alone(client: RecallrAI) -> None:
    user = client.create_user("oskar", metadata={"name": "Oskar"})
    converse(user, at(2024, 1, 8), (USER, "Fine. Anyway, I'm pescatarian and allergic to kiwi."))
    assert only(user, "pescatarian").content == "Oskar is pescatarian."
    assert only(user, "kiwi").content == "Oskar is allergic to kiwi."
    converse(user, at(2024, 6, 3), (USER, "I've been vegan since April."))
    diet = only(user, "vegan")
    (previous,) = diet.previous_versions or []
    assert previous.content == "Oskar is pescatarian."
    assert only(user, "kiwi").total_versions == 1
