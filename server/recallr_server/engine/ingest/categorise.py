"""Categories for the facts the rules could not place, by their meaning: each built-in
category is the centroid of a few typical memories, and a fact takes the nearest one.

Word rules are precise but see only the words they list; the embedding generalises to the
words they miss ("levothyroxine", "a season ticket"). So the rules decide, and the
embedding fills in when they found nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np

from recallr_server.engine.embeddings import Embedder
from recallr_server.engine.vectors import Vector

# Categories a fact earns by its form (a date, a recommendation, a verb of liking or
# having), which say little about its topic.
_FORMAL = frozenset({"events", "plans", "assistant_recommendations"})
_WEAK = frozenset({"preferences", "opinions", "possessions"})
MAX_CATEGORIES = 3
# How much nearer (in cosine similarity) a topic must be than a weak category found by form.
_CLEARLY_NEARER = 0.1
# Dropped first when a fact has more categories than a reader can use.
_LEAST_TELLING = ("events", "plans", "preferences", "opinions", "possessions", "places")

# A few typical memories per built-in category, written to span each category's ground.
_TYPICAL: dict[str, tuple[str, ...]] = {
    "personal_info": (
        "The user is 41 years old.",
        "The user's birthday is in November.",
        "The user was born in Nairobi.",
        "The user's name is Tomasz.",
        "The user grew up on a farm.",
        "The user is Catholic.",
        "The user is left-handed.",
        "The user's nationality is Irish.",
    ),
    "relationships": (
        "The user's brother lives nearby.",
        "The user has a girlfriend named Ana.",
        "The user's daughter is starting school.",
        "The user's best friend is Priya.",
        "The user has a cat called Mochi.",
        "The user's parents are retired.",
        "The user and their husband have been married ten years.",
        "The user's parrot talks all day.",
        "The user's son is seven years old.",
        "The user's neighbour is a retired nurse.",
    ),
    "food_preferences": (
        "The user loves spicy food.",
        "The user doesn't eat pork.",
        "The user is vegetarian.",
        "The user drinks oat milk in coffee.",
        "The user's favourite cuisine is Japanese.",
        "The user hates olives.",
        "The user makes pasta from scratch.",
        "The user bakes bread and cakes.",
    ),
    "allergies": (
        "The user is allergic to peanuts.",
        "The user is lactose intolerant.",
        "The user has a gluten intolerance.",
        "The user reacts badly to penicillin.",
    ),
    "health": (
        "The user has high blood pressure.",
        "The user takes medication for epilepsy.",
        "The user has a chronic illness.",
        "The user hurt their back.",
        "The user has been sleeping badly.",
        "The user sees a physiotherapist for a shoulder injury.",
        "The user's cholesterol is high.",
        "The user has a dentist appointment.",
        "The user goes to the gym three times a week.",
        "The user has migraines.",
        "The user had surgery on their hip.",
    ),
    "work": (
        "The user works as a nurse at the city hospital.",
        "The user is a software engineer.",
        "The user leads a team of five.",
        "The user got a promotion.",
        "The user starts a new job next month.",
        "The user's boss is difficult.",
        "The user has a job interview.",
        "The user works night shifts at a warehouse.",
        "The user is a primary school teacher.",
    ),
    "education": (
        "The user is studying law at university.",
        "The user is learning Japanese.",
        "The user has an exam in June.",
        "The user takes an evening course in photography.",
        "The user graduated in 2015.",
        "The user is doing an online course.",
    ),
    "hobbies": (
        "The user plays guitar.",
        "The user goes bouldering at weekends.",
        "The user runs half marathons.",
        "The user collects stamps.",
        "The user likes to paint watercolours.",
        "The user plays tennis on Sundays.",
        "The user supports a football team and goes to matches.",
        "The user listens to jazz.",
        "The user reads crime novels.",
        "The user grows vegetables and houseplants.",
        "The user volunteers at a charity.",
    ),
    "travel": (
        "The user is flying to Tokyo next week.",
        "The user went to Portugal on holiday.",
        "The user booked a hotel in Rome.",
        "The user is planning a road trip.",
        "The user wants to visit Iceland.",
    ),
    "places": (
        "The user lives in Manchester.",
        "The user moved to a new flat.",
        "The user's house is near the river.",
        "The user pays rent for a one-bedroom apartment.",
        "The user commutes by train from the suburbs.",
        "The user's neighbourhood is quiet.",
    ),
    "possessions": (
        "The user bought a new car.",
        "The user owns a vintage camera.",
        "The user has an electric scooter.",
        "The user's laptop is broken.",
        "The user wants to buy a new phone.",
        "The user is saving up for a sailing boat.",
    ),
    "opinions": (
        "The user thinks remote work is better.",
        "The user believes in climate action.",
        "The user finds modern art pretentious.",
        "The user dislikes loud bars.",
    ),
    "preferences": (
        "The user wants replies in a formal tone.",
        "The user prefers answers in Spanish.",
        "The user wants the assistant to ask before booking anything.",
        "The user likes step-by-step instructions.",
        "The user prefers the window seat.",
        "The user wants to be addressed by a nickname.",
    ),
}


class Categoriser:
    """The nearest built-in category of a fact's embedding, for facts the rules left bare."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._lock = threading.Lock()
        self._centroids: tuple[list[str], np.ndarray] | None = None

    def complete(
        self, found: Sequence[str], vector: Vector, allowed: Mapping[str, str]
    ) -> list[str]:
        """`found` with the nearest category added when it holds none by topic, and trimmed
        to MAX_CATEGORIES."""
        names = set(found)
        if not names - _FORMAL - _WEAK:
            nearest = self._nearest(vector, names & _WEAK)
            if nearest is not None and nearest in allowed:
                names.add(nearest)
        for name in _LEAST_TELLING:
            if len(names) <= MAX_CATEGORIES:
                break
            names.discard(name)
        return sorted(names)

    def _nearest(self, vector: Vector, weak: set[str]) -> str | None:
        """The nearest category; when the rules found only weak ones, only if it is clearly
        nearer than they are ("loves peanut sauce" is food, "wants no tables" stays a
        preference)."""
        names, centroids = self._load()
        if not vector.any() or centroids.shape[1] != vector.shape[0]:
            return None
        similarities = centroids @ vector
        best = int(np.argmax(similarities))
        floor = max((similarities[names.index(w)] for w in weak if w in names), default=None)
        if floor is not None and similarities[best] - floor < _CLEARLY_NEARER:
            return None
        return names[best]

    def _load(self) -> tuple[list[str], np.ndarray]:
        with self._lock:
            if self._centroids is None:
                names = list(_TYPICAL)
                rows = []
                for name in names:
                    mean = self._embedder.embed(list(_TYPICAL[name])).mean(axis=0)
                    rows.append(mean / np.linalg.norm(mean))
                self._centroids = names, np.stack(rows).astype(np.float32)
            return self._centroids
