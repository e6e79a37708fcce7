"""Finding time phrases in a sentence and resolving them against the conversation's "now".

Memories must carry when things happened in the world, and a session recorded in the past
(an import, a benchmark) must be dated by its own time, never by the wall clock. So every
resolution here is a pure function of the text and an explicit `now`.

Detection is a small hand-written grammar rather than a general date parser: a memory
engine must not read "May I ask" or "a second opinion" as dates, and every phrase needs a
span of the right granularity ("yesterday" is a day, "last month" a month, "in 2019" a
year), which point-returning parsers do not give. `dateparser` is used only to read the
calendar dates the grammar has found ("8 May 2023", "May 8th", "2023-05-08"), where its
`RELATIVE_BASE` and `PREFER_DATES_FROM` settings supply a missing year.

Conventions, all in UTC (the service stores UTC and a session's time is UTC):
- A span is half-open `[start, end)` and aligned to whole days.
- Weeks run Monday to Sunday; a weekend is Saturday and Sunday.
- "last Tuesday" is the latest Tuesday before today, "next Tuesday" the first after it;
  a bare "on Tuesday" (or "the deadline is Tuesday") goes to the past or the future by the
  tense of its sentence, as do a month or a day without a year ("in June", "on June 3rd")
  and a bare day of the month ("on the 9th": the next 9th, or the last one). The caller
  that parsed the sentence passes its tense; otherwise its words decide. Weekdays that
  recur ("on Saturdays", "every Sunday", "on Sunday mornings") date nothing.
- "over the weekend" is the weekend just gone in the past tense, the coming one otherwise.
- "the Monday after", "the day before", "the following week" count from the date named
  just before them, in the same text or (`anchor`) an earlier sentence of the same turn.
- Holidays by name: New Year's Day and Eve, Christmas Day and Eve, Boxing Day,
  Valentine's Day, Halloween, St Patrick's Day, Easter (Sunday, Monday) and the US
  Thanksgiving, the nearest one in the sentence's direction.
- "N days/weeks/months/years ago" and "in N ..." take the whole day, week, month or year
  that contains the shifted date, so the granularity follows the unit.
- Vague quantities: "a couple of" is 2-3, "a few" 2-5, "several" 3-7 units.
- "recently" and "lately" are the 30 days up to and including today; "the other day" is
  the 7 days before today.
- Seasons are meteorological and northern: spring March-May, summer June-August, autumn
  September-November, winter December-February. "last summer" is the latest summer that
  has ended; "this summer" the one of the current year; "next summer" the one after that.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, TypeAlias

import dateparser

Direction: TypeAlias = Literal["past", "future"]
Span: TypeAlias = tuple[date, date]  # half-open, in whole days

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SEASON_START_MONTH = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
RECENT_DAYS = 30
# The first and last instants a datetime holds (years 1 and 9999).
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
OTHER_DAY_DAYS = 7

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_VAGUE_QUANTITIES = {"couple": (2, 3), "few": (2, 5), "several": (3, 7)}
_ORDINAL_STEPS = {"last": -1, "past": -1, "previous": -1, "this": 0, "next": 1, "coming": 1}

# Words that, right before a time phrase, already say how the phrase relates to the event:
# the rewrite then drops its own "on"/"in" ("since 2022", not "since in 2022").
_BARE_PREPOSITIONS = frozenset(
    {"since", "until", "till", "before", "after", "by", "from", "through", "to", "of", "for"}
    | {"between", "and", "around", "about", "circa", "on", "in", "at", "during", "over"}
)
# Phrases that work as adverbials ("yesterday", "in May", "two days ago") need a preposition
# in their rewrite; written dates ("May 8th was fun", "mid-May") stand as nouns.
_ADVERBIAL = re.compile(
    r"^(?:on|in|at|during|over|yesterday|today|tonight|tomorrow|last|next|this|past|coming|"
    r"previous|earlier|later|recently|lately|just|very|only|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|the\s+(?:other|day|week|weekend|month|year|next|following|monday|"
    r"tuesday|wednesday|thursday|friday|saturday|sunday)\b|the\s+\d)|\bago$",
    re.IGNORECASE,
)
# The present progressive ("I'm seeing her on Friday") arranges the future.
_FUTURE_CUES = re.compile(
    r"\b(?:will|shall|'ll|gonna|going to|plan(?:s|ning)? to|hop(?:e|ing) to|want(?:s)? to|"
    r"wanna|intend(?:s|ing)? to|looking forward|can't wait|cannot wait|upcoming|"
    r"schedul(?:ed|ing)|tomorrow|next|(?:'m|am|'re|are|is)\s+\w+ing)\b",
    re.IGNORECASE,
)

_LEAD = r"(?:(?i:on|in|during|over|at)\s+)?"
# Words before a phrase that relate it to the event; they stay outside the mention.
_CONTEXT = r"(?i:since|until|till|by|before|after|from|through|of|around|circa)"
_MONTH_NAMES = "(?:" + "|".join(MONTHS) + ")"
# "may" and "march" are common words ("I may go", "march forward"): only their capitalised
# forms count as months.
_MONTH_ANY_CASE = (
    r"(?:(?i:january|february|april|june|july|august|september|october|november|december)"
    r"|March|May)"
)
_MONTH_PART_OF_LEAD = {"end of": "late", "beginning of": "early", "start of": "early"}
_MONTH_ABBR = r"(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
_DAY_NUM = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?:19|20)\d{2}(?!\d)"
_QUANTITY = (
    r"(?:\d{1,2}|" + "|".join(_NUMBER_WORDS) + r"|(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few|several)"
)
_UNIT = r"(?:day|week|weekend|month|year)s?"
_SEASON = r"(?:spring|summer|autumn|fall|winter)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_DAY_PART = r"(?:\s+(?:morning|afternoon|evening|night))?"


@dataclass(frozen=True, slots=True)
class _When:
    """What a phrase is resolved against: today, the way the sentence points, and the date
    the phrase before it named (for "the Monday after")."""

    today: date
    direction: Direction
    anchor: date | None


@dataclass(frozen=True, slots=True)
class TimeMention:
    """A time phrase as written in the text, and the UTC span `[start, end)` it denotes."""

    text: str
    start: datetime
    end: datetime


def resolve_time_expressions(
    text: str,
    now: datetime,
    *,
    tense: Direction | None = None,
    anchor: datetime | None = None,
) -> list[TimeMention]:
    """Every time phrase in `text`, in order of appearance, resolved against `now`.

    `now` must be timezone-aware (it is the session's time). Phrases that overlap are
    resolved once, the earliest and then longest match winning. `tense` says which way a
    date without its own direction points ("on Friday", "in June", "the 9th"): the caller
    that has parsed the sentence knows it best; without it, the words of the sentence
    decide. `anchor` is the date a phrase such as "the Monday after" counts from when the
    text itself names none before it (an earlier sentence of the same turn did).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    today = now.astimezone(UTC).date()
    candidates = sorted(
        ((match, rule) for rule in _RULES for match in rule.pattern.finditer(text)),
        key=lambda pair: (pair[0].start("m"), -pair[0].end("m")),
    )
    latest = anchor.astimezone(UTC).date() if anchor is not None else None
    mentions: list[TimeMention] = []
    taken_until = -1
    for match, rule in candidates:
        if match.start("m") < taken_until:
            continue
        direction = tense or _direction(text, match.start())
        try:
            span = rule.resolve(match, _When(today, direction, latest))
        except (OverflowError, ValueError):
            # The span would leave the calendar (years 1 to 9999): the phrase stays as
            # written rather than dated wrongly, and no stored time can make this fail.
            continue
        if span is None:
            continue
        taken_until = match.end("m")
        latest = span[0]
        mentions.append(TimeMention(match.group("m"), midnight(span[0]), midnight(span[1])))
    return mentions


def make_absolute(text: str, mentions: Sequence[TimeMention]) -> str:
    """`text` with each mention replaced by an absolute phrase of the same granularity.

    "yesterday" becomes "on 7 May 2023", "last year" "in 2022", "last week" "in the week
    of 1 May 2023"; after words such as "since" or "until" the preposition is left out.
    Mentions must be in order of appearance, as `resolve_time_expressions` returns them.
    """
    parts: list[str] = []
    cursor = 0
    for mention in mentions:
        at = text.find(mention.text, cursor)
        if at < 0:
            continue
        before = text[:at]
        previous_word = re.search(r"(\w+)\W*$", before)
        bare = (
            not _ADVERBIAL.search(mention.text)
            or text.startswith("'s", at + len(mention.text))
            or (previous_word is not None and previous_word.group(1).lower() in _BARE_PREPOSITIONS)
        )
        phrase = describe_span(mention.start, mention.end, with_preposition=not bare)
        if re.search(r"(?:^|[.!?]\s+)$", before) and mention.text[:1].isupper():
            phrase = phrase[:1].upper() + phrase[1:]
        parts.append(text[cursor:at])
        parts.append(phrase)
        cursor = at + len(mention.text)
    parts.append(text[cursor:])
    return "".join(parts)


def describe_span(start: datetime, end: datetime, *, with_preposition: bool = True) -> str:
    """A short English phrase for a day-aligned span, at the coarsest granularity it fills."""
    first = start.astimezone(UTC).date()
    last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    whole_months = first.day == 1 and _ends_a_month(last)
    if first == last:
        return _prefixed("on", _format_day(first), with_preposition)
    if whole_months and (first.year, first.month) == (last.year, last.month):
        return _prefixed("in", f"{MONTHS[first.month - 1]} {first.year}", with_preposition)
    if whole_months and (first.month, last.month) == (1, 12):
        year_text = str(first.year) if first.year == last.year else f"{first.year}-{last.year}"
        return _prefixed("in", year_text, with_preposition)
    season = _season_name(first, last)
    if season is not None:
        return _prefixed("in", season, with_preposition)
    if (last - first).days == 6 and first.weekday() == 0:
        return _prefixed("in", f"the week of {_format_day(first)}", with_preposition)
    if (last - first).days == 1 and first.weekday() == 5:
        return _prefixed("on", f"the weekend of {_format_range(first, last)}", with_preposition)
    if whole_months:
        head = MONTHS[first.month - 1] + ("" if first.year == last.year else f" {first.year}")
        tail = f"{MONTHS[last.month - 1]} {last.year}"
        return f"between {head} and {tail}" if with_preposition else f"{head}-{tail}"
    if not with_preposition:
        return _format_range(first, last)
    if (first.year, first.month) == (last.year, last.month):
        return f"between {first.day} and {_format_day(last)}"
    if first.year == last.year:
        return f"between {first.day} {MONTHS[first.month - 1]} and {_format_day(last)}"
    return f"between {_format_day(first)} and {_format_day(last)}"


# --- The grammar -------------------------------------------------------------------------


Resolver: TypeAlias = Callable[["re.Match[str]", "_When"], Span | None]


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    resolve: Resolver


def _rule(pattern: str, *, ignore_case: bool = True) -> Callable[[Resolver], Resolver]:
    """Register a resolver for the phrase matched by group "m" of `pattern`."""

    def register(resolve: Resolver) -> Resolver:
        flags = re.IGNORECASE if ignore_case else 0
        _RULES.append(_Rule(re.compile(pattern, flags), resolve))
        return resolve

    return register


_RULES: list[_Rule] = []


@_rule(
    r"\b(?P<m>(?:the\s+day\s+(?P<around>before\s+yesterday|after\s+tomorrow))|"
    r"(?P<word>yesterday|today|tonight|tomorrow|last\s+night|"
    r"this\s+(?:morning|afternoon|evening)|earlier\s+today|later\s+today)"
    r"(?:\s+(?:morning|afternoon|evening|night))?)\b"
)
def _named_day(match: re.Match[str], when: _When) -> Span:
    today = when.today
    around = match.group("around")
    if around is not None:
        offset = -2 if around.lower().startswith("before") else 2
    else:
        word = " ".join(match.group("word").lower().split())
        offset = -1 if word in ("yesterday", "last night") else 1 if word == "tomorrow" else 0
    day = today + timedelta(days=offset)
    return day, day + timedelta(days=1)


@_rule(r"\b(?P<m>the\s+other\s+day)\b")
def _the_other_day(match: re.Match[str], when: _When) -> Span:
    today = when.today
    return today - timedelta(days=OTHER_DAY_DAYS), today


@_rule(r"\b(?P<m>(?:(?:just|very|only)\s+)?(?:recently|lately))\b")
def _recently(match: re.Match[str], when: _When) -> Span:
    today = when.today
    return today - timedelta(days=RECENT_DAYS), today + timedelta(days=1)


@_rule(
    r"\b(?P<m>" + _LEAD + r"(?:(?P<which>last|next|this|past|coming|this\s+past|this\s+coming)\s+)?"
    r"(?P<weekday>" + _WEEKDAY + r")" + _DAY_PART + r")\b"
    # "on Saturday mornings" and "Saturdays" recur: they date nothing.
    r"(?!\s+(?:morning|afternoon|evening|night)s\b)"
)
def _weekday(match: re.Match[str], when: _When) -> Span | None:
    which = (match.group("which") or "").lower().split()
    lead = match.group("m").lower().split()[0]
    before = _word_before(match)
    if before == "every":
        return None
    if (
        not which
        and lead not in ("on", "at")
        and before not in _WEEKDAY_LEADS
        and not match.group("m").lower().endswith(("morning", "afternoon", "evening", "night"))
    ):
        # A bare weekday name ("Sunday school", "Friday's game") is too often not a date.
        return None
    target = WEEKDAYS.index(match.group("weekday").lower())
    direction = when.direction
    if which and which[-1] in ("last", "past"):
        direction = "past"
    elif which and which[-1] in ("next", "coming"):
        direction = "future"
    if which == ["this"]:
        # "this Friday" stays within the current week, whichever way the tense points.
        day = _week_start(when.today) + timedelta(days=target)
    else:
        day = _nearest_weekday(when.today, target, direction)
    return day, day + timedelta(days=1)


# Words before a bare weekday that make it a date: "the deadline is Friday", "by Monday".
_WEEKDAY_LEADS = frozenset({"is", "'s", "was", "by", "until", "till", "before", "from"})


def _word_before(match: re.Match[str]) -> str:
    found = re.search(r"('s|\w+)\W*$", match.string[: match.start("m")])
    return found.group(1).lower() if found else ""


def _nearest_weekday(day: date, target: int, direction: Direction, *, strict: bool = True) -> date:
    """The weekday `target` nearest `day` in `direction`; `day` itself only if not `strict`."""
    if direction == "past":
        back = (day.weekday() - target) % 7 or (7 if strict else 0)
        return day - timedelta(days=back)
    ahead = (target - day.weekday()) % 7 or (7 if strict else 0)
    return day + timedelta(days=ahead)


@_rule(
    r"\b(?P<m>(?:on\s+)?the\s+(?P<day>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th))\b"
    # Only a day of the month when nothing follows that makes it another ordinal ("the 5th
    # floor", "the 20th century"); "the 2nd of May" is a calendar day.
    r"(?=\s*(?:$|[.,;:!?)\-]|(?:and|or|but|so|to|at|in|for|when|because|if|until|with|then)\b"
    r"|of\s+(?:this|next|the)\s+month))"
)
def _day_of_month(match: re.Match[str], when: _When) -> Span | None:
    wanted = int(match.group("day"))
    step = -1 if when.direction == "past" else 1
    month = date(when.today.year, when.today.month, 1)
    for _ in range(13):
        if _days_in_month(month) >= wanted:
            day = month.replace(day=wanted)
            if (day <= when.today) if step < 0 else (day >= when.today):
                return day, day + timedelta(days=1)
        month = _add_months(month, step)
    return None


@_rule(
    r"\b(?P<m>the\s+(?:(?P<weekday>" + _WEEKDAY + r")|(?P<unit>day|week|weekend|month|year))\s+"
    r"(?P<relation>after|before)|the\s+(?:next|following)\s+(?:(?P<weekday2>" + _WEEKDAY + r")"
    r"|(?P<unit2>day|week|weekend|month|year)))\b"
    # "the Monday after the exam" counts from an event, not from a date.
    r"(?=\s*(?:$|[.,;:!?)]|(?:and|or|but|so|to|at|in|for|when|because|then)\b))"
)
def _relative_to_anchor(match: re.Match[str], when: _When) -> Span | None:
    """ "the Monday after", "the day before", "the following week": counted from the date
    named just before."""
    if when.anchor is None:
        return None
    direction: Direction = "past" if match.group("relation") == "before" else "future"
    weekday = match.group("weekday") or match.group("weekday2")
    if weekday is not None:
        day = _nearest_weekday(when.anchor, WEEKDAYS.index(weekday.lower()), direction)
        return day, day + timedelta(days=1)
    unit = (match.group("unit") or match.group("unit2")).lower()
    return _shifted_period(when.anchor, unit, -1 if direction == "past" else 1)


@_rule(r"\b(?P<m>(?P<lead>over|at|on|during|for)\s+the\s+weekend)\b(?!\s+(?:before|after)\b)")
def _the_weekend(match: re.Match[str], when: _When) -> Span:
    """ "over the weekend": the one just gone in the past tense, the coming one otherwise."""
    saturday = _week_start(when.today) + timedelta(days=5)
    if when.direction == "past" and saturday >= when.today:
        saturday -= timedelta(weeks=1)
    elif when.direction == "future" and saturday + timedelta(days=1) < when.today:
        saturday += timedelta(weeks=1)
    return saturday, saturday + timedelta(days=2)


@_rule(
    r"\b(?P<m>(?:(?P<which>last|next|this|past|coming|previous)\s+(?P<unit>week|weekend|month|year))|"
    r"(?:the\s+(?P<unit2>week|weekend|month|year)\s+(?P<beyond>before\s+last|after\s+next)))\b"
)
def _named_period(match: re.Match[str], when: _When) -> Span:
    today = when.today
    if match.group("which") is not None:
        step = _ORDINAL_STEPS[match.group("which").lower()]
        unit = match.group("unit").lower()
    else:
        step = -2 if match.group("beyond").lower().startswith("before") else 2
        unit = match.group("unit2").lower()
    return _shifted_period(today, unit, step)


@_rule(r"\b(?P<m>(?P<edge>earlier|later)\s+this\s+(?P<unit>week|month|year))\b")
def _rest_of_period(match: re.Match[str], when: _When) -> Span:
    today = when.today
    first, after = _shifted_period(today, match.group("unit").lower(), 0)
    if match.group("edge").lower() == "earlier":
        return first, today + timedelta(days=1)
    return today, after


@_rule(r"\b(?P<m>(?P<quantity>" + _QUANTITY + r")\s+(?P<unit>" + _UNIT + r")\s+ago)\b")
def _ago(match: re.Match[str], when: _When) -> Span | None:
    today = when.today
    return _quantity_span(match, today, sign=-1)


@_rule(r"\b(?P<m>in\s+(?P<quantity>" + _QUANTITY + r")\s+(?P<unit>" + _UNIT + r"))\b")
def _in_future(match: re.Match[str], when: _When) -> Span | None:
    today = when.today
    return _quantity_span(match, today, sign=1)


@_rule(
    r"\b(?P<m>(?:(?:in|over|during|for)\s+)?the\s+(?:past|last)\s+(?P<quantity>"
    + _QUANTITY
    + r")\s+(?P<unit>"
    + _UNIT
    + r"))\b"
)
def _trailing_window(match: re.Match[str], when: _When) -> Span | None:
    today = when.today
    quantity = _parse_quantity(match.group("quantity"))
    if quantity is None:
        return None
    unit = _singular(match.group("unit"))
    first, _ = _shifted_period(today, "day" if unit == "weekend" else unit, 0)
    length = quantity[1]
    start = _shift(today, unit, -length) if unit != "weekend" else today - timedelta(weeks=length)
    return min(start, first), today + timedelta(days=1)


@_rule(
    r"\b(?P<m>" + _LEAD + r"(?:(?P<which>last|next|this|past)\s+)?(?:the\s+)?"
    r"(?P<season>" + _SEASON + r")(?:\s+(?:of\s+)?(?P<year>" + _YEAR + r"))?)\b"
)
def _season(match: re.Match[str], when: _When) -> Span | None:
    today, direction = when.today, when.direction
    which = (match.group("which") or "").lower()
    start_month = SEASON_START_MONTH[match.group("season").lower()]
    if match.group("year") is not None:
        year = int(match.group("year"))
        # "winter 2023" is the winter that starts in December 2022 and covers early 2023.
        first = date(year - 1 if start_month == 12 else year, start_month, 1)
        return first, _add_months(first, 3)
    if not which and match.group("m").lower().startswith(match.group("season").lower()):
        # A bare "summer" ("summer break") is no date; "in the summer" is.
        return None
    # The season of the current year, counting January and February in last year's winter.
    current = date(today.year - (start_month == 12 and today.month <= 2), start_month, 1)
    if which == "this":
        first = current
    elif which == "next":
        first = _add_months(current, 12)
    elif which in ("last", "past"):
        first = current if _add_months(current, 3) <= today else _add_months(current, -12)
    elif direction == "past":
        first = current if current <= today else _add_months(current, -12)
    else:
        first = current if _add_months(current, 3) > today else _add_months(current, 12)
    return first, _add_months(first, 3)


@_rule(
    r"\b(?:" + _CONTEXT + r"\s+)?(?P<m>(?:(?P<lead>(?i:in|during|last|next|this|early|mid|late|"
    r"end\s+of|beginning\s+of|start\s+of))\s+)?(?:(?P<part>(?i:early|mid|late))[\s-]+)?"
    r"(?P<month>" + _MONTH_ANY_CASE + r")(?:,?\s+(?P<year>" + _YEAR + r"))?)(?![\w-])",
    ignore_case=False,
)
def _month(match: re.Match[str], when: _When) -> Span | None:
    today, direction = when.today, when.direction
    lead = " ".join((match.group("lead") or "").lower().split())
    has_context = match.start() < match.start("m")
    if not (has_context or lead or match.group("year") or match.group("part")):
        return None
    month = [name.lower() for name in MONTHS].index(match.group("month").lower()) + 1
    this_month = date(today.year, today.month, 1)
    first = date(int(match.group("year") or today.year), month, 1)
    if match.group("year") is None:
        if lead == "last" and first >= this_month:
            first = date(today.year - 1, month, 1)
        elif lead == "next" and first <= this_month:
            first = date(today.year + 1, month, 1)
        elif lead not in ("last", "next", "this"):
            if direction == "past" and first > today:
                first = date(today.year - 1, month, 1)
            elif direction == "future" and _add_months(first, 1) <= today:
                first = date(today.year + 1, month, 1)
    after = _add_months(first, 1)
    part = (match.group("part") or "").lower() or _MONTH_PART_OF_LEAD.get(lead, "")
    if part == "early":
        return first, first + timedelta(days=10)
    if part == "mid":
        return first + timedelta(days=10), first + timedelta(days=20)
    if part == "late":
        return first + timedelta(days=20), after
    return first, after


@_rule(
    r"\b(?P<m>" + _LEAD + r"(?:the\s+)?(?:"
    r"(?P<dm>" + _DAY_NUM + r"\s+(?:of\s+)?(?:" + _MONTH_NAMES + r"|" + _MONTH_ABBR + r")"
    r"(?:,?\s+" + _YEAR + r")?)|"
    r"(?P<md>(?:"
    + _MONTH_NAMES
    + r"|"
    + _MONTH_ABBR
    + r")\s+"
    + _DAY_NUM
    + r"(?:,?\s+"
    + _YEAR
    + r")?)|"
    r"(?P<iso>\d{4}-\d{2}-\d{2})))(?![\w-])",
    ignore_case=False,
)
def _calendar_day(match: re.Match[str], when: _When) -> Span | None:
    today, direction = when.today, when.direction
    written = match.group("dm") or match.group("md") or match.group("iso")
    parsed = dateparser.parse(
        written,
        languages=["en"],
        settings={
            "RELATIVE_BASE": datetime.combine(today, time(12)),
            "PREFER_DATES_FROM": direction,
            "REQUIRE_PARTS": ["day", "month"],
            "DATE_ORDER": "DMY",
        },
    )
    if parsed is None:
        return None
    day = parsed.date()
    return day, day + timedelta(days=1)


# Holidays by their usual English names. A bare "Christmas" or "Easter" is often a modifier
# ("a Christmas card"), so those need a preposition or "last"/"next" before them.
_HOLIDAY = (
    r"(?P<name>new\s+year'?s(?:\s+(?P<eve>day|eve))?|christmas(?:\s+(?P<xmas>day|eve))?|"
    r"boxing\s+day|valentine'?s(?:\s+day)?|halloween|st\.?\s+patrick'?s\s+day|"
    r"easter(?:\s+(?P<easter>sunday|monday))?|thanksgiving(?:\s+day)?)"
)


@_rule(
    r"\b(?P<m>(?:(?P<lead>on|at|over|for|during|since|before|after|until|by)\s+)?"
    r"(?:(?P<which>last|next|this)\s+)?" + _HOLIDAY + r")(?![\w'])"
)
def _holiday(match: re.Match[str], when: _When) -> Span | None:
    name = " ".join(match.group("name").lower().replace("'", "").split())
    explicit = name.endswith(("day", "eve", "halloween", "thanksgiving", "valentines"))
    if not (match.group("lead") or match.group("which") or explicit):
        return None
    which = (match.group("which") or "").lower()
    direction: Direction = (
        "past" if which == "last" else "future" if which == "next" else when.direction
    )
    years = [when.today.year + offset for offset in (-1, 0, 1)]
    for year in years if direction == "future" else reversed(years):
        day = _holiday_date(name, year)
        if day == when.today and which == "next":
            continue
        if (day >= when.today) if direction == "future" else (day <= when.today):
            return day, day + timedelta(days=1)
    return None


def _holiday_date(name: str, year: int) -> date:
    if name.startswith("new years"):
        return date(year, 12, 31) if name.endswith("eve") else date(year, 1, 1)
    if name.startswith("christmas"):
        return date(year, 12, 24) if name.endswith("eve") else date(year, 12, 25)
    if name.startswith("easter"):
        return _easter(year) + timedelta(days=1 if name.endswith("monday") else 0)
    if name.startswith("thanksgiving"):
        # The fourth Thursday of November (the US holiday).
        return _nearest_weekday(date(year, 11, 1), 3, "future", strict=False) + timedelta(weeks=3)
    fixed = {"boxing day": (12, 26), "valentines": (2, 14), "valentines day": (2, 14)}
    month, day_of_month = fixed.get(name, (10, 31) if name == "halloween" else (3, 17))
    return date(year, month, day_of_month)


def _easter(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


_YEAR_CORE = r"(?:(?P<part>early|mid|late)[\s-]+)?(?P<year>" + _YEAR + r")"


def _year(match: re.Match[str], when: _When) -> Span:
    year = int(match.group("year"))
    part = (match.group("part") or "").lower()
    if part == "early":
        return date(year, 1, 1), date(year, 5, 1)
    if part == "mid":
        return date(year, 5, 1), date(year, 9, 1)
    if part == "late":
        return date(year, 9, 1), date(year + 1, 1, 1)
    return date(year, 1, 1), date(year + 1, 1, 1)


# A bare number is rarely a year ("2019 people"), so a year needs a preposition before it.
_rule(r"\b(?P<m>(?:in|during)\s+" + _YEAR_CORE + r")\b")(_year)
_rule(r"\b" + _CONTEXT + r"\s+(?P<m>" + _YEAR_CORE + r")\b")(_year)


# --- Calendar arithmetic -----------------------------------------------------------------


def _direction(text: str, at: int) -> Direction:
    """Future when the sentence around position `at` speaks of the future, else past."""
    sentence_start = max(text.rfind(mark, 0, at) for mark in ".!?\n") + 1
    ends = [end for mark in ".!?\n" if (end := text.find(mark, at)) >= 0]
    sentence = text[sentence_start : min(ends, default=len(text))]
    return "future" if _FUTURE_CUES.search(sentence) else "past"


def _quantity_span(match: re.Match[str], today: date, *, sign: int) -> Span | None:
    quantity = _parse_quantity(match.group("quantity"))
    if quantity is None:
        return None
    unit = _singular(match.group("unit"))
    low, high = quantity
    near, far = sorted((sign * low, sign * high))
    if unit == "weekend":
        first = _shifted_period(today, "weekend", near)[0]
        return first, _shifted_period(today, "weekend", far)[1]
    first = _period_of(_shift(today, unit, near), unit)[0]
    return first, _period_of(_shift(today, unit, far), unit)[1]


def _parse_quantity(written: str) -> tuple[int, int] | None:
    words = written.lower().split()
    if words[-1] == "of":
        words = words[:-1]
    if words[-1] in _VAGUE_QUANTITIES:
        return _VAGUE_QUANTITIES[words[-1]]
    value = int(words[-1]) if words[-1].isdigit() else _NUMBER_WORDS.get(words[-1])
    if value is None or value == 0:
        return None
    return value, value


def _singular(unit: str) -> str:
    return unit.lower().removesuffix("s")


def _shift(day: date, unit: str, count: int) -> date:
    if unit == "day":
        return day + timedelta(days=count)
    if unit in ("week", "weekend"):
        return day + timedelta(weeks=count)
    if unit == "month":
        return _add_months(day, count)
    return _add_months(day, 12 * count)


def _period_of(day: date, unit: str) -> Span:
    if unit == "day":
        return day, day + timedelta(days=1)
    if unit == "week":
        first = _week_start(day)
        return first, first + timedelta(days=7)
    if unit == "month":
        first = day.replace(day=1)
        return first, _add_months(first, 1)
    return date(day.year, 1, 1), date(day.year + 1, 1, 1)


def _shifted_period(today: date, unit: str, step: int) -> Span:
    if unit == "weekend":
        saturday = _week_start(today) + timedelta(days=5, weeks=step)
        return saturday, saturday + timedelta(days=2)
    return _period_of(_shift(today, unit, step), unit)


def _month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def _ends_a_month(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _add_months(day: date, count: int) -> date:
    months = day.year * 12 + day.month - 1 + count
    return date(months // 12, months % 12 + 1, 1) if day.day == 1 else _clamp_day(months, day.day)


def _clamp_day(months: int, day_of_month: int) -> date:
    first = date(months // 12, months % 12 + 1, 1)
    return first.replace(day=min(day_of_month, _days_in_month(first)))


def _days_in_month(day: date) -> int:
    return (_add_months(day.replace(day=1), 1) - timedelta(days=1)).day


def midnight(day: date) -> datetime:
    """The start of `day` in UTC, where event dates live."""
    return datetime.combine(day, time(), tzinfo=UTC)


def day_of(moment: datetime) -> tuple[datetime, datetime]:
    """The half-open UTC span of the day `moment` falls on; on the calendar's last day
    (9999-12-31), which has no next midnight, it ends at `LATEST`."""
    day = moment.astimezone(UTC).date()
    return midnight(day), shifted(midnight(day), timedelta(days=1))


def shifted(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, stopped at `EARLIEST` or `LATEST` rather than leaving the calendar."""
    try:
        return moment + delta
    except OverflowError:
        return LATEST if delta > timedelta(0) else EARLIEST


def day_span(first: date, last: date) -> tuple[datetime, datetime]:
    """The half-open UTC span of the inclusive days `first` to `last`.

    `ValueError` when the day after `last` is beyond the calendar (9999-12-31).
    """
    try:
        return midnight(first), midnight(last + timedelta(days=1))
    except OverflowError:
        raise ValueError(f"{last} is the last day datetime can represent") from None


# --- Wording -------------------------------------------------------------------------------


def _prefixed(preposition: str, phrase: str, with_preposition: bool) -> str:
    return f"{preposition} {phrase}" if with_preposition else phrase


def _format_day(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _format_range(first: date, last: date) -> str:
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}-{_format_day(last)}"
    if first.year == last.year:
        return f"{first.day} {MONTHS[first.month - 1]}-{_format_day(last)}"
    return f"{_format_day(first)}-{_format_day(last)}"


def _season_name(first: date, last: date) -> str | None:
    if first.day != 1 or not _ends_a_month(last) or _month_number(last) - _month_number(first) != 2:
        return None
    names = {3: "spring", 6: "summer", 9: "autumn", 12: "winter"}
    if first.month not in names:
        return None
    if first.month == 12:
        return f"winter {first.year}-{first.year + 1}"
    return f"{names[first.month]} {first.year}"
