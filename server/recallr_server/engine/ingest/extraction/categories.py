"""The categories a fact belongs to: the built-in ones by their words, a project's own by
the words of their names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.kinds import Kind
from recallr_server.engine.ingest.extraction.statements import Statement
from recallr_server.engine.ingest.extraction.vocabulary import (
    ANIMALS,
    HEALTH_CONDITIONS,
    OCCUPATIONS,
    RELATION_NOUNS,
)

if TYPE_CHECKING:
    from spacy.tokens import Token

_CATEGORY_LEMMAS: dict[str, frozenset[str]] = {
    "personal_info": frozenset(
        {"name", "age", "birthday", "bear", "born", "identity", "transgender", "gender"}
        | {"nationality", "religion", "background", "grow", "heritage"}
    ),
    "relationships": RELATION_NOUNS
    | frozenset({"marry", "married", "divorce", "wedding", "date", "dating", "relationship"})
    | frozenset({"kids", "children", "parents", "friends", "friendship", "engaged", "single"}),
    "food_preferences": frozenset(
        {"food", "eat", "drink", "cook", "cooking", "recipe", "restaurant", "cuisine", "meal"}
        | {"dinner", "lunch", "breakfast", "vegan", "vegetarian", "coffee", "tea", "diet"}
        | {"meat", "pizza", "pasta", "sushi", "dessert", "bake", "baking", "snack", "wine"}
    ),
    "allergies": frozenset({"allergic", "allergy", "intolerant", "intolerance"}),
    "health": frozenset(
        {"health", "doctor", "hospital", "sick", "ill", "illness", "injury", "injure", "pain"}
        | {"medication", "medicine", "therapy", "therapist", "anxiety", "depression", "surgery"}
        | {"diagnose", "sleep", "workout", "gym", "fitness", "yoga", "self-care", "stress"}
        | HEALTH_CONDITIONS
    ),
    "work": frozenset(
        {"job", "work", "career", "employer", "company", "boss", "office", "promotion"}
        | {"promote", "hire", "salary", "colleague", "business", "client", "interview"}
        | {"resign", "fire", "startup", "coworker", "profession", "counseling", "employee"}
        | {"shift", "retire", "retirement", "teach", "manage", "workplace", "commute"}
    )
    | OCCUPATIONS,
    "education": frozenset(
        {"school", "college", "university", "degree", "study", "class", "course", "student"}
        | {"graduate", "exam", "learn", "edu", "education", "major", "lecture", "semester"}
        | {"certification", "workshop", "homework", "teacher", "research"}
    ),
    "hobbies": frozenset(
        {"hobby", "paint", "painting", "draw", "drawing", "music", "guitar", "violin", "piano"}
        | {"game", "sport", "swim", "swimming", "run", "running", "hike", "hiking", "camp"}
        | {"camping", "read", "reading", "book", "dance", "sing", "photography", "garden"}
        | {"gardening", "pottery", "craft", "knit", "fishing", "cycling", "movie", "film", "art"}
        | {"play", "concert", "band", "novel", "poetry", "chess", "soccer", "football"}
    ),
    "travel": frozenset(
        {"trip", "travel", "vacation", "holiday", "visit", "flight", "fly", "tour", "abroad"}
        | {"road", "beach", "hotel", "destination", "passport", "cruise"}
    ),
    "places": frozenset(
        {"live", "move", "reside", "hometown", "apartment", "neighborhood", "neighbourhood"}
        | {"relocate", "city", "town", "country", "house", "home", "flat", "rent", "landlord"}
        | {"landlady", "renovate", "renovation", "neighbourhood", "mortgage"}
    ),
    "possessions": frozenset(
        {"own", "buy", "purchase", "car", "phone", "laptop", "bike", "bicycle", "computer"}
        | {"collection", "collect", "gift"}
    ),
    "plans": frozenset(
        {"plan", "planning", "intend", "goal", "dream", "hope", "aim", "schedule", "will"}
    ),
    "opinions": frozenset(
        {"think", "believe", "opinion", "hate", "important", "agree", "disagree", "view"}
    ),
    "preferences": frozenset(
        {"prefer", "preference", "favorite", "favourite", "rather", "love", "like", "enjoy"}
        | {"dislike", "keen"}
    ),
}


def clause_categories(
    tokens: list[Token],
    kind: Kind,
    attribute: tuple[str, str] | None,
    statement: Statement | None,
) -> set[str]:
    lemmas = {
        word
        for token in tokens
        if token.pos_ == "VERB" or token.lemma_.lower() not in _VERB_ONLY_LEMMAS
        for word in (token.lemma_.lower(), token.lower_)
    }
    found = {name for name, words in _CATEGORY_LEMMAS.items() if lemmas & words}
    if kind is Kind.RECOMMENDATION or kind is Kind.TOLD:
        found.add("assistant_recommendations")
    if attribute is not None:
        found |= {
            "residence": {"places"},
            "employer": {"work"},
            "job_title": {"work"},
            "relationship_status": {"relationships"},
            "diet": {"food_preferences"},
            "name": {"personal_info"},
            "age": {"personal_info"},
            "birthplace": {"personal_info"},
            "birthday": {"personal_info"},
            "hometown": {"personal_info"},
            "anniversary": {"relationships"},
            "blood type": {"health", "personal_info"},
        }.get(attribute[0], {"preferences"})
    if statement is not None and statement.category is not None:
        found.add(statement.category)
    if "food_preferences" in found:
        found.discard("preferences")
    if lemmas & ANIMALS:
        found.add("relationships")  # a pet is family, not a thing one owns
        found.discard("possessions")
    if lemmas & HEALTH_CONDITIONS:
        found.discard("possessions")  # "I have asthma"
    return found


# Words that name a category only as verbs: "looks like", "a loving home", "my dream".
_VERB_ONLY_LEMMAS = frozenset(
    {"love", "like", "hope", "plan", "dream", "will", "work", "run", "own"}
)


def custom_categories(content: str, categories: Mapping[str, str]) -> set[str]:
    """Project-defined categories match when their name's words appear in the fact."""
    words = {word.rstrip("s") for word in re.findall(r"[a-z]+", content.lower())}
    return {
        name
        for name in categories
        if name not in _CATEGORY_LEMMAS
        and name != "assistant_recommendations"
        and all(part.rstrip("s") in words for part in name.split("_") if part)
    }
