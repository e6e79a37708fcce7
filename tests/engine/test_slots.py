"""Changes found by what a fact is about (its slot: a home, a job, a diet, a birthday), not
by how it is worded, and facts joined in one sentence kept apart so each can change alone;
seen through the public client."""

from __future__ import annotations

from recallrai import RecallrAI
from recallrai.models import ExpirationReason
from tests.engine.scenarios import USER, at, converse, memories, only


def test_a_new_job_said_without_job_words_supersedes_the_old_one(client: RecallrAI) -> None:
    user = client.create_user("oskar", metadata={"name": "Oskar"})
    converse(user, at(2023, 2, 6), (USER, "I work as a cashier at Netto, mostly early shifts."))
    converse(user, at(2023, 8, 15), (USER, "Big news, I started at the post office on Monday."))
    current = only(user, "post office")
    (previous,) = current.previous_versions or []
    assert "cashier at Netto" in previous.content
    assert previous.expiration_reason == ExpirationReason.TEMPORAL_CONFLICT
    assert not [m for m in memories(user) if "Netto" in m.content]


def test_a_second_birthday_worded_otherwise_raises_a_conflict(client: RecallrAI) -> None:
    user = client.create_user("oskar", metadata={"name": "Oskar"})
    user.update(merge_conflict_enabled=True)
    converse(user, at(2024, 1, 10), (USER, "My birthday is on 14 February, sadly."))
    converse(user, at(2024, 9, 2), (USER, "Actually I was born on 21 February."))
    (conflict,) = user.list_merge_conflicts().conflicts
    assert "21 February" in (conflict.proposed_memory_content or "")
    assert "14 February" in only(user, "birthday").content


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


def test_more_about_the_same_partner_replaces_nothing(client: RecallrAI) -> None:
    user = client.create_user("oskar", metadata={"name": "Oskar"})
    converse(user, at(2024, 5, 2), (USER, "I'm engaged to Priya!"))
    converse(user, at(2024, 7, 9), (USER, "Priya and I have been together for five years now."))
    assert only(user, "engaged").total_versions == 1
    assert only(user, "together").total_versions == 1
