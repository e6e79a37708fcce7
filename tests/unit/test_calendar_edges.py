"""Time arithmetic and rendering are total, even at the two ends of the calendar.

The API bounds the times it accepts, but a row written before that bound (or by another
path) may hold a time in year 1 or 9999. Resolving phrases against such a "now", naming
the spans found, and showing times in any zone must answer rather than raise: a phrase
whose date would leave the calendar stays as written, a span is named however it ends, and
a time that cannot be shown in the reader's zone is shown in UTC.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest

from recallr_server.domain.context import Strategy
from recallr_server.engine.recall.context_text import event_span, moment
from recallr_server.engine.recall.retrieval import plan_query
from recallr_server.engine.temporal import (
    day_of,
    describe_span,
    make_absolute,
    resolve_time_expressions,
    shifted,
)

FIRST = datetime(1, 1, 1, tzinfo=UTC)
LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
# Each end, and days close enough to it that weeks, months and seasons cross it.
EDGE_NOWS = [
    FIRST,
    FIRST + timedelta(days=3),
    FIRST + timedelta(days=40),
    LAST - timedelta(days=40),
    LAST - timedelta(days=3),
    LAST,
]
PHRASES = (
    "yesterday, today, tomorrow, the day before yesterday, the day after tomorrow",
    "two days ago, in 3 days, a few weeks ago, in several months, in 2 years, 4 years ago",
    "last week, next week, this weekend, the weekend after next, the week before last",
    "last month, next month, this year, next year, the year before last, earlier this week",
    "last winter, next summer, this autumn, in the spring, later this month",
    "in mid-December, in early January, last March, next May, on Friday, next Monday",
    "on 1 January, on December 31st, the past few months, recently, the other day",
    "over the past 3 weeks, in the last couple of years, two weekends ago",
)
ZONES = sorted(zoneinfo.available_timezones())


@pytest.mark.parametrize("now", EDGE_NOWS, ids=str)
def test_phrases_near_the_ends_of_the_calendar_resolve_or_stay_as_written(now: datetime) -> None:
    for text in PHRASES:
        mentions = resolve_time_expressions(text, now)
        for mention in mentions:
            assert mention.start < mention.end
            assert describe_span(mention.start, mention.end)
        assert make_absolute(text, mentions)


def test_the_first_and_last_days_have_spans_and_names() -> None:
    first_start, first_end = day_of(FIRST)
    last_start, last_end = day_of(LAST)
    assert (first_start, first_end) == (FIRST, FIRST + timedelta(days=1))
    assert (last_start, last_end) == (datetime(9999, 12, 31, tzinfo=UTC), LAST)
    assert describe_span(first_start, first_end) == "on 1 January 1"
    assert describe_span(last_start, last_end) == "on 31 December 9999"
    assert describe_span(datetime(9999, 12, 1, tzinfo=UTC), LAST) == "in December 9999"
    assert describe_span(datetime(9999, 1, 1, tzinfo=UTC), LAST) == "in 9999"


def test_shifting_a_time_stops_at_the_ends_of_the_calendar() -> None:
    assert shifted(LAST - timedelta(days=1), timedelta(days=31)) == LAST
    assert shifted(FIRST + timedelta(days=1), -timedelta(days=31)) == FIRST
    assert shifted(FIRST, timedelta(days=1)) == FIRST + timedelta(days=1)


@pytest.mark.parametrize("now", EDGE_NOWS, ids=str)
def test_a_question_near_the_ends_of_the_calendar_is_planned(now: datetime) -> None:
    for text in PHRASES:
        plan = plan_query(["Where was I?", f"What did I do {text}?"], Strategy.BALANCED, now)
        assert all(start < end for start, end in plan.date_filters)


@pytest.mark.parametrize("value", [FIRST, LAST], ids=str)
def test_times_at_the_ends_of_the_calendar_are_shown_in_every_zone(value: datetime) -> None:
    # No zone is a day away from UTC, so the month shown is the stored one.
    month = f"{value:%B} {value.year}"
    start, end = day_of(value)
    for name in ZONES:
        zone = zoneinfo.ZoneInfo(name)
        assert month in moment(value, zone), name
        assert month in (event_span(start, end, zone) or ""), name
        assert month in (event_span(value, None, zone) or ""), name
        assert event_span(FIRST, LAST, zone) == "1-9999", name


def test_a_time_with_no_local_form_is_shown_in_utc() -> None:
    assert moment(LAST, zoneinfo.ZoneInfo("Asia/Tokyo")) == "31 December 9999 23:59 UTC"
    assert moment(FIRST, zoneinfo.ZoneInfo("America/New_York")) == "1 January 1 00:00 UTC"
    # One that exists locally is still shown locally.
    assert moment(LAST, zoneinfo.ZoneInfo("America/New_York")) == "31 December 9999 18:59 EST"
