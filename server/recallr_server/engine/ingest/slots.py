"""Slots: the single-valued things a person has one of at a time (a home, a job, a partner,
a diet) or for life (a birthplace, a birthday, a blood type).

A fact is placed in a slot by what it means, not by how it is worded: the parse places it
when an attribute rule read a value from it ("I moved to Oslo" sets the residence to Oslo),
and otherwise the MiniLM embedding does, as the nearest of a few typical phrasings of each
slot, provided no typical phrasing of a fact that fills no slot is nearer ("I flew to Oslo"
is travel, not a home). A new fact in a slot that already holds a different current value
then replaces it, however either was said.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from recallr_server.engine.embeddings import Embedder, Matrix
from recallr_server.engine.vectors import Vector


@dataclass(frozen=True)
class Slot:
    key: str
    # A second value is a contradiction whenever it is said, never a change over time.
    lifelong: bool
    # The keys of the attributes the parse reads that fill this slot.
    attributes: frozenset[str]
    # A few typical phrasings, for placing facts the parse read no attribute from.
    typical: tuple[str, ...] = ()


SLOTS = (
    Slot(
        "residence",
        False,
        frozenset({"residence"}),
        (
            "The user lives in Manchester.",
            "The user moved to Berlin last month.",
            "The user relocated to another city for work.",
            "The user is based in Toronto now.",
            "The user has settled in a small town by the coast.",
        ),
    ),
    Slot(
        "job",
        False,
        frozenset({"employer", "job_title"}),
        (
            "The user works as a nurse at the city hospital.",
            "The user started a new job at a bank on Monday.",
            "The user quit their job at the cafe.",
            "The user left the company they worked for.",
            "The user was hired by a software company.",
            "The user has a new role as a project manager.",
            "The user started working at the museum.",
        ),
    ),
    Slot(
        "relationship",
        False,
        frozenset({"relationship_status"}),
        (
            "The user's girlfriend is called Ana.",
            "The user is engaged to Sam.",
            "The user got married to Chris last weekend.",
            "The user broke up with their boyfriend.",
            "The user is dating someone new.",
        ),
    ),
    Slot(
        "diet",
        False,
        frozenset({"diet"}),
        (
            "The user is vegetarian.",
            "The user has been vegan for two years.",
            "The user follows a keto diet.",
            "The user started eating fish again.",
        ),
    ),
    Slot(
        "birthplace",
        True,
        frozenset({"birthplace", "hometown"}),
        (
            "The user was born in Nairobi.",
            "The user was born in a small town.",
            "The user's birthplace is Porto.",
        ),
    ),
    Slot(
        "birthday",
        True,
        frozenset({"birthday"}),
        ("The user's birthday is on 4 May.", "The user was born on 12 June 1990."),
    ),
    Slot("blood type", True, frozenset({"blood type"}), ("The user's blood type is A positive.",)),
    Slot("anniversary", True, frozenset({"anniversary"})),
)

# Facts that fill no slot but read like ones that do: a trip is not a home, a colleague's
# job is not the user's, an allergy does not replace a diet.
_UNSLOTTED = (
    "The user is flying to Lisbon next week.",
    "The user visited Rome on holiday.",
    "The user's sister lives in Lyon.",
    "The user's friend got a job at a bank.",
    "The user is allergic to peanuts.",
    "The user has a severe allergy to prawns and crab.",
    "The user is lactose intolerant.",
    "The user loves spicy food.",
    "The user hates olives.",
    "The user has a job interview next week.",
    "The user's boss is difficult.",
    "The user's rent is 900 a month.",
    "The user's partner loves jazz.",
    "The user adopted a cat.",
    "The user is training for a marathon.",
    "The user bought a new car.",
    "The user is learning Spanish.",
    "The user has a dentist appointment on Friday.",
)

PERSONAL_RECORDS = frozenset(key for slot in SLOTS if slot.lifelong for key in slot.attributes)
LIFELONG = frozenset(slot.key for slot in SLOTS if slot.lifelong)
_BY_ATTRIBUTE = {key: slot.key for slot in SLOTS for key in slot.attributes}
# How near (cosine) a fact must be to a typical phrasing of a slot to be placed in it.
SLOT_SIMILARITY = 0.55


def slot_of_attribute(key: str | None) -> str | None:
    """The slot an attribute the parse read fills: employer and job title are one job;
    any other attribute (a favourite, an age, a name) is a slot of its own."""
    return None if key is None else _BY_ATTRIBUTE.get(key, key)


class Slotter:
    """Places facts the parse read no attribute from in slots, by their embedding."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._lock = threading.Lock()
        self._typical: tuple[list[str | None], Matrix] | None = None

    def nearest(self, vector: Vector) -> str | None:
        """The slot of the nearest typical phrasing, when it is near enough and is not
        the phrasing of a fact that fills no slot."""
        owners, typical = self._load()
        if not vector.any() or typical.shape[1] != vector.shape[0]:
            return None
        similarities = typical @ vector
        best = int(np.argmax(similarities))
        return owners[best] if similarities[best] >= SLOT_SIMILARITY else None

    def _load(self) -> tuple[list[str | None], Matrix]:
        with self._lock:
            if self._typical is None:
                owners: list[str | None] = [s.key for s in SLOTS for _ in s.typical]
                texts = [text for s in SLOTS for text in s.typical]
                owners += [None] * len(_UNSLOTTED)
                self._typical = owners, self._embedder.embed([*texts, *_UNSLOTTED])
            return self._typical
