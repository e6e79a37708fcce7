"""Speaker labels at the start of lines name who says what, and never stay in the text."""

from __future__ import annotations

from recallr_server.engine.conversation import Utterance, utterances


def test_a_labelled_message_names_its_speaker() -> None:
    assert utterances("Maria: Hey Tom! I went hiking.") == [
        Utterance("Maria", "Hey Tom! I went hiking.")
    ]


def test_several_labelled_lines_are_several_utterances() -> None:
    text = "Maria: I adopted a cat.\nTom: Nice! What's its name?\nMaria: Felix."
    assert utterances(text) == [
        Utterance("Maria", "I adopted a cat."),
        Utterance("Tom", "Nice! What's its name?"),
        Utterance("Maria", "Felix."),
    ]


def test_lines_without_a_label_stay_with_the_speaker_before_them() -> None:
    text = "Dr. Okafor: Take it twice a day.\nWith food, ideally."
    assert utterances(text) == [
        Utterance("Dr. Okafor", "Take it twice a day.\nWith food, ideally.")
    ]


def test_an_unlabelled_message_belongs_to_its_own_speaker() -> None:
    assert utterances("I live in Porto.") == [Utterance(None, "I live in Porto.")]


def test_words_that_introduce_rather_than_name_are_not_speakers() -> None:
    for text in ("Note: I'm vegetarian.", "PS: the dog is fine.", "Update: I got the job!"):
        assert utterances(text) == [Utterance(None, text)]


def test_times_and_lower_case_openings_are_not_labels() -> None:
    for text in ("10:30 works for me.", "so yeah: I moved.", "Meeting at 9: fine."):
        assert utterances(text)[0].label is None
