"""The category vocabulary every new project starts with."""

from __future__ import annotations

import re

CATEGORY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

DEFAULT_CATEGORIES: dict[str, str] = {
    "personal_info": "Name, age, birthday, family background and other identity facts.",
    "relationships": "Family, partners, friends, colleagues and pets, and how they relate.",
    "food_preferences": "Foods, drinks, cuisines and diets the user likes or avoids.",
    "allergies": "Allergies and intolerances.",
    "health": "Health conditions, fitness, medication and wellbeing.",
    "work": "Job, employer, role, career plans and work events.",
    "education": "Schools, studies, degrees and learning.",
    "hobbies": "Hobbies, sports, arts, games and pastimes.",
    "travel": "Trips taken and planned, and places visited.",
    "places": "Where the user lives, has lived, or spends time.",
    "possessions": "Things the user owns, bought or wants to buy.",
    "plans": "Intentions, goals and scheduled future events.",
    "events": "Things that happened to or were done by the user.",
    "opinions": "Views, beliefs, likes and dislikes that are not about food.",
    "preferences": "How the user wants things done, including by the assistant.",
    "assistant_recommendations": "What the assistant told or recommended to the user.",
}
