"""Local extraction turns conversation turns into standalone, dated third-person facts."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest

from recallr_server.domain.categories import DEFAULT_CATEGORIES
from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.ingest.extraction import (
    Fact,
    canonical_attribute_key,
    extract_facts,
)

NOW = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)  # a Monday
LOCOMO_FILE = Path(__file__).resolve().parents[2].parent / "shared/data/locomo-dev.json"


def extract(
    *turns: tuple[Literal["user", "assistant"], str],
    user_name: str | None = None,
    assistant_name: str | None = None,
    categories: dict[str, str] = DEFAULT_CATEGORIES,
) -> list[Fact]:
    messages = [ChatMessage(f"m{i}", role, text) for i, (role, text) in enumerate(turns)]
    return extract_facts(
        messages,
        now=NOW,
        user_name=user_name,
        assistant_name=assistant_name,
        categories=categories,
    )


def only_fact(
    *turns: tuple[Literal["user", "assistant"], str],
    user_name: str | None = None,
    assistant_name: str | None = None,
) -> Fact:
    facts = extract(*turns, user_name=user_name, assistant_name=assistant_name)
    assert len(facts) == 1, [fact.content for fact in facts]
    return facts[0]


def test_user_statement_becomes_a_third_person_fact_dated_to_the_session_day() -> None:
    fact = only_fact(("user", "I'm allergic to peanuts."))
    assert fact.content == "The user is allergic to peanuts."
    assert fact.categories == ["allergies"]
    assert fact.subject_key == "user"
    assert fact.source_message_ids == ["m0"]
    assert (fact.event_start, fact.event_end) == (
        datetime(2023, 5, 8, tzinfo=UTC),
        datetime(2023, 5, 9, tzinfo=UTC),
    )


def test_user_name_replaces_the_user() -> None:
    fact = only_fact(("user", "My favourite dish is ramen."), user_name="Dana")
    assert fact.content == "Dana's favourite dish is ramen."
    assert fact.subject_key == "user"


def test_relative_date_is_made_absolute_and_dates_the_event() -> None:
    fact = only_fact(("user", "I moved to Berlin yesterday."))
    assert fact.content == "The user moved to Berlin on 7 May 2023."
    assert fact.event_start == datetime(2023, 5, 7, tzinfo=UTC)
    assert fact.event_end == datetime(2023, 5, 8, tzinfo=UTC)
    assert {"places", "events"} <= set(fact.categories)


def test_coarse_time_phrase_gives_a_coarse_event_span() -> None:
    fact = only_fact(("user", "I painted a lake sunrise last year."))
    assert fact.content == "The user painted a lake sunrise in 2022."
    assert (fact.event_start.date(), fact.event_end.date()) == (date(2022, 1, 1), date(2023, 1, 1))
    assert "hobbies" in fact.categories


def test_future_plan_is_categorised_as_a_plan() -> None:
    fact = only_fact(("user", "I'm flying to Tokyo for a conference next Friday."))
    assert fact.content == "The user is flying to Tokyo for a conference on 12 May 2023."
    assert fact.event_start.date() == date(2023, 5, 12)
    assert {"plans", "travel"} <= set(fact.categories)


@pytest.mark.parametrize(
    ("text", "attribute_key", "value", "category"),
    [
        ("I moved to Berlin last month.", "residence", "Berlin", "places"),
        ("I live in Lisbon.", "residence", "Lisbon", "places"),
        ("I work at Acme.", "employer", "Acme", "work"),
        ("I work as a nurse.", "job_title", "nurse", "work"),
        ("I'm a software engineer.", "job_title", "software engineer", "work"),
        ("I'm married.", "relationship_status", "married", "relationships"),
        ("I'm vegan.", "diet", "vegan", "food_preferences"),
        ("My favorite color is blue.", "favourite:color", "blue", "preferences"),
        ("I'm 34 years old.", "age", "34", "personal_info"),
    ],
)
def test_single_valued_attribute_is_keyed_for_consolidation(
    text: str, attribute_key: str, value: str, category: str
) -> None:
    fact = only_fact(("user", text))
    assert (fact.attribute_key, fact.value) == (attribute_key, value)
    assert category in fact.categories


def test_negation_is_kept_and_becomes_a_diet() -> None:
    fact = only_fact(("user", "I don't eat meat."))
    assert fact.content == "The user doesn't eat meat."
    assert (fact.attribute_key, fact.value) == ("diet", "no meat")
    assert "food_preferences" in fact.categories


def test_past_residence_is_not_the_current_residence() -> None:
    fact = only_fact(("user", "I lived in Paris for five years."))
    assert fact.content == "The user lived in Paris for five years."
    assert fact.attribute_key is None


def test_moving_in_with_a_person_is_not_a_residence() -> None:
    fact = only_fact(("user", "I moved in with Tom."))
    assert fact.attribute_key is None


def test_fact_about_a_relative_is_keyed_to_that_relative() -> None:
    fact = only_fact(("user", "My sister lives in Lyon."))
    assert fact.content == "The user's sister lives in Lyon."
    assert fact.subject_key == "user's sister"
    assert (fact.attribute_key, fact.value) == ("residence", "Lyon")
    assert "relationships" in fact.categories


def test_verbs_agree_with_the_rewritten_subject() -> None:
    facts = extract(("user", "I've been learning Spanish and I go to classes every week."))
    assert [fact.content for fact in facts] == [
        "The user has been learning Spanish.",
        "The user goes to classes every week.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "I live in Paris and I'm allergic to peanuts.",
        "I live in Paris, and I'm allergic to peanuts.",
        "I live in Paris but I'm allergic to peanuts.",
        "I live in Paris; I'm allergic to peanuts.",
    ],
)
def test_coordinated_clauses_become_separate_facts(text: str) -> None:
    # One fact per clause, so that a later move cannot expire the allergy with the city.
    residence, allergy = extract(("user", text))
    assert residence.content == "The user lives in Paris."
    assert (residence.attribute_key, residence.value) == ("residence", "Paris")
    assert residence.categories == ["places"]
    assert allergy.content == "The user is allergic to peanuts."
    assert (allergy.attribute_key, allergy.value) == (None, None)
    assert allergy.categories == ["allergies"]
    assert residence.source_message_ids == allergy.source_message_ids == ["m0"]


def test_a_second_predicate_of_the_same_subject_is_a_fact_of_its_own() -> None:
    facts = extract(("user", "I live in Paris and work at Acme."))
    assert [(f.content, f.attribute_key, f.value) for f in facts] == [
        ("The user lives in Paris.", "residence", "Paris"),
        ("The user works at Acme.", "employer", "Acme"),
    ]


def test_a_second_predicate_mis_tagged_as_a_noun_is_still_split_off() -> None:
    # The small model tags "work" as a noun here, and "Chester" and "Spotify" as people.
    facts = extract(("user", "I live in Chester and work at Spotify."))
    assert [(f.content, f.attribute_key, f.value) for f in facts] == [
        ("The user lives in Chester.", "residence", "Chester"),
        ("The user works at Spotify.", "employer", "Spotify"),
    ]


def test_each_clause_is_dated_by_its_own_time_phrase() -> None:
    moved, works = extract(("user", "I moved to Berlin yesterday and I work at Acme."))
    assert moved.content == "The user moved to Berlin on 7 May 2023."
    assert moved.event_start == datetime(2023, 5, 7, tzinfo=UTC)
    assert works.content == "The user works at Acme."
    assert works.event_start == datetime(2023, 5, 8, tzinfo=UTC)


def test_a_later_subject_in_a_list_of_clauses_is_shared_by_what_follows_it() -> None:
    facts = extract(("user", "I live in Paris and my sister works at Acme and plays tennis."))
    assert [(f.content, f.subject_key) for f in facts] == [
        ("The user lives in Paris.", "user"),
        ("The user's sister works at Acme.", "user's sister"),
        ("The user's sister plays tennis.", "user's sister"),
    ]


@pytest.mark.parametrize(
    ("text", "content"),
    [
        ("I like apples and pears.", "The user likes apples and pears."),
        ("I don't eat meat or fish.", "The user doesn't eat meat or fish."),
        ("I live in Paris, I think.", "The user lives in Paris, the user thinks."),
    ],
)
def test_coordination_inside_one_predicate_stays_one_fact(text: str, content: str) -> None:
    assert only_fact(("user", text)).content == content


def test_a_clause_that_cannot_stand_alone_stays_with_the_one_before() -> None:
    fact = only_fact(("user", "I pitched my script to producers and they really liked it."))
    assert fact.content == (
        "The user pitched the user's script to producers and they really liked it."
    )


ALLERGENS = ["shellfish", "gluten", "dairy", "penicillin", "bees", "cats", "lactose", "fish"]


@pytest.mark.parametrize("allergen", ALLERGENS)
@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("I'm allergic to {}.", "The user is allergic to {}."),
        ("I am allergic to {}.", "The user is allergic to {}."),
        ("I'm also allergic to {}.", "The user is also allergic to {}."),
        ("I am also allergic to {}.", "The user is also allergic to {}."),
        ("I'm intolerant to {}.", "The user is intolerant to {}."),
    ],
)
def test_an_allergy_is_kept_whatever_the_tagger_makes_of_the_allergen(
    said: str, written: str, allergen: str
) -> None:
    # The small model tags "shellfish", "gluten", "fish" and "lactose" here as verbs.
    fact = only_fact(("user", said.format(allergen)))
    assert fact.content == written.format(allergen)
    assert "allergies" in fact.categories


def test_an_allergen_before_the_adjective_is_kept() -> None:
    fact = only_fact(("user", "I'm lactose intolerant."))
    assert (fact.content, fact.categories) == ("The user is lactose intolerant.", ["allergies"])


def test_a_denied_allergy_is_kept_with_its_negation() -> None:
    fact = only_fact(("user", "I'm not allergic to shellfish."))
    assert fact.content == "The user is not allergic to shellfish."


@pytest.mark.parametrize(
    ("text", "content"),
    [
        ("I love shellfish.", "The user loves shellfish."),
        ("I like gluten.", "The user likes gluten."),
        ("I really hate lactose.", "The user really hates lactose."),
        ("I also love gluten.", "The user also loves gluten."),
        ("I prefer dairy.", "The user prefers dairy."),
        ("I love bees.", "The user loves bees."),
    ],
)
def test_a_preference_is_kept_whatever_the_tagger_makes_of_its_object(
    text: str, content: str
) -> None:
    fact = only_fact(("user", text))
    assert fact.content == content
    assert "preferences" in fact.categories


@pytest.mark.parametrize(
    ("text", "content"),
    [
        ("I have ibuprofen.", "The user has ibuprofen."),
        ("I have a Prius.", "The user has a Prius."),
        ("I've got a Vespa.", "The user has got a Vespa."),
        ("I own a kayak.", "The user owns a kayak."),
    ],
)
def test_a_possession_is_kept_and_categorised(text: str, content: str) -> None:
    fact = only_fact(("user", text))
    assert fact.content == content
    assert "possessions" in fact.categories


@pytest.mark.parametrize(
    ("text", "attribute_key", "value"),
    [
        ("I moved to Chester.", "residence", "Chester"),
        ("I just moved to Chester.", "residence", "Chester"),
        ("I work at Spotify.", "employer", "Spotify"),
        ("I work for Spotify.", "employer", "Spotify"),
    ],
)
def test_residence_and_employer_survive_names_the_recogniser_takes_for_people(
    text: str, attribute_key: str, value: str
) -> None:
    fact = only_fact(("user", text))
    assert (fact.attribute_key, fact.value) == (attribute_key, value)


@pytest.mark.parametrize(
    "text",
    [
        "I love that!",
        "I love it.",
        "I like your idea.",
        "I love hearing about it.",
        "I have a question.",
        "I have to go.",
    ],
)
def test_replies_that_look_like_statements_are_not_facts(text: str) -> None:
    assert extract(("user", text)) == []


@pytest.mark.parametrize(
    ("text", "attribute_key", "value"),
    [
        ("My favorite color is blue.", "favourite:color", "blue"),
        ("My favourite colour is green.", "favourite:color", "green"),
        ("My fav color is red.", "favourite:color", "red"),
        ("My fave colour is red.", "favourite:color", "red"),
        ("Blue is my favourite colour.", "favourite:color", "Blue"),
        ("My favourite colours are blue and green.", "favourite:color", "blue and green"),
        ("My favourite film is Alien.", "favourite:movie", "Alien"),
        ("My favorite movie is Heat.", "favourite:movie", "Heat"),
        ("My favorite kind of music is jazz.", "favourite:music", "jazz"),
        ("My favourite flavour is mint.", "favourite:flavor", "mint"),
    ],
)
def test_favourite_keys_are_the_same_whatever_the_spelling(
    text: str, attribute_key: str, value: str
) -> None:
    fact = only_fact(("user", text))
    assert (fact.attribute_key, fact.value) == (attribute_key, value)
    assert "preferences" in fact.categories


@pytest.mark.parametrize(
    ("key", "canonical"),
    [
        ("favorite:colour", "favourite:color"),
        ("Fav:Film", "favourite:movie"),
        ("favourite:tv series", "favourite:tv show"),
        ("residence", "residence"),
    ],
)
def test_attribute_keys_written_elsewhere_take_the_same_spelling(key: str, canonical: str) -> None:
    assert canonical_attribute_key(key) == canonical


def test_a_pronoun_names_no_favourite() -> None:
    fact = only_fact(("user", "It was rich and creamy - might be my new favorite snack."))
    assert fact.attribute_key is None


def test_one_of_several_is_not_an_age() -> None:
    fact = only_fact(("user", "I'm one of the organisers of the Berlin marathon."))
    assert fact.attribute_key is None


def test_assistant_advice_is_recorded_as_its_recommendation() -> None:
    facts = extract(
        ("user", "I love Thai food."),
        ("assistant", "You should try the Thai basil chicken at Lotus."),
        ("assistant", "Try the green curry too!"),
        ("assistant", "I recommend the mango sticky rice."),
    )
    recommendations = [fact for fact in facts if "assistant_recommendations" in fact.categories]
    assert [fact.content for fact in recommendations] == [
        "The assistant recommended the user try the Thai basil chicken at Lotus.",
        "The assistant recommended the user try the green curry too.",
        "The assistant recommended the mango sticky rice.",
    ]
    assert all(fact.subject_key == "user" for fact in recommendations)
    assert [fact.source_message_ids for fact in recommendations] == [["m1"], ["m2"], ["m3"]]


def test_assistant_telling_the_user_something_concrete_is_kept() -> None:
    fact = only_fact(("assistant", "Your flight to Tokyo leaves from BER airport."))
    assert fact.content == (
        "The assistant told the user that the user's flight to Tokyo leaves from BER airport."
    )
    assert fact.subject_key == "user"


def test_an_ai_assistant_talking_about_itself_is_not_a_memory() -> None:
    assert extract(("assistant", "I'm happy to help you with your travel plans.")) == []


@pytest.mark.parametrize(
    "text",
    [
        "Hi!",
        "Hey Mel! Good to see you!",
        "How are you?",
        "Thanks!",
        "lol",
        "ok",
        "That's great!",
        "I totally agree.",
        "Do you know any good restaurants in Berlin?",
        "What do you think about my plan?",
        "Let's talk tomorrow.",
        "Take a look at this.",
    ],
)
def test_chit_chat_greetings_and_questions_are_skipped(text: str) -> None:
    assert extract(("user", text), ("assistant", text), assistant_name="Mel") == []


def test_both_speakers_of_a_chat_between_people_are_named() -> None:
    facts = extract(
        ("user", "Hey Mel! I went to a support group yesterday."),
        ("assistant", "Wow, Caroline! I painted that lake sunrise last year!"),
        user_name="Caroline",
        assistant_name="Melanie",
    )
    assert [(fact.content, fact.subject_key) for fact in facts] == [
        ("Caroline went to a support group on 7 May 2023.", "user"),
        ("Melanie painted that lake sunrise in 2022.", "Melanie"),
    ]


def test_second_person_is_the_other_speaker() -> None:
    fact = only_fact(
        ("assistant", "You should join my pottery class at the community center."),
        user_name="Caroline",
        assistant_name="Melanie",
    )
    assert fact.content == (
        "Melanie recommended Caroline join Melanie's pottery class at the community center."
    )
    assert fact.subject_key == "user"


def test_a_sentence_leaning_on_the_previous_one_joins_its_fact() -> None:
    fact = only_fact(("user", "I ran a charity race last Saturday. It was really rewarding."))
    assert fact.content == ("The user ran a charity race on 6 May 2023; it was really rewarding.")
    assert fact.event_start.date() == date(2023, 5, 6)


def test_the_same_fact_said_twice_cites_both_messages() -> None:
    facts = extract(("user", "I'm allergic to peanuts."), ("user", "I'm allergic to peanuts!"))
    assert [fact.source_message_ids for fact in facts] == [["m0", "m1"]]


def test_only_categories_of_the_given_vocabulary_are_assigned() -> None:
    facts = extract(
        ("user", "I went to a jazz concert last Tuesday."),
        categories={"concerts": "Live music the user attended.", "allergies": "Allergies."},
    )
    assert [fact.categories for fact in facts] == [["concerts"]]


def test_sentence_without_category_words_gets_no_category() -> None:
    fact = only_fact(("user", "I found an old key in the garage."))
    assert fact.categories == []


def test_extraction_is_deterministic() -> None:
    turns: list[tuple[Literal["user", "assistant"], str]] = [
        ("user", "I moved to Berlin yesterday and I work at Acme."),
        ("assistant", "You should try the currywurst at Konnopke's."),
    ]
    first = extract(*turns)
    extract(("user", "My brother lives in Oslo."))
    assert extract(*turns) == first


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        extract_facts(
            [ChatMessage("m0", "user", "I'm vegan.")],
            now=datetime(2023, 5, 8),
            categories=DEFAULT_CATEGORIES,
        )


@pytest.mark.skipif(not LOCOMO_FILE.exists(), reason=f"LoCoMo dev data not at {LOCOMO_FILE}")
def test_first_locomo_sessions_yield_sensible_facts_quickly() -> None:
    conversation = json.loads(LOCOMO_FILE.read_text())[0]["conversation"]
    user, other = conversation["speaker_a"], conversation["speaker_b"]
    facts: list[Fact] = []
    turns = 0
    cpu_started = time.process_time()
    for number in (1, 2):
        now = datetime.strptime(
            conversation[f"session_{number}_date_time"], "%I:%M %p on %d %B, %Y"
        ).replace(tzinfo=UTC)
        messages = [
            ChatMessage(
                turn["dia_id"], "user" if turn["speaker"] == user else "assistant", turn["text"]
            )
            for turn in conversation[f"session_{number}"]
        ]
        turns += len(messages)
        facts += extract_facts(
            messages, now=now, user_name=user, assistant_name=other, categories=DEFAULT_CATEGORIES
        )
    cpu_per_turn = (time.process_time() - cpu_started) / turns

    def about(*words: str) -> Fact:
        matching = [f for f in facts if all(w.lower() in f.content.lower() for w in words)]
        assert matching, f"no fact mentions {words}: {[f.content for f in facts]}"
        return matching[0]

    support_group = about("Caroline", "LGBTQ support group", "7 May 2023")
    assert support_group.subject_key == "user"
    assert support_group.event_start.date() == date(2023, 5, 7)
    sunrise = about("Melanie", "painted", "sunrise", "2022")
    assert sunrise.subject_key == "Melanie"
    assert sunrise.event_end - sunrise.event_start == timedelta(days=365)
    assert about("camping", "June 2023").event_start.date() == date(2023, 6, 1)
    assert about("charity race", "20 May 2023").subject_key == "Melanie"
    about("Caroline", "adoption agencies")
    about("Caroline", "counseling")
    assert not any(f.content.startswith(("Hey", "Wow", "Thanks")) for f in facts)
    assert not any(" I " in f" {f.content} " or " my " in f" {f.content} " for f in facts)
    # The five dev conversations (~2,900 turns) must extract in well under 30 s.
    assert cpu_per_turn < 0.02
