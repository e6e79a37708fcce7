"""Which categories processing files memories under, seen through the public client."""

from __future__ import annotations

from recallrai import RecallrAI
from tests.engine.scenarios import ASSISTANT, USER, at, converse, memories, only


def test_a_fact_no_word_rule_places_takes_the_nearest_category_by_meaning(
    client: RecallrAI,
) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(user, at(2024, 5, 2), (USER, "I take levothyroxine every morning."))
    assert only(user, "levothyroxine").categories == ["health"]


def test_a_pet_is_family_not_a_possession(client: RecallrAI) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(user, at(2024, 5, 2), (USER, "I've got a ginger cat called Rusty."))
    categories = only(user, "rusty").categories
    assert "relationships" in categories and "possessions" not in categories


def test_having_a_condition_is_health_not_a_possession(client: RecallrAI) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(user, at(2024, 5, 2), (USER, "I have mild asthma."))
    assert only(user, "asthma").categories == ["health"]


def test_every_memory_has_one_to_three_categories(client: RecallrAI) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(
        user,
        at(2024, 5, 2),
        (USER, "I'm flying to Lisbon on Friday for my best friend's wedding."),
        (ASSISTANT, "How lovely! Are you giving a speech?"),
        (USER, "Yes, and I bought a new suit for it. I still have to write the speech."),
        (USER, "My landlord wants to sell the flat, which is stressful."),
    )
    found = memories(user)
    assert len(found) >= 3
    assert all(1 <= len(m.categories) <= 3 for m in found), [
        (m.content, m.categories) for m in found
    ]
