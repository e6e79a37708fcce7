"""Requests about how the assistant should behave are kept as the user's preferences;
requests for the task at hand are not. Seen through the public client."""

from __future__ import annotations

from recallrai import RecallrAI
from tests.engine.scenarios import ASSISTANT, USER, at, converse, memories, only


def test_lasting_requests_become_preferences_and_task_requests_do_not(client: RecallrAI) -> None:
    user = client.create_user("bex", metadata={"name": "Rebecca"})
    converse(
        user,
        at(2024, 9, 3),
        (USER, "Give me a recipe for lasagne. Oh, and call me Bex."),
        (ASSISTANT, "Here you go, Bex: 12 sheets of pasta, 500 g of beef mince..."),
        (USER, "From now on, always answer in French. No tables please."),
        (ASSISTANT, "D'accord!"),
        (USER, "Don't worry about the sauce, and don't use American units with me."),
    )
    for words in (("call", "Bex"), ("always answer in French",), ("no tables",)):
        assert only(user, *words).categories == ["preferences"]
    units = only(user, "American units")
    assert units.content == "Rebecca wants the assistant not to use American units with Rebecca."
    assert not [m for m in memories(user) if "lasagne" in m.content or "worry" in m.content]


def test_an_answer_to_how_the_assistant_should_work_is_a_preference(client: RecallrAI) -> None:
    user = client.create_user("bex", metadata={"name": "Rebecca"})
    converse(
        user,
        at(2024, 9, 3),
        (ASSISTANT, "Should I explain every step?"),
        (USER, "Only the tricky ones."),
        assistant_name="Ola",
    )
    memory = only(user, "explain")
    assert memory.content == "Rebecca wants Ola to explain only the tricky steps."
    assert memory.categories == ["preferences"]
