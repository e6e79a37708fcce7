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

FEMALE_RELATIONS = frozenset(
    {"sister", "mom", "mum", "mother", "wife", "girlfriend", "daughter", "aunt", "grandma"}
    | {"grandmother", "granddaughter", "niece", "fiancee", "fiancée", "stepmother", "stepmum"}
    | {"stepdaughter", "nan", "nana", "gran", "granny", "mommy", "mummy", "sis", "auntie"}
)
MALE_RELATIONS = frozenset(
    {"brother", "dad", "father", "husband", "boyfriend", "son", "uncle", "grandpa"}
    | {"grandfather", "grandson", "nephew", "fiance", "fiancé", "stepfather", "stepdad"}
    | {"stepson", "granddad", "grandad", "daddy", "bro"}
)
PARTNERS = frozenset(
    {"wife", "husband", "partner", "boyfriend", "girlfriend", "fiance", "fiancé", "fiancee"}
    | {"fiancée", "spouse"}
)
RELATION_NOUNS = (
    FEMALE_RELATIONS
    | MALE_RELATIONS
    | PARTNERS
    | frozenset(
        {"kid", "child", "friend", "cousin", "boss", "colleague", "pet", "coworker", "dog"}
        | {"cat", "family", "parent", "roommate", "neighbor", "neighbour", "baby", "sibling"}
        | {"grandchild", "mentor", "mate", "flatmate", "housemate", "in-law", "godson"}
        | {"goddaughter", "twin", "grandparent", "stepchild", "toddler", "teenager"}
    )
)
# Animals people keep, and the commonest breeds they name them by.
ANIMALS = frozenset(
    {"dog", "cat", "puppy", "kitten", "rabbit", "bunny", "tortoise", "turtle", "hamster"}
    | {"guinea", "parrot", "bird", "budgie", "horse", "pony", "goldfish", "lizard", "snake"}
    | {"ferret", "chicken", "hen", "goat", "pig", "cow", "sheep", "donkey", "gecko", "mare"}
    | {"greyhound", "labrador", "retriever", "collie", "spaniel", "terrier", "poodle", "pug"}
    | {"dachshund", "beagle", "husky", "bulldog", "whippet", "lurcher", "shepherd", "tabby"}
    | {"pet", "rat", "mouse", "fish", "kitty", "pup", "stallion", "gelding", "foal"}
)
# People spoken of by what they are to the speaker rather than by relation.
PEOPLE = frozenset(
    {"neighbour", "neighbor", "landlord", "landlady", "surgeon", "doctor", "teacher", "coach"}
    | {"friend", "mate", "guy", "girl", "woman", "man", "lady", "person", "boss", "manager"}
    | {"client", "customer", "builder", "therapist", "dentist", "vet", "tutor", "student"}
)
# Groups a speaker can belong to, which "we" then means.
GROUPS = frozenset(
    {"band", "team", "club", "choir", "crew", "group", "class", "squad", "orchestra", "troupe"}
    | {"family", "household", "company", "startup", "society", "league", "cast"}
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

# Places and organisations that "they" can mean: "their halloumi is unbeatable".
ORGANISATIONS = frozenset(
    {"place", "restaurant", "shop", "cafe", "café", "bar", "pub", "company", "bakery"}
    | {"library", "bank", "office", "school", "hospital", "clinic", "gym", "store", "firm"}
    | {"museum", "hotel", "airline", "council", "university", "college", "agency", "brand"}
)

# Conditions, treatments and habits that make a fact about one's health.
HEALTH_CONDITIONS = frozenset(
    {"diabetes", "diabetic", "asthma", "asthmatic", "inhaler", "insulin", "thyroid", "cancer"}
    | {"migraine", "arthritis", "eczema", "anaemia", "anemia", "anaemic", "anemic", "epilepsy"}
    | {"cholesterol", "medication", "prescription", "pill", "dose", "hip", "ankle"}
    | {"physio", "physiotherapy", "physiotherapist", "injury", "knee", "shoulder"}
    | {"smoke", "smoking", "cigarette", "vape", "vaping", "alcohol", "sober", "needle"}
    | {"dentist", "tooth", "teeth", "molar", "iron", "vitamin", "blood"}
    | {"condition", "disease", "disorder", "syndrome", "symptom", "infection", "flu", "covid"}
    | {"pregnant", "pregnancy", "surgeon", "meniscus", "sprain", "fracture"}
)
