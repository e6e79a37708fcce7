"""How processing reads a conversation's turns together, seen through the public client."""

from __future__ import annotations

import pytest

from recallrai import RecallrAI
from tests.engine.scenarios import ASSISTANT, USER, at, converse, only


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


@pytest.mark.parametrize("labelled", [False, True], ids=["metadata names", "speaker labels"])
def test_a_labelled_turn_makes_a_memory_about_its_speaker_that_her_name_recalls(
    client: RecallrAI, labelled: bool
) -> None:
    """ "Melanie: We adopted a puppy." is Melanie's turn, as it is when metadata names her:
    its memory says so, and a question naming her recalls it."""
    user = client.create_user("melanie", metadata={} if labelled else {"name": "Melanie"})
    turns = (
        (ASSISTANT, "Caroline", "Guess what, I adopted a kitten from the shelter!"),
        (USER, "Melanie", "We adopted a puppy."),
    )
    converse(
        user,
        at(2023, 5, 8),
        *((role, f"{name}: {text}" if labelled else text) for role, name, text in turns),
        **({} if labelled else {"assistant_name": "Caroline"}),
    )
    memory = only(user, "puppy")
    assert memory.content == "Melanie's family adopted a puppy."
    session = user.create_session(custom_created_at_utc=at(2023, 6, 1))
    session.add_message(role=USER, content="What did Melanie adopt?")
    context = session.get_context(min_top_k=1, max_top_k=1, include_metadata_ids=True)
    assert context.metadata is not None
    assert context.metadata.memory_ids == [memory.memory_id]
