"""Which day an event is dated to when its date names no year, seen through the public
client."""

from __future__ import annotations

import pytest

from recallrai import RecallrAI
from tests.engine.scenarios import USER, at, converse, only


@pytest.mark.parametrize(
    ("said_on", "text", "words", "day"),
    [
        # A verb whose past is its present: the nearer New Year's Day is the one gone by.
        ((2024, 1, 20), "I quit vaping on New Year's Day.", ("vaping",), "2024-01-01"),
        # "Have got" is having, now: the 28th is ahead.
        ((2024, 8, 6), "We've got a table at Noma on the 28th.", ("noma",), "2024-08-28"),
        # Signing up in the past for an event: the event's nearer date, here ahead.
        (
            (2024, 3, 5),
            "I signed up for the Lisbon half marathon on April 13th.",
            ("lisbon",),
            "2024-04-13",
        ),
    ],
)
def test_an_open_date_follows_what_its_sentence_says_of_time(
    client: RecallrAI, said_on: tuple[int, int, int], text: str, words: tuple[str, ...], day: str
) -> None:
    user = client.create_user("noor", metadata={"name": "Noor"})
    converse(user, at(*said_on), (USER, text))
    memory = only(user, *words)
    assert memory.event_date_start is not None
    assert memory.event_date_start.date().isoformat() == day, memory.content
