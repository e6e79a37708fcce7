"""Long generated conversations about everyday life, for tests and benchmarks that need
sessions of thousands of messages: the user says what they did, liked or plan, and the
assistant answers or asks, in turn. The same seed gives the same conversation."""

from __future__ import annotations

import random
from typing import Literal

Role = Literal["user", "assistant"]

_PEOPLE = ("my sister", "my brother", "my neighbour", "my friend Sam", "my colleague Priya")
_PLACES = ("the farmers market", "the library", "the park", "the gym", "the bakery", "the pool")
_FOODS = ("lentil soup", "banana bread", "a mushroom risotto", "fish tacos", "a lemon tart")
_ACTIVITIES = ("running", "gardening", "baking", "reading", "cycling", "painting", "yoga")
_DAYS = ("on Monday", "yesterday", "last weekend", "on Saturday", "this morning", "last night")
_USER = (
    "I went to {place} with {person} {day}.",
    "I cooked {food} for dinner {day}.",
    "I have been getting into {activity} lately.",
    "{person} and I tried {food} at a new cafe {day}.",
    "I spent an hour on {activity} {day} and it felt great.",
    "I'm thinking of taking up {activity} with {person}.",
)
_ASSISTANT = (
    "That sounds lovely! How did it go?",
    "Nice. {activity} is a great way to unwind.",
    "Good idea. Would you like a few tips on {activity}?",
    "{food} is a classic. Did you follow a recipe?",
    "Sounds like a good week so far.",
)


def everyday_conversation(messages: int, seed: int = 7) -> list[tuple[Role, str]]:
    """`messages` turns, the user's first, alternating with the assistant's."""
    pick = random.Random(seed).choice
    turns: list[tuple[Role, str]] = []
    for index in range(messages):
        role: Role = "user" if index % 2 == 0 else "assistant"
        template = pick(_USER if role == "user" else _ASSISTANT)
        text = template.format(
            person=pick(_PEOPLE),
            place=pick(_PLACES),
            food=pick(_FOODS),
            activity=pick(_ACTIVITIES),
            day=pick(_DAYS),
        )
        turns.append((role, text[:1].upper() + text[1:]))
    return turns
