"""Local extraction turns conversation turns into standalone, dated third-person facts."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest

from recallr_server.domain.categories import DEFAULT_CATEGORIES
from recallr_server.engine.extraction import ChatMessage, Fact, extract_facts

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
        "The user has been learning Spanish and the user goes to classes every week."
    ]


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
