"""Recall reads a message's speakers from its labels, else from the name of its role."""

from __future__ import annotations

from recallr_server.engine.recall.speakers import Spoken, spoken


def test_labels_name_the_speakers_and_leave_the_text() -> None:
    text = "Caroline: I went to a support group.\nMelanie: Wow, how was it?"
    assert spoken(text, "Ada") == Spoken(
        ("Caroline", "Melanie"), "I went to a support group.\nWow, how was it?"
    )


def test_an_unlabelled_message_is_said_by_its_role_speaker() -> None:
    assert spoken("I adopted a dog.", "Melanie") == Spoken(("Melanie",), "I adopted a dog.")
    assert spoken("I adopted a dog.", None) == Spoken((), "I adopted a dog.")


def test_a_role_label_stands_for_the_role_speaker() -> None:
    assert spoken("User: I adopted a dog.", "Melanie") == Spoken(("Melanie",), "I adopted a dog.")
    assert spoken("Assistant: Congratulations!", None) == Spoken((), "Congratulations!")
