"""How a user's memories follow changes in their life: states that end, details added later,
and facts that have one value for life, seen through the public client."""

from __future__ import annotations

import pytest

from recallrai import RecallrAI
from recallrai.models import ExpirationReason
from tests.engine.scenarios import ASSISTANT, USER, at, converse, memories, only


def test_a_break_up_supersedes_the_partner_and_ends_being_together(client: RecallrAI) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(
        user,
        at(2024, 2, 1),
        (USER, "I'm planning a surprise for my girlfriend Leila, she loves jazz."),
        (ASSISTANT, "Lovely! How long have you been together?"),
        (USER, "We've been together three years."),
    )
    converse(user, at(2024, 7, 2), (USER, "Leila and I broke up last week."))
    current = only(user, "leila", "broke up")
    (previous, *_) = current.previous_versions or []
    assert "girlfriend Leila" in previous.content
    assert previous.expiration_reason == ExpirationReason.TEMPORAL_CONFLICT
    assert not [m for m in memories(user) if "together" in m.content]


def test_a_pet_that_died_supersedes_the_memory_that_introduced_it(client: RecallrAI) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(user, at(2023, 5, 1), (USER, "Our dog Bruno is twelve and still loves the park."))
    converse(user, at(2023, 11, 8), (USER, "Bruno passed away on Sunday."))
    current = only(user, "bruno", "passed away")
    (previous,) = current.previous_versions or []
    assert "dog Bruno" in previous.content
    assert previous.expiration_reason == ExpirationReason.TEMPORAL_CONFLICT


def test_quitting_a_habit_supersedes_it(client: RecallrAI) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(user, at(2023, 3, 1), (USER, "I vape every day and my chest feels tight."))
    converse(user, at(2023, 9, 1), (USER, "Good news: I quit vaping in August."))
    current = only(user, "quit", "vaping")
    (previous,) = current.previous_versions or []
    assert "vapes every day" in previous.content
    assert not [m for m in memories(user) if "every day" in m.content]


def test_leaving_a_job_and_starting_another_is_one_chain(client: RecallrAI) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(user, at(2023, 1, 10), (USER, "I work as a cook at Saffron House."))
    converse(
        user,
        at(2023, 6, 5),
        (USER, "I left Saffron House. I start as a sous chef at Olive Tree next month."),
    )
    current = only(user, "olive tree")
    contents = [v.content for v in current.previous_versions or []]
    assert any("left Saffron House" in c for c in contents), contents
    assert any("cook at Saffron House" in c for c in contents), contents
    assert not [m for m in memories(user) if "Saffron" in m.content]


def test_leaving_a_thing_somewhere_ends_nothing(client: RecallrAI) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(user, at(2023, 1, 10), (USER, "I bought a red umbrella for my commute."))
    converse(user, at(2023, 2, 10), (USER, "I left my umbrella on the train yesterday."))
    bought = only(user, "bought", "umbrella")
    assert bought.total_versions == 1


def test_a_detail_about_a_named_thing_is_added_to_the_memory_that_named_it(
    client: RecallrAI,
) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(user, at(2024, 3, 4), (USER, "We adopted a kitten named Tofu yesterday!"))
    converse(user, at(2024, 4, 20), (USER, "Tofu is a grey Maine Coon and already huge."))
    current = only(user, "tofu")
    assert "adopted" in current.content and "Maine Coon" in current.content
    assert current.event_date_start is not None
    assert current.event_date_start.date().isoformat() == "2024-03-03"
    (previous,) = current.previous_versions or []
    assert previous.expiration_reason == ExpirationReason.ADDITION_TO_EXISTING_MEMORY


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("I was born in Valencia.", "I was born in Murcia."),
        ("My blood type is B positive.", "My blood type is AB negative."),
    ],
)
def test_a_second_value_for_life_raises_a_conflict_even_said_later(
    client: RecallrAI, first: str, second: str
) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    user.update(merge_conflict_enabled=True)
    converse(user, at(2024, 3, 1), (USER, first))
    converse(user, at(2024, 3, 2), (USER, second))
    (conflict,) = user.list_merge_conflicts().conflicts
    assert second.split()[-1].rstrip(".") in (conflict.proposed_memory_content or "")


def test_news_under_a_topic_label_adds_to_the_memory_of_that_topic(client: RecallrAI) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(user, at(2023, 2, 7), (USER, "I'm learning the cello at 60, is that silly?"))
    converse(
        user,
        at(2023, 6, 13),
        (USER, "Cello update: I'm playing in the community orchestra's summer concert in July."),
    )
    current = only(user, "cello")
    assert "learning the cello" in current.content and "summer concert" in current.content
    (previous,) = current.previous_versions or []
    assert previous.expiration_reason == ExpirationReason.ADDITION_TO_EXISTING_MEMORY
