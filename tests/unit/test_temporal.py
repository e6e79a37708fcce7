"""Time phrases resolve against the session's time, with the granularity they speak of."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Literal

import pytest

from recallr_server.engine.temporal import (
    TimeMention,
    describe_span,
    make_absolute,
    resolve_time_expressions,
)

# A Monday afternoon, like the first session of the first LoCoMo conversation.
NOW = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def only_mention(text: str, now: datetime = NOW) -> TimeMention:
    mentions = resolve_time_expressions(text, now)
    assert len(mentions) == 1, mentions
    return mentions[0]


def days(mention: TimeMention) -> tuple[date, date]:
    """The first day and the last day (inclusive) of the mention's span."""
    return mention.start.date(), (mention.end - timedelta(days=1)).date()


@pytest.mark.parametrize(
    ("text", "phrase", "first_day", "last_day"),
    [
        ("I went there yesterday.", "yesterday", date(2023, 5, 7), date(2023, 5, 7)),
        ("I'm cooking today.", "today", date(2023, 5, 8), date(2023, 5, 8)),
        ("We're going out tonight.", "tonight", date(2023, 5, 8), date(2023, 5, 8)),
        ("I slept badly last night.", "last night", date(2023, 5, 7), date(2023, 5, 7)),
        ("See you tomorrow.", "tomorrow", date(2023, 5, 9), date(2023, 5, 9)),
        (
            "the day before yesterday",
            "the day before yesterday",
            date(2023, 5, 6),
            date(2023, 5, 6),
        ),
        ("I ran last Tuesday.", "last Tuesday", date(2023, 5, 2), date(2023, 5, 2)),
        ("I ran last Monday.", "last Monday", date(2023, 5, 1), date(2023, 5, 1)),
        ("I'm free this weekend.", "this weekend", date(2023, 5, 13), date(2023, 5, 14)),
        ("I hiked last weekend.", "last weekend", date(2023, 5, 6), date(2023, 5, 7)),
        ("two weekends ago", "two weekends ago", date(2023, 4, 29), date(2023, 4, 30)),
        ("I start next week.", "next week", date(2023, 5, 15), date(2023, 5, 21)),
        ("I was busy last week.", "last week", date(2023, 5, 1), date(2023, 5, 7)),
        ("It is due in two weeks.", "in two weeks", date(2023, 5, 22), date(2023, 5, 28)),
        ("I met her two days ago.", "two days ago", date(2023, 5, 6), date(2023, 5, 6)),
        ("I met her 3 days ago.", "3 days ago", date(2023, 5, 5), date(2023, 5, 5)),
        ("a few days ago", "a few days ago", date(2023, 5, 3), date(2023, 5, 6)),
        ("a couple of days ago", "a couple of days ago", date(2023, 5, 5), date(2023, 5, 6)),
        ("I quit last month.", "last month", date(2023, 4, 1), date(2023, 4, 30)),
        ("I painted it last year.", "last year", date(2022, 1, 1), date(2022, 12, 31)),
        ("four years ago", "four years ago", date(2019, 1, 1), date(2019, 12, 31)),
        ("We swam a lot last summer.", "last summer", date(2022, 6, 1), date(2022, 8, 31)),
        ("We'll swim this summer.", "this summer", date(2023, 6, 1), date(2023, 8, 31)),
        ("I moved here in 2019.", "in 2019", date(2019, 1, 1), date(2019, 12, 31)),
        ("I have lived here since 2019.", "2019", date(2019, 1, 1), date(2019, 12, 31)),
        ("I was there in May.", "in May", date(2023, 5, 1), date(2023, 5, 31)),
        ("I was there in June.", "in June", date(2022, 6, 1), date(2022, 6, 30)),
        ("I will be there in June.", "in June", date(2023, 6, 1), date(2023, 6, 30)),
        ("I'll visit in March.", "in March", date(2024, 3, 1), date(2024, 3, 31)),
        ("I married on 8 May 2023.", "on 8 May 2023", date(2023, 5, 8), date(2023, 5, 8)),
        ("It was on May 3rd, 2021.", "on May 3rd, 2021", date(2021, 5, 3), date(2021, 5, 3)),
        ("on the 2nd of May", "on the 2nd of May", date(2023, 5, 2), date(2023, 5, 2)),
        ("due 2023-06-30", "2023-06-30", date(2023, 6, 30), date(2023, 6, 30)),
        ("I'll call next Friday.", "next Friday", date(2023, 5, 12), date(2023, 5, 12)),
        ("I'm seeing her on Friday.", "on Friday", date(2023, 5, 12), date(2023, 5, 12)),
        ("I saw her on Friday.", "on Friday", date(2023, 5, 5), date(2023, 5, 5)),
        ("the week before last", "the week before last", date(2023, 4, 24), date(2023, 4, 30)),
        ("I recently started yoga.", "recently", date(2023, 4, 8), date(2023, 5, 8)),
        ("in mid-June 2022", "in mid-June 2022", date(2022, 6, 11), date(2022, 6, 20)),
        ("in the past two weeks", "in the past two weeks", date(2023, 4, 24), date(2023, 5, 8)),
    ],
)
def test_phrase_resolves_to_the_span_it_speaks_of(
    text: str, phrase: str, first_day: date, last_day: date
) -> None:
    mention = only_mention(text)
    assert mention.text == phrase
    assert days(mention) == (first_day, last_day)


@pytest.mark.parametrize(
    "text",
    [
        "May I ask you something?",
        "I may go to the party.",
        "I want a second opinion.",
        "March forward, everyone!",
        "We march together.",
        "I teach Sunday school.",
        "There were 2019 people there.",
        "It will take two weeks.",
        "I'm 30 years old.",
        "Summer break is coming.",
        "I'll be there in a second.",
    ],
)
def test_words_that_only_look_like_dates_are_not_time_phrases(text: str) -> None:
    assert resolve_time_expressions(text, NOW) == []


def test_spans_are_aware_utc_and_half_open() -> None:
    mention = only_mention("yesterday")
    assert mention.start == datetime(2023, 5, 7, tzinfo=UTC)
    assert mention.end == datetime(2023, 5, 8, tzinfo=UTC)
    assert mention.start.tzinfo is UTC


def test_now_in_another_timezone_is_read_as_its_utc_day() -> None:
    # 23:30 on 8 May in UTC-5 is already 9 May in UTC.
    evening = datetime(2023, 5, 8, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert days(only_mention("yesterday", evening)) == (date(2023, 5, 8), date(2023, 5, 8))


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        resolve_time_expressions("yesterday", datetime(2023, 5, 8))


def test_last_summer_during_autumn_is_the_summer_just_gone() -> None:
    autumn = datetime(2023, 10, 2, tzinfo=UTC)
    assert days(only_mention("last summer", autumn)) == (date(2023, 6, 1), date(2023, 8, 31))


def test_winter_of_a_year_starts_in_the_december_before() -> None:
    assert days(only_mention("in winter 2023")) == (date(2022, 12, 1), date(2023, 2, 28))


def test_several_phrases_come_back_in_order() -> None:
    mentions = resolve_time_expressions("I moved last year and started work yesterday.", NOW)
    assert [m.text for m in mentions] == ["last year", "yesterday"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I went yesterday.", "I went on 7 May 2023."),
        ("Yesterday I ran.", "On 7 May 2023 I ran."),
        ("I painted it last year!", "I painted it in 2022!"),
        ("We go camping next month.", "We go camping in June 2023."),
        ("I have lived here since last year.", "I have lived here since 2022."),
        ("I was busy last week.", "I was busy in the week of 1 May 2023."),
        ("We met a few days ago.", "We met between 3 and 6 May 2023."),
        ("I'm free this weekend.", "I'm free on the weekend of 13-14 May 2023."),
        ("We swam last summer.", "We swam in summer 2022."),
        ("In May I met her.", "In May 2023 I met her."),
        ("May 2nd was fun.", "2 May 2023 was fun."),
        ("Last year's trip was long.", "2022's trip was long."),
        ("I ran on Friday morning.", "I ran on 5 May 2023."),
        ("Nothing to resolve here.", "Nothing to resolve here."),
    ],
)
def test_make_absolute_replaces_relative_phrases_with_dates(text: str, expected: str) -> None:
    assert make_absolute(text, resolve_time_expressions(text, NOW)) == expected


def test_describe_span_names_the_coarsest_granularity() -> None:
    def span(first: date, after: date) -> str:
        return describe_span(
            datetime.combine(first, datetime.min.time(), UTC),
            datetime.combine(after, datetime.min.time(), UTC),
        )

    assert span(date(2023, 5, 7), date(2023, 5, 8)) == "on 7 May 2023"
    assert span(date(2023, 4, 1), date(2023, 5, 1)) == "in April 2023"
    assert span(date(2022, 1, 1), date(2023, 1, 1)) == "in 2022"
    assert span(date(2022, 6, 1), date(2022, 9, 1)) == "in summer 2022"
    assert span(date(2022, 1, 1), date(2022, 5, 1)) == "between January and April 2022"
    assert span(date(2023, 4, 28), date(2023, 5, 3)) == "between 28 April and 2 May 2023"


# A Monday, 4 March 2024.
MONDAY = datetime(2024, 3, 4, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "tense", "first_day"),
    [
        ("It's on the 9th.", "future", date(2024, 3, 9)),
        ("It was on the 2nd.", "past", date(2024, 3, 2)),
        ("It was on the 9th.", "past", date(2024, 2, 9)),
        ("Her wedding is on the 3rd.", "future", date(2024, 4, 3)),
        ("The party is on Sunday.", "future", date(2024, 3, 10)),
        ("The party was on Sunday.", "past", date(2024, 3, 3)),
        ("I start at Acme in June.", "future", date(2024, 6, 1)),
        ("I started at Acme in June.", "past", date(2023, 6, 1)),
        ("My birthday is on March 3rd.", "future", date(2025, 3, 3)),
        ("We met on March 3rd.", "past", date(2024, 3, 3)),
    ],
)
def test_the_tense_of_the_sentence_says_which_way_an_open_date_points(
    text: str, tense: Literal["past", "future"], first_day: date
) -> None:
    (mention,) = resolve_time_expressions(text, MONDAY, tense=tense)
    assert mention.start.date() == first_day


def test_the_tense_given_overrides_the_words_of_the_sentence() -> None:
    # The words alone read as past ("is" is no future cue); the parse knows better.
    (guessed,) = resolve_time_expressions("The deadline is on Friday.", MONDAY)
    (told,) = resolve_time_expressions("The deadline is on Friday.", MONDAY, tense="future")
    assert (guessed.start.date(), told.start.date()) == (date(2024, 3, 1), date(2024, 3, 8))


@pytest.mark.parametrize(
    ("text", "tense", "days"),
    [
        ("The deadline is Friday.", "future", (date(2024, 3, 8), date(2024, 3, 8))),
        ("Send it by Wednesday.", "future", (date(2024, 3, 6), date(2024, 3, 6))),
        ("I'm away over the weekend.", "future", (date(2024, 3, 9), date(2024, 3, 10))),
        ("I quit on New Year's Day.", "past", (date(2024, 1, 1), date(2024, 1, 1))),
        ("We fly out on Christmas Eve.", "future", (date(2024, 12, 24), date(2024, 12, 24))),
        ("We met at Easter.", "past", (date(2023, 4, 9), date(2023, 4, 9))),
        ("We host on Thanksgiving.", "future", (date(2024, 11, 28), date(2024, 11, 28))),
    ],
)
def test_weekdays_after_a_copula_weekends_and_holidays_are_dates(
    text: str, tense: Literal["past", "future"], days: tuple[date, date]
) -> None:
    (mention,) = resolve_time_expressions(text, MONDAY, tense=tense)
    assert (mention.start.date(), (mention.end - timedelta(days=1)).date()) == days


def test_the_weekend_just_gone_in_the_past_tense() -> None:
    (mention,) = resolve_time_expressions("I went hiking over the weekend.", MONDAY, tense="past")
    assert days(mention) == (date(2024, 3, 2), date(2024, 3, 3))
    assert make_absolute(mention.text, [mention]) == "on the weekend of 2-3 March 2024"


@pytest.mark.parametrize(
    "text",
    [
        "We train on Saturday mornings.",
        "We train on Saturdays.",
        "I bake every Sunday.",
        "Can you draft a Christmas card?",
        "My office is on the 5th floor.",
        "It was the 20th century.",
        "She came in on the 2nd try.",
    ],
)
def test_recurring_days_and_other_ordinals_are_not_dates(text: str) -> None:
    assert resolve_time_expressions(text, MONDAY, tense="future") == []


def test_a_phrase_counted_from_the_date_before_it() -> None:
    text = "Her surgery is on the 14th and my exam is the Monday after."
    surgery, exam = resolve_time_expressions(text, MONDAY, tense="future")
    assert (surgery.start.date(), exam.start.date()) == (date(2024, 3, 14), date(2024, 3, 18))
    assert make_absolute(text, [surgery, exam]) == (
        "Her surgery is on 14 March 2024 and my exam is on 18 March 2024."
    )


def test_an_anchor_from_an_earlier_sentence_dates_the_day_after() -> None:
    anchor = datetime(2024, 3, 14, tzinfo=UTC)
    (mention,) = resolve_time_expressions(
        "My aunt arrives the day before.", MONDAY, tense="future", anchor=anchor
    )
    assert mention.start.date() == date(2024, 3, 13)
    assert resolve_time_expressions("My aunt arrives the day before.", MONDAY) == []
