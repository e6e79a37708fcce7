"""How processing reads a conversation's turns together, seen through the public client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from recallrai import RecallrAI
from tests.conftest import Tenant
from tests.engine.scenarios import ASSISTANT, USER, at, converse, only, open_client


@pytest.fixture
def client(tenant: Tenant) -> Iterator[RecallrAI]:
    with open_client(tenant.target, tenant.project_id, tenant.api_key) as opened:
        yield opened


def test_an_answer_reads_with_a_question_followed_by_its_reason(client: RecallrAI) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(
        user,
        at(2024, 4, 2),
        (ASSISTANT, "What do you do? It helps to know how busy your evenings are."),
        (USER, "Paediatric nurse, mostly nights."),
    )
    memory = only(user, "nurse")
    assert memory.content == "Noor works as a paediatric nurse, mostly nights."
    assert "work" in memory.categories


def test_an_aside_without_its_comma_still_states_facts(client: RecallrAI) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(
        user,
        at(2024, 4, 2),
        (ASSISTANT, "Any foods you'd like me to avoid?"),
        (USER, "Good question. By the way I'm allergic to sesame."),
    )
    assert "allergies" in only(user, "allergic", "sesame").categories
