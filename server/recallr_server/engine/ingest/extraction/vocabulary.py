"""Word lists that more than one step of extraction reads."""

from __future__ import annotations

FIRST_PERSON = frozenset({"i", "me", "my", "mine", "we", "us", "our", "ours"})

SECOND_PERSON = frozenset({"you", "your", "yours", "yourself", "yourselves", "ya", "u"})

DEPENDENT_SUBJECTS = frozenset(
    {"it", "this", "that", "these", "those", "they", "he", "she", "them", "which", "who", "what"}
)

RECOMMEND_LEMMAS = frozenset({"recommend", "suggest", "advise"})

GENERIC_NOUNS = frozenset(
    {"thing", "stuff", "lot", "way", "bit", "one", "question", "time", "kind", "sort", "day"}
    | {"something", "anything", "everything", "nothing", "idea", "moment", "luck", "job"}
    | {"word", "sense", "fun", "thanks", "feeling", "deal", "point", "part"}
)

RELATION_NOUNS = frozenset(
    {"sister", "brother", "mom", "mum", "mother", "dad", "father", "wife", "husband", "partner"}
    | {"boyfriend", "girlfriend", "son", "daughter", "kid", "child", "friend", "cousin", "aunt"}
    | {"uncle", "grandma", "grandpa", "grandmother", "grandfather", "boss", "colleague", "pet"}
    | {"coworker", "dog", "cat", "family", "parent", "roommate", "neighbor", "neighbour", "baby"}
    | {"fiance", "fiancee", "spouse", "niece", "nephew", "sibling", "grandchild", "mentor"}
)

OCCUPATIONS = frozenset(
    {"engineer", "developer", "programmer", "designer", "teacher", "nurse", "doctor", "lawyer"}
    | {"accountant", "manager", "counselor", "counsellor", "therapist", "writer", "artist"}
    | {"chef", "cook", "student", "scientist", "researcher", "professor", "consultant"}
    | {"analyst", "architect", "pharmacist", "dentist", "firefighter", "pilot", "mechanic"}
    | {"electrician", "plumber", "journalist", "photographer", "musician", "salesperson"}
    | {"entrepreneur", "freelancer", "intern", "veterinarian", "paramedic", "barista"}
    | {"waiter", "waitress", "librarian", "officer", "soldier", "driver", "painter", "actor"}
    | {"director", "administrator", "technician", "coach", "instructor", "tutor", "editor"}
)
